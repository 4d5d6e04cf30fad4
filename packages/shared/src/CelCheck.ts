/**
 * The type checker of `Cel.ts`: what cel-go's checker (`Env.Compile` after parsing) refuses in
 * Hatchet's environments, over the AST `@bufbuild/cel` parses (which has no checker of its own).
 *
 * Types are cel-go's: primitives, `list(T)`, `map(K, V)`, `type`, `dyn` and the two type
 * parameters of the standard declarations. Overloads are cel-go's standard library (without the
 * cross-type numeric comparisons, which cel-go's checker filters out unless an environment asks
 * for them, and upstream's do not), the strings extension (`ext.Strings()`, all versions) and
 * upstream's `checksum`. Resolution follows cel-go: an argument of type `dyn` matches any
 * parameter, a type parameter binds to the first type it meets, no overload is "found no matching
 * overload for 'f' applied to '(T, …)'", an unknown name is "undeclared reference to 'x' (in
 * container '')". Where the two could differ (the exact type of a comprehension's accumulator),
 * the checker leans to `dyn`, so it never refuses what cel-go accepts.
 *
 * Upstream `checker/checker.go`, `common/stdlib/standard.go`, `ext/strings.go` (cel-go v0.29).
 *
 * @internal
 */
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js"

/** A CEL type as the checker sees it. */
export type CheckType =
  | { readonly k: "int" | "uint" | "double" | "string" | "bool" | "bytes" | "null_type" | "dyn" | "timestamp" | "duration" }
  | { readonly k: "list"; readonly elem: CheckType }
  | { readonly k: "map"; readonly key: CheckType; readonly value: CheckType }
  | { readonly k: "type"; readonly of: CheckType }
  | { readonly k: "param"; readonly name: string }
  /** The type of an expression that already has an error: it matches everything, as in cel-go. */
  | { readonly k: "error" }

const prim = <K extends "int" | "uint" | "double" | "string" | "bool" | "bytes" | "null_type" | "dyn" | "timestamp" | "duration">(
  k: K
) => ({ k }) as const

/** The types of declarations. */
export const T = {
  int: prim("int"),
  uint: prim("uint"),
  double: prim("double"),
  string: prim("string"),
  bool: prim("bool"),
  bytes: prim("bytes"),
  null: prim("null_type"),
  dyn: prim("dyn"),
  timestamp: prim("timestamp"),
  duration: prim("duration"),
  error: { k: "error" } as CheckType,
  list: (elem: CheckType): CheckType => ({ k: "list", elem }),
  map: (key: CheckType, value: CheckType): CheckType => ({ k: "map", key, value }),
  type: (of: CheckType): CheckType => ({ k: "type", of })
} as const

const A: CheckType = { k: "param", name: "A" }
const B: CheckType = { k: "param", name: "B" }

/** cel-go's name of a type, as in its error messages. */
export const typeString = (type: CheckType): string => {
  switch (type.k) {
    case "list":
      return `list(${typeString(type.elem)})`
    case "map":
      return `map(${typeString(type.key)}, ${typeString(type.value)})`
    case "type":
      return `type(${typeString(type.of)})`
    case "param":
      return type.name
    case "timestamp":
      return "google.protobuf.Timestamp"
    case "duration":
      return "google.protobuf.Duration"
    case "error":
      return "*error*"
    default:
      return type.k
  }
}

// -----------------------------------------------------------------------------
// declarations
// -----------------------------------------------------------------------------

/** One overload: global (`f(args)`) or a member (`target.f(args)`, the target first in `args`). */
interface Overload {
  readonly member: boolean
  readonly args: ReadonlyArray<CheckType>
  readonly result: CheckType
}

const fn = (args: ReadonlyArray<CheckType>, result: CheckType): Overload => ({ member: false, args, result })
const method = (args: ReadonlyArray<CheckType>, result: CheckType): Overload => ({ member: true, args, result })

/** Functions by name. */
export type FunctionDecls = ReadonlyMap<string, ReadonlyArray<Overload>>

const numeric = [T.int, T.uint, T.double]
const ordered = [T.bool, T.int, T.uint, T.double, T.string, T.bytes, T.timestamp, T.duration]
const timeParts = [
  "getFullYear",
  "getMonth",
  "getDayOfYear",
  "getDayOfMonth",
  "getDate",
  "getDayOfWeek",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getMilliseconds"
]
const durationParts = new Set(["getHours", "getMinutes", "getSeconds", "getMilliseconds"])

/** cel-go's standard library declarations, as its checker sees them. */
const standard = (): Map<string, Array<Overload>> => {
  const decls = new Map<string, Array<Overload>>()
  const add = (name: string, ...overloads: Array<Overload>) => decls.set(name, [...(decls.get(name) ?? []), ...overloads])
  add("_?_:_", fn([T.bool, A, A], A))
  add("_&&_", fn([T.bool, T.bool], T.bool))
  add("_||_", fn([T.bool, T.bool], T.bool))
  add("!_", fn([T.bool], T.bool))
  add("@not_strictly_false", fn([T.bool], T.bool))
  add("__not_strictly_false__", fn([T.bool], T.bool))
  add("_==_", fn([A, A], T.bool))
  add("_!=_", fn([A, A], T.bool))
  add(
    "_+_",
    ...[T.bytes, T.double, T.int, T.string, T.uint, T.duration].map((t) => fn([t, t], t)),
    fn([T.duration, T.timestamp], T.timestamp),
    fn([T.timestamp, T.duration], T.timestamp),
    fn([T.list(A), T.list(A)], T.list(A))
  )
  add(
    "_-_",
    ...[T.double, T.int, T.uint, T.duration].map((t) => fn([t, t], t)),
    fn([T.timestamp, T.duration], T.timestamp),
    fn([T.timestamp, T.timestamp], T.duration)
  )
  add("_*_", ...numeric.map((t) => fn([t, t], t)))
  add("_/_", ...numeric.map((t) => fn([t, t], t)))
  add("_%_", fn([T.int, T.int], T.int), fn([T.uint, T.uint], T.uint))
  add("-_", fn([T.int], T.int), fn([T.double], T.double))
  for (const op of ["_<_", "_<=_", "_>_", "_>=_"]) add(op, ...ordered.map((t) => fn([t, t], T.bool)))
  add("_[_]", fn([T.list(A), T.int], A), fn([T.map(A, B), A], B))
  add("@in", fn([A, T.list(A)], T.bool), fn([A, T.map(A, B)], T.bool))
  add(
    "size",
    ...[T.bytes, T.list(A), T.map(A, B), T.string].flatMap((t) => [fn([t], T.int), method([t], T.int)])
  )
  add("type", fn([A], T.type(A)))
  add("bool", fn([T.bool], T.bool), fn([T.string], T.bool))
  add("bytes", fn([T.bytes], T.bytes), fn([T.string], T.bytes))
  add("double", ...[T.double, T.int, T.string, T.uint].map((t) => fn([t], T.double)))
  add("duration", fn([T.duration], T.duration), fn([T.string], T.duration))
  add("dyn", fn([A], T.dyn))
  add("int", ...[T.int, T.double, T.duration, T.string, T.timestamp, T.uint].map((t) => fn([t], T.int)))
  add("string", ...[T.string, T.bool, T.bytes, T.double, T.duration, T.int, T.timestamp, T.uint].map((t) => fn([t], T.string)))
  add("timestamp", fn([T.timestamp], T.timestamp), fn([T.int], T.timestamp), fn([T.string], T.timestamp))
  add("uint", ...[T.uint, T.double, T.int, T.string].map((t) => fn([t], T.uint)))
  add("contains", method([T.string, T.string], T.bool))
  add("endsWith", method([T.string, T.string], T.bool))
  add("startsWith", method([T.string, T.string], T.bool))
  add("matches", fn([T.string, T.string], T.bool), method([T.string, T.string], T.bool))
  for (const part of timeParts) {
    add(part, method([T.timestamp], T.int), method([T.timestamp, T.string], T.int))
    if (durationParts.has(part)) add(part, method([T.duration], T.int))
  }
  return decls
}

/** The strings extension, `ext.Strings()` at its latest version. */
const strings = (decls: Map<string, Array<Overload>>) => {
  const add = (name: string, ...overloads: Array<Overload>) => decls.set(name, [...(decls.get(name) ?? []), ...overloads])
  add("charAt", method([T.string, T.int], T.string))
  add("indexOf", method([T.string, T.string], T.int), method([T.string, T.string, T.int], T.int))
  add("lastIndexOf", method([T.string, T.string], T.int), method([T.string, T.string, T.int], T.int))
  add("lowerAscii", method([T.string], T.string))
  add("upperAscii", method([T.string], T.string))
  add("replace", method([T.string, T.string, T.string], T.string), method([T.string, T.string, T.string, T.int], T.string))
  add("split", method([T.string, T.string], T.list(T.string)), method([T.string, T.string, T.int], T.list(T.string)))
  add("substring", method([T.string, T.int], T.string), method([T.string, T.int, T.int], T.string))
  add("trim", method([T.string], T.string))
  add("format", method([T.string, T.list(T.dyn)], T.string))
  add("strings.quote", fn([T.string], T.string))
  add("join", method([T.list(T.string)], T.string), method([T.list(T.string), T.string], T.string))
  add("reverse", method([T.string], T.string))
}

/** What an environment declares for the checker. */
export interface CheckEnv {
  readonly variables: ReadonlyMap<string, CheckType>
  readonly functions: FunctionDecls
}

/**
 * The declarations of an environment: the standard library, the strings extension when asked,
 * upstream's `checksum` (the global `checksum(string)` it declares, and the member
 * `string.checksum()` it binds where it does) and the variables.
 */
export const checkEnv = (options: {
  readonly variables: Readonly<Record<string, CheckType>>
  readonly strings: boolean
  readonly checksumMember: boolean
}): CheckEnv => {
  const decls = standard()
  if (options.strings) strings(decls)
  decls.set("checksum", [fn([T.string], T.string), ...(options.checksumMember ? [method([T.string], T.string)] : [])])
  return { variables: new Map(Object.entries(options.variables)), functions: decls }
}

// -----------------------------------------------------------------------------
// assignability
// -----------------------------------------------------------------------------

type Substitution = Map<string, CheckType>

const isDynLike = (type: CheckType) => type.k === "dyn" || type.k === "error"

/** Whether a value of type `arg` fits the parameter type `param`, binding type parameters in `subst`. */
const assignable = (param: CheckType, arg: CheckType, subst: Substitution): boolean => {
  if (param.k === "param") {
    const bound = subst.get(param.name)
    if (bound === undefined) {
      subst.set(param.name, arg)
      return true
    }
    if (assignable(bound, arg, subst)) return true
    // a parameter first bound to dyn (or an error) stays open
    if (isDynLike(bound)) return true
    return false
  }
  if (isDynLike(param) || isDynLike(arg)) return true
  // cel-go's legacy nullability: null fits the message types (here Timestamp and Duration)
  if (param.k === "null_type" || arg.k === "null_type") {
    const other = param.k === "null_type" ? arg : param
    if (other.k === "timestamp" || other.k === "duration") return true
  }
  if (arg.k === "param") return assignable(arg, param, subst)
  switch (param.k) {
    case "list":
      return arg.k === "list" && assignable(param.elem, arg.elem, subst)
    case "map":
      return arg.k === "map" && assignable(param.key, arg.key, subst) && assignable(param.value, arg.value, subst)
    case "type":
      return arg.k === "type"
    default:
      return param.k === arg.k
  }
}

/** A type with its parameters replaced by what they are bound to (`dyn` when unbound). */
const substitute = (type: CheckType, subst: Substitution): CheckType => {
  switch (type.k) {
    case "param": {
      const bound = subst.get(type.name)
      return bound === undefined || bound.k === "param" ? T.dyn : substitute(bound, subst)
    }
    case "list":
      return T.list(substitute(type.elem, subst))
    case "map":
      return T.map(substitute(type.key, subst), substitute(type.value, subst))
    case "type":
      return T.type(substitute(type.of, subst))
    default:
      return type
  }
}

const sameType = (a: CheckType, b: CheckType): boolean => typeString(a) === typeString(b)

/** The type of a literal's elements: their common type, `dyn` when they differ (cel-go's default). */
const joinTypes = (types: ReadonlyArray<CheckType>): CheckType => {
  const known = types.filter((t) => t.k !== "error")
  if (known.length === 0) return T.dyn
  const first = known[0]!
  return known.every((t) => sameType(t, first)) ? first : T.dyn
}

// -----------------------------------------------------------------------------
// the checker
// -----------------------------------------------------------------------------

/**
 * A checker error: cel-go's message and the offset of the expression it is about; for a call
 * by name, cel-go reports at its opening parenthesis, the first one from `offset`.
 */
export interface CheckIssue {
  readonly message: string
  readonly offset: number
  readonly atParenthesis: boolean
}

const isOperator = (name: string) => /^[_@!-]/.test(name)

/** The type names usable as values (`type(x) == int`). */
const typeIdentifiers: Readonly<Record<string, CheckType>> = {
  int: T.type(T.int),
  uint: T.type(T.uint),
  double: T.type(T.double),
  bool: T.type(T.bool),
  string: T.type(T.string),
  bytes: T.type(T.bytes),
  list: T.type(T.list(T.dyn)),
  map: T.type(T.map(T.dyn, T.dyn)),
  null_type: T.type(T.null),
  type: T.type(T.dyn)
}

const minInt64 = -(2n ** 63n)
const maxInt64 = 2n ** 63n - 1n
const maxUint64 = 2n ** 64n - 1n

/** The dotted name of a select chain on an identifier (`a.b.c`), or undefined. */
const qualifiedName = (expr: Expr): string | undefined => {
  const kind = expr.exprKind
  if (kind.case === "identExpr") return kind.value.name
  if (kind.case === "selectExpr" && !kind.value.testOnly && kind.value.operand !== undefined) {
    const operand = qualifiedName(kind.value.operand)
    return operand === undefined ? undefined : `${operand}.${kind.value.field}`
  }
  return undefined
}

/**
 * Checks `root` in `env`; the issues in the order found (empty when it type-checks). Nesting is
 * bounded by the parser limits before this runs, so recursing on the AST is safe.
 */
export const check = (env: CheckEnv, root: Expr, positions: Readonly<Record<string, number>>): Array<CheckIssue> => {
  const issues: Array<CheckIssue> = []
  const report = (expr: Expr, message: string): CheckType => {
    const kind = expr.exprKind
    const atParenthesis = kind.case === "callExpr" && !isOperator(kind.value.function)
    issues.push({ message, offset: positions[String(expr.id)] ?? 0, atParenthesis })
    return T.error
  }
  const scopes: Array<Map<string, CheckType>> = []
  const lookup = (name: string): CheckType | undefined => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const found = scopes[i]!.get(name)
      if (found !== undefined) return found
    }
    return env.variables.get(name) ?? typeIdentifiers[name]
  }

  const resolve = (expr: Expr, name: string, member: boolean, args: ReadonlyArray<CheckType>): CheckType => {
    const overloads = env.functions.get(name)
    if (overloads === undefined) return report(expr, `undeclared reference to '${name}' (in container '')`)
    const results: Array<CheckType> = []
    for (const overload of overloads) {
      if (overload.member !== member || overload.args.length !== args.length) continue
      const subst: Substitution = new Map()
      if (overload.args.every((param, i) => assignable(param, args[i]!, subst))) results.push(substitute(overload.result, subst))
    }
    if (results.length === 0) {
      if (args.some((a) => a.k === "error")) return T.error
      const shown = member
        ? `${typeString(args[0]!)}.(${args.slice(1).map(typeString).join(", ")})`
        : `(${args.map(typeString).join(", ")})`
      return report(expr, `found no matching overload for '${name}' applied to '${shown}'`)
    }
    return joinTypes(results)
  }

  const visit = (expr: Expr): CheckType => {
    const kind = expr.exprKind
    switch (kind.case) {
      case "constExpr": {
        switch (kind.value.constantKind.case) {
          // the parser takes literals out of range; cel-go's refuses them
          case "int64Value": {
            const value = kind.value.constantKind.value
            return value < minInt64 || value > maxInt64 ? report(expr, "invalid int literal") : T.int
          }
          case "uint64Value":
            return kind.value.constantKind.value > maxUint64 ? report(expr, "invalid uint literal") : T.uint
          case "doubleValue":
            return Number.isFinite(kind.value.constantKind.value) ? T.double : report(expr, "invalid double literal")
          case "stringValue":
            return T.string
          case "bytesValue":
            return T.bytes
          case "boolValue":
            return T.bool
          case "nullValue":
            return T.null
          default:
            return T.dyn
        }
      }
      case "identExpr": {
        const type = lookup(kind.value.name)
        return type ?? report(expr, `undeclared reference to '${kind.value.name}' (in container '')`)
      }
      case "selectExpr": {
        const { operand, testOnly } = kind.value
        if (operand === undefined) return T.error
        // a dotted name that is not a variable
        const qualified = qualifiedName(expr)
        if (!testOnly && qualified !== undefined && env.variables.has(qualified)) return env.variables.get(qualified)!
        const type = visit(operand)
        switch (type.k) {
          case "map":
            return testOnly ? T.bool : type.value
          case "dyn":
          case "error":
            return testOnly ? T.bool : type
          default:
            return report(expr, `type '${typeString(type)}' does not support field selection`)
        }
      }
      case "callExpr": {
        const { args, function: name, target } = kind.value
        if (target !== undefined) {
          // `strings.quote(x)`: a qualified global function, not a method
          const qualified = qualifiedName(target)
          if (qualified !== undefined && lookup(qualified.split(".")[0]!) === undefined) {
            const global = `${qualified}.${name}`
            if (env.functions.has(global)) return resolve(expr, global, false, args.map(visit))
          }
          const receiver = visit(target)
          return resolve(expr, name, true, [receiver, ...args.map(visit)])
        }
        return resolve(expr, name, false, args.map(visit))
      }
      case "listExpr":
        return T.list(joinTypes(kind.value.elements.map(visit)))
      case "structExpr": {
        if (kind.value.messageName !== "") {
          return report(expr, `undeclared reference to '${kind.value.messageName}' (in container '')`)
        }
        const keys: Array<CheckType> = []
        const values: Array<CheckType> = []
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") keys.push(visit(entry.keyKind.value))
          if (entry.value !== undefined) values.push(visit(entry.value))
        }
        return T.map(joinTypes(keys), joinTypes(values))
      }
      case "comprehensionExpr": {
        const c = kind.value
        const range = c.iterRange === undefined ? T.dyn : visit(c.iterRange)
        let iterType: CheckType
        let iterType2: CheckType = T.dyn
        switch (range.k) {
          case "list":
            iterType = c.iterVar2 !== "" ? T.int : range.elem
            iterType2 = range.elem
            break
          case "map":
            iterType = range.key
            iterType2 = range.value
            break
          case "dyn":
          case "error":
            iterType = range
            break
          default:
            iterType = report(
              c.iterRange!,
              `expression of type '${typeString(range)}' cannot be range of a comprehension (must be list, map, or dynamic)`
            )
        }
        const accuInit = c.accuInit === undefined ? T.dyn : visit(c.accuInit)
        // the accumulator of map() and filter() starts as an empty list: take it as dyn
        const accuType = accuInit.k === "list" ? T.list(T.dyn) : accuInit
        scopes.push(new Map([[c.accuVar, accuType]]))
        const inner = new Map([[c.iterVar, iterType]])
        if (c.iterVar2 !== "") inner.set(c.iterVar2, iterType2)
        scopes.push(inner)
        if (c.loopCondition !== undefined) visit(c.loopCondition)
        if (c.loopStep !== undefined) visit(c.loopStep)
        scopes.pop()
        const result = c.result === undefined ? T.dyn : visit(c.result)
        scopes.pop()
        return result
      }
      default:
        return T.dyn
    }
  }

  visit(root)
  return issues
}
