import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { SDKS } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { type DesiredWorkerLabels, WorkerLabelComparator } from "@effect-hatchet/proto/v1/shared/trigger"
import {
  type Concurrency as ConcurrencyProto,
  ConcurrencyLimitStrategy as ConcurrencyLimitStrategyProto,
  type CreateTaskOpts,
  type CreateTaskRateLimit,
  type CreateWorkflowVersionRequest,
  type DefaultFilter as ProtoDefaultFilter,
  type IdempotencyConfig,
  IdempotencyMethod,
  RateLimitDuration as RateLimitDurationProto,
  StickyStrategy,
  type TaskBatchConfig
} from "@effect-hatchet/proto/v1/workflows"
import * as Crontab from "@effect-hatchet/shared/Crontab"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as SchemaAST from "effect/SchemaAST"
import { type ConditionExpression, taskConditions } from "./conditions.js"
import {
  allTasks,
  type BatchSettings,
  type Concurrency,
  type ConcurrencyLimitStrategy,
  type DefaultFilter,
  type DesiredWorkerLabel,
  effectiveSettings,
  type Idempotency,
  parentsOf,
  type RateLimit,
  type RateLimitDuration,
  type TaskSettings,
  type TaskSpec,
  WorkflowDefinitionError,
  type WorkflowSpec
} from "./definition.js"
import { toGoDuration } from "./duration.js"
import { applyNamespace, NAME_PATTERN, ON_FAILURE_TASK, ON_SUCCESS_TASK, stepAction, workerAction, workflowWireName } from "./naming.js"

/** The default execution timeout, as the official TS SDK sends it. */
export const DEFAULT_EXECUTION_TIMEOUT = "60s"

/** A definition checked and translated for one namespace. */
export interface Compiled {
  readonly spec: WorkflowSpec
  /** Namespaced, lowercased workflow name. */
  readonly wireName: string
  /** The exact `v1.AdminService/PutWorkflow` request. */
  readonly request: CreateWorkflowVersionRequest
  /** Worker action (`"<wf>:<task lower>"`) -> task. */
  readonly actions: ReadonlyMap<string, TaskSpec>
  /** The CEL expressions of the tasks' conditions, which `checkExpressions` compiles. */
  readonly expressions: ReadonlyArray<ConditionExpression>
}

/**
 * Validates a definition (everything the engine would reject, and DAG shape) and builds its
 * `PutWorkflow` request. All problems are reported at once, except the conditions' CEL, which
 * `checkExpressions` compiles once the rest holds.
 */
export const compile = (
  spec: WorkflowSpec,
  namespace: string
): Either.Either<Compiled, WorkflowDefinitionError> => {
  const issues: Array<string> = []
  const wireName = workflowWireName(spec.name, namespace)
  checkName(issues, "name", spec.name)
  if (NAME_PATTERN.test(spec.name) && !NAME_PATTERN.test(wireName)) {
    issues.push(`name: namespaced name "${wireName}" must match ${NAME_PATTERN}`)
  }
  checkDag(issues, spec)
  checkObjectEncoded(issues, "input", spec.input, "the workflow input")
  const settings = spec.settings
  if (settings.defaultPriority !== undefined) checkPriority(issues, "defaultPriority", settings.defaultPriority)
  const crons = settings.onCrons ?? []
  crons.forEach((cron, i) => checkCron(issues, `onCrons[${i}]`, cron))
  const events = settings.onEvents ?? []
  events.forEach((event, i) => {
    if (typeof event !== "string" || event.trim() === "") issues.push(`onEvents[${i}]: an event key must be a non-empty string`)
  })

  const defaultFilters = defaultFilterOpts(issues, settings.defaultFilters ?? [])
  const concurrencyArr = concurrencyOpts(issues, "concurrency", settings.concurrency)
  const sticky = settings.sticky === undefined ? undefined : stickyStrategies[settings.sticky]
  if (settings.sticky !== undefined && sticky === undefined) {
    issues.push(`sticky: must be "SOFT" or "HARD", got ${JSON.stringify(settings.sticky)}`)
  }

  const tasks: Array<CreateTaskOpts> = []
  let onFailureTask: CreateTaskOpts | undefined
  const actions = new Map<string, TaskSpec>()
  const expressions: Array<ConditionExpression> = []
  for (const task of allTasks(spec)) {
    const opts = taskOpts(issues, spec, task, wireName, namespace, expressions)
    actions.set(workerAction(wireName, task.name), task)
    if (task.role === "on-failure") onFailureTask = opts
    else tasks.push(opts)
  }

  checkTenantScoped(issues, concurrencyArr, tasks, onFailureTask)
  checkConditionsInDag(issues, tasks, onFailureTask)
  const idempotency = idempotencyConfig(issues, settings.idempotency)

  if (issues.length > 0) {
    return Either.left(new WorkflowDefinitionError({ workflow: spec.name, issues }))
  }

  const request: CreateWorkflowVersionRequest = {
    name: wireName,
    description: settings.description ?? "",
    version: settings.version ?? "",
    eventTriggers: events.map((event) => applyNamespace(event, namespace)),
    cronTriggers: [...crons],
    tasks,
    concurrency: undefined,
    cronInput: undefined,
    onFailureTask,
    sticky,
    defaultPriority: settings.defaultPriority,
    concurrencyArr,
    defaultFilters,
    inputJsonSchema: inputJsonSchema(spec),
    idempotency
  }
  return Either.right({ spec, wireName, request, actions, expressions })
}

/** `compile`, throwing away the request: only the checks. */
export const validate = (spec: WorkflowSpec): Either.Either<void, WorkflowDefinitionError> => Either.map(compile(spec, ""), () => undefined)

// -----------------------------------------------------------------------------
// Register (worker)
// -----------------------------------------------------------------------------

/** The SDK version reported in `runtime_info`. */
export const SDK_VERSION = "0.1.0"

/** A worker's labels as `Register` and `UpsertWorkerLabels` send them. */
export const workerLabels = (
  labels: Readonly<Record<string, string | number>>
): Record<string, DispatcherProto.WorkerLabels> => {
  const out: Record<string, DispatcherProto.WorkerLabels> = {}
  for (const [key, value] of Object.entries(labels)) {
    out[key] = typeof value === "number" ? { intValue: value } : { strValue: value }
  }
  return out
}

/** Problems with a worker's labels (string or integer values). */
export const workerLabelIssues = (labels: Readonly<Record<string, string | number>>): Array<string> => {
  const issues: Array<string> = []
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value === "number" && !Number.isInteger(value)) {
      issues.push(`labels.${key}: a numeric label must be an integer, got ${value}`)
    } else if (typeof value !== "number" && typeof value !== "string") {
      issues.push(`labels.${key}: must be a string or an integer`)
    }
  }
  return issues
}

/** Builds `Dispatcher/Register`: `slot_config` only (never the deprecated `slots`). */
export const registerRequest = (options: {
  readonly name: string
  readonly actions: ReadonlyArray<string>
  readonly slots: number
  /** The durable pool, when the worker runs durable tasks. */
  readonly durableSlots?: number | undefined
  readonly labels: Readonly<Record<string, string | number>>
}): DispatcherProto.WorkerRegisterRequest => {
  return {
    workerName: options.name,
    actions: [...options.actions],
    services: ["default"],
    slots: undefined,
    labels: workerLabels(options.labels),
    webhookId: undefined,
    runtimeInfo: {
      sdkVersion: SDK_VERSION,
      language: SDKS.TYPESCRIPT,
      languageVersion: typeof process !== "undefined" ? process.version : undefined,
      os: typeof process !== "undefined" ? process.platform : undefined,
      extra: undefined
    },
    slotConfig: options.durableSlots === undefined
      ? { default: options.slots }
      : { default: options.slots, durable: options.durableSlots }
  }
}

/** Checks the worker's own options; returns the issues found. */
export const checkWorkerOptions = (options: {
  readonly name: string
  readonly slots: number
  readonly labels: Readonly<Record<string, string | number>>
  readonly eventLoopBlockThreshold?: Duration.Duration | undefined
}): ReadonlyArray<string> => {
  const issues: Array<string> = []
  checkName(issues, "name", options.name)
  if (options.eventLoopBlockThreshold !== undefined && Duration.toMillis(options.eventLoopBlockThreshold) <= 0) {
    issues.push(`eventLoopBlockThreshold: must be longer than zero, got ${Duration.format(options.eventLoopBlockThreshold)}`)
  }
  if (!Number.isInteger(options.slots) || options.slots < 1) {
    issues.push(`slots: must be a positive integer, got ${String(options.slots)}`)
  }
  for (const issue of workerLabelIssues(options.labels)) issues.push(issue)
  return issues
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

const taskOpts = (
  issues: Array<string>,
  spec: WorkflowSpec,
  task: TaskSpec,
  wireName: string,
  namespace: string,
  expressions: Array<ConditionExpression>
): CreateTaskOpts => {
  const where = task.role === "task" ? `tasks.${task.name}` : task.name
  const settings = effectiveSettings(spec, task)
  const retries = settings.retries ?? 0
  if (!Number.isInteger(retries) || retries < 0) {
    issues.push(`${where}.retries: must be a non-negative integer, got ${String(retries)}`)
  }
  let backoffFactor: number | undefined
  let backoffMaxSeconds: number | undefined
  if (settings.backoff !== undefined) {
    backoffFactor = settings.backoff.factor
    backoffMaxSeconds = settings.backoff.maxSeconds
    if (typeof backoffFactor !== "number" || !(backoffFactor >= 1 && backoffFactor <= 1000)) {
      issues.push(`${where}.backoff.factor: must be between 1 and 1000, got ${String(backoffFactor)}`)
    }
    if (
      backoffMaxSeconds !== undefined &&
      (!Number.isInteger(backoffMaxSeconds) || backoffMaxSeconds < 1 || backoffMaxSeconds > 86400)
    ) {
      issues.push(`${where}.backoff.maxSeconds: must be an integer between 1 and 86400, got ${String(backoffMaxSeconds)}`)
    }
  }
  const slotCost = settings.slotCost ?? 1
  if (!Number.isInteger(slotCost) || slotCost < 1) {
    issues.push(`${where}.slotCost: must be a positive integer, got ${String(slotCost)}`)
  }
  const batch = task.batch === undefined ? undefined : batchConfig(issues, where, task.batch, task.settings)
  if (task.evictAfter !== undefined && task.evictAfter !== "never") {
    const evictAfter = Duration.decodeUnknown(task.evictAfter)
    if (Option.isNone(evictAfter) || Duration.toMillis(evictAfter.value) <= 0) {
      issues.push(`${where}.evictAfter: must be a positive duration or "never", got ${String(task.evictAfter)}`)
    }
  }
  if (task.evictionPriority !== undefined && !Number.isFinite(task.evictionPriority)) {
    issues.push(`${where}.evictionPriority: must be a finite number, got ${String(task.evictionPriority)}`)
  }
  const timeout = settings.executionTimeout === undefined
    ? DEFAULT_EXECUTION_TIMEOUT
    : duration(issues, `${where}.executionTimeout`, settings.executionTimeout)
  const scheduleTimeout = settings.scheduleTimeout === undefined
    ? undefined
    : duration(issues, `${where}.scheduleTimeout`, settings.scheduleTimeout)
  const parents = parentsOf(spec, task)
  return {
    readableId: task.name,
    action: stepAction(wireName, task.name),
    timeout,
    inputs: "{}",
    parents: [...parents],
    retries,
    rateLimits: rateLimitOpts(issues, `${where}.rateLimits`, settings.rateLimits ?? []),
    workerLabels: desiredLabels(issues, `${where}.desiredWorkerLabels`, settings.desiredWorkerLabels ?? {}),
    backoffFactor,
    backoffMaxSeconds,
    concurrency: concurrencyOpts(issues, `${where}.concurrency`, settings.concurrency),
    // as the official SDK: the conditions message on every task but the on-failure task
    conditions: task.role === "on-failure"
      ? undefined
      : taskConditions(issues, where, task.conditions, parents, { workflow: wireName, task: task.name, namespace }, expressions),
    scheduleTimeout,
    isDurable: task.durable === true,
    // as the official SDK: a durable task takes one slot of the durable pool, whatever its slotCost
    slotRequests: task.durable === true ? { durable: 1 } : { default: slotCost },
    batch
  }
}

/** The largest value of a proto `int32`. */
const INT32_MAX = 2_147_483_647

/**
 * A batch task's `TaskBatchConfig`, checked as the official SDKs check it (a positive size, a
 * positive interval, a positive number of runs per key), and what a batch cannot have in its own
 * `settings`: retries, backoff (its items run once) and a slot cost (a batch takes one slot).
 */
const batchConfig = (
  issues: Array<string>,
  where: string,
  batch: BatchSettings,
  settings: TaskSettings
): TaskBatchConfig => {
  const at = `${where}.batch`
  const positive = (name: string, value: unknown) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > INT32_MAX) {
      issues.push(`${at}.${name}: must be a positive integer, got ${String(value)}`)
    }
  }
  positive("maxSize", batch.maxSize)
  if (batch.groupMaxRuns !== undefined) positive("groupMaxRuns", batch.groupMaxRuns)
  let intervalMs: number | undefined
  if (batch.maxInterval !== undefined) {
    const decoded = Duration.decodeUnknown(batch.maxInterval)
    const ms = Option.isSome(decoded) && Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : Number.NaN
    if (!Number.isInteger(ms) || ms < 1 || ms > INT32_MAX) {
      issues.push(`${at}.maxInterval: must be a positive duration in whole milliseconds, got ${String(batch.maxInterval)}`)
    } else {
      intervalMs = ms
    }
  }
  if (batch.groupKey !== undefined && (typeof batch.groupKey !== "string" || batch.groupKey.trim() === "")) {
    issues.push(`${at}.groupKey: a CEL expression is required when given, e.g. "input.customerId"`)
  }
  if (batch.broadcastOutput !== undefined && typeof batch.broadcastOutput !== "boolean") {
    issues.push(`${at}.broadcastOutput: must be a boolean, got ${String(batch.broadcastOutput)}`)
  }
  if (settings.retries !== undefined && settings.retries !== 0) {
    issues.push(`${where}.retries: a batch task is not retried (Hatchet runs each item once), got ${String(settings.retries)}`)
  }
  if (settings.backoff !== undefined) issues.push(`${where}.backoff: a batch task is not retried, so it has no backoff`)
  if (settings.slotCost !== undefined && settings.slotCost !== 1) {
    issues.push(`${where}.slotCost: a batch takes one slot of its worker, whatever its size, got ${String(settings.slotCost)}`)
  }
  return {
    batchMaxSize: typeof batch.maxSize === "number" ? batch.maxSize : 0,
    batchMaxIntervalMs: intervalMs,
    batchGroupKey: batch.groupKey,
    batchGroupMaxRuns: batch.groupMaxRuns,
    broadcastOutput: batch.broadcastOutput === true ? true : undefined
  }
}

const limitStrategies: Record<ConcurrencyLimitStrategy, ConcurrencyLimitStrategyProto> = {
  GROUP_ROUND_ROBIN: ConcurrencyLimitStrategyProto.GROUP_ROUND_ROBIN,
  CANCEL_IN_PROGRESS: ConcurrencyLimitStrategyProto.CANCEL_IN_PROGRESS,
  CANCEL_NEWEST: ConcurrencyLimitStrategyProto.CANCEL_NEWEST,
  CANCEL_QUEUED_EXCEPT_NEWEST: ConcurrencyLimitStrategyProto.CANCEL_QUEUED_EXCEPT_NEWEST,
  CANCEL_QUEUED_EXCEPT_OLDEST: ConcurrencyLimitStrategyProto.CANCEL_QUEUED_EXCEPT_OLDEST
}

/** `IdempotencyConfig`: the expression, the TTL in whole milliseconds (at least 1) and the method. */
const idempotencyConfig = (issues: Array<string>, given: Idempotency | undefined): IdempotencyConfig | undefined => {
  if (given === undefined) return undefined
  if (typeof given.expression !== "string" || given.expression.trim() === "") {
    issues.push(`idempotency.expression: a CEL expression is required, e.g. "input.orderId"`)
  }
  const ttl = Duration.decodeUnknown(given.ttl)
  const ttlMs = Option.isSome(ttl) && Duration.isFinite(ttl.value) ? Math.ceil(Duration.toMillis(ttl.value)) : Number.NaN
  if (!Number.isFinite(ttlMs) || ttlMs < 1) issues.push(`idempotency.ttl: must be a finite duration of at least 1 millisecond`)
  if (given.until !== undefined && given.until !== "ttl" && given.until !== "finished") {
    issues.push(`idempotency.until: must be "ttl" or "finished", got ${String(given.until)}`)
  }
  return {
    expression: given.expression,
    ttlMs: Number.isFinite(ttlMs) ? ttlMs : 0,
    method: given.until === "finished" ? IdempotencyMethod.STATUS : IdempotencyMethod.TTL
  }
}

/**
 * What Hatchet always refuses of tenant-scoped limits (with an opaque internal error): one named
 * twice on a task. (One on the workflow level of a workflow with several tasks is the engine's to
 * judge: Hatchet takes it with its DAG operator, the local engine refuses it, naming it.)
 */
const checkTenantScoped = (
  issues: Array<string>,
  workflowLevel: ReadonlyArray<ConcurrencyProto>,
  tasks: ReadonlyArray<CreateTaskOpts>,
  onFailureTask: CreateTaskOpts | undefined
) => {
  const all = onFailureTask !== undefined ? [...tasks, onFailureTask] : tasks
  const single = all.length === 1 ? workflowLevel : []
  for (const task of all) {
    const names = [...single, ...task.concurrency].filter((limit) => limit.isTenantScoped === true).map((limit) => limit.name!)
    const twice = names.find((name, i) => names.indexOf(name) !== i)
    if (twice !== undefined) issues.push(`tasks.${task.readableId}.concurrency: the tenant-scoped limit "${twice}" is named twice`)
  }
}

/**
 * Hatchet evaluates step conditions only in a workflow of more than one task (a second task, the
 * on-success or the on-failure task): on a lone task they would never be evaluated, so its runs
 * would never start.
 */
const checkConditionsInDag = (
  issues: Array<string>,
  tasks: ReadonlyArray<CreateTaskOpts>,
  onFailureTask: CreateTaskOpts | undefined
) => {
  if (tasks.length !== 1 || onFailureTask !== undefined) return
  const conditions = tasks[0]!.conditions
  const count = conditions === undefined
    ? 0
    : conditions.parentOverrideConditions.length + conditions.sleepConditions.length +
      conditions.userEventConditions.length
  if (count > 0) {
    issues.push(
      `tasks.${tasks[0]!.readableId}: waitFor, skipIf and cancelIf need a workflow of more than one task (Hatchet ` +
        `evaluates them only in a DAG, so its runs would never start): add a task, or an on-failure or on-success task`
    )
  }
}

/** The `Concurrency` messages of a workflow's or a task's limits, checked. */
const concurrencyOpts = (
  issues: Array<string>,
  where: string,
  given: Concurrency | ReadonlyArray<Concurrency> | undefined
): Array<ConcurrencyProto> => {
  if (given === undefined) return []
  const list: ReadonlyArray<Concurrency> = Array.isArray(given) ? given : [given as Concurrency]
  return list.map((limit, i) => {
    const at = Array.isArray(given) ? `${where}[${i}]` : where
    if (typeof limit.expression !== "string" || limit.expression.trim() === "") {
      issues.push(`${at}.expression: a CEL expression is required, e.g. "input.userId"`)
    }
    const maxRuns = limit.maxRuns ?? 1
    if (typeof maxRuns === "string") {
      if (maxRuns.trim() === "") issues.push(`${at}.maxRuns: an expression must not be empty`)
    } else if (!Number.isInteger(maxRuns) || maxRuns < 1 || maxRuns > 2_147_483_647) {
      issues.push(`${at}.maxRuns: must be a positive integer or a CEL expression, got ${String(maxRuns)}`)
    }
    const strategy = limitStrategies[limit.limitStrategy]
    if (strategy === undefined) {
      issues.push(
        `${at}.limitStrategy: must be one of ${Object.keys(limitStrategies).join(", ")}, got ${String(limit.limitStrategy)}`
      )
    }
    if (limit.name !== undefined) checkName(issues, `${at}.name`, limit.name)
    if (limit.isTenantScoped === true && (limit.name === undefined || limit.name === "")) {
      issues.push(`${at}.name: a tenant-scoped limit needs a name`)
    }
    return {
      expression: limit.expression,
      // as the official SDK: with an expression, 1 governs only slots made before it existed
      maxRuns: typeof maxRuns === "string" ? 1 : maxRuns,
      limitStrategy: strategy ?? ConcurrencyLimitStrategyProto.GROUP_ROUND_ROBIN,
      name: limit.name,
      isTenantScoped: limit.isTenantScoped === true ? true : undefined,
      maxRunsExpression: typeof maxRuns === "string" ? maxRuns : undefined
    }
  })
}

const rateLimitDurations: Record<RateLimitDuration, RateLimitDurationProto> = {
  SECOND: RateLimitDurationProto.SECOND,
  MINUTE: RateLimitDurationProto.MINUTE,
  HOUR: RateLimitDurationProto.HOUR,
  DAY: RateLimitDurationProto.DAY,
  WEEK: RateLimitDurationProto.WEEK,
  MONTH: RateLimitDurationProto.MONTH,
  YEAR: RateLimitDurationProto.YEAR
}

/** A positive integer, or a non-empty CEL expression; else an issue. */
const amountOrExpression = (issues: Array<string>, where: string, value: number | string) => {
  if (typeof value === "string" ? value.trim() === "" : !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    issues.push(`${where}: must be a positive integer or a CEL expression, got ${JSON.stringify(value)}`)
  }
}

/**
 * The `CreateTaskRateLimit` messages of a task, as the official TypeScript SDK sends them: a
 * static key with `limit_values_expr` "-1" (the limit is the one stored with `PutRateLimit`), a
 * dynamic key as both `key` and `key_expr` with its limit as an expression.
 */
const rateLimitOpts = (
  issues: Array<string>,
  where: string,
  limits: ReadonlyArray<RateLimit>
): Array<CreateTaskRateLimit> =>
  limits.map((limit, i) => {
    const at = `${where}[${i}]`
    const units = limit.units ?? 1
    amountOrExpression(issues, `${at}.units`, units)
    const unitsFields = typeof units === "number" ? { units, unitsExpr: undefined } : { units: undefined, unitsExpr: units }
    if ("dynamicKey" in limit) {
      if ("key" in limit) issues.push(`${at}: a rate limit has a key or a dynamicKey, not both`)
      if (typeof limit.dynamicKey !== "string" || limit.dynamicKey.trim() === "") {
        issues.push(`${at}.dynamicKey: a CEL expression is required, e.g. "input.userId"`)
      }
      amountOrExpression(issues, `${at}.limit`, limit.limit)
      const window = limit.duration === undefined ? undefined : rateLimitDurations[limit.duration]
      if (limit.duration !== undefined && window === undefined) {
        issues.push(
          `${at}.duration: must be one of ${Object.keys(rateLimitDurations).join(", ")}, got ${String(limit.duration)}`
        )
      }
      return {
        key: limit.dynamicKey,
        keyExpr: limit.dynamicKey,
        ...unitsFields,
        limitValuesExpr: String(limit.limit),
        duration: window
      }
    }
    if (typeof limit.key !== "string" || limit.key.trim() === "") {
      issues.push(`${at}.key: must be a non-empty string (the key given to Hatchet.putRateLimit)`)
    } else if (/["\\\r\n]/.test(limit.key)) {
      // Hatchet quotes a static key into a CEL string without escaping it: with one of these it
      // is not that key once parsed (or not CEL at all), and the engine fails each of its tasks
      issues.push(`${at}.key: must not contain a double quote, a backslash or a line break, got ${JSON.stringify(limit.key)}`)
    }
    return { key: limit.key, keyExpr: undefined, ...unitsFields, limitValuesExpr: "-1", duration: undefined }
  })

const duration = (issues: Array<string>, where: string, input: Duration.DurationInput): string =>
  Either.match(toGoDuration(input), {
    onLeft: (issue) => {
      issues.push(`${where}: ${issue}`)
      return ""
    },
    onRight: (value) => value
  })

const comparators: Record<string, WorkerLabelComparator> = {
  EQUAL: WorkerLabelComparator.EQUAL,
  NOT_EQUAL: WorkerLabelComparator.NOT_EQUAL,
  GREATER_THAN: WorkerLabelComparator.GREATER_THAN,
  GREATER_THAN_OR_EQUAL: WorkerLabelComparator.GREATER_THAN_OR_EQUAL,
  LESS_THAN: WorkerLabelComparator.LESS_THAN,
  LESS_THAN_OR_EQUAL: WorkerLabelComparator.LESS_THAN_OR_EQUAL
}

const stickyStrategies: Record<string, StickyStrategy> = { SOFT: StickyStrategy.SOFT, HARD: StickyStrategy.HARD }

/** Desired worker labels as a task or a trigger sends them; problems go to `issues`. */
export const desiredLabels = (
  issues: Array<string>,
  where: string,
  labels: Readonly<Record<string, DesiredWorkerLabel>>
): Record<string, DesiredWorkerLabels> => {
  const out: Record<string, DesiredWorkerLabels> = {}
  for (const [key, label] of Object.entries(labels)) {
    const value = typeof label === "object" ? label.value : label
    if (typeof value === "number" && !Number.isInteger(value)) {
      issues.push(`${where}.${key}: a numeric label must be an integer, got ${value}`)
    }
    const entry: DesiredWorkerLabels = typeof value === "number" ? { intValue: value } : { strValue: value }
    if (typeof label === "object") {
      if (label.required !== undefined) entry.required = label.required
      if (label.weight !== undefined) entry.weight = label.weight
      if (label.comparator !== undefined) {
        const comparator = comparators[label.comparator]
        if (comparator === undefined) issues.push(`${where}.${key}.comparator: unknown comparator "${label.comparator}"`)
        else entry.comparator = comparator
      }
    }
    out[key] = entry
  }
  return out
}

const checkName = (issues: Array<string>, where: string, name: string) => {
  if (typeof name !== "string" || name === "") issues.push(`${where}: must not be empty`)
  else if (!NAME_PATTERN.test(name)) {
    issues.push(`${where}: "${name}" may only contain letters, digits, ".", "-" and "_"`)
  }
}

/**
 * `default_filters`: a scope and an expression each (an empty expression never holds), a payload
 * that is a JSON object (sent as its JSON text), no filter twice (the engine's unique index).
 */
const defaultFilterOpts = (issues: Array<string>, filters: ReadonlyArray<DefaultFilter>): Array<ProtoDefaultFilter> => {
  const encoder = new TextEncoder()
  const seen = new Map<string, number>()
  return filters.map((filter, i) => {
    const where = `defaultFilters[${i}]`
    if (typeof filter.scope !== "string" || filter.scope === "") issues.push(`${where}.scope: must be a non-empty string`)
    if (typeof filter.expression !== "string" || filter.expression.trim() === "") {
      issues.push(`${where}.expression: must be a CEL expression (an empty one never matches)`)
    }
    let payload: string | undefined
    if (filter.payload !== undefined) {
      if (typeof filter.payload !== "object" || filter.payload === null || Array.isArray(filter.payload)) {
        issues.push(`${where}.payload: must be a JSON object`)
      } else {
        try {
          payload = JSON.stringify(filter.payload)
        } catch (error) {
          issues.push(`${where}.payload: cannot be written as JSON (${(error as Error).message})`)
        }
      }
    }
    const key = JSON.stringify([filter.scope, filter.expression, payload ?? "{}"])
    const first = seen.get(key)
    if (first !== undefined) issues.push(`${where}: repeats defaultFilters[${first}]`)
    else seen.set(key, i)
    return {
      scope: filter.scope,
      expression: filter.expression,
      ...(payload !== undefined ? { payload: encoder.encode(payload) } : {})
    }
  })
}

const checkPriority = (issues: Array<string>, where: string, priority: number) => {
  if (!Number.isInteger(priority) || priority < 1 || priority > 3) {
    issues.push(`${where}: must be 1, 2 or 3, got ${String(priority)}`)
  }
}

/** Cron as Hatchet's validator accepts it (the grammar the local engine applies too). */
export const checkCron = (issues: Array<string>, where: string, expression: string) => {
  if (typeof expression !== "string" || expression.trim() === "") {
    issues.push(`${where}: must not be empty`)
    return
  }
  const reason = Crontab.invalidReason(expression)
  if (reason !== undefined) issues.push(`${where}: "${expression}" is not a valid cron expression: ${reason}`)
}

const checkDag = (issues: Array<string>, spec: WorkflowSpec) => {
  if (spec.tasks.length === 0) {
    issues.push(`tasks: a workflow needs at least one task`)
  }
  const seen = new Map<string, string>()
  for (const task of spec.tasks) {
    const where = `tasks.${task.name}`
    checkName(issues, where, task.name)
    const lower = task.name.toLowerCase()
    if (lower === ON_FAILURE_TASK || lower === ON_SUCCESS_TASK) {
      issues.push(`${where}: "${task.name}" is reserved; use Workflow.onFailure / Workflow.onSuccess`)
    }
    const previous = seen.get(lower)
    if (previous !== undefined) {
      issues.push(
        previous === task.name
          ? `${where}: duplicate task name "${task.name}"`
          : `${where}: "${task.name}" and "${previous}" differ only in case; worker actions are lowercased, so they would collide`
      )
    }
    seen.set(lower, task.name)
  }
  const names = new Set(spec.tasks.map((task) => task.name))
  const known = [...names].map((name) => `"${name}"`).join(", ")
  for (const task of spec.tasks) {
    const parents = new Set<string>()
    for (const parent of task.parents) {
      if (parent === task.name) issues.push(`tasks.${task.name}.parents: a task cannot be its own parent`)
      else if (!names.has(parent)) {
        issues.push(`tasks.${task.name}.parents: unknown parent "${parent}" (tasks: ${known})`)
      }
      if (parents.has(parent)) issues.push(`tasks.${task.name}.parents: "${parent}" is listed twice`)
      parents.add(parent)
    }
  }
  const cycle = findCycle(spec.tasks)
  if (cycle !== undefined) issues.push(`tasks: the parents form a cycle: ${cycle.join(" -> ")}`)
  // a parent's output reaches its children only if it encodes to a JSON object
  const parentNames = new Set<string>()
  for (const task of allTasks(spec)) for (const parent of parentsOf(spec, task)) parentNames.add(parent)
  for (const task of spec.tasks) {
    if (parentNames.has(task.name)) {
      checkObjectEncoded(issues, `tasks.${task.name}.output`, task.output, "the output of a parent task")
    }
  }
}

const findCycle = (tasks: ReadonlyArray<TaskSpec>): ReadonlyArray<string> | undefined => {
  const byName = new Map(tasks.map((task) => [task.name, task]))
  const state = new Map<string, "visiting" | "done">()
  const path: Array<string> = []
  const visit = (name: string): ReadonlyArray<string> | undefined => {
    const current = state.get(name)
    if (current === "done") return undefined
    if (current === "visiting") return [...path.slice(path.indexOf(name)), name]
    state.set(name, "visiting")
    path.push(name)
    for (const parent of byName.get(name)?.parents ?? []) {
      if (byName.has(parent)) {
        const cycle = visit(parent)
        if (cycle !== undefined) return cycle
      }
    }
    path.pop()
    state.set(name, "done")
    return undefined
  }
  for (const task of tasks) {
    const cycle = visit(task.name)
    if (cycle !== undefined) return [...cycle].reverse()
  }
  return undefined
}

/**
 * The engine keeps inputs and parent outputs only when they are JSON objects; reject schemas
 * whose encoded side is certainly not one.
 */
const checkObjectEncoded = (
  issues: Array<string>,
  where: string,
  schema: { readonly ast: SchemaAST.AST },
  what: string
) => {
  const kind = nonObjectKind(SchemaAST.encodedAST(schema.ast))
  if (kind !== undefined) {
    issues.push(`${where}: ${what} must encode to a JSON object (Hatchet drops anything else), but this schema encodes to ${kind}`)
  }
}

const nonObjectKind = (ast: SchemaAST.AST): string | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "BigIntKeyword":
      return "a bigint"
    case "SymbolKeyword":
    case "UniqueSymbol":
      return "a symbol"
    case "Enums":
      return "an enum value"
    case "TupleType":
      return "an array"
    case "Literal":
      return ast.literal === null ? undefined : `the literal ${JSON.stringify(String(ast.literal))}`
    case "Refinement":
      return nonObjectKind(ast.from)
    case "Union": {
      const kinds = ast.types.map(nonObjectKind)
      return kinds.every((kind) => kind !== undefined) ? kinds.join(" or ") : undefined
    }
    default:
      return undefined
  }
}

const inputJsonSchema = (spec: WorkflowSpec): Uint8Array | undefined => {
  try {
    return new TextEncoder().encode(JSON.stringify(JSONSchema.make(spec.input)))
  } catch {
    // a schema without a JSON Schema form (e.g. a Declaration without annotation): the field is optional
    return undefined
  }
}

/** Every worker action of a compiled definition (for `Register`). */
export const workerActions = (compiled: ReadonlyArray<Compiled>): ReadonlyArray<string> => compiled.flatMap((c) => [...c.actions.keys()])
