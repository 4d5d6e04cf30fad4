/**
 * A connection's heartbeats, as `Effect.repeat` of one beat over `heartbeatSchedule`: a beat every
 * `interval` (less the time the previous one took), until one tells that the connection is over.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import { Status } from "nice-grpc-common"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcError } from "../HatchetError.js"
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

/** One heartbeat: the engine's error if it failed, and how long it took. */
export interface Beat {
  readonly error: GrpcError | undefined
  readonly took: Duration.Duration
}

/** What a connection's heartbeats tell so far, the latest one included. */
export interface Tally {
  /** Heartbeats of the connection. */
  readonly beats: number
  /** Failed heartbeats in a row (0 once one succeeds). */
  readonly failures: number
  /** One of those failures hung (DEADLINE_EXCEEDED): the connection looks stalled. */
  readonly hung: boolean
  /** The latest heartbeat failed, and counts as one of `failures`. */
  readonly failed: boolean
  /** The latest heartbeat. */
  readonly latest: Beat
  /** The connection must end, and why (set by the latest heartbeat). */
  readonly end: ConnectionEnd | undefined
}

const initial: Tally = {
  beats: 0,
  failures: 0,
  hung: false,
  failed: false,
  latest: { error: undefined, took: Duration.zero },
  end: undefined
}

/**
 * The tally after one more beat. The connection ends on a refused token (UNAUTHENTICATED), a
 * worker the engine no longer knows (NOT_FOUND: register again), a rejection after the first beat
 * (FAILED_PRECONDITION: no active listener; the first beat may race the new listener), or
 * `maxFailures` failures in a row (`stalled` when one of them hung). Other failures are counted.
 */
const tally = (workerId: string, maxFailures: number) => (previous: Tally, latest: Beat): Tally => {
  const beats = previous.beats + 1
  const error = latest.error
  if (error === undefined) return { beats, failures: 0, hung: false, failed: false, latest, end: undefined }
  const ending = (end: ConnectionEnd): Tally => ({ ...previous, beats, failed: false, latest, end })
  if (error.code === Status.UNAUTHENTICATED) {
    return ending({ reason: `heartbeat: UNAUTHENTICATED (${error.details})`, reregister: false, unauthenticated: true })
  }
  if (error.code === Status.NOT_FOUND) {
    return ending({ reason: `heartbeat: the engine no longer knows worker ${workerId} (NOT_FOUND)`, reregister: true })
  }
  if (error.code === Status.FAILED_PRECONDITION && beats > 1) {
    return ending({
      reason: `heartbeat rejected: the engine has no active listener for this worker (${error.details})`,
      reregister: false
    })
  }
  const failures = previous.failures + 1
  const hung = previous.hung || error.code === Status.DEADLINE_EXCEEDED
  return {
    beats,
    failures,
    hung,
    failed: true,
    latest,
    end: failures >= maxFailures
      ? {
        reason: `${failures} heartbeats in a row failed${hung ? " (hung: the connection stalled)" : ""}`,
        reregister: false,
        stalled: hung
      }
      : undefined
  }
}

/**
 * When the next heartbeat goes: `interval` after the previous one started (at once if it took
 * longer), while none ended the connection. Outputs the tally; a failure that does not end the
 * connection (and the last of `maxFailures`) is logged as a warning.
 */
export const heartbeatSchedule = (workerId: string, settings: HeartbeatSettings): Schedule.Schedule<Tally, Beat> => {
  const next = tally(workerId, settings.maxFailures)
  return Schedule.identity<Beat>().pipe(
    // `reduce` outputs the tally before this beat; with the beat itself, the tally after it
    Schedule.reduce(initial, next),
    Schedule.zipWith(Schedule.identity<Beat>(), next),
    Schedule.whileOutput((tally) => tally.end === undefined),
    Schedule.addDelay((tally) => Duration.millis(Math.max(0, Duration.toMillis(settings.interval) - Duration.toMillis(tally.latest.took)))),
    Schedule.tapOutput((tally) =>
      tally.failed
        ? Effect.logWarning(`heartbeat failed (${tally.failures} in a row): ${tally.latest.error?.details}`)
        : Effect.void
    )
  )
}

/** Heartbeats for `workerId` until the connection must end (see `heartbeatSchedule`), which it returns. */
export const heartbeats = (
  dispatcher: Pick<DispatcherShape, "heartbeat">,
  workerId: string,
  settings: HeartbeatSettings
): Effect.Effect<ConnectionEnd> => {
  const beat: Effect.Effect<Beat> = dispatcher.heartbeat(workerId).pipe(
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => timeoutError("Heartbeat") }),
    Effect.either,
    Effect.timed,
    Effect.map(([took, result]) => ({ error: Either.isLeft(result) ? result.left : undefined, took }))
  )
  // the schedule stops only after a beat that ends the connection
  return Effect.map(Effect.repeat(beat, heartbeatSchedule(workerId, settings)), (tally) => tally.end as ConnectionEnd)
}
