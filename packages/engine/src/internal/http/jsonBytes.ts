/**
 * A JSON writer that writes UTF-8 bytes straight into one reused buffer, for the REST responses
 * that are large and frequent (the run list): a row is written from the engine's records without
 * building an object per row, a string per field or the response text, so a list call leaves
 * almost nothing for V8's young-generation collector (whose pauses, not the list's own work, set
 * the list's p99). What it writes is byte for byte what `JSON.stringify` writes for the same
 * value.
 *
 * @internal
 */

import { isJsonObject, writeJsonTo } from "../domain/json.js"

/** The buffer is kept between responses up to this size; a larger one is let go after use. */
const keptBytes = 1024 * 1024

/**
 * Whether a string is printable ASCII without `"` or `\`: it can be written between quotes as it is
 * (anything else is written as `JSON.stringify` escapes and encodes it).
 */
export const isPlainAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false
  }
  return true
}

/** Writes JSON into a growing buffer; `encode` hands out what a write wrote. */
export class JsonBytes {
  private buffer = Buffer.allocUnsafeSlow(64 * 1024)
  private at = 0
  /** Whether the bytes `lend` handed out last may still be in use. */
  private lent = false

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.at + bytes))
    this.buffer.copy(grown, 0, 0, this.at)
    this.buffer = grown
  }

  /** Text known to be ASCII and valid JSON where it goes (punctuation, keys, literals). */
  raw(text: string): this {
    const length = text.length
    this.room(length)
    // byte by byte: cheaper than a call into Buffer's native writer for the short pieces of a row
    const buffer = this.buffer
    let at = this.at
    for (let i = 0; i < length; i++) buffer[at++] = text.charCodeAt(i)
    this.at = at
    return this
  }

  /** A string value, quoted and escaped. */
  string(s: string): this {
    const length = s.length
    this.room(length + 2)
    const buffer = this.buffer
    let at = this.at
    buffer[at++] = 0x22
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i)
      // anything but printable ASCII without `"` or `\` is written as `JSON.stringify` escapes it
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return this.escaped(s)
      buffer[at++] = c
    }
    buffer[at++] = 0x22
    this.at = at
    return this
  }

  /** A string as `JSON.stringify` quotes and escapes it, in UTF-8. */
  private escaped(s: string): this {
    const quoted = JSON.stringify(s)
    this.room(quoted.length * 3)
    this.at += this.buffer.write(quoted, this.at, "utf8")
    return this
  }

  /** A number as `JSON.stringify` writes it (`null` when not finite). */
  number(n: number): this {
    if (Number.isInteger(n) && n >= 0 && n < 1e15) {
      let width = 1
      for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) width++
      this.room(width)
      this.digits(n, width)
      return this
    }
    return this.raw(Number.isFinite(n) ? String(n) : "null")
  }

  boolean(b: boolean): this {
    return this.raw(b ? "true" : "false")
  }

  /** A time (unix ms) as `Date.prototype.toISOString` writes it, quoted. */
  iso(ms: number): this {
    const days = Math.floor(ms / 86_400_000)
    let inDay = ms - days * 86_400_000
    // the civil date of a day count (H. Hinnant's `civil_from_days`)
    const z = days + 719_468
    const era = Math.floor(z / 146_097)
    const doe = z - era * 146_097
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
    const mp = Math.floor((5 * doy + 2) / 153)
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1
    const month = mp < 10 ? mp + 3 : mp - 9
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    if (!Number.isInteger(ms) || year < 0 || year > 9999) return this.string(new Date(ms).toISOString())
    this.room(26)
    const b = this.buffer
    b[this.at++] = 0x22
    this.digits(year, 4)
    b[this.at++] = 0x2d
    this.digits(month, 2)
    b[this.at++] = 0x2d
    this.digits(day, 2)
    b[this.at++] = 0x54
    this.digits(Math.floor(inDay / 3_600_000), 2)
    inDay %= 3_600_000
    b[this.at++] = 0x3a
    this.digits(Math.floor(inDay / 60_000), 2)
    inDay %= 60_000
    b[this.at++] = 0x3a
    this.digits(Math.floor(inDay / 1000), 2)
    b[this.at++] = 0x2e
    this.digits(inDay % 1000, 3)
    b[this.at++] = 0x5a
    b[this.at++] = 0x22
    return this
  }

  /** `value` (a small non-negative integer) in `width` digits, zero-padded; the room is made. */
  private digits(value: number, width: number): void {
    let rest = value
    for (let i = this.at + width - 1; i >= this.at; i--) {
      this.buffer[i] = 0x30 + (rest % 10)
      rest = Math.floor(rest / 10)
    }
    this.at += width
  }

  /** `"key":` for a key known to be plain ASCII, after a comma unless `first`. */
  key(name: string, first = false): this {
    this.raw(first ? "\"" : ",\"")
    this.raw(name)
    return this.raw("\":")
  }

  /**
   * Any value as `JSON.stringify` writes it (`writeJsonTo`: no recursion, so user JSON nested as
   * deep as `JSON.parse` builds is written all the same).
   */
  value(value: unknown): this {
    if (!this.flatObject(value)) writeJsonTo(value, false, this)
    return this
  }

  /**
   * Writes a plain object whose members are all strings, finite numbers, booleans or null (as
   * metadata, inputs and outputs usually are) in one pass, and says so; writes nothing and
   * answers false for anything else.
   */
  private flatObject(value: unknown): boolean {
    if (!isJsonObject(value) || Object.getPrototypeOf(value) !== Object.prototype) return false
    const object = value as Readonly<Record<string, unknown>>
    for (const key in object) {
      const member = object[key]
      if (
        !(typeof member === "string" || member === null || typeof member === "boolean" ||
          (typeof member === "number" && Number.isFinite(member)))
      ) {
        return false
      }
    }
    let first = true
    this.raw("{")
    for (const key in object) {
      if (!first) this.raw(",")
      first = false
      this.string(key)
      this.raw(":")
      const member = object[key]
      if (typeof member === "string") this.string(member)
      else if (typeof member === "number") this.number(member)
      else if (typeof member === "boolean") this.boolean(member)
      else this.raw("null")
    }
    this.raw("}")
    return true
  }

  /**
   * The bytes `write` writes, as a copy of their own (the buffer is reused, and emptied first, so
   * a write that failed half way leaves nothing behind). Synchronous: one response at a time.
   */
  encode(write: (writer: this) => unknown): Uint8Array {
    const written = this.lend(write)
    const bytes = new Uint8Array(written.length)
    bytes.set(written)
    this.giveBack()
    return bytes
  }

  /**
   * The bytes `write` writes as a view of the writer's own buffer, for a response sent at once:
   * no copy, and no new `ArrayBuffer` per response (V8 keeps an `ArrayBuffer`'s memory off its heap
   * and counts it against the old generation's limit until a collection frees it, so on an idle
   * engine, where no scavenge runs, a few hundred list responses in a row started a major
   * collection of their own). The next write takes a new buffer unless `giveBack` says the view is
   * no longer used: forgetting to costs a buffer, never the bytes handed out.
   */
  lend(write: (writer: this) => unknown): Buffer {
    // a buffer grown past `keptBytes` for one large response is let go after it
    if (this.lent || this.buffer.length > keptBytes) this.buffer = Buffer.allocUnsafeSlow(64 * 1024)
    this.lent = false
    this.at = 0
    write(this)
    const bytes = this.buffer.subarray(0, this.at)
    this.at = 0
    this.lent = true
    return bytes
  }

  /** Says the bytes `lend` handed out last are no longer used, so the next write may reuse them. */
  giveBack(): void {
    this.lent = false
  }
}

/** The engine's one writer: responses are written synchronously, one at a time. */
export const jsonWriter = new JsonBytes()
