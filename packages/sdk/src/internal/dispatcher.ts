/**
 * `Dispatcher` over gRPC, filling requests as the official TypeScript SDK does.
 *
 * @internal
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type { CallOptions, DispatcherShape } from "../Dispatcher.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { GrpcError } from "../HatchetError.js"
import { methodPath, unary, unsafeCallOf } from "./grpc.js"

const path = (method: keyof typeof DispatcherDefinition.methods & string) => methodPath(DispatcherDefinition, method)

const service = DispatcherDefinition.fullName
const methods = DispatcherDefinition.methods

/**
 * A step action event call started as it is called, without an effect: `onExit` gets its outcome
 * once (the engine's answer is not needed); returns what cancels it, if it was started.
 *
 * @internal
 */
export type UnsafeEventCall<I> = (
  request: I,
  options: CallOptions | undefined,
  onExit: (exit: Exit.Exit<unknown, GrpcError>) => void
) => (() => void) | undefined

/**
 * A dispatcher's two step action event calls in callback form.
 *
 * @internal
 */
export interface DirectCalls {
  readonly sendStepActionEvent: UnsafeEventCall<Proto.StepActionEvent>
  readonly sendBatchActionEvent: UnsafeEventCall<Proto.BatchActionEvent>
}

/** The callback forms of the dispatchers' event calls, keyed by the effect method they stand for. */
const unsafeEventCalls = new WeakMap<object, UnsafeEventCall<any>>()

/**
 * The callback form of a dispatcher's `sendStepActionEvent` or `sendBatchActionEvent`: found only
 * for the very method this module made over a transport of ./grpc.ts, so a fake, or a dispatcher
 * that replaces the method (even one that spreads this one's other members), has none.
 *
 * @internal
 */
export const unsafeEventCallOf = <I>(
  method: (request: I, options?: CallOptions) => Effect.Effect<void, GrpcError>
): UnsafeEventCall<I> | undefined => unsafeEventCalls.get(method)

/**
 * A dispatcher's two event calls in callback form (for ./actionEvents.ts), when it has both.
 *
 * @internal
 */
export const directEventCalls = (dispatcher: DispatcherShape): DirectCalls | undefined => {
  const sendStepActionEvent = unsafeEventCallOf(dispatcher.sendStepActionEvent)
  const sendBatchActionEvent = unsafeEventCallOf(dispatcher.sendBatchActionEvent)
  return sendStepActionEvent === undefined || sendBatchActionEvent === undefined
    ? undefined
    : { sendStepActionEvent, sendBatchActionEvent }
}

/** `method`, with `unsafe` registered as its callback form. */
const withUnsafe = <I>(
  method: (request: I, options?: CallOptions) => Effect.Effect<void, GrpcError>,
  unsafe: UnsafeEventCall<I> | undefined
) => {
  if (unsafe !== undefined) unsafeEventCalls.set(method, unsafe)
  return method
}

/**
 * An assignment as the worker keeps it: a class instance (no allocation site, see ./attempt.ts on
 * V8's pretenuring) with the decoded message's fields.
 */
class Assignment implements Proto.AssignedAction {
  readonly tenantId: string
  readonly workflowRunId: string
  readonly getGroupKeyRunId: string
  readonly jobId: string
  readonly jobName: string
  readonly jobRunId: string
  readonly taskId: string
  readonly taskRunExternalId: string
  readonly actionId: string
  readonly actionType: Proto.ActionType
  readonly actionPayload: string
  readonly taskName: string
  readonly retryCount: number
  readonly additionalMetadata: string | undefined
  readonly childWorkflowIndex: number | undefined
  readonly childWorkflowKey: string | undefined
  readonly parentWorkflowRunId: string | undefined
  readonly priority: number
  readonly workflowId: string | undefined
  readonly workflowVersionId: string | undefined
  readonly durableTaskInvocationCount: number | undefined
  readonly triggeringEventExternalId: string | undefined
  readonly triggeringEventKey: string | undefined
  readonly batchId: string | undefined
  readonly batchSize: number | undefined
  readonly batchIndex: number | undefined
  readonly batchStartPayload: Proto.BatchStartPayload | undefined
  readonly batchKey: string | undefined
  constructor(a: Proto.AssignedAction) {
    this.tenantId = a.tenantId
    this.workflowRunId = a.workflowRunId
    this.getGroupKeyRunId = a.getGroupKeyRunId
    this.jobId = a.jobId
    this.jobName = a.jobName
    this.jobRunId = a.jobRunId
    this.taskId = a.taskId
    this.taskRunExternalId = a.taskRunExternalId
    this.actionId = a.actionId
    this.actionType = a.actionType
    this.actionPayload = a.actionPayload
    this.taskName = a.taskName
    this.retryCount = a.retryCount
    this.additionalMetadata = a.additionalMetadata
    this.childWorkflowIndex = a.childWorkflowIndex
    this.childWorkflowKey = a.childWorkflowKey
    this.parentWorkflowRunId = a.parentWorkflowRunId
    this.priority = a.priority
    this.workflowId = a.workflowId
    this.workflowVersionId = a.workflowVersionId
    this.durableTaskInvocationCount = a.durableTaskInvocationCount
    this.triggeringEventExternalId = a.triggeringEventExternalId
    this.triggeringEventKey = a.triggeringEventKey
    this.batchId = a.batchId
    this.batchSize = a.batchSize
    this.batchIndex = a.batchIndex
    this.batchStartPayload = a.batchStartPayload
    this.batchKey = a.batchKey
  }
}

/**
 * The decoded assignment as an `Assignment`, the decoded object emptied: the generated decoder
 * makes an object literal, which V8 may allocate in the old generation (once a burst of
 * assignments made its allocation site look long-lived); dead there, it would keep the decoded
 * strings through young-generation collections until a full one.
 */
const ownAssignment = (decoded: Proto.AssignedAction): Proto.AssignedAction => {
  const owned = new Assignment(decoded)
  const fields = decoded as unknown as Record<string, unknown>
  for (const key in fields) fields[key] = undefined
  return owned
}

/** @internal */
export const make = (transport: GrpcTransportShape): DispatcherShape => {
  const { call, dispatcher: client, stream, streamForEach } = transport
  const unsafeCall = unsafeCallOf(call)
  return {
    register: (request) => unary(path("register"), (o) => client.register(request, o)),
    // the assignment stream: a plain read loop on grpc-js, in chunks of what arrived together
    listen: (workerId) => stream(service, methods.listenV2, { workerId }),
    // the same read loop, each assignment handed to `f` in place (the Worker's)
    listenForEach: (workerId, f) => streamForEach(service, methods.listenV2, { workerId }, (action) => f(ownAssignment(action))),
    heartbeat: (workerId) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => unary(path("heartbeat"), (o) => client.heartbeat({ workerId, heartbeatAt: new Date(now) }, o))),
        Effect.asVoid
      ),
    // the worker's hot calls: straight on grpc-js, the deadline set on the call
    sendStepActionEvent: withUnsafe(
      (event: Proto.StepActionEvent, options?: CallOptions) => Effect.asVoid(call(service, methods.sendStepActionEvent, event, options)),
      unsafeCall && ((event, options, onExit) => unsafeCall(service, methods.sendStepActionEvent, event, options, onExit))
    ),
    sendBatchActionEvent: withUnsafe(
      (event: Proto.BatchActionEvent, options?: CallOptions) => Effect.asVoid(call(service, methods.sendBatchActionEvent, event, options)),
      unsafeCall && ((event, options, onExit) => unsafeCall(service, methods.sendBatchActionEvent, event, options, onExit))
    ),
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
  }
}

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
