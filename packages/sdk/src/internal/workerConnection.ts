/**
 * The worker's connection to the engine: registration (at startup, after checking the engine's
 * version, and again whenever the engine forgot the worker), then one connection at a time (the
 * assignment stream and its heartbeats), reconnected with backoff for as long as the worker lives.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { Status } from "nice-grpc-common"
import type { AdminShape } from "../Admin.js"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { GrpcError } from "../HatchetError.js"
import { listenForEach } from "./dispatcher.js"
import { requirementsOf, tooOldMessage, unmet } from "./engineVersion.js"
import { heartbeats } from "./heartbeat.js"
import { registerRequest } from "./registration.js"
import { isTransient, reconnectBackoff } from "./retry.js"
import type { TaskRoutes } from "./taskRoutes.js"
import { WorkerError } from "./workerError.js"
import type { ResolvedSettings } from "./workerOptions.js"
import { setStatus, type WorkerState } from "./workerState.js"
import { WorkerStatus } from "./workerStatus.js"

/** What ended one connection (register + listen + heartbeats). */
export interface ConnectionEnd {
  readonly reason: string
  /** The engine no longer knows the worker id: register again before listening. */
  readonly reregister: boolean
  /** Heartbeats hung: the connection looks dead, the next one must not reuse it. */
  readonly stalled?: boolean
  /** The engine refused the token (UNAUTHENTICATED): logged as an error that says what to do. */
  readonly unauthenticated?: boolean
}

/** What a worker whose token the engine refuses at runtime should do about it. */
const UNAUTHENTICATED_ADVICE = "the engine refuses this worker's token (HATCHET_CLIENT_TOKEN): it expired or was " +
  "revoked, or the engine now signs tokens with another key (hatchet-local started with another --state-dir). " +
  "The worker keeps retrying, in case the token is accepted again; to use a new token, restart the worker with it"

/** What the connection needs of its worker. */
export interface ConnectionOptions {
  readonly state: WorkerState
  readonly settings: ResolvedSettings
  readonly routes: TaskRoutes
  readonly dispatcher: DispatcherShape
  readonly admin: AdminShape
  /** Lets a connection whose heartbeats hung move the channel to a fresh connection. */
  readonly transport: Option.Option<GrpcTransportShape>
  /** Asks the engine to assign the worker nothing new (a worker registered again while draining). */
  readonly pauseIntake: (workerId: string) => Effect.Effect<void>
  /** Handles one assignment of the stream. */
  readonly handleAction: (workerId: string, action: DispatcherProto.AssignedAction) => Effect.Effect<void>
}

/** The worker's connection. */
export interface Connection {
  /**
   * Checks that the engine is recent enough for the definitions and registers the worker,
   * retrying transient failures with the reconnect backoff; fails with `EngineTooOld` or
   * `Registration`.
   */
  readonly start: Effect.Effect<void, WorkerError>
  /** Connects, and reconnects with backoff, until interrupted. */
  readonly run: Effect.Effect<void>
}

/** The worker's connection to the engine, over its settings and state. */
export const make = (options: ConnectionOptions): Connection => {
  const { admin, dispatcher, routes, settings, state, transport } = options
  const { actions, compiled, hasDurable } = routes
  const { durableSlots, initialDelay, maxDelay, resetAfter, slots, workerName } = settings

  const register: Effect.Effect<string, GrpcError> = Effect.gen(function*() {
    yield* setStatus(state, WorkerStatus.Registering())
    for (const c of compiled) yield* admin.putWorkflow(c.request)
    const response = yield* dispatcher.register(
      registerRequest({ name: workerName, actions, slots, durableSlots: hasDurable ? durableSlots : undefined, labels: state.labels })
    )
    yield* Ref.set(state.workerId, Option.some(response.workerId))
    state.registeredId = response.workerId
    yield* Deferred.succeed(state.registered, undefined)
    yield* Effect.logInfo(`worker "${workerName}" registered as ${response.workerId}`)
    // registered again while draining (the engine forgot the worker): the new one takes no work either
    if (state.phase !== "running") yield* options.pauseIntake(response.workerId)
    return response.workerId
  })

  const connectOnce: Effect.Effect<ConnectionEnd & { readonly healthy: boolean }> = Effect.scoped(
    Effect.gen(function*() {
      let healthy = false
      const known = yield* Ref.get(state.workerId)
      let workerId: string
      if (Option.isSome(known)) {
        workerId = known.value
      } else {
        const registered = yield* Effect.either(register)
        if (Either.isLeft(registered)) {
          return {
            reason: `registration failed: ${registered.left.details}`,
            reregister: true,
            unauthenticated: registered.left.code === Status.UNAUTHENTICATED,
            healthy
          }
        }
        workerId = registered.right
      }
      const end = yield* Deferred.make<ConnectionEnd>()
      yield* heartbeats(dispatcher, workerId, {
        interval: settings.heartbeatInterval,
        timeout: settings.heartbeatTimeout,
        maxFailures: settings.maxHeartbeatFailures
      }).pipe(
        Effect.flatMap((ended) => Deferred.succeed(end, ended)),
        Effect.interruptible,
        Effect.forkScoped
      )
      yield* setStatus(state, WorkerStatus.Listening({ workerId }))
      // each assignment handled in this fiber, in order; what arrived together is handled together
      // (one after the other, the fiber waiting only when none is left)
      const listen = listenForEach(dispatcher, workerId, (action) => {
        healthy = true
        return options.handleAction(workerId, action)
      }).pipe(
        Effect.as<ConnectionEnd>({ reason: "the assignment stream ended", reregister: false }),
        Effect.catchAll((error): Effect.Effect<ConnectionEnd> =>
          Effect.succeed({
            reason: `the assignment stream failed: ${error.details}`,
            reregister: error.code === Status.NOT_FOUND || error.code === Status.INVALID_ARGUMENT,
            unauthenticated: error.code === Status.UNAUTHENTICATED
          })
        )
      )
      const ended = yield* Effect.raceFirst(listen, Deferred.await(end))
      return { ...ended, healthy }
    })
  ).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(Effect.logError("worker connection failed unexpectedly", cause), {
          reason: "unexpected error",
          reregister: false,
          healthy: false
        })
    )
  )

  /** One connection to its end; `fresh` when the backoff starts over (healthy, or it lived `resetAfter`). */
  const connectionOnce = Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const ended = yield* connectOnce
    const lived = (yield* Clock.currentTimeMillis) - started
    if (ended.reregister) yield* Ref.set(state.workerId, Option.none())
    // a silently dead connection would take the next calls too, until keepalive notices
    if (ended.stalled === true && Option.isSome(transport)) yield* transport.value.resetConnection
    return { ...ended, fresh: ended.healthy || lived >= Duration.toMillis(resetAfter) }
  })
  type Ended = Effect.Effect.Success<typeof connectionOnce>
  // reconnects for as long as the worker lives: jittered exponential from `initialDelay` up to
  // `maxDelay`, back to the start after a fresh connection; `attempt` counts since then, from 1
  const reconnect = Schedule.identity<Ended>().pipe(
    Schedule.intersect(reconnectBackoff(initialDelay, maxDelay)),
    Schedule.intersect(Schedule.count),
    Schedule.map(([[ended, delay], count]) => ({ ended, delay, attempt: count + 1 })),
    Schedule.resetWhen(({ ended }) => ended.fresh),
    Schedule.tapOutput(({ attempt, delay, ended }) =>
      Effect.gen(function*() {
        yield* setStatus(
          state,
          WorkerStatus.Reconnecting({
            workerId: yield* Ref.get(state.workerId),
            attempt,
            reason: ended.reason,
            delay
          })
        )
        const retrying = `reconnecting in ${Duration.format(delay)} (attempt ${attempt})`
        yield* ended.unauthenticated === true
          ? Effect.logError(`${ended.reason}: ${UNAUTHENTICATED_ADVICE}; ${retrying}`)
          : Effect.logWarning(`${ended.reason}; ${retrying}`)
      })
    )
  )
  const run = Effect.repeat(connectionOnce, reconnect).pipe(
    Effect.asVoid,
    Effect.annotateLogs({ "hatchet.worker": workerName })
  )

  // a definition that needs a newer engine than the one answering must not run differently
  const requirements = requirementsOf(compiled)
  const checkEngineVersion: Effect.Effect<void, GrpcError | WorkerError> = requirements.length === 0
    ? Effect.void
    : Effect.gen(function*() {
      const version = yield* dispatcher.getVersion.pipe(
        Effect.map((v): string | undefined => v),
        Effect.catchIf((error) => error.code === Status.UNIMPLEMENTED, () => Effect.succeed(undefined))
      )
      const missing = unmet(version, requirements)
      if (missing.length > 0) {
        return yield* new WorkerError({ reason: "EngineTooOld", message: tooOldMessage(version, missing) })
      }
    })
  const start = checkEngineVersion.pipe(
    Effect.zipRight(register),
    Effect.tapError((error) =>
      error._tag === "GrpcError" && isTransient(error)
        ? Effect.logWarning(`worker "${workerName}" could not register (${error.details}); retrying`)
        : Effect.void
    ),
    Effect.retry({
      while: (error) => error._tag === "GrpcError" && isTransient(error),
      schedule: reconnectBackoff(initialDelay, maxDelay)
    }),
    Effect.mapError((cause) =>
      cause._tag === "WorkerError"
        ? cause
        : new WorkerError({ reason: "Registration", message: `Could not register worker "${workerName}": ${cause.details}`, cause })
    ),
    Effect.asVoid
  )

  return { start, run }
}
