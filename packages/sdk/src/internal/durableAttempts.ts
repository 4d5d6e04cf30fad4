/**
 * The worker's durable attempts on its one `DurableTask` stream (`internal/durable.ts`): the
 * stream hooked up once the worker has an id, evictions (by the engine, after `evictAfter` of
 * waiting, under capacity pressure, and of every waiting attempt when the worker drains), and the
 * waits they count.
 */
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { Attempt } from "./attempt.js"
import * as Durable from "./durable.js"
import { CALL_TIMEOUT } from "./engineCall.js"
import { bidiStream, methodPath } from "./grpc.js"
import type { Route } from "./taskRoutes.js"
import type { WorkerState } from "./workerState.js"

/** What a durable wait ends with when its attempt was evicted instead. */
const EVICTED: unique symbol = Symbol("evicted")

/** How long an attempt waits before it may be evicted for capacity (upstream's `minWaitForCapacityEvictionMs`). */
export const CAPACITY_EVICTION_MIN_WAIT = Duration.seconds(10)

/** How long the worker waits before it tries again an eviction for capacity the engine was not told of. */
const EVICTION_RETRY = Duration.seconds(1)

/** A durable attempt waiting for the engine: since when (`Clock` millis), and its eviction settings. */
export interface WaitingAttempt {
  readonly key: string
  readonly attempt: Attempt
  readonly since: number
  readonly route: Pick<Route, "evictUnderPressure" | "evictionPriority">
}

/**
 * The attempt to evict for capacity (upstream's `selectEvictionCandidate` under pressure): among
 * those that allow it and have waited `CAPACITY_EVICTION_MIN_WAIT`, the lowest priority, then the
 * longest waiting. `undefined` when none qualifies yet; then `retryAt` is when the earliest will
 * (none: no attempt allows it).
 */
export const capacityCandidate = (
  waiting: Iterable<WaitingAttempt>,
  now: number
): { readonly evict: WaitingAttempt | undefined; readonly retryAt: number | undefined } => {
  const minWait = Duration.toMillis(CAPACITY_EVICTION_MIN_WAIT)
  let evict: WaitingAttempt | undefined
  let retryAt: number | undefined
  for (const entry of waiting) {
    if (!entry.route.evictUnderPressure) continue
    if (now - entry.since < minWait) {
      retryAt = Math.min(retryAt ?? Infinity, entry.since + minWait)
      continue
    }
    if (
      evict === undefined ||
      entry.route.evictionPriority < evict.route.evictionPriority ||
      (entry.route.evictionPriority === evict.route.evictionPriority && entry.since < evict.since)
    ) evict = entry
  }
  return { evict, retryAt: evict === undefined ? retryAt : undefined }
}

/** The worker's durable stream and what its attempts do with it. */
export interface DurableAttempts {
  readonly listener: Durable.DurableListener
  /**
   * What a durable attempt's waits run in: counted while they wait; after the route's
   * `evictAfter` of waiting the attempt is evicted (upstream's TTL eviction: the slot is freed,
   * the engine restores it when the wait ends); while every durable slot waits, the route's
   * `evictUnderPressure` and `evictionPriority` decide which attempt goes first
   * (`capacityCandidate`); a wait that begins once the worker is draining evicts it at once.
   */
  readonly waiting: (
    key: string,
    attempt: Attempt,
    route: Pick<Route, "evictAfter" | "evictUnderPressure" | "evictionPriority">
  ) => <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /**
   * Hands every durable attempt waiting for the engine back to it (upstream's `evictAllWaiting`),
   * within the call timeout; for a draining worker.
   */
  readonly evictWaiting: Effect.Effect<void>
}

/** Hooks the worker up to its durable stream, for as long as the scope lives. */
export const make = (options: {
  readonly state: WorkerState
  readonly transport: GrpcTransportShape
  /** The worker's durable pool: as many waiting attempts is capacity pressure. */
  readonly durableSlots: number
}): Effect.Effect<DurableAttempts, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { durableSlots, state, transport } = options
    /** Stops a durable attempt handed back to the engine (which restores it); nothing is reported. */
    const interruptEvicted = (attempt: Attempt) =>
      Effect.suspend(() => {
        attempt.reason = "evicted"
        return attempt.fiber === undefined ? Effect.void : Effect.asVoid(attempt.fiber.interruptAsFork(FiberId.none))
      })
    const listener = yield* Durable.makeListener({
      workerId: Effect.zipRight(
        Deferred.await(state.registered),
        Effect.sync(() => state.registeredId)
      ),
      connect: (requests) =>
        bidiStream(
          methodPath(V1DispatcherDefinition, "durableTask"),
          requests,
          (iterable, callOptions) => transport.v1Dispatcher.durableTask(iterable, callOptions)
        ),
      onServerEvict: (taskId, invocation, reason) =>
        Effect.suspend(() => {
          const attempt = state.attempts.get(taskId)
          if (attempt === undefined || attempt.invocationCount !== invocation) return Effect.void
          return Effect.zipRight(
            Effect.logInfo(`the engine evicted durable task ${taskId} (invocation ${invocation}): ${reason}`),
            interruptEvicted(attempt)
          )
        })
    })
    /**
     * Hands a waiting durable attempt back to the engine (`evict_invocation`), then stops it here;
     * false when the engine could not be told (logged; the attempt goes on waiting).
     */
    const evictAttempt = (key: string, attempt: Attempt, reason: string): Effect.Effect<boolean> =>
      listener.evict(key, attempt.invocationCount, reason).pipe(
        Effect.zipRight(interruptEvicted(attempt)),
        Effect.as(true),
        Effect.catchAll((error) => Effect.as(Effect.logWarning(`could not evict durable task ${key}: ${error.message}`), false))
      )
    // the attempts waiting for the engine, by task run; while they fill the durable pool, one fiber
    // evicts them one at a time, each once it has waited long enough (it ends when the pressure does)
    const waitingAttempts = new Map<string, WaitingAttempt>()
    const pressure = yield* FiberHandle.make<void, never>()
    const underPressure = () => state.phase === "running" && waitingAttempts.size >= durableSlots
    const relievePressure: Effect.Effect<void> = Effect.suspend(() => {
      if (!underPressure()) return Effect.void
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const { evict, retryAt } = capacityCandidate(waitingAttempts.values(), now)
        if (evict !== undefined) {
          // no longer counted while it goes (its wait ends once it is stopped); counted again if
          // the engine could not be told, and the wait goes on
          waitingAttempts.delete(evict.key)
          const reason = `worker at capacity: all ${durableSlots} durable slots wait for the engine`
          return Effect.flatMap(evictAttempt(evict.key, evict.attempt, reason), (evicted) => {
            if (evicted) return relievePressure
            if (evict.attempt.durableWaits > 0 && !waitingAttempts.has(evict.key)) waitingAttempts.set(evict.key, evict)
            return Effect.zipRight(Effect.sleep(EVICTION_RETRY), relievePressure)
          })
        }
        return retryAt === undefined ? Effect.void : Effect.zipRight(Effect.sleep(retryAt - now), relievePressure)
      })
    })
    const waiting = (key: string, attempt: Attempt, route: Parameters<DurableAttempts["waiting"]>[2]) =>
    <A, E>(
      effect: Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const evictAfter = route.evictAfter
        if (state.phase !== "running") {
          return listener.evict(key, attempt.invocationCount, "worker shutting down").pipe(
            Effect.matchEffect({
              onFailure: () => effect,
              onSuccess: () => Effect.zipRight(Effect.sync(() => attempt.reason = "evicted"), Effect.interrupt)
            })
          )
        }
        // after `evictAfter`, the engine is told; the attempt then stops itself (reported as nothing)
        const evictLater = evictAfter === undefined ? Effect.never : Effect.sleep(evictAfter).pipe(
          Effect.zipRight(listener.evict(key, attempt.invocationCount, `waited ${Duration.format(evictAfter)} for the engine`)),
          Effect.matchEffect({
            // not evicted (the engine could not be told): the wait goes on
            onFailure: (error) => Effect.zipRight(Effect.logWarning(`could not evict durable task ${key}: ${error.message}`), Effect.never),
            onSuccess: () => Effect.succeed(EVICTED)
          })
        )
        return Effect.acquireUseRelease(
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            if (attempt.durableWaits++ > 0) return Effect.void
            waitingAttempts.set(key, { key, attempt, since: now, route })
            return underPressure() ? FiberHandle.run(pressure, relievePressure, { onlyIfMissing: true }) : Effect.void
          }),
          () =>
            evictAfter === undefined ? effect : Effect.flatMap(Effect.raceFirst(effect, evictLater), (result) =>
              result === EVICTED
                ? Effect.zipRight(Effect.sync(() => attempt.reason = "evicted"), Effect.interrupt)
                : Effect.succeed(result as A)),
          () =>
            Effect.sync(() => {
              if (--attempt.durableWaits === 0 && waitingAttempts.get(key)?.attempt === attempt) waitingAttempts.delete(key)
            })
        )
      })
    const evictWaiting = Effect.suspend(() => {
      const waiting = [...state.attempts].filter(([, attempt]) => attempt.durableWaits > 0)
      if (waiting.length === 0) return Effect.void
      return Effect.zipRight(
        Effect.logInfo(`evicting ${waiting.length} waiting durable task(s)`),
        Effect.forEach(waiting, ([key, attempt]) => evictAttempt(key, attempt, "worker shutting down"), {
          concurrency: "unbounded",
          discard: true
        }).pipe(Effect.interruptible, Effect.timeoutOption(CALL_TIMEOUT))
      )
    })
    return { listener, waiting, evictWaiting }
  })
