/**
 * A registration as upstream stores it and checksums it: the Go `v1.CreateWorkflowVersionOpts`
 * built by `getCreateWorkflowOpts` (`internal/services/admin/v1/server.go`), after
 * `mergeWorkflowConcurrencyOntoSingleTask` and `checksumV1` (`pkg/repository/workflow.go`), as the
 * JSON map upstream writes to `WorkflowVersion.createWorkflowVersionOpts` and hashes into the
 * version's checksum: Go field names where the struct has no json tag (`Name`, `Tasks`,
 * `ReadableId`…), keys sorted, tasks in topological order (ties by name), or-groups numbered in
 * that order (a condition without a group gets one of its own; the on-failure task's keep index
 * 0; the ids themselves are not kept), byte fields base64. A user event's `consider_events_since`
 * and scope are not part of it, nor the request's `version`.
 *
 * `PutWorkflowVersion` keeps the latest version when the checksum is unchanged, so what this
 * leaves out does not make a new version: re-registering a workflow whose tasks are listed in
 * another order, or whose or-groups have other ids, keeps its version.
 *
 * @internal
 */
import { actionToJSON, type TaskConditions } from "@effect-hatchet/proto/v1/shared/condition"
import { workerLabelComparatorToJSON } from "@effect-hatchet/proto/v1/shared/trigger"
import {
  type Concurrency,
  concurrencyLimitStrategyToJSON,
  type CreateTaskOpts,
  type CreateWorkflowVersionRequest,
  idempotencyMethodToJSON,
  rateLimitDurationToJSON,
  stickyStrategyToJSON
} from "@effect-hatchet/proto/v1/workflows"
import { createHash } from "node:crypto"
import { nilUuid, parseUuid } from "./ids.js"
import { base64, goMarshal, isJsonObject, parseJson } from "./json.js"
import { mergesOntoTask, normalizeActionId, onlyDefaultSlot, taskConcurrency, workflowConcurrency } from "./workflowValidation.js"

/** `v1.CreateConcurrencyOpts`: a limit strategy only when one was sent. */
const concurrencyOpts = (c: Concurrency) => ({
  MaxRuns: c.maxRuns ?? null,
  LimitStrategy: c.limitStrategy === undefined ? null : concurrencyLimitStrategyToJSON(c.limitStrategy),
  Expression: c.expression
})

/**
 * The or-group a condition's `or_group_id` names, as upstream keys it (the parsed UUID), or
 * `undefined` for none (empty or the nil UUID): such a condition is a group of its own. The id
 * is already validated.
 */
export const orGroupOf = (id: string): string | undefined => {
  if (id === "") return undefined
  const parsed = parseUuid(id)
  return parsed.ok && parsed.value !== nilUuid ? parsed.value : undefined
}

/** The or-groups of a workflow's tasks numbered as `checksumV1` numbers them, in task order. */
const orGroups = () => {
  const indices = new Map<string, number>()
  let fresh = 0
  return (id: string): number => {
    const key = orGroupOf(id) ?? `fresh-${fresh++}`
    const known = indices.get(key)
    if (known !== undefined) return known
    indices.set(key, indices.size)
    return indices.size - 1
  }
}

/** `CreateStepMatchConditionOpt`s: user events, then sleeps, then parent overrides, as `getCreateTaskOpts` adds them. */
const triggerConditions = (conditions: TaskConditions | undefined, group: (id: string) => number) => {
  if (conditions === undefined) return []
  const out: Array<Record<string, unknown>> = []
  const condition = (
    b: { readonly readableDataKey: string; readonly action: number; readonly orGroupId: string; readonly expression: string },
    kind: string,
    fields: { readonly SleepDuration?: string; readonly EventKey?: string; readonly ParentReadableId?: string },
    expression: string
  ) => ({
    SleepDuration: fields.SleepDuration ?? null,
    EventKey: fields.EventKey ?? null,
    ParentReadableId: fields.ParentReadableId ?? null,
    MatchConditionKind: kind,
    ReadableDataKey: b.readableDataKey,
    Action: actionToJSON(b.action),
    Expression: expression,
    OrGroupIdIndex: group(b.orGroupId)
  })
  for (const c of conditions.userEventConditions) {
    if (c.base) out.push(condition(c.base, "USER_EVENT", { EventKey: c.userEventKey }, c.base.expression))
  }
  for (const c of conditions.sleepConditions) {
    if (c.base) out.push(condition(c.base, "SLEEP", { SleepDuration: c.sleepFor }, ""))
  }
  for (const c of conditions.parentOverrideConditions) {
    if (c.base) {
      out.push(
        condition(
          { ...c.base, readableDataKey: c.parentReadableId },
          "PARENT_OVERRIDE",
          { ParentReadableId: c.parentReadableId },
          c.base.expression
        )
      )
    }
  }
  return out
}

/** `v1.CreateStepOpts` of a task (`getCreateTaskOpts`; slot requests of one default slot are dropped, as `checksumV1` does). */
const stepOpts = (task: CreateTaskOpts, concurrency: ReadonlyArray<Concurrency>, group: (id: string) => number) => {
  const labels = Object.entries(task.workerLabels)
  const slots = Object.entries(task.slotRequests)
  return {
    ReadableId: task.readableId,
    Action: normalizeActionId(task.action) ?? task.action,
    Timeout: task.timeout === "" ? null : task.timeout,
    ScheduleTimeout: task.scheduleTimeout ?? null,
    Parents: task.parents,
    Retries: task.retries,
    RateLimits: task.rateLimits.map((limit) => ({
      Key: limit.key,
      KeyExpr: limit.keyExpr ?? null,
      Units: limit.units ?? null,
      UnitsExpr: limit.unitsExpr ?? null,
      LimitExpr: limit.limitValuesExpr ?? null,
      Duration: limit.duration === undefined ? null : rateLimitDurationToJSON(limit.duration)
    })),
    DesiredWorkerLabels: labels.length === 0 ? null : Object.fromEntries(labels.map(([key, label]) => [key, {
      Key: key,
      IntValue: label.intValue ?? null,
      StrValue: label.strValue ?? null,
      Required: label.required ?? null,
      Weight: label.weight ?? null,
      Comparator: label.comparator === undefined ? null : workerLabelComparatorToJSON(label.comparator)
    }])),
    RetryBackoffFactor: task.backoffFactor ?? null,
    RetryBackoffMaxSeconds: task.backoffFactor === undefined ? null : task.backoffMaxSeconds ?? 24 * 60 * 60,
    ...(task.isDurable ? { isDurable: true } : {}),
    ...(slots.length > 0 && !onlyDefaultSlot(slots) ? { slotRequests: Object.fromEntries(slots) } : {}),
    TriggerConditions: triggerConditions(task.conditions, group),
    ...(concurrency.length > 0 ? { concurrency: concurrency.map(concurrencyOpts) } : {}),
    ...(task.batch !== undefined ?
      {
        batchConfig: {
          batchMaxSize: task.batch.batchMaxSize,
          batchMaxInterval: task.batch.batchMaxIntervalMs ?? 1000,
          batchGroupKey: task.batch.batchGroupKey !== undefined && task.batch.batchGroupKey !== ""
            ? task.batch.batchGroupKey
            : "'default'",
          batchGroupMaxRuns: task.batch.batchGroupMaxRuns ?? 100,
          ...(task.batch.broadcastOutput === true ? { broadcastOutput: true } : {})
        }
      } :
      {})
  }
}

/** `orderWorkflowStepsV1`: Kahn's order, the ready tasks taken by name at each step. */
const topological = (tasks: ReadonlyArray<CreateTaskOpts>): Array<CreateTaskOpts> => {
  const byId = new Map(tasks.map((task) => [task.readableId, task]))
  const inDegree = new Map(tasks.map((task) => [task.readableId, 0]))
  const children = new Map<string, Array<string>>()
  for (const task of tasks) {
    for (const parent of task.parents) {
      children.set(parent, [...(children.get(parent) ?? []), task.readableId])
      inDegree.set(task.readableId, inDegree.get(task.readableId)! + 1)
    }
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const queue = [...inDegree].filter(([, degree]) => degree === 0).map(([id]) => id).sort(byName)
  const ordered: Array<CreateTaskOpts> = []
  while (queue.length > 0) {
    const id = queue.shift()!
    ordered.push(byId.get(id)!)
    const ready: Array<string> = []
    for (const child of children.get(id) ?? []) {
      inDegree.set(child, inDegree.get(child)! - 1)
      if (inDegree.get(child) === 0) ready.push(child)
    }
    for (const child of ready.sort(byName)) queue.push(child)
  }
  return ordered
}

/** The stored `CreateWorkflowVersionOpts` of a registration as a JSON map (see the module's description). */
export const workflowVersionOpts = (request: CreateWorkflowVersionRequest): JsonRecord => {
  const group = orGroups()
  const merged = workflowConcurrency(request)
  const tasks = topological(request.tasks).map((task) => stepOpts(task, taskConcurrency(request, task), group))
  // `checksumV1` numbers the or-groups of the tasks only: the on-failure task's keep index 0
  const onFailure = request.onFailureTask && stepOpts(request.onFailureTask, request.onFailureTask.concurrency, () => 0)
  const filters = request.defaultFilters.map((filter) => {
    const payload = filter.payload === undefined ? undefined : parseJson(Buffer.from(filter.payload).toString("utf8"))
    return {
      expression: filter.expression,
      scope: filter.scope,
      ...(isJsonObject(payload) && Object.keys(payload).length > 0 ? { payload } : {})
    }
  })
  const config = {
    Name: request.name,
    description: request.description,
    EventTriggers: request.eventTriggers.length === 0 ? null : request.eventTriggers,
    CronTriggers: request.cronTriggers.length === 0 ? null : request.cronTriggers,
    CronInput: request.cronInput === undefined ? null : base64(Buffer.from(request.cronInput, "utf8")),
    Tasks: tasks,
    ...(onFailure !== undefined ? { onFailureJob: onFailure } : {}),
    // a single task holds the workflow's strategies (`mergeWorkflowConcurrencyOntoSingleTask`)
    ...(merged.length > 0 && !mergesOntoTask(request) ? { concurrency: merged.map(concurrencyOpts) } : {}),
    Sticky: request.sticky === undefined ? null : stickyStrategyToJSON(request.sticky),
    DefaultPriority: request.defaultPriority ?? null,
    ...(filters.length > 0 ? { defaultFilters: filters } : {}),
    ...(request.inputJsonSchema !== undefined && request.inputJsonSchema.length > 0
      ? { inputJsonSchema: base64(request.inputJsonSchema) }
      : {}),
    ...(request.idempotency !== undefined ?
      {
        idempotency: {
          expression: request.idempotency.expression,
          ttlMs: request.idempotency.ttlMs,
          method: idempotencyMethodToJSON(request.idempotency.method ?? 0)
        }
      } :
      {})
  }
  // stored as jsonb and read back into a Go map: keys sorted at every level
  return JSON.parse(goMarshal(config)) as JsonRecord
}

type JsonRecord = Record<string, unknown>

/**
 * Concurrency settings newer than the reference contract (`Concurrency` fields 4 to 6), which its
 * stored opts do not hold: keyed by task, `null` where a strategy has none, `undefined` when no
 * strategy has any (the checksum is then the stored opts' alone).
 */
const newerConcurrency = (request: CreateWorkflowVersionRequest) => {
  const newer = (c: Concurrency) =>
    c.name === undefined && c.isTenantScoped === undefined && c.maxRunsExpression === undefined
      ? null
      : { name: c.name ?? null, isTenantScoped: c.isTenantScoped ?? null, maxRunsExpression: c.maxRunsExpression ?? null }
  const tasks = request.onFailureTask !== undefined ? [...request.tasks, request.onFailureTask] : request.tasks
  const all = {
    workflow: workflowConcurrency(request).map(newer),
    tasks: Object.fromEntries(tasks.map((task) => [task.readableId, task.concurrency.map(newer)]))
  }
  return [...all.workflow, ...Object.values(all.tasks).flat()].some((entry) => entry !== null) ? all : undefined
}

/**
 * The checksum of a registration (upstream `checksumV1`): the SHA-256 of its stored opts (with the
 * newer concurrency settings, when any). Equal checksums are an unchanged workflow.
 */
export const workflowVersionChecksum = (request: CreateWorkflowVersionRequest): string => {
  const opts = workflowVersionOpts(request)
  const newer = newerConcurrency(request)
  return createHash("sha256").update(goMarshal(newer === undefined ? opts : { opts, newer })).digest("hex")
}
