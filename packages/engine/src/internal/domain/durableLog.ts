/**
 * A durable task's event log, the part the rest of the engine reaches: invocation counts (one
 * per assignment), satisfying entries (a wait's or a child run's match held) and reporting
 * them on the task's DurableTask stream in the order they were satisfied, restoring an evicted
 * task whose wait was satisfied. A wait's sleeps and user events, and a child run's task events,
 * are a SIGNAL match (`matches.ts`). What a worker asks of the log (memo, waits, child runs, eviction) is
 * `durable.ts`.
 *
 * `docs/engine.md` §9; upstream `pkg/repository/durable_events.go`,
 * `internal/services/shared/durable/dispatch.go`, `controllers/task/durable_callbacks.go`.
 *
 * @internal
 */
import type { DurableTaskResponse } from "@effect-hatchet/proto/v1/dispatcher"
import { setTaskState, touchRun } from "./changes.js"
import { enqueue, retryPriority } from "./dispatch.js"
import type { JsonValue } from "./json.js"
import { isJsonObject, stringifyJson } from "./json.js"
import * as Matches from "./matches.js"
import type { DurableEntry, DurableEventListener, DurableStream, EngineState, Task } from "./model.js"
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

/**
 * Sends the completion of a satisfied entry to `invocationCount` on `stream`, in satisfied order
 * (upstream `deliverOrdered`): a RUN or WAIT_FOR completion whose order is not the next one this
 * invocation expects is held until those before it are sent (the SDK releases completions in the
 * order they arrive, and one sent early would stall it); an order already sent is sent again (the
 * SDK ignores a duplicate); a memo's has no order and is sent at once.
 */
export const deliverEntry = (
  stream: DurableStream,
  task: Task,
  entry: DurableEntry,
  invocationCount: number,
  now: number
): void => {
  const response = entryCompleted(task, entry, invocationCount)
  const order = entry.satisfiedOrder
  if (order === undefined) return stream.send(response)
  const key = `${task.externalId}:${invocationCount}`
  let release = stream.releases.get(key)
  if (release === undefined) {
    // an older invocation of the task will get nothing more
    for (const [k] of stream.releases) {
      const [taskId, count] = k.split(":")
      if (taskId === task.externalId && Number(count) < invocationCount) stream.releases.delete(k)
    }
    release = { maxSent: 0, held: new Map(), oldestHeldAt: undefined }
    stream.releases.set(key, release)
  }
  if (order <= release.maxSent) return stream.send(response)
  if (order !== release.maxSent + 1) {
    if (!release.held.has(order)) release.held.set(order, response)
    release.oldestHeldAt ??= now
    return
  }
  stream.send(response)
  release.maxSent = order
  for (let next = release.held.get(order + 1); next !== undefined; next = release.held.get(release.maxSent + 1)) {
    release.held.delete(release.maxSent + 1)
    stream.send(next)
    release.maxSent++
  }
  if (release.held.size === 0) release.oldestHeldAt = undefined
}

/**
 * How long a completion may be held for a missing earlier one before the invocation is told to
 * restart (upstream `durableOrderedReleaseGapTimeout`).
 */
export const releaseGapTimeoutMs = 60_000

/**
 * The invocations on `stream` whose held completions have waited longer than the gap timeout for
 * an earlier one (upstream `evictStalledOrderedReleases`, run on each `worker_status`): each is
 * sent `server_evict` and its release forgotten, so the invocation's replay starts clean.
 */
export const evictStalledReleases = (stream: DurableStream, now: number): void => {
  for (const [key, release] of stream.releases) {
    if (release.oldestHeldAt === undefined || now - release.oldestHeldAt <= releaseGapTimeoutMs) continue
    const separator = key.lastIndexOf(":")
    stream.send({
      serverEvict: {
        durableTaskExternalId: key.slice(0, separator),
        invocationCount: Number(key.slice(separator + 1)),
        reason: "ordered durable completion release stalled on a missing entry"
      }
    })
    stream.releases.delete(key)
  }
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
  clearWait(state, entry)
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
    case "Assigned": {
      const stream = state.durableStreams.get(task.externalId)
      if (stream !== undefined && stream.tenantId === task.tenantId) deliverEntry(stream, task, entry, log.invocationCount, now)
      return
    }
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

/** Upstream's message of a RUN entry whose child task was cancelled (`TaskCancelledErrorMessage`). */
const taskCancelledMessage = "task was cancelled"

/**
 * What a child run's match data answers its parent's RUN entry (upstream
 * `ExtractFailureFromMatchData`, `ExtractOutputFromMatchData`): a failed task's error, else "task
 * was cancelled" for a cancelled one; else the output of a single task (data key `output`), or a
 * DAG's outputs by step (tasks that completed). Among several failures the first task's is kept
 * (upstream takes whichever its map yields first).
 */
const childOutcome = (data: Matches.SignalDecision["data"]): { readonly result: Uint8Array } | { readonly failure: string } => {
  const events: Array<readonly [string, JsonValue | undefined]> = []
  for (const byKey of Object.values(data)) {
    for (const [key, values] of Object.entries(byKey)) events.push([key, values[0]])
  }
  const field = (event: JsonValue | undefined, name: string): JsonValue | undefined => isJsonObject(event) ? event[name] : undefined
  for (const [, event] of events) {
    if (field(event, "is_failure") === true) {
      const message = field(event, "error_message")
      return { failure: typeof message === "string" ? message : "" }
    }
  }
  if (events.some(([, event]) => field(event, "event_type") === "CANCELLED")) return { failure: taskCancelledMessage }
  if (events.length === 1 && events[0]![0] === "output") return { result: jsonBytes(field(events[0]![1], "output") ?? null) }
  const outputs: Record<string, JsonValue> = {}
  for (const [key, event] of events) {
    const output = field(event, "output")
    if (output !== undefined) outputs[key] = output
  }
  return { result: jsonBytes(outputs) }
}

// -----------------------------------------------------------------------------
// waits: sleeps and user events, as SIGNAL matches (`matches.ts`)
// -----------------------------------------------------------------------------

/** Disarms a wait's match (its entry satisfied, or its task forgotten). */
const clearWait = (state: EngineState, entry: DurableEntry): void => {
  if (entry.match !== undefined) Matches.disarmSignal(state, entry.match)
}

/**
 * A task reached a final state (completed, failed, cancelled): its stream is forgotten. Its waits
 * stay armed, as upstream keeps a task's matches: an entry is still satisfied when its sleep ends
 * or its event comes (nothing is delivered, nothing restored), so a replay of the task finds it
 * satisfied, and one still waiting goes on waiting for what it asked.
 */
export const onDurableTaskFinal = (state: EngineState, task: Task): void => {
  state.durableStreams.delete(task.externalId)
}

/** A task the engine forgets (retention): its waits and legacy signals are disarmed. */
export const forgetDurableTask = (state: EngineState, task: Task): void => {
  for (const signal of task.signals.values()) if (signal.match !== undefined) Matches.disarmSignal(state, signal.match)
  for (const entry of task.durable?.entries.values() ?? []) clearWait(state, entry)
}

/**
 * A wait's match held (every or-group of its conditions): a WAIT_FOR entry is satisfied with the
 * match's data, `{"CREATE": {"<readable_data_key>": [<data>, …]}}`; a RUN entry with its child's
 * output or failure, read from that data.
 */
export const onSignal = (state: EngineState, decision: Matches.SignalDecision, now: number): void => {
  const task = decision.task
  if (decision.entry === undefined) return completeSignal(state, task, decision.signalKey, jsonBytes(decision.data))
  const entry = task.durable?.entries.get(entryKey(decision.entry.branchId, decision.entry.nodeId))
  if (entry === undefined) return
  satisfyEntry(state, task, entry, now, entry.kind === "RUN" ? childOutcome(decision.data) : { result: jsonBytes(decision.data) })
}

/** The key of a legacy signal among a listener's wanted ones. */
export const signalListenKey = (taskId: string, signalKey: string) => `${taskId}:${signalKey}`

/**
 * A legacy signal's match held (upstream's SIGNAL_COMPLETED event): its data is kept on the task
 * and sent to every `ListenForDurableEvent` stream that asked for it.
 */
const completeSignal = (state: EngineState, task: Task, signalKey: string, data: Uint8Array): void => {
  const signal = task.signals.get(signalKey)
  if (signal === undefined) return
  signal.completed = data
  touchRun(state, task.run)
  for (const listener of state.durableEventListeners) sendSignal(listener, task, signalKey)
}

/** Sends a completed legacy signal to a listener that asked for it (once per ask). */
export const sendSignal = (listener: DurableEventListener, task: Task, signalKey: string): void => {
  const key = signalListenKey(task.externalId, signalKey)
  const data = task.signals.get(signalKey)?.completed
  if (listener.tenantId !== task.tenantId || data === undefined || !listener.wanted.has(key)) return
  listener.wanted.delete(key)
  listener.send({ taskId: task.externalId, signalKey, data })
}

/**
 * A new wait's lookback (upstream `handleEventLookback`): for each user-event condition with a
 * scope and `consider_events_since`, the events of its key and scope stored since then are offered
 * to the wait's match, newest first.
 */
export const lookBack = (
  state: EngineState,
  task: Task,
  entry: DurableEntry,
  lookbacks: ReadonlyArray<{ readonly eventKey: string; readonly scope: string; readonly since: number }>,
  now: number
): void => {
  const match = entry.match
  const tenant = state.tenants.get(task.tenantId)
  if (match === undefined || tenant === undefined || lookbacks.length === 0) return
  const found = tenant.events.all().filter((event) =>
    lookbacks.some((l) => event.key === l.eventKey && event.scope === l.scope && event.createdAt >= l.since)
  )
  for (const decision of Matches.offerPastEvents(state, match, found, now)) {
    if (decision._tag === "Signal") onSignal(state, decision, now)
  }
}
