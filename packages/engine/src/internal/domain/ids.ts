/**
 * Identifiers: UUID generation and Go-compatible UUID parsing (`github.com/google/uuid`), whose
 * error texts appear verbatim in some upstream error messages.
 *
 * @internal
 */
import { createHash, randomUUID } from "node:crypto"

export const newId = (): string => randomUUID()

/** The nil UUID, Go's `uuid.Nil` (what upstream writes where an id is zero). */
export const nilUuid = "00000000-0000-0000-0000-000000000000"

/**
 * A stable UUID (version 5 layout, SHA-1) for what the local engine does not store but upstream
 * keeps as a row of its own: the same `kind` and `of` always give the same id.
 */
export const derivedId = (kind: string, of: string): string => {
  const hex = createHash("sha1").update(`${kind}:${of}`).digest("hex")
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

const hyphenated = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const plain = /^[0-9a-fA-F]{32}$/

/**
 * Parses a UUID the way Go's `uuid.Parse` does (hyphenated, `urn:uuid:`, braced or 32 hex
 * digits) and returns its canonical lower-case form, or the Go error text.
 */
export const parseUuid = (input: string): { readonly ok: true; readonly value: string } | {
  readonly ok: false
  readonly error: string
} => {
  let s = input
  switch (s.length) {
    case 36:
      break
    case 45:
      if (s.slice(0, 9).toLowerCase() !== "urn:uuid:") return { ok: false, error: `invalid urn prefix: "${s.slice(0, 9)}"` }
      s = s.slice(9)
      break
    case 38:
      s = s.slice(1, 37)
      break
    case 32:
      if (!plain.test(s)) return { ok: false, error: "invalid UUID format" }
      return {
        ok: true,
        value: `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`.toLowerCase()
      }
    default:
      return { ok: false, error: `invalid UUID length: ${input.length}` }
  }
  if (!hyphenated.test(s)) return { ok: false, error: "invalid UUID format" }
  return { ok: true, value: s.toLowerCase() }
}

export const isUuid = (input: string): boolean => parseUuid(input).ok
