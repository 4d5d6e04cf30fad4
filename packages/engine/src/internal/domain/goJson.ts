/**
 * JSON read as Go's `encoding/json` `Decoder.Decode` reads it (what echo's binder runs on a REST
 * body): the first value of the input (what follows it is not read), a syntax error as Go's
 * scanner words it with its offset (the 1-based byte at fault), `EOF` for an input of white
 * space, `unexpected EOF` for one that stops inside a value, nesting deeper than 10,000 levels
 * refused; then the value decoded into a Go type (`GoType`), with the first type mismatch as
 * Go's `UnmarshalTypeError` (the Go type expected, what was found, the struct fields leading to
 * it, its offset) or the error of a type's own text decoder, which stops decoding.
 *
 * Nothing recurses on the input: the scanner and the tree builder keep their own stacks.
 *
 * @internal
 */
import { nilUuid, parseUuid } from "./ids.js"
import { exceedsMaxDepth, maxJsonDepth } from "./json.js"

/** What `Decoder.Decode` fails with: a `*SyntaxError` (with its offset), `io.EOF` or `io.ErrUnexpectedEOF`. */
export type GoJsonReadError =
  | { readonly _tag: "Syntax"; readonly message: string; readonly offset: number }
  | { readonly _tag: "EOF" }
  | { readonly _tag: "UnexpectedEOF" }

/** Go's `quoteChar`: a byte as the scanner names it. */
const quoteChar = (c: number): string => {
  if (c === 0x27) return "'\\''"
  if (c === 0x22) return "'\"'"
  return `'${goQuoteRune(c)}'`
}

/** `strconv.Quote(string(rune(c)))` without its quotes, for a code point below 256. */
const goQuoteRune = (c: number): string => {
  switch (c) {
    case 0x07:
      return "\\a"
    case 0x08:
      return "\\b"
    case 0x0c:
      return "\\f"
    case 0x0a:
      return "\\n"
    case 0x0d:
      return "\\r"
    case 0x09:
      return "\\t"
    case 0x0b:
      return "\\v"
    case 0x5c:
      return "\\\\"
  }
  // printable: ASCII graphic and space, Latin-1 graphic (not U+00A0 nor the soft hyphen U+00AD)
  if ((c >= 0x20 && c < 0x7f) || (c > 0xa0 && c !== 0xad && c <= 0xff)) return String.fromCharCode(c)
  return c < 0x80 ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)

/** The scanner's states (Go's `state*` functions). */
const enum S {
  BeginValue,
  BeginValueOrEmpty,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  InString,
  InStringEsc,
  InStringEscU,
  InStringEscU1,
  InStringEscU12,
  InStringEscU123,
  Neg,
  One,
  Zero,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  T,
  Tr,
  Tru,
  F,
  Fa,
  Fal,
  Fals,
  N,
  Nu,
  Nul
}

/** What the parse stack holds (Go's `parseObjectKey`, `parseObjectValue`, `parseArrayValue`). */
const enum P {
  ObjectKey,
  ObjectValue,
  ArrayValue
}

const literals: Partial<Record<S, readonly [number, S | "end", string]>> = {
  [S.T]: [0x72, S.Tr, "in literal true (expecting 'r')"],
  [S.Tr]: [0x75, S.Tru, "in literal true (expecting 'u')"],
  [S.Tru]: [0x65, "end", "in literal true (expecting 'e')"],
  [S.F]: [0x61, S.Fa, "in literal false (expecting 'a')"],
  [S.Fa]: [0x6c, S.Fal, "in literal false (expecting 'l')"],
  [S.Fal]: [0x73, S.Fals, "in literal false (expecting 's')"],
  [S.Fals]: [0x65, "end", "in literal false (expecting 'e')"],
  [S.N]: [0x75, S.Nu, "in literal null (expecting 'u')"],
  [S.Nu]: [0x6c, S.Nul, "in literal null (expecting 'l')"],
  [S.Nul]: [0x6c, "end", "in literal null (expecting 'l')"]
}

type Outcome = "end" | "closed" | "error" | "more"

/** The state a byte that begins a string, a number (but 1 to 9) or a keyword leads to. */
const literalStarts = new Map<number, S>([[0x22, S.InString], [0x2d, S.Neg], [0x30, S.Zero], [0x74, S.T], [0x66, S.F], [0x6e, S.N]])

/**
 * `Decoder.Decode`'s reading of the first value of `bytes`: its end (the index after it), or the
 * error Go answers.
 */
export const readGoJsonValue = (bytes: Uint8Array): { readonly end: number } | GoJsonReadError => {
  const stack: Array<P> = []
  let state = S.BeginValue
  let error: string | undefined
  // one step of the scanner on byte `c`: "end" when the value ended before `c`, "closed" when
  // `c` closed it (Go ends a top-level object or array without waiting for the next byte),
  // "error" (in `error`), or "more"
  const step = (c: number): Outcome => {
    const to = (next: S) => {
      state = next
      return "more" as const
    }
    const fail = (context: string) => {
      error = `invalid character ${quoteChar(c)} ${context}`
      return "error" as const
    }
    const push = (p: P, next: S) => {
      stack.push(p)
      if (stack.length > maxJsonDepth) return fail("exceeded max depth")
      state = next
      return "more" as const
    }
    const endValue = (): Outcome => {
      if (stack.length === 0) return "end"
      if (isSpace(c)) return to(S.EndValue)
      switch (stack[stack.length - 1]!) {
        case P.ObjectKey:
          if (c === 0x3a) {
            stack[stack.length - 1] = P.ObjectValue
            return to(S.BeginValue)
          }
          return fail("after object key")
        case P.ObjectValue:
          if (c === 0x2c) {
            stack[stack.length - 1] = P.ObjectKey
            return to(S.BeginString)
          }
          if (c === 0x7d) return closeContainer()
          return fail("after object key:value pair")
        case P.ArrayValue:
          if (c === 0x2c) return to(S.BeginValue)
          if (c === 0x5d) return closeContainer()
          return fail("after array element")
      }
    }
    const closeContainer = (): Outcome => {
      stack.pop()
      state = S.EndValue
      return stack.length === 0 ? "closed" : "more"
    }
    const beginValue = (): Outcome => {
      if (isSpace(c)) return "more"
      if (c === 0x7b) return push(P.ObjectKey, S.BeginStringOrEmpty)
      if (c === 0x5b) return push(P.ArrayValue, S.BeginValueOrEmpty)
      const next = literalStarts.get(c) ?? (c >= 0x31 && c <= 0x39 ? S.One : undefined)
      return next !== undefined ? to(next) : fail("looking for beginning of value")
    }
    const beginString = (): Outcome => {
      if (isSpace(c)) return "more"
      if (c === 0x22) return to(S.InString)
      return fail("looking for beginning of object key string")
    }
    const zero = (): Outcome => {
      if (c === 0x2e) return to(S.Dot)
      if (c === 0x65 || c === 0x45) return to(S.E)
      return endValue()
    }
    const eSign = (): Outcome => {
      if (isDigit(c)) return to(S.E0)
      return fail("in exponent of numeric literal")
    }
    switch (state) {
      case S.BeginValue:
        return beginValue()
      case S.BeginValueOrEmpty:
        if (isSpace(c)) return "more"
        if (c === 0x5d) return endValue()
        return beginValue()
      case S.BeginStringOrEmpty:
        if (isSpace(c)) return "more"
        if (c === 0x7d) {
          stack[stack.length - 1] = P.ObjectValue
          return endValue()
        }
        return beginString()
      case S.BeginString:
        return beginString()
      case S.EndValue:
        return endValue()
      case S.InString:
        if (c === 0x22) return to(S.EndValue)
        if (c === 0x5c) return to(S.InStringEsc)
        if (c < 0x20) return fail("in string literal")
        return "more"
      case S.InStringEsc:
        if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) return to(S.InString)
        if (c === 0x75) return to(S.InStringEscU)
        return fail("in string escape code")
      case S.InStringEscU:
      case S.InStringEscU1:
      case S.InStringEscU12:
      case S.InStringEscU123:
        if (!isHex(c)) return fail("in \\u hexadecimal character escape")
        state = state === S.InStringEscU123 ? S.InString : state + 1
        return "more"
      case S.Neg:
        if (c === 0x30) return to(S.Zero)
        if (c >= 0x31 && c <= 0x39) return to(S.One)
        return fail("in numeric literal")
      case S.One:
        if (isDigit(c)) return "more"
        return zero()
      case S.Zero:
        return zero()
      case S.Dot:
        if (isDigit(c)) return to(S.Dot0)
        return fail("after decimal point in numeric literal")
      case S.Dot0:
        if (isDigit(c)) return "more"
        if (c === 0x65 || c === 0x45) return to(S.E)
        return endValue()
      case S.E:
        if (c === 0x2b || c === 0x2d) return to(S.ESign)
        return eSign()
      case S.ESign:
        return eSign()
      case S.E0:
        if (isDigit(c)) return "more"
        return endValue()
      default: {
        const [expected, next, context] = literals[state]!
        if (c !== expected) return fail(context)
        if (next === "end") state = S.EndValue
        else state = next
        return "more"
      }
    }
  }
  for (let i = 0; i < bytes.length; i++) {
    const outcome = step(bytes[i]!)
    if (outcome === "error") return { _tag: "Syntax", message: error!, offset: i + 1 }
    if (outcome === "closed") return { end: i + 1 }
    if (outcome === "end") return { end: i }
  }
  // at the end of the input Go feeds a space: it ends a top-level literal
  if (step(0x20) === "end") return { end: bytes.length }
  for (const c of bytes) if (!isSpace(c)) return { _tag: "UnexpectedEOF" }
  return { _tag: "EOF" }
}

/**
 * `readGoJsonValue` with the value: `JSON.parse` of the whole text when it is one value Go takes
 * too (no pass over the bytes here), else the scanner's end or error, then the value it read.
 */
export const readGoJson = (
  bytes: Uint8Array
): { readonly end: number; readonly value: unknown; readonly text: string } | GoJsonReadError => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  try {
    const value: unknown = JSON.parse(text)
    if (!exceedsMaxDepth(text)) return { end: bytes.length, value, text }
  } catch {
    // not one value: the scanner says where it ends or what Go answers
  }
  const read = readGoJsonValue(bytes)
  if (!("end" in read)) return read
  const prefix = Buffer.from(bytes.buffer, bytes.byteOffset, read.end).toString("utf8")
  return { end: read.end, value: JSON.parse(prefix) as unknown, text: prefix }
}

/** Go's `time` `quote`: ASCII as is (`"` and `\` escaped), other bytes as `\xNN`. */
const timeQuote = (text: string): string => {
  let out = "\""
  for (const c of text) {
    const code = c.codePointAt(0)!
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(c, "utf8")) out += `\\x${byte.toString(16).padStart(2, "0")}`
    } else out += c === "\"" || c === "\\" ? `\\${c}` : c
  }
  return `${out}"`
}

const rfc3339Layout = "2006-01-02T15:04:05Z07:00"
const dateLayout = "2006-01-02"

/** A time Go parsed: epoch milliseconds, or its `ParseError` text. */
export type GoTimeParse = { readonly ms: number } | { readonly error: string }

/**
 * Go's `time.Parse(time.RFC3339, value)` (what `time.Time` decodes a JSON string with; its strict
 * checks are disabled upstream of Go 1.20's, go.dev/issue/54580): epoch milliseconds, or Go's
 * `ParseError` text ("parsing time "…" as "2006-01-02T15:04:05Z07:00": cannot parse "…" as "…"",
 * or "…: month out of range" and the like). A one-digit hour and a comma before the fraction pass,
 * as in Go.
 */
export const parseGoRfc3339 = (value: string): GoTimeParse => parseGoLayout(value, rfc3339Layout)

/**
 * Go's `time.Parse("2006-01-02", value)`: midnight UTC of that date, or Go's `ParseError` text
 * (`parsing time "…" as "2006-01-02": cannot parse "…" as "…"`, "…: extra text: "…"", ranges).
 */
export const parseGoDate = (value: string): GoTimeParse => parseGoLayout(value, dateLayout)

/**
 * A query parameter of type `time.Time` as oapi-codegen's runtime binds it (`BindStringToObject`):
 * RFC 3339, else a date (`2006-01-02`, midnight UTC), else its error, which names the date's
 * parse error: "error parsing '…' as RFC3339 or 2006-01-02 time: parsing time …".
 */
export const parseGoQueryTime = (value: string): GoTimeParse => {
  const time = parseGoRfc3339(value)
  if ("ms" in time) return time
  const date = parseGoDate(value)
  return "ms" in date ? date : { error: `error parsing '${value}' as RFC3339 or 2006-01-02 time: ${date.error}` }
}

/** `time.Parse` for the two layouts the engine reads (RFC 3339 and a date). */
const parseGoLayout = (value: string, layout: typeof rfc3339Layout | typeof dateLayout): GoTimeParse => {
  const cannot = (rest: string, element: string) => ({
    error: `parsing time ${timeQuote(value)} as ${timeQuote(layout)}: cannot parse ${timeQuote(rest)} as ${timeQuote(element)}`
  })
  const outOfRange = (what: string) => ({ error: `parsing time ${timeQuote(value)}: ${what} out of range` })
  const digit = (text: string, i: number) => i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57
  // Go's `getnum`: one or (fixed) exactly two digits
  const num = (text: string, fixed: boolean): readonly [number, string] | undefined => {
    if (!digit(text, 0)) return undefined
    if (!digit(text, 1)) return fixed ? undefined : [Number(text[0]), text.slice(1)]
    return [Number(text.slice(0, 2)), text.slice(2)]
  }
  let rest = value
  // the year: four characters, an optional sign and digits (Go's `atoi`)
  if (rest.length < 4 || !/^[+-]?\d+$/.test(rest.slice(0, 4))) return cannot(rest, "2006")
  const year = Number(rest.slice(0, 4))
  rest = rest.slice(4)
  const numbers: Array<number> = []
  const fields: ReadonlyArray<readonly [string, string, boolean, number, string]> = [
    ["-", "01", true, 12, "month"],
    ["-", "02", true, Infinity, "day"],
    ["T", "15", false, 23, "hour"],
    [":", "04", true, 59, "minute"],
    [":", "05", true, 59, "second"]
  ]
  for (const [separator, element, fixed, max, name] of layout === dateLayout ? fields.slice(0, 2) : fields) {
    if (!rest.startsWith(separator)) return cannot(rest, separator)
    rest = rest.slice(1)
    const read = num(rest, fixed)
    if (read === undefined) return cannot(rest, element)
    const [n, after] = read
    if (n > max || (name === "month" && n === 0)) return { error: `parsing time ${timeQuote(value)}: ${name} out of range` }
    numbers.push(n)
    rest = after
  }
  const [month, day, hour = 0, minute = 0, second = 0] = numbers as [number, number, number?, number?, number?]
  let fraction = 0
  let offsetMinutes = 0
  // a date ends at its day (UTC); RFC 3339 goes on with a fraction and the offset
  if (layout === rfc3339Layout) {
    if (rest.length >= 2 && (rest[0] === "." || rest[0] === ",") && digit(rest, 1)) {
      let n = 2
      while (digit(rest, n)) n++
      fraction = Number(`0.${rest.slice(1, Math.min(n, 10))}`)
      rest = rest.slice(n)
    }
    if (rest.startsWith("Z")) rest = rest.slice(1)
    else {
      const hold = rest
      if (rest.length < 6 || rest[3] !== ":") return cannot(hold, "Z07:00")
      const hours = num(rest.slice(1, 3), true)
      const minutes = num(rest.slice(4, 6), true)
      if (hours === undefined || minutes === undefined || (rest[0] !== "+" && rest[0] !== "-")) return cannot(hold, "Z07:00")
      if (hours[0] > 24) return outOfRange("time zone offset hour")
      if (minutes[0] > 60) return outOfRange("time zone offset minute")
      offsetMinutes = (rest[0] === "-" ? -1 : 1) * (hours[0] * 60 + minutes[0])
      rest = rest.slice(6)
    }
  }
  if (rest.length > 0) return { error: `parsing time ${timeQuote(value)}: extra text: ${timeQuote(rest)}` }
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, 1)
  if (day < 1 || day > new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0)) {
    return { error: `parsing time ${timeQuote(value)}: day out of range` }
  }
  date.setUTCDate(day)
  date.setUTCHours(hour, minute, second, 0)
  return { ms: date.getTime() + Math.floor(fraction * 1000) - offsetMinutes * 60_000 }
}

const isLeap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)

// -----------------------------------------------------------------------------
// decoding into a Go type
// -----------------------------------------------------------------------------

/**
 * A Go type a body decodes into (the fields of oapi-codegen's request structs): its `name` as Go
 * prints it (`reflect.Type.String()`), which error messages show.
 */
export type GoType =
  | { readonly kind: "string"; readonly name: string }
  | { readonly kind: "bool" }
  | { readonly kind: "int"; readonly name: "int" | "int32" | "int64" }
  | { readonly kind: "any" }
  | { readonly kind: "map"; readonly value: GoType }
  | { readonly kind: "slice"; readonly elem: GoType }
  | { readonly kind: "struct"; readonly name: string; readonly fields: ReadonlyArray<GoField> }
  | { readonly kind: "uuid" }
  | { readonly kind: "time" }

/** A struct field: its JSON name (the tag) and whether it is a pointer (absent when nil). */
export interface GoField {
  readonly name: string
  readonly type: GoType
  readonly pointer: boolean
}

/** Go's type constructors, for describing request bodies. */
export const Go = {
  string: { kind: "string", name: "string" } as GoType,
  named: (name: string): GoType => ({ kind: "string", name }),
  bool: { kind: "bool" } as GoType,
  int: { kind: "int", name: "int" } as GoType,
  int32: { kind: "int", name: "int32" } as GoType,
  int64: { kind: "int", name: "int64" } as GoType,
  any: { kind: "any" } as GoType,
  map: (value: GoType): GoType => ({ kind: "map", value }),
  slice: (elem: GoType): GoType => ({ kind: "slice", elem }),
  uuid: { kind: "uuid" } as GoType,
  time: { kind: "time" } as GoType,
  struct: (name: string, fields: Record<string, GoType | readonly [GoType, "pointer"]>): GoType => ({
    kind: "struct",
    name,
    fields: Object.entries(fields).map(([field, type]) =>
      Array.isArray(type) ? { name: field, type: type[0] as GoType, pointer: true } : { name: field, type: type as GoType, pointer: false }
    )
  })
}

const typeName = (type: GoType): string => {
  switch (type.kind) {
    case "string":
    case "int":
    case "struct":
      return type.name
    case "bool":
      return "bool"
    case "any":
      return "interface {}"
    case "map":
      return `map[string]${typeName(type.value)}`
    case "slice":
      return `[]${typeName(type.elem)}`
    case "uuid":
      return "uuid.UUID"
    case "time":
      return "time.Time"
  }
}

/** A JSON value with the offsets Go's errors report. */
type Node =
  | { readonly t: "object"; readonly after: number; readonly entries: Array<readonly [string, Node]> }
  | { readonly t: "array"; readonly after: number; readonly items: Array<Node> }
  | { readonly t: "literal"; readonly end: number; readonly value: string | number | boolean | null; readonly text: string }

/** The tree of a value already read whole (`readGoJsonValue`), without recursion. */
const treeOf = (bytes: Uint8Array, end: number): Node => {
  const text = (from: number, to: number) => Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString("utf8")
  type Open = { readonly node: Extract<Node, { t: "object" | "array" }>; key: string | undefined }
  const open: Array<Open> = []
  let root: Node | undefined
  let i = 0
  const add = (node: Node) => {
    const top = open[open.length - 1]
    if (top === undefined) root = node
    else if (top.node.t === "array") top.node.items.push(node)
    else {
      top.node.entries.push([top.key!, node])
      top.key = undefined
    }
  }
  const stringEnd = (from: number) => {
    let at = from + 1
    while (bytes[at] !== 0x22) at += bytes[at] === 0x5c ? 2 : 1
    return at + 1
  }
  while (i < end) {
    const c = bytes[i]!
    if (isSpace(c) || c === 0x2c || c === 0x3a) {
      i++
      continue
    }
    if (c === 0x7b || c === 0x5b) {
      const node: Extract<Node, { t: "object" | "array" }> = c === 0x7b
        ? { t: "object", after: i + 1, entries: [] }
        : { t: "array", after: i + 1, items: [] }
      add(node)
      open.push({ node, key: undefined })
      i++
      continue
    }
    if (c === 0x7d || c === 0x5d) {
      open.pop()
      i++
      continue
    }
    const top = open[open.length - 1]
    if (c === 0x22) {
      const close = stringEnd(i)
      const value = JSON.parse(text(i, close)) as string
      if (top !== undefined && top.node.t === "object" && top.key === undefined) top.key = value
      else add({ t: "literal", end: close, value, text: text(i + 1, close - 1) })
      i = close
      continue
    }
    let close = i + 1
    while (close < end && !isSpace(bytes[close]!) && ![0x2c, 0x7d, 0x5d].includes(bytes[close]!)) close++
    const literal = text(i, close)
    add({
      t: "literal",
      end: close,
      value: literal === "true" ? true : literal === "false" ? false : literal === "null" ? null : Number(literal),
      text: literal
    })
    i = close
  }
  return root!
}

/** What decoding fails with: Go's `UnmarshalTypeError` (saved, the first one), or a type's own error (at once). */
export type GoDecodeError =
  | {
    readonly _tag: "UnmarshalType"
    readonly expected: string
    readonly got: string
    readonly field: string
    readonly offset: number
  }
  | { readonly _tag: "Decoder"; readonly message: string }

class Abort {
  constructor(readonly message: string) {}
}

/** Go's `foldName` match of a key to a field name (ASCII case folding; also the Kelvin sign and long s). */
const sameFolded = (a: string, b: string) => a.toLowerCase().replace(/\u212a/g, "k").replace(/\u017f/g, "s") === b.toLowerCase()

/** The zero value of a type, as the decoded body holds it (a struct without its pointer fields). */
export const zeroGoValue = (type: GoType): unknown => {
  switch (type.kind) {
    case "string":
      return ""
    case "bool":
      return false
    case "int":
      return 0
    case "uuid":
      return nilUuid
    case "time":
      return "0001-01-01T00:00:00Z"
    case "struct":
      return Object.fromEntries(type.fields.filter((f) => !f.pointer).map((f) => [f.name, zeroGoValue(f.type)]))
    default:
      return null
  }
}

const intRange = { int: 2n ** 63n, int32: 2n ** 31n, int64: 2n ** 63n } as const

/** How the decoder reads a JSON value: a parsed one (no offsets), or the tree of the bytes. */
interface Source<N> {
  readonly kind: (node: N) => "object" | "array" | "string" | "number" | "bool" | "null"
  readonly entries: (node: N) => ReadonlyArray<readonly [string, N]>
  readonly items: (node: N) => ReadonlyArray<N>
  readonly scalar: (node: N) => string | number | boolean | null
  /** The number as written. */
  readonly text: (node: N) => string
  /** The offset Go reports for a mismatched value: after a literal, after the opening bracket. */
  readonly offset: (node: N) => number
  /** The value of an `interface{}` (numbers beyond float64 reported through `beyond`). */
  readonly plain: (node: N, beyond: (text: string, offset: number) => void) => unknown
}

/** A value `JSON.parse` gave; offsets are not known (a mismatch is decoded again from the bytes). */
const parsedSource: Source<unknown> = {
  kind: (node) =>
    node === null
      ? "null"
      : Array.isArray(node)
      ? "array"
      : typeof node === "object"
      ? "object"
      : typeof node === "boolean"
      ? "bool"
      : (typeof node as "string" | "number"),
  entries: (node) => Object.entries(node as object),
  items: (node) => node as ReadonlyArray<unknown>,
  scalar: (node) => node as string | number | boolean | null,
  text: (node) => String(node),
  offset: () => 0,
  plain: (node) => node
}

/** The tree of the bytes: offsets and numbers as written. */
const treeSource: Source<Node> = {
  kind: (node) =>
    node.t !== "literal"
      ? node.t
      : node.value === null
      ? "null"
      : typeof node.value === "boolean"
      ? "bool"
      : (typeof node.value as "string" | "number"),
  entries: (node) => (node.t === "object" ? node.entries : []),
  items: (node) => (node.t === "array" ? node.items : []),
  scalar: (node) => (node.t === "literal" ? node.value : null),
  text: (node) => (node.t === "literal" ? node.text : ""),
  offset: (node) => (node.t === "literal" ? node.end : node.after),
  plain: (root, beyond) => {
    const convert = (node: Node): unknown => {
      if (node.t !== "literal") return node.t === "object" ? {} : []
      // Go's `convertNumber` reports after the byte that follows the number
      if (typeof node.value === "number" && !Number.isFinite(node.value)) beyond(node.text, node.end + 1)
      return node.value
    }
    const out = convert(root)
    const pending: Array<readonly [Node, unknown]> = [[root, out]]
    while (pending.length > 0) {
      const [node, target] = pending.pop()!
      const children: ReadonlyArray<readonly [string | number, Node]> = node.t === "object"
        ? node.entries
        : node.t === "array"
        ? node.items.map((item, i) => [i, item] as const)
        : []
      for (const [key, child] of children) {
        const value = convert(child)
        ;(target as Record<string | number, unknown>)[key] = value
        if (child.t !== "literal") pending.push([child, value])
      }
    }
    return out
  }
}

/** Numbers that may be beyond float64 (an exponent of three digits, 309 digits or more). */
const mayOverflow = /[eE][+]?\d{3}|\d{309}/

/**
 * Decodes `value` into `type` as `encoding/json` does: struct keys matched exactly, else
 * case-insensitively, unknown keys skipped; a missing non-pointer field its zero value, a pointer
 * field absent when missing or null; a mismatch recorded (the first one is the error) and
 * decoding going on; a UUID that does not parse, or a time that is not an RFC 3339 JSON string,
 * stopping it (their own decoders). Times are kept as their text.
 */
const decodeWith = <N>(source: Source<N>, root: N, type: GoType): { readonly value: unknown } | GoDecodeError => {
  let saved: GoDecodeError | undefined
  const fields: Array<string> = []
  const mismatch = (expected: GoType | string, got: string, offset: number) => {
    saved ??= {
      _tag: "UnmarshalType",
      expected: typeof expected === "string" ? expected : typeName(expected),
      got,
      field: fields.join("."),
      offset
    }
  }
  const beyond = (text: string, offset: number) => mismatch("float64", `number ${text}`, offset)
  const decode = (node: N, type: GoType, current: unknown): unknown => {
    const kind = source.kind(node)
    if (kind === "null") {
      // null empties an interface, map or slice; other types keep their value
      return type.kind === "any" || type.kind === "map" || type.kind === "slice" ? null : current
    }
    switch (type.kind) {
      case "any":
        return source.plain(node, beyond)
      case "time": {
        const value = source.scalar(node)
        if (typeof value !== "string") throw new Abort("Time.UnmarshalJSON: input is not a JSON string")
        // Go parses the text between the quotes as it is (escapes included)
        const parsed = parseGoRfc3339(source.text(node))
        if ("error" in parsed) throw new Abort(parsed.error)
        return value
      }
      case "uuid": {
        const value = source.scalar(node)
        if (kind !== "string") {
          mismatch(type, kind, source.offset(node))
          return current
        }
        const parsed = parseUuid(value as string)
        if (!parsed.ok) throw new Abort(parsed.error)
        return parsed.value
      }
      case "string":
      case "bool":
        if (kind === type.kind) return source.scalar(node)
        mismatch(type, kind, source.offset(node))
        return current
      case "int": {
        if (kind !== "number") {
          mismatch(type, kind, source.offset(node))
          return current
        }
        const text = source.text(node)
        const integer = /^-?\d+$/.test(text) ? BigInt(text) : undefined
        const limit = intRange[type.name]
        if (integer === undefined || integer >= limit || integer < -limit) {
          mismatch(type, `number ${text}`, source.offset(node))
          return current
        }
        return Number(integer)
      }
      case "map": {
        if (kind !== "object") {
          mismatch(type, kind, source.offset(node))
          return current
        }
        // a parsed object is already what a new `map[string]interface{}` of it holds
        if (type.value.kind === "any" && current === null && source === parsedSource) return node
        const out: Record<string, unknown> = current !== null && typeof current === "object" ? current as Record<string, unknown> : {}
        for (const [key, child] of source.entries(node)) out[key] = decode(child, type.value, out[key] ?? null)
        return out
      }
      case "slice": {
        if (kind !== "array") {
          mismatch(type, kind, source.offset(node))
          return current
        }
        return source.items(node).map((item) => decode(item, type.elem, zeroGoValue(type.elem)))
      }
      case "struct": {
        if (kind !== "object") {
          mismatch(type, kind, source.offset(node))
          return current
        }
        const out: Record<string, unknown> = current !== null && typeof current === "object"
          ? current as Record<string, unknown>
          : zeroGoValue(type) as Record<string, unknown>
        for (const [key, child] of source.entries(node)) {
          const field = type.fields.find((f) => f.name === key) ?? type.fields.find((f) => sameFolded(key, f.name))
          if (field === undefined) continue
          fields.push(field.name)
          if (field.pointer && source.kind(child) === "null") delete out[field.name]
          else out[field.name] = decode(child, field.type, out[field.name] ?? (field.pointer ? zeroGoValue(field.type) : null))
          fields.pop()
        }
        return out
      }
    }
  }
  try {
    const value = decode(root, type, zeroGoValue(type))
    return saved ?? { value }
  } catch (error) {
    if (error instanceof Abort) return { _tag: "Decoder", message: error.message }
    throw error
  }
}

const hasInt = (type: GoType): boolean => {
  switch (type.kind) {
    case "int":
      return true
    case "map":
      return hasInt(type.value)
    case "slice":
      return hasInt(type.elem)
    case "struct":
      return type.fields.some((field) => hasInt(field.type))
    default:
      return false
  }
}

/**
 * What `JSON.parse` hides from a decoder of its value, read off the text (valid JSON) in one pass:
 * how many keys it writes (a key given twice is one key of the parsed object, and Go decodes both,
 * so an earlier value of the wrong type is an error), and whether a number has a fraction or an
 * exponent (`1.0` and `1e2` parse to whole numbers, which Go's `int` refuses).
 */
const writtenForms = (text: string): { readonly keys: number; readonly fractional: boolean } => {
  let keys = 0
  let fractional = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // a string: skip to its closing quote; followed by ':' it is a key
      i++
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1
      let j = i + 1
      while (isSpace(text.charCodeAt(j))) j++
      if (text.charCodeAt(j) === 0x3a) keys++
    } else if (c === 0x2e || ((c === 0x65 || c === 0x45) && isDigit(text.charCodeAt(i - 1)))) fractional = true
  }
  return { keys, fractional }
}

/** The keys of every object in a parsed value. */
const parsedKeys = (value: unknown): number => {
  let keys = 0
  const pending: Array<unknown> = [value]
  while (pending.length > 0) {
    const node = pending.pop()
    if (node === null || typeof node !== "object") continue
    if (Array.isArray(node)) {
      for (const item of node) pending.push(item)
      continue
    }
    for (const key in node) {
      keys++
      pending.push((node as Record<string, unknown>)[key])
    }
  }
  return keys
}

/**
 * Decodes the first JSON value of `bytes` (ending at `end`, from `readGoJsonValue`) into `type`
 * (`decodeWith`). `parsed` is that value from `JSON.parse`, when the caller has it: decoding it
 * costs no pass over the bytes but one over its text (`writtenForms`); the bytes are decoded
 * instead when the parsed value hides what Go would refuse (a key given twice, a whole number
 * written `1.0` or `1e2` where the type has an `int`) and when it decoded with a mismatch, for Go's
 * offsets and document order.
 */
export const decodeGoJson = (
  bytes: Uint8Array,
  end: number,
  type: GoType,
  parsed?: { readonly value: unknown; readonly text: string }
): { readonly value: unknown } | GoDecodeError => {
  if (parsed !== undefined && !mayOverflow.test(parsed.text)) {
    const written = writtenForms(parsed.text)
    if (written.keys === parsedKeys(parsed.value) && !(written.fractional && hasInt(type))) {
      const fast = decodeWith(parsedSource, parsed.value, type)
      if ("value" in fast) return fast
    }
  }
  return decodeWith(treeSource, treeOf(bytes, end), type)
}
