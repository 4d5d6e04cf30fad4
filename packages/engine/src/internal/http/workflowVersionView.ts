/**
 * `WorkflowVersion` of `GET /api/v1/workflows/{workflow}/versions` as upstream's
 * `transformers.ToWorkflowVersion` writes it:
 *
 * - `workflowConfig`: the registration as upstream stores it (`WorkflowVersion.createWorkflowVersionOpts`,
 *   the Go `v1.CreateWorkflowVersionOpts` built by `getCreateWorkflowOpts` of
 *   `internal/services/admin/v1/server.go`, after `mergeWorkflowConcurrencyOntoSingleTask` and
 *   `checksumV1` of `pkg/repository/workflow.go`), read back as a JSON map: Go field names where the
 *   struct has no json tag (`Name`, `Tasks`, `ReadableId`…), keys sorted, tasks in topological
 *   order (ties by name), or-groups numbered in that order, byte fields base64;
 * - `scheduleTimeout` the column's default `5m`, `defaultPriority` 0 when none was declared,
 *   `sticky` `soft` / `hard`, `workflowId` "" (upstream leaves the field unset);
 * - `workflow`: the path's workflow as the lists show it (`ToWorkflowFromSQLC`);
 * - `triggers`: the cron refs (declared and API crons, which follow the latest version) and event
 *   refs (`parent_id`, `cron` / `event_key`: the schema's snake case), each with the id of the
 *   version's trigger set; a list that is empty is left out;
 * - `v1Concurrency`: the task strategies (not the per-task shares of a workflow strategy), then
 *   the workflow's.
 *
 * @internal
 */
import { actionToJSON, type TaskConditions } from "@effect-hatchet/proto/v1/shared/condition"
import { workerLabelComparatorToJSON } from "@effect-hatchet/proto/v1/shared/trigger"
import {
  type Concurrency,
  concurrencyLimitStrategyToJSON,
  type CreateTaskOpts,
  idempotencyMethodToJSON,
  rateLimitDurationToJSON,
  stickyStrategyToJSON
} from "@effect-hatchet/proto/v1/workflows"
import { derivedId, nilUuid } from "../domain/ids.js"
import { base64, goMarshal, isJsonObject, parseJson } from "../domain/json.js"
import type { EngineState, Workflow, WorkflowVersion } from "../domain/model.js"
import { latestVersion } from "../domain/model.js"
import { mergesOntoTask, normalizeActionId, onlyDefaultSlot, taskConcurrency, workflowConcurrency } from "../domain/workflowValidation.js"
import * as Views from "./views.js"

/** `v1.CreateConcurrencyOpts`: a limit strategy only when one was sent. */
const concurrencyOpts = (c: Concurrency) => ({
  MaxRuns: c.maxRuns ?? null,
  LimitStrategy: c.limitStrategy === undefined ? null : concurrencyLimitStrategyToJSON(c.limitStrategy),
  Expression: c.expression
})

/**
 * The or-group ids of a workflow's tasks as `checksumV1` numbers them, in task order: a condition
 * without one (empty or the nil UUID) gets a fresh group of its own.
 */
const orGroups = () => {
  const indices = new Map<string, number>()
  return (id: string): number => {
    const key = id === "" || id === nilUuid ? `fresh-${indices.size}` : id.toLowerCase()
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

/** `workflowConfig`: the stored `CreateWorkflowVersionOpts` as a JSON map (see the module's description). */
export const workflowConfig = (version: WorkflowVersion): JsonRecord => {
  const request = version.request
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

/** `WorkflowTriggers`: the version's cron refs (the workflow's crons follow its latest version) and event refs. */
const triggers = (state: EngineState, version: WorkflowVersion) => {
  // upstream's `WorkflowTriggers` row of the version
  const parentId = derivedId("workflow-triggers", version.id)
  const workflow = version.workflow
  const isLatest = latestVersion(workflow) === version
  const crons = isLatest
    ? [...(state.tenants.get(workflow.tenantId)?.crons.values() ?? [])].filter((cron) => cron.workflow === workflow)
    : []
  return {
    ...(crons.length > 0 ? { crons: crons.map((cron) => ({ parent_id: parentId, cron: cron.expression })) } : {}),
    ...(version.eventTriggers.length > 0
      ? { events: version.eventTriggers.map((eventKey) => ({ parent_id: parentId, event_key: eventKey })) }
      : {})
  }
}

/** `ToV1Concurrency`: task strategies (`scope` TASK, with the task's name), then the workflow's (`scope` WORKFLOW). */
const v1Concurrency = (version: WorkflowVersion) => [
  ...version.steps.flatMap((step) =>
    step.concurrency.filter((strategy) => strategy.parent === undefined).map(({ settings }) => ({
      stepReadableId: step.readableId,
      expression: settings.expression,
      limitStrategy: settings.limitStrategy,
      maxRuns: settings.maxRuns,
      scope: "TASK" as const
    }))
  ),
  ...version.concurrency.map(({ settings }) => ({
    expression: settings.expression,
    limitStrategy: settings.limitStrategy,
    maxRuns: settings.maxRuns,
    scope: "WORKFLOW" as const
  }))
]

/** `WorkflowVersion` of `version`, shown under the path's `workflow` (see the module's description). */
export const workflowVersion = (state: EngineState, version: WorkflowVersion, workflow: Workflow) => {
  const schema = version.inputJsonSchema
  return {
    metadata: Views.resourceMeta(version.id, version.createdAt),
    version: version.version,
    order: version.order,
    workflowId: "",
    ...(version.sticky !== undefined ? { sticky: version.sticky === 1 ? "hard" : "soft" } : {}),
    defaultPriority: version.defaultPriority ?? 0,
    workflow: Views.workflow(workflow, { withVersion: false }),
    triggers: triggers(state, version),
    scheduleTimeout: "5m",
    workflowConfig: workflowConfig(version),
    v1Concurrency: v1Concurrency(version),
    ...(isJsonObject(schema) ? { inputJsonSchema: schema } : {})
  }
}
