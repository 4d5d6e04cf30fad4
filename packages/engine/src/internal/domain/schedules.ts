/**
 * Scheduled runs: one run of a workflow at a given time (upstream `WorkflowTriggerScheduledRef`).
 *
 * - Creating (REST `ScheduledWorkflowRunCreate`, `CreateScheduledWorkflow`): the workflow is looked
 *   up by name in the tenant ("workflow not found"); the row hangs on the workflow's latest
 *   version, with method `API` and priority 1 unless one is given (validated `min=1,max=3`).
 * - `WorkflowService/ScheduleWorkflow` (`internal/services/admin/server.go`): NOT_FOUND "workflow
 *   not found", the parent-id checks, the JSON checks of `additional_metadata` then `input`, the
 *   priority, then one row per timestamp. The parent fields are checked, never stored.
 * - Listing (`ListScheduledWorkflows` of `sqlcv1/workflow_schedules.sql`): filters by workflow id,
 *   additional metadata containment, "parent workflow run id" (which upstream compares with the
 *   scheduled run's own id) and parent step run id (never set on rows created through the API, so
 *   it matches nothing); statuses match the run a row triggered, which a pending row does not
 *   have, so only `SCHEDULED` keeps the rows; ordered by `triggerAt` or `createdAt`, then id.
 * - Rescheduling moves `triggerAt` only (upstream's `UPDATE` leaves `updatedAt` alone).
 * - Firing (`internal/services/ticker/schedule_workflow.go`, `schedule_workflow_v1.go`): each row
 *   is armed on the engine's `TimerQueue` at its `triggerAt` (at once when that is past); when the
 *   timer fires and the row still exists with that `triggerAt`, the workflow is triggered by name
 *   (its latest version) with the stored input, metadata and priority, and the row is deleted.
 *   Upstream polls every 5 s and arms what is due within 5 s; here the timer is armed at creation.
 *
 * `docs/engine.md` §6.3, §10; upstream `pkg/repository/workflow_schedules.go`,
 * `api/v1/server/handlers/workflows/*_scheduled.go`.
 *
 * @internal
 */
import type { ScheduleWorkflowRequest } from "@effect-hatchet/proto/workflows/workflows"
import * as Either from "effect/Either"
import { removeScheduled, touchScheduled } from "./changes.js"
import { type InvalidArgument, invalidArgument, type NotFound, notFound } from "./errors.js"
import { newId } from "./ids.js"
import { containsStringPairs, validateJsonb } from "./json.js"
import type { EngineState, ScheduledRun, TenantState, Workflow, WorkflowVersion } from "./model.js"
import { latestVersion } from "./model.js"
import type { Page } from "./queries.js"
import { tenantOf } from "./tenants.js"
import { triggerFromScheduled } from "./triggers.js"
import { FieldErrors } from "./validation.js"

/** Go's zero `time.Time` (0001-01-01T00:00:00Z): the `triggerAt` of a body that has none. */
export const zeroTime = Date.parse("0001-01-01T00:00:00Z")

// -----------------------------------------------------------------------------
// firing
// -----------------------------------------------------------------------------

/** Removes the row and starts its run; returns the run id. */
const fire = (state: EngineState, tenant: TenantState, scheduled: ScheduledRun, now: number): string => {
  remove(state, tenant, scheduled.id)
  return triggerFromScheduled(state, tenant, scheduled, now)
}

/**
 * Arms the row's timer at its current `triggerAt`. A timer whose row was deleted, already fired
 * or moved to another time is a no-op when it fires.
 */
const arm = (state: EngineState, scheduled: ScheduledRun): void =>
  state.timers.set({ kind: "ScheduledRun", id: scheduled.id, tenantId: scheduled.tenantId, at: scheduled.triggerAt })

/** A scheduled run's timer: it fires if it is still stored and due at `at`. */
export const onScheduledRun = (state: EngineState, tenantId: string, id: string, at: number, now: number): void => {
  const tenant = state.tenants.get(tenantId)
  const scheduled = tenant?.scheduled.get(id)
  if (tenant === undefined || scheduled === undefined || scheduled.triggerAt !== at) return
  // a paused workflow that drops its scheduled runs keeps the row (`fireDueScheduled` on unpause)
  if (scheduled.workflow.paused?.scheduledRunQueueBehavior === "DROP") return
  fire(state, tenant, scheduled, now)
}

/**
 * The scheduled runs of `workflow` already due fire at the next timer pass: those a paused
 * workflow kept (`workflowPause.ts`), as upstream's ticker runs a past trigger time at once.
 */
export const fireDueScheduled = (state: EngineState, workflow: Workflow, now: number): void => {
  for (const scheduled of state.tenants.get(workflow.tenantId)?.scheduled.values() ?? []) {
    if (scheduled.workflow === workflow && scheduled.triggerAt <= now) arm(state, scheduled)
  }
}

// -----------------------------------------------------------------------------
// creating
// -----------------------------------------------------------------------------

/** What a scheduled run stores besides its workflow. */
export interface NewScheduled {
  readonly triggerAt: number
  /** Input JSON text, "" for none. */
  readonly inputRaw: string
  /** Additional metadata JSON text, "" for none. */
  readonly metadataRaw: string
  /** 1..3; undefined means 1. */
  readonly priority: number | undefined
}

/** `CreateScheduledWorkflowRunForWorkflowOpts`'s `Priority` rule (`omitempty,min=1,max=3`). */
const priorityErrors = (priority: number | undefined): FieldErrors | undefined => {
  if (priority === undefined || (priority >= 1 && priority <= 3)) return undefined
  const [condition, param] = priority < 1 ? ["min", "1"] : ["max", "3"]
  // an *int32 prints as "invalid type" in the validator's message
  return new FieldErrors().condition("CreateScheduledWorkflowRunForWorkflowOpts.Priority", condition, param)
}

const insert = (state: EngineState, tenant: TenantState, workflow: Workflow, opts: NewScheduled, now: number): ScheduledRun => {
  const scheduled: ScheduledRun = {
    id: newId(),
    tenantId: tenant.tenant.id,
    workflow,
    version: latestVersion(workflow),
    triggerAt: opts.triggerAt,
    inputRaw: opts.inputRaw,
    metadataRaw: opts.metadataRaw,
    priority: opts.priority ?? 1,
    method: "API",
    createdAt: now,
    updatedAt: now
  }
  tenant.scheduled.set(scheduled.id, scheduled)
  touchScheduled(state, scheduled)
  arm(state, scheduled)
  return scheduled
}

/**
 * REST `POST /workflows/{workflow}/scheduled`: schedules a run of the workflow named
 * `workflowName`. An unknown name is INVALID_ARGUMENT "workflow not found" and a priority
 * outside 1..3 INVALID_ARGUMENT with the validator's detailed message (both 400 `APIErrors`).
 */
export const createScheduled = (
  state: EngineState,
  tenantId: string,
  workflowName: string,
  opts: NewScheduled,
  now: number
): Either.Either<ScheduledRun, InvalidArgument> => {
  const tenant = tenantOf(state, tenantId)
  const workflow = tenant.workflowsByName.get(workflowName)
  if (workflow === undefined) return Either.left(invalidArgument("workflow not found"))
  const errors = priorityErrors(opts.priority)
  if (errors !== undefined) return Either.left(invalidArgument(errors.renderDetailed()))
  return Either.right(insert(state, tenant, workflow, opts, now))
}

/** What `ScheduleWorkflow` answers: the workflow's latest version and the rows it created. */
export interface ScheduledBatch {
  readonly version: WorkflowVersion
  readonly scheduled: ReadonlyArray<ScheduledRun>
}

/** `WorkflowService/ScheduleWorkflow`: one scheduled run per timestamp of `schedules`. */
export const scheduleWorkflow = (
  state: EngineState,
  tenantId: string,
  request: ScheduleWorkflowRequest,
  now: number
): Either.Either<ScheduledBatch, InvalidArgument | NotFound> => {
  const tenant = tenantOf(state, tenantId)
  const workflow = tenant.workflowsByName.get(request.name)
  if (workflow === undefined) return Either.left(notFound("workflow not found"))
  if (request.parentId !== undefined) {
    if (request.parentTaskRunExternalId === undefined) {
      return Either.left(invalidArgument("parent task run id is required when parent id is provided"))
    }
    if (request.childIndex === undefined) return Either.left(invalidArgument("child index is required when parent id is provided"))
  }
  const metadataRaw = request.additionalMetadata ?? ""
  const metadataError = validateJsonb(metadataRaw, "additionalMetadata")
  if (metadataError !== undefined) return Either.left(invalidArgument(`Invalid request: ${metadataError}`))
  const inputError = validateJsonb(request.input, "payload")
  if (inputError !== undefined) return Either.left(invalidArgument(`Invalid request: ${inputError}`))
  const priority = request.priority
  if (priority !== undefined && (priority < 1 || priority > 3)) {
    return Either.left(invalidArgument(`priority must be between 1 and 3, got ${priority}`))
  }
  const scheduled = request.schedules.map((at) =>
    insert(state, tenant, workflow, { triggerAt: at.getTime(), inputRaw: request.input, metadataRaw, priority }, now)
  )
  return Either.right({ version: latestVersion(workflow), scheduled })
}

// -----------------------------------------------------------------------------
// reading
// -----------------------------------------------------------------------------

/** The tenant's scheduled run `id` (not yet fired), or undefined. */
export const getScheduled = (state: EngineState, tenantId: string, id: string): ScheduledRun | undefined =>
  state.tenants.get(tenantId)?.scheduled.get(id)

/** The filters and ordering of `ListScheduledWorkflowsOpts` (already validated). */
export interface ScheduledFilter {
  readonly workflowId?: string | undefined
  /** Upstream compares it with the scheduled run's own id. */
  readonly parentWorkflowRunId?: string | undefined
  /** Rows created through the API have none: any value matches nothing. */
  readonly parentStepRunId?: string | undefined
  /** Containment: each key must hold exactly this string. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** Run statuses to keep; `SCHEDULED` is the (absent) status of a row that has not fired. */
  readonly statuses?: ReadonlyArray<string> | undefined
  /** Default `triggerAt`. */
  readonly orderBy?: "triggerAt" | "createdAt" | undefined
  /** Default `DESC`. */
  readonly orderDirection?: "ASC" | "DESC" | undefined
  /** Default 0. */
  readonly offset?: number | undefined
  /** Default 50. */
  readonly limit?: number | undefined
}

const matches = (scheduled: ScheduledRun, filter: ScheduledFilter): boolean =>
  (filter.workflowId === undefined || scheduled.workflow.id === filter.workflowId) &&
  (filter.parentWorkflowRunId === undefined || scheduled.id === filter.parentWorkflowRunId) &&
  filter.parentStepRunId === undefined &&
  (filter.additionalMetadata === undefined || containsStringPairs(scheduled.metadataRaw, filter.additionalMetadata)) &&
  (filter.statuses === undefined || filter.statuses.includes("SCHEDULED"))

/** `ListScheduledWorkflows` + `CountScheduledWorkflows`: a page of the tenant's scheduled runs and the total. */
export const listScheduled = (state: EngineState, tenantId: string, filter: ScheduledFilter = {}): Page<ScheduledRun> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const key = filter.orderBy === "createdAt"
    ? (s: ScheduledRun) => s.createdAt
    : (s: ScheduledRun) => s.triggerAt
  const sign = filter.orderDirection === "ASC" ? 1 : -1
  const all = [...tenant.scheduled.values()]
    .filter((s) => matches(s, filter))
    .sort((a, b) => sign * (key(a) - key(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const offset = filter.offset ?? 0
  const limit = filter.limit ?? 50
  return { rows: all.slice(offset, offset + limit), total: all.length }
}

// -----------------------------------------------------------------------------
// changing
// -----------------------------------------------------------------------------

/** `DeleteScheduledWorkflow`: the run will not fire. False when the tenant has no such row. */
export const deleteScheduled = (state: EngineState, tenantId: string, id: string): boolean => {
  const tenant = state.tenants.get(tenantId)
  return tenant !== undefined && remove(state, tenant, id)
}

/** Deletes a scheduled run and its timer. */
const remove = (state: EngineState, tenant: TenantState, id: string): boolean => {
  state.timers.cancel("ScheduledRun", id)
  const scheduled = tenant.scheduled.get(id)
  if (scheduled === undefined) return false
  tenant.scheduled.delete(id)
  removeScheduled(state, scheduled)
  return true
}

/** `UpdateScheduledWorkflow`: moves the run to `triggerAt`; it fires then, and only then. */
export const reschedule = (state: EngineState, scheduled: ScheduledRun, triggerAt: number): ScheduledRun => {
  if (scheduled.triggerAt !== triggerAt) {
    scheduled.triggerAt = triggerAt
    touchScheduled(state, scheduled)
    arm(state, scheduled)
  }
  return scheduled
}

/**
 * REST `POST /workflows/scheduled/{id}` (`WorkflowScheduledTrigger`): fires the run now, as the
 * ticker would; returns the new run's id.
 */
export const triggerScheduledNow = (state: EngineState, scheduled: ScheduledRun, now: number): string =>
  fire(state, tenantOf(state, scheduled.tenantId), scheduled, now)

/**
 * `BulkDeleteScheduledWorkflows`: deletes the tenant's rows among `ids`; returns those deleted,
 * in request order (an id given twice is listed twice).
 */
export const bulkDeleteScheduled = (state: EngineState, tenantId: string, ids: ReadonlyArray<string>): Array<string> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return []
  const deleted = new Set(ids.filter((id) => remove(state, tenant, id)))
  return ids.filter((id) => deleted.has(id))
}

/** One per-id failure of a bulk operation (`ScheduledWorkflowsBulkError`). */
export interface BulkError {
  readonly id?: string | undefined
  readonly error: string
}

/**
 * `WorkflowScheduledBulkUpdate`: reschedules each listed row of the tenant; an unknown id is a
 * per-id error "Scheduled workflow not found.". Returns the updated ids in request order.
 */
export const bulkReschedule = (
  state: EngineState,
  tenantId: string,
  updates: ReadonlyArray<{ readonly id: string; readonly triggerAt: number }>
): { readonly updatedIds: Array<string>; readonly errors: Array<BulkError> } => {
  const updatedIds: Array<string> = []
  const errors: Array<BulkError> = []
  for (const update of updates) {
    const scheduled = getScheduled(state, tenantId, update.id)
    if (scheduled === undefined) {
      errors.push({ id: update.id, error: "Scheduled workflow not found." })
      continue
    }
    reschedule(state, scheduled, update.triggerAt)
    updatedIds.push(update.id)
  }
  return { updatedIds, errors }
}
