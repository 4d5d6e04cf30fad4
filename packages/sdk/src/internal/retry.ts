/**
 * Which gRPC failures are worth retrying, and the backoff the worker uses.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { Status } from "nice-grpc-common"
import type { GrpcError } from "../HatchetError.js"

/**
 * Codes that say "try again later" for a unary call: the request itself was fine. CANCELLED is
 * the server's or a proxy's doing (an RST_STREAM CANCEL, e.g. from a server shutting down): our
 * own cancellations are interruptions, never a `GrpcError`.
 */
const TRANSIENT: ReadonlySet<number> = new Set([
  Status.CANCELLED,
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
  Status.UNKNOWN
])

/** A unary call that failed this way may succeed if retried unchanged. */
export const isTransient = (error: GrpcError): boolean => TRANSIENT.has(error.code)

/**
 * Exponential backoff with jitter, as a `Schedule`: `initial * 2^n` capped at `max` (`either` a `spaced(max)`),
 * each delay multiplied by a random factor in [0.8, 1.2) and rounded to whole milliseconds; it
 * never gives up. Outputs the delay it waits.
 */
export const reconnectBackoff = (
  initial: Duration.DurationInput,
  max: Duration.DurationInput
): Schedule.Schedule<Duration.Duration> =>
  Schedule.delays(
    Schedule.either(Schedule.exponential(initial, 2), Schedule.spaced(max)).pipe(
      Schedule.jittered,
      // whole milliseconds, as the delays are logged and reported
      Schedule.modifyDelay((_, delay) => Duration.millis(Math.round(Duration.toMillis(delay))))
    )
  )

/** Retries transient failures of a unary report a few times (about 3 s in total). */
export const reportRetry: Schedule.Schedule<unknown, GrpcError> = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(5)),
  Schedule.whileInput(isTransient)
)

/**
 * `Effect.retry(effect, schedule)`, the schedule's state made only once the effect has failed: a
 * call that succeeds at once (nearly every one a worker makes per task) pays nothing for it. The
 * schedule sees the same failures as under `Effect.retry`, the first one included.
 */
export const retryAfterFailure = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<unknown, E>
): Effect.Effect<A, E, R> =>
  Effect.catchAll(effect, (first) => {
    let replayFirst = true
    return Effect.retry(
      Effect.suspend(() => {
        if (!replayFirst) return effect
        replayFirst = false
        return Effect.fail(first)
      }),
      schedule
    )
  })
