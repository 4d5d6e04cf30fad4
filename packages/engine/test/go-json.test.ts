/**
 * `domain/goJson.ts` against what Go's `encoding/json` `Decoder.Decode` answers (the texts and
 * offsets Go 1.2x gives for these inputs): syntax errors at the byte at fault, `EOF` and
 * `unexpected EOF`, the first value only; decoding into a struct with its type errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { decodeGoJson, Go, parseGoRfc3339, readGoJson, readGoJsonValue } from "../src/internal/domain/goJson.js"

const read = (text: string | Uint8Array) => readGoJsonValue(typeof text === "string" ? new TextEncoder().encode(text) : text)
const syntax = (offset: number, message: string) => ({ _tag: "Syntax", offset, message })

const Trigger = Go.struct("gen.V1TriggerWorkflowRunRequest", {
  additionalMetadata: [Go.map(Go.any), "pointer"],
  input: Go.map(Go.any),
  priority: [Go.int, "pointer"],
  return_only_id: [Go.bool, "pointer"],
  workflowName: Go.string
})
const Filter = Go.struct("gen.V1TaskFilter", {
  since: Go.time,
  statuses: [Go.slice(Go.named("gen.V1TaskStatus")), "pointer"],
  workflowIds: [Go.slice(Go.uuid), "pointer"]
})
const Cancel = Go.struct("gen.V1CancelTaskRequest", { externalIds: [Go.slice(Go.uuid), "pointer"], filter: [Filter, "pointer"] })

/** Decodes from the bytes, and from the parsed value (`readGoJson`): both give the same answer. */
const decode = (text: string, type = Trigger) => {
  const bytes = new TextEncoder().encode(text)
  const value = readGoJsonValue(bytes)
  if (!("end" in value)) throw new Error(`not JSON: ${JSON.stringify(value)}`)
  const exact = decodeGoJson(bytes, value.end, type)
  const parsed = readGoJson(bytes)
  if (!("end" in parsed)) throw new Error(`not JSON: ${JSON.stringify(parsed)}`)
  expect(decodeGoJson(bytes, parsed.end, type, parsed)).toEqual(exact)
  return exact
}
const mismatch = (expected: string, got: string, field: string, offset: number) => ({ _tag: "UnmarshalType", expected, got, field, offset })

describe("Go's JSON decoder", () => {
  it("syntax errors as Go's scanner words them, at the 1-based byte at fault", () => {
    expect(read("not json")).toEqual(syntax(2, "invalid character 'o' in literal null (expecting 'u')"))
    expect(read("{not json")).toEqual(syntax(2, "invalid character 'n' looking for beginning of object key string"))
    expect(read("{\"a\":1,}")).toEqual(syntax(8, "invalid character '}' looking for beginning of object key string"))
    expect(read("{\"a\" 1}")).toEqual(syntax(6, "invalid character '1' after object key"))
    expect(read("{\"a\":1 \"b\"}")).toEqual(syntax(8, "invalid character '\"' after object key:value pair"))
    expect(read("[1 2]")).toEqual(syntax(4, "invalid character '2' after array element"))
    expect(read("-x")).toEqual(syntax(2, "invalid character 'x' in numeric literal"))
    expect(read("1.x")).toEqual(syntax(3, "invalid character 'x' after decimal point in numeric literal"))
    expect(read("1e+x")).toEqual(syntax(4, "invalid character 'x' in exponent of numeric literal"))
    expect(read("\"a\\x\"")).toEqual(syntax(4, "invalid character 'x' in string escape code"))
    expect(read("\"\\u12g4\"")).toEqual(syntax(6, "invalid character 'g' in \\u hexadecimal character escape"))
    expect(read("\"a\nb\"")).toEqual(syntax(3, "invalid character '\\n' in string literal"))
    expect(read("'a'")).toEqual(syntax(1, "invalid character '\\'' looking for beginning of value"))
    expect(read("tx")).toEqual(syntax(2, "invalid character 'x' in literal true (expecting 'r')"))
    // a byte order mark is not white space to Go
    expect(read(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual(syntax(1, "invalid character 'ï' looking for beginning of value"))
    expect(read(new Uint8Array([0x5b, 0x01]))).toEqual(syntax(2, "invalid character '\\x01' looking for beginning of value"))
    expect(read(`${"[".repeat(10_001)}`)).toEqual(syntax(10_001, "invalid character '[' exceeded max depth"))
  })

  it("readGoJson: the value with JSON.parse when the whole text is one value, else the scanner's answer", () => {
    expect(readGoJson(new TextEncoder().encode(" {\"a\":[1]} "))).toMatchObject({ end: 11, value: { a: [1] } })
    expect(readGoJson(new TextEncoder().encode("{\"a\":1} trailing"))).toMatchObject({ end: 7, value: { a: 1 }, text: "{\"a\":1}" })
    expect(readGoJson(new TextEncoder().encode("{\"a\" 1}"))).toEqual(syntax(6, "invalid character '1' after object key"))
    expect(readGoJson(new TextEncoder().encode(`${"[".repeat(10_001)}${"]".repeat(10_001)}`)))
      .toEqual(syntax(10_001, "invalid character '[' exceeded max depth"))
  })

  it("blank input is EOF, a value cut short unexpected EOF; the first value is read, what follows is not", () => {
    expect(read("")).toEqual({ _tag: "EOF" })
    expect(read(" \n\t")).toEqual({ _tag: "EOF" })
    expect(read("{\"a\":")).toEqual({ _tag: "UnexpectedEOF" })
    expect(read("tru")).toEqual({ _tag: "UnexpectedEOF" })
    expect(read("[1,")).toEqual({ _tag: "UnexpectedEOF" })
    expect(read("{\"a\":1} trailing")).toEqual({ end: 7 })
    expect(read(" [] ]")).toEqual({ end: 3 })
    expect(read("123abc")).toEqual({ end: 3 })
    expect(read("\"s\"}")).toEqual({ end: 3 })
    expect(read("null")).toEqual({ end: 4 })
  })

  it("decodes into a struct: keys matched exactly or case-insensitively, unknown ones skipped, zero values for what is missing", () => {
    expect(decode("{}")).toEqual({ value: { input: null, workflowName: "" } })
    expect(
      decode(
        "{\"WORKFLOWNAME\":\"a\",\"Input\":{\"n\":1,\"x\":[true,null]},\"return_only_id\":true,\"returnOnlyId\":false,\"priority\":null}"
      )
    )
      .toEqual({ value: { workflowName: "a", input: { n: 1, x: [true, null] }, return_only_id: true } })
    expect(decode("{\"externalIds\":[\"0B6C2A5E8C1D4F3A9E2B7D4C1A2B3C4D\"]}", Cancel))
      .toEqual({ value: { externalIds: ["0b6c2a5e-8c1d-4f3a-9e2b-7d4c1a2b3c4d"] } })
    expect(decode("null")).toEqual({ value: { input: null, workflowName: "" } })
  })

  it("type errors: the Go type expected, what was found, the struct fields to it, its offset; the first one is the error", () => {
    expect(decode("{\"workflowName\":5}")).toEqual(mismatch("string", "number", "workflowName", 17))
    expect(decode("[]")).toEqual(mismatch("gen.V1TriggerWorkflowRunRequest", "array", "", 1))
    expect(decode("\"x\"")).toEqual(mismatch("gen.V1TriggerWorkflowRunRequest", "string", "", 3))
    expect(decode("{\"workflowName\":\"x\",\"input\":\"text\"}")).toEqual(mismatch("map[string]interface {}", "string", "input", 34))
    expect(decode("{\"input\":[1]}")).toEqual(mismatch("map[string]interface {}", "array", "input", 10))
    expect(decode("{\"priority\":1.5}")).toEqual(mismatch("int", "number 1.5", "priority", 15))
    expect(decode("{\"priority\":9223372036854775808}")).toEqual(mismatch("int", "number 9223372036854775808", "priority", 31))
    expect(decode("{\"return_only_id\":\"yes\",\"workflowName\":1}")).toEqual(mismatch("bool", "string", "return_only_id", 23))
    expect(decode("{\"input\":{\"big\":1e400}}")).toEqual(mismatch("float64", "number 1e400", "input", 22))
    expect(decode("{\"externalIds\":[5]}", Cancel)).toEqual(mismatch("uuid.UUID", "number", "externalIds", 17))
    expect(decode("{\"filter\":{\"statuses\":[1]}}", Cancel)).toEqual(mismatch("gen.V1TaskStatus", "number", "filter.statuses", 24))
    expect(decode("{\"filter\":\"x\"}", Cancel)).toEqual(mismatch("gen.V1TaskFilter", "string", "filter", 13))
  })

  it("what JSON.parse hides: a whole number written with a fraction or an exponent, and a key given twice", () => {
    // `decode` also checks that the parsed value's answer is the bytes' answer
    expect(decode("{\"priority\":1.0}")).toEqual(mismatch("int", "number 1.0", "priority", 15))
    expect(decode("{\"priority\":1e2}")).toEqual(mismatch("int", "number 1e2", "priority", 15))
    expect(decode("{\"priority\":-0.0}")).toEqual(mismatch("int", "number -0.0", "priority", 16))
    expect(decode("{\"priority\" : 3, \"input\":{\"x\":1.5,\"y\":2E3,\"s\":\"1.0\"}}"))
      .toEqual({ value: { priority: 3, input: { x: 1.5, y: 2000, s: "1.0" }, workflowName: "" } })
    // each value of a repeated key is decoded in turn: the last one stays, an earlier mismatch is the error
    expect(decode("{\"priority\":\"x\",\"priority\":1}")).toEqual(mismatch("int", "string", "priority", 15))
    expect(decode("{\"workflowName\":\"a\",\"workflowName\":\"b\"}")).toEqual({ value: { input: null, workflowName: "b" } })
    expect(decode("{\"input\":{\"k\":1,\"k\":true},\"return_only_id\":false,\"return_only_id\":true}"))
      .toEqual({ value: { input: { k: true }, return_only_id: true, workflowName: "" } })
    expect(decode("{\"wor\\u006bflowName\":1,\"workflowName\":\"a\"}")).toEqual(mismatch("string", "number", "workflowName", 22))
  })

  it("a UUID or a time that its own decoder refuses stops decoding, ahead of an earlier type error", () => {
    expect(decode("{\"externalIds\":[\"abc\"]}", Cancel)).toEqual({ _tag: "Decoder", message: "invalid UUID length: 3" })
    expect(decode("{\"externalIds\":5,\"filter\":{\"since\":5}}", Cancel))
      .toEqual({ _tag: "Decoder", message: "Time.UnmarshalJSON: input is not a JSON string" })
    expect(decode("{\"filter\":{\"since\":null,\"statuses\":[\"FAILED\"]}}", Cancel))
      .toEqual({ value: { filter: { since: "0001-01-01T00:00:00Z", statuses: ["FAILED"] } } })
  })

  it("times as Go's time.Parse(RFC3339) reads them: what it accepts, and its errors", () => {
    const layout = "\"2006-01-02T15:04:05Z07:00\""
    const cannot = (value: string, rest: string, element: string) => ({
      error: `parsing time "${value}" as ${layout}: cannot parse "${rest}" as "${element}"`
    })
    expect(parseGoRfc3339("2026-12-07T03:04:05Z")).toEqual({ ms: Date.parse("2026-12-07T03:04:05Z") })
    expect(parseGoRfc3339("2026-12-07T03:04:05.123456789+01:30")).toEqual({ ms: Date.parse("2026-12-07T01:34:05.123Z") })
    // Go's strict RFC 3339 checks are off: a one-digit hour and a comma before the fraction pass
    expect(parseGoRfc3339("2026-12-07T3:04:05,5Z")).toEqual({ ms: Date.parse("2026-12-07T03:04:05.500Z") })
    expect(parseGoRfc3339("0001-01-01T00:00:00Z")).toEqual({ ms: Date.parse("0001-01-01T00:00:00Z") })
    expect(parseGoRfc3339("yesterday")).toEqual(cannot("yesterday", "yesterday", "2006"))
    expect(parseGoRfc3339("2026-1-07T00:00:00Z")).toEqual(cannot("2026-1-07T00:00:00Z", "1-07T00:00:00Z", "01"))
    expect(parseGoRfc3339("2026-12-07 03:04:05Z")).toEqual(cannot("2026-12-07 03:04:05Z", " 03:04:05Z", "T"))
    expect(parseGoRfc3339("2026-12-07t03:04:05z")).toEqual(cannot("2026-12-07t03:04:05z", "t03:04:05z", "T"))
    expect(parseGoRfc3339("2026-12-07T03:04:05")).toEqual(cannot("2026-12-07T03:04:05", "", "Z07:00"))
    expect(parseGoRfc3339("2026-13-07T03:04:05Z")).toEqual({ error: "parsing time \"2026-13-07T03:04:05Z\": month out of range" })
    expect(parseGoRfc3339("2026-12-07T24:04:05Z")).toEqual({ error: "parsing time \"2026-12-07T24:04:05Z\": hour out of range" })
    expect(parseGoRfc3339("2025-02-29T00:00:00Z")).toEqual({ error: "parsing time \"2025-02-29T00:00:00Z\": day out of range" })
    expect(parseGoRfc3339("2024-02-29T00:00:00Z")).toEqual({ ms: Date.parse("2024-02-29T00:00:00Z") })
    expect(parseGoRfc3339("2026-12-07T03:04:05Zjunk")).toEqual({ error: "parsing time \"2026-12-07T03:04:05Zjunk\": extra text: \"junk\"" })
    expect(parseGoRfc3339("héllo")).toEqual(cannot("h\\xc3\\xa9llo", "h\\xc3\\xa9llo", "2006"))
  })
})
