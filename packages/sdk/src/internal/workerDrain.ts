/**
 * A worker's shutdown: paused on the engine, it stays a live worker (stream and heartbeats) until
 * its tasks have reported, for at most the grace period, then interrupts the rest (reported
 * FAILED), unsubscribes and stops its connection.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { DispatcherShape } from "../Dispatcher.js"
import type { WorkersShape } from "../Workers.js"
import type { ActionEventSender } from "./actionEvents.js"
import type { DurableAttempts } from "./durableAttempts.js"
import { CALL_TIMEOUT } from "./engineCall.js"
import type { LogShipper } from "./logShipping.js"
import type { TaskFibers } from "./taskFibers.js"
import { setStatus, type WorkerState } from "./workerState.js"
import { WorkerStatus } from "./workerStatus.js"

/**
 * Asks the engine to assign the worker nothing new. A failure is logged: whatever the engine
 * still assigns runs within the grace period.
 */
export const pauseIntake = (workers: WorkersShape, state: WorkerState) => (workerId: string): Effect.Effect<void> =>
  workers.pause(workerId).pipe(
    Effect.interruptible,
    Effect.timeoutFail({ duration: CALL_TIMEOUT, onTimeout: () => "the call timed out" }),
    Effect.zipRight(Effect.logInfo(`worker paused on the engine; draining ${state.attempts.size} running task(s)`)),
    Effect.catchAll((error) =>
      Effect.logWarning(
        `could not pause worker ${workerId} (${typeof error === "string" ? error : error.message}); ` +
          "the engine may still assign it tasks, which run within the grace period"
      )
    )
  )

/**
 * The worker's drain, run when its scope closes (registered last, so it runs first). An engine
 * that lost the stream would refuse the heartbeats and, 30 s later, re-queue the tasks still
 * running here, which then run twice: new work is stopped by pausing the worker instead.
 */
export const drain = (options: {
  readonly state: WorkerState
  readonly dispatcher: DispatcherShape
  readonly pauseIntake: (workerId: string) => Effect.Effect<void>
  /** The attempts' fibers. */
  readonly tasks: TaskFibers
  /** Their step action events (an attempt's fiber ends with its result queued, not answered). */
  readonly actionEvents: ActionEventSender
  readonly durable: DurableAttempts | undefined
  readonly logs: LogShipper
  /** The connection's fiber, interrupted last. */
  readonly connection: Fiber.RuntimeFiber<unknown>
  readonly grace: Duration.Duration
  readonly workerName: string
}): Effect.Effect<void> => {
  const { actionEvents, dispatcher, grace, state, tasks } = options
  return Effect.gen(function*() {
    state.phase = "draining"
    yield* setStatus(state, WorkerStatus.Draining())
    const workerId = yield* Ref.get(state.workerId)
    if (Option.isSome(workerId)) yield* options.pauseIntake(workerId.value)
    // durable tasks waiting for the engine are handed back to it (upstream's evictAllWaiting)
    if (options.durable !== undefined) yield* options.durable.evictWaiting
    const drained = yield* tasks.awaitEmpty.pipe(
      Effect.zipRight(actionEvents.idle),
      Effect.interruptible,
      Effect.timeoutOption(grace)
    )
    if (Option.isNone(drained)) {
      yield* Effect.logWarning(
        `${state.attempts.size} task(s) still running after the ${Duration.format(grace)} grace period; ` +
          "interrupting them (reported FAILED, so the engine retries them per their policy)"
      )
      state.phase = "closing"
      for (const attempt of state.attempts.values()) attempt.reason ??= "shutdown"
      // each interrupted attempt queues FAILED before its fiber ends; then they are sent
      yield* tasks.clear.pipe(
        Effect.zipRight(actionEvents.idle),
        Effect.interruptible,
        Effect.timeoutOption(Duration.seconds(15))
      )
    }
    state.phase = "closing"
    const current = yield* Ref.get(state.workerId)
    if (Option.isSome(current)) {
      yield* dispatcher.unsubscribe(current.value).pipe(
        Effect.interruptible,
        Effect.timeoutOption(CALL_TIMEOUT),
        Effect.ignore
      )
    }
    yield* Fiber.interrupt(options.connection)
    const dropped = options.logs.dropped()
    if (dropped > 0) yield* Effect.logWarning(`${dropped} task log line(s) were dropped (buffer full)`)
    yield* setStatus(state, WorkerStatus.Stopped())
  }).pipe(Effect.annotateLogs({ "hatchet.worker": options.workerName }))
}
