/**
 * A small CEL evaluator for concurrency keys and rate-limit expressions: the subset of CEL these
 * expressions use in practice, compiled and type-checked against one of upstream's environments:
 * - `workflow` (`celworkflowrunstr`, and what every step expression is evaluated in): `input` and
 *   `additional_metadata`: `map(string, dyn)`, `workflow_run_id`: `string`;
 * - `stepRun` (`celsteprunstr`, the validation of rate-limit expressions): the same, plus
 *   `parents`: `map(string, map(string, dyn))`.
 *
 * Supported: the variables, member access `a.b`, indexing with a string literal `a["b"]`, string
 * literals (single or double quotes, simple escapes), decimal integer literals (optionally
 * negative), `+` on strings and `string(x)`, parentheses and `//` comments.
 *
 * `compile` sorts an expression into three outcomes:
 * - `Ok`: in the subset and well-typed; it evaluates exactly as cel-go would;
 * - `Invalid`: an expression upstream's compiler rejects too (a syntax error, an undeclared
 *   variable such as `parents`, a field selection on a string, `string(input)`, …);
 * - `Unsupported`: anything else (other operators, literals, macros, functions): it may be valid
 *   CEL, but this evaluator cannot run it.
 *
 * Evaluation follows cel-go's runtime: JSON numbers are doubles, a missing key is "no such key:
 * k", `+` on anything but two strings is "no such overload", `string(x)` formats a double with
 * Go's `%g`.
 *
 * Upstream `internal/cel/cel.go` (`NewCELParser`, `ParseWorkflowString`, `ParseAndEvalStepRun`).
 *
 * @internal
 */
import type { JsonValue } from "./json.js"
import { isJsonObject } from "./json.js"

// -----------------------------------------------------------------------------
// syntax
// -----------------------------------------------------------------------------

/** A compiled expression. */
export type CelExpr =
  | { readonly _tag: "Ident"; readonly name: CelVariable }
  | { readonly _tag: "String"; readonly value: string }
  | { readonly _tag: "Int"; readonly value: bigint }
  | { readonly _tag: "Select"; readonly operand: CelExpr; readonly key: string }
  | { readonly _tag: "Add"; readonly left: CelExpr; readonly right: CelExpr }
  | { readonly _tag: "ToString"; readonly arg: CelExpr }

/** The variables of upstream's environments. */
export type CelVariable = "input" | "additional_metadata" | "workflow_run_id" | "parents"

/** Upstream's CEL environments: workflow-string (`celworkflowrunstr`) and step-run (`celsteprunstr`). */
export type CelEnv = "workflow" | "stepRun"

/** The outcome of compiling an expression. */
export type Compiled =
  | { readonly _tag: "Ok"; readonly expr: CelExpr }
  | { readonly _tag: "Invalid"; readonly reason: string }
  | { readonly _tag: "Unsupported"; readonly reason: string }

class Invalid {
  constructor(readonly reason: string) {}
}
class Unsupported {
  constructor(readonly reason: string) {}
}

type Token =
  | { readonly kind: "ident"; readonly text: string }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "int"; readonly digits: string }
  | { readonly kind: "punct"; readonly text: "." | "[" | "]" | "(" | ")" | "+" }
  /** Valid CEL outside the subset (numbers, other operators, `,`, `{`, …). */
  | { readonly kind: "other"; readonly text: string }
  | { readonly kind: "end" }

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c)
const isIdentPart = (c: string) => /[A-Za-z0-9_]/.test(c)

const simpleEscapes: Readonly<Record<string, string>> = {
  "\\": "\\",
  "\"": "\"",
  "'": "'",
  "`": "`",
  "?": "?",
  a: "\u0007",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v"
}

/** Reserved words CEL refuses as identifiers. */
const reserved = new Set([
  "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
  "namespace", "return", "var", "void", "while"
])

/** Identifiers that are valid CEL values outside the subset (literals, type names, `in`). */
const otherIdentifiers = new Set([
  "true", "false", "null", "in", "int", "uint", "double", "bool", "bytes", "list", "map", "null_type", "type", "dyn"
])

const tokenize = (source: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < source.length) {
    const c = source[i]!
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++
      continue
    }
    if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++
      continue
    }
    if (isIdentStart(c)) {
      let j = i + 1
      while (j < source.length && isIdentPart(source[j]!)) j++
      const text = source.slice(i, j)
      // raw and bytes string literals (r"…", b'…', rb"…")
      if ((source[j] === "\"" || source[j] === "'") && /^(r|R|b|B|rb|rB|Rb|RB|br|bR|Br|BR)$/.test(text)) {
        throw new Unsupported("raw or bytes string literals")
      }
      tokens.push({ kind: "ident", text })
      i = j
      continue
    }
    if (c === "\"" || c === "'") {
      if (source.startsWith(c.repeat(3), i)) throw new Unsupported("triple-quoted strings")
      let j = i + 1
      let value = ""
      for (;;) {
        if (j >= source.length) throw new Invalid("unterminated string literal")
        const d = source[j]!
        if (d === c) break
        if (d === "\n" || d === "\r") throw new Invalid("newline in a string literal")
        if (d === "\\") {
          const e = source[j + 1]
          if (e === undefined) throw new Invalid("unterminated string literal")
          const escaped = simpleEscapes[e]
          if (escaped !== undefined) {
            value += escaped
            j += 2
            continue
          }
          if (/[xuU0-7]/.test(e)) throw new Unsupported("numeric escapes in string literals")
          throw new Invalid(`invalid escape sequence \\${e}`)
        }
        value += d
        j++
      }
      tokens.push({ kind: "string", value })
      i = j + 1
      continue
    }
    if (/[0-9]/.test(c)) {
      let j = i
      while (j < source.length && /[0-9]/.test(source[j]!)) j++
      const next = source[j]
      if (
        (c === "0" && (next === "x" || next === "X")) || next === "u" || next === "U" || next === "e" ||
        next === "E" || (next === "." && /[0-9]/.test(source[j + 1] ?? ""))
      ) {
        throw new Unsupported("numeric literals other than decimal integers")
      }
      tokens.push({ kind: "int", digits: source.slice(i, j) })
      i = j
      continue
    }
    if (c === "." || c === "[" || c === "]" || c === "(" || c === ")" || c === "+") {
      tokens.push({ kind: "punct", text: c })
      i++
      continue
    }
    if (/[\-*/%!=<>&|?:,{}`]/.test(c)) {
      tokens.push({ kind: "other", text: c })
      i++
      continue
    }
    throw new Invalid(`unexpected character '${c}'`)
  }
  tokens.push({ kind: "end" })
  return tokens
}

/** A parsed expression before type checking: identifiers are not resolved yet. */
type Syntax =
  | { readonly _tag: "Ident"; readonly name: string }
  | { readonly _tag: "String"; readonly value: string }
  | { readonly _tag: "Int"; readonly value: bigint }
  | { readonly _tag: "Select"; readonly operand: Syntax; readonly key: string }
  | { readonly _tag: "Add"; readonly left: Syntax; readonly right: Syntax }
  | { readonly _tag: "Call"; readonly name: string; readonly arg: Syntax }

const minInt64 = -(2n ** 63n)
const maxInt64 = 2n ** 63n - 1n

/** An int literal (`-` included when negative): int64, as CEL's. */
const intLiteral = (digits: string, negative: boolean): Syntax => {
  const value = negative ? -BigInt(digits) : BigInt(digits)
  if (value < minInt64 || value > maxInt64) throw new Invalid("int literal out of range")
  return { _tag: "Int", value }
}

class Parser {
  private pos = 0
  constructor(private readonly tokens: ReadonlyArray<Token>) {}

  private get peek(): Token {
    return this.tokens[this.pos]!
  }

  private isPunct(text: string): boolean {
    const token = this.peek
    return token.kind === "punct" && token.text === text
  }

  /** A token that cannot continue the expression here. */
  private unexpected(): never {
    const token = this.peek
    if (token.kind === "end") throw new Invalid("unexpected end of expression")
    if (token.kind === "other") throw new Unsupported(`the operator or literal '${token.text}'`)
    throw new Invalid("unexpected token")
  }

  parseAll(): Syntax {
    const expr = this.add()
    if (this.peek.kind !== "end") this.unexpected()
    return expr
  }

  private add(): Syntax {
    let left = this.member()
    while (this.isPunct("+")) {
      this.pos++
      left = { _tag: "Add", left, right: this.member() }
    }
    return left
  }

  private member(): Syntax {
    let expr = this.primary()
    for (;;) {
      if (this.isPunct(".")) {
        this.pos++
        const field = this.peek
        if (field.kind !== "ident") this.unexpected()
        this.pos++
        if (this.isPunct("(")) throw new Unsupported(`the method '${field.text}'`)
        expr = { _tag: "Select", operand: expr, key: field.text }
      } else if (this.isPunct("[")) {
        this.pos++
        const key = this.peek
        if (key.kind !== "string") {
          if (key.kind === "end" || (key.kind === "punct" && key.text === "]")) this.unexpected()
          throw new Unsupported("indexes other than a string literal")
        }
        this.pos++
        if (!this.isPunct("]")) this.unexpected()
        this.pos++
        expr = { _tag: "Select", operand: expr, key: key.value }
      } else {
        return expr
      }
    }
  }

  private primary(): Syntax {
    const token = this.peek
    if (token.kind === "string") {
      this.pos++
      return { _tag: "String", value: token.value }
    }
    if (token.kind === "int") {
      this.pos++
      return intLiteral(token.digits, false)
    }
    // CEL's grammar reads a minus directly before an int literal as part of the literal
    const next = this.tokens[this.pos + 1]
    if (token.kind === "other" && token.text === "-" && next?.kind === "int") {
      this.pos += 2
      return intLiteral(next.digits, true)
    }
    if (token.kind === "ident") {
      this.pos++
      if (reserved.has(token.text)) throw new Invalid(`reserved identifier '${token.text}'`)
      if (this.isPunct("(")) {
        if (token.text !== "string") throw new Unsupported(`the function '${token.text}'`)
        this.pos++
        const arg = this.add()
        if (!this.isPunct(")")) this.unexpected()
        this.pos++
        return { _tag: "Call", name: token.text, arg }
      }
      return { _tag: "Ident", name: token.text }
    }
    if (token.kind === "punct" && token.text === "(") {
      this.pos++
      const expr = this.add()
      if (!this.isPunct(")")) this.unexpected()
      this.pos++
      return expr
    }
    if (token.kind === "punct" && token.text === ".") throw new Unsupported("absolute names")
    if (token.kind === "punct" && token.text === "[") throw new Unsupported("list literals")
    return this.unexpected()
  }
}

// -----------------------------------------------------------------------------
// type checking
// -----------------------------------------------------------------------------

/**
 * Static types of the subset: `map(string, dyn)`, `map(string, map(string, dyn))` (`parents`),
 * `string`, `int` and `dyn`.
 */
type CelType = "map" | "parents" | "string" | "int" | "dyn"

const variableTypes: Readonly<Record<CelEnv, Readonly<Partial<Record<CelVariable, CelType>>>>> = {
  workflow: { input: "map", additional_metadata: "map", workflow_run_id: "string" },
  stepRun: { input: "map", additional_metadata: "map", workflow_run_id: "string", parents: "parents" }
}

const isMap = (type: CelType) => type === "map" || type === "parents"

const check = (syntax: Syntax, env: CelEnv): { readonly expr: CelExpr; readonly type: CelType } => {
  switch (syntax._tag) {
    case "String":
      return { expr: syntax, type: "string" }
    case "Int":
      return { expr: syntax, type: "int" }
    case "Ident": {
      const name = syntax.name
      const type = variableTypes[env][name as CelVariable]
      if (type !== undefined) return { expr: { _tag: "Ident", name: name as CelVariable }, type }
      if (otherIdentifiers.has(name)) throw new Unsupported(`the identifier '${name}'`)
      throw new Invalid(`undeclared reference to '${name}'`)
    }
    case "Select": {
      const operand = check(syntax.operand, env)
      if (operand.type === "string" || operand.type === "int") throw new Invalid(`field selection on ${operand.type}`)
      return { expr: { _tag: "Select", operand: operand.expr, key: syntax.key }, type: operand.type === "parents" ? "map" : "dyn" }
    }
    case "Add": {
      const left = check(syntax.left, env)
      const right = check(syntax.right, env)
      if (isMap(left.type) || isMap(right.type)) throw new Invalid("no matching overload for '_+_'")
      const types = [left.type, right.type]
      if (types.includes("int") && types.includes("string")) throw new Invalid("no matching overload for '_+_'")
      if (types.includes("int")) throw new Unsupported("integer arithmetic")
      return {
        expr: { _tag: "Add", left: left.expr, right: right.expr },
        type: left.type === "string" || right.type === "string" ? "string" : "dyn"
      }
    }
    case "Call": {
      const arg = check(syntax.arg, env)
      if (isMap(arg.type)) throw new Invalid("no matching overload for 'string'")
      return { expr: { _tag: "ToString", arg: arg.expr }, type: "string" }
    }
  }
}

/** Parses and type-checks an expression in `env` (the workflow-string environment by default). */
export const compile = (source: string, env: CelEnv = "workflow"): Compiled => {
  try {
    return { _tag: "Ok", expr: check(new Parser(tokenize(source)).parseAll(), env).expr }
  } catch (error) {
    if (error instanceof Invalid) return { _tag: "Invalid", reason: error.reason }
    if (error instanceof Unsupported) return { _tag: "Unsupported", reason: error.reason }
    throw error
  }
}

// -----------------------------------------------------------------------------
// evaluation
// -----------------------------------------------------------------------------

/** The values of the variables for one evaluation (`parents` is never declared there). */
export type CelVariables = Readonly<Record<Exclude<CelVariable, "parents">, JsonValue>>

/** A CEL value: JSON (numbers are doubles) or an int. */
export type CelValue = JsonValue | bigint

/** A value, or the error text cel-go reports. */
export type Evaluated =
  | { readonly _tag: "Value"; readonly value: CelValue }
  | { readonly _tag: "Error"; readonly message: string }

class EvalError {
  constructor(readonly message: string) {}
}

/** The CEL type name of a value (JSON numbers are doubles). */
export const typeName = (value: CelValue): string => {
  if (typeof value === "bigint") return "int"
  if (value === null) return "null_type"
  if (typeof value === "string") return "string"
  if (typeof value === "number") return "double"
  if (typeof value === "boolean") return "bool"
  return Array.isArray(value) ? "list" : "map"
}

/** Go's `%g` for a float64: the shortest digits, in exponent form below 1e-4 and from 1e6. */
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

const evaluate = (expr: CelExpr, variables: CelVariables): CelValue => {
  switch (expr._tag) {
    case "String":
    case "Int":
      return expr.value
    case "Ident":
      // `parents` only type-checks in the step-run environment, which evaluates nothing
      if (expr.name === "parents") throw new EvalError("undeclared reference to 'parents'")
      return variables[expr.name]
    case "Select": {
      const operand = evaluate(expr.operand, variables)
      if (isJsonObject(operand)) {
        if (Object.prototype.hasOwnProperty.call(operand, expr.key)) return operand[expr.key]!
        throw new EvalError(`no such key: ${expr.key}`)
      }
      if (Array.isArray(operand)) throw new EvalError("unsupported index type 'string' in list")
      throw new EvalError(`no such key: ${expr.key}`)
    }
    case "Add": {
      const left = evaluate(expr.left, variables)
      const right = evaluate(expr.right, variables)
      if (typeof left === "string" && typeof right === "string") return left + right
      throw new EvalError("no such overload")
    }
    case "ToString": {
      const value = evaluate(expr.arg, variables)
      if (typeof value === "string") return value
      if (typeof value === "bigint") return value.toString()
      if (typeof value === "number") return formatDouble(value)
      if (typeof value === "boolean") return value ? "true" : "false"
      throw new EvalError(`type conversion error from '${typeName(value)}' to 'string'`)
    }
  }
}

/** Evaluates a compiled expression. */
export const run = (expr: CelExpr, variables: CelVariables): Evaluated => {
  try {
    return { _tag: "Value", value: evaluate(expr, variables) }
  } catch (error) {
    if (error instanceof EvalError) return { _tag: "Error", message: error.message }
    throw error
  }
}

/**
 * The output of a step-run expression as upstream reads it (`ParseAndEvalStepRun`): a string, or
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
