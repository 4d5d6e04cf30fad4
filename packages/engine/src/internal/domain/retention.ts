/**
 * Retention: what the engine forgets so that its memory stays flat however long it runs.
 *
 * - A finished run (with its tasks, their events, logs and outputs) is pruned once it finished
 *   `maxAgeMs` ago, or once its tenant holds more than `maxRuns` finished runs (the oldest
 *   finished go first). A child run is kept while its parent task is not final, so a retried
 *   parent still finds the children it spawned.
 * - A pushed event is pruned `maxAgeMs` after it was pushed, or beyond `maxRuns` events.
 * - An OTLP trace (`traces.ts`) is pruned `maxAgeMs` after its first span was stored, or beyond
 *   `maxRuns` traces (the oldest first), with the lookup entries naming it.
 * - A worker without an open stream and without a running attempt is pruned once it has been
 *   inactive for `workerMaxAgeMs`, or beyond `maxInactiveWorkers` inactive workers (the longest
 *   inactive first); it then answers NOT_FOUND, as a worker forgotten by the engine does.
 *
 * A sweep per tenant runs on the engine's timers: when the oldest finished run (event, inactive
 * worker) comes of age, or a second after a count is exceeded, so that a burst is pruned in
 * batches. A sweep does at most `sliceBudget` of work per turn of the engine's loop and leaves the
 * rest to a timer due at once but fired on the next turn (`TimerQueue.set`'s `nextTurn`), so that
 * a backlog never blocks the engine for long; its slices end where the sweep in one pass would. Upstream Hatchet keeps data for the tenant's `dataRetentionPeriod` (720h by default,
 * dropped by day partitions) and deletes workers whose last heartbeat is older than that period
 * only when `SERVER_ENABLE_WORKER_RETENTION` is set (off by default), once a day.
 *
 * @internal
 */
import { removeEvent, removeRun } from "./changes.js"
import { compactSlots, putAt } from "./creationIndex.js"
import { forgetDurableTask } from "./durableLog.js"
import type { EngineState, FinishedRuns, PushedEvent, Run, StoredTrace, Task, TenantState, Worker } from "./model.js"
import { isFinal } from "./model.js"
import { dropWorker } from "./tenants.js"

/** A count over its bound is pruned this long after it was exceeded (a burst goes in batches). */
export const countSweepDelayMs = 1_000

/**
 * The most work a turn of the sweep does: each finished run looked at, each task of a pruned run,
 * each event and each worker pruned counts one (a one-task run pruned counts two).
 */
export const sliceBudget = 512

/** Keeps everything. */
export const keepEverything = {
  maxAgeMs: Infinity,
  maxRuns: Infinity,
  workerMaxAgeMs: Infinity,
  maxInactiveWorkers: Infinity
} as const

// -----------------------------------------------------------------------------
// bookkeeping: the domain tells retention what changed
// -----------------------------------------------------------------------------

/** A run reached its final state. */
export const onRunFinished = (state: EngineState, run: Run, now: number): void => {
  const tenant = state.tenants.get(run.tenantId)
  if (tenant === undefined) return
  const finished = tenant.finished
  pushFinished(finished, run, now, now)
  finished.count++
  // a run finished now is due last: only a count over its bound (or no sweep at all) arms one
  const pending = state.timers.get("Retention", tenant.tenant.id)
  if (pending === undefined || (finished.count > state.options.retention.maxRuns && pending.at > now + countSweepDelayMs)) {
    arm(state, tenant, now)
  }
}

/** A finished run was replayed: it is no longer finished. */
export const onRunReopened = (state: EngineState, run: Run): void => {
  const tenant = state.tenants.get(run.tenantId)
  if (tenant !== undefined) tenant.finished.count--
}

/** A worker lost its last stream (or registered without one yet). */
export const onWorkerInactive = (state: EngineState, worker: Worker, now: number): void => {
  worker.inactiveSince = now
  const tenant = state.tenants.get(worker.tenantId)
  if (tenant !== undefined) arm(state, tenant, now)
}

/** A pushed event was stored. */
export const onEventStored = (state: EngineState, tenant: TenantState, now: number): void => {
  if (tenant.events.size > state.options.retention.maxRuns) arm(state, tenant, now)
  else if (tenant.events.size === 1) arm(state, tenant, now)
}

/** A trace's first span was stored. */
export const onTraceStored = (state: EngineState, tenant: TenantState, now: number): void => {
  if (tenant.traces.size > state.options.retention.maxRuns || tenant.traces.size === 1) arm(state, tenant, now)
}

// -----------------------------------------------------------------------------
// the sweep
// -----------------------------------------------------------------------------

/** Arms the tenant's sweep for when something next falls out of the policy, unless one is due sooner. */
const arm = (state: EngineState, tenant: TenantState, now: number): void => {
  const at = nextDue(state, tenant, now)
  if (at === undefined) return
  const pending = state.timers.get("Retention", tenant.tenant.id)
  if (pending !== undefined && pending.at <= at) return
  state.timers.set({ kind: "Retention", id: tenant.tenant.id, at })
}

const isPrunableWorker = (worker: Worker): boolean => !worker.isActive && worker.running.size === 0 && worker.inactiveSince !== undefined

/** When the tenant next has something to prune, if ever. */
const nextDue = (state: EngineState, tenant: TenantState, now: number): number | undefined => {
  const policy = state.options.retention
  const soon = now + countSweepDelayMs
  let due = Infinity
  const finished = tenant.finished
  if (finished.count > policy.maxRuns) due = soon
  else if (finished.head < finished.end) due = Math.min(due, finished.since[finished.head]! + policy.maxAgeMs)
  if (tenant.events.size > policy.maxRuns) due = Math.min(due, soon)
  else {
    const oldest = tenant.events.oldest()
    if (oldest !== undefined) due = Math.min(due, oldest.createdAt + policy.maxAgeMs)
  }
  if (tenant.traces.size > policy.maxRuns) due = Math.min(due, soon)
  else {
    const oldest = oldestTrace(tenant)
    if (oldest !== undefined) due = Math.min(due, oldest.storedAt + policy.maxAgeMs)
  }
  if (policy.workerMaxAgeMs !== Infinity || policy.maxInactiveWorkers !== Infinity) {
    let inactive = 0
    for (const worker of tenant.workers.values()) {
      if (!isPrunableWorker(worker)) continue
      inactive++
      due = Math.min(due, worker.inactiveSince! + policy.workerMaxAgeMs)
    }
    if (inactive > policy.maxInactiveWorkers) due = Math.min(due, soon)
  }
  return Number.isFinite(due) ? Math.max(due, now) : undefined
}

/**
 * The tenant's sweep: prunes what the policy no longer keeps, within `budget`; then arms the next
 * slice on the next turn if the budget ran out, else the next sweep.
 */
export const onRetention = (state: EngineState, tenantId: string, now: number, budget = sliceBudget): void => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return
  let left = pruneRuns(state, tenant, now, budget)
  if (left > 0) left = pruneEvents(state, tenant, now, left)
  if (left > 0) left = pruneTraces(state, tenant, now, left)
  if (left > 0) left = pruneWorkers(state, tenant, now, left)
  if (left > 0) {
    tenant.finished.sweepEnd = undefined
    arm(state, tenant, now)
  } else state.timers.set({ kind: "Retention", id: tenant.tenant.id, at: now }, true)
}

/** Prunes finished runs past the policy within `budget`; returns the budget left. */
const pruneRuns = (state: EngineState, tenant: TenantState, now: number, budget: number): number => {
  const policy = state.options.retention
  const finished = tenant.finished
  // a sweep looks at the runs finished when it started, and a child it keeps for its running
  // parent only in the next sweep, however many slices it takes
  const end = finished.sweepEnd ?? finished.end
  const deferred: Array<Run> = []
  while (finished.head < end && budget > 0) {
    const run = finished.runs[finished.head]!
    const stale = state.runsById.get(run.id) !== run || run.finishedAt !== finished.finishedAt[finished.head]
    if (!stale && finished.count <= policy.maxRuns && finished.since[finished.head]! + policy.maxAgeMs > now) break
    finished.runs[finished.head] = undefined as unknown as Run
    finished.head++
    budget--
    if (stale) continue
    if (parentRunning(state, run)) deferred.push(run)
    else {
      finished.count--
      budget -= run.tasks.size
      pruneRun(state, tenant, run)
    }
  }
  finished.sweepEnd = end
  // a child kept for its running parent is kept from now on, as if it had just finished
  for (const run of deferred) pushFinished(finished, run, run.finishedAt!, now)
  if (finished.head > 1024 && finished.head * 2 > finished.end) {
    const { end, head } = finished
    compactSlots(finished.runs, head, end, undefined as unknown as Run)
    compactSlots(finished.finishedAt, head, end, 0)
    finished.end = compactSlots(finished.since, head, end, 0)
    finished.sweepEnd -= head
    finished.head = 0
  }
  return budget
}

/** Appends a finished run to retention's slot arrays. */
const pushFinished = (finished: FinishedRuns, run: Run, finishedAt: number, since: number): void => {
  putAt(finished.runs, finished.end, run)
  putAt(finished.finishedAt, finished.end, finishedAt)
  finished.end = putAt(finished.since, finished.end, since)
}

/** Whether the run's parent task (if any, and still stored) has not reached a final state. */
const parentRunning = (state: EngineState, run: Run): boolean => {
  if (run.parentTaskExternalId === undefined) return false
  const parent = state.tasksByExternalId.get(run.parentTaskExternalId)
  return parent !== undefined && !isFinal(parent)
}

/** Forgets a finished run: its id, its tasks and every index that holds them. */
const pruneRun = (state: EngineState, tenant: TenantState, run: Run): void => {
  removeRun(state, run)
  state.runsById.delete(run.id)
  tenant.runs.remove(run)
  tenant.runsByWorkflow.get(run.workflow.id)?.remove(run)
  if (run.parentTaskExternalId !== undefined) {
    const siblings = tenant.childRuns.get(run.parentTaskExternalId)
    siblings?.remove(run)
    if (siblings?.size === 0) tenant.childRuns.delete(run.parentTaskExternalId)
  }
  for (const task of run.tasks.values()) forgetTask(state, tenant, task)
}

const forgetTask = (state: EngineState, tenant: TenantState, task: Task): void => {
  forgetDurableTask(state, task)
  if (state.tasksByExternalId.get(task.externalId) === task) state.tasksByExternalId.delete(task.externalId)
  tenant.tasks.remove(task)
}

/** Prunes pushed events past the policy within `budget`; returns the budget left. */
const pruneEvents = (state: EngineState, tenant: TenantState, now: number, budget: number): number => {
  const policy = state.options.retention
  for (; budget > 0; budget--) {
    const oldest: PushedEvent | undefined = tenant.events.oldest()
    if (oldest === undefined) break
    if (tenant.events.size <= policy.maxRuns && oldest.createdAt + policy.maxAgeMs > now) break
    tenant.events.remove(oldest)
    removeEvent(state, oldest)
    state.eventsById.delete(oldest.id)
  }
  return budget
}

const oldestTrace = (tenant: TenantState): StoredTrace | undefined => tenant.traces.values().next().value

/** Prunes traces past the policy within `budget` (a trace counts one, each of its spans one more). */
const pruneTraces = (state: EngineState, tenant: TenantState, now: number, budget: number): number => {
  const policy = state.options.retention
  while (budget > 0) {
    const oldest = oldestTrace(tenant)
    if (oldest === undefined) break
    if (tenant.traces.size <= policy.maxRuns && oldest.storedAt + policy.maxAgeMs > now) break
    tenant.traces.delete(oldest.id)
    for (const externalId of oldest.externalIds) {
      if (tenant.traceLookup.get(externalId)?.traceId === oldest.id) tenant.traceLookup.delete(externalId)
    }
    budget -= 1 + oldest.spans.length
  }
  return budget
}

/** Prunes inactive workers past the policy within `budget`; returns the budget left. */
const pruneWorkers = (state: EngineState, tenant: TenantState, now: number, budget: number): number => {
  const policy = state.options.retention
  const inactive = [...tenant.workers.values()].filter(isPrunableWorker)
    .sort((a, b) => a.inactiveSince! - b.inactiveSince!)
  let excess = inactive.length - policy.maxInactiveWorkers
  for (const worker of inactive) {
    if (excess <= 0 && worker.inactiveSince! + policy.workerMaxAgeMs > now) break
    if (budget <= 0) break
    excess--
    budget--
    dropWorker(state, worker)
  }
  return budget
}
