/**
 * JSON as the Go engine sees it, at any depth: the nesting limit of `encoding/json`, and writers
 * that keep their own stack (no recursion on the data).
 */
import { describe, expect, it } from "@effect/vitest"
import {
  decodeUtf8,
  exceedsMaxDepth,
  goMarshal,
  maxJsonDepth,
  parseJson,
  stringifyJson,
  tooDeepAt,
  validateJsonb
} from "../src/internal/domain/json.js"
import { jsonbText } from "../src/internal/domain/jsonbText.js"

const arrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`
const objects = (depth: number) => `${"{\"a\":".repeat(depth - 1)}{}${"}".repeat(depth - 1)}`

describe("JSON depth", () => {
  it("counts arrays and objects, not brackets inside strings (escaped quotes included)", () => {
    expect(maxJsonDepth).toBe(10_000)
    expect(exceedsMaxDepth(arrays(10_000))).toBe(false)
    expect(exceedsMaxDepth(arrays(10_001))).toBe(true)
    expect(exceedsMaxDepth(objects(10_000))).toBe(false)
    expect(exceedsMaxDepth(objects(10_001))).toBe(true)
    expect(exceedsMaxDepth(JSON.stringify({ s: "[".repeat(20_000) }))).toBe(false)
    expect(exceedsMaxDepth(JSON.stringify({ s: "\\\"[".repeat(20_000) }))).toBe(false)
    expect(exceedsMaxDepth(`["\\\\",${arrays(10_000)}]`)).toBe(true)
    // many brackets side by side are not deep
    expect(exceedsMaxDepth(JSON.stringify(Array.from({ length: 30_000 }, () => [{}])))).toBe(false)
    // the opening bracket one level too deep, for Go's message
    const text = `{"x":${arrays(10_001)}}`
    expect(tooDeepAt(text)).toBe(5 + 9_999)
    expect(text[tooDeepAt(text)]).toBe("[")
    expect(tooDeepAt("[1]")).toBe(-1)
  })

  it("validateJsonb: upstream's messages, the depth named; empty text accepted", () => {
    expect(validateJsonb("", "payload")).toBeUndefined()
    expect(validateJsonb(objects(10_000), "payload")).toBeUndefined()
    expect(validateJsonb(objects(10_001), "payload")).toBe("invalid json in field `payload`: nested deeper than 10000 levels")
    expect(validateJsonb("{", "payload")).toBe("invalid json in field `payload`")
    expect(validateJsonb("{\"a\":\"\\u0000\"}", "input")).toBe("encoded jsonb contains invalid null character \\u0000 in field `input`")
    expect(validateJsonb("{\"\\u0000\":1}", "input")).toBe("encoded jsonb contains invalid null character \\u0000 in field `input`")
    // an escaped backslash followed by u0000 is not a NUL
    expect(validateJsonb("{\"a\":\"\\\\u0000\"}", "input")).toBeUndefined()
    expect(validateJsonb("null", "payload")).toBeUndefined()
  })

  it("parseJson refuses what Go cannot parse", () => {
    expect(parseJson(arrays(10_001))).toBeUndefined()
    expect(parseJson(arrays(3))).toEqual([[[]]])
    expect(parseJson("")).toBeUndefined()
    expect(parseJson("{")).toBeUndefined()
  })

  it("decodeUtf8 is strict and keeps a BOM", () => {
    expect(decodeUtf8(new Uint8Array([0x7b, 0x7d]))).toBe("{}")
    expect(decodeUtf8(new Uint8Array([0xff, 0xfe]))).toBeUndefined()
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe("\uFEFF{}")
  })
})

describe("JSON writers", () => {
  const samples: ReadonlyArray<unknown> = [
    { orderId: "o-1", items: [{ sku: "mug", quantity: 2, price: 9.5 }], b: null, a: true, "<x>": "&", z: [1, [2, [3]]] },
    [],
    {},
    "s\u2028",
    -0,
    1e21,
    null,
    [undefined, 1, () => 1],
    { b: 1, a: 2, A: 3, é: 4, u: undefined, f: () => 1 },
    { n: Number.NaN, i: Number.POSITIVE_INFINITY }
  ]

  it("goMarshal writes as Go: keys sorted, HTML escaped, undefined fields dropped", () => {
    expect(goMarshal({ b: 1, a: "<&>", u: undefined, n: Number.NaN })).toBe("{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":1,\"n\":null}")
    expect(goMarshal(undefined)).toBe("null")
    expect(goMarshal([undefined])).toBe("[null]")
    expect(goMarshal({ z: { y: [{ b: 2, a: 1 }] } })).toBe("{\"z\":{\"y\":[{\"a\":1,\"b\":2}]}}")
  })

  it("stringifyJson writes what JSON.stringify writes", () => {
    for (const sample of samples) expect(stringifyJson(sample)).toBe(JSON.stringify(sample))
    const withToJson = { at: new Date(0), nested: { toJSON: () => ({ replaced: true }) } }
    expect(stringifyJson(withToJson)).toBe(JSON.stringify(withToJson))
  })

  it("both write values nested far deeper than the call stack allows", () => {
    const text = arrays(50_000)
    const value = JSON.parse(text) as unknown
    expect(() => JSON.stringify(value)).toThrow(RangeError)
    expect(goMarshal(value)).toBe(text)
    expect(stringifyJson(value)).toBe(text)
    const deepObject = JSON.parse(objects(20_000)) as unknown
    expect(goMarshal(deepObject)).toBe(objects(20_000))
  })
})

describe("jsonb text", () => {
  it("writes as Postgres gives a jsonb value back: spaced, keys by length then bytes, only quotes, backslashes and controls escaped", () => {
    expect(jsonbText({ bb: 1, a: [1, "x", null, true, {}], c: { z: [], yy: "\"\\/<>\u00e9\u2028", x: "\n\u0001" } })).toBe(
      `{"a": [1, "x", null, true, {}], "c": {"x": "\\n\\u0001", "z": [], "yy": "\\"\\\\/<>\u00e9\u2028"}, "bb": 1}`
    )
    // lengths in UTF-8 bytes: "é" (2 bytes) after "b", before "abc"
    expect(jsonbText({ abc: 1, é: 2, b: 3 })).toBe(`{"b": 3, "é": 2, "abc": 1}`)
    expect(jsonbText("s")).toBe(`"s"`)
    expect(jsonbText([])).toBe("[]")
  })

  it("writes values nested far deeper than the call stack allows", () => {
    expect(jsonbText(JSON.parse(arrays(50_000)))).toBe(arrays(50_000))
  })
})
