/**
 * REST representations (OpenAPI `components/schemas`, camelCase JSON) of the domain objects:
 * `Tenant`, `V1WorkflowRun`, `V1TaskSummary`, `V1TaskEvent`, `V1WorkflowRunDetails`, `Worker`,
 * `V1TaskSummaryList`, `V1LogLine`, `Workflow`, `ScheduledWorkflows`, `CronWorkflows`,
 * `V1DurableEventLogEntry`, and the `PaginationResponse` of lists.
 *
 * @internal
 */
import { defaultProfile, type TenantProfile } from "../domain/alerting.js"
import { nilUuid } from "../domain/ids.js"
import type { JsonValue } from "../domain/json.js"
import { isJsonObject, parseJson, parseJsonObject } from "../domain/json.js"
import type {
  CronTrigger,
  DurableEntry,
  DurableWaitCondition,
  DurableWaitData,
  EngineState,
  EventFilter,
  LogLine,
  PushedEvent,
  RateLimit,
  Run,
  ScheduledRun,
  Task,
  TaskEvent,
  TaskEventType,
  Tenant,
  Worker,
  Workflow
} from "../domain/model.js"
import {
  latestVersion,
  restError,
  runStatus,
  taskFinishedAt,
  taskIdOf,
  taskOutput,
  taskStatus,
  workflowDescription
} from "../domain/model.js"
import { eventRuns, runTasks } from "../domain/queries.js"
import * as RateLimits from "../domain/rateLimits.js"
import { eventsOf } from "../domain/taskEvents.js"
import { isPlainAscii, type JsonBytes } from "./jsonBytes.js"

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

/**
 * `Tenant` (`ToTenant`, in its field order): the name and flags as a tenant update left them
 * (`Alerting.profileOf`), and `serverUrl`, the engine's REST address, when given.
 */
export const tenant = (t: Tenant, profile: TenantProfile = defaultProfile, serverUrl?: string) => ({
  alertMemberEmails: profile.alertMemberEmails,
  analyticsOptOut: profile.analyticsOptOut,
  environment: "local" as const,
  metadata: resourceMeta(t.id, t.createdAt),
  name: profile.name ?? t.name,
  ...(serverUrl !== undefined ? { serverUrl } : {}),
  slug: t.slug,
  version: "V1" as const
})

/**
 * The message upstream's engine gives every event of a type (the dispatcher's SENT_TO_WORKER),
 * shown rather than stored with each event.
 */
const fixedMessages: Partial<Record<TaskEventType, string>> = {
  SENT_TO_WORKER: "Sent task run to the assigned worker"
}

/** `V1TaskEvent` (`ToTaskRunEventMany`): its error message always present, "" when it has none. */
export const taskEvent = (task: Task, event: TaskEvent) => ({
  id: event.id,
  taskId: task.externalId,
  timestamp: iso(event.timestamp)!,
  eventType: event.eventType,
  message: event.message !== "" ? event.message : (fixedMessages[event.eventType] ?? ""),
  errorMessage: event.errorMessage ?? "",
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

/** `APIResourceMeta`, written. */
const writeResourceMeta = (w: JsonBytes, id: string, createdAt: number, updatedAt: number) =>
  w.raw("{\"id\":").string(id).key("createdAt").iso(createdAt).key("updatedAt").iso(updatedAt).raw("}")

/** A display name `<name>-<creation time in unix ms>` (`taskDisplayName`, `runDisplayName`), written. */
const writeDisplayName = (w: JsonBytes, name: string, createdAt: number) =>
  isPlainAscii(name) && Number.isInteger(createdAt) && createdAt >= 0
    ? w.raw("\"").raw(name).raw("-").number(createdAt).raw("\"")
    : w.string(`${name}-${createdAt}`)

/** A stored JSON text as `openapi.NonNullableJSON` (objects as they are, anything else `{}`), written. */
const writeObjectOf = (w: JsonBytes, raw: string | undefined) => raw === "{}" ? w.raw("{}") : w.value(objectOr(parseJson(raw)))

/**
 * `V1TaskSummary` (`ToTaskSummary`), written; in lists (`includePayloads` false) its input and
 * output are `{}`.
 */
export const writeTaskSummary = (w: JsonBytes, task: Task, includePayloads = true): JsonBytes => {
  const run = task.run
  // each time read once: a record computes it from an offset, a new heap number at every read
  const createdAt = task.createdAt
  const startedAt = task.startedAt
  const finishedAt = taskFinishedAt(task)
  w.raw("{\"metadata\":")
  writeResourceMeta(w, task.externalId, createdAt, finishedAt ?? startedAt ?? createdAt)
  w.key("actionId").string(task.step.action)
  w.key("retryCount").number(task.retryCount).key("attempt").number(task.retryCount + 1)
  w.key("additionalMetadata").value(run.metadata)
  w.key("createdAt").iso(createdAt)
  writeDisplayName(w.key("displayName"), task.step.readableId, createdAt)
  if (startedAt !== undefined && finishedAt !== undefined) w.key("duration").number(finishedAt - startedAt)
  w.key("isDurable").boolean(task.step.isDurable)
  // upstream writes it always, "" when the task did not fail
  w.key("errorMessage").string(task.state._tag === "Failed" ? restError(task.state) : "")
  if (finishedAt !== undefined) w.key("finishedAt").iso(finishedAt)
  w.key("input")
  if (includePayloads) w.value(objectOr(run.input))
  else w.raw("{}")
  w.key("numSpawnedChildren").number(task.spawned.size)
  w.key("output")
  if (includePayloads && task.state._tag === "Completed") writeObjectOf(w, task.state.output)
  else w.raw("{}")
  w.key("status").string(taskStatus(task))
  w.key("isEvicted").boolean(task.state._tag === "Evicted")
  if (startedAt !== undefined) w.key("startedAt").iso(startedAt)
  w.key("stepId").string(task.step.id)
  w.key("taskExternalId").string(task.externalId)
  w.key("taskId").number(task.id)
  w.key("taskInsertedAt").iso(createdAt)
  w.key("tenantId").string(task.tenantId)
  // upstream's task views (`ToTask`, `ToTaskSummary`) always say TASK
  w.key("type").raw("\"TASK\"")
  w.key("workflowId").string(run.workflow.id)
  w.key("workflowName").string(run.workflow.name)
  w.key("workflowRunExternalId").string(run.id)
  w.key("workflowVersionId").string(run.version.id)
  if (run.parentTaskExternalId !== undefined) w.key("parentTaskExternalId").string(run.parentTaskExternalId)
  return w.raw("}")
}

/** The task of a single-task run (undefined for a DAG, or before its task exists). */
const singleTask = (run: Run): Task | undefined => {
  if (run.isDag) return undefined
  if (run.tasks.size === 1) return run.tasks.first()
  let first: Task | undefined
  for (const task of run.tasks.values()) {
    if (first === undefined || task.step.index < first.step.index) first = task
  }
  return first
}

/**
 * The output of a run: its task's for a single task. For a DAG, as upstream's run queries read it
 * (`ReadWorkflowRunByExternalId`: the payload of the DAG's latest FINISHED task event), the output
 * of the task that completed last (the later in step order on a tie), `{}` while none has; the
 * outputs by task are in the details' `tasks`.
 */
const writeRunOutput = (w: JsonBytes, run: Run, tasks: ReadonlyArray<Task>) => {
  if (!run.isDag) return writeObjectOf(w, tasks[0] !== undefined ? taskOutput(tasks[0]) : undefined)
  let last: Task | undefined
  let lastAt = 0
  for (const task of tasks) {
    if (task.state._tag !== "Completed") continue
    const at = task.state.at
    if (last === undefined || at >= lastAt) {
      last = task
      lastAt = at
    }
  }
  return writeObjectOf(w, last !== undefined ? taskOutput(last) : undefined)
}

/**
 * The fields of `V1WorkflowRun` (`ToWorkflowRun`), written without the braces: the run's earliest
 * start, its first failed task's error, its tasks' outputs. `tasks` are the run's tasks in step
 * order; in lists (`includePayloads` false) its input and output are `{}`.
 */
const writeWorkflowRunFields = (w: JsonBytes, run: Run, tasks: ReadonlyArray<Task>, includePayloads: boolean) => {
  let startedAt: number | undefined
  // the first failed task's error as REST gives it ("" when none failed)
  let error: string | undefined
  for (const task of tasks) {
    const taskStartedAt = task.startedAt
    if (taskStartedAt !== undefined && (startedAt === undefined || taskStartedAt < startedAt)) startedAt = taskStartedAt
    if (error === undefined && task.state._tag === "Failed") error = restError(task.state)
  }
  // each time read once: a record computes it from an offset, a new heap number at every read
  const createdAt = run.createdAt
  const finishedAt = run.finishedAt
  w.raw("\"metadata\":")
  writeResourceMeta(w, run.id, createdAt, finishedAt ?? createdAt)
  w.key("status").string(runStatus(run))
  if (startedAt !== undefined) w.key("startedAt").iso(startedAt)
  if (finishedAt !== undefined) w.key("finishedAt").iso(finishedAt)
  if (startedAt !== undefined && finishedAt !== undefined) w.key("duration").number(finishedAt - startedAt)
  w.key("tenantId").string(run.tenantId)
  w.key("additionalMetadata").value(run.metadata)
  const single = run.isDag ? undefined : tasks[0]
  if (single !== undefined) writeDisplayName(w.key("displayName"), single.step.readableId, single.createdAt)
  else writeDisplayName(w.key("displayName"), run.workflow.name, createdAt)
  w.key("workflowId").string(run.workflow.id)
  w.key("output")
  if (includePayloads) writeRunOutput(w, run, tasks)
  else w.raw("{}")
  w.key("errorMessage").string(error ?? "")
  w.key("workflowVersionId").string(run.version.id)
  w.key("input")
  if (includePayloads) w.value(objectOr(run.input))
  else w.raw("{}")
  w.key("createdAt").iso(createdAt)
  if (run.parentTaskExternalId !== undefined) w.key("parentTaskExternalId").string(run.parentTaskExternalId)
}

/** The events of every task of a run, task by task. */
export const runTaskEvents = (run: Run) => runTasks(run).flatMap((task) => eventsOf(task).map((event) => taskEvent(task, event)))

/** `V1WorkflowRunDetails`, written. */
export const writeWorkflowRunDetails = (w: JsonBytes, run: Run): JsonBytes => {
  const tasks = runTasks(run)
  w.raw("{\"run\":{")
  writeWorkflowRunFields(w, run, tasks, true)
  w.raw("}").key("taskEvents").value(runTaskEvents(run))
  w.key("shape").value(run.version.steps.map((step) => ({
    taskExternalId: taskIdOf(run, step),
    stepId: step.id,
    childrenStepIds: step.children.map((child) => child.id),
    taskName: step.readableId
  })))
  w.key("tasks").raw("[")
  tasks.forEach((task, i) => writeTaskSummary(i === 0 ? w : w.raw(","), task))
  return w.raw("]").key("workflowConfig").raw("{}}")
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
    ...(w.slotConfig.size > 0 ?
      {
        slotConfig: Object.fromEntries([...w.slotConfig].map(([slotType, limit]) => [
          slotType,
          { available: limit - (w.slotsUsed.get(slotType) ?? 0), limit }
        ]))
      } :
      {}),
    runtimeInfo: {
      sdkVersion: runtime?.sdkVersion ?? "",
      ...(language !== undefined ? { language } : {}),
      languageVersion: runtime?.languageVersion ?? "",
      os: runtime?.os ?? "",
      runtimeExtra: runtime?.extra ?? ""
    },
    ...(view === "v1" ?
      {
        labels: [...w.labels.entries()].map(([key, label]) => ({
          metadata: resourceMeta(nilUuid, w.createdAt),
          key,
          ...(label.strValue !== undefined ? { value: label.strValue } : label.intValue !== undefined ? { value: `${label.intValue}` } : {})
        }))
      } :
      {}),
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

/**
 * A `workflow-runs` row (`WorkflowRunDataToV1TaskSummary`), written: the run as a summary keyed
 * by the run id (upstream marks every row `DAG`), a DAG's tasks as `children`.
 */
const writeRunListRow = (w: JsonBytes, run: Run, includePayloads: boolean) => {
  const single = singleTask(run)
  const tasks = run.isDag ? runTasks(run) : single !== undefined ? [single] : []
  w.raw("{")
  writeWorkflowRunFields(w, run, tasks, includePayloads)
  w.key("taskExternalId").string(run.id)
  w.key("taskId").number(single?.id ?? 0)
  w.key("taskInsertedAt").iso(run.createdAt)
  w.key("type").raw("\"DAG\"")
  w.key("workflowName").string(run.workflow.name)
  w.key("stepId").string(single?.step.id ?? "00000000-0000-0000-0000-000000000000")
  w.key("actionId").string(single?.step.action ?? "")
  w.key("workflowRunExternalId").string(run.id)
  w.key("retryCount").number(single?.retryCount ?? 0)
  w.key("attempt").number((single?.retryCount ?? 0) + 1)
  w.key("numSpawnedChildren").number(0)
  if (run.isDag) {
    w.key("children").raw("[")
    tasks.forEach((task, i) => writeTaskSummary(i === 0 ? w : w.raw(","), task, includePayloads))
    w.raw("]")
  }
  return w.raw("}")
}

/**
 * `V1TaskSummaryList` of `GET /api/v1/stable/tenants/{tenant}/workflow-runs`, written: the
 * pagination, then the rows (runs, or tasks with `only_tasks`).
 */
export const writeRunList = (
  w: JsonBytes,
  page: { readonly total: number; readonly runs: ReadonlyArray<Run> } | { readonly total: number; readonly tasks: ReadonlyArray<Task> },
  limit: number,
  offset: number,
  includePayloads: boolean
): JsonBytes => {
  w.raw("{\"pagination\":").value(pagination(page.total, limit, offset)).key("rows").raw("[")
  if ("runs" in page) page.runs.forEach((run, i) => writeRunListRow(i === 0 ? w : w.raw(","), run, includePayloads))
  else page.tasks.forEach((task, i) => writeTaskSummary(i === 0 ? w : w.raw(","), task, includePayloads))
  return w.raw("]}")
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
 * `Workflow`: in lists and from `PATCH /api/v1/workflows/{workflow}` as upstream's
 * `ToWorkflowFromSQLC` (no versions; a paused workflow's cron and scheduled run behaviors), from
 * `GET /api/v1/workflows/{workflow}` with its latest version (`ToWorkflow`: `isPaused` only).
 */
export const workflow = (w: Workflow, options: { readonly withVersion: boolean }) => {
  const latest = w.versions.length > 0 ? latestVersion(w) : undefined
  return {
    metadata: resourceMeta(w.id, w.createdAt, w.updatedAt),
    name: w.name,
    description: workflowDescription(w),
    isPaused: w.paused !== undefined,
    ...(!options.withVersion && w.paused !== undefined ?
      {
        pausedWorkflowCronRunQueueBehavior: w.paused.cronRunQueueBehavior,
        pausedWorkflowScheduledRunQueueBehavior: w.paused.scheduledRunQueueBehavior
      } :
      {}),
    ...(options.withVersion && latest !== undefined ?
      {
        versions: [{
          metadata: resourceMeta(latest.id, latest.createdAt),
          version: latest.version,
          order: latest.order,
          workflowId: w.id
        }]
      } :
      {}),
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
