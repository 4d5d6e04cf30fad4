/**
 * What an operation changed among the records a durable store keeps: tenants, workflows (with
 * their versions), runs (with their tasks, their timelines and logs), pushed events, crons,
 * scheduled runs and rate limits. The domain marks a record when it changes it; the core hands the
 * marks to the `EngineStore` at the end of each operation (`core.ts`, `store/EngineStore.ts`).
 * Workers, streams, subscribers, queues and timers are the live runtime: never stored.
 *
 * A task's state changes only through `setTaskState`, so no transition escapes the store.
 * Without a store that keeps them (`EngineState.recordsChanges` false) nothing is marked: the
 * marks would only be cleared again after every operation.
 *
 * @internal
 */
import type { CronTrigger, EngineState, PushedEvent, RateLimit, Run, ScheduledRun, Task, TaskState, Tenant, Workflow } from "./model.js"

/** A stored record that is gone (pruned, fired, deleted). */
export interface Removal {
  readonly kind: "run" | "event" | "cron" | "scheduled"
  readonly tenantId: string
  readonly id: string
}

/** The records changed since the last `take`, by kind; a removed record is only in `removed`. */
export class ChangeSet {
  readonly tenants = new Set<Tenant>()
  readonly workflows = new Set<Workflow>()
  readonly runs = new Set<Run>()
  readonly events = new Set<PushedEvent>()
  readonly crons = new Set<CronTrigger>()
  readonly scheduled = new Set<ScheduledRun>()
  /** Rate limits with their tenant id (the limit itself does not say it). */
  readonly rateLimits = new Map<RateLimit, string>()
  readonly removed: Array<Removal> = []

  /**
   * Forgets every change (a store that keeps nothing: after every operation). Only the
   * collections that hold something are cleared, as clearing a `Set` or `Map` allocates a new
   * hash table even when it is empty.
   */
  clear(): void {
    if (this.tenants.size > 0) this.tenants.clear()
    if (this.workflows.size > 0) this.workflows.clear()
    if (this.runs.size > 0) this.runs.clear()
    if (this.events.size > 0) this.events.clear()
    if (this.crons.size > 0) this.crons.clear()
    if (this.scheduled.size > 0) this.scheduled.clear()
    if (this.rateLimits.size > 0) this.rateLimits.clear()
    if (this.removed.length > 0) this.removed.length = 0
  }

  get isEmpty(): boolean {
    return this.tenants.size === 0 && this.workflows.size === 0 && this.runs.size === 0 && this.events.size === 0 &&
      this.crons.size === 0 && this.scheduled.size === 0 && this.rateLimits.size === 0 && this.removed.length === 0
  }
}

/** The run (and so its tasks) changed. */
export const touchRun = (state: EngineState, run: Run): void => {
  if (state.recordsChanges) state.changes.runs.add(run)
}

/** Sets a task's state and marks its run. */
export const setTaskState = (state: EngineState, task: Task, next: TaskState): void => {
  task.state = next
  if (state.recordsChanges) state.changes.runs.add(task.run)
}

export const touchTenant = (state: EngineState, tenant: Tenant): void => {
  if (state.recordsChanges) state.changes.tenants.add(tenant)
}

export const touchWorkflow = (state: EngineState, workflow: Workflow): void => {
  if (state.recordsChanges) state.changes.workflows.add(workflow)
}

export const touchEvent = (state: EngineState, event: PushedEvent): void => {
  if (state.recordsChanges) state.changes.events.add(event)
}

export const touchCron = (state: EngineState, cron: CronTrigger): void => {
  if (state.recordsChanges) state.changes.crons.add(cron)
}

export const touchScheduled = (state: EngineState, scheduled: ScheduledRun): void => {
  if (state.recordsChanges) state.changes.scheduled.add(scheduled)
}

export const touchRateLimit = (state: EngineState, tenantId: string, limit: RateLimit): void => {
  if (state.recordsChanges) state.changes.rateLimits.set(limit, tenantId)
}

/** A run is gone (pruned): its record, and its tasks with it. */
export const removeRun = (state: EngineState, run: Run): void => {
  if (!state.recordsChanges) return
  state.changes.runs.delete(run)
  state.changes.removed.push({ kind: "run", tenantId: run.tenantId, id: run.id })
}

/** A pushed event is gone (pruned). */
export const removeEvent = (state: EngineState, event: PushedEvent): void => {
  if (!state.recordsChanges) return
  state.changes.events.delete(event)
  state.changes.removed.push({ kind: "event", tenantId: event.tenantId, id: event.id })
}

/** A cron is gone (deleted, or replaced by a new version's). */
export const removeCron = (state: EngineState, cron: CronTrigger): void => {
  if (!state.recordsChanges) return
  state.changes.crons.delete(cron)
  state.changes.removed.push({ kind: "cron", tenantId: cron.tenantId, id: cron.id })
}

/** A scheduled run is gone (fired or deleted). */
export const removeScheduled = (state: EngineState, scheduled: ScheduledRun): void => {
  if (!state.recordsChanges) return
  state.changes.scheduled.delete(scheduled)
  state.changes.removed.push({ kind: "scheduled", tenantId: scheduled.tenantId, id: scheduled.id })
}
