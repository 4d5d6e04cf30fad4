/**
 * CEL as Hatchet evaluates it: upstream's typed environments, over `@bufbuild/cel` (parser and
 * evaluator, conformance-tested against cel-spec) and `CelCheck.ts` (cel-go's type checker). The
 * local engine compiles and evaluates every expression with it; the SDK compiles the conditions' before
 * registering a workflow.
 *
 * The environments (`internal/cel/cel.go NewCELParser`, `boolexpr.go`):
 * - `workflow` (`celworkflowrunstr`; every concurrency key and rate-limit expression is evaluated
 *   in it): `input`, `additional_metadata`: `map(string, dyn)`, `workflow_run_id`: `string`;
 * - `stepRun` (`celsteprunstr`, only to validate rate-limit expressions): the same and `parents`:
 *   `map(string, map(string, dyn))`;
 * - `event` (event filters): `input`, `additional_metadata`, `payload`: `map(string, dyn)`,
 *   `event_id`, `event_key`: `string`;
 * - `webhook` (incoming webhooks' key and scope): `input`: `map(string, dyn)`, `headers`:
 *   `map(string, string)`, without the strings extension;
 * - `condition` (step conditions on an event or a parent's output): `input`, `output`:
 *   `map(string, dyn)`, the standard library only.
 * All but `condition` declare `checksum(string)`; `workflow` and `stepRun` bind it (the hex
 * SHA-256) and the member form `s.checksum()`; `event` and `webhook` only declare it, so cel-go
 * accepts it there and fails at run time with "no such overload: checksum". All but `webhook` and
 * `condition` have the strings extension.
 *
 * `compile` is cel-go's `Env.Compile`: the parser limits (100,000 code points, a nesting depth of
 * 250, checked by one linear scan before anything recurses), parsing, then type checking; its
 * error is cel-go's text ("ERROR: <input>:1:1: undeclared reference to 'x' (in container '')\n |
 * x\n | ^"). Syntax errors keep cel-go's frame, but the description after "Syntax error:" is the
 * parser's, not ANTLR's (except for an empty expression). `evaluate` runs a compiled program on
 * JSON bindings (numbers are doubles, as Go's `encoding/json` gives cel-go) and reports cel-go's
 * wording for the runtime errors users see: "no such key: k", "no such overload", "division by
 * zero", "integer overflow", …
 *
 * @internal
 */
import * as Cel from "@bufbuild/cel"
import { strings } from "@bufbuild/cel/ext"
import { RE2JS } from "@bufbuild/re2"
import { createHash } from "node:crypto"
import { check, type CheckEnv, checkEnv, type CheckIssue, type CheckType, T } from "./CelCheck.js"
import type { JsonValue } from "./Json.js"

// -----------------------------------------------------------------------------
// environments
// -----------------------------------------------------------------------------

/** Upstream's CEL environments. */
export type CelEnvName = "workflow" | "stepRun" | "event" | "webhook" | "condition"

/** The variables each environment declares. */
export const envVariables = {
  workflow: ["input", "additional_metadata", "workflow_run_id"],
  stepRun: ["input", "additional_metadata", "workflow_run_id", "parents"],
  event: ["input", "additional_metadata", "payload", "event_id", "event_key"],
  webhook: ["input", "headers"],
  condition: ["input", "output"]
} as const satisfies Record<CelEnvName, ReadonlyArray<string>>

/** The bindings of an evaluation in `env`: a JSON value per declared variable. */
export type CelBindings<E extends CelEnvName> = { readonly [K in (typeof envVariables)[E][number]]: JsonValue }

const jsonMap = T.map(T.string, T.dyn)

const variableTypes: Readonly<Record<string, CheckType>> = {
  input: jsonMap,
  additional_metadata: jsonMap,
  payload: jsonMap,
  output: jsonMap,
  parents: T.map(T.string, jsonMap),
  workflow_run_id: T.string,
  event_id: T.string,
  event_key: T.string,
  headers: T.map(T.string, T.string)
}

/** Go's `%g` for a float64 (cel-go's `string(double)`): the shortest digits, in exponent form below 1e-4 and from 1e6. */
export const formatDouble = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf"
  if (value === 0) return Object.is(value, -0) ? "-0" : "0"
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string]
  const exponent = Number(exponentText)
  // with the shortest precision, Go switches to %e when the exponent is < -4 or >= 6
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+"
    const digits = `${Math.abs(exponent)}`.padStart(2, "0")
    return `${mantissa}e${sign}${digits}`
  }
  return value.toFixed(Math.max(0, mantissa.replace(/^-/, "").replace(".", "").length - 1 - exponent))
}

const sha256Hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex")

/** Functions every environment adds to `@bufbuild/cel`'s: cel-go's `string(double)` and `matches(s, re)`. */
const standardFuncs = [
  Cel.celFunc("string", [Cel.CelScalar.DOUBLE], Cel.CelScalar.STRING, formatDouble),
  Cel.celFunc("matches", [Cel.CelScalar.STRING, Cel.CelScalar.STRING], Cel.CelScalar.BOOL, (s, re) => RE2JS.compile(re).test(s))
]

/** The strings extension, with the `reverse` of its version 3. */
const stringFuncs = [
  ...strings,
  Cel.celMethod("reverse", Cel.CelScalar.STRING, [], Cel.CelScalar.STRING, function() {
    return [...this].reverse().join("")
  })
]

const checksumFuncs = [
  Cel.celFunc("checksum", [Cel.CelScalar.STRING], Cel.CelScalar.STRING, sha256Hex),
  Cel.celMethod("checksum", Cel.CelScalar.STRING, [], Cel.CelScalar.STRING, function() {
    return sha256Hex(this)
  })
]

/** What a program is checked and run with. */
export interface Environment {
  readonly check: CheckEnv
  readonly runtime: Cel.CelEnv
}

/** An environment of `variables` (names of upstream's, or given types); for the engine's tests. */
export const environment = (
  variables: ReadonlyArray<string> | Readonly<Record<string, CheckType>>,
  options: { readonly strings: boolean; readonly checksum: "bound" | "declared" | "none" }
): Environment => {
  const check = checkEnv({
    variables: Array.isArray(variables)
      ? Object.fromEntries(variables.map((name) => [name, variableTypes[name]!]))
      : variables as Readonly<Record<string, CheckType>>,
    strings: options.strings,
    checksumMember: options.checksum === "bound"
  })
  if (options.checksum === "none") (check.functions as Map<string, unknown>).delete("checksum")
  const funcs = [...standardFuncs, ...(options.strings ? stringFuncs : []), ...(options.checksum === "bound" ? checksumFuncs : [])]
  return { check, runtime: Cel.celEnv({ funcs }) }
}

const environments: Readonly<Record<CelEnvName, Environment>> = {
  workflow: environment(envVariables.workflow, { strings: true, checksum: "bound" }),
  stepRun: environment(envVariables.stepRun, { strings: true, checksum: "bound" }),
  event: environment(envVariables.event, { strings: true, checksum: "declared" }),
  webhook: environment(envVariables.webhook, { strings: false, checksum: "declared" }),
  condition: environment(envVariables.condition, { strings: false, checksum: "none" })
}

// -----------------------------------------------------------------------------
// errors as cel-go shows them
// -----------------------------------------------------------------------------

/** An error at a position of the source (a UTF-16 offset), or at none. */
interface Located {
  readonly message: string
  readonly offset: number | undefined
  /** cel-go places a call at its opening parenthesis, the first from `offset`. */
  readonly atParenthesis?: boolean
}

const isWide = (char: string) => char.codePointAt(0)! > 0x7f

/** One error as cel-go's `Error.ToDisplayString`: the 1-based line and column, the line, a caret. */
const displayError = (source: string, error: Located): string => {
  if (error.offset === undefined) return `ERROR: <input>:-1:0: ${error.message}`
  let offset = Math.min(Math.max(error.offset, 0), source.length)
  // the parser places an operator after its left operand; cel-go at the operator itself
  while (offset < source.length && /[ \t\r]/.test(source[offset]!)) offset++
  if (error.atParenthesis === true && source.indexOf("(", offset) !== -1) offset = source.indexOf("(", offset)
  const lineStart = source.lastIndexOf("\n", offset - 1) + 1
  const lineEnd = source.indexOf("\n", offset)
  const lineText = source.slice(lineStart, lineEnd === -1 ? source.length : lineEnd)
  const line = source.slice(0, lineStart).split("\n").length
  const before = [...source.slice(lineStart, offset)]
  const at = [...source.slice(offset, offset + 2)][0]
  let result = `ERROR: <input>:${line}:${before.length + 1}: ${error.message}`
  if (lineText.length <= 16_384) {
    const indicator = before.map((c) => (isWide(c) ? "\uff0e" : ".")).join("") + (at !== undefined && isWide(at) ? "\uff3e" : "^")
    result += `\n | ${lineText.replace(/\t/g, " ")}\n | ${indicator}`
  }
  return result
}

/** Several errors, sorted by position as cel-go sorts them, one per line. */
const displayErrors = (source: string, errors: ReadonlyArray<Located>): string =>
  [...errors]
    .sort((a, b) => (a.offset ?? -1) - (b.offset ?? -1))
    .map((error) => displayError(source, error))
    .join("\n")

// -----------------------------------------------------------------------------
// parser limits
// -----------------------------------------------------------------------------

/** cel-go's default parser limits (`parser.MaxRecursionDepth`, `ExpressionSizeCodePointLimit`). */
export const limits = { maxCodePoints: 100_000, maxDepth: 250 } as const

const isIdentChar = (c: string) => /[A-Za-z0-9_]/.test(c)

/** The escapes cel-go's lexer takes in a string or bytes literal, after the backslash. */
const validEscape = /^(?:[\\?"'`abfnrtv]|[xX][0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-3][0-7]{2})/

/**
 * One scan before parsing: the parser limits (the size in code points, then the nesting depth)
 * and the escapes of string literals, which the parser does not check. The depth counts what
 * cel-go's parser recurses on: brackets, braces and calls, member steps (`.`, `[`), the binary
 * operators of one chain (`a + b + c`; `&&` and `||` are balanced upstream and end a chain, as
 * `,` and `:` do), and nested ternaries. Undefined when the source passes.
 */
export const scan = (source: string, maxDepth: number = limits.maxDepth): Located | undefined => {
  let size = 0
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i)
    if (code < 0xd800 || code > 0xdbff || i + 1 >= source.length) size++
    else {
      size++
      i++
    }
  }
  if (size > limits.maxCodePoints) {
    return { message: `expression code point size exceeds limit: size: ${size}, limit ${limits.maxCodePoints}`, offset: undefined }
  }
  const recursion = { message: `expression recursion limit exceeded: ${maxDepth}`, offset: undefined }
  // per open level: the operators of its current chain and its ternaries
  const levels: Array<{ chain: number; ternary: number }> = [{ chain: 0, ternary: 0 }]
  let depth = 1
  let operand = false
  const bump = (level: { chain: number; ternary: number }, field: "chain" | "ternary") => {
    level[field]++
    depth++
  }
  const endChain = () => {
    const level = levels[levels.length - 1]!
    depth -= level.chain
    level.chain = 0
  }
  let i = 0
  while (i < source.length) {
    const c = source[i]!
    const level = levels[levels.length - 1]!
    if (c === "\"" || c === "'") {
      const raw = i > 0 && /[rR]/.test(source[i - 1]!) && (i < 2 || !isIdentChar(source[i - 2]!) || /[bB]/.test(source[i - 2]!))
      const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c
      const start = raw ? i - 1 : i
      i += quote.length
      while (i < source.length && !source.startsWith(quote, i)) {
        if (source[i] === "\\" && !raw) {
          const escape = source.slice(i + 1, i + 10).match(validEscape)
          if (escape === null) {
            const text = source.slice(start, i + 2)
            return { message: `Syntax error: token recognition error at: '${text}'`, offset: start }
          }
          i += escape[0].length
        } else if (quote.length === 1 && source[i] === "\n") break
        i++
      }
      i += quote.length
      operand = true
      continue
    }
    if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++
      continue
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? "") && !operand)) {
      if (c === "0" && /[xX]/.test(source[i + 1] ?? "")) i += 2
      while (i < source.length && /[0-9A-Fa-f.]/.test(source[i]!)) {
        if (/[eE]/.test(source[i]!) && /[+-]/.test(source[i + 1] ?? "")) i++
        i++
      }
      if (/[uU]/.test(source[i] ?? "")) i++
      operand = true
      continue
    }
    if (isIdentChar(c) || c === "`") {
      const start = i
      if (c === "`") {
        i = source.indexOf("`", i + 1)
        i = i === -1 ? source.length : i + 1
      } else {
        while (i < source.length && isIdentChar(source[i]!)) i++
      }
      if (source.slice(start, i) === "in") {
        bump(level, "chain")
        operand = false
      } else {
        operand = true
      }
      if (depth > maxDepth) return recursion
      continue
    }
    if (c === "(" || c === "[" || c === "{") {
      // an index or a call is also a member step of its chain
      if (operand && c !== "{") bump(level, "chain")
      levels.push({ chain: 0, ternary: 0 })
      depth++
      operand = false
    } else if (c === ")" || c === "]" || c === "}") {
      if (levels.length > 1) {
        const closed = levels.pop()!
        depth -= 1 + closed.chain + closed.ternary
      }
      operand = true
    } else if (c === "," || c === ":") {
      endChain()
      operand = false
    } else if ((c === "&" || c === "|") && source[i + 1] === c) {
      endChain()
      operand = false
      i++
    } else if (c === "?") {
      endChain()
      bump(level, "ternary")
      operand = false
    } else if (c === ".") {
      bump(level, "chain")
      operand = false
    } else if (/[+*/%<>=!-]/.test(c)) {
      const two = source.slice(i, i + 2)
      const binary = c === "!" ? two === "!=" : c === "-" ? operand : true
      if (binary) bump(level, "chain")
      if (two === "<=" || two === ">=" || two === "==" || two === "!=") i++
      operand = false
    } else if (!/\s/.test(c)) {
      operand = false
    }
    if (depth > maxDepth) return recursion
    i++
  }
  return undefined
}

// -----------------------------------------------------------------------------
// compile
// -----------------------------------------------------------------------------

/** A checked expression, ready to evaluate in its environment. */
export interface CelProgram<E extends CelEnvName = CelEnvName> {
  readonly env: E
  readonly source: string
  /** @internal */
  readonly run: (bindings: Record<string, Cel.CelInput>) => Cel.CelResult
}

/** The outcome of compiling: a program, or cel-go's error text (what `issues.Err()` shows). */
export type Compiled<E extends CelEnvName = CelEnvName> =
  | { readonly _tag: "Ok"; readonly program: CelProgram<E> }
  | { readonly _tag: "Invalid"; readonly message: string }

/** cel-go's report for an empty expression (ANTLR's). */
const emptyExpression = "Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', " +
  "'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"

interface ParseFailure {
  readonly message: string
  readonly location?: { readonly start?: { readonly offset?: number } }
}

/** The parser's error as cel-go frames a syntax error. */
const syntaxError = (source: string, error: ParseFailure): Located => {
  if (source.trim() === "" && !source.includes("//")) return { message: emptyExpression, offset: source.length }
  // "<input>:1:3: found end of input but expecting …"
  const description = error.message.replace(/^<input>:\d+:\d+: /, "")
  return { message: `Syntax error: ${description}`, offset: error.location?.start?.offset }
}

/** Parses and type-checks `source` in `env`, as cel-go's `Env.Compile`. */
export const compile = <E extends CelEnvName>(env: E, source: string): Compiled<E> => compileIn(env, environments[env], source)

/** `compile` in any environment. */
export const compileIn = <E extends CelEnvName>(env: E, environment: Environment, source: string): Compiled<E> => {
  const invalid = (errors: ReadonlyArray<Located>): Compiled<E> => ({ _tag: "Invalid", message: displayErrors(source, errors) })
  const scanned = scan(source)
  if (scanned !== undefined) return invalid([scanned])
  let parsed: ReturnType<typeof Cel.parse>
  try {
    parsed = Cel.parse(source)
  } catch (error) {
    if (error instanceof RangeError) return invalid([{ message: "max recursion depth exceeded", offset: undefined }])
    return invalid([syntaxError(source, error as ParseFailure)])
  }
  let issues: Array<CheckIssue>
  try {
    issues = check(environment.check, parsed.expr, parsed.sourceInfo?.positions ?? {})
  } catch (error) {
    if (error instanceof RangeError) return invalid([{ message: "max recursion depth exceeded", offset: undefined }])
    throw error
  }
  if (issues.length > 0) return invalid(issues)
  const planned = Cel.plan(environment.runtime, parsed)
  return { _tag: "Ok", program: { env, source, run: (bindings) => planned(bindings) } }
}

// -----------------------------------------------------------------------------
// evaluate
// -----------------------------------------------------------------------------

/** A CEL value as `@bufbuild/cel` gives it (int: bigint, double: number, maps and lists wrapped). */
export type CelValue = Cel.CelValue

/** A value, or the error text cel-go reports. */
export type Evaluated =
  | { readonly _tag: "Value"; readonly value: CelValue }
  | { readonly _tag: "Error"; readonly message: string }

/**
 * A JSON value as a CEL input: objects become maps (no prototype keys), numbers stay doubles.
 * Iterative, so the depth of untrusted JSON never reaches the stack.
 */
export const jsonInput = (value: JsonValue): Cel.CelInput => {
  if (value === null || typeof value !== "object") return value
  // every object and array once, parents before children; then built children first
  const built = new Map<object, Array<Cel.CelInput> | Map<string, Cel.CelInput>>()
  const order: Array<object> = []
  const pending: Array<object> = [value]
  while (pending.length > 0) {
    const next = pending.pop()!
    order.push(next)
    built.set(next, Array.isArray(next) ? [] : new Map())
    for (const child of Object.values(next) as Array<JsonValue>) {
      if (child !== null && typeof child === "object") pending.push(child)
    }
  }
  const input = (item: JsonValue): Cel.CelInput => (item === null || typeof item !== "object" ? item : wrap(built.get(item)!))
  for (let i = order.length - 1; i >= 0; i--) {
    const container = order[i]!
    const target = built.get(container)!
    if (Array.isArray(target)) { for (const item of container as Array<JsonValue>) target.push(input(item)) }
    else for (const [key, item] of Object.entries(container) as Array<[string, JsonValue]>) target.set(key, input(item))
  }
  return wrap(built.get(value)!)
}

const wrap = (container: Array<Cel.CelInput> | Map<string, Cel.CelInput>): Cel.CelInput =>
  Array.isArray(container) ? Cel.celList(container) : Cel.celMap(container)

/** cel-go's wording for `@bufbuild/cel`'s runtime errors, where users see it. */
const celGoMessage = (message: string): string => {
  const rules: ReadonlyArray<readonly [RegExp, (match: RegExpMatchArray) => string]> = [
    [/^field not found: (.*)$/s, (m) => `no such key: ${m[1]}`],
    [/^found no matching overload for /, () => "no such overload"],
    [/^unbound function: (.*)$/, (m) => `no such overload: ${m[1]}`],
    [/^(int|uint) divide by zero$/, () => "division by zero"],
    [/^(int|uint) modulus by zero$/, () => "modulus by zero"],
    [/^int overflow during /, () => "integer overflow"],
    [/^uint overflow during /, () => "unsigned integer overflow"],
    [/^index (-?\d+) out of bounds \[0, (\d+)\)$/, (m) => `index '${m[1]}' out of range in list size '${m[2]}'`],
    [/^unsupported key type$/, () => "unsupported index type"]
  ]
  for (const [pattern, replace] of rules) {
    const match = message.match(pattern)
    if (match !== null) return replace(match)
  }
  return message
}

/** Evaluates a compiled program with JSON bindings for its environment's variables. */
export const evaluate = <E extends CelEnvName>(program: CelProgram<E>, bindings: CelBindings<E>): Evaluated => {
  const inputs: Record<string, Cel.CelInput> = {}
  for (const [name, value] of Object.entries(bindings) as Array<[string, JsonValue]>) inputs[name] = jsonInput(value)
  try {
    const result = program.run(inputs)
    if (Cel.isCelError(result)) return { _tag: "Error", message: celGoMessage(result.message) }
    return { _tag: "Value", value: result }
  } catch (error) {
    // a value nested deeper than the stack allows (equality of two 10,000-level inputs)
    if (error instanceof RangeError) return { _tag: "Error", message: "max recursion depth exceeded" }
    throw error
  }
}

/** cel-go's `TypeName()` of a value. */
export const typeName = (value: CelValue): string => {
  if (value === null) return "null_type"
  switch (typeof value) {
    case "string":
      return "string"
    case "bigint":
      return "int"
    case "number":
      return "double"
    case "boolean":
      return "bool"
  }
  if (value instanceof Uint8Array) return "bytes"
  if (Cel.isCelUint(value)) return "uint"
  if (Cel.isCelMap(value)) return "map"
  if (Cel.isCelList(value)) return "list"
  if (Cel.isCelType(value)) return "type"
  const name = (value as { readonly $typeName?: string }).$typeName ??
    (value as { readonly message?: { readonly $typeName?: string } }).message?.$typeName
  return name ?? "unknown"
}

// -----------------------------------------------------------------------------
// step expressions
// -----------------------------------------------------------------------------

/**
 * The output of a step expression as upstream reads it (`ParseAndEvalStepRun`): a string, or
 * an int (a double is truncated to one), or another type, named.
 */
export type StepRunOutput =
  | { readonly _tag: "String"; readonly value: string }
  | { readonly _tag: "Int"; readonly value: number }
  | { readonly _tag: "Other"; readonly type: string }

/** Go's `int(float64)` then the int32 column the evaluation is stored in. */
const toInt32 = (value: bigint | number): number =>
  typeof value === "bigint"
    ? Number(BigInt.asIntN(32, value))
    : Number.isFinite(value)
    ? Number(BigInt.asIntN(32, BigInt(Math.trunc(value))))
    : 0

/** Sorts an evaluated value into a step-run output. */
export const stepRunOutput = (value: CelValue): StepRunOutput =>
  typeof value === "string"
    ? { _tag: "String", value }
    : typeof value === "bigint" || typeof value === "number"
    ? { _tag: "Int", value: toInt32(value) }
    : { _tag: "Other", type: typeName(value) }
