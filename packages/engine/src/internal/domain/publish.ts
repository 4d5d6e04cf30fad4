/**
 * Fan-out to result and event subscribers: `SubscribeToWorkflowRuns` (one FINISHED event per
 * run) and `SubscribeToWorkflowEvents` (STEP_RUN events, STREAM events in `event_index` order,
 * then the WORKFLOW_RUN event with `hangup`). A run's subscribers get that last event
 * `state.options.runEventsGraceMs` after the run finished, and any STREAM event put in between.
 *
 * @internal
 */
import {
  ResourceEventType,
  ResourceType,
  type StepRunResult,
  type WorkflowEvent,
  type WorkflowRunEvent,
  WorkflowRunEventType
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { EngineState, EventSubscriber, MetadataSubscriber, Run, RunSubscriber, Task } from "./model.js"
import { runStatus } from "./model.js"

/** A gap in `event_index` is held this long before the buffered events are released. */
export const streamGapTimeoutMs = 5_000

/**
 * How long the event subscribers of a finished run stay open by default before the WORKFLOW_RUN
 * event hangs them up: the official SDK does not await a `putStream`, so the chunks a task puts last can
 * reach the engine after its result. Upstream's dispatcher hangs up on the OLAP controller's
 * `workflow-run-finished`, published by its status poll (every 2 s by default), so its subscribers
 * hear of the end up to about that late and get what is put meanwhile.
 */
export const runEventsGraceMs = 1_000

const matchesMetadata = (run: Run, subscriber: MetadataSubscriber) => run.metadata[subscriber.key] === subscriber.value

const deliver = (state: EngineState, run: Run, event: WorkflowEvent) => {
  const byRun = state.eventSubscribers.get(run.id)
  if (byRun !== undefined) {
    for (const subscriber of byRun) subscriber.send(event)
  }
  if (state.metadataSubscribers.size > 0) {
    for (const subscriber of state.metadataSubscribers) {
      if (!matchesMetadata(run, subscriber)) continue
      subscriber.active.add(run.id)
      subscriber.send(event)
    }
  }
}

/** Publishes a STEP_RUN event (created, completed, failed, cancelled) for `task`. */
export const publishStepEvent = (
  state: EngineState,
  task: Task,
  eventType: ResourceEventType,
  now: number,
  options: { readonly payload?: string; readonly retryCount?: number } = {}
): void => {
  if (eventType !== ResourceEventType.RESOURCE_EVENT_TYPE_STARTED) flushStream(state, task)
  // most runs have no event subscriber: no event is built for them
  if (!state.eventSubscribers.has(task.run.id) && state.metadataSubscribers.size === 0) return
  deliver(state, task.run, {
    workflowRunId: task.run.id,
    resourceType: ResourceType.RESOURCE_TYPE_STEP_RUN,
    eventType,
    resourceId: task.externalId,
    eventTimestamp: new Date(now),
    eventPayload: options.payload ?? "",
    hangup: false,
    retryCount: options.retryCount ?? task.retryCount
  })
}

const streamEvent = (task: Task, message: string, createdAt: number, eventIndex: number | undefined): WorkflowEvent => ({
  workflowRunId: task.run.id,
  resourceType: ResourceType.RESOURCE_TYPE_STEP_RUN,
  eventType: ResourceEventType.RESOURCE_EVENT_TYPE_STREAM,
  resourceId: task.externalId,
  eventTimestamp: new Date(createdAt),
  eventPayload: message,
  hangup: false,
  eventIndex
})

/**
 * Publishes a `PutStreamEvent` message. Events carrying an `event_index` are released in index
 * order per attempt; a gap is waited for at most `streamGapTimeoutMs`.
 */
export const publishStreamEvent = (
  state: EngineState,
  task: Task,
  message: string,
  createdAt: number,
  eventIndex: number | undefined,
  now: number
): void => {
  if (eventIndex === undefined) {
    deliver(state, task.run, streamEvent(task, message, createdAt, undefined))
    return
  }
  let order = task.stream
  if (order === undefined || order.retryCount !== task.retryCount) {
    order = { retryCount: task.retryCount, next: 0, pending: new Map(), flushArmed: false }
    task.stream = order
  }
  if (eventIndex < order.next) {
    deliver(state, task.run, streamEvent(task, message, createdAt, eventIndex))
    return
  }
  order.pending.set(eventIndex, streamEvent(task, message, createdAt, eventIndex))
  releaseInOrder(state, task)
  if (order.pending.size > 0 && !order.flushArmed) {
    order.flushArmed = true
    state.timers.set({ kind: "StreamFlush", id: task.externalId, token: order.retryCount, at: now + streamGapTimeoutMs })
  }
}

/** The gap timeout of the attempt `retryCount`'s stream: what it holds back is released. */
export const onStreamFlush = (state: EngineState, task: Task, retryCount: number): void => {
  const order = task.stream
  if (order === undefined || order.retryCount !== retryCount) return
  order.flushArmed = false
  flushStream(state, task)
}

const releaseInOrder = (state: EngineState, task: Task) => {
  const order = task.stream
  if (order === undefined) return
  for (;;) {
    const event = order.pending.get(order.next)
    if (event === undefined) return
    order.pending.delete(order.next)
    order.next++
    deliver(state, task.run, event)
  }
}

/** Releases every buffered stream event of `task` in index order, skipping gaps. */
export const flushStream = (state: EngineState, task: Task): void => {
  const order = task.stream
  if (order === undefined || order.pending.size === 0) return
  const indexes = [...order.pending.keys()].sort((a, b) => a - b)
  for (const index of indexes) {
    const event = order.pending.get(index)!
    order.pending.delete(index)
    order.next = index + 1
    deliver(state, task.run, event)
  }
}

const finishedEventType = (run: Run): ResourceEventType => {
  switch (runStatus(run)) {
    case "FAILED":
      return ResourceEventType.RESOURCE_EVENT_TYPE_FAILED
    case "CANCELLED":
      return ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED
    default:
      return ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED
  }
}

/** The results of a finalised run, one per task at its latest attempt. */
export const runResults = (run: Run): Array<StepRunResult> => {
  const tasks = [...run.tasks.values()].sort((a, b) => a.step.index - b.step.index)
  return tasks.map((task): StepRunResult => {
    const base = { taskRunExternalId: task.externalId, taskName: task.step.readableId, jobRunId: task.externalId }
    switch (task.state._tag) {
      case "Completed":
        return { ...base, output: task.state.output }
      case "Failed":
        return { ...base, error: task.state.error }
      default:
        return { ...base, error: "" }
    }
  })
}

export const runFinishedEvent = (run: Run, now: number): WorkflowRunEvent => ({
  workflowRunId: run.id,
  eventType: WorkflowRunEventType.WORKFLOW_RUN_EVENT_TYPE_FINISHED,
  eventTimestamp: new Date(now),
  results: runResults(run)
})

/** Results above this many bytes are trimmed, then dropped (`payloadSizeThreshold`, 3 MiB). */
export const resultsSizeThreshold = 3 * 1024 * 1024

const sizeOf = (results: ReadonlyArray<StepRunResult>) => {
  let total = 0
  let outputs = 0
  for (const result of results) {
    if (result.output !== undefined) {
      const n = Buffer.byteLength(result.output)
      total += n
      outputs += n
    }
    if (result.error !== undefined) total += Buffer.byteLength(result.error)
  }
  return { total, outputs }
}

/**
 * `cleanResults`: over 3 MiB, long errors are replaced; if still too large (or the outputs alone
 * are), the event carries no results at all.
 */
export const cleanResults = (event: WorkflowRunEvent): WorkflowRunEvent => {
  const { outputs, total } = sizeOf(event.results)
  if (total < resultsSizeThreshold) return event
  if (outputs >= resultsSizeThreshold) return { ...event, results: [] }
  const fieldThreshold = Math.floor((resultsSizeThreshold - outputs) / event.results.length)
  const cleaned = event.results.map((result) =>
    result.error !== undefined && Buffer.byteLength(result.error) > fieldThreshold
      ? { ...result, error: "Error is too large to send over the Hatchet stream." }
      : result
  )
  return sizeOf(cleaned).total > resultsSizeThreshold ? { ...event, results: [] } : { ...event, results: cleaned }
}

/** The WORKFLOW_RUN event of a run's end (`eventType`), with `hangup` or not. */
const runEndEvent = (runId: string, eventType: ResourceEventType, now: number, hangup: boolean): WorkflowEvent => ({
  workflowRunId: runId,
  resourceType: ResourceType.RESOURCE_TYPE_WORKFLOW_RUN,
  eventType,
  resourceId: runId,
  eventTimestamp: new Date(now),
  eventPayload: "",
  hangup
})

/** Announces a finalised run to both kinds of subscribers. */
export const publishRunFinished = (state: EngineState, run: Run, now: number): void => {
  const waiters = state.runSubscribers.get(run.id)
  if (waiters !== undefined) {
    state.runSubscribers.delete(run.id)
    const event = runFinishedEvent(run, now)
    for (const waiter of waiters) waiter.send(event)
  }

  const byRun = state.eventSubscribers.get(run.id)
  // most runs have no event subscriber of either kind: nothing is built for them
  if (byRun === undefined && state.metadataSubscribers.size === 0) return
  const eventType = finishedEventType(run)
  if (byRun !== undefined) {
    const grace = state.options.runEventsGraceMs
    if (grace > 0) state.timers.set({ kind: "RunHangup", id: run.id, eventType, at: now + grace })
    else onRunHangup(state, run.id, eventType, now)
  }
  if (state.metadataSubscribers.size === 0) return
  const base = runEndEvent(run.id, eventType, now, false)
  for (const subscriber of [...state.metadataSubscribers]) {
    if (!matchesMetadata(run, subscriber)) continue
    if (eventType === ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED) subscriber.active.delete(run.id)
    else subscriber.active.add(run.id)
    const hangup = subscriber.active.size === 0
    subscriber.send({ ...base, hangup })
    if (hangup) {
      state.metadataSubscribers.delete(subscriber)
      subscriber.close()
    }
  }
}

/**
 * The grace after run `runId` finished is over: its event subscribers get the WORKFLOW_RUN event
 * (`eventType`, as the run finished) with `hangup` and are closed; not if the run runs again
 * (replayed meanwhile: its next end hangs them up).
 */
export const onRunHangup = (state: EngineState, runId: string, eventType: ResourceEventType, now: number): void => {
  const run = state.runsById.get(runId)
  if (run !== undefined && run.finishedAt === undefined) return
  const byRun = state.eventSubscribers.get(runId)
  if (byRun === undefined) return
  state.eventSubscribers.delete(runId)
  const event = runEndEvent(runId, eventType, now, true)
  for (const subscriber of byRun) {
    subscriber.send(event)
    subscriber.close()
  }
}

const addTo = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  let set = map.get(key)
  if (set === undefined) {
    set = new Set()
    map.set(key, set)
  }
  set.add(value)
}

const removeFrom = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  const set = map.get(key)
  if (set === undefined) return
  set.delete(value)
  if (set.size === 0) map.delete(key)
}

/** Registers a `SubscribeToWorkflowRuns` interest; a finished run is answered at once. */
export const subscribeRun = (state: EngineState, runId: string, subscriber: RunSubscriber, now: number): void => {
  const run = state.runsById.get(runId)
  if (run !== undefined && run.finishedAt !== undefined) subscriber.send(runFinishedEvent(run, now))
  else addTo(state.runSubscribers, runId, subscriber)
}

export const unsubscribeRun = (state: EngineState, runId: string, subscriber: RunSubscriber): void =>
  removeFrom(state.runSubscribers, runId, subscriber)

export const addEventSubscriber = (state: EngineState, runId: string, subscriber: EventSubscriber): void =>
  addTo(state.eventSubscribers, runId, subscriber)

export const removeEventSubscriber = (state: EngineState, runId: string, subscriber: EventSubscriber): void =>
  removeFrom(state.eventSubscribers, runId, subscriber)
