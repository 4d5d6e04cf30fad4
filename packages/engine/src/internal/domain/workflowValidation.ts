/**
 * The validation of a `PutWorkflow` request, as upstream runs it, before anything is stored
 * (`registry.ts` stores and versions what passes).
 *
 * Checks run in upstream's order, each with upstream's code and message: the conversion of the
 * request (`getCreateWorkflowOpts`: INTERNAL for missing or malformed actions and or-group ids,
 * INVALID_ARGUMENT for unknown parents and concurrency without an expression), `ValidateAPI`
 * (INVALID_ARGUMENT "Validation failed …"), then what the database would refuse (INTERNAL: a
 * cycle, duplicate task names or triggers, an invalid `cron_input`, a static rate-limit key
 * never created with PutRateLimit or given twice).
 *
 * A valid workflow that uses a feature this engine does not implement (cron time zones) is
 * refused with UNIMPLEMENTED naming it, instead of running differently from Hatchet. Conditions
 * on a workflow of a single task, where upstream never evaluates them, are INVALID_ARGUMENT.
 *
 * Upstream `internal/services/admin/v1/server.go getCreateWorkflowOpts`, `pkg/validator`.
 *
 * @internal
 */
import { Action, actionToJSON, type BaseMatchCondition, type TaskConditions } from "@effect-hatchet/proto/v1/shared/condition"
import {
  type Concurrency,
  ConcurrencyLimitStrategy,
  concurrencyLimitStrategyToJSON,
  type CreateTaskOpts,
  type CreateWorkflowVersionRequest,
  IdempotencyMethod,
  StickyStrategy,
  stickyStrategyToJSON
} from "@effect-hatchet/proto/v1/workflows"
import * as Cel from "@effect-hatchet/shared/Cel"
import { firesInUtc, parse as parseCron } from "@effect-hatchet/shared/Crontab"
import * as Either from "effect/Either"
import { isValidDuration } from "./duration.js"
import {
  type Internal,
  internal,
  internalWith,
  type InvalidArgument,
  invalidArgument,
  type Unimplemented,
  unimplemented
} from "./errors.js"
import { isUuid } from "./ids.js"
import { isJsonObject, parseJson, validateJsonb } from "./json.js"
import type { StepKind, TenantState } from "./model.js"
import * as RateLimits from "./rateLimits.js"
import { actionIdError, cronError, durationError, FieldErrors, hatchetNameError, hatchetNamePattern } from "./validation.js"
import { isValidActionId } from "./workers.js"

const firstToLower = (s: string) => (s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1))

/**
 * `types.ParseActionID(...).String()`: service first character lower-cased, verb fully
 * lower-cased, optional sub-resource first character lower-cased (dropped when empty). Undefined
 * when not 2 or 3 colon-separated parts.
 */
export const normalizeActionId = (action: string): string | undefined => {
  const parts = action.split(":")
  if (parts.length < 2 || parts.length > 3) return undefined
  const service = firstToLower(parts[0]!)
  const verb = parts[1]!.toLowerCase()
  const subresource = parts.length === 3 ? firstToLower(parts[2]!) : ""
  return subresource !== "" ? `${service}:${verb}:${subresource}` : `${service}:${verb}`
}

/**
 * Whether a task's slot requests are one slot of the `default` pool, which upstream's `checksumV1`
 * and its stored options leave out.
 */
export const onlyDefaultSlot = (slots: ReadonlyArray<readonly [string, number]>): boolean =>
  slots.length === 1 && slots[0]![0] === "default" && slots[0]![1] === 1

/** A crontab upstream's parser panics on: its gRPC recovery answers this (without a period). */
const recoveredPanic = () => internalWith("An internal error occurred")

// -----------------------------------------------------------------------------
// validation
// -----------------------------------------------------------------------------

/** The conditions of a task as upstream keeps them: user event, sleep, then parent override, with a base. */
export const conditionsOf = (conditions: TaskConditions | undefined) => {
  if (conditions === undefined) return []
  const all = [
    ...conditions.userEventConditions.map((c) => ({
      kind: "user-event" as const,
      base: c.base,
      sleepFor: undefined,
      parent: undefined,
      eventKey: c.userEventKey
    })),
    ...conditions.sleepConditions.map((c) => ({
      kind: "sleep" as const,
      base: c.base,
      sleepFor: c.sleepFor,
      parent: undefined,
      eventKey: undefined
    })),
    ...conditions.parentOverrideConditions.map((c) => ({
      kind: "parent-override" as const,
      base: c.base,
      sleepFor: undefined,
      parent: c.parentReadableId,
      eventKey: undefined
    }))
  ]
  return all.filter((c): c is typeof c & { readonly base: BaseMatchCondition } => c.base !== undefined)
}

/**
 * Checks done while converting the request (`getCreateTaskOpts`), task by task, before
 * `ValidateAPI`. An empty list is a plain error (proto3 decodes it as nil) except on the legacy
 * path, which passes an empty list on to the validator.
 */
const taskProblem = (
  tasks: ReadonlyArray<CreateTaskOpts>,
  kind: StepKind,
  allowEmpty: boolean
): InvalidArgument | Internal | undefined => {
  if (tasks.length === 0 && !allowEmpty) return internal()
  const readableIds = new Set<string>()
  for (const task of tasks) {
    if (task.action === "" || task.readableId === "" || normalizeActionId(task.action) === undefined) return internal()
    readableIds.add(task.readableId)
    for (const condition of conditionsOf(task.conditions)) {
      const orGroupId = condition.base.orGroupId
      if (orGroupId !== "" && !isUuid(orGroupId)) return internal()
    }
    for (const concurrency of task.concurrency) {
      if (concurrency.expression === "") {
        return invalidArgument(`CEL expression is required for concurrency (step ${task.readableId})`)
      }
    }
  }
  for (const task of tasks) {
    for (const parent of task.parents) {
      if (!readableIds.has(parent)) {
        const message = `dag parent not found: parent step '${parent}' not found for step '${task.readableId}'`
        // upstream converts this error to a status only for the regular tasks
        return kind === "DEFAULT" ? invalidArgument(message) : internal()
      }
    }
  }
  return undefined
}

const allowedStrategies = "CANCEL_IN_PROGRESS GROUP_ROUND_ROBIN CANCEL_NEWEST CANCEL_QUEUED_EXCEPT_NEWEST CANCEL_QUEUED_EXCEPT_OLDEST"

const supportedStrategies: ReadonlyArray<ConcurrencyLimitStrategy> = [
  ConcurrencyLimitStrategy.CANCEL_IN_PROGRESS,
  ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN,
  ConcurrencyLimitStrategy.CANCEL_NEWEST,
  ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST,
  ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST
]

const enumName = (value: number, toJSON: (v: never) => string) => {
  const name = toJSON(value as never)
  return name === "UNRECOGNIZED" ? `${value}` : name
}

/** `min` / `max` bounds of an int32 field (the validator prints int32 values as "invalid type"). */
const checkBounds = (errors: FieldErrors, namespace: string, value: number, min: number, max: number) => {
  if (value < min) errors.condition(namespace, "min", `${min}`)
  else if (value > max) errors.condition(namespace, "max", `${max}`)
}

/** `CreateStepOpts`, in struct-field order. */
const validateTask = (errors: FieldErrors, ns: string, task: CreateTaskOpts) => {
  if (!hatchetNamePattern.test(task.readableId)) errors.message(`${ns}.ReadableId`, hatchetNameError)
  if (!isValidActionId(normalizeActionId(task.action)!)) errors.message(`${ns}.Action`, actionIdError)
  if (task.timeout !== "" && !isValidDuration(task.timeout)) errors.message(`${ns}.Timeout`, durationError)
  if (task.scheduleTimeout !== undefined && !isValidDuration(task.scheduleTimeout)) {
    errors.message(`${ns}.ScheduleTimeout`, durationError)
  }
  task.parents.forEach((parent, i) => {
    if (!hatchetNamePattern.test(parent)) errors.message(`${ns}.Parents[${i}]`, hatchetNameError)
  })
  if (task.retries < 0) errors.condition(`${ns}.Retries`, "min", "0", { _tag: "int", value: task.retries })
  RateLimits.validateRateLimits(errors, ns, task.rateLimits)
  if (task.backoffFactor !== undefined) {
    checkBounds(errors, `${ns}.RetryBackoffFactor`, task.backoffFactor, 1, 1000)
    const max = task.backoffMaxSeconds ?? 86_400
    if (max < 1) errors.condition(`${ns}.RetryBackoffMaxSeconds`, "min", "1", { _tag: "int", value: max })
    else if (max > 86_400) errors.condition(`${ns}.RetryBackoffMaxSeconds`, "max", "86400", { _tag: "int", value: max })
  }
  for (const [slotType, units] of Object.entries(task.slotRequests)) {
    if (slotType === "") errors.condition(`${ns}.SlotRequests[]`, "required")
    if (units <= 0) errors.condition(`${ns}.SlotRequests[${slotType}]`, "gt", "0")
  }
  conditionsOf(task.conditions).forEach((condition, i) => {
    const cns = `${ns}.TriggerConditions[${i}]`
    if (condition.sleepFor !== undefined && condition.sleepFor !== "" && !isValidDuration(condition.sleepFor)) {
      errors.message(`${cns}.SleepDuration`, durationError)
    }
    // a parent override reports its data under the parent's readable id
    const readableDataKey = condition.parent ?? condition.base.readableDataKey
    if (readableDataKey === "") errors.condition(`${cns}.ReadableDataKey`, "required")
    const action = condition.base.action
    if (action !== Action.QUEUE && action !== Action.CANCEL && action !== Action.SKIP) {
      errors.condition(`${cns}.Action`, "oneof", "QUEUE CANCEL SKIP", {
        _tag: "string",
        value: enumName(action, actionToJSON)
      })
    }
  })
  validateConcurrency(errors, ns, task.concurrency)
  const batch = task.batch
  if (batch !== undefined) {
    // upstream fills the defaults (interval 1000 ms, 100 runs per group) before validating
    const bns = `${ns}.BatchConfig`
    if (batch.batchMaxSize === 0) errors.condition(`${bns}.BatchMaxSize`, "required")
    else checkBounds(errors, `${bns}.BatchMaxSize`, batch.batchMaxSize, 1, 100_000)
    const interval = batch.batchMaxIntervalMs ?? 1000
    if (interval !== 0) checkBounds(errors, `${bns}.BatchMaxInterval`, interval, 1, 86_400_000)
    const groupMaxRuns = batch.batchGroupMaxRuns ?? 100
    if (groupMaxRuns !== 0) checkBounds(errors, `${bns}.BatchGroupMaxRuns`, groupMaxRuns, 1, 10_000)
  }
}

/** The validator's message for an expression upstream's CEL compiler rejects. */
const celExpressionError = "Invalid CEL expression"

/**
 * `limit_strategy` must be one of the five v1 strategies (not the deprecated DROP_NEWEST or
 * QUEUE_NEWEST); the expression and the max-runs expression must compile in the workflow-string
 * CEL environment (`celworkflowrunstr`); a name must be a Hatchet name.
 */
const validateConcurrency = (errors: FieldErrors, ns: string, concurrencies: ReadonlyArray<Concurrency>) =>
  concurrencies.forEach((concurrency, i) => {
    const strategy = concurrency.limitStrategy
    if (strategy !== undefined && !supportedStrategies.includes(strategy)) {
      errors.condition(`${ns}.Concurrency[${i}].LimitStrategy`, "oneof", allowedStrategies, {
        _tag: "string",
        value: enumName(strategy, concurrencyLimitStrategyToJSON)
      })
    }
    if (Cel.compile("workflow", concurrency.expression)._tag === "Invalid") {
      errors.message(`${ns}.Concurrency[${i}].Expression`, celExpressionError)
    }
    if (concurrency.name !== undefined && concurrency.name !== "" && !hatchetNamePattern.test(concurrency.name)) {
      errors.message(`${ns}.Concurrency[${i}].Name`, hatchetNameError)
    }
    const maxRunsExpression = concurrency.maxRunsExpression
    if (maxRunsExpression !== undefined && Cel.compile("workflow", maxRunsExpression)._tag === "Invalid") {
      errors.message(`${ns}.Concurrency[${i}].MaxRunsExpression`, celExpressionError)
    }
  })

/** The workflow-level concurrency settings: the deprecated single field, then the array. */
export const workflowConcurrency = (
  request: CreateWorkflowVersionRequest
): Array<Concurrency> => [...(request.concurrency !== undefined ? [request.concurrency] : []), ...request.concurrencyArr]

/** A single-task workflow without an on-failure task holds its workflow-level concurrency on its task. */
export const mergesOntoTask = (request: CreateWorkflowVersionRequest): boolean =>
  request.tasks.length === 1 && request.onFailureTask === undefined && workflowConcurrency(request).length > 0

/** A task's own strategies, after `mergeWorkflowConcurrencyOntoSingleTask` (the workflow's first). */
export const taskConcurrency = (request: CreateWorkflowVersionRequest, task: CreateTaskOpts): Array<Concurrency> =>
  mergesOntoTask(request) && task === request.tasks[0] ? [...workflowConcurrency(request), ...task.concurrency] : [...task.concurrency]

/**
 * Upstream `ValidateAPI(CreateWorkflowVersionOpts)`, in struct-field order; a crontab that makes
 * upstream's validator panic is the INTERNAL its recovery answers.
 */
const validateRequest = (request: CreateWorkflowVersionRequest): Either.Either<FieldErrors, Internal> => {
  const errors = new FieldErrors()
  const ns = "CreateWorkflowVersionOpts"
  if (request.name === "") errors.condition(`${ns}.Name`, "required")
  else if (!hatchetNamePattern.test(request.name)) errors.message(`${ns}.Name`, hatchetNameError)
  for (let i = 0; i < request.cronTriggers.length; i++) {
    const parsed = parseCron(request.cronTriggers[i]!)
    if (parsed._tag === "Panics") return Either.left(recoveredPanic())
    if (parsed._tag === "Invalid") errors.message(`${ns}.CronTriggers[${i}]`, cronError)
  }
  // only the legacy path gets here with no tasks
  if (request.tasks.length === 0) errors.condition(`${ns}.Tasks`, "min", "1")
  request.tasks.forEach((task, i) => validateTask(errors, `${ns}.Tasks[${i}]`, task))
  if (request.onFailureTask !== undefined) validateTask(errors, `${ns}.OnFailure`, request.onFailureTask)
  validateConcurrency(errors, ns, workflowConcurrency(request))
  if (request.sticky !== undefined && request.sticky !== StickyStrategy.SOFT && request.sticky !== StickyStrategy.HARD) {
    errors.condition(`${ns}.Sticky`, "oneof", "SOFT HARD", {
      _tag: "string",
      value: enumName(request.sticky, stickyStrategyToJSON)
    })
  }
  if (request.defaultPriority !== undefined) checkBounds(errors, `${ns}.DefaultPriority`, request.defaultPriority, 1, 3)
  const idempotency = request.idempotency
  if (idempotency !== undefined) {
    if (idempotency.expression === "") errors.condition(`${ns}.Idempotency.Expression`, "required")
    else if (Cel.compile("workflow", idempotency.expression)._tag === "Invalid") {
      errors.message(`${ns}.Idempotency.Expression`, celExpressionError)
    }
    if (idempotency.ttlMs < 1) {
      errors.condition(`${ns}.Idempotency.TTLMs`, idempotency.ttlMs === 0 ? "required" : "min", idempotency.ttlMs === 0 ? undefined : "1")
    }
    if (
      idempotency.method !== undefined && idempotency.method !== IdempotencyMethod.TTL &&
      idempotency.method !== IdempotencyMethod.STATUS
    ) {
      errors.condition(`${ns}.Idempotency.Method`, "oneof", "TTL STATUS")
    }
  }
  return Either.right(errors)
}

/**
 * "job X has a cycle": a plain error upstream, hence INTERNAL. A depth-first walk up the parents
 * with its own stack (a chain of tasks may be as long as a 4 MiB request allows).
 */
const hasCycle = (tasks: ReadonlyArray<CreateTaskOpts>): boolean => {
  const parents = new Map(tasks.map((t) => [t.readableId, t.parents]))
  const state = new Map<string, "visiting" | "done">()
  for (const task of tasks) {
    if (state.has(task.readableId)) continue
    state.set(task.readableId, "visiting")
    // each frame: a task on the current path and the index of its next parent
    const path: Array<{ readonly id: string; next: number }> = [{ id: task.readableId, next: 0 }]
    while (path.length > 0) {
      const frame = path[path.length - 1]!
      const own = parents.get(frame.id) ?? []
      if (frame.next === own.length) {
        state.set(frame.id, "done")
        path.pop()
        continue
      }
      const parent = own[frame.next++]!
      const mark = state.get(parent)
      if (mark === "visiting") return true
      if (mark === undefined) {
        state.set(parent, "visiting")
        path.push({ id: parent, next: 0 })
      }
    }
  }
  return false
}

const hasDuplicates = (values: ReadonlyArray<string>) => new Set(values).size !== values.length

/**
 * What the database refuses while storing the version (`PutWorkflowVersion`), each a plain error
 * upstream, hence INTERNAL: unique task names and triggers per version, a `cron_input` that is
 * not JSON (stored as jsonb with each cron), a static rate-limit key never created or given
 * twice, the same key twice among a task's rate-limit expressions.
 */
const storable = (tenant: TenantState, request: CreateWorkflowVersionRequest): boolean => {
  if (hasCycle(request.tasks)) return false
  if (hasDuplicates(request.tasks.map((t) => t.readableId))) return false
  if (hasDuplicates(request.eventTriggers) || hasDuplicates(request.cronTriggers)) return false
  if (request.cronTriggers.length > 0 && request.cronInput !== undefined) {
    if (request.cronInput === "" || validateJsonb(request.cronInput, "input") !== undefined) return false
  }
  for (const task of [...request.tasks, ...(request.onFailureTask !== undefined ? [request.onFailureTask] : [])]) {
    if (!RateLimits.storable(tenant, task.rateLimits)) return false
  }
  return true
}

// -----------------------------------------------------------------------------
// features this engine does not implement
// -----------------------------------------------------------------------------

/**
 * The features of a valid request this engine would silently run differently from Hatchet, one
 * entry per task or workflow setting; empty when it runs the workflow faithfully.
 */
export const unsupportedFeatures = (request: CreateWorkflowVersionRequest): Array<string> => {
  const found: Array<string> = []
  for (const cron of request.cronTriggers) {
    const parsed = parseCron(cron)
    if (parsed._tag === "Schedule" && !firesInUtc(parsed.schedule)) {
      found.push(`the cron trigger '${cron}' with a time zone other than UTC (cron_triggers)`)
    }
  }
  return found
}

/**
 * Conditions on the task of a workflow that has no other (no second task, no on-failure task):
 * upstream evaluates conditions only in a DAG, so such a run's task would never be created and
 * the run never start or end. INVALID_ARGUMENT here, where upstream accepts the workflow and
 * loses its runs.
 */
export const lostConditions = (request: CreateWorkflowVersionRequest): InvalidArgument | undefined => {
  if (request.tasks.length !== 1 || request.onFailureTask !== undefined) return undefined
  const task = request.tasks[0]!
  if (conditionsOf(task.conditions).length === 0) return undefined
  return invalidArgument(
    `workflow '${request.name}': task '${task.readableId}' has conditions (wait_for / skip_if / cancel_if), which Hatchet ` +
      "only evaluates in a workflow of more than one task: its runs would never start. Add a task (or an on-failure task) " +
      "to the workflow, or remove the conditions"
  )
}

/** UNIMPLEMENTED naming the workflow and every unsupported feature it uses. */
const unsupported = (request: CreateWorkflowVersionRequest): Unimplemented | undefined => {
  const found = unsupportedFeatures(request)
  if (found.length === 0) return undefined
  const what = found.length === 1 ? "a feature" : "features"
  return unimplemented(`workflow '${request.name}' uses ${what} the local engine does not support yet: ${found.join("; ")}`)
}

/**
 * Every check `putWorkflow` runs before it stores anything, in upstream's order: the conversion of
 * the request, `ValidateAPI`, what the database would refuse, then the features this engine does
 * not implement. Fails with the error upstream answers with.
 */
export const validateWorkflowRequest = (
  tenant: TenantState,
  request: CreateWorkflowVersionRequest,
  legacy: boolean
): Either.Either<void, InvalidArgument | Internal | Unimplemented> =>
  Either.gen(function*() {
    const problem = taskProblem(request.tasks, "DEFAULT", legacy) ??
      (request.onFailureTask !== undefined ? taskProblem([request.onFailureTask], "ON_FAILURE", false) : undefined)
    if (problem !== undefined) return yield* Either.left(problem)
    for (const concurrency of workflowConcurrency(request)) {
      if (concurrency.expression === "") return yield* Either.left(invalidArgument("CEL expression is required for concurrency"))
    }
    for (const filter of request.defaultFilters) {
      // json.Valid, then json.Unmarshal into a map: an object or null
      if (filter.payload === undefined) continue
      const payload = parseJson(Buffer.from(filter.payload).toString("utf8"))
      if (payload === undefined || (payload !== null && !isJsonObject(payload))) return yield* Either.left(internal())
    }
    const errors = yield* validateRequest(request)
    if (!errors.isEmpty) return yield* Either.left(invalidArgument(errors.render()))
    if (!storable(tenant, request)) return yield* Either.left(internal())
    const refused = unsupported(request)
    if (refused !== undefined) return yield* Either.left(refused)
  })
