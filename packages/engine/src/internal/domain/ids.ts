/**
 * Identifiers: UUID generation and Go-compatible UUID parsing (`github.com/google/uuid`), whose
 * error texts appear verbatim in some upstream error messages.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"

export const newId = (): string => randomUUID()

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
