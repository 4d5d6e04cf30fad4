/**
 * JSON as Postgres writes a `jsonb` value back as text (what upstream hands on where it reads a
 * stored payload as bytes, e.g. the v0 `EventData`): `", "` and `": "` between items, an object's
 * keys shortest first, then by their UTF-8 bytes (a duplicate key's last value kept), strings
 * with `"`, `\` and control characters escaped and nothing else. Numbers are written as
 * JavaScript writes them (jsonb would keep a number's written scale, `1.50`). Written without
 * recursion: a payload may nest as deep as the engine accepts.
 *
 * @internal
 */
import { isJsonObject, type JsonValue } from "./json.js"

const controlEscapes: Record<string, string> = { "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/** A string as Postgres's `escape_json` writes it. */
const escapeString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    const code = s.charCodeAt(i)
    if (c === "\"" || c === "\\") out += `\\${c}`
    else if (code < 0x20) out += controlEscapes[c] ?? `\\u${code.toString(16).padStart(4, "0")}`
    else out += c
  }
  return `${out}"`
}

/** jsonb's key order: shorter (in UTF-8 bytes) first, then bytewise. */
const compareJsonbKeys = (a: string, b: string): number => {
  const ab = Buffer.from(a, "utf8")
  const bb = Buffer.from(b, "utf8")
  return ab.length !== bb.length ? ab.length - bb.length : Buffer.compare(ab, bb)
}

type Frame =
  | { readonly kind: "array"; readonly items: ReadonlyArray<JsonValue>; index: number }
  | { readonly kind: "object"; readonly object: Readonly<Record<string, JsonValue>>; readonly keys: Array<string>; index: number }

/** `value` as the text of a `jsonb` column. */
export const jsonbText = (value: JsonValue): string => {
  let out = ""
  const stack: Array<Frame> = []
  const open = (v: JsonValue) => {
    if (Array.isArray(v)) {
      out += "["
      stack.push({ kind: "array", items: v, index: 0 })
    } else if (isJsonObject(v)) {
      out += "{"
      stack.push({ kind: "object", object: v, keys: Object.keys(v).sort(compareJsonbKeys), index: 0 })
    } else if (typeof v === "string") {
      out += escapeString(v)
    } else {
      out += JSON.stringify(v)
    }
  }
  open(value)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    if (frame.kind === "array") {
      if (frame.index === frame.items.length) {
        out += "]"
        stack.pop()
        continue
      }
      if (frame.index > 0) out += ", "
      open(frame.items[frame.index++]!)
    } else {
      if (frame.index === frame.keys.length) {
        out += "}"
        stack.pop()
        continue
      }
      if (frame.index > 0) out += ", "
      const key = frame.keys[frame.index++]!
      out += `${escapeString(key)}: `
      open(frame.object[key]!)
    }
  }
  return out
}
