/**
 * REST representations (OpenAPI `components/schemas`, camelCase JSON) of the domain objects:
 * `Tenant`, `V1WorkflowRun`, `V1TaskSummary`, `V1TaskEvent`, `V1WorkflowRunDetails`, `Worker`,
 * `V1TaskSummaryList`, `V1LogLine`, `Workflow`, `ScheduledWorkflows`, `CronWorkflows`,
 * `V1DurableEventLogEntry`, and the `PaginationResponse` of lists.
 *
 * @internal
 */
import type { JsonValue } from "../domain/json.js"
import { isJsonObject, parseJson, parseJsonObject } from "../domain/json.js"
import type {
  CronTrigger,
  DurableEntry,
  DurableWaitCondition,
  DurableWaitData,
  EngineState,
  EventFilter,
  PushedEvent,
  LogLine,
  RateLimit,
  Run,
  ScheduledRun,
  Task,
  TaskEvent,
  Tenant,
  Worker,
  Workflow
} from "../domain/model.js"
import { latestVersion, runStatus, taskError, taskFinishedAt, taskOutput, taskStatus } from "../domain/model.js"
import * as RateLimits from "../domain/rateLimits.js"
import { eventRuns, runTasks } from "../domain/queries.js"

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

/** `APIResourceMeta`. */
export const resourceMeta = (id: string, createdAt: number, updatedAt = createdAt) => ({
  id,
  createdAt: iso(createdAt)!,
  updatedAt: iso(updatedAt)!
})

/** `openapi.NonNullableJSON`: objects as they are, anything else as `{}`. */
const objectOr = (value: JsonValue | undefined): JsonValue => (isJsonObject(value) ? value : {})

/** A task's display name as upstream stores it: `<readable id>-<creation time in unix ms>`. */
export const taskDisplayName = (task: Task) => `${task.step.readableId}-${task.createdAt}`

/** A run's display name: `<workflow name>-<creation time in unix ms>`, its task's for a single task. */
export const runDisplayName = (run: Run) => {
  const single = run.isDag ? undefined : runTasks(run)[0]
  return single !== undefined ? taskDisplayName(single) : `${run.workflow.name}-${run.createdAt}`
}

export const tenant = (t: Tenant) => ({
  metadata: resourceMeta(t.id, t.createdAt),
  name: t.name,
  slug: t.slug,
  analyticsOptOut: true,
  alertMemberEmails: false,
  version: "V1" as const,
  environment: "local" as const
})

export const taskEvent = (task: Task, event: TaskEvent) => ({
  id: event.id,
  taskId: task.externalId,
  timestamp: iso(event.timestamp)!,
  eventType: event.eventType,
  message: event.message,
  ...(event.errorMessage !== undefined ? { errorMessage: event.errorMessage } : {}),
  ...(event.output !== undefined ? { output: event.output } : {}),
  ...(event.workerId !== undefined ? { workerId: event.workerId } : {}),
  taskDisplayName: taskDisplayName(task),
  retryCount: event.retryCount,
  attempt: event.retryCount + 1
})

const waitCondition = (c: DurableWaitCondition) => ({
  ...(c.eventKey !== undefined ? { eventKey: c.eventKey } : {}),
  kind: c.kind,
  ...(c.sleepDurationMs !== undefined ? { sleepDurationMs: c.sleepDurationMs } : {}),
  ...(c.workflowName !== undefined ? { workflowName: c.workflowName } : {})
})

/** `V1WaitData`: one item per condition alone in its or-group, then one `or` item per group of several. */
const waitData = (data: DurableWaitData) => [
  ...data.conditions.map(waitCondition),
  ...data.orGroups.map((group) => ({ or: group.map(waitCondition) }))
]

/** `V1DurableEventLogEntry` (fields in upstream's generated order). */
export const durableEventLogEntry = (task: Task, entry: DurableEntry) => {
  const wait = entry.waitData === undefined ? [] : waitData(entry.waitData)
  return {
    branchId: entry.branchId,
    insertedAt: iso(entry.createdAt)!,
    isSatisfied: entry.satisfied,
    kind: entry.kind,
    nodeId: entry.nodeId,
    ...(entry.satisfiedAt !== undefined ? { satisfiedAt: iso(entry.satisfiedAt) } : {}),
    taskDisplayName: taskDisplayName(task),
    taskExternalId: task.externalId,
    ...(entry.kind === "WAIT_FOR" && entry.label !== undefined ? { userMessage: entry.label } : {}),
    ...(wait.length > 0 ? { waitData: wait } : {})
  }
}

export const taskSummary = (task: Task) => {
  const run = task.run
  const finishedAt = taskFinishedAt(task)
  const duration = task.startedAt !== undefined && finishedAt !== undefined ? finishedAt - task.startedAt : undefined
  return {
    metadata: resourceMeta(task.externalId, task.createdAt, finishedAt ?? task.startedAt ?? task.createdAt),
    actionId: task.step.action,
    retryCount: task.retryCount,
    attempt: task.retryCount + 1,
    additionalMetadata: run.metadata,
    createdAt: iso(task.createdAt)!,
    displayName: taskDisplayName(task),
    ...(duration !== undefined ? { duration } : {}),
    isDurable: task.step.isDurable,
    ...(task.state._tag === "Failed" ? { errorMessage: task.state.error } : {}),
    ...(finishedAt !== undefined ? { finishedAt: iso(finishedAt) } : {}),
    input: objectOr(run.input),
    numSpawnedChildren: task.spawned.size,
    output: task.state._tag === "Completed" ? objectOr(parseJson(task.state.output)) : {},
    status: taskStatus(task),
    isEvicted: task.state._tag === "Evicted",
    ...(task.startedAt !== undefined ? { startedAt: iso(task.startedAt) } : {}),
    stepId: task.step.id,
    taskExternalId: task.externalId,
    taskId: task.id,
    taskInsertedAt: iso(task.createdAt)!,
    tenantId: task.tenantId,
    // upstream's task views (`ToTask`, `ToTaskSummary`) always say TASK
    type: "TASK" as const,
    workflowId: run.workflow.id,
    workflowName: run.workflow.name,
    workflowRunExternalId: run.id,
    workflowVersionId: run.version.id,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

/** The output of a run: the task's output for a single task, else outputs keyed by readable id. */
const runOutput = (run: Run): JsonValue => {
  const tasks = runTasks(run)
  if (!run.isDag) return objectOr(parseJson(tasks[0] !== undefined ? taskOutput(tasks[0]) : undefined))
  const outputs: Record<string, JsonValue> = {}
  for (const task of tasks) {
    if (task.state._tag === "Completed") outputs[task.step.readableId] = parseJson(task.state.output) ?? null
  }
  return outputs
}

export const workflowRun = (run: Run) => {
  const tasks = runTasks(run)
  const started = tasks.map((t) => t.startedAt).filter((t): t is number => t !== undefined)
  const startedAt = started.length > 0 ? Math.min(...started) : undefined
  const failed = tasks.find((t) => t.state._tag === "Failed")
  return {
    metadata: resourceMeta(run.id, run.createdAt, run.finishedAt ?? run.createdAt),
    status: runStatus(run),
    ...(startedAt !== undefined ? { startedAt: iso(startedAt) } : {}),
    ...(run.finishedAt !== undefined ? { finishedAt: iso(run.finishedAt) } : {}),
    ...(startedAt !== undefined && run.finishedAt !== undefined ? { duration: run.finishedAt - startedAt } : {}),
    tenantId: run.tenantId,
    additionalMetadata: run.metadata,
    displayName: runDisplayName(run),
    workflowId: run.workflow.id,
    output: runOutput(run),
    ...(failed !== undefined ? { errorMessage: taskError(failed) } : {}),
    workflowVersionId: run.version.id,
    input: objectOr(run.input),
    createdAt: iso(run.createdAt)!,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

/** The events of every task of a run, task by task. */
export const runTaskEvents = (run: Run) => runTasks(run).flatMap((task) => task.events.map((event) => taskEvent(task, event)))

/** `V1WorkflowRunDetails`. */
export const workflowRunDetails = (run: Run) => {
  const tasks = runTasks(run)
  return {
    run: workflowRun(run),
    taskEvents: runTaskEvents(run),
    shape: run.version.steps.map((step) => ({
      taskExternalId: run.taskIds.get(step.id)!,
      stepId: step.id,
      childrenStepIds: step.children.map((child) => child.id),
      taskName: step.readableId
    })),
    tasks: tasks.map(taskSummary),
    workflowConfig: {}
  }
}

/** The language names of `WorkerRuntimeSDKs`, by the proto's `SDKS` value (GO is GOLANG). */
const sdkNames: Record<number, string> = { 1: "GOLANG", 2: "PYTHON", 3: "TYPESCRIPT", 4: "RUBY" }

/**
 * A worker's REST status, as upstream's list filter and view compute it: INACTIVE without a
 * heartbeat in the last 5 s (under `workerLiveness: "connection"`, without an open stream),
 * else PAUSED or ACTIVE.
 */
export const workerStatus = (state: EngineState, w: Worker, now: number): "ACTIVE" | "INACTIVE" | "PAUSED" => {
  const alive = state.options.workerLiveness === "connection"
    ? w.isActive
    : w.lastHeartbeatAt !== undefined && now - w.lastHeartbeatAt < 5_000
  return !alive ? "INACTIVE" : w.isPaused ? "PAUSED" : "ACTIVE"
}

const nilUuid = "00000000-0000-0000-0000-000000000000"

/**
 * `Worker` (upstream `transformers/v1.ToWorkerSqlc`): status, slot types with what is available,
 * runtime info (empty strings for what the worker did not say), its actions and labels (a label's
 * id is the nil UUID, as upstream's). `PATCH` answers the v0 view (`transformers.ToWorkerSqlc`):
 * no labels, and `actions` null.
 */
export const worker = (state: EngineState, w: Worker, now: number, view: "v1" | "v0" = "v1") => {
  const runtime = w.runtimeInfo
  const language = runtime?.language !== undefined ? sdkNames[runtime.language] : undefined
  return {
    metadata: resourceMeta(w.id, w.createdAt, w.lastHeartbeatAt ?? w.createdAt),
    name: w.name,
    type: "SELFHOSTED" as const,
    status: workerStatus(state, w, now),
    ...(w.slotConfig.size > 0 ? {
      slotConfig: Object.fromEntries([...w.slotConfig].map(([slotType, limit]) => [
        slotType,
        { available: limit - (w.slotsUsed.get(slotType) ?? 0), limit }
      ]))
    } : {}),
    runtimeInfo: {
      sdkVersion: runtime?.sdkVersion ?? "",
      ...(language !== undefined ? { language } : {}),
      languageVersion: runtime?.languageVersion ?? "",
      os: runtime?.os ?? "",
      runtimeExtra: runtime?.extra ?? ""
    },
    ...(view === "v1" ? {
      labels: [...w.labels.entries()].map(([key, label]) => ({
        metadata: resourceMeta(nilUuid, w.createdAt),
        key,
        ...(label.strValue !== undefined ? { value: label.strValue } : label.intValue !== undefined ? { value: `${label.intValue}` } : {})
      }))
    } : {}),
    ...(w.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: iso(w.lastHeartbeatAt) } : {}),
    actions: view === "v1" ? [...w.actions] : null
  }
}

/** The workflows with a step this worker serves (upstream `GetWorkerWorkflowsByWorkerId`). */
const registeredWorkflows = (w: Worker, workflows: Iterable<Workflow>) => {
  const actions = new Set([...w.actions].map((action) => action.toLowerCase()))
  const rows: Array<{ id: string; name: string }> = []
  for (const workflow of workflows) {
    const served = workflow.versions.some((version) => version.steps.some((step) => actions.has(step.action.toLowerCase())))
    if (served) rows.push({ id: workflow.id, name: workflow.name })
  }
  return rows
}

/** `Worker` as `GET /api/v1/workers/{worker}` returns it: with its workflows and (no) recent runs. */
export const workerDetails = (state: EngineState, w: Worker, now: number, workflows: Iterable<Workflow>) => ({
  ...worker(state, w, now),
  registeredWorkflows: registeredWorkflows(w, workflows),
  recentStepRuns: []
})

/** `PaginationResponse` (its JSON names are snake_case) of the V1 lists (`ToTaskSummaryMany`): pages of `limit` rows from `offset`. */
export const pagination = (total: number, limit: number, offset: number) => {
  if (limit <= 0) return { current_page: 1, next_page: 2, num_pages: 0 }
  const currentPage = Math.floor(offset / limit) + 1
  return { current_page: currentPage, next_page: currentPage + 1, num_pages: Math.ceil(total / limit) }
}

/** `PaginationResponse` of the older lists (workflows, workers): the next page stops at the last. */
export const pagesOf = (total: number, limit: number, offset: number) => {
  const numPages = limit > 0 ? Math.ceil(total / limit) : 0
  const currentPage = 1 + (limit > 0 ? Math.ceil(offset / limit) : 0)
  return { num_pages: numPages, current_page: currentPage, next_page: currentPage === numPages ? currentPage : currentPage + 1 }
}

const withoutPayloads = <A extends { readonly input: JsonValue; readonly output: JsonValue }>(row: A, include: boolean): A =>
  include ? row : { ...row, input: {}, output: {} }

/** A `workflow-runs?only_tasks=true` row, or a DAG's child (`PopulateTaskRunDataRowToV1TaskSummary`). */
export const taskListRow = (task: Task, includePayloads: boolean) => withoutPayloads(taskSummary(task), includePayloads)

/**
 * A `workflow-runs` row (`WorkflowRunDataToV1TaskSummary`): the run as a summary keyed by the run
 * id (upstream marks every row `DAG`), a DAG's tasks as `children`.
 */
export const runListRow = (run: Run, includePayloads: boolean) => {
  const tasks = runTasks(run)
  const single = run.isDag ? undefined : tasks[0]
  const summary = workflowRun(run)
  return {
    ...withoutPayloads(summary, includePayloads),
    taskExternalId: run.id,
    taskId: single?.id ?? 0,
    taskInsertedAt: summary.createdAt,
    type: "DAG" as const,
    workflowName: run.workflow.name,
    stepId: single?.step.id ?? "00000000-0000-0000-0000-000000000000",
    actionId: single?.step.action ?? "",
    workflowRunExternalId: run.id,
    retryCount: single?.retryCount ?? 0,
    attempt: (single?.retryCount ?? 0) + 1,
    numSpawnedChildren: 0,
    ...(run.isDag ? { children: tasks.map((task) => taskListRow(task, includePayloads)) } : {})
  }
}

/** `V1LogLine`. */
export const logLine = (task: Task, line: LogLine) => ({
  createdAt: iso(line.createdAt)!,
  message: line.message,
  metadata: line.metadata ?? {},
  retryCount: line.retryCount,
  attempt: line.retryCount + 1,
  level: line.level,
  taskExternalId: task.externalId,
  taskDisplayName: taskDisplayName(task)
})

/**
 * `Workflow`: in lists as upstream's `ToWorkflowFromSQLC` (no versions), from
 * `GET /api/v1/workflows/{workflow}` with its latest version (`ToWorkflow`).
 */
export const workflow = (w: Workflow, options: { readonly withVersion: boolean }) => {
  const latest = w.versions.length > 0 ? latestVersion(w) : undefined
  return {
    metadata: resourceMeta(w.id, w.createdAt, w.updatedAt),
    name: w.name,
    description: latest?.description ?? "",
    isPaused: false,
    ...(options.withVersion && latest !== undefined ? {
      versions: [{
        metadata: resourceMeta(latest.id, latest.createdAt),
        version: latest.version,
        order: latest.order,
        workflowId: w.id
      }]
    } : {}),
    // the list's rows (`ToWorkflowFromSQLC`) have no tenant id
    ...(options.withVersion ? { tenantId: w.tenantId } : {})
  }
}

/**
 * `ScheduledWorkflows` (`ToScheduledWorkflowsFromSQLC`): `input` is `{}` when none was stored,
 * `additionalMetadata` null; a row that has not triggered a run still reports Go's zero
 * `workflowRunCreatedAt` and an empty `workflowRunName` (upstream dereferences the NULL columns),
 * and no `workflowRunId` / `workflowRunStatus`.
 */
export const scheduledWorkflows = (scheduled: ScheduledRun) => ({
  metadata: resourceMeta(scheduled.id, scheduled.createdAt, scheduled.updatedAt),
  tenantId: scheduled.tenantId,
  workflowVersionId: scheduled.version.id,
  workflowId: scheduled.workflow.id,
  workflowName: scheduled.workflow.name,
  triggerAt: iso(scheduled.triggerAt)!,
  input: parseJsonObject(scheduled.inputRaw) ?? {},
  additionalMetadata: parseJsonObject(scheduled.metadataRaw) ?? null,
  workflowRunCreatedAt: "0001-01-01T00:00:00Z",
  workflowRunName: "",
  method: scheduled.method,
  priority: scheduled.priority
})

/**
 * `CronWorkflows` (`ToCronWorkflowsFromSQLC` of `api/v1/server/oas/transformers/workflow_run.go`):
 * the workflow's latest version (crons move with it), `input` `{}` when none was stored (null for
 * a stored JSON null), `additionalMetadata` null when none was stored, `name` "" for a declared
 * cron.
 */
export const cronWorkflows = (cron: CronTrigger) => ({
  metadata: resourceMeta(cron.id, cron.createdAt, cron.updatedAt),
  tenantId: cron.tenantId,
  workflowVersionId: latestVersion(cron.workflow).id,
  workflowId: cron.workflow.id,
  workflowName: cron.workflow.name,
  cron: cron.expression,
  name: cron.name,
  input: parseJson(cron.inputRaw) === null ? null : parseJsonObject(cron.inputRaw) ?? {},
  additionalMetadata: parseJsonObject(cron.metadataRaw) ?? null,
  enabled: cron.enabled,
  method: cron.method,
  priority: cron.priority
})

/** `RateLimit` (`ToRateLimitFromSQLC`): the window as stored ("1 SECOND"), the units left now. */
export const rateLimit = (tenantId: string, limit: RateLimit, now: number) => {
  const { lastRefill, value } = RateLimits.current(limit, now)
  return {
    key: limit.key,
    tenantId,
    limitValue: limit.limitValue,
    value,
    window: `1 ${limit.window}`,
    lastRefill: iso(lastRefill)
  }
}

/** `V1Filter` (`ToV1Filter`). */
export const filter = (f: EventFilter) => ({
  expression: f.expression,
  metadata: resourceMeta(f.id, f.createdAt, f.updatedAt),
  payload: f.payload,
  scope: f.scope,
  tenantId: f.tenantId,
  workflowId: f.workflowId,
  isDeclarative: f.isDeclarative
})

/** `V1FilterList`'s `PaginationResponse` (`ToV1FilterList`): the current page counts from 0 there. */
export const filterPagination = (total: number, limit: number, offset: number) => {
  const currentPage = Math.floor(offset / limit)
  return { current_page: currentPage, next_page: currentPage + 1, num_pages: Math.ceil(total / limit) }
}

/** `V1EventList`'s `PaginationResponse` (`ToV1EventList`): the next page stays on the last one. */
export const eventPagination = (total: number, limit: number, offset: number) => {
  const currentPage = Math.floor(offset / limit) + 1
  return {
    current_page: currentPage,
    next_page: total < offset + limit ? currentPage : currentPage + 1,
    num_pages: Math.ceil(total / limit)
  }
}

/**
 * `V1Event` (`ToV1Event`): the event's own metadata and payload (objects, `{}` otherwise), its
 * scope when it has one, the runs it triggered (`null` when none) and their statuses counted.
 * `tenantId` is empty, as upstream's transformer never sets it; `triggeringWebhookName` is
 * always present on `get` (empty when no webhook made the event) and only when set on lists.
 */
export const event = (state: EngineState, e: PushedEvent, options: { readonly forGet: boolean }) => {
  const runs = eventRuns(state, e)
  const summary = { cancelled: 0, succeeded: 0, queued: 0, failed: 0, running: 0 }
  for (const { run } of runs) {
    const status = runStatus(run)
    if (status === "COMPLETED") summary.succeeded++
    else if (status === "CANCELLED") summary.cancelled++
    else if (status === "FAILED") summary.failed++
    else if (status === "RUNNING") summary.running++
    else summary.queued++
  }
  const seenAt = iso(e.createdAt)!
  return {
    key: e.key,
    metadata: resourceMeta(e.id, e.createdAt),
    workflowRunSummary: summary,
    seenAt,
    ...(e.scope !== undefined && e.scope !== "" ? { scope: e.scope } : {}),
    triggeredRuns: runs.length === 0
      ? null
      : runs.map(({ filterId, run }) => ({ workflowRunId: run.id, ...(filterId !== undefined ? { filterId } : {}) })),
    ...(options.forGet || e.triggeringWebhookName !== undefined
      ? { triggeringWebhookName: e.triggeringWebhookName ?? "" }
      : {}),
    additionalMetadata: objectOr(parseJson(e.additionalMetadata)),
    payload: objectOr(parseJson(e.payload)),
    tenantId: ""
  }
}
