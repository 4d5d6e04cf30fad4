/**
 * `Dispatcher/SendStepActionEvent`: a worker reports on an attempt.
 *
 * STARTED and ACKNOWLEDGED change nothing but the task's timeline (upstream sends STARTED to the
 * monitoring queue only, apart from the task's state, so it may be processed after the attempt's
 * result: a STARTED that arrives after its attempt's result is placed before that result, once;
 * as upstream, a STARTED is stamped with the worker's `event_timestamp`);
 * COMPLETED validates its output JSON (invalid output
 * turns the event into FAILED with the validation message); FAILED is an application failure
 * (retried unless `should_not_retry`); CANCELLED cancels the task. Events that name another
 * attempt than the current one are ignored.
 *
 * `Dispatcher/SendBatchActionEvent` applies one event type to many tasks: every id must parse
 * (else nothing is applied), unknown tasks are skipped, and only STARTED, COMPLETED, FAILED and
 * CANCELLED are accepted.
 *
 * `docs/engine.md` §3.1; upstream `internal/services/dispatcher/server.go sendStepActionEventV1`
 * and `sendBatchActionEventV1`.
 *
 * @internal
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Either from "effect/Either"
import { touchRun } from "./changes.js"
import { type InvalidArgument, invalidArgument } from "./errors.js"
import { parseUuid } from "./ids.js"
import { validateJsonb } from "./json.js"
import type { EngineState, Task, TaskEvent } from "./model.js"
import { addStartedPacked, attemptResults, eventsOf, makeEvent, openTimeline, packTimeline, recordEvent } from "./taskEvents.js"
import { cancelTask, completeTask, failTaskApp } from "./tasks.js"

const nulInErrorMessage =
  "error message contains invalid null character \\u0000. you likely need to either escape the character or strip it out of the error. this generally is the result of an LLM producing this unicode sequence in its output."

export interface StepActionEvent {
  readonly taskRunExternalId: string
  readonly eventType: StepActionEventType
  readonly eventPayload: string
  readonly retryCount?: number | undefined
  readonly shouldNotRetry?: boolean | undefined
  readonly workerId?: string | undefined
  /** When the worker says the event happened; a STARTED is recorded at this time. */
  readonly eventTimestamp?: Date | undefined
}

/**
 * Applies a worker's step action event; returns the task it concerned. A malformed or unknown
 * task id, or an event type a worker does not send, is INVALID_ARGUMENT.
 */
export const stepActionEvent = (
  state: EngineState,
  tenantId: string,
  event: StepActionEvent,
  now: number
): Either.Either<Task, InvalidArgument> => {
  const id = event.taskRunExternalId
  const parsed = parseUuid(id)
  if (!parsed.ok) return Either.left(invalidArgument(`invalid task external run id ${id}: ${parsed.error}`, parsed.error))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId) {
    return Either.left(invalidArgument(`invalid task external run id ${id}: no rows in result set`))
  }
  const refused = applyEvent(state, task, event.eventType, event, event.eventTimestamp, now)
  return refused === undefined ? Either.right(task) : Either.left(refused)
}

/** The items of a `BatchActionEvent` (one event type for all). */
export interface BatchActionEvent {
  readonly eventType: StepActionEventType
  readonly eventTimestamp?: Date | undefined
  readonly items: ReadonlyArray<{
    readonly taskRunExternalId: string
    readonly eventPayload: string
    readonly retryCount?: number | undefined
    readonly shouldNotRetry?: boolean | undefined
  }>
}

const batchEventTypes: ReadonlySet<StepActionEventType> = new Set([
  StepActionEventType.STEP_EVENT_TYPE_STARTED,
  StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
  StepActionEventType.STEP_EVENT_TYPE_FAILED,
  StepActionEventType.STEP_EVENT_TYPE_CANCELLED
])

/** Applies one event to each task of a batch; returns how many tasks it concerned. */
export const batchActionEvent = (
  state: EngineState,
  tenantId: string,
  batch: BatchActionEvent,
  now: number
): Either.Either<number, InvalidArgument> => {
  if (batch.items.length === 0) return Either.right(0)
  const tasks: Array<Task | undefined> = []
  for (const item of batch.items) {
    const parsed = parseUuid(item.taskRunExternalId)
    if (!parsed.ok) {
      return Either.left(invalidArgument(`invalid task external run id ${item.taskRunExternalId}: ${parsed.error}`, parsed.error))
    }
    const task = state.tasksByExternalId.get(parsed.value)
    tasks.push(task !== undefined && task.tenantId === tenantId ? task : undefined)
  }
  if (!batchEventTypes.has(batch.eventType)) {
    return Either.left(
      invalidArgument(`invalid batch action event type ${StepActionEventType[batch.eventType] ?? batch.eventType}`)
    )
  }
  // the batch's event types are all applicable: `applyEvent` refuses none of them
  let applied = 0
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]
    if (task === undefined) continue
    applyEvent(state, task, batch.eventType, batch.items[i]!, batch.eventTimestamp, now)
    applied++
  }
  return Either.right(applied)
}

/**
 * When an attempt's STARTED happened: the worker's timestamp, as upstream records it, kept between
 * the attempt being sent and `latest` (a worker's clock may be off, or a test's engine clock not
 * the worker's).
 */
const startedAt = (sentAt: number, latest: number, eventTimestamp: Date | undefined): number => {
  const at = eventTimestamp?.getTime()
  return at === undefined || Number.isNaN(at) ? latest : Math.min(Math.max(at, sentAt), latest)
}

/** The index in `task`'s timeline of the attempt's SENT_TO_WORKER, or -1. */
const sentIndex = (events: ReadonlyArray<TaskEvent>, retryCount: number): number => {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!
    if (event.retryCount === retryCount && event.eventType === "SENT_TO_WORKER") return i
  }
  return -1
}

/**
 * The index of the attempt's result after its SENT_TO_WORKER at `sent`, or -1 when none came or
 * the attempt's STARTED came before it.
 */
const resultIndex = (events: ReadonlyArray<TaskEvent>, sent: number, retryCount: number): number => {
  for (let i = sent + 1; i < events.length; i++) {
    const event = events[i]!
    if (event.retryCount !== retryCount) continue
    if (event.eventType === "STARTED") return -1
    if (attemptResults.has(event.eventType)) return i
  }
  return -1
}

/**
 * A STARTED that arrives after its attempt's result: placed just before that result, stamped with
 * the worker's time (no later than the result), unless the attempt's STARTED is already there. An
 * attempt that never got a result (the task was re-queued) or never was sent is left alone.
 */
const recordLateStarted = (state: EngineState, task: Task, retryCount: number, eventTimestamp: Date | undefined): void => {
  // a finished run's timeline is packed: the STARTED goes into it as it is (`addStartedPacked`)
  if (!Array.isArray(task.timeline)) {
    const added = addStartedPacked(state, task, retryCount, (sentAt, resultAt) => startedAt(sentAt, resultAt, eventTimestamp))
    if (added === "added") touchRun(state, task.run)
    if (added !== undefined) return
  }
  // else opened once, packed again when it changed, kept as it was otherwise
  const before = task.timeline
  const events = openTimeline(task)
  const sent = sentIndex(events, retryCount)
  const result = sent < 0 ? -1 : resultIndex(events, sent, retryCount)
  if (result < 0) {
    task.timeline = before
    return
  }
  const at = startedAt(events[sent]!.timestamp, events[result]!.timestamp, eventTimestamp)
  events.splice(result, 0, makeEvent(state, task, "STARTED", at, { workerId: events[sent]!.workerId, retryCount }))
  if (task.run.finishedAt !== undefined) packTimeline(task)
  touchRun(state, task.run)
}

/**
 * Applies an event of `type` to the task (`event`: one event's own fields, a batch item's or a
 * single event's; `eventTimestamp`: the event's or the batch's); an event type a worker does not
 * send is refused (nothing applied).
 */
const applyEvent = (
  state: EngineState,
  task: Task,
  type: StepActionEventType,
  event: Pick<StepActionEvent, "eventPayload" | "retryCount" | "shouldNotRetry">,
  eventTimestamp: Date | undefined,
  now: number
): InvalidArgument | undefined => {
  const retryCount = event.retryCount ?? task.retryCount
  let eventType = type
  let payload = event.eventPayload
  if (eventType === StepActionEventType.STEP_EVENT_TYPE_COMPLETED) {
    const error = validateJsonb(payload, "taskOutput")
    if (error !== undefined) {
      eventType = StepActionEventType.STEP_EVENT_TYPE_FAILED
      payload = error
    }
  }
  if (eventType === StepActionEventType.STEP_EVENT_TYPE_FAILED && payload.includes("\u0000")) {
    payload = nulInErrorMessage
  }
  switch (eventType) {
    case StepActionEventType.STEP_EVENT_TYPE_STARTED:
      if (task.state._tag === "Assigned" && task.retryCount === retryCount) {
        const events = eventsOf(task)
        const sent = sentIndex(events, retryCount)
        const at = startedAt(sent < 0 ? now : events[sent]!.timestamp, now, eventTimestamp)
        recordEvent(state, task, "STARTED", at, { workerId: task.state.worker?.id })
      } else {
        recordLateStarted(state, task, retryCount, eventTimestamp)
      }
      return undefined
    case StepActionEventType.STEP_EVENT_TYPE_ACKNOWLEDGED:
      return undefined
    case StepActionEventType.STEP_EVENT_TYPE_COMPLETED:
      completeTask(state, task, retryCount, payload, now)
      return undefined
    case StepActionEventType.STEP_EVENT_TYPE_FAILED:
      failTaskApp(state, task, retryCount, {
        message: payload,
        shouldNotRetry: event.shouldNotRetry ?? false,
        source: "worker"
      }, now)
      return undefined
    case StepActionEventType.STEP_EVENT_TYPE_CANCELLED:
      if (task.retryCount === retryCount) cancelTask(state, task, now, { notifyWorker: true })
      return undefined
    default:
      return invalidArgument(`invalid task external run id ${task.externalId}`)
  }
}
