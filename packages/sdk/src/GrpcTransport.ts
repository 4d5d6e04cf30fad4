/**
 * The gRPC connection to a Hatchet engine: ONE channel (HTTP/2 connection) shared by the typed
 * clients of every service, with the official SDKs' channel options (keepalive 10 s / 60 s, idle
 * timeout 60 s, gzip for requests of 1 KiB or more to an engine not on loopback, max message sizes),
 * `authorization: bearer <token>` on every call, and
 * plaintext, TLS or mTLS from `HatchetConfig`. The channel is closed when the layer's scope
 * closes.
 *
 * A connection can die silently (a stale NAT or load-balancer flow, a half-open TCP connection):
 * calls hang, and grpc-js keeps sending new calls to it until a keepalive PING goes unanswered
 * (`HatchetConfig`'s `grpcKeepaliveTime` + `grpcKeepaliveTimeout`, 70 s by default).
 * `resetConnection` moves the channel to a fresh connection at once, failing what was still on
 * the old one with UNAVAILABLE; the Worker calls it when its heartbeats hang.
 *
 * The helpers `unary`, `serverStream` and `bidiStream` turn nice-grpc calls into Effects and
 * Streams that are interruptible (interrupting cancels the RPC on the server) and fail with
 * `GrpcError`.
 *
 * @since 0.1.0
 */
import type { DispatcherClient } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { EventsServiceClient } from "@effect-hatchet/proto/events/events"
import type { V1DispatcherClient } from "@effect-hatchet/proto/v1/dispatcher"
import type { AdminServiceClient } from "@effect-hatchet/proto/v1/workflows"
import type { WorkflowServiceClient } from "@effect-hatchet/proto/workflows/workflows"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { CallOptions, Channel, ChannelOptions } from "nice-grpc"
import type { HatchetConfigError, HatchetConfigShape } from "./HatchetConfig.js"
import { HatchetConfig } from "./HatchetConfig.js"
import type { GrpcError } from "./HatchetError.js"
import * as internal from "./internal/grpc.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface GrpcTransportShape {
  /** The one channel all clients share. */
  readonly channel: Channel
  /**
   * Moves the channel to a new HTTP/2 connection, for a connection that stalled silently: calls
   * made from now on open (and use) a fresh connection; calls still in flight on the old one fail
   * at once with UNAVAILABLE (a stream's owner reconnects, a unary call's retries it), and the old
   * connection is closed. A call the server already processed may thus fail, as it would if the
   * connection had broken.
   */
  readonly resetConnection: Effect.Effect<void>
  /**
   * A unary call made on the channel's grpc-js call directly (same channel, same token), without
   * nice-grpc's per-call layers nor grpc-js's client layer: `method` is a method of a generated
   * service definition (`DispatcherDefinition.methods.sendStepActionEvent`), `request` a complete
   * message, and `timeout` the call's deadline. The worker's hot calls (step action events) and
   * the client's triggers (`TriggerWorkflow`, `BulkTriggerWorkflow`) use it.
   */
  readonly call: <I, O>(
    service: string,
    method: internal.UnaryMethod<I, O>,
    request: I,
    settings?: internal.CallSettings
  ) => Effect.Effect<O, GrpcError>
  /**
   * A server-streaming call made on grpc-js directly (same channel, same token), read in a plain
   * loop: messages come in chunks of what arrived together, the stream fails with a `GrpcError`
   * on a status other than OK, and interrupting the consumer cancels the call.
   * `Dispatcher.listen` (`ListenV2`) uses it.
   */
  readonly stream: <I, O>(
    service: string,
    method: internal.UnaryMethod<I, O>,
    request: I
  ) => Stream.Stream<O, GrpcError>
  /**
   * `stream` consumed in place: `f` runs on each message in arrival order, in the caller's fiber,
   * each once the previous one's effect is done (what arrived meanwhile is handled without
   * waiting in between), with no Stream, Mailbox or Chunk per message. It succeeds when the
   * server ends the call with OK, after every message that came before; fails with a `GrpcError`
   * on any other status, or with `f`'s failure; interrupting it cancels the call. The worker's
   * assignment stream (`Dispatcher.listenForEach`) uses it.
   */
  readonly streamForEach: <I, O, E, R>(
    service: string,
    method: internal.UnaryMethod<I, O>,
    request: I,
    f: (message: O) => Effect.Effect<void, E, R>
  ) => Effect.Effect<void, GrpcError | E, R>
  /**
   * A bidirectional call made on grpc-js directly (same channel, same token): requests come from
   * `input` (ending it half-closes the call, a failure of it fails the Stream), responses are the
   * Stream, which fails with a `GrpcError` on a status other than OK; interrupting the consumer
   * cancels the call. The run listener's `SubscribeToWorkflowRuns` uses it.
   */
  readonly bidi: <I, O, E, R>(
    service: string,
    method: internal.UnaryMethod<I, O>,
    input: Stream.Stream<I, E, R>
  ) => Stream.Stream<O, GrpcError | E, R>
  /** `Dispatcher` (no proto package). */
  readonly dispatcher: DispatcherClient
  /** `EventsService`. */
  readonly events: EventsServiceClient
  /** `WorkflowService` (the v0 admin service; still used for triggers). */
  readonly workflows: WorkflowServiceClient
  /** `v1.AdminService`. */
  readonly admin: AdminServiceClient
  /** `v1.V1Dispatcher` (durable tasks). */
  readonly v1Dispatcher: V1DispatcherClient
}

/**
 * @since 0.1.0
 * @category tags
 */
export class GrpcTransport extends Context.Tag("@effect-hatchet/sdk/GrpcTransport")<GrpcTransport, GrpcTransportShape>() {}

/**
 * Opens the channel for `config`; it is closed when the scope closes. Fails only if the TLS
 * material cannot be used.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: HatchetConfigShape): Effect.Effect<GrpcTransportShape, HatchetConfigError, Scope.Scope> =>
  internal.make(config)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<GrpcTransport, HatchetConfigError, HatchetConfig> = Layer.scoped(
  GrpcTransport,
  Effect.flatMap(HatchetConfig, make)
)

/**
 * The channel options used, from the configuration (exposed for inspection and tests).
 *
 * @since 0.1.0
 * @category utils
 */
export const channelOptions: (config: HatchetConfigShape) => ChannelOptions = internal.channelOptions

/**
 * A unary call as an Effect. `call` must pass the given options to the client method:
 * they carry the AbortSignal (interrupting the Effect cancels the RPC) and a trailer hook that
 * keeps `grpc-status-details-bin` in the error.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { GrpcTransport } from "@effect-hatchet/sdk"
 *
 * const engineVersion = Effect.gen(function*() {
 *   const transport = yield* GrpcTransport.GrpcTransport
 *   return yield* GrpcTransport.unary("/Dispatcher/GetVersion", (o) => transport.dispatcher.getVersion({}, o))
 * })
 * ```
 *
 * @since 0.1.0
 * @category calls
 */
export const unary: <A>(method: string, call: (options: CallOptions) => Promise<A>) => Effect.Effect<A, GrpcError> = internal.unary

/**
 * A server-streaming call as a Stream. It ends when the server ends the call; interrupting the
 * consumer aborts the call first (the server sees the cancellation), never waiting on nice-grpc's
 * iterator.
 *
 * @since 0.1.0
 * @category calls
 */
export const serverStream: <A>(
  method: string,
  call: (options: CallOptions) => AsyncIterable<A>
) => Stream.Stream<A, GrpcError> = internal.serverStream

/**
 * A bidirectional call: requests come from `input` (through a bounded buffer, default 16), the
 * responses are the Stream. Ending `input` half-closes the call; a failure of `input` fails the
 * Stream and cancels the call; interrupting the consumer cancels the call.
 *
 * @since 0.1.0
 * @category calls
 */
export const bidiStream: <I, A, E, R>(
  method: string,
  input: Stream.Stream<I, E, R>,
  call: (requests: AsyncIterable<I>, options: CallOptions) => AsyncIterable<A>,
  options?: { readonly bufferSize?: number | undefined }
) => Stream.Stream<A, GrpcError | E, R> = internal.bidiStream

/**
 * The wire path of a method of a generated service definition, e.g.
 * `methodPath(DispatcherDefinition, "listenV2")` is `/Dispatcher/ListenV2`.
 *
 * @since 0.1.0
 * @category utils
 */
export const methodPath: <
  D extends { readonly fullName: string; readonly methods: Record<string, { readonly name: string }> }
>(definition: D, method: keyof D["methods"] & string) => string = internal.methodPath

/**
 * Maps any failure of a call to a `GrpcError` (a nice-grpc `ClientError` keeps its code, path
 * and details).
 *
 * @since 0.1.0
 * @category errors
 */
export const toGrpcError: (method: string, cause: unknown, statusDetails?: Uint8Array) => GrpcError = internal.toGrpcError
