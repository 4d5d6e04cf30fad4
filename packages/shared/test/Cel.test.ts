/**
 * CEL as Hatchet evaluates it: each of upstream's environments (variables, functions, what its
 * checker refuses), cel-go's error wording, the parser limits, and the checker calibrated against
 * cel-go's own outcomes recorded in the cel-spec test data (`@bufbuild/cel-spec`).
 */
import type { Type } from "@bufbuild/cel-spec/cel/expr/checked_pb.js"
import { getCheckingSuite, getConformanceSuite, getParsingSuite, type IncrementalTestSuite } from "@bufbuild/cel-spec/testdata/tests.js"
import { describe, expect, it } from "@effect/vitest"
import * as Cel from "../src/Cel.js"
import { type CheckType, T } from "../src/CelCheck.js"
import type { JsonValue } from "../src/Json.js"

const program = <E extends Cel.CelEnvName>(env: E, source: string): Cel.CelProgram<E> => {
  const compiled = Cel.compile(env, source)
  if (compiled._tag === "Invalid") throw new Error(`${source}: ${compiled.message}`)
  return compiled.program
}

/** The value of `source` in `env`, as plain data (ints as bigint), or the error. */
const run = <E extends Cel.CelEnvName>(env: E, source: string, bindings: Cel.CelBindings<E>): unknown => {
  const result = Cel.evaluate(program(env, source), bindings)
  return result._tag === "Error" ? { error: result.message } : plain(result.value)
}

const plain = (value: Cel.CelValue): unknown => {
  if (Cel.typeName(value) === "list") return [...(value as Iterable<Cel.CelValue>)].map(plain)
  if (Cel.typeName(value) === "map") {
    return Object.fromEntries([...(value as unknown as Iterable<[string, Cel.CelValue]>)].map(([k, v]) => [k, plain(v)]))
  }
  return value
}

const invalid = (env: Cel.CelEnvName, source: string): string => {
  const compiled = Cel.compile(env, source)
  return compiled._tag === "Invalid" ? compiled.message : "compiled"
}

const step = (input: JsonValue, metadata: JsonValue = {}) => ({ input, additional_metadata: metadata, workflow_run_id: "run-1" })

describe("the workflow-string environment (concurrency keys, rate-limit expressions)", () => {
  it("declares input, additional_metadata and workflow_run_id, with the standard library, the strings extension and checksum", () => {
    const b = step({ user: " Ada ", n: 3, tier: "gold", tags: ["a", "vip"], nested: { x: [1, 2] } }, { region: "eu" })
    expect(run("workflow", "input.tier == 'gold' ? 'fast' : 'slow'", b)).toBe("fast")
    expect(run("workflow", "input.user.trim().lowerAscii() + '-' + additional_metadata.region", b)).toBe("ada-eu")
    expect(run("workflow", "size(input.tags) > 1 && input.tags.exists(t, t == 'vip')", b)).toBe(true)
    expect(run("workflow", "input.tags.map(t, t.upperAscii()).join('|')", b)).toBe("A|VIP")
    expect(run("workflow", "'%s:%d'.format([input.tier, int(input.n)])", b)).toBe("gold:3")
    expect(run("workflow", "input.user.replace(' ', '_').reverse()", b)).toBe("_adA_")
    expect(run("workflow", "'a,b,c'.split(',')[1] + 'xyz'.charAt(2) + string('abc'.indexOf('c'))", b)).toBe("bz2")
    expect(run("workflow", "has(input.nested.x) && !has(input.nested.y) && 2.0 in input.nested.x", b)).toBe(true)
    expect(run("workflow", "workflow_run_id.startsWith('run') && input.tier.matches('^g.*d$') && matches('ab', 'b$')", b)).toBe(true)
    expect(run("workflow", "strings.quote(input.tier)", b)).toBe("\"gold\"")
    // upstream's checksum: the hex SHA-256, as a function and as a method
    const sha = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    expect(run("workflow", "checksum('x')", b)).toBe(sha)
    expect(run("workflow", "'x'.checksum()", b)).toBe(sha)
  })

  it("JSON numbers are doubles, as cel-go sees Go's decoded JSON; string(double) is Go's %g", () => {
    const b = step({ n: 3, small: 0.00001, big: 1234567 })
    expect(run("workflow", "input.n == 3 && input.n < 4 && input.n > 2.5", b)).toBe(true)
    expect(run("workflow", "input.n + 1.0", b)).toBe(4)
    expect(run("workflow", "input.n + 1", b)).toEqual({ error: "no such overload" })
    expect(run("workflow", "int(input.n) + 1", b)).toBe(4n)
    expect(run("workflow", "string(input.n) + ' ' + string(input.small) + ' ' + string(input.big)", b)).toBe("3 1e-05 1.234567e+06")
    expect([1, 1.5, -2, 0.0001, 0.00001, 123456, 1234567, 1e21].map(Cel.formatDouble)).toEqual([
      "1",
      "1.5",
      "-2",
      "0.0001",
      "1e-05",
      "123456",
      "1.234567e+06",
      "1e+21"
    ])
  })

  it("runtime errors read as cel-go's", () => {
    const b = step({ a: "x", list: [1], n: 1 })
    expect(run("workflow", "input.missing", b)).toEqual({ error: "no such key: missing" })
    expect(run("workflow", "input.a + 1", b)).toEqual({ error: "no such overload" })
    expect(run("workflow", "1 / 0", b)).toEqual({ error: "division by zero" })
    expect(run("workflow", "1 % 0", b)).toEqual({ error: "modulus by zero" })
    expect(run("workflow", "9223372036854775807 + 1", b)).toEqual({ error: "integer overflow" })
    // a key named like an Object property is still missing
    expect(run("workflow", "input.constructor", b)).toEqual({ error: "no such key: constructor" })
    expect(run("workflow", "has(input.toString)", b)).toBe(false)
  })

  it("what cel-go's checker refuses is invalid, with its message", () => {
    expect(invalid("workflow", "parents.a")).toBe(
      "ERROR: <input>:1:1: undeclared reference to 'parents' (in container '')\n | parents.a\n | ^"
    )
    expect(invalid("workflow", "input.a + workflow_run_id.x")).toBe(
      "ERROR: <input>:1:26: type 'string' does not support field selection\n | input.a + workflow_run_id.x\n | .........................^"
    )
    expect(invalid("workflow", "'é' + 1")).toBe(
      "ERROR: <input>:1:5: found no matching overload for '_+_' applied to '(string, int)'\n | 'é' + 1\n | .．..^"
    )
    expect(invalid("workflow", "input.a.lower()")).toBe(
      "ERROR: <input>:1:14: undeclared reference to 'lower' (in container '')\n | input.a.lower()\n | .............^"
    )
    for (
      const source of [
        "string(input)",
        "input == 1",
        "1 == 1.0",
        "1 < 1.5",
        "true ? 1 : 'a'",
        "size(1)",
        "'a'.charAt('b')",
        "[1].all(x, x)",
        "1.a",
        "input.",
        "'open",
        "\"\\q\"",
        "9223372036854775808",
        "1e999",
        "Foo{a: 1}",
        "input.?a",
        "{'a': 1}.`a`",
        "if"
      ]
    ) {
      expect(Cel.compile("workflow", source)._tag, source).toBe("Invalid")
    }
  })
})

describe("a static rate-limit key, quoted into CEL as upstream does", () => {
  it("evaluates to itself exactly when it has no double quote, backslash or line break (what our SDK refuses)", () => {
    const keys = ["api", "per user", "l'été", "a-b_c.d:e/f", "$x{1}", "🙂", "say \"hi\"", "a\\tb", "a\\qb", "two\nlines", "cr\rx", "end\\"]
    for (const key of keys) {
      const compiled = Cel.compile("workflow", `"${key}"`)
      const value = compiled._tag === "Ok" ? Cel.evaluate(compiled.program, step({})) : undefined
      const itself = value?._tag === "Value" && value.value === key
      expect(itself, JSON.stringify(key)).toBe(!/["\\\r\n]/.test(key))
    }
  })
})

describe("the other environments", () => {
  it("stepRun (rate-limit validation) adds parents, a map of maps", () => {
    expect(Cel.compile("stepRun", "parents.a.b + input.c")._tag).toBe("Ok")
    expect(invalid("stepRun", "string(parents.a)")).toContain("found no matching overload for 'string' applied to '(map(string, dyn))'")
    expect(run("stepRun", "parents.a.b", { ...step({}), parents: { a: { b: "out" } } })).toBe("out")
  })

  it("event (filters): payload, event_id and event_key; checksum declared but not bound, as upstream", () => {
    const b = { input: { amount: 12 }, additional_metadata: {}, payload: { kind: "Paid" }, event_id: "e-1", event_key: "order:paid" }
    expect(run("event", "input.amount > 10 && payload.kind.lowerAscii() == 'paid' && event_key.startsWith('order:')", b)).toBe(true)
    expect(run("event", "checksum(event_id)", b)).toEqual({ error: "no such overload: checksum" })
    expect(invalid("event", "'x'.checksum()")).toBe(
      "ERROR: <input>:1:13: found no matching overload for 'checksum' applied to 'string.()'\n | 'x'.checksum()\n | ............^"
    )
    expect(invalid("event", "workflow_run_id")).toContain("undeclared reference to 'workflow_run_id'")
  })

  it("webhook: input and headers (map of strings), no strings extension", () => {
    const b = { input: { id: "evt" }, headers: { "x-source": "stripe" } }
    expect(run("webhook", "headers['x-source'] + ':' + input.id", b)).toBe("stripe:evt")
    expect(invalid("webhook", "headers['x-source'].lowerAscii()")).toContain("undeclared reference to 'lowerAscii'")
    expect(invalid("webhook", "headers['x'] + 1")).toContain("found no matching overload for '_+_' applied to '(string, int)'")
  })

  it("condition (step conditions): input and output, the standard library only", () => {
    expect(run("condition", "output.ok == true && input.n >= 2.0", { input: { n: 2 }, output: { ok: true } })).toBe(true)
    expect(invalid("condition", "checksum('x')")).toContain("undeclared reference to 'checksum'")
    expect(invalid("condition", "input.a.upperAscii()")).toContain("undeclared reference to 'upperAscii'")
  })
})

describe("parser limits (cel-go's defaults)", () => {
  const recursion = "ERROR: <input>:-1:0: expression recursion limit exceeded: 250"

  it("100k nested brackets and 50k `+` terms are refused without recursing", () => {
    expect(invalid("workflow", "(".repeat(100_000) + "1" + ")".repeat(100_000))).toBe(
      "ERROR: <input>:-1:0: expression code point size exceeds limit: size: 200001, limit 100000"
    )
    expect(invalid("workflow", "(".repeat(49_000) + "1" + ")".repeat(49_000))).toBe(recursion)
    expect(invalid("workflow", Array.from({ length: 50_000 }, () => "1").join("+"))).toBe(recursion)
    expect(invalid("workflow", "[".repeat(30_000) + "]".repeat(30_000))).toBe(recursion)
    expect(invalid("workflow", "input" + ".a".repeat(20_000))).toBe(recursion)
    expect(invalid("workflow", "size(".repeat(10_000) + "'a'" + ")".repeat(10_000))).toBe(recursion)
    expect(invalid("workflow", "true ? 1 : ".repeat(5_000) + "2")).toBe(recursion)
  })

  it("depth and size up to the limits compile and run", () => {
    expect(run("workflow", "(".repeat(249) + "1" + ")".repeat(249), step({}))).toBe(1n)
    expect(invalid("workflow", "(".repeat(250) + "1" + ")".repeat(250))).toBe(recursion)
    expect(run("workflow", Array.from({ length: 250 }, () => "1").join(" + "), step({}))).toBe(250n)
    expect(invalid("workflow", Array.from({ length: 251 }, () => "1").join(" + "))).toBe(recursion)
    // chains of && and || are balanced upstream: not a depth
    expect(run("workflow", Array.from({ length: 10_000 }, () => "true").join(" && "), step({}))).toBe(true)
    // brackets inside a string literal are not nesting; a literal just under the size limit is fine
    expect(run("workflow", `size('${"(".repeat(99_990)}')`, step({}))).toBe(99_990n)
    expect(invalid("workflow", `'${"x".repeat(100_000)}'`)).toBe(
      "ERROR: <input>:-1:0: expression code point size exceeds limit: size: 100002, limit 100000"
    )
  })

  it("input JSON nested 10,000 levels is evaluated without recursing on it", () => {
    let deep: JsonValue = "bottom"
    for (let i = 0; i < 10_000; i++) deep = { a: deep }
    const value = Cel.evaluate(program("workflow", "input.a.a.a.a"), step({ a: deep }))
    expect(value._tag === "Value" && Cel.typeName(value.value)).toBe("map")
    expect(run("workflow", "has(input.a.a) && size(input.a) == 1", step({ a: deep }))).toBe(true)
  })
})

// -----------------------------------------------------------------------------
// calibration against cel-go
// -----------------------------------------------------------------------------

const checkType = (type: Type | undefined): CheckType | undefined => {
  const kind = type?.typeKind
  switch (kind?.case) {
    case "primitive":
      return ([undefined, T.bool, T.int, T.uint, T.double, T.string, T.bytes] as const)[kind.value]
    case "dyn":
      return T.dyn
    case "null":
      return T.null
    case "listType": {
      const elem = checkType(kind.value.elemType)
      return elem && T.list(elem)
    }
    case "mapType": {
      const key = checkType(kind.value.keyType)
      const value = checkType(kind.value.valueType)
      return key && value && T.map(key, value)
    }
    case "wellKnown":
      return kind.value === 2 ? T.timestamp : kind.value === 3 ? T.duration : undefined
    default:
      return undefined
  }
}

/** Features outside upstream's environments (messages, optionals, other extensions, other limits). */
const outOfScope =
  /google\.|TestAllTypes|proto|optional|\.\?|\[\?|cel\.bind|cel\.block|math\.|base64|sets\.|transform|\.all\(\w+, ?\w+,|exists\(\w+, ?\w+,|`|recursion|existsOne/

/** cel-go validates a literal format string at check time; here it fails when evaluated. */
const formatChecks = /format/

/** Compiles each in-scope test of `suites` as cel-go's recorded outcome says; the disagreements. */
const calibrate = (suites: ReadonlyArray<IncrementalTestSuite>) => {
  let compared = 0
  const disagreements: Array<string> = []
  const visit = (suite: IncrementalTestSuite) => {
    for (const test of suite.tests) {
      const original = test.original
      const celGoError = test.error ?? ""
      if (original.container !== "" || (celGoError === "" && test.type === undefined)) continue
      if (outOfScope.test(original.expr + celGoError) || formatChecks.test(original.expr)) continue
      // environments with function declarations of their own are not upstream's
      if (!original.typeEnv.every((decl) => decl.declKind.case === "ident")) continue
      const variables: Record<string, CheckType> = {}
      let typed = true
      for (const decl of original.typeEnv) {
        const type = decl.declKind.case === "ident" ? checkType(decl.declKind.value.type) : undefined
        if (type === undefined) typed = false
        else variables[decl.name] = type
      }
      if (!typed) continue
      const ours = Cel.compileIn("workflow", Cel.environment(variables, { strings: true, checksum: "none" }), original.expr)
      compared++
      if ((ours._tag === "Invalid") !== (celGoError !== "")) {
        disagreements.push(`${original.expr}: cel-go ${celGoError || test.type}, ours ${ours._tag === "Invalid" ? ours.message : "ok"}`)
      }
    }
    suite.suites.forEach(visit)
  }
  suites.forEach(visit)
  return { compared, disagreements }
}

describe("the checker against cel-go's recorded outcomes", () => {
  // the cel-spec conformance suites of the standard library and the strings extension, in two parts
  const conformance = (names: ReadonlyArray<string>) => getConformanceSuite().suites.filter((file) => names.includes(file.name))

  it("cel-spec: comparisons, conversions, logic, macros", () => {
    const { compared, disagreements } = calibrate(conformance(["comparisons", "conversions", "logic", "macros"]))
    expect(compared).toBeGreaterThan(450)
    expect(disagreements).toEqual([])
  })

  it("cel-spec: literals, fields, lists, arithmetic, strings and the strings extension, parsing", () => {
    const { compared, disagreements } = calibrate(
      conformance(["basic", "dynamic", "fields", "fp_math", "integer_math", "lists", "parse", "plumbing", "string", "string_ext"])
    )
    expect(compared).toBeGreaterThan(450)
    expect(disagreements).toEqual([])
  })

  it("cel-go's own parser and checker tests", () => {
    const { compared, disagreements } = calibrate([getCheckingSuite(), getParsingSuite()])
    expect(compared).toBeGreaterThan(200)
    // identifiers and functions that suite declares outside typeEnv, and one edge of type
    // parameters inside nested comprehensions where the checker leans to accepting
    expect(disagreements.filter((d) => !/^(is|ii|iu|iz|id|ix|ib|fg_s\(\)|is\.fi_s_s\(\)|1 \+ ii|\[\]\.map\(x, \[\]\.map)/.test(d))).toEqual(
      []
    )
  })
})
