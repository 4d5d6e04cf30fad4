/**
 * JSON as the Go engine sees it: `ValidateJSONB` (valid JSON, no `\u0000` in strings) and
 * `encoding/json` marshalling (object keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped).
 *
 * @internal
 */

export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | { readonly [k: string]: JsonValue }

export type JsonObject = { readonly [k: string]: JsonValue }

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const containsNul = (value: unknown): boolean => {
  if (typeof value === "string") return value.includes("\u0000")
  if (Array.isArray(value)) return value.some(containsNul)
  if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      if (key.includes("\u0000") || containsNul(value[key])) return true
    }
  }
  return false
}

/**
 * Upstream `ValidateJSONB(bytes, field)`: the empty string is accepted; otherwise the text must
 * be JSON without a NUL character inside a string. Returns the error message, or undefined.
 */
export const validateJsonb = (raw: string, field: string): string | undefined => {
  if (raw.length === 0) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    if (raw.includes("\u0000")) return `encoded jsonb contains invalid null character \\u0000 in field \`${field}\``
    return `invalid json in field \`${field}\``
  }
  if (containsNul(parsed)) return `encoded jsonb contains invalid null character \\u0000 in field \`${field}\``
  return undefined
}

/** Parses JSON text, returning undefined for the empty string or invalid JSON. */
export const parseJson = (raw: string | undefined): JsonValue | undefined => {
  if (raw === undefined || raw.length === 0) return undefined
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
const escapeHtml = (s: string) =>
  s.replace(htmlUnsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const marshalValue = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  if (Array.isArray(value)) return `[${value.map(marshalValue).join(",")}]`
  if (typeof value === "object") {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort(compareKeys)
    return `{${keys.map((k) => `${JSON.stringify(k)}:${marshalValue(record[k])}`).join(",")}}`
  }
  if (typeof value === "number" && !Number.isFinite(value)) return "null"
  return JSON.stringify(value)
}

/** `json.Marshal` of a decoded value, byte for byte as Go writes it. */
export const goMarshal = (value: unknown): string => escapeHtml(marshalValue(value))
