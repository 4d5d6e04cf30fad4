/**
 * The `v1.V1Dispatcher` gRPC service: the `DurableTask` stream (`docs/engine.md` §9.3, the
 * protocol of engines reporting v0.80.0 or later, which this engine does), each request handled
 * in order by `domain/durable.ts`. A request the engine cannot handle is logged and dropped, as
 * upstream does; the stream stays open. `RegisterDurableEvent` and `ListenForDurableEvent`, the
 * protocol SDKs use against engines older than v0.80.0, are served as upstream still serves them.
 *
 * @internal
 */
import type {
  DurableEvent,
  DurableTaskRequest,
  DurableTaskResponse,
  ListenForDurableEventRequest,
  V1DispatcherServiceImplementation
} from "@effect-hatchet/proto/v1/dispatcher"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { EngineCoreService } from "../core.js"
import {
  closeDurableStream,
  DurableRequestError,
  handleDurableRequest,
  listenForDurableEvent,
  registerDurableEvent
} from "../domain/durable.js"
import { newId } from "../domain/ids.js"
import type { DurableEventListener, DurableStream } from "../domain/model.js"
import { type EffectService, makeQueue } from "./bridge.js"

export const make = (core: EngineCoreService): EffectService<V1DispatcherServiceImplementation> => ({
  durableTask: (requests, context) =>
    Effect.gen(function*() {
      const queue = yield* makeQueue<DurableTaskResponse>()
      const stream: DurableStream = {
        id: newId(),
        tenantId: context.tenantId,
        send: (response) => queue.unsafeOffer(response),
        releases: new Map()
      }
      yield* Effect.addFinalizer(() => core.runSync((state) => closeDurableStream(state, stream)))
      const iterator = requests[Symbol.asyncIterator]()
      const handle = (request: DurableTaskRequest) =>
        core.run((state, now) => {
          try {
            handleDurableRequest(state, stream, request, now)
            return undefined
          } catch (error) {
            if (error instanceof DurableRequestError) return error.message
            throw error
          }
        }).pipe(
          Effect.flatMap((dropped) => dropped === undefined ? Effect.void : Effect.logDebug(`durable task request dropped: ${dropped}`)),
          Effect.catchAll((error) => Effect.logDebug("durable task request failed", error))
        )
      const consume: Effect.Effect<void> = Effect.gen(function*() {
        for (;;) {
          const next = yield* Effect.tryPromise(() => iterator.next() as Promise<IteratorResult<DurableTaskRequest>>)
          if (next.done === true) return
          yield* handle(next.value)
        }
      }).pipe(
        Effect.ignore,
        Effect.ensuring(queue.end)
      )
      yield* Effect.forkScoped(consume)
      return queue
    }),
  registerDurableEvent: (request, context) =>
    core.runEither((state, now) => Either.map(registerDurableEvent(state, context.tenantId, request, now), () => ({}))),
  listenForDurableEvent: (requests, context) =>
    Effect.gen(function*() {
      const queue = yield* makeQueue<DurableEvent>()
      const listener: DurableEventListener = {
        tenantId: context.tenantId,
        wanted: new Map(),
        send: (event) => queue.unsafeOffer(event)
      }
      yield* core.runSync((state) => state.durableEventListeners.add(listener))
      yield* Effect.addFinalizer(() => core.runSync((state) => state.durableEventListeners.delete(listener)))
      const iterator = requests[Symbol.asyncIterator]()
      const consume: Effect.Effect<void> = Effect.gen(function*() {
        for (;;) {
          const next = yield* Effect.tryPromise(() => iterator.next() as Promise<IteratorResult<ListenForDurableEventRequest>>)
          if (next.done === true) return
          yield* core.runSync((state) => listenForDurableEvent(state, listener, next.value))
        }
      }).pipe(Effect.ignore, Effect.ensuring(queue.end))
      yield* Effect.forkScoped(consume)
      return queue
    })
})
