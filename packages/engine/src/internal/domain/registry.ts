/**
 * The workflow registry: `v1.AdminService/PutWorkflow` with upstream's validation, action-id
 * normalisation and versioning by content checksum.
 *
 * Checks run in upstream's order, each with upstream's code and message: the conversion of the
 * request (`getCreateWorkflowOpts`: INTERNAL for missing or malformed actions and or-group ids,
 * INVALID_ARGUMENT for unknown parents and concurrency without an expression), `ValidateAPI`
 * (INVALID_ARGUMENT "Validation failed …"), then what the database would refuse (INTERNAL: a
 * cycle, duplicate task names or triggers, an invalid `cron_input`, a static rate-limit key
 * never created with PutRateLimit or given twice).
 *
 * A valid workflow that uses a feature this engine does not implement (durable tasks, cron time
 * zones) is refused with UNIMPLEMENTED naming it, instead of running differently from Hatchet.
 * Step conditions are stored with their steps (`matches.ts` evaluates them); on a workflow of a
 * single task, where upstream never evaluates them, they are INVALID_ARGUMENT. Batch settings are
 * stored with their steps (`batches.ts`). A stored version arms its cron triggers
 * (`cron.ts`); its rate limits are described in `rateLimits.ts`.
 *
 * Concurrency (`concurrency.ts`): task-level strategies, and workflow-level ones, which a
 * single-task workflow without an on-failure task moves onto its task, ahead of the task's own
 * (`mergeWorkflowConcurrencyOntoSingleTask`); otherwise each DEFAULT step gets a child of every
 * workflow-level strategy, ahead of its own. `max_runs` defaults to 1 and the strategy to
 * CANCEL_IN_PROGRESS. A tenant-scoped entry (`is_tenant_scoped`, `name`) is the tenant's shared
 * strategy of that name, created or updated by each registration that declares it.
 *
 * Engine semantics §5; upstream `internal/services/admin/v1/server.go getCreateWorkflowOpts`,
 * `pkg/repository/workflow.go`, `pkg/validator`.
 *
 * @internal
 */
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
import { Action, actionToJSON, type BaseMatchCondition, type TaskConditions } from "@effect-hatchet/proto/v1/shared/condition"
import { firesInUtc, parse as parseCron } from "@effect-hatchet/shared/Crontab"
import { createHash } from "node:crypto"
import { touchWorkflow } from "./changes.js"
import * as Cel from "./cel.js"
import * as Filters from "./filters.js"
import * as RateLimits from "./rateLimits.js"
import { deleteCron, replaceDeclaredCrons } from "./cron.js"
import { deleteScheduled } from "./schedules.js"
import { isValidDuration, parseDuration } from "./duration.js"
import { EngineError, internal, invalidArgument, Status, unimplemented } from "./errors.js"
import { tenantOf } from "./tenants.js"
import { isUuid, newId } from "./ids.js"
import { goMarshal, isJsonObject, parseJson, validateJsonb } from "./json.js"
import { updateSettings } from "./concurrency.js"
import type {
  ConcurrencySettings,
  ConditionAction,
  EngineState,
  LimitStrategy,
  Step,
  StepBatch,
  StepCondition,
  StepConcurrency,
  StepKind,
  TenantState,
  Workflow,
  WorkflowConcurrency,
  WorkflowVersion
} from "./model.js"
import { latestVersion } from "./model.js"
import { actionIdError, cronError, durationError, FieldErrors, hatchetNameError, hatchetNamePattern } from "./validation.js"
import { isValidActionId } from "./workers.js"

/** Execution timeout when a step has none (`convert_duration_to_interval('')`). */
export const defaultTimeoutMs = 5 * 60_000
/** Schedule timeout when a step has none. */
export const defaultScheduleTimeout = "5m"

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

/** A crontab upstream's parser panics on: its gRPC recovery answers this (without a period). */
const recoveredPanic = () => new EngineError({ code: Status.INTERNAL, message: "An internal error occurred" })

// -----------------------------------------------------------------------------
// validation
// -----------------------------------------------------------------------------

/** The conditions of a task as upstream keeps them: user event, sleep, then parent override, with a base. */
const conditionsOf = (conditions: TaskConditions | undefined) => {
  if (conditions === undefined) return []
  const all = [
    ...conditions.userEventConditions.map((c) => ({
      kind: "user-event" as const,
      base: c.base,
      sleepFor: undefined,
      parent: undefined,
      eventKey: c.userEventKey
    })),
    ...conditions.sleepConditions.map((c) => ({ kind: "sleep" as const, base: c.base, sleepFor: c.sleepFor, parent: undefined, eventKey: undefined })),
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
const checkTasks = (tasks: ReadonlyArray<CreateTaskOpts>, kind: StepKind, allowEmpty: boolean) => {
  if (tasks.length === 0 && !allowEmpty) throw internal()
  const readableIds = new Set<string>()
  for (const task of tasks) {
    if (task.action === "" || task.readableId === "" || normalizeActionId(task.action) === undefined) throw internal()
    readableIds.add(task.readableId)
    for (const condition of conditionsOf(task.conditions)) {
      const orGroupId = condition.base.orGroupId
      if (orGroupId !== "" && !isUuid(orGroupId)) throw internal()
    }
    for (const concurrency of task.concurrency) {
      if (concurrency.expression === "") {
        throw invalidArgument(`CEL expression is required for concurrency (step ${task.readableId})`)
      }
    }
  }
  for (const task of tasks) {
    for (const parent of task.parents) {
      if (!readableIds.has(parent)) {
        const message = `dag parent not found: parent step '${parent}' not found for step '${task.readableId}'`
        // upstream converts this error to a status only for the regular tasks
        throw kind === "DEFAULT" ? invalidArgument(message) : internal()
      }
    }
  }
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
const workflowConcurrency = (request: CreateWorkflowVersionRequest): Array<Concurrency> =>
  [...(request.concurrency !== undefined ? [request.concurrency] : []), ...request.concurrencyArr]

/** A single-task workflow without an on-failure task holds its workflow-level concurrency on its task. */
const mergesOntoTask = (request: CreateWorkflowVersionRequest): boolean =>
  request.tasks.length === 1 && request.onFailureTask === undefined && workflowConcurrency(request).length > 0

/** A task's own strategies, after `mergeWorkflowConcurrencyOntoSingleTask` (the workflow's first). */
const taskConcurrency = (request: CreateWorkflowVersionRequest, task: CreateTaskOpts): Array<Concurrency> =>
  mergesOntoTask(request) && task === request.tasks[0] ? [...workflowConcurrency(request), ...task.concurrency] : [...task.concurrency]

/** Upstream `ValidateAPI(CreateWorkflowVersionOpts)`, in struct-field order. */
const validateRequest = (request: CreateWorkflowVersionRequest): FieldErrors => {
  const errors = new FieldErrors()
  const ns = "CreateWorkflowVersionOpts"
  if (request.name === "") errors.condition(`${ns}.Name`, "required")
  else if (!hatchetNamePattern.test(request.name)) errors.message(`${ns}.Name`, hatchetNameError)
  request.cronTriggers.forEach((cron, i) => {
    const parsed = parseCron(cron)
    if (parsed._tag === "Panics") throw recoveredPanic()
    if (parsed._tag === "Invalid") errors.message(`${ns}.CronTriggers[${i}]`, cronError)
  })
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
    if (idempotency.ttlMs < 1) errors.condition(`${ns}.Idempotency.TTLMs`, idempotency.ttlMs === 0 ? "required" : "min", idempotency.ttlMs === 0 ? undefined : "1")
    if (
      idempotency.method !== undefined && idempotency.method !== IdempotencyMethod.TTL &&
      idempotency.method !== IdempotencyMethod.STATUS
    ) {
      errors.condition(`${ns}.Idempotency.Method`, "oneof", "TTL STATUS")
    }
  }
  return errors
}

/**
 * "job X has a cycle": a plain error upstream, hence INTERNAL. A depth-first walk up the parents
 * with its own stack (a chain of tasks may be as long as a 4 MiB request allows).
 */
const checkAcyclic = (tasks: ReadonlyArray<CreateTaskOpts>) => {
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
      if (mark === "visiting") throw internal()
      if (mark === undefined) {
        state.set(parent, "visiting")
        path.push({ id: parent, next: 0 })
      }
    }
  }
}

const hasDuplicates = (values: ReadonlyArray<string>) => new Set(values).size !== values.length

/**
 * What the database refuses while storing the version (`PutWorkflowVersion`), each a plain error
 * upstream, hence INTERNAL: unique task names and triggers per version, a `cron_input` that is
 * not JSON (stored as jsonb with each cron), a static rate-limit key never created or given
 * twice, the same key twice among a task's rate-limit expressions.
 */
const checkStorable = (tenant: TenantState, request: CreateWorkflowVersionRequest) => {
  checkAcyclic(request.tasks)
  if (hasDuplicates(request.tasks.map((t) => t.readableId))) throw internal()
  if (hasDuplicates(request.eventTriggers) || hasDuplicates(request.cronTriggers)) throw internal()
  if (request.cronTriggers.length > 0 && request.cronInput !== undefined) {
    if (request.cronInput === "" || validateJsonb(request.cronInput, "input") !== undefined) throw internal()
  }
  for (const task of [...request.tasks, ...(request.onFailureTask !== undefined ? [request.onFailureTask] : [])]) {
    if (!RateLimits.storable(tenant, task.rateLimits)) throw internal()
  }
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
const refuseLostConditions = (request: CreateWorkflowVersionRequest) => {
  if (request.tasks.length !== 1 || request.onFailureTask !== undefined) return
  const task = request.tasks[0]!
  if (conditionsOf(task.conditions).length === 0) return
  throw invalidArgument(
    `workflow '${request.name}': task '${task.readableId}' has conditions (wait_for / skip_if / cancel_if), which Hatchet ` +
      "only evaluates in a workflow of more than one task: its runs would never start. Add a task (or an on-failure task) " +
      "to the workflow, or remove the conditions"
  )
}

/** UNIMPLEMENTED naming the workflow and every unsupported feature it uses. */
const refuseUnsupported = (request: CreateWorkflowVersionRequest) => {
  const found = unsupportedFeatures(request)
  if (found.length === 0) return
  const what = found.length === 1 ? "a feature" : "features"
  throw unimplemented(`workflow '${request.name}' uses ${what} the local engine does not support yet: ${found.join("; ")}`)
}

// -----------------------------------------------------------------------------
// storage and versioning
// -----------------------------------------------------------------------------

const slotRequestsOf = (task: CreateTaskOpts): Array<readonly [string, number]> => {
  const entries = Object.entries(task.slotRequests)
  if (entries.length > 0) return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return [[task.isDurable ? "durable" : "default", 1]]
}

/** The checksummed form of a request: normalised actions, or-group ids as indices. */
const checksumOf = (request: CreateWorkflowVersionRequest): string => {
  const groups = new Map<string, number>()
  const group = (id: string) => {
    if (id === "" || id === "00000000-0000-0000-0000-000000000000") return -1
    let index = groups.get(id)
    if (index === undefined) {
      index = groups.size
      groups.set(id, index)
    }
    return index
  }
  const normalizeTask = (task: CreateTaskOpts) => {
    const slots = slotRequestsOf(task)
    const isDefaultSlot = slots.length === 1 && slots[0]![0] === "default" && slots[0]![1] === 1
    const conditions = task.conditions === undefined ? undefined : {
      parentOverride: task.conditions.parentOverrideConditions.map((c) => ({ ...c, base: c.base && { ...c.base, orGroupId: group(c.base.orGroupId) } })),
      sleep: task.conditions.sleepConditions.map((c) => ({ ...c, base: c.base && { ...c.base, orGroupId: group(c.base.orGroupId) } })),
      userEvent: task.conditions.userEventConditions.map((c) => ({
        ...c,
        base: c.base && { ...c.base, orGroupId: group(c.base.orGroupId) },
        considerEventsSince: c.considerEventsSince?.toISOString()
      }))
    }
    return {
      ...task,
      action: normalizeActionId(task.action),
      slotRequests: isDefaultSlot ? undefined : Object.fromEntries(slots),
      conditions
    }
  }
  const normalized = {
    name: request.name,
    description: request.description,
    eventTriggers: request.eventTriggers,
    cronTriggers: request.cronTriggers,
    cronInput: request.cronInput,
    tasks: request.tasks.map(normalizeTask),
    onFailure: request.onFailureTask && normalizeTask(request.onFailureTask),
    concurrency: workflowConcurrency(request),
    sticky: request.sticky,
    defaultPriority: request.defaultPriority,
    defaultFilters: request.defaultFilters.map((f) => ({ ...f, payload: f.payload && Buffer.from(f.payload).toString("utf8") })),
    inputJsonSchema: request.inputJsonSchema && Buffer.from(request.inputJsonSchema).toString("utf8"),
    idempotency: request.idempotency
  }
  return createHash("sha256").update(goMarshal(normalized)).digest("hex")
}

const limitStrategyOf = (concurrency: Concurrency): LimitStrategy => {
  switch (concurrency.limitStrategy) {
    case ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN:
      return "GROUP_ROUND_ROBIN"
    case ConcurrencyLimitStrategy.CANCEL_NEWEST:
      return "CANCEL_NEWEST"
    case ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST:
      return "CANCEL_QUEUED_EXCEPT_NEWEST"
    case ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST:
      return "CANCEL_QUEUED_EXCEPT_OLDEST"
    default:
      return "CANCEL_IN_PROGRESS"
  }
}

const compileValid = (expression: string) => {
  const compiled = Cel.compile("workflow", expression)
  if (compiled._tag !== "Ok") throw internal()
  return compiled.program
}

/** The stored settings of a validated strategy: `max_runs` 1 and CANCEL_IN_PROGRESS by default. */
const settingsOf = (concurrency: Concurrency): ConcurrencySettings => ({
  expression: concurrency.expression,
  compiled: compileValid(concurrency.expression),
  maxRuns: concurrency.maxRuns ?? 1,
  limitStrategy: limitStrategyOf(concurrency),
  maxRunsExpression: concurrency.maxRunsExpression !== undefined
    ? { source: concurrency.maxRunsExpression, compiled: compileValid(concurrency.maxRunsExpression) }
    : undefined
})

const isTenantScoped = (concurrency: Concurrency) => concurrency.isTenantScoped === true

/**
 * A step strategy from a validated, supported setting: a tenant-scoped one is the tenant's shared
 * strategy of that name (registered by `registerTenantStrategies`).
 */
const stepConcurrency = (
  tenant: TenantState,
  concurrency: Concurrency,
  parent: WorkflowConcurrency | undefined
): StepConcurrency => {
  if (isTenantScoped(concurrency)) return tenant.concurrencyStrategies.get(concurrency.name!)!
  return { settings: settingsOf(concurrency), name: undefined, parent, slots: [], observedMaxRuns: new Map() }
}

/**
 * The strategies of a step, in the order upstream applies them: for a DEFAULT step, a child of
 * each workflow-level strategy first; then its own (including merged workflow-level ones).
 */
const concurrencyOfStep = (
  tenant: TenantState,
  request: CreateWorkflowVersionRequest,
  task: CreateTaskOpts,
  kind: StepKind,
  parents: ReadonlyArray<WorkflowConcurrency>
): Array<StepConcurrency> => {
  const children = kind === "DEFAULT"
    ? parents.map((parent, i) => {
      const child = stepConcurrency(tenant, workflowConcurrency(request)[i]!, parent)
      parent.children.push(child)
      return child
    })
    : []
  return [...children, ...taskConcurrency(request, task).map((concurrency) => stepConcurrency(tenant, concurrency, undefined))]
}

/** The workflow-level strategies of a workflow that does not merge them onto its single task. */
const workflowStrategiesOf = (request: CreateWorkflowVersionRequest): Array<WorkflowConcurrency> =>
  mergesOntoTask(request)
    ? []
    : workflowConcurrency(request).map((concurrency) => ({ settings: settingsOf(concurrency), slots: [], children: [] }))

/** The tasks of a request with the on-failure task. */
const allTasks = (request: CreateWorkflowVersionRequest): Array<CreateTaskOpts> =>
  request.onFailureTask !== undefined ? [...request.tasks, request.onFailureTask] : [...request.tasks]

/**
 * The tenant-scoped strategies a registration declares (upstream `collectTenantConcurrencyDefs`,
 * `getTenantStrategiesForEntries`, `checkTenantConcurrencyOrdering`), checked, then created or
 * updated in place (before the version's checksum is compared: re-registering an unchanged
 * workflow with a changed definition updates it). Upstream returns plain errors for a missing
 * name, a step naming one twice, or chains that order two shared strategies differently (which
 * could deadlock), hence INTERNAL. A workflow-level one on a multi-task workflow, and a
 * workflow-level `max_runs_expression` there, need upstream's DAG operator, which this engine does
 * not have: UNIMPLEMENTED.
 */
const registerTenantStrategies = (state: EngineState, tenant: TenantState, request: CreateWorkflowVersionRequest, now: number) => {
  const declared = new Map<string, Concurrency>()
  for (const concurrency of [...workflowConcurrency(request), ...allTasks(request).flatMap((task) => task.concurrency)]) {
    if (!isTenantScoped(concurrency)) continue
    if (concurrency.name === undefined || concurrency.name === "") throw internal()
    declared.set(concurrency.name, concurrency)
  }
  if (!mergesOntoTask(request)) {
    for (const concurrency of workflowConcurrency(request)) {
      if (isTenantScoped(concurrency)) {
        throw unimplemented(
          `tenant-scoped concurrency (name ${concurrency.name}) is not supported at the workflow level unless the workflow is a single task or uses the DAG operator`
        )
      }
      if (concurrency.maxRunsExpression !== undefined && request.tasks.length > 1) {
        throw unimplemented(
          `workflow '${request.name}' uses a feature the local engine does not support yet: max_runs_expression on a workflow-level concurrency strategy of a workflow with several tasks (upstream's DAG operator)`
        )
      }
    }
  }
  const chains: Array<ReadonlyArray<string>> = []
  for (const task of allTasks(request)) {
    const names = taskConcurrency(request, task).filter(isTenantScoped).map((concurrency) => concurrency.name!)
    if (new Set(names).size !== names.length) throw internal()
    if (names.length >= 2) chains.push(names)
  }
  if (chains.length > 0) {
    for (const workflow of tenant.workflowsById.values()) {
      if (workflow.name === request.name || workflow.versions.length === 0) continue
      for (const step of latestVersion(workflow).steps) {
        const names = step.concurrency.flatMap((strategy) => (strategy.name !== undefined ? [strategy.name] : []))
        if (names.length >= 2) chains.push(names)
      }
    }
    if (hasOrderingCycle(chains)) throw internal()
  }
  for (const [name, concurrency] of declared) {
    const existing = tenant.concurrencyStrategies.get(name)
    if (existing !== undefined) updateSettings(state, existing, settingsOf(concurrency), now)
    else tenant.concurrencyStrategies.set(name, { settings: settingsOf(concurrency), name, parent: undefined, slots: [], observedMaxRuns: new Map() })
  }
}

/** Whether the chains order some pair of names both ways (a cycle of their precedence graph). */
const hasOrderingCycle = (chains: ReadonlyArray<ReadonlyArray<string>>): boolean => {
  const edges = new Map<string, Set<string>>()
  for (const chain of chains) {
    chain.forEach((from, i) => {
      const next = edges.get(from) ?? new Set<string>()
      for (const to of chain.slice(i + 1)) next.add(to)
      edges.set(from, next)
    })
  }
  const marks = new Map<string, "visiting" | "done">()
  const visit = (node: string): boolean => {
    marks.set(node, "visiting")
    for (const next of edges.get(node) ?? []) {
      const mark = marks.get(next)
      if (mark === "visiting" || (mark === undefined && visit(next))) return true
    }
    marks.set(node, "done")
    return false
  }
  return [...edges.keys()].some((node) => marks.get(node) === undefined && visit(node))
}

const buildStep = (
  task: CreateTaskOpts,
  kind: StepKind,
  index: number,
  concurrency: ReadonlyArray<StepConcurrency>
): Step => ({
  id: newId(),
  readableId: task.readableId,
  action: normalizeActionId(task.action)!,
  kind,
  parents: kind === "DEFAULT" ? [...task.parents] : [],
  children: [],
  retries: task.retries,
  backoffFactor: task.backoffFactor,
  backoffMaxSeconds: task.backoffFactor !== undefined ? (task.backoffMaxSeconds ?? 86_400) : undefined,
  timeout: task.timeout !== "" ? task.timeout : undefined,
  timeoutMs: task.timeout !== "" ? parseDuration(task.timeout)! : defaultTimeoutMs,
  scheduleTimeout: task.scheduleTimeout ?? defaultScheduleTimeout,
  scheduleTimeoutMs: parseDuration(task.scheduleTimeout ?? defaultScheduleTimeout)!,
  isDurable: task.isDurable,
  slotRequests: slotRequestsOf(task),
  desiredLabels: new Map(Object.entries(task.workerLabels)),
  concurrency,
  rateLimits: RateLimits.stepRateLimits(task.rateLimits),
  batch: stepBatchOf(task),
  conditions: stepConditions(task.conditions),
  index
})

/**
 * A task's batch settings with upstream's defaults (`getCreateWorkflowOpts`): 1000 ms, the key
 * `'default'` (also for an empty one), 100 runs per key. The key is compiled in the environment
 * it is evaluated in; one that does not compile fails each task at creation.
 */
const stepBatchOf = (task: CreateTaskOpts): StepBatch | undefined => {
  const batch = task.batch
  if (batch === undefined) return undefined
  const groupKey = batch.batchGroupKey !== undefined && batch.batchGroupKey !== "" ? batch.batchGroupKey : "'default'"
  return {
    maxSize: batch.batchMaxSize,
    maxIntervalMs: batch.batchMaxIntervalMs ?? 1000,
    groupKey: { source: groupKey, compiled: Cel.compile("workflow", groupKey) },
    groupMaxRuns: batch.batchGroupMaxRuns ?? 100,
    broadcastOutput: batch.broadcastOutput ?? false
  }
}

const nilUuid = "00000000-0000-0000-0000-000000000000"

/** The stored action of a validated condition. */
const conditionAction = (action: Action): ConditionAction =>
  action === Action.SKIP ? "SKIP" : action === Action.CANCEL ? "CANCEL" : "QUEUE"

/**
 * A task's conditions as upstream stores them (`getCreateTaskOpts`): user events, then sleeps,
 * then parent overrides (a parent override's data key is the parent's readable id); those without
 * a base are dropped; an empty or nil or-group id becomes a fresh one, so the condition is a group
 * of its own. Expressions are not checked: one that does not compile never holds.
 */
const stepConditions = (conditions: TaskConditions | undefined): Array<StepCondition> => {
  const group = (id: string) => (id === "" || id === nilUuid ? newId() : id.toLowerCase())
  return conditionsOf(conditions).map(({ base, eventKey, kind, parent, sleepFor }): StepCondition => {
    const action = conditionAction(base.action)
    const orGroupId = group(base.orGroupId)
    switch (kind) {
      case "user-event":
        return { kind: "USER_EVENT", action, orGroupId, readableDataKey: base.readableDataKey, eventKey, expression: base.expression }
      case "sleep":
        return { kind: "SLEEP", action, orGroupId, readableDataKey: base.readableDataKey, sleepFor }
      case "parent-override":
        return { kind: "PARENT_OVERRIDE", action, orGroupId, parent, expression: base.expression }
    }
  })
}

/** Options of `putWorkflow`. */
export interface PutWorkflowOptions {
  /** `WorkflowService/PutWorkflow` (v0): an empty task list is a validation error, not INTERNAL. */
  readonly legacy?: boolean | undefined
}

/** `v1.AdminService/PutWorkflow`: validates, then stores a new version unless the content is unchanged. */
export const putWorkflow = (
  state: EngineState,
  tenantId: string,
  request: CreateWorkflowVersionRequest,
  now: number,
  options: PutWorkflowOptions = {}
): WorkflowVersion => {
  const tenant = tenantOf(state, tenantId)
  checkTasks(request.tasks, "DEFAULT", options.legacy === true)
  if (request.onFailureTask !== undefined) checkTasks([request.onFailureTask], "ON_FAILURE", false)
  for (const concurrency of workflowConcurrency(request)) {
    if (concurrency.expression === "") throw invalidArgument("CEL expression is required for concurrency")
  }
  for (const filter of request.defaultFilters) {
    // json.Valid, then json.Unmarshal into a map: an object or null
    if (filter.payload === undefined) continue
    const payload = parseJson(Buffer.from(filter.payload).toString("utf8"))
    if (payload === undefined || (payload !== null && !isJsonObject(payload))) throw internal()
  }
  const errors = validateRequest(request)
  if (!errors.isEmpty) throw invalidArgument(errors.render())
  checkStorable(tenant, request)
  refuseUnsupported(request)
  registerTenantStrategies(state, tenant, request, now)
  refuseLostConditions(request)

  const checksum = checksumOf(request)
  let workflow = tenant.workflowsByName.get(request.name)
  if (workflow !== undefined && latestVersion(workflow).checksum === checksum) return latestVersion(workflow)
  // the version's declared filters replace the workflow's in the same transaction upstream: a
  // `null` payload (a NULL in a NOT NULL column) or a duplicate (the unique index) fails it all
  const declared: Array<Filters.FilterSpec> = []
  for (const filter of request.defaultFilters) {
    const payload = Filters.declaredPayload(filter.payload)
    if (payload === undefined) throw internal()
    declared.push({ scope: filter.scope, expression: filter.expression, payload })
  }
  if (!Filters.canDeclare(tenant, workflow?.id, declared)) throw internal()
  if (workflow === undefined) {
    workflow = { id: newId(), tenantId, name: request.name, createdAt: now, updatedAt: now, versions: [], deletedAt: undefined }
    tenant.workflowsByName.set(workflow.name, workflow)
    tenant.workflowsById.set(workflow.id, workflow)
  }
  workflow.updatedAt = now
  Filters.declareFilters(tenant, workflow.id, declared, now)

  const workflowStrategies = workflowStrategiesOf(request)
  const steps = request.tasks.map((task, i) =>
    buildStep(task, "DEFAULT", i, concurrencyOfStep(tenant, request, task, "DEFAULT", workflowStrategies))
  )
  const onFailure = request.onFailureTask !== undefined
    ? buildStep(
      request.onFailureTask,
      "ON_FAILURE",
      steps.length,
      concurrencyOfStep(tenant, request, request.onFailureTask, "ON_FAILURE", workflowStrategies)
    )
    : undefined
  const byReadableId = new Map(steps.map((s) => [s.readableId, s]))
  for (const step of steps) {
    for (const parent of step.parents) byReadableId.get(parent)!.children.push(step)
  }
  const allSteps = onFailure !== undefined ? [...steps, onFailure] : steps
  const version: WorkflowVersion = {
    id: newId(),
    workflow,
    order: workflow.versions.length + 1,
    checksum,
    createdAt: now,
    version: request.version,
    description: request.description,
    eventTriggers: [...request.eventTriggers],
    cronTriggers: [...request.cronTriggers],
    defaultPriority: request.defaultPriority,
    sticky: request.sticky,
    steps: allSteps,
    onFailure,
    stepsByReadableId: new Map(allSteps.map((s) => [s.readableId, s])),
    inputJsonSchema: request.inputJsonSchema !== undefined
      ? parseJson(Buffer.from(request.inputJsonSchema).toString("utf8"))
      : undefined,
    concurrency: workflowStrategies,
    request
  }
  workflow.versions.push(version)
  touchWorkflow(state, workflow)
  state.workflowVersionsById.set(version.id, version)
  replaceDeclaredCrons(state, version, now)
  return version
}

/**
 * Deletes a workflow (upstream `SoftDeleteWorkflow`): it leaves the tenant's lists and lookups by
 * name and id, so it can no longer be triggered, by name, event, cron or schedule (its crons and
 * scheduled runs go with it; upstream's ticker skips deleted workflows), and a registration of the
 * same name starts a new workflow. Runs already created go on to their end.
 */
export const deleteWorkflow = (state: EngineState, workflow: Workflow, now: number): void => {
  const tenant = tenantOf(state, workflow.tenantId)
  if (tenant.workflowsById.get(workflow.id) !== workflow) return
  tenant.workflowsById.delete(workflow.id)
  if (tenant.workflowsByName.get(workflow.name) === workflow) tenant.workflowsByName.delete(workflow.name)
  workflow.deletedAt = now
  for (const [id, cron] of [...tenant.crons]) if (cron.workflow === workflow) deleteCron(state, tenant.tenant.id, id)
  for (const [id, scheduled] of [...tenant.scheduled]) {
    if (scheduled.workflow === workflow) deleteScheduled(state, tenant.tenant.id, id)
  }
}
