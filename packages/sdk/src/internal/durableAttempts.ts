/**
 * The worker's durable attempts on its one `DurableTask` stream (`internal/durable.ts`): the
 * stream hooked up once the worker has an id, evictions (by the engine, after `evictAfter` of
 * waiting, and of every waiting attempt when the worker drains), and the waits they count.
 */
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import type { Scope } from "effect"
import { Deferred, Duration, Effect, FiberId } from "effect"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { Attempt } from "./attempt.js"
import * as Durable from "./durable.js"
import { CALL_TIMEOUT } from "./engineCall.js"
import { bidiStream, methodPath } from "./grpc.js"
import type { WorkerState } from "./workerState.js"

/** What a durable wait ends with when its attempt was evicted instead. */
const EVICTED: unique symbol = Symbol("evicted")

/** The worker's durable stream and what its attempts do with it. */
export interface DurableAttempts {
  readonly listener: Durable.DurableListener
  /**
   * What a durable attempt's waits run in: counted while they wait; after `evictAfter` of waiting
   * the attempt is evicted (upstream's TTL eviction: the slot is freed, the engine restores it
   * when the wait ends); a wait that begins once the worker is draining evicts it at once.
   */
  readonly waiting: (
    key: string,
    attempt: Attempt,
    evictAfter: Duration.Duration | undefined
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
}): Effect.Effect<DurableAttempts, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { state, transport } = options
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
    /** Hands a waiting durable attempt back to the engine (`evict_invocation`), then stops it here. */
    const evictAttempt = (key: string, attempt: Attempt, reason: string) =>
      listener.evict(key, attempt.invocationCount, reason).pipe(
        Effect.zipRight(interruptEvicted(attempt)),
        Effect.catchAll((error) => Effect.logWarning(`could not evict durable task ${key}: ${error.message}`))
      )
    const waiting = (key: string, attempt: Attempt, evictAfter: Duration.Duration | undefined) =>
    <A, E>(
      effect: Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.suspend(() => {
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
          Effect.sync(() => attempt.durableWaits++),
          () =>
            evictAfter === undefined ? effect : Effect.flatMap(Effect.raceFirst(effect, evictLater), (result) =>
              result === EVICTED
                ? Effect.zipRight(Effect.sync(() => attempt.reason = "evicted"), Effect.interrupt)
                : Effect.succeed(result as A)),
          () => Effect.sync(() => attempt.durableWaits--)
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
