/**
 * The workflow registry: `v1.AdminService/PutWorkflow` with upstream's validation, action-id
 * normalisation and versioning by content checksum.
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
import { Action, actionToJSON } from "@effect-hatchet/proto/v1/shared/condition"
import { createHash } from "node:crypto"
import { isValidDuration, parseDuration } from "./duration.js"
import { internal, invalidArgument } from "./errors.js"
import { tenantOf } from "./tenants.js"
import { newId } from "./ids.js"
import { goMarshal, parseJson } from "./json.js"
import type { EngineState, Step, StepKind, WorkflowVersion } from "./model.js"
import { latestVersion } from "./model.js"
import { cronError, durationError, FieldErrors, hatchetNameError, hatchetNamePattern } from "./validation.js"

/** Execution timeout when a step has none (`convert_duration_to_interval('')`). */
export const defaultTimeoutMs = 5 * 60_000
/** Schedule timeout when a step has none. */
export const defaultScheduleTimeout = "5m"

const firstToLower = (s: string) => (s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1))

/**
 * `types.ParseActionID(...).String()`: service first character lower-cased, verb fully
 * lower-cased, optional sub-resource first character lower-cased. Undefined when not 2 or 3
 * colon-separated parts.
 */
export const normalizeActionId = (action: string): string | undefined => {
  const parts = action.split(":")
  if (parts.length < 2 || parts.length > 3) return undefined
  const service = firstToLower(parts[0]!)
  const verb = parts[1]!.toLowerCase()
  return parts.length === 3 ? `${service}:${verb}:${firstToLower(parts[2]!)}` : `${service}:${verb}`
}

// -----------------------------------------------------------------------------
// cron syntax (robfig/cron with optional seconds, no descriptors)
// -----------------------------------------------------------------------------

const months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
const days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

const fieldValue = (raw: string, names: ReadonlyArray<string> | undefined, offset: number) => {
  if (/^\d+$/.test(raw)) return Number(raw)
  const index = names?.indexOf(raw.toUpperCase()) ?? -1
  return index >= 0 ? index + offset : undefined
}

const validCronField = (field: string, min: number, max: number, names?: ReadonlyArray<string>) =>
  field.split(",").every((part) => {
    const [range, step, ...rest] = part.split("/")
    if (rest.length > 0 || range === undefined || range === "") return false
    if (step !== undefined && !/^\d+$/.test(step)) return false
    if (range === "*" || range === "?") return true
    const [lo, hi, ...more] = range.split("-")
    if (more.length > 0) return false
    const low = fieldValue(lo!, names, min)
    const high = hi === undefined ? low : fieldValue(hi, names, min)
    return low !== undefined && high !== undefined && low >= min && high <= max && low <= high
  })

export const isValidCron = (expression: string): boolean => {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5 && fields.length !== 6) return false
  const withSeconds = fields.length === 6 ? fields : ["0", ...fields]
  const bounds: ReadonlyArray<readonly [number, number, ReadonlyArray<string>?]> = [
    [0, 59],
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12, months],
    [0, 6, days]
  ]
  return withSeconds.every((field, i) => validCronField(field, bounds[i]![0], bounds[i]![1], bounds[i]![2]))
}

// -----------------------------------------------------------------------------
// validation
// -----------------------------------------------------------------------------

/** Checks done while converting the request (`getCreateTaskOpts`), before `ValidateAPI`. */
const checkTasks = (tasks: ReadonlyArray<CreateTaskOpts>, kind: StepKind) => {
  if (tasks.length === 0) throw internal()
  const readableIds = new Set<string>()
  for (const task of tasks) {
    if (task.action === "" || task.readableId === "" || normalizeActionId(task.action) === undefined) throw internal()
    readableIds.add(task.readableId)
  }
  for (const task of tasks) {
    for (const parent of task.parents) {
      if (!readableIds.has(parent)) {
        const message = `dag parent not found: parent step '${parent}' not found for step '${task.readableId}'`
        // upstream converts this error to a status only for the regular tasks
        throw kind === "DEFAULT" ? invalidArgument(message) : internal()
      }
    }
    for (const concurrency of task.concurrency) {
      if (concurrency.expression === "") {
        throw invalidArgument(`CEL expression is required for concurrency (step ${task.readableId})`)
      }
    }
  }
}

const allowedStrategies = "CANCEL_IN_PROGRESS GROUP_ROUND_ROBIN CANCEL_NEWEST"

const enumName = (value: number, toJSON: (v: never) => string) => {
  const name = toJSON(value as never)
  return name === "UNRECOGNIZED" ? `${value}` : name
}

const validateTask = (errors: FieldErrors, ns: string, task: CreateTaskOpts) => {
  if (!hatchetNamePattern.test(task.readableId)) errors.message(`${ns}.ReadableId`, hatchetNameError)
  if (task.timeout !== "" && !isValidDuration(task.timeout)) errors.message(`${ns}.Timeout`, durationError)
  if (task.scheduleTimeout !== undefined && !isValidDuration(task.scheduleTimeout)) {
    errors.message(`${ns}.ScheduleTimeout`, durationError)
  }
  task.parents.forEach((parent, i) => {
    if (!hatchetNamePattern.test(parent)) errors.message(`${ns}.Parents[${i}]`, hatchetNameError)
  })
  if (task.retries < 0) errors.condition(`${ns}.Retries`, "min", "0", { _tag: "int", value: task.retries })
  task.rateLimits.forEach((limit, i) => {
    if (limit.key === "") errors.condition(`${ns}.RateLimits[${i}].Key`, "required")
  })
  if (task.backoffFactor !== undefined) {
    if (task.backoffFactor < 1) errors.condition(`${ns}.RetryBackoffFactor`, "min", "1")
    else if (task.backoffFactor > 1000) errors.condition(`${ns}.RetryBackoffFactor`, "max", "1000")
    const max = task.backoffMaxSeconds ?? 86_400
    if (max < 1) errors.condition(`${ns}.RetryBackoffMaxSeconds`, "min", "1", { _tag: "int", value: max })
    else if (max > 86_400) errors.condition(`${ns}.RetryBackoffMaxSeconds`, "max", "86400", { _tag: "int", value: max })
  }
  for (const [slotType, units] of Object.entries(task.slotRequests)) {
    if (units <= 0) errors.condition(`${ns}.SlotRequests[${slotType}]`, "gt", "0")
  }
  const conditions = task.conditions
  if (conditions !== undefined) {
    const all = [
      ...conditions.userEventConditions.map((c) => ({ base: c.base, sleepFor: undefined })),
      ...conditions.sleepConditions.map((c) => ({ base: c.base, sleepFor: c.sleepFor })),
      ...conditions.parentOverrideConditions.map((c) => ({ base: c.base, sleepFor: undefined }))
    ].filter((c) => c.base !== undefined)
    all.forEach((condition, i) => {
      const cns = `${ns}.TriggerConditions[${i}]`
      if (condition.sleepFor !== undefined && condition.sleepFor !== "" && !isValidDuration(condition.sleepFor)) {
        errors.message(`${cns}.SleepDuration`, durationError)
      }
      if (condition.base!.readableDataKey === "") errors.condition(`${cns}.ReadableDataKey`, "required")
      const action = condition.base!.action
      if (action !== Action.QUEUE && action !== Action.CANCEL && action !== Action.SKIP) {
        errors.condition(`${cns}.Action`, "oneof", "QUEUE CANCEL SKIP", {
          _tag: "string",
          value: enumName(action, actionToJSON)
        })
      }
    })
  }
  validateConcurrency(errors, ns, task.concurrency)
}

/** `limit_strategy` must be CANCEL_IN_PROGRESS, GROUP_ROUND_ROBIN or CANCEL_NEWEST. */
const validateConcurrency = (errors: FieldErrors, ns: string, concurrencies: ReadonlyArray<Concurrency>) =>
  concurrencies.forEach((concurrency, i) => {
    const strategy = concurrency.limitStrategy
    if (
      strategy !== undefined && strategy !== ConcurrencyLimitStrategy.CANCEL_IN_PROGRESS &&
      strategy !== ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN && strategy !== ConcurrencyLimitStrategy.CANCEL_NEWEST
    ) {
      errors.condition(`${ns}.Concurrency[${i}].LimitStrategy`, "oneof", allowedStrategies, {
        _tag: "string",
        value: enumName(strategy, concurrencyLimitStrategyToJSON)
      })
    }
  })

/** The workflow-level concurrency settings: the deprecated single field, then the array. */
const workflowConcurrency = (request: CreateWorkflowVersionRequest): Array<Concurrency> =>
  [...(request.concurrency !== undefined ? [request.concurrency] : []), ...request.concurrencyArr]

/** Upstream `ValidateAPI(CreateWorkflowVersionOpts)`, in struct-field order. */
const validateRequest = (request: CreateWorkflowVersionRequest): FieldErrors => {
  const errors = new FieldErrors()
  const ns = "CreateWorkflowVersionOpts"
  if (request.name === "") errors.condition(`${ns}.Name`, "required")
  else if (!hatchetNamePattern.test(request.name)) errors.message(`${ns}.Name`, hatchetNameError)
  request.cronTriggers.forEach((cron, i) => {
    if (!isValidCron(cron)) errors.message(`${ns}.CronTriggers[${i}]`, cronError)
  })
  request.tasks.forEach((task, i) => validateTask(errors, `${ns}.Tasks[${i}]`, task))
  if (request.onFailureTask !== undefined) validateTask(errors, `${ns}.OnFailure`, request.onFailureTask)
  validateConcurrency(errors, ns, workflowConcurrency(request))
  if (request.sticky !== undefined && request.sticky !== StickyStrategy.SOFT && request.sticky !== StickyStrategy.HARD) {
    errors.condition(`${ns}.Sticky`, "oneof", "SOFT HARD", {
      _tag: "string",
      value: enumName(request.sticky, stickyStrategyToJSON)
    })
  }
  if (request.defaultPriority !== undefined) {
    if (request.defaultPriority < 1) errors.condition(`${ns}.DefaultPriority`, "min", "1")
    else if (request.defaultPriority > 3) errors.condition(`${ns}.DefaultPriority`, "max", "3")
  }
  const idempotency = request.idempotency
  if (idempotency !== undefined) {
    if (idempotency.expression === "") errors.condition(`${ns}.Idempotency.Expression`, "required")
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

/** "job X has a cycle": a plain error upstream, hence INTERNAL. */
const checkAcyclic = (tasks: ReadonlyArray<CreateTaskOpts>) => {
  const parents = new Map(tasks.map((t) => [t.readableId, t.parents]))
  const state = new Map<string, "visiting" | "done">()
  const visit = (id: string): void => {
    const mark = state.get(id)
    if (mark === "done") return
    if (mark === "visiting") throw internal()
    state.set(id, "visiting")
    for (const parent of parents.get(id) ?? []) visit(parent)
    state.set(id, "done")
  }
  for (const task of tasks) visit(task.readableId)
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

const buildStep = (task: CreateTaskOpts, kind: StepKind, index: number): Step => ({
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
  index
})

/** `v1.AdminService/PutWorkflow`: validates, then stores a new version unless the content is unchanged. */
export const putWorkflow = (
  state: EngineState,
  tenantId: string,
  request: CreateWorkflowVersionRequest,
  now: number
): WorkflowVersion => {
  const tenant = tenantOf(state, tenantId)
  checkTasks(request.tasks, "DEFAULT")
  if (request.onFailureTask !== undefined) checkTasks([request.onFailureTask], "ON_FAILURE")
  for (const concurrency of workflowConcurrency(request)) {
    if (concurrency.expression === "") throw invalidArgument("CEL expression is required for concurrency")
  }
  for (const filter of request.defaultFilters) {
    if (filter.payload !== undefined && parseJson(Buffer.from(filter.payload).toString("utf8")) === undefined) {
      throw internal()
    }
  }
  const errors = validateRequest(request)
  if (!errors.isEmpty) throw invalidArgument(errors.render())
  checkAcyclic(request.tasks)

  const checksum = checksumOf(request)
  let workflow = tenant.workflowsByName.get(request.name)
  if (workflow !== undefined && latestVersion(workflow).checksum === checksum) return latestVersion(workflow)
  if (workflow === undefined) {
    workflow = { id: newId(), tenantId, name: request.name, createdAt: now, updatedAt: now, versions: [], filters: [] }
    tenant.workflowsByName.set(workflow.name, workflow)
    tenant.workflowsById.set(workflow.id, workflow)
  }
  workflow.updatedAt = now
  if (request.defaultFilters.length > 0) {
    workflow.filters = request.defaultFilters.map((f) => ({
      id: newId(),
      scope: f.scope,
      expression: f.expression,
      payload: f.payload !== undefined ? parseJson(Buffer.from(f.payload).toString("utf8")) ?? null : null
    }))
  }

  const steps = request.tasks.map((task, i) => buildStep(task, "DEFAULT", i))
  const onFailure = request.onFailureTask !== undefined
    ? buildStep(request.onFailureTask, "ON_FAILURE", steps.length)
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
    request
  }
  workflow.versions.push(version)
  state.workflowVersionsById.set(version.id, version)
  return version
}
