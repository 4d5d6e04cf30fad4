/**
 * Cron triggers (upstream `WorkflowTriggerCronRef`), declared on a workflow or created through
 * REST, and their firing. The crontab grammar and the tick schedule are
 * `@effect-hatchet/shared/Crontab`, which the SDK checks expressions with too.
 *
 * - Firing (`internal/services/ticker/cron.go`, `cron_v1.go`, gocron in UTC): the first tick is
 *   the first matching second strictly after the cron is stored, each next one the first after
 *   the previous tick; a schedule with no tick within five years never fires. Every tick of an
 *   enabled cron triggers the workflow by name (its latest version) with the cron's input,
 *   priority and metadata plus the `hatchet__cron_*` keys; a disabled cron does not fire
 *   (`PollCronSchedules` skips it), a deleted one never again.
 * - Storage (`pkg/repository/workflow.go`, `workflow_schedules.go`,
 *   `sqlcv1/workflow_schedules.sql`, `sqlcv1/workflows.sql`): a new version of the workflow
 *   replaces its declared (`DEFAULT`) crons and keeps the ones created through REST (`API`);
 *   list and get show both; delete and update accept both.
 *
 * `docs/engine.md` §10; upstream `api/v1/server/handlers/workflows/*_cron.go`.
 *
 * @internal
 */
import { type CronSchedule, firesInUtc, nextTick, parse as parseCron } from "@effect-hatchet/shared/Crontab"
import * as Either from "effect/Either"
import { removeCron, touchCron } from "./changes.js"
import { type InvalidArgument, invalidArgument, type Unimplemented, unimplemented } from "./errors.js"
import { newId } from "./ids.js"
import { containsStringPairs, validateJsonb } from "./json.js"
import type { CronTrigger, EngineState, TenantState, WorkflowVersion } from "./model.js"
import type { Page } from "./queries.js"
import { tenantOf } from "./tenants.js"
import { triggerFromCron } from "./triggers.js"

// -----------------------------------------------------------------------------
// firing
// -----------------------------------------------------------------------------

/**
 * Arms the cron's ticks from `now` on the engine's timers: each tick triggers a run while the cron
 * is enabled, then arms the next one; once the cron is deleted or replaced its timer ends. A
 * disabled cron keeps its schedule without firing, so re-enabling it fires at its next tick, as
 * upstream's ticker schedules it afresh. A crontab the parser refuses is deleted, as the ticker's
 * `DeleteInvalidCron` does (only REST crons can have one: registration validates its crons).
 */
const arm = (state: EngineState, cron: CronTrigger, now: number): void => {
  const parsed = parseCron(cron.expression)
  if (parsed._tag !== "Schedule") {
    const tenant = state.tenants.get(cron.tenantId)
    if (tenant !== undefined) remove(state, tenant, cron.id)
    return
  }
  schedules.set(cron, parsed.schedule)
  armAfter(state, cron, parsed.schedule, now)
}

/** The parsed schedule of each armed cron. */
const schedules = new WeakMap<CronTrigger, CronSchedule>()

const armAfter = (state: EngineState, cron: CronTrigger, schedule: CronSchedule, after: number) => {
  const tick = nextTick(schedule, after)
  if (tick !== undefined) state.timers.set({ kind: "CronTick", id: cron.id, tenantId: cron.tenantId, at: tick })
}

/** A cron's tick at `tick`: a run while it is enabled, then the next tick; nothing once it is deleted. */
export const onCronTick = (state: EngineState, tenantId: string, id: string, tick: number, now: number): void => {
  const cron = state.tenants.get(tenantId)?.crons.get(id)
  const schedule = cron === undefined ? undefined : schedules.get(cron)
  if (cron === undefined || schedule === undefined) return
  // a paused workflow that drops its cron runs skips the tick (upstream's ticker stops polling the cron)
  if (cron.enabled && cron.workflow.paused?.cronRunQueueBehavior !== "DROP") triggerFromCron(state, cron, tick, now)
  armAfter(state, cron, schedule, tick)
}

/** Stores a cron and arms it. */
const insert = (state: EngineState, tenant: TenantState, cron: CronTrigger, now: number): CronTrigger => {
  tenant.crons.set(cron.id, cron)
  touchCron(state, cron)
  arm(state, cron, now)
  return cron
}

/**
 * A freshly stored version's declared crons (`cron_triggers`) replace the workflow's previous
 * `DEFAULT` crons (upstream `CreateWorkflowTriggerCronRef` then
 * `DeleteOldDefaultCronTriggersForWorkflowVersion`): name "", the version's `cron_input`, its
 * default priority (else 1), no metadata; a cron with the same expression keeps its `enabled`.
 * The workflow's `API` crons move to the new version unchanged.
 */
export const replaceDeclaredCrons = (state: EngineState, version: WorkflowVersion, now: number): void => {
  const tenant = tenantOf(state, version.workflow.tenantId)
  const previous = new Map<string, boolean>()
  for (const cron of [...tenant.crons.values()]) {
    if (cron.workflow !== version.workflow || cron.method !== "DEFAULT") continue
    previous.set(cron.expression, cron.enabled)
    remove(state, tenant, cron.id)
  }
  for (const expression of version.cronTriggers) {
    insert(state, tenant, {
      id: newId(),
      tenantId: tenant.tenant.id,
      workflow: version.workflow,
      expression,
      name: "",
      inputRaw: version.request.cronInput ?? "",
      metadataRaw: "",
      priority: version.defaultPriority ?? 1,
      enabled: previous.get(expression) ?? true,
      method: "DEFAULT",
      createdAt: now,
      updatedAt: now
    }, now)
  }
}

// -----------------------------------------------------------------------------
// crons created through REST
// -----------------------------------------------------------------------------

/** What `CreateCronWorkflowTriggerRequest` stores besides its workflow. */
export interface NewCron {
  readonly name: string
  readonly expression: string
  /** Input JSON text, "" for none. */
  readonly inputRaw: string
  /** Additional metadata JSON text, "" for none. */
  readonly metadataRaw: string
  /** Undefined means 1. */
  readonly priority: number | undefined
}

/** The features of a crontab upstream's ticker follows and this engine cannot, if any. */
const unsupportedSchedule = (expression: string): string | undefined => {
  if (expression.trim().startsWith("@")) return `the cron descriptor '${expression}'`
  const parsed = parseCron(expression)
  if (parsed._tag === "Schedule" && !firesInUtc(parsed.schedule)) {
    return `the cron expression '${expression}' with a time zone other than UTC`
  }
  return undefined
}

/**
 * REST `POST /workflows/{workflow}/crons` (`CronWorkflowTriggerCreate`, `CreateCronWorkflow`):
 * INVALID_ARGUMENT "cron name is required", then "workflow not found" (names are exact), the
 * jsonb checks of `input` and `additionalMetadata`, "error creating cron trigger" for a priority
 * the table's check refuses (outside 1..4), and "cron trigger with that name-expression pair
 * already exists" for the workflow. The crontab is not validated here: upstream stores it and
 * its ticker deletes it when it cannot parse it, which `arm` does at once. A crontab with a time
 * zone other than UTC or an `@` descriptor is UNIMPLEMENTED (this engine cannot follow it).
 */
export const createCron = (
  state: EngineState,
  tenantId: string,
  workflowName: string,
  opts: NewCron,
  now: number
): Either.Either<CronTrigger, InvalidArgument | Unimplemented> => {
  const tenant = tenantOf(state, tenantId)
  if (opts.name === "") return Either.left(invalidArgument("cron name is required"))
  const workflow = tenant.workflowsByName.get(workflowName)
  if (workflow === undefined) return Either.left(invalidArgument("workflow not found"))
  const jsonError = validateJsonb(opts.inputRaw, "input") ?? validateJsonb(opts.metadataRaw, "additionalMetadata")
  if (jsonError !== undefined) return Either.left(invalidArgument(jsonError))
  const priority = opts.priority ?? 1
  if (priority < 1 || priority > 4) return Either.left(invalidArgument("error creating cron trigger"))
  for (const cron of tenant.crons.values()) {
    if (cron.workflow === workflow && cron.expression === opts.expression && cron.name === opts.name) {
      return Either.left(invalidArgument("cron trigger with that name-expression pair already exists"))
    }
  }
  const unsupported = unsupportedSchedule(opts.expression)
  if (unsupported !== undefined) {
    return Either.left(
      unimplemented(`cron trigger '${opts.name}' uses a feature the local engine does not support yet: ${unsupported}`)
    )
  }
  return Either.right(insert(state, tenant, {
    id: newId(),
    tenantId,
    workflow,
    expression: opts.expression,
    name: opts.name,
    inputRaw: opts.inputRaw,
    metadataRaw: opts.metadataRaw,
    priority,
    enabled: true,
    method: "API",
    createdAt: now,
    updatedAt: now
  }, now))
}

/** The tenant's cron `id` (declared or created through REST), or undefined. */
export const getCron = (state: EngineState, tenantId: string, id: string): CronTrigger | undefined =>
  state.tenants.get(tenantId)?.crons.get(id)

/** The filters and ordering of `ListCronWorkflowsOpts` (already validated). */
export interface CronFilter {
  readonly workflowId?: string | undefined
  /** Exact workflow name. */
  readonly workflowName?: string | undefined
  /** Exact cron name ("" selects the declared crons). */
  readonly cronName?: string | undefined
  /** Containment: each key must hold exactly this string. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** `name` is the WORKFLOW's name, as upstream sorts; default `createdAt`. */
  readonly orderBy?: "createdAt" | "name" | undefined
  /** Default `DESC`. */
  readonly orderDirection?: "ASC" | "DESC" | undefined
  /** Default 0. */
  readonly offset?: number | undefined
  /** Default 50. */
  readonly limit?: number | undefined
}

const matches = (cron: CronTrigger, filter: CronFilter): boolean =>
  (filter.workflowId === undefined || cron.workflow.id === filter.workflowId) &&
  (filter.workflowName === undefined || cron.workflow.name === filter.workflowName) &&
  (filter.cronName === undefined || cron.name === filter.cronName) &&
  (filter.additionalMetadata === undefined || containsStringPairs(cron.metadataRaw, filter.additionalMetadata))

const compare = <A extends string | number>(a: A, b: A) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * `ListCronWorkflows` + `CountCronWorkflows`: a page of the tenant's crons and the total, ordered
 * by the cron's creation time or the workflow's name, then by id.
 */
export const listCrons = (state: EngineState, tenantId: string, filter: CronFilter = {}): Page<CronTrigger> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const sign = filter.orderDirection === "ASC" ? 1 : -1
  const key = filter.orderBy === "name"
    ? (a: CronTrigger, b: CronTrigger) => compare(a.workflow.name, b.workflow.name)
    : (a: CronTrigger, b: CronTrigger) => compare(a.createdAt, b.createdAt)
  const all = [...tenant.crons.values()]
    .filter((cron) => matches(cron, filter))
    .sort((a, b) => sign * key(a, b) || compare(a.id, b.id))
  const offset = filter.offset ?? 0
  const limit = filter.limit ?? 50
  return { rows: all.slice(offset, offset + limit), total: all.length }
}

/** `DeleteCronWorkflow`: the cron never fires again. False when the tenant has no such cron. */
export const deleteCron = (state: EngineState, tenantId: string, id: string): boolean => {
  const tenant = state.tenants.get(tenantId)
  return tenant !== undefined && remove(state, tenant, id)
}

/** Deletes a cron and its pending tick. */
const remove = (state: EngineState, tenant: TenantState, id: string): boolean => {
  state.timers.cancel("CronTick", id)
  const cron = tenant.crons.get(id)
  if (cron === undefined) return false
  tenant.crons.delete(id)
  removeCron(state, cron)
  return true
}

/** `UpdateCronWorkflow`: sets `enabled` when given (`COALESCE`), nothing else. */
export const setCronEnabled = (state: EngineState, cron: CronTrigger, enabled: boolean | undefined): CronTrigger => {
  if (enabled !== undefined) {
    cron.enabled = enabled
    touchCron(state, cron)
  }
  return cron
}

/**
 * REST `POST /workflows/crons/{id}` (`WorkflowCronTrigger`): runs the cron's workflow now, as a
 * tick would (enabled or not), with the current time as `hatchet__cron_scheduled_at`; returns the
 * run's id.
 */
export const triggerCronNow = (state: EngineState, cron: CronTrigger, now: number): string => triggerFromCron(state, cron, now, now)
