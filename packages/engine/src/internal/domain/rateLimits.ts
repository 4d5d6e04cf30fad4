/**
 * Task rate limits: per tenant and key, a fixed window of `limitValue` units.
 *
 * - Keys are created or updated by `WorkflowService/PutRateLimit`, and by the queue passes for the
 *   dynamic limits of queued tasks. An update sets the limit and the window and clamps the units
 *   left to the new limit; the window keeps its start.
 * - A window starts at `lastRefill`; once it has elapsed the key holds `limitValue` units again
 *   (computed lazily, on the grid of whole windows since the key's creation).
 * - Registration (`CreateTaskRateLimit`): a rate limit with only a key and units is static (a
 *   `StepRateLimit` row upstream; its key must exist, units default to 1). Any expression set
 *   (`key_expr`, `units_expr`, `limit_values_expr`) makes all four parts CEL expressions: the
 *   literal key as a CEL string when no `key_expr`, the literal units when no `units_expr`, the
 *   limit only when `limit_values_expr` is set, the window as its duration name (MINUTE when
 *   unset). The official TypeScript SDK always sends `limit_values_expr` ("-1" for a static key),
 *   so its static limits take this path too.
 * - At task creation the expressions are evaluated (`input`, `additional_metadata`, the task's
 *   external id as `workflow_run_id`): the key and the window must be strings, the limit and the
 *   units ints (a double is truncated); otherwise the task is created FAILED with "failed to
 *   parse step expression (…): …".
 * - When a task is created its dynamic keys are upserted with its evaluated limit and window,
 *   merged with those of the tasks still waiting for their first assignment: when tasks disagree
 *   the longer window and the smaller limit win (a limit of 0 yields to any other, a task without
 *   a limit counts as 0). A limit below 0 (the SDK's "-1") upserts nothing: the key must exist,
 *   with the limit it has. Upstream upserts the keys of the queue items each scheduling pass
 *   reads, again at every pass; registering them once, at creation, keeps a pass from reading
 *   the whole queue.
 * - A task consumes its units (per key: its dynamic units, then its step's static ones) when it
 *   is assigned to a worker; they are never given back. A task short of units on any key, or
 *   with a key that does not exist, stays queued and the pass goes on with the next task; it is
 *   tried again at the key's next refill (a timer wakes its queue), or when `PutRateLimit`
 *   changes a key.
 *
 * Upstream `pkg/repository/rate_limit.go`, `sqlcv1/rate_limits.sql`, `pkg/scheduling/v1/rate_limit.go`,
 * `pkg/repository/scheduler_queue.go` (`GetTaskRateLimits`), `pkg/repository/workflow.go` (step
 * expressions), `pkg/repository/task.go` (evaluation), `internal/cel/cel.go`,
 * `internal/services/admin/server.go` (`PutRateLimit`).
 *
 * @internal
 */
import type { CreateTaskRateLimit } from "@effect-hatchet/proto/v1/workflows"
import * as Cel from "@effect-hatchet/shared/Cel"
import * as Either from "effect/Either"
import { touchRateLimit } from "./changes.js"
import { type Internal, internal, type InvalidArgument, invalidArgument } from "./errors.js"
import { stepVariables } from "./expressions.js"
import type {
  EngineState,
  RateLimit,
  RateLimitWindow,
  Run,
  Step,
  StepExpression,
  StepRateLimit,
  Task,
  TaskRateLimit,
  TenantState
} from "./model.js"
import { markDirty } from "./queue.js"
import { tenantOf } from "./tenants.js"
import type { FieldErrors } from "./validation.js"

// -----------------------------------------------------------------------------
// windows
// -----------------------------------------------------------------------------

const windowNames: ReadonlyArray<RateLimitWindow> = ["SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR"]

const day = 86_400_000

/** Window lengths as Postgres compares intervals: a month is 30 days, a year 12 months. */
const windowMs: Readonly<Record<RateLimitWindow, number>> = {
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: day,
  WEEK: 7 * day,
  MONTH: 30 * day,
  YEAR: 360 * day
}

/** The name of a `RateLimitDuration` value, or undefined for a value outside the enum. */
const durationName = (duration: number): RateLimitWindow | undefined => windowNames[duration]

/** `getWindowParamFromDurString`: an unknown name falls back to a minute. */
const windowOf = (name: string): RateLimitWindow => windowNames.find((w) => w === name) ?? "MINUTE"

/** `getLargerDuration`. */
const longer = (a: RateLimitWindow, b: RateLimitWindow) => (windowNames.indexOf(a) > windowNames.indexOf(b) ? a : b)

/**
 * Brings a key's window up to date: after whole windows have elapsed it holds its limit again.
 * Returns whether it changed.
 */
const refill = (limit: RateLimit, now: number): boolean => {
  const length = windowMs[limit.window]
  const elapsed = now - limit.lastRefill
  if (elapsed < length) return false
  limit.lastRefill += Math.floor(elapsed / length) * length
  limit.value = limit.limitValue
  return true
}

/** A key's units left and window start as of `now`, without updating it (the REST list's view). */
export const current = (limit: RateLimit, now: number): { readonly value: number; readonly lastRefill: number } => {
  const length = windowMs[limit.window]
  const elapsed = now - limit.lastRefill
  return elapsed < length
    ? { value: limit.value, lastRefill: limit.lastRefill }
    : { value: limit.limitValue, lastRefill: limit.lastRefill + Math.floor(elapsed / length) * length }
}

/** When the current window of a key ends. */
const nextRefill = (limit: RateLimit): number => limit.lastRefill + windowMs[limit.window]

/**
 * `UpsertRateLimit` / `UpsertRateLimitsBulk`: a new key starts full; an existing one gets the new
 * limit and window, its units left clamped to the new limit.
 */
const upsert = (
  state: EngineState,
  tenant: TenantState,
  key: string,
  limitValue: number,
  window: RateLimitWindow,
  now: number
): void => {
  const existing = tenant.rateLimits.get(key)
  if (existing === undefined) {
    const limit: RateLimit = { key, limitValue, value: limitValue, window, lastRefill: now, waiting: new Set(), wakeAt: undefined }
    tenant.rateLimits.set(key, limit)
    touchRateLimit(state, tenant.tenant.id, limit)
    return
  }
  refill(existing, now)
  existing.limitValue = limitValue
  existing.window = window
  existing.value = Math.min(existing.value, limitValue)
  touchRateLimit(state, tenant.tenant.id, existing)
}

/** Marks every queue of the tenant that holds tasks: a key changed. */
const wakeTenant = (state: EngineState, tenant: TenantState): void => {
  for (const action of tenant.actionWorkers.keys()) {
    if (state.queues.size(tenant.tenant.id, action) > 0) markDirty(state, tenant.tenant.id, action)
  }
}

/**
 * `WorkflowService/PutRateLimit`: creates or updates a key. An empty key is INVALID_ARGUMENT; a
 * duration outside the enum fails upstream's validation of the upsert, a plain error (INTERNAL).
 */
export const putRateLimit = (
  state: EngineState,
  tenantId: string,
  request: { readonly key: string; readonly limit: number; readonly duration: number },
  now: number
): Either.Either<void, InvalidArgument | Internal> => {
  if (request.key === "") return Either.left(invalidArgument("key is required"))
  const window = durationName(request.duration)
  if (window === undefined) return Either.left(internal())
  const tenant = tenantOf(state, tenantId)
  upsert(state, tenant, request.key, request.limit, window, now)
  wakeTenant(state, tenant)
  return Either.void
}

// -----------------------------------------------------------------------------
// registration
// -----------------------------------------------------------------------------

/** A rate limit with only a key and units (a `StepRateLimit` row upstream). */
export const isStatic = (limit: CreateTaskRateLimit): boolean =>
  limit.keyExpr === undefined && limit.unitsExpr === undefined && limit.limitValuesExpr === undefined

/** The validator's message for an expression upstream's CEL compiler rejects. */
const celExpressionError = "Invalid CEL expression"

/**
 * `CreateWorkflowStepRateLimitOpts`, in struct-field order: the key is required; the key, units
 * and limit expressions, when set, must compile in the step-run environment (`celsteprunstr`).
 */
export const validateRateLimits = (errors: FieldErrors, ns: string, limits: ReadonlyArray<CreateTaskRateLimit>): void =>
  limits.forEach((limit, i) => {
    const lns = `${ns}.RateLimits[${i}]`
    if (limit.key === "") errors.condition(`${lns}.Key`, "required")
    const expressions = [["KeyExpr", limit.keyExpr], ["UnitsExpr", limit.unitsExpr], ["LimitExpr", limit.limitValuesExpr]] as const
    for (const [field, expression] of expressions) {
      if (expression !== undefined && Cel.compile("stepRun", expression)._tag === "Invalid") {
        errors.message(`${lns}.${field}`, celExpressionError)
      }
    }
  })

/**
 * What storing a task's rate limits would make the database refuse (a plain error, INTERNAL): a
 * static key never created (a foreign key), a static key twice (a unique index), the same `key`
 * twice among the expression ones (one insert upserting a row twice).
 */
export const storable = (tenant: TenantState, limits: ReadonlyArray<CreateTaskRateLimit>): boolean => {
  const statics = new Set<string>()
  const dynamics = new Set<string>()
  for (const limit of limits) {
    const seen = isStatic(limit) ? statics : dynamics
    if (seen.has(limit.key)) return false
    seen.add(limit.key)
    if (isStatic(limit) && !tenant.rateLimits.has(limit.key)) return false
  }
  return true
}

/** The expressions upstream stores for a rate limit with an expression (`createJobTx`). */
const expressionSources = (limit: CreateTaskRateLimit) => {
  const duration = limit.duration
  const window = duration === undefined
    ? "\"MINUTE\""
    : durationName(duration) !== undefined
    ? `"${durationName(duration)}"`
    : `${duration}`
  return {
    key: limit.keyExpr ?? `"${limit.key}"`,
    limit: limit.limitValuesExpr,
    units: limit.unitsExpr ?? (limit.units !== undefined ? `${limit.units}` : undefined),
    window
  }
}

/**
 * An expression as stored, compiled in the environment upstream evaluates it in (`workflow`): one
 * that does not compile there (`parents`, only declared for validation; no units at all, stored
 * as an empty expression; a literal key that is no CEL string) fails each task, as upstream.
 */
const stepExpression = (source: string): StepExpression => ({ source, compiled: Cel.compile("workflow", source) })

/** The stored rate limits of a validated, supported task. */
export const stepRateLimits = (limits: ReadonlyArray<CreateTaskRateLimit>): Array<StepRateLimit> =>
  limits.map((limit): StepRateLimit => {
    if (isStatic(limit)) return { _tag: "Static", key: limit.key, units: limit.units ?? 1 }
    const sources = expressionSources(limit)
    return {
      _tag: "Expressions",
      key: limit.key,
      keyExpr: stepExpression(sources.key),
      limitExpr: sources.limit !== undefined ? stepExpression(sources.limit) : undefined,
      unitsExpr: stepExpression(sources.units ?? ""),
      windowExpr: stepExpression(sources.window)
    }
  })

// -----------------------------------------------------------------------------
// task creation
// -----------------------------------------------------------------------------

/** Whether a step has rate-limit expressions to evaluate for each task. */
export const hasExpressions = (step: Step): boolean => step.rateLimits.some((limit) => limit._tag === "Expressions")

/** A task's evaluated rate limits, or the error it is created FAILED with. */
export type RateLimitEvaluation =
  | { readonly _tag: "Limits"; readonly limits: ReadonlyArray<TaskRateLimit> }
  | { readonly _tag: "Failed"; readonly message: string }

type Failed = Extract<RateLimitEvaluation, { readonly _tag: "Failed" }>

/**
 * Evaluates the rate-limit expressions of `step` for its task `taskExternalId` in `run`, in the
 * order upstream stores them (per rate limit: key, limit, units, window); the first failure
 * fails the task (`CheckStepRunOutAgainstKnownV1`).
 */
export const evaluateRateLimits = (step: Step, run: Run, taskExternalId: string): RateLimitEvaluation => {
  const variables = stepVariables(run, taskExternalId)
  /** The expression's value of the expected type, or the failure of the task. */
  const evaluate = (expression: StepExpression, expected: "string" | "int", what: string): string | number | Failed => {
    const fail = (reason: string): Failed => ({
      _tag: "Failed",
      message: `failed to parse step expression (${expression.source}): ${reason}`
    })
    if (expression.compiled._tag === "Invalid") return fail(expression.compiled.message)
    const result = Cel.evaluate(expression.compiled.program, variables)
    if (result._tag === "Error") return fail(result.message)
    const output = Cel.stepRunOutput(result.value)
    if (output._tag === "Other") return fail(`output must evaluate to a string or integer: got ${output.type}`)
    if (expected === "string" && output._tag !== "String") return fail(`expected string output for dynamic rate limit ${what}, got int`)
    if (expected === "int" && output._tag !== "Int") return fail(`expected int output for dynamic rate limit ${what}, got string`)
    return output.value
  }
  const limits: Array<TaskRateLimit> = []
  for (const limit of step.rateLimits) {
    if (limit._tag !== "Expressions") continue
    const key = evaluate(limit.keyExpr, "string", "key")
    if (typeof key === "object") return key
    const value = limit.limitExpr !== undefined ? evaluate(limit.limitExpr, "int", "value") : undefined
    if (typeof value === "object") return value
    const units = evaluate(limit.unitsExpr, "int", "units")
    if (typeof units === "object") return units
    const window = evaluate(limit.windowExpr, "string", "window")
    if (typeof window === "object") return window
    limits.push({ key: key as string, units: units as number, limit: value as number | undefined, window: window as string })
  }
  return { _tag: "Limits", limits }
}

// -----------------------------------------------------------------------------
// scheduling
// -----------------------------------------------------------------------------

/** `unitsOf` per task: its evaluated limits are set at its creation, before it is queued. */
const unitsCache = new WeakMap<Task, ReadonlyMap<string, number>>()

/** The units a task consumes per key (its dynamic limits, then its step's static ones), if any. */
export const unitsOf = (task: Task): ReadonlyMap<string, number> | undefined => {
  if (task.rateLimits.length === 0 && task.step.rateLimits.length === 0) return undefined
  let units = unitsCache.get(task)
  if (units === undefined) {
    const computed = new Map<string, number>()
    for (const limit of task.rateLimits) computed.set(limit.key, limit.units)
    for (const limit of task.step.rateLimits) {
      if (limit._tag === "Static") computed.set(limit.key, limit.units)
    }
    units = computed
    unitsCache.set(task, units)
  }
  return units.size > 0 ? units : undefined
}

/**
 * Registers the dynamic keys of a task being created (`GetTaskRateLimits`, which upstream runs for
 * the queue items each scheduling pass reads): the task's keys join those of the tasks still
 * waiting for their first assignment, and each of its keys is upserted with what they all ask
 * for: the longer window, and the smaller limit, where a limit of 0 (or none) yields to any other.
 * A resulting limit below 0 (the official SDK's "-1") upserts nothing: the key must exist. The
 * task leaves the register when it is first assigned or becomes final (`releaseDynamicKeys`).
 * Nothing is read per pass, so a backlog drains in linear time however many keys it has.
 */
export const registerDynamicKeys = (state: EngineState, task: Task, now: number): void => {
  if (task.rateLimits.length === 0) return
  const tenant = tenantOf(state, task.tenantId)
  task.waitingOnDynamicKeys = true
  const keys = new Set<string>()
  for (const limit of task.rateLimits) {
    let waiting = tenant.dynamicKeys.get(limit.key)
    if (waiting === undefined) {
      waiting = { limits: new Map(), windows: new Map(), tasks: 0 }
      tenant.dynamicKeys.set(limit.key, waiting)
    }
    if (!keys.has(limit.key)) waiting.tasks++
    keys.add(limit.key)
    adjust(waiting.limits, limit.limit ?? 0, 1)
    adjust(waiting.windows, windowOf(limit.window), 1)
  }
  for (const key of keys) {
    const waiting = tenant.dynamicKeys.get(key)!
    let limit = 0
    for (const value of waiting.limits.keys()) if (value !== 0) limit = limit === 0 ? value : Math.min(limit, value)
    let window: RateLimitWindow | undefined
    for (const w of waiting.windows.keys()) window = window === undefined ? w : longer(window, w)
    if (limit >= 0) upsert(state, tenant, key, limit, window ?? "MINUTE", now)
  }
}

/** A task left the queue for the first time (assigned or final): it no longer counts for its keys. */
export const releaseDynamicKeys = (state: EngineState, task: Task): void => {
  if (!task.waitingOnDynamicKeys) return
  task.waitingOnDynamicKeys = false
  const tenant = state.tenants.get(task.tenantId)
  if (tenant === undefined) return
  const keys = new Set<string>()
  for (const limit of task.rateLimits) {
    const waiting = tenant.dynamicKeys.get(limit.key)
    if (waiting === undefined) continue
    adjust(waiting.limits, limit.limit ?? 0, -1)
    adjust(waiting.windows, windowOf(limit.window), -1)
    if (keys.has(limit.key)) continue
    keys.add(limit.key)
    if (--waiting.tasks === 0) tenant.dynamicKeys.delete(limit.key)
  }
}

const adjust = <K>(counts: Map<K, number>, key: K, by: number) => {
  const count = (counts.get(key) ?? 0) + by
  if (count > 0) counts.set(key, count)
  else counts.delete(key)
}

/** Why a task cannot take its units now: the key, and when its window ends (never for a missing key). */
export interface Shortage {
  readonly limit: RateLimit | undefined
  readonly refillAt: number | undefined
}

/** The first key short of units for `units`, or undefined when the task may take them all. */
export const shortage = (
  state: EngineState,
  tenant: TenantState,
  units: ReadonlyMap<string, number>,
  now: number
): Shortage | undefined => {
  for (const key of units.keys()) {
    if (!tenant.rateLimits.has(key)) return { limit: undefined, refillAt: undefined }
  }
  for (const [key, needed] of units) {
    const limit = tenant.rateLimits.get(key)!
    if (refill(limit, now)) touchRateLimit(state, tenant.tenant.id, limit)
    if (limit.value < needed) return { limit, refillAt: nextRefill(limit) }
  }
  return undefined
}

/** Takes a task's units (it is being assigned); they are never given back. */
export const consume = (state: EngineState, tenant: TenantState, units: ReadonlyMap<string, number>, now: number): void => {
  for (const [key, needed] of units) {
    const limit = tenant.rateLimits.get(key)!
    refill(limit, now)
    limit.value -= needed
    touchRateLimit(state, tenant.tenant.id, limit)
  }
}

/** Wakes the queue of `action` when the window of `limit` ends. */
export const wakeOnRefill = (state: EngineState, tenantId: string, limit: RateLimit, action: string): void => {
  limit.waiting.add(action)
  const at = nextRefill(limit)
  if (limit.wakeAt !== undefined && limit.wakeAt <= at) return
  limit.wakeAt = at
  state.timers.set({ kind: "RateLimitRefill", id: `${tenantId}/${limit.key}`, tenantId, key: limit.key, at })
}

/** A key's window ended: the queues waiting for it get a pass. */
export const onRefill = (state: EngineState, tenantId: string, key: string): void => {
  const limit = state.tenants.get(tenantId)?.rateLimits.get(key)
  if (limit === undefined) return
  limit.wakeAt = undefined
  for (const waiting of limit.waiting) markDirty(state, tenantId, waiting)
  limit.waiting.clear()
}
