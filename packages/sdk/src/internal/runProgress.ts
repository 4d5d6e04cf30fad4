/**
 * A run's progress from its start: the task events the engine records (REST run details), each
 * once, in order, as they become known, ending with the run.
 *
 * Hatchet keeps no history of the live event stream (`SubscribeToWorkflowEvents` sends what
 * happens after subscribing), but it records every task's events, which the run details return.
 * This polls them, woken early by the live stream so that an event shows without waiting for the
 * next poll. A worker's STARTED may reach the engine after the attempt's result (Hatchet records
 * it for monitoring, stamped with the worker's time), so an attempt's result, and everything
 * after it, waits until its STARTED is there, for at most `settleAfterEnd` once the run ended.
 * Pacing is in real time (the polls are I/O), so it also moves under `TestClock`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { RunProgress, RunProgressOptions } from "../Hatchet.js"
import type { RestError } from "../HatchetError.js"
import type { TaskEvent, WorkflowRunDetails } from "../Runs.js"

const liveClock = Clock.make()

/** The event types that end a worker's attempt: a STARTED precedes them. */
const workerResults = new Set(["FINISHED", "FAILED"])

const attemptOf = (event: TaskEvent) => `${event.taskId}/${event.retryCount ?? 0}`

const isFinal = (details: WorkflowRunDetails) => details.run.status !== "QUEUED" && details.run.status !== "RUNNING"

const order = (a: TaskEvent, b: TaskEvent) => a.timestamp.getTime() - b.timestamp.getTime() || a.id - b.id

/**
 * Events in time order (ties by the engine's id), each attempt's STARTED before its result: a
 * STARTED recorded after the result (it arrived later, stamped with the same time) moves to just
 * before it.
 */
const inOrder = (events: ReadonlyArray<TaskEvent>): Array<TaskEvent> => {
  const sorted = [...events].sort(order)
  const out: Array<TaskEvent> = []
  const resulted = new Set<string>()
  const lateStarted = new Map<string, TaskEvent>()
  for (const event of sorted) {
    if (workerResults.has(event.eventType)) resulted.add(attemptOf(event))
    else if (event.eventType === "STARTED" && resulted.has(attemptOf(event))) lateStarted.set(attemptOf(event), event)
  }
  for (const event of sorted) {
    if (event.eventType === "STARTED" && lateStarted.get(attemptOf(event)) === event) continue
    const late = workerResults.has(event.eventType) ? lateStarted.get(attemptOf(event)) : undefined
    if (late !== undefined) out.push(late)
    out.push(event)
  }
  return out
}

interface State {
  readonly first: boolean
  readonly seen: ReadonlySet<number>
  /** When (real time) the run was first seen ended. */
  readonly endedAt: number | undefined
  readonly done: boolean
}

/**
 * The progress of the run whose details `details` reads; `wake` is any stream whose elements
 * mean "something happened" (its failure only stops the early wake-ups).
 */
export const make = (
  details: Effect.Effect<WorkflowRunDetails, RestError>,
  wake: Stream.Stream<unknown, unknown>,
  options: RunProgressOptions = {}
): Stream.Stream<RunProgress, RestError> => {
  const pollInterval = Duration.decode(options.pollInterval ?? "500 millis")
  const settleAfterEnd = Duration.toMillis(Duration.decode(options.settleAfterEnd ?? "1 second"))
  // a run may take a moment to be readable after its trigger on a real Hatchet
  const read = details.pipe(
    Effect.retry({
      while: (error) => error.status === 404,
      schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo("5 seconds"))
    }),
    Effect.withClock(liveClock)
  )
  return Stream.unwrapScoped(Effect.gen(function*() {
    const signal = yield* Queue.sliding<void>(1)
    yield* wake.pipe(
      Stream.runForEach(() => Queue.offer(signal, undefined)),
      Effect.ignore,
      Effect.forkScoped
    )
    const pause = (state: State) =>
      Effect.raceFirst(
        Queue.take(signal),
        // once the run ended, only a late STARTED is awaited: look more often
        liveClock.sleep(state.endedAt === undefined ? pollInterval : Duration.millis(50))
      )
    const step = (state: State): Effect.Effect<Option.Option<readonly [Chunk.Chunk<RunProgress>, State]>, RestError> =>
      Effect.gen(function*() {
        if (state.done) return Option.none()
        if (!state.first) yield* pause(state)
        const current = yield* read
        const now = yield* liveClock.currentTimeMillis
        const endedAt = state.endedAt ?? (isFinal(current) ? now : undefined)
        const started = new Set(current.taskEvents.filter((e) => e.eventType === "STARTED").map(attemptOf))
        const waiting = current.taskEvents.filter((e) => workerResults.has(e.eventType) && !started.has(attemptOf(e)))
        const givenUp = endedAt !== undefined && now - endedAt >= settleAfterEnd
        const until = givenUp ? Infinity : Math.min(...waiting.map((e) => e.timestamp.getTime()))
        const fresh = inOrder(current.taskEvents.filter((e) => !state.seen.has(e.id) && e.timestamp.getTime() < until))
        const seen = new Set(state.seen)
        for (const event of fresh) seen.add(event.id)
        const taskName = (taskId: string) => current.shape.find((s) => s.taskExternalId === taskId)?.taskName ?? taskId
        const done = endedAt !== undefined && (waiting.length === 0 || givenUp) &&
          current.taskEvents.every((e) => seen.has(e.id))
        const chunk = Chunk.fromIterable(fresh.map((event) => ({ task: taskName(event.taskId), event })))
        return Option.some([chunk, { first: false, seen, endedAt, done }] as const)
      })
    return Stream.unfoldChunkEffect<State, RunProgress, RestError, never>(
      { first: true, seen: new Set(), endedAt: undefined, done: false },
      step
    )
  }))
}
