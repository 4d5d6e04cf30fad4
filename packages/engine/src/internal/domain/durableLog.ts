/**
 * A durable task's event log, the part the rest of the engine reaches: invocation counts (one
 * per assignment), satisfying entries (a wait's condition held, a child run finished) and
 * reporting them on the task's DurableTask stream in the order they were satisfied, restoring an
 * evicted task whose wait was satisfied, and the waits' sleeps and user events. What a worker
 * asks of the log (memo, waits, child runs, eviction) is `durable.ts`.
 *
 * Engine semantics §9; upstream `pkg/repository/durable_events.go`,
 * `internal/services/shared/durable/dispatch.go`, `controllers/task/durable_callbacks.go`.
 *
 * @internal
 */
import type { DurableTaskResponse } from "@effect-hatchet/proto/v1/dispatcher"
import { evaluate } from "./cel.js"
import { setTaskState, touchRun } from "./changes.js"
import { enqueue, retryPriority } from "./dispatch.js"
import type { JsonValue } from "./json.js"
import { isJsonObject, parseJson, stringifyJson } from "./json.js"
import type { DurableEntry, DurableEventWait, EngineState, PushedEvent, Run, Task } from "./model.js"
import { isFinal } from "./model.js"
import { recordEvent } from "./taskEvents.js"

/** The key of an entry in `DurableLog.entries`. */
export const entryKey = (branchId: number, nodeId: number): string => `${branchId}:${nodeId}`

const encoder = new TextEncoder()

/** JSON bytes of a value. */
export const jsonBytes = (value: unknown): Uint8Array => encoder.encode(stringifyJson(value))

/**
 * An assignment of a durable task: its log is created (invocation 1, branch 1) or its invocation
 * count incremented; node ids start again from 1, so the new invocation replays the log.
 */
export const beginInvocation = (state: EngineState, task: Task): void => {
  if (!task.step.isDurable) return
  const log = task.durable
  if (log === undefined) {
    task.durable = {
      invocationCount: 1,
      latestNodeId: 0,
      latestBranchId: 1,
      entries: new Map(),
      branchPoints: new Map(),
      satisfiedCount: 0
    }
  } else {
    log.invocationCount++
    log.latestNodeId = 0
  }
  touchRun(state, task.run)
}

/** The `entry_completed` message of a satisfied entry, for `invocationCount`. */
export const entryCompleted = (task: Task, entry: DurableEntry, invocationCount: number): DurableTaskResponse => ({
  entryCompleted: {
    ref: {
      durableTaskExternalId: task.externalId,
      invocationCount,
      branchId: entry.branchId,
      nodeId: entry.nodeId
    },
    payload: entry.isFailure ? new Uint8Array() : entry.result ?? new Uint8Array(),
    isFailure: entry.isFailure,
    ...(entry.isFailure ? { errorMessage: entry.errorMessage ?? "" } : {})
  }
})

/** Sends `response` on the DurableTask stream `task` last spoke on; false when there is none. */
export const sendToTask = (state: EngineState, task: Task, response: DurableTaskResponse): boolean => {
  const stream = state.durableStreams.get(task.externalId)
  if (stream === undefined || stream.tenantId !== task.tenantId) return false
  stream.send(response)
  return true
}

/**
 * Marks `entry` satisfied with `result` (or as a failed child) and reports it: on the task's
 * stream while an attempt runs (a worker that is not listening asks again with `worker_status`),
 * or by restoring the task if it was evicted. A satisfied entry never changes again.
 */
export const satisfyEntry = (
  state: EngineState,
  task: Task,
  entry: DurableEntry,
  now: number,
  outcome: { readonly result: Uint8Array } | { readonly failure: string }
): void => {
  const log = task.durable
  if (log === undefined || entry.satisfied) return
  clearWait(state, task, entry)
  entry.satisfied = true
  entry.satisfiedAt = now
  entry.satisfiedOrder = ++log.satisfiedCount
  if ("result" in outcome) entry.result = outcome.result
  else {
    entry.isFailure = true
    entry.errorMessage = outcome.failure
  }
  touchRun(state, task.run)
  switch (task.state._tag) {
    case "Assigned":
      sendToTask(state, task, entryCompleted(task, entry, log.invocationCount))
      return
    case "Evicted":
      restore(state, task, now, "callback satisfied while task evicted")
      return
    default:
      // queued or in backoff: the next invocation replays the log and finds it satisfied
      return
  }
}

/**
 * Queues an evicted task again (upstream `RestoreEvictedTasks`), ahead of new work, under the
 * same retry count: its next assignment is a new invocation that replays the log. Returns
 * whether it was evicted.
 */
export const restore = (state: EngineState, task: Task, now: number, reason: string): boolean => {
  if (task.state._tag !== "Evicted") return false
  recordEvent(state, task, "DURABLE_RESTORING", now, { message: `Restoring evicted task: ${reason}` })
  enqueue(state, task, now, retryPriority)
  return true
}

/** Evicts the running attempt of a durable task; the caller has released its runtime. */
export const markEvicted = (state: EngineState, task: Task, now: number, reason: string): void => {
  setTaskState(state, task, { _tag: "Evicted", at: now, reason })
  recordEvent(state, task, "DURABLE_EVICTED", now, { message: reason })
}

// -----------------------------------------------------------------------------
// child runs
// -----------------------------------------------------------------------------

/** What a finished child run answers its parent's RUN entry: its output, or its failure. */
const childOutcome = (run: Run): { readonly result: Uint8Array } | { readonly failure: string } => {
  const tasks = [...run.tasks.values()].sort((a, b) => a.step.index - b.step.index)
  for (const task of tasks) {
    if (task.state._tag === "Failed") return { failure: task.state.error }
  }
  for (const task of tasks) {
    if (task.state._tag === "Cancelled") return { failure: "task was cancelled" }
  }
  const output = (task: Task): JsonValue =>
    task.state._tag === "Completed" ? parseJson(task.state.output) ?? null : null
  if (!run.isDag) return { result: jsonBytes(tasks[0] !== undefined ? output(tasks[0]) : null) }
  const outputs: Record<string, JsonValue> = {}
  for (const task of tasks) if (task.step.kind === "DEFAULT") outputs[task.step.readableId] = output(task)
  return { result: jsonBytes(outputs) }
}

/** A run finished: the RUN entry of its durable parent that spawned it is satisfied. */
export const onChildRunFinished = (state: EngineState, run: Run, now: number): void => {
  if (run.parentTaskExternalId === undefined) return
  const parent = state.tasksByExternalId.get(run.parentTaskExternalId)
  const log = parent?.durable
  if (parent === undefined || log === undefined) return
  for (const entry of log.entries.values()) {
    if (entry.kind === "RUN" && entry.childRunId === run.id && !entry.satisfied) {
      satisfyEntry(state, parent, entry, now, childOutcome(run))
    }
  }
}

// -----------------------------------------------------------------------------
// waits: sleeps and user events
// -----------------------------------------------------------------------------

/** The timer id of a wait's sleep condition. */
const sleepTimerId = (task: Task, entry: DurableEntry, index: number) =>
  `${task.externalId}:${entry.branchId}:${entry.nodeId}:${index}`

/** Arms a new wait: its sleeps on the engine's clock, its user events in the tenant's index. */
export const armWait = (state: EngineState, task: Task, entry: DurableEntry): void => {
  const wait = entry.wait
  if (wait === undefined) return
  wait.conditions.forEach((condition, index) => {
    if (condition._tag === "Sleep") {
      state.timers.set({
        kind: "DurableSleep",
        id: sleepTimerId(task, entry, index),
        taskId: task.externalId,
        branchId: entry.branchId,
        nodeId: entry.nodeId,
        index,
        at: condition.at
      })
    } else {
      let byKey = state.durableEventWaits.get(task.tenantId)
      if (byKey === undefined) {
        byKey = new Map()
        state.durableEventWaits.set(task.tenantId, byKey)
      }
      let waits = byKey.get(condition.eventKey)
      if (waits === undefined) {
        waits = new Set()
        byKey.set(condition.eventKey, waits)
      }
      waits.add({ task, entry })
    }
  })
}

/** Disarms a wait (satisfied, or its task final). */
const clearWait = (state: EngineState, task: Task, entry: DurableEntry): void => {
  const wait = entry.wait
  if (wait === undefined) return
  entry.wait = undefined
  wait.conditions.forEach((condition, index) => {
    if (condition._tag === "Sleep") state.timers.cancel("DurableSleep", sleepTimerId(task, entry, index))
    else {
      const waits = state.durableEventWaits.get(task.tenantId)?.get(condition.eventKey)
      if (waits === undefined) return
      for (const w of waits) if (w.entry === entry) waits.delete(w)
      if (waits.size === 0) state.durableEventWaits.get(task.tenantId)!.delete(condition.eventKey)
    }
  })
}

/** A final task's waits are disarmed and its stream forgotten. */
export const onDurableTaskFinal = (state: EngineState, task: Task): void => {
  const log = task.durable
  if (log === undefined) return
  for (const entry of log.entries.values()) clearWait(state, task, entry)
  state.durableStreams.delete(task.externalId)
}

/**
 * A condition of a wait held with `data`: the wait is satisfied when every condition of one
 * or-group held, with `{"CREATE": {"<readable_data_key>": [<data>, …]}}` of that group.
 */
const conditionHeld = (state: EngineState, task: Task, entry: DurableEntry, index: number, data: JsonValue, now: number) => {
  const wait = entry.wait
  if (wait === undefined || entry.satisfied) return
  wait.held.set(index, data)
  const group = wait.conditions[index]!.orGroupId
  const members = wait.conditions.map((c, i) => [c, i] as const).filter(([c]) => c.orGroupId === group)
  if (!members.every(([, i]) => wait.held.has(i))) return
  const byKey: Record<string, Array<JsonValue>> = {}
  for (const [c, i] of members) (byKey[c.readableDataKey] ??= []).push(wait.held.get(i)!)
  satisfyEntry(state, task, entry, now, { result: jsonBytes({ CREATE: byKey }) })
}

/** A wait's sleep elapsed (`DurableSleep` timer). */
export const onDurableSleep = (
  state: EngineState,
  task: Task,
  timer: { readonly branchId: number; readonly nodeId: number; readonly index: number },
  now: number
): void => {
  if (isFinal(task)) return
  const entry = task.durable?.entries.get(entryKey(timer.branchId, timer.nodeId))
  const condition = entry?.wait?.conditions[timer.index]
  if (entry === undefined || condition?._tag !== "Sleep") return
  conditionHeld(state, task, entry, timer.index, { sleep_duration: condition.sleepFor }, now)
}

/** Whether a user event meets a condition: its scope (when the condition has one) and expression. */
const eventMeets = (condition: Extract<DurableEntry["wait"], object>["conditions"][number], event: PushedEvent, payload: JsonValue) => {
  if (condition._tag !== "UserEvent" || condition.eventKey !== event.key) return false
  if (condition.scope !== undefined && condition.scope !== "" && condition.scope !== event.scope) return false
  if (condition.compiled === undefined) return true
  const result = evaluate(condition.compiled, { input: payload, output: {} })
  return result._tag === "Value" && result.value === true
}

/** The payload of a pushed event as a condition sees it (an object; `{}` otherwise). */
const eventPayload = (event: PushedEvent): JsonValue => {
  const parsed = parseJson(event.payload)
  return isJsonObject(parsed) ? parsed : {}
}

/** Offers one event to a waiting entry's conditions; returns whether one held. */
const offerEvent = (state: EngineState, wait: DurableEventWait, event: PushedEvent, now: number): boolean => {
  const conditions = wait.entry.wait?.conditions ?? []
  const payload = eventPayload(event)
  let held = false
  conditions.forEach((condition, index) => {
    if (!held && !wait.entry.satisfied && eventMeets(condition, event, payload)) {
      held = true
      conditionHeld(state, wait.task, wait.entry, index, payload, now)
    }
  })
  return held
}

/** A pushed event: the durable waits on its key that it meets are satisfied. */
export const onEventPushed = (state: EngineState, event: PushedEvent, now: number): void => {
  const waits = state.durableEventWaits.get(event.tenantId)?.get(event.key)
  if (waits === undefined) return
  for (const wait of [...waits]) offerEvent(state, wait, event, now)
}

/**
 * A new wait's lookback (`consider_events_since`): the earliest event stored since then that
 * meets one of its user-event conditions counts as if it arrived now.
 */
export const lookBack = (
  state: EngineState,
  task: Task,
  entry: DurableEntry,
  since: ReadonlyMap<number, number>,
  now: number
): void => {
  if (since.size === 0) return
  const tenant = state.tenants.get(task.tenantId)
  if (tenant === undefined) return
  const earliest = Math.min(...since.values())
  for (const event of tenant.events.all()) {
    if (entry.satisfied || entry.wait === undefined) return
    if (event.createdAt < earliest) continue
    const conditions = entry.wait.conditions
    const payload = eventPayload(event)
    for (const [index, from] of since) {
      if (event.createdAt >= from && eventMeets(conditions[index]!, event, payload)) {
        conditionHeld(state, task, entry, index, payload, now)
        break
      }
    }
  }
}
