/**
 * `Dispatcher` over gRPC, filling requests as the official TypeScript SDK does.
 *
 * @internal
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Clock, Effect, Stream } from "effect"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { GrpcError } from "../HatchetError.js"
import { methodPath, unary } from "./grpc.js"

const path = (method: keyof typeof DispatcherDefinition.methods & string) => methodPath(DispatcherDefinition, method)

const service = DispatcherDefinition.fullName
const methods = DispatcherDefinition.methods

/** @internal */
export const make = ({ call, dispatcher: client, stream, streamForEach }: GrpcTransportShape): DispatcherShape => ({
  register: (request) => unary(path("register"), (o) => client.register(request, o)),
  // the assignment stream: a plain read loop on grpc-js, in chunks of what arrived together
  listen: (workerId) => stream(service, methods.listenV2, { workerId }),
  // the same read loop, each assignment handed to `f` in place (the Worker's)
  listenForEach: (workerId, f) => streamForEach(service, methods.listenV2, { workerId }, f),
  heartbeat: (workerId) =>
    Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => unary(path("heartbeat"), (o) => client.heartbeat({ workerId, heartbeatAt: new Date(now) }, o))),
      Effect.asVoid
    ),
  // the worker's hot calls: straight on grpc-js, the deadline set on the call
  sendStepActionEvent: (event, options) => Effect.asVoid(call(service, methods.sendStepActionEvent, event, options)),
  sendBatchActionEvent: (event, options) => Effect.asVoid(call(service, methods.sendBatchActionEvent, event, options)),
  refreshTimeout: (taskRunExternalId, incrementBy) =>
    unary(
      path("refreshTimeout"),
      (o) => client.refreshTimeout({ taskRunExternalId, incrementTimeoutBy: incrementBy }, o)
    ).pipe(Effect.map((response) => response.timeoutAt)),
  releaseSlot: (taskRunExternalId) => Effect.asVoid(unary(path("releaseSlot"), (o) => client.releaseSlot({ taskRunExternalId }, o))),
  unsubscribe: (workerId) => Effect.asVoid(unary(path("unsubscribe"), (o) => client.unsubscribe({ workerId }, o))),
  upsertWorkerLabels: (workerId, labels) =>
    Effect.asVoid(unary(path("upsertWorkerLabels"), (o) => client.upsertWorkerLabels({ workerId, labels }, o))),
  getVersion: unary(path("getVersion"), (o) => client.getVersion({}, o)).pipe(
    Effect.map((response) => response.version)
  )
})

/**
 * Runs `f` on each assignment of `workerId`'s stream, in order, each once the previous one's
 * effect is done: `dispatcher.listenForEach` when the dispatcher has it, else `listen` consumed
 * element by element (a fake's). Succeeds when the stream ends, fails with its `GrpcError`;
 * interrupting it cancels the call.
 *
 * @internal
 */
export const listenForEach = (
  dispatcher: DispatcherShape,
  workerId: string,
  f: (action: Proto.AssignedAction) => Effect.Effect<void>
): Effect.Effect<void, GrpcError> =>
  dispatcher.listenForEach !== undefined
    ? dispatcher.listenForEach(workerId, f)
    : Stream.runForEach(dispatcher.listen(workerId), f)
