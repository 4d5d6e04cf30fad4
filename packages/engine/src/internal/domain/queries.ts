/**
 * Read side of the domain: runs, tasks, workflows, workers, logs, as the gRPC `GetRunDetails`
 * and the REST routes need them. Every lookup is scoped to a tenant: another tenant's resource
 * is reported exactly like a missing one.
 *
 * @internal
 */
import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import * as Either from "effect/Either"
import { IndexRange } from "./creationIndex.js"
import { type InvalidArgument, invalidArgument, type NotFound, notFound } from "./errors.js"
import { parseUuid } from "./ids.js"
import type { JsonValue } from "./json.js"
import { containsStringPairs, goMarshal } from "./json.js"
import type { EngineState, LogLine, PushedEvent, Run, Task, TaskStatus, Tenant, Worker, Workflow } from "./model.js"
import { runStatus, taskError, taskOutput, taskStatus } from "./model.js"
import { ranOn } from "./taskEvents.js"

export const getTenant = (state: EngineState, tenantId: string): Tenant | undefined => state.tenants.get(tenantId)?.tenant

/** The tenant's run by id (the run's external id), or undefined. */
export const findRun = (state: EngineState, tenantId: string, runId: string): Run | undefined => {
  const run = state.runsById.get(runId)
  return run !== undefined && run.tenantId === tenantId ? run : undefined
}

/** The run with that id in any tenant: REST routes keyed by a resource take the tenant from it. */
export const findRunAnyTenant = (state: EngineState, runId: string): Run | undefined => state.runsById.get(runId)

/** The tenant's task by external id (its current incarnation), or undefined. */
export const findTask = (state: EngineState, tenantId: string, taskExternalId: string): Task | undefined => {
  const task = state.tasksByExternalId.get(taskExternalId)
  return task !== undefined && task.tenantId === tenantId ? task : undefined
}

export const findTaskAnyTenant = (state: EngineState, taskExternalId: string): Task | undefined =>
  state.tasksByExternalId.get(taskExternalId)

export const findWorkflow = (state: EngineState, tenantId: string, workflowId: string): Workflow | undefined =>
  state.tenants.get(tenantId)?.workflowsById.get(workflowId)

export const findWorkerAnyTenant = (state: EngineState, workerId: string): Worker | undefined => state.workersById.get(workerId)

/** The workflow with that id in any tenant (REST `/api/v1/workflows/{workflow}` takes the tenant from it). */
export const findWorkflowAnyTenant = (state: EngineState, workflowId: string): Workflow | undefined => {
  for (const tenant of state.tenants.values()) {
    const workflow = tenant.workflowsById.get(workflowId)
    if (workflow !== undefined) return workflow
  }
  return undefined
}

/** Tasks of a run in step order. */
export const runTasks = (run: Run): Array<Task> => [...run.tasks.values()].sort((a, b) => a.step.index - b.step.index)

// -----------------------------------------------------------------------------
// GetRunDetails
// -----------------------------------------------------------------------------

export interface TaskRunDetail {
  readonly externalId: string
  readonly status: RunStatus
  readonly error: string | undefined
  readonly output: string | undefined
  readonly readableId: string
}

export interface RunDetails {
  readonly inputRaw: string
  readonly metadataRaw: string
  readonly status: RunStatus
  readonly done: boolean
  readonly taskRuns: ReadonlyMap<string, TaskRunDetail>
}

const toRunStatus = (status: TaskStatus): RunStatus => {
  switch (status) {
    case "QUEUED":
      return RunStatus.QUEUED
    case "RUNNING":
      return RunStatus.RUNNING
    case "COMPLETED":
      return RunStatus.COMPLETED
    case "FAILED":
      return RunStatus.FAILED
    case "CANCELLED":
      return RunStatus.CANCELLED
  }
}

/** `DeriveWorkflowRunStatus`. */
const deriveStatus = (statuses: ReadonlyArray<RunStatus>): RunStatus => {
  if (statuses.length > 0 && statuses.every((s) => s === statuses[0])) return statuses[0]!
  if (statuses.includes(RunStatus.FAILED)) return RunStatus.FAILED
  if (statuses.some((s) => s === RunStatus.RUNNING || s === RunStatus.QUEUED || s === RunStatus.EVICTED)) {
    return RunStatus.RUNNING
  }
  return RunStatus.CANCELLED
}

/**
 * `v1.AdminService/GetRunDetails`: per-task details keyed by readable id. Until the run is
 * finalised tasks read QUEUED or RUNNING (running = holding an attempt); outputs and errors
 * appear once it is.
 */
export const getRunDetails = (
  state: EngineState,
  tenantId: string,
  externalId: string
): Either.Either<RunDetails, InvalidArgument | NotFound> => {
  const parsed = parseUuid(externalId)
  if (!parsed.ok) return Either.left(invalidArgument("invalid external id", parsed.error))
  let run = findRun(state, tenantId, parsed.value)
  if (run === undefined) {
    const task = findTask(state, tenantId, parsed.value)
    run = task?.run
  }
  if (run === undefined) return Either.left(notFound("workflow run not found"))
  const finalized = run.finishedAt !== undefined
  const taskRuns = new Map<string, TaskRunDetail>()
  for (const task of runTasks(run)) {
    taskRuns.set(task.step.readableId, {
      externalId: task.externalId,
      status: finalized ? toRunStatus(taskStatus(task)) : task.state._tag === "Assigned" ? RunStatus.RUNNING : RunStatus.QUEUED,
      error: finalized ? (taskError(task) ?? "") : undefined,
      output: finalized ? taskOutput(task) : undefined,
      readableId: task.step.readableId
    })
  }
  const statuses = [...taskRuns.values()].map((t) => t.status)
  return Either.right({
    inputRaw: run.inputRaw,
    metadataRaw: goMarshal(run.metadata),
    status: deriveStatus(statuses),
    done: !statuses.some((s) => s === RunStatus.QUEUED || s === RunStatus.RUNNING || s === RunStatus.EVICTED),
    taskRuns
  })
}

// -----------------------------------------------------------------------------
// listing
// -----------------------------------------------------------------------------

export interface RunsFilter {
  /** Runs created at or after this time (ms). */
  readonly since?: number | undefined
  /** Runs created at or before this time (ms). */
  readonly until?: number | undefined
  /** REST statuses (QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED); empty = all. */
  readonly statuses?: ReadonlyArray<string> | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  /** key → value pairs that must all match (string values), or any of them with the `OR` operator. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** How several metadata pairs combine (REST `additional_metadata_operator`); `AND` by default. */
  readonly additionalMetadataOperator?: "AND" | "OR" | undefined
  readonly parentTaskExternalId?: string | undefined
  readonly triggeringEventExternalId?: string | undefined
  readonly workerId?: string | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

export interface Page<A> {
  readonly rows: ReadonlyArray<A>
  readonly total: number
}

const metadataMatches = (
  metadata: Readonly<Record<string, JsonValue>>,
  wanted: Readonly<Record<string, string>>,
  operator: "AND" | "OR" = "AND"
) => {
  const pairs = Object.entries(wanted)
  const matches = ([key, value]: [string, string]) => metadata[key] === value
  return operator === "OR" && pairs.length > 1 ? pairs.some(matches) : pairs.every(matches)
}

/** Whether the run passes the filters that apply to runs and tasks alike (workflow, metadata, event). */
const runPasses = (run: Run, filter: RunsFilter): boolean =>
  (filter.workflowIds === undefined || filter.workflowIds.length === 0 || filter.workflowIds.includes(run.workflow.id)) &&
  (filter.additionalMetadata === undefined ||
    metadataMatches(run.metadata, filter.additionalMetadata, filter.additionalMetadataOperator)) &&
  (filter.parentTaskExternalId === undefined || run.parentTaskExternalId === filter.parentTaskExternalId) &&
  (filter.triggeringEventExternalId === undefined || run.triggeringEvent?.id === filter.triggeringEventExternalId)

/** Upstream counts at most this many matches (`CountWorkflowRuns`, `CountTasks`: `LIMIT 20000`). */
export const countLimit = 20_000

/**
 * The page `[offset, offset + limit)` of the items of `range` that pass `matches` (all of them
 * when undefined), newest first, and how many pass, counted up to `countLimit` as upstream.
 * Without a predicate a page costs its length; with one, the walk stops once the page is read
 * and the count has reached its limit.
 */
const pageOf = <A>(range: IndexRange<A>, matches: ((item: A) => boolean) | undefined, filter: RunsFilter): Page<A> => {
  const offset = filter.offset ?? 0
  const limit = filter.limit ?? Infinity
  if (matches === undefined) return { rows: range.page(offset, limit), total: Math.min(range.count, countLimit) }
  const rows: Array<A> = []
  const enough = Math.max(countLimit, offset + limit)
  let total = 0
  for (const item of range.newestFirst()) {
    if (!matches(item)) continue
    if (total >= offset && rows.length < limit) rows.push(item)
    if (++total >= enough) break
  }
  return { rows, total: Math.min(total, countLimit) }
}

/** Every predicate in `checks`, or undefined when there is none. */
const allOf = <A>(checks: ReadonlyArray<(item: A) => boolean>): ((item: A) => boolean) | undefined =>
  checks.length === 0 ? undefined : (item) => checks.every((check) => check(item))

/** Keeps the runs of `runs` created within the filter's time range, as a range of an index. */
const rangeOf = (runs: ReadonlyArray<Run>, filter: RunsFilter): IndexRange<Run> => {
  const within = runs.filter((run) =>
    (filter.since === undefined || run.createdAt >= filter.since) &&
    (filter.until === undefined || run.createdAt <= filter.until)
  )
  return new IndexRange(within, 0, within.length)
}

/**
 * The tenant's runs matching `filter`, newest first. The runs are read from the narrowest index
 * the filter allows (the parent task's children, the triggering event's runs, one workflow's
 * runs, or all of the tenant's), within the time range; the other conditions are checked on
 * each run read.
 */
export const listRuns = (state: EngineState, tenantId: string, filter: RunsFilter = {}): Page<Run> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const workflowIds = filter.workflowIds ?? []
  const checks: Array<(run: Run) => boolean> = []
  let range: IndexRange<Run>
  const event = filter.triggeringEventExternalId !== undefined ? state.eventsById.get(filter.triggeringEventExternalId) : undefined
  if (filter.parentTaskExternalId !== undefined) {
    const children = tenant.childRuns.get(filter.parentTaskExternalId)
    if (children === undefined) return { rows: [], total: 0 }
    range = children.range(filter.since, filter.until)
  } else if (event !== undefined && event.tenantId === tenantId) {
    const runs: Array<Run> = []
    for (const { runId } of event.triggeredRuns) {
      const run = state.runsById.get(runId)
      if (run !== undefined) runs.push(run)
    }
    range = rangeOf(runs, filter)
  } else if (workflowIds.length === 1) {
    const runs = tenant.runsByWorkflow.get(workflowIds[0]!)
    if (runs === undefined) return { rows: [], total: 0 }
    range = runs.range(filter.since, filter.until)
  } else {
    range = tenant.runs.range(filter.since, filter.until)
  }
  if (workflowIds.length > 1) checks.push((run) => workflowIds.includes(run.workflow.id))
  const triggeringEvent = filter.triggeringEventExternalId
  if (triggeringEvent !== undefined && event === undefined) checks.push((run) => run.triggeringEvent?.id === triggeringEvent)
  const metadata = filter.additionalMetadata
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    checks.push((run) => metadataMatches(run.metadata, metadata, filter.additionalMetadataOperator))
  }
  const statuses = filter.statuses ?? []
  if (statuses.length > 0) checks.push((run) => statuses.includes(runStatus(run)))
  const workerId = filter.workerId
  if (workerId !== undefined) checks.push((run) => [...run.tasks.values()].some((t) => ranOn(t, workerId)))
  return pageOf(range, allOf(checks), filter)
}

/**
 * The tenant's tasks matching `filter` (REST `workflow-runs?only_tasks=true`, upstream
 * `ListTasks`): time range and statuses apply to each task, newest first.
 */
export const listTasks = (state: EngineState, tenantId: string, filter: RunsFilter = {}): Page<Task> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const checks: Array<(task: Task) => boolean> = []
  const statuses = filter.statuses ?? []
  if (statuses.length > 0) checks.push((task) => statuses.includes(taskStatus(task)))
  if (
    (filter.workflowIds?.length ?? 0) > 0 || Object.keys(filter.additionalMetadata ?? {}).length > 0 ||
    filter.parentTaskExternalId !== undefined || filter.triggeringEventExternalId !== undefined
  ) checks.push((task) => runPasses(task.run, filter))
  const workerId = filter.workerId
  if (workerId !== undefined) checks.push((task) => ranOn(task, workerId))
  return pageOf(tenant.tasks.range(filter.since, filter.until), allOf(checks), filter)
}

export interface WorkflowsFilter {
  readonly name?: string | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/**
 * The tenant's workflows, newest first; `name` keeps those whose name contains it, ignoring case
 * (upstream `ListWorkflows`: `name ILIKE %name%`, ordered by `createdAt DESC`).
 */
export const listWorkflows = (state: EngineState, tenantId: string, filter: WorkflowsFilter = {}): Page<Workflow> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const search = filter.name?.toLowerCase()
  const all = [...tenant.workflowsByName.values()]
    .filter((w) => search === undefined || w.name.toLowerCase().includes(search))
    .reverse()
    .sort((a, b) => b.createdAt - a.createdAt)
  const offset = filter.offset ?? 0
  return { rows: filter.limit !== undefined ? all.slice(offset, offset + filter.limit) : all.slice(offset), total: all.length }
}

/** The tenant's workers, newest first. */
export const listWorkers = (state: EngineState, tenantId: string): Array<Worker> =>
  [...(state.tenants.get(tenantId)?.workers.values() ?? [])].reverse()

export interface LogsFilter {
  /** Lines created strictly after this time (ms). */
  readonly since?: number | undefined
  /** Lines created strictly before this time (ms). */
  readonly until?: number | undefined
  /** Keeps lines whose message contains it, ignoring case. */
  readonly search?: string | undefined
  readonly levels?: ReadonlyArray<string> | undefined
  /** By creation time; `ASC` by default, as upstream `ListLogLines`. */
  readonly orderByDirection?: "ASC" | "DESC" | undefined
  /** 1-based attempt number (`retry_count + 1`). */
  readonly attempt?: number | undefined
  readonly limit?: number | undefined
}

/** Log lines of a task (`GET /api/v1/stable/tasks/{task}/logs`, upstream `ListLogLines`). */
export const listLogs = (task: Task, filter: LogsFilter = {}): Array<LogLine> => {
  const search = filter.search?.toLowerCase()
  const lines = task.logs.filter((line) =>
    (filter.since === undefined || line.createdAt > filter.since) &&
    (filter.until === undefined || line.createdAt < filter.until) &&
    (search === undefined || line.message.toLowerCase().includes(search)) &&
    (filter.levels === undefined || filter.levels.length === 0 || filter.levels.includes(line.level)) &&
    (filter.attempt === undefined || line.retryCount + 1 === filter.attempt)
  )
  const sorted = [...lines].sort((a, b) => a.createdAt - b.createdAt)
  if (filter.orderByDirection === "DESC") sorted.reverse()
  return filter.limit !== undefined ? sorted.slice(0, filter.limit) : sorted
}

// -----------------------------------------------------------------------------
// pushed events (REST `/api/v1/stable/tenants/{tenant}/events`)
// -----------------------------------------------------------------------------

/** The tenant's event by id, or undefined. */
export const findEvent = (state: EngineState, tenantId: string, eventId: string): PushedEvent | undefined => {
  const event = state.eventsById.get(eventId)
  return event !== undefined && event.tenantId === tenantId ? event : undefined
}

/** The stored runs an event triggered, with the filter that matched each. */
export const eventRuns = (state: EngineState, event: PushedEvent): Array<{ readonly run: Run; readonly filterId: string | undefined }> => {
  const runs: Array<{ readonly run: Run; readonly filterId: string | undefined }> = []
  for (const { filterId, runId } of event.triggeredRuns) {
    const run = state.runsById.get(runId)
    if (run !== undefined) runs.push({ run, filterId })
  }
  return runs
}

export interface EventsFilter {
  readonly since: number
  readonly until?: number | undefined
  readonly keys?: ReadonlyArray<string> | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly eventIds?: ReadonlyArray<string> | undefined
  /** Events with a run of one of these workflows (created since `since`). */
  readonly workflowIds?: ReadonlyArray<string> | undefined
  /** Events with a run in one of these statuses (created since `since`). */
  readonly runStatuses?: ReadonlyArray<TaskStatus> | undefined
  /** jsonb containment of the event's own metadata: each key holds exactly that string. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  readonly offset: number
  readonly limit: number
}

/**
 * The items of a range newest first, those created at the same time oldest first: upstream's
 * `ORDER BY seen_at DESC, id` (ids grow with insertion).
 */
function* newestFirstTiesInOrder<A extends { readonly createdAt: number }>(range: IndexRange<A>): Generator<A> {
  let group: Array<A> = []
  for (const item of range.newestFirst()) {
    if (group.length > 0 && group[0]!.createdAt !== item.createdAt) {
      for (let i = group.length - 1; i >= 0; i--) yield group[i]!
      group = []
    }
    group.push(item)
  }
  for (let i = group.length - 1; i >= 0; i--) yield group[i]!
}

/**
 * `ListEvents` / `CountEvents`: the tenant's events seen within `[since, until]` matching every
 * condition given, newest first, and how many match (up to 20,000, as upstream counts).
 */
export const listEvents = (state: EngineState, tenantId: string, filter: EventsFilter): Page<PushedEvent> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const checks: Array<(event: PushedEvent) => boolean> = []
  const nonEmpty = <A>(values: ReadonlyArray<A> | undefined): values is ReadonlyArray<A> => values !== undefined && values.length > 0
  const { additionalMetadata, eventIds, keys, runStatuses, scopes, workflowIds } = filter
  if (nonEmpty(keys)) checks.push((event) => keys.includes(event.key))
  if (nonEmpty(eventIds)) checks.push((event) => eventIds.includes(event.id))
  if (nonEmpty(scopes)) checks.push((event) => event.scope !== undefined && scopes.includes(event.scope))
  if (additionalMetadata !== undefined && Object.keys(additionalMetadata).length > 0) {
    checks.push((event) => containsStringPairs(event.additionalMetadata ?? "", additionalMetadata))
  }
  const runsSince = (event: PushedEvent) => eventRuns(state, event).map(({ run }) => run).filter((run) => run.createdAt >= filter.since)
  if (nonEmpty(workflowIds)) checks.push((event) => runsSince(event).some((run) => workflowIds.includes(run.workflow.id)))
  if (nonEmpty(runStatuses)) checks.push((event) => runsSince(event).some((run) => runStatuses.includes(runStatus(run))))
  const rows: Array<PushedEvent> = []
  let total = 0
  const enough = Math.max(countLimit, filter.offset + filter.limit)
  for (const event of newestFirstTiesInOrder(tenant.events.range(filter.since, filter.until))) {
    if (!checks.every((check) => check(event))) continue
    if (total >= filter.offset && rows.length < filter.limit) rows.push(event)
    if (++total >= enough) break
  }
  return { rows, total: Math.min(total, countLimit) }
}

/** `ListEventKeys`: the distinct keys of the tenant's events seen in the last day. */
export const listEventKeys = (state: EngineState, tenantId: string, now: number): Array<string> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return []
  const keys = new Set<string>()
  for (const event of tenant.events.range(now - 24 * 60 * 60 * 1000 + 1, undefined).newestFirst()) keys.add(event.key)
  return [...keys]
}
