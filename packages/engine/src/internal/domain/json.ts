/**
 * JSON as the Go engine sees it: `ValidateJSONB` (valid JSON, no `\u0000` in strings, nested no
 * deeper than `encoding/json` accepts) and `encoding/json` marshalling (object keys sorted, `<`,
 * `>`, `&`, U+2028 and U+2029 escaped).
 *
 * Nothing here recurses on the data: the depth check scans the text, the writers keep their own
 * stack, so a value nested as deep as `JSON.parse` allows cannot overflow the call stack.
 *
 * @internal
 */

import type { JsonObject, JsonValue } from "@effect-hatchet/shared/Json"

export type { JsonObject, JsonValue } from "@effect-hatchet/shared/Json"

export const isJsonObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value)

/** Bytes as `encoding/json` writes a `[]byte`: standard base64 with padding. */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

/** The empty JSON object that records without data share (frozen, as every `JsonValue` is read-only). */
export const emptyObject: JsonObject = Object.freeze({})

/**
 * `text`, or the one shared copy of `{}` for it: the input and output of most runs of a task
 * without data, whose every copy would cost a string that a retained finished run holds.
 */
export const sharedJson = (text: string): string => text === "{}" ? "{}" : text

/**
 * Go's `encoding/json` nesting limit (`maxNestingDepth`): text whose arrays and objects nest
 * deeper is not JSON to Go (`json.Valid` is false, `json.Unmarshal` fails), so upstream refuses it.
 */
export const maxJsonDepth = 10_000

/** What `validateJsonb` adds to upstream's "invalid json" when the nesting is the problem. */
export const tooDeep = `nested deeper than ${maxJsonDepth} levels`

/** The index of the quote that closes the string opened at `open`, or -1. */
const closingQuote = (raw: string, open: number): number => {
  let at = raw.indexOf("\"", open + 1)
  while (at !== -1) {
    let backslashes = 0
    while (raw.charCodeAt(at - 1 - backslashes) === 92) backslashes++
    if (backslashes % 2 === 0) return at
    at = raw.indexOf("\"", at + 1)
  }
  return -1
}

/** Whether the text has more opening brackets than `maxJsonDepth` (else it cannot nest deeper). */
const hasManyBrackets = (raw: string): boolean => {
  if (raw.length <= maxJsonDepth) return false
  let count = 0
  for (const bracket of ["[", "{"]) {
    for (let at = raw.indexOf(bracket); at !== -1; at = raw.indexOf(bracket, at + 1)) {
      if (++count > maxJsonDepth) return true
    }
  }
  return false
}

/**
 * Where JSON text first nests arrays and objects deeper than `maxJsonDepth`: the index of the
 * opening bracket one level too deep (brackets inside strings do not count), or -1. One pass over
 * the text, no recursion, so any depth is safe to ask about; text that is not JSON is scanned as
 * far as it goes.
 */
export const tooDeepAt = (raw: string): number => {
  if (!hasManyBrackets(raw)) return -1
  let depth = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 34) {
      i = closingQuote(raw, i)
      if (i === -1) return -1
    } else if (c === 91 || c === 123) {
      if (++depth > maxJsonDepth) return i
    } else if (c === 93 || c === 125) {
      depth--
    }
  }
  return -1
}

/** Whether JSON text nests deeper than `maxJsonDepth` (see `tooDeepAt`). */
export const exceedsMaxDepth = (raw: string): boolean => tooDeepAt(raw) !== -1

/** Whether a parsed value holds a NUL character in a string or a key (iterative). */
const containsNul = (root: unknown): boolean => {
  const pending: Array<unknown> = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value === "string") {
      if (value.includes("\u0000")) return true
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item)
    } else if (isJsonObject(value)) {
      for (const key of Object.keys(value)) {
        if (key.includes("\u0000")) return true
        pending.push(value[key])
      }
    }
  }
  return false
}

/**
 * Upstream `ValidateJSONB(bytes, field)`, returning what it parsed: the empty string is accepted
 * (`value` undefined); otherwise the text must be JSON without a NUL character inside a string.
 * Nesting deeper than Go accepts is invalid JSON there too; the message says so. One parse for
 * the check and for the caller's use of the value.
 */
export const readJsonb = (
  raw: string,
  field: string
): { readonly value: JsonValue | undefined } | { readonly error: string } => {
  if (raw.length === 0) return { value: undefined }
  if (exceedsMaxDepth(raw)) return { error: `invalid json in field \`${field}\`: ${tooDeep}` }
  let parsed: JsonValue
  try {
    parsed = JSON.parse(raw) as JsonValue
  } catch {
    if (raw.includes("\u0000")) return { error: `encoded jsonb contains invalid null character \\u0000 in field \`${field}\`` }
    return { error: `invalid json in field \`${field}\`` }
  }
  // a NUL can only be written as the escape \u0000 in valid JSON
  if (raw.includes("\\u0000") && containsNul(parsed)) {
    return { error: `encoded jsonb contains invalid null character \\u0000 in field \`${field}\`` }
  }
  return { value: parsed }
}

/** `readJsonb`'s check alone: the error message, or undefined when the text is accepted. */
export const validateJsonb = (raw: string, field: string): string | undefined => {
  const read = readJsonb(raw, field)
  return "error" in read ? read.error : undefined
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** UTF-8 bytes as text (a BOM kept, as Go keeps it), or undefined when they are not valid UTF-8. */
export const decodeUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * Parses JSON text, returning undefined for the empty string or what Go would not parse (invalid
 * JSON, or nested deeper than `maxJsonDepth`).
 */
export const parseJson = (raw: string | undefined): JsonValue | undefined => {
  if (raw === undefined || raw.length === 0 || exceedsMaxDepth(raw)) return undefined
  try {
    return JSON.parse(raw) as JsonValue
  } catch {
    return undefined
  }
}

/** Parses JSON text that must hold an object (as Go's `map[string]interface{}`), else undefined. */
export const parseJsonObject = (raw: string | undefined): JsonObject | undefined => {
  const value = parseJson(raw)
  return isJsonObject(value) ? value : undefined
}

/**
 * jsonb containment (`@>`) of string pairs, as the list filters of `key:value` metadata use it:
 * the text holds an object whose every `wanted` key is exactly that string.
 */
export const containsStringPairs = (raw: string, wanted: Readonly<Record<string, string>>): boolean => {
  const object = parseJsonObject(raw)
  return object !== undefined && Object.entries(wanted).every(([key, value]) => object[key] === value)
}

const htmlUnsafe = /[<>&\u2028\u2029]/g
const escapeHtml = (s: string) => s.replace(htmlUnsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** An array or object being written: its items (or its keys) and the next to write. */
type Frame =
  | { readonly array: ReadonlyArray<unknown>; index: number }
  | { readonly object: Readonly<Record<string, unknown>>; readonly keys: ReadonlyArray<string>; index: number }

/** Where `writeJsonTo` writes: JSON text as it is (punctuation, literals), and string values to quote. */
export interface JsonSink {
  /** Text that goes out as it is. */
  readonly raw: (text: string) => void
  /** A string, quoted and escaped as `JSON.stringify` does. */
  readonly string: (s: string) => void
}

/**
 * Writes a value as JSON into `sink` with an explicit stack instead of recursion, so a value
 * nested as deep as JSON.parse builds (far deeper than the call stack allows) is written all the
 * same. `go`: Go's `json.Marshal` of the decoded value (object keys sorted, no `toJSON`);
 * otherwise what `JSON.stringify` writes (insertion order, `toJSON`, functions and symbols skipped).
 */
export const writeJsonTo = (root: unknown, go: boolean, sink: JsonSink): void => {
  const stack: Array<Frame> = []
  writeOpening(root, go, sink, stack)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    if ("array" in frame) {
      if (frame.index === frame.array.length) {
        sink.raw("]")
        stack.pop()
        continue
      }
      if (frame.index > 0) sink.raw(",")
      const item = frame.array[frame.index++]
      if (isSkipped(item, go)) sink.raw("null")
      else writeOpening(item, go, sink, stack)
    } else {
      if (frame.index === frame.keys.length) {
        sink.raw("}")
        stack.pop()
        continue
      }
      if (frame.index > 0) sink.raw(",")
      const key = frame.keys[frame.index++]!
      sink.string(key)
      sink.raw(":")
      writeOpening(frame.object[key], go, sink, stack)
    }
  }
}

/** What an object leaves out (and an array writes as null). */
const isSkipped = (value: unknown, go: boolean) =>
  value === undefined || (!go && (typeof value === "function" || typeof value === "symbol"))

/** Writes a scalar whole, or opens an array or object and pushes its frame. */
const writeOpening = (input: unknown, go: boolean, sink: JsonSink, stack: Array<Frame>): void => {
  let value = input
  if (!go && typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: () => unknown }).toJSON()
  }
  if (typeof value === "string") {
    sink.string(value)
  } else if (typeof value === "number") {
    sink.raw(Number.isFinite(value) ? JSON.stringify(value) : "null")
  } else if (typeof value === "boolean" || typeof value === "bigint") {
    sink.raw(JSON.stringify(value))
  } else if (Array.isArray(value)) {
    sink.raw("[")
    stack.push({ array: value, index: 0 })
  } else if (typeof value === "object" && value !== null) {
    const object = value as Readonly<Record<string, unknown>>
    const keys = Object.keys(object).filter((key) => !isSkipped(object[key], go))
    if (go) keys.sort(compareKeys)
    sink.raw("{")
    stack.push({ object, keys, index: 0 })
  } else {
    sink.raw("null")
  }
}

/** The text `stringSink` has written so far (one sink for every call: no closures per call). */
let written = ""

const stringSink: JsonSink = {
  raw: (text) => {
    written += text
  },
  string: (s) => {
    written += JSON.stringify(s)
  }
}

/** `writeJsonTo` into a string. */
const writeJson = (root: unknown, go: boolean): string => {
  // a `toJSON` may write JSON of its own through here: keep what the outer call has written
  const outer = written
  written = ""
  try {
    writeJsonTo(root, go, stringSink)
    return written
  } finally {
    written = outer
  }
}

/** Whether `value` is an object with no own enumerable keys (what a no-op run's input and triggers are). */
const isEmptyObject = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  for (const _ in value) return false
  return true
}

/**
 * Go's `json.Marshal` of an object whose every value is a string (a run's metadata, most often),
 * written directly; undefined for any other object.
 */
const goMarshalStrings = (object: Readonly<Record<string, unknown>>): string | undefined => {
  const keys = Object.keys(object)
  for (const key of keys) if (typeof object[key] !== "string") return undefined
  keys.sort(compareKeys)
  let out = "{"
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ","
    out += `${JSON.stringify(keys[i])}:${JSON.stringify(object[keys[i]!])}`
  }
  return `${out}}`
}

/** `json.Marshal` of a decoded value, byte for byte as Go writes it (any depth). */
export const goMarshal = (value: unknown): string => {
  if (value === null) return "null"
  if (isEmptyObject(value)) return "{}"
  const flat = typeof value === "object" && !Array.isArray(value)
    ? goMarshalStrings(value as Readonly<Record<string, unknown>>)
    : undefined
  return escapeHtml(flat ?? writeJson(value, true))
}

/** `JSON.stringify(value)`, at any depth (REST responses embed user JSON). */
export const stringifyJson = (value: unknown): string => writeJson(value, false)
