/**
 * A connection's heartbeats: one every `interval` (less the time the previous one took), until one
 * tells that the connection is over (see `heartbeats`).
 */
import { Clock, Duration, Effect, Either } from "effect"
import { Status } from "nice-grpc-common"
import type { DispatcherShape } from "../Dispatcher.js"
import { timeoutError } from "./engineCall.js"
import type { ConnectionEnd } from "./workerConnection.js"

/** How a worker heartbeats. */
export interface HeartbeatSettings {
  readonly interval: Duration.Duration
  /** A heartbeat taking longer than this counts as failed (and as hung). */
  readonly timeout: Duration.Duration
  /** Failed heartbeats in a row that end the connection. */
  readonly maxFailures: number
}

/**
 * Heartbeats for `workerId` until the connection must end, which it returns: the token refused
 * (UNAUTHENTICATED), the worker unknown to the engine (NOT_FOUND: register again), a rejection
 * after the first beat (FAILED_PRECONDITION: no active listener), or `maxFailures` failures in a
 * row (`stalled` when one of them hung). Any other failure is logged and the beats go on.
 */
export const heartbeats = (
  dispatcher: DispatcherShape,
  workerId: string,
  settings: HeartbeatSettings
): Effect.Effect<ConnectionEnd> =>
  Effect.gen(function*() {
    let beats = 0
    let failures = 0
    let hung = false
    while (true) {
      const started = yield* Clock.currentTimeMillis
      const result = yield* Effect.either(
        dispatcher.heartbeat(workerId).pipe(
          Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => timeoutError("Heartbeat") })
        )
      )
      beats++
      if (Either.isRight(result)) {
        failures = 0
        hung = false
      } else {
        const error = result.left
        if (error.code === Status.UNAUTHENTICATED) {
          return {
            reason: `heartbeat: UNAUTHENTICATED (${error.details})`,
            reregister: false,
            unauthenticated: true
          }
        }
        if (error.code === Status.NOT_FOUND) {
          return {
            reason: `heartbeat: the engine no longer knows worker ${workerId} (NOT_FOUND)`,
            reregister: true
          }
        }
        // the first beat of a connection may race the new listener; a second rejection is real
        if (error.code === Status.FAILED_PRECONDITION && beats > 1) {
          return {
            reason: `heartbeat rejected: the engine has no active listener for this worker (${error.details})`,
            reregister: false
          }
        }
        failures++
        hung ||= error.code === Status.DEADLINE_EXCEEDED
        yield* Effect.logWarning(`heartbeat failed (${failures} in a row): ${error.details}`)
        if (failures >= settings.maxFailures) {
          return {
            reason: `${failures} heartbeats in a row failed${hung ? " (hung: the connection stalled)" : ""}`,
            reregister: false,
            stalled: hung
          }
        }
      }
      const elapsed = (yield* Clock.currentTimeMillis) - started
      yield* Effect.sleep(Duration.millis(Math.max(0, Duration.toMillis(settings.interval) - elapsed)))
    }
  })
