/**
 * The `v1.V1Dispatcher` gRPC service: the `DurableTask` stream (engine semantics §9.3, the
 * protocol of engines reporting v0.80.0 or later, which this engine does), each request handled
 * in order by `domain/durable.ts`. A request the engine cannot handle is logged and dropped, as
 * upstream does; the stream stays open. `RegisterDurableEvent` and `ListenForDurableEvent`, the
 * protocol of older engines, are not served (the official SDKs only use them against engines
 * older than v0.80.0).
 *
 * @internal
 */
import type { DurableTaskRequest, DurableTaskResponse, V1DispatcherServiceImplementation } from "@effect-hatchet/proto/v1/dispatcher"
import { Effect, Mailbox } from "effect"
import { ServerError, Status } from "nice-grpc-common"
import type { EngineCoreService } from "../core.js"
import { closeDurableStream, DurableRequestError, handleDurableRequest } from "../domain/durable.js"
import type { EngineError } from "../domain/errors.js"
import { newId } from "../domain/ids.js"
import type { DurableStream } from "../domain/model.js"
import type { TenantContext } from "./auth.js"
import type { Bridge } from "./bridge.js"

const legacy = (method: string) =>
  new ServerError(
    Status.UNIMPLEMENTED,
    `${method} is the durable protocol of engines older than v0.80.0; this engine serves DurableTask`
  )

export const make = (core: EngineCoreService, bridge: Bridge): V1DispatcherServiceImplementation<TenantContext> => ({
  durableTask: (requests, context) =>
    bridge.stream(
      Effect.gen(function*() {
        const mailbox = yield* Mailbox.make<DurableTaskResponse, EngineError>()
        const stream: DurableStream = {
          id: newId(),
          tenantId: context.tenantId,
          send: (response) => mailbox.unsafeOffer(response),
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
            Effect.flatMap((dropped) =>
              dropped === undefined ? Effect.void : Effect.logDebug(`durable task request dropped: ${dropped}`)
            ),
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
          Effect.ensuring(mailbox.end)
        )
        yield* Effect.forkScoped(consume)
        return mailbox
      }),
      context.signal
    ),
  registerDurableEvent: () => Promise.reject(legacy("RegisterDurableEvent")),
  // eslint-disable-next-line require-yield
  listenForDurableEvent: async function*() {
    throw legacy("ListenForDurableEvent")
  }
})
