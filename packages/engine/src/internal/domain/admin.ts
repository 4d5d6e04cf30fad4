/**
 * Cancel and replay, by external ids (task or run ids) or by a runs filter:
 * `v1.AdminService/CancelTasks` / `ReplayTasks` and the REST `tasks/cancel` / `tasks/replay`
 * routes, which proxy to the same operations.
 *
 * `docs/engine.md` §3.6, §3.7; upstream `internal/services/admin/v1/server.go`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { touchRun } from "./changes.js"
import { type InvalidArgument, invalidArgument } from "./errors.js"
import { parseUuid } from "./ids.js"
import type { EngineState, Run, Step, Task } from "./model.js"
import { isFinal } from "./model.js"
import { listRuns, type RunsFilter } from "./queries.js"
import { onRunReopened } from "./retention.js"
import { recordEvent } from "./taskEvents.js"
import { cancelTask, rearmSteps, requeueReplayed } from "./tasks.js"

/** A cancel / replay request: ids, or a filter over runs. */
export interface TasksSelection {
  readonly externalIds: ReadonlyArray<string>
  readonly filter?: TasksFilter | undefined
}

export interface TasksFilter {
  readonly since: number
  readonly until?: number | undefined
  readonly statuses: ReadonlyArray<string>
  readonly workflowIds: ReadonlyArray<string>
  /** `"key:value"` pairs. */
  readonly additionalMetadata: ReadonlyArray<string>
}

/** Upstream's limits on filter matches: 20000 for cancel, 1000 for replay. */
const cancelLimit = 20_000
const replayLimit = 1_000

/** The canonical ids of `values`, or INVALID_ARGUMENT `message` (its cause the Go error). */
const parseUuids = (values: ReadonlyArray<string>, message: string): Either.Either<Array<string>, InvalidArgument> => {
  const ids: Array<string> = []
  for (const value of values) {
    const parsed = parseUuid(value)
    if (!parsed.ok) return Either.left(invalidArgument(message, parsed.error))
    ids.push(parsed.value)
  }
  return Either.right(ids)
}

const resolveIds = (
  state: EngineState,
  tenantId: string,
  selection: TasksSelection,
  limit: number
): Either.Either<Array<string>, InvalidArgument> =>
  Either.gen(function*() {
    const ids = yield* parseUuids(selection.externalIds, "invalid external id")
    if (ids.length > 0 && selection.filter !== undefined) {
      return yield* Either.left(invalidArgument("cannot provide both external ids and filter"))
    }
    const filter = selection.filter
    if (ids.length === 0 && filter !== undefined) {
      const workflowIds = yield* parseUuids(filter.workflowIds, "invalid workflow id")
      const metadata: Record<string, string> = {}
      for (const pair of filter.additionalMetadata) {
        const index = pair.indexOf(":")
        if (index < 0) return yield* Either.left(invalidArgument(`invalid additional metadata filter: ${pair}`))
        metadata[pair.slice(0, index)] = pair.slice(index + 1)
      }
      const runsFilter: RunsFilter = {
        since: filter.since,
        until: filter.until,
        statuses: filter.statuses,
        workflowIds,
        additionalMetadata: metadata,
        limit
      }
      for (const run of listRuns(state, tenantId, runsFilter).rows) ids.push(run.id)
    }
    return ids
  })

/** `FlattenExternalIds`: a run id expands to the tasks it has created so far. */
export const flattenExternalIds = (state: EngineState, tenantId: string, ids: ReadonlyArray<string>): Array<Task> => {
  const tasks: Array<Task> = []
  const seen = new Set<Task>()
  const add = (task: Task) => {
    if (!seen.has(task)) {
      seen.add(task)
      tasks.push(task)
    }
  }
  for (const id of ids) {
    const run = state.runsById.get(id)
    if (run !== undefined && run.tenantId === tenantId) {
      for (const task of run.tasks.values()) add(task)
      continue
    }
    const task = state.tasksByExternalId.get(id)
    if (task !== undefined && task.tenantId === tenantId && task.run.tasks.get(task.step.id) === task) add(task)
  }
  return tasks
}

/**
 * Cancels the selected tasks (running attempts get `CANCEL_STEP_RUN`); returns the selected ids.
 * A malformed selection is INVALID_ARGUMENT.
 */
export const cancelTasks = (
  state: EngineState,
  tenantId: string,
  selection: TasksSelection,
  now: number
): Either.Either<Array<string>, InvalidArgument> =>
  Either.map(resolveIds(state, tenantId, selection, cancelLimit), (ids) => {
    for (const task of flattenExternalIds(state, tenantId, ids)) {
      cancelTask(state, task, now, { notifyWorker: true })
    }
    return ids
  })

/** Every step below `steps` in the DAG (a walk with its own stack: a chain may be thousands long). */
const descendants = (steps: Iterable<Step>): Set<Step> => {
  const result = new Set<Step>()
  const pending = [...steps]
  while (pending.length > 0) {
    for (const child of pending.pop()!.children) {
      if (result.has(child)) continue
      result.add(child)
      pending.push(child)
    }
  }
  return result
}

/**
 * Replays the selected final tasks: each keeps its external id and is queued again with
 * `retry_count + 1`; the matches of its DAG descendants (and of the on-failure task) are armed
 * again, the final events of the run's other tasks satisfying what they can at once, so they run
 * again once their parents complete. Tasks still in flight are skipped. Returns the replayed task
 * ids; a malformed selection is INVALID_ARGUMENT.
 */
export const replayTasks = (
  state: EngineState,
  tenantId: string,
  selection: TasksSelection,
  now: number
): Either.Either<Array<string>, InvalidArgument> =>
  Either.map(resolveIds(state, tenantId, selection, replayLimit), (ids) => replayIds(state, tenantId, ids, now))

/** `replayTasks` of ids already parsed (canonical UUIDs of runs or tasks). */
export const replayIds = (state: EngineState, tenantId: string, ids: ReadonlyArray<string>, now: number): Array<string> => {
  const byRun = new Map<Run, Array<Task>>()
  for (const task of flattenExternalIds(state, tenantId, ids)) {
    if (!isFinal(task)) continue
    const list = byRun.get(task.run) ?? []
    list.push(task)
    byRun.set(task.run, list)
  }
  const replayed: Array<string> = []
  for (const [run, tasks] of byRun) {
    const rearmed = descendants(tasks.map((t) => t.step))
    const resetOnFailure = run.version.onFailure !== undefined && tasks.some((t) => t.step.kind === "DEFAULT")
    const steps = run.version.steps.filter((step) => rearmed.has(step) || (resetOnFailure && step.kind === "ON_FAILURE"))
    for (const step of steps) run.tasks.delete(step.id)
    if (run.finishedAt !== undefined) onRunReopened(state, run)
    run.finishedAt = undefined
    touchRun(state, run)
    if (run.isDag) rearmSteps(state, run, steps, new Set(tasks.filter((task) => !steps.includes(task.step))), now)
    for (const task of tasks) {
      if (rearmed.has(task.step) || task.step.kind === "ON_FAILURE" && resetOnFailure) {
        replayed.push(task.externalId)
        continue
      }
      task.retryCount++
      task.appRetryCount = 0
      task.internalRetryCount = 0
      // worded as upstream's OLAP signaler records a replay (SignalTasksReplayed)
      recordEvent(state, task, "RETRIED_BY_USER", now, { message: "Task was replayed, resetting task result." })
      requeueReplayed(state, task, now)
      replayed.push(task.externalId)
    }
  }
  return replayed
}
