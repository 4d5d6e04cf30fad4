/**
 * The gRPC transport: one scoped nice-grpc channel, the bearer-token middleware, and helpers
 * that turn nice-grpc calls into interruptible Effects and Streams.
 *
 * @internal
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import type { ChannelInterface, connectivityState } from "@grpc/grpc-js"
import { Metadata as GrpcJsMetadata } from "@grpc/grpc-js"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { CallOptions, Channel, ChannelOptions, ClientMiddlewareCall } from "nice-grpc"
import { ChannelCredentials, ClientError, createChannel, createClientFactory, Metadata, Status } from "nice-grpc"
import { X509Certificate } from "node:crypto"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { HatchetConfigShape, TlsSettings } from "../HatchetConfig.js"
import { GrpcError } from "../HatchetError.js"
import { HatchetConfigError } from "./config.js"

// ---------------------------------------------------------------------------------------------
// Channel
// ---------------------------------------------------------------------------------------------

/**
 * The channel options of the official SDKs (`util/grpc-helpers.ts`), keepalive from the config,
 * and a subchannel pool of the channel's own: grpc-js otherwise shares one connection between
 * channels with the same target and options, and `resetConnection` could not get a fresh one.
 * The channel's own reconnect backoff follows the worker's defaults (250 ms, capped at 10 s):
 * grpc-js's (1 s growing to 120 s) would keep a channel failing calls for up to two minutes after
 * an engine that was down for a while is back, whatever the worker's backoff. Gzip as the
 * official SDKs when `grpcCompression` is `"gzip"` (its default for an engine not on loopback;
 * messages under `grpcCompressionMinBytes` are left uncompressed by the channel wrapper, per message).
 *
 * @internal
 */
export const channelOptions = (config: HatchetConfigShape): ChannelOptions => ({
  "grpc.ssl_target_name_override": config.serverName,
  "grpc.keepalive_time_ms": Duration.toMillis(config.grpcKeepaliveTime),
  "grpc.keepalive_timeout_ms": Duration.toMillis(config.grpcKeepaliveTimeout),
  "grpc.client_idle_timeout_ms": 60_000,
  "grpc.keepalive_permit_without_calls": 1,
  ...(config.grpcCompression === "gzip" ? { "grpc.default_compression_algorithm": 2 } : {}), // gzip
  "grpc.max_send_message_length": config.grpcMaxSendMessageLength,
  "grpc.max_receive_message_length": config.grpcMaxRecvMessageLength,
  "grpc.use_local_subchannel_pool": 1,
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 10_000
})

type GrpcCall = ReturnType<ChannelInterface["createCall"]>

/** grpc-js `WriteFlags.NoCompress`: this message goes uncompressed whatever the channel's algorithm. */
const NO_COMPRESS = 2

/**
 * A grpc-js channel whose underlying channel, and so its HTTP/2 connection, can be replaced:
 * clients keep calling it, new calls go to the current channel. `replace` fails the calls still
 * on the old connection with UNAVAILABLE (their owners retry, now on the new one) and closes the
 * old channel.
 */
class ReplaceableChannel implements ChannelInterface {
  private current: Channel
  /** The calls on the current channel that have not ended. */
  private calls = new Set<GrpcCall>()
  private closed = false
  /**
   * @param compressMinBytes messages (serialized) shorter than this are marked not to be
   * compressed (0: compress everything the channel's algorithm compresses)
   */
  constructor(private readonly open: () => Channel, private readonly compressMinBytes: number) {
    this.current = open()
  }
  replace(reason: string): void {
    if (this.closed) return
    const old = this.current
    const calls = this.calls
    this.current = this.open()
    this.calls = new Set()
    old.close()
    for (const call of calls) call.cancelWithStatus(Status.UNAVAILABLE, reason)
  }
  close(): void {
    this.closed = true
    this.current.close()
  }
  getTarget(): string {
    return this.current.getTarget()
  }
  getConnectivityState(tryToConnect: boolean): connectivityState {
    return this.current.getConnectivityState(tryToConnect)
  }
  watchConnectivityState(currentState: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    this.current.watchConnectivityState(currentState, deadline, callback)
  }
  getChannelzRef(): ReturnType<ChannelInterface["getChannelzRef"]> {
    return this.current.getChannelzRef()
  }
  createCall(...args: Parameters<ChannelInterface["createCall"]>): GrpcCall {
    const call = this.current.createCall(...args)
    this.calls.add(call)
    return new TrackedCall(call, this.calls, this.compressMinBytes)
  }
}

/**
 * A call of a `ReplaceableChannel`: the same call, forgotten by its channel once it ends. One
 * object with methods rather than an object of closures: Node's HTTP/2 keeps a finished stream,
 * and what its listeners reach (this call among them), through young-generation collections until
 * a full one, so every byte of it is copied twice and promoted (see `directUnary`).
 */
class TrackedCall implements GrpcCall {
  constructor(
    private readonly call: GrpcCall,
    private readonly calls: Set<GrpcCall>,
    private readonly compressMinBytes: number
  ) {}
  start(metadata: Parameters<GrpcCall["start"]>[0], listener: Parameters<GrpcCall["start"]>[1]): void {
    this.call.start(metadata, new ForgettingListener(listener, this.call, this.calls))
  }
  cancelWithStatus(status: Parameters<GrpcCall["cancelWithStatus"]>[0], details: string): void {
    this.call.cancelWithStatus(status, details)
  }
  getPeer(): string {
    return this.call.getPeer()
  }
  sendMessageWithContext(context: Parameters<GrpcCall["sendMessageWithContext"]>[0], message: Buffer): void {
    this.call.sendMessageWithContext(
      message.length < this.compressMinBytes ? { ...context, flags: (context.flags ?? 0) | NO_COMPRESS } : context,
      message
    )
  }
  startRead(): void {
    this.call.startRead()
  }
  halfClose(): void {
    this.call.halfClose()
  }
  getCallNumber(): number {
    return this.call.getCallNumber()
  }
  setCredentials(credentials: Parameters<GrpcCall["setCredentials"]>[0]): void {
    this.call.setCredentials(credentials)
  }
  getAuthContext(): ReturnType<GrpcCall["getAuthContext"]> {
    return this.call.getAuthContext()
  }
}

type CallListener = Parameters<GrpcCall["start"]>[1]

/**
 * A call's listener that removes the call from its channel's calls when its status arrives, and
 * then lets go of the listener it forwarded to: grpc-js's objects of a finished call (its HTTP/2
 * stream and the calls whose listeners the stream's reach) live on until a full collection (see
 * `TrackedCall`), and what the caller's listener reaches (grpc-js's client call, its interceptors,
 * the callback and its decoder) need not live with them.
 */
class ForgettingListener implements CallListener {
  private listener: CallListener | undefined
  private call: GrpcCall | undefined
  constructor(listener: CallListener, call: GrpcCall, private readonly calls: Set<GrpcCall>) {
    this.listener = listener
    this.call = call
  }
  onReceiveMetadata(metadata: Parameters<CallListener["onReceiveMetadata"]>[0]): void {
    this.listener?.onReceiveMetadata(metadata)
  }
  onReceiveMessage(message: Parameters<CallListener["onReceiveMessage"]>[0]): void {
    this.listener?.onReceiveMessage(message)
  }
  onReceiveStatus(status: Parameters<CallListener["onReceiveStatus"]>[0]): void {
    const listener = this.listener
    if (listener === undefined) return
    this.calls.delete(this.call!)
    this.listener = undefined
    this.call = undefined
    listener.onReceiveStatus(status)
  }
}

const toBuffer = (bytes: Uint8Array | undefined): Buffer | null =>
  bytes === undefined ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * `none` is plaintext; `tls` uses the CA file or the system roots; `mtls` adds the client pair.
 *
 * @internal
 */
export const credentials = (tls: TlsSettings): Effect.Effect<ChannelCredentials, HatchetConfigError> =>
  Effect.try({
    try: () => {
      // Node ignores a CA bundle that holds no certificate (then nothing is trusted): refuse it.
      if (tls.strategy !== "none" && tls.rootCa !== undefined) new X509Certificate(toBuffer(tls.rootCa)!)
      switch (tls.strategy) {
        case "none":
          return ChannelCredentials.createInsecure()
        case "tls":
          return ChannelCredentials.createSsl(toBuffer(tls.rootCa))
        case "mtls":
          return ChannelCredentials.createSsl(
            toBuffer(tls.rootCa),
            toBuffer(Redacted.value(tls.privateKey)),
            toBuffer(tls.certChain)
          )
      }
    },
    catch: (cause) =>
      new HatchetConfigError({
        reason: "InvalidTlsFile",
        message: `The TLS files (${
          tls.strategy === "none"
            ? ""
            : [tls.rootCaFile, tls.strategy === "mtls" ? tls.certFile : undefined, tls.strategy === "mtls" ? tls.keyFile : undefined]
              .filter(Boolean).join(", ")
        }) could not be used: ${cause instanceof Error ? cause.message : String(cause)}. They must be PEM files ` +
          `(a CA bundle; a certificate and its matching private key).`,
        cause
      })
  })

/**
 * Adds `authorization: bearer <token>` to every call, keeping the caller's other metadata.
 * (The engine compares the scheme case-insensitively; Hatchet's SDKs send it lowercase.)
 *
 * @internal
 */
export const bearerMiddleware = (token: Redacted.Redacted<string>) =>
  async function*<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: CallOptions) {
    const metadata = Metadata(options.metadata).set("authorization", `bearer ${Redacted.value(token)}`)
    return yield* call.next(call.request, { ...options, metadata })
  }

/**
 * One channel for every service client, closed when the scope closes.
 *
 * @internal
 */
export const make = (
  config: HatchetConfigShape
): Effect.Effect<GrpcTransportShape, HatchetConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const creds = yield* credentials(config.tls)
    const options = channelOptions(config)
    const replaceable = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new ReplaceableChannel(
          () => createChannel(config.hostPort, creds, options),
          config.grpcCompression === "gzip" ? config.grpcCompressionMinBytes : 0
        )
      ),
      (channel) => Effect.sync(() => channel.close())
    )
    // nice-grpc's clients only call the grpc-js `Channel` interface, which the wrapper implements
    const channel = replaceable as unknown as Channel
    const factory = createClientFactory().use(bearerMiddleware(config.token))
    const authorization = new GrpcJsMetadata()
    authorization.set("authorization", `bearer ${Redacted.value(config.token)}`)
    const call: GrpcTransportShape["call"] = (service, method, request, callOptions) =>
      directUnary(replaceable, authorization, service, method, request, callOptions)
    unsafeCalls.set(
      call,
      (service, method, request, callOptions, onExit) =>
        unsafeDirectUnary(replaceable, authorization, service, method, request, callOptions, onExit)
    )
    return {
      channel,
      call,
      stream: (service, method, request) => directServerStream(replaceable, authorization, service, method, request),
      streamForEach: (service, method, request, f) => directServerStreamForEach(replaceable, authorization, service, method, request, f),
      bidi: (service, method, input) => directBidiStream(replaceable, authorization, service, method, input),
      resetConnection: Effect.sync(() => replaceable.replace("the connection stalled: the channel moved to a new connection")),
      dispatcher: factory.create(DispatcherDefinition, channel),
      events: factory.create(EventsServiceDefinition, channel),
      workflows: factory.create(WorkflowServiceDefinition, channel),
      admin: factory.create(AdminServiceDefinition, channel),
      v1Dispatcher: factory.create(V1DispatcherDefinition, channel)
    }
  })

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** @internal */
export const isAbortError = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (u as { readonly name?: unknown }).name === "AbortError"

/**
 * A nice-grpc `ClientError` keeps its status, path and details; anything else (a serialization
 * failure, a middleware throwing) is `UNKNOWN` on the given method.
 *
 * @internal
 */
export const toGrpcError = (method: string, cause: unknown, statusDetails?: Uint8Array): GrpcError =>
  cause instanceof ClientError
    ? new GrpcError({
      method: cause.path,
      code: cause.code,
      details: cause.details,
      ...(statusDetails !== undefined ? { statusDetails } : {}),
      cause
    })
    : new GrpcError({
      method,
      code: Status.UNKNOWN,
      details: cause instanceof Error ? cause.message : String(cause),
      cause
    })

/** An aborted call is interruption (only our own interruption aborts a call), not a GrpcError. */
const fromCallFailure = (method: string, statusDetails?: () => Uint8Array | undefined) => (cause: unknown) =>
  isAbortError(cause) ? Effect.interrupt : Effect.fail(toGrpcError(method, cause, statusDetails?.()))

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/** @internal */
export const unary = <A>(method: string, call: (options: CallOptions) => Promise<A>): Effect.Effect<A, GrpcError> =>
  Effect.suspend(() => {
    let statusDetails: Uint8Array | undefined
    return Effect.tryPromise({
      // The signal fires when the fiber is interrupted; nice-grpc then cancels the call.
      try: (signal) =>
        call({
          signal,
          onTrailer: (trailer) => {
            const bin = trailer.get("grpc-status-details-bin")
            statusDetails = bin === undefined ? undefined : new Uint8Array(bin)
          }
        }),
      catch: (cause) => cause
    }).pipe(Effect.catchAll(fromCallFailure(method, () => statusDetails)))
  })

/**
 * A unary method of a generated (ts-proto) service definition.
 *
 * @internal
 */
export interface UnaryMethod<I, O> {
  readonly name: string
  readonly requestType: { readonly encode: (message: I) => { finish(): Uint8Array } }
  readonly responseType: { readonly decode: (input: Uint8Array) => O }
}

/** @internal */
export interface CallSettings {
  /** The call's deadline, from now (real time): past it the call fails with DEADLINE_EXCEEDED. */
  readonly timeout?: Duration.DurationInput | undefined
}

const toBytes = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A method's path on the wire and its codecs as grpc-js calls them. */
interface MethodCodec<I, O> {
  readonly service: string
  readonly path: string
  readonly serialize: (message: I) => Buffer
  readonly deserialize: (bytes: Buffer) => O
}

const codecs = new WeakMap<UnaryMethod<any, any>, MethodCodec<any, any>>()

/**
 * The path and codecs of `method`, made once per method (a call keeps them as long as grpc-js
 * keeps its objects, see `TrackedCall`: closures made per call would be copied and promoted).
 */
const codecOf = <I, O>(service: string, method: UnaryMethod<I, O>): MethodCodec<I, O> => {
  const known = codecs.get(method)
  if (known !== undefined && known.service === service) return known
  const codec: MethodCodec<I, O> = {
    service,
    path: `/${service}/${method.name}`,
    serialize: (message) => toBytes(method.requestType.encode(message).finish()),
    deserialize: (bytes) => method.responseType.decode(bytes)
  }
  codecs.set(method, codec)
  return codec
}

const notDecoded: unique symbol = Symbol("notDecoded")

/**
 * A response decoded, or `notDecoded` once `call` is cancelled with INTERNAL for it (as grpc-js
 * does with a response that does not decode).
 */
const decodeOrCancel = <O>(call: GrpcCall, decode: (bytes: Buffer) => O, bytes: Buffer): O | typeof notDecoded => {
  try {
    return decode(bytes)
  } catch (cause) {
    call.cancelWithStatus(
      Status.INTERNAL,
      `Response message parsing error: ${cause instanceof Error ? cause.message : String(cause)}`
    )
    return notDecoded
  }
}

/**
 * The listener of one `directUnary` call: keeps the (single) response, and on the call's status
 * resumes the caller once, then lets go of it (grpc-js keeps a call's objects, this listener among
 * them, as long as Node's HTTP/2 keeps the finished stream: through young-generation collections
 * until a full one, see `TrackedCall`; once called it holds nothing of the fiber, whose state
 * would be copied and promoted with it). What grpc-js's `Client.makeUnaryRequest` does with its
 * listener: a second response cancels the call with UNIMPLEMENTED, one that does not decode with
 * INTERNAL, OK without a response is UNIMPLEMENTED. Unlike grpc-js's client, it reads on after the
 * response, so that a second one is seen (grpc-js's client then waits for a status it holds back
 * behind the unread message).
 */
class UnaryListener<O> implements CallListener {
  private response: O | undefined
  private received = false
  constructor(
    private resume: ((exit: Exit.Exit<O, GrpcError>) => void) | undefined,
    private readonly codec: MethodCodec<any, O>,
    private call: GrpcCall | undefined
  ) {}
  onReceiveMetadata(): void {}
  onReceiveMessage(bytes: Buffer): void {
    const call = this.call
    if (call === undefined) return
    if (this.received) return call.cancelWithStatus(Status.UNIMPLEMENTED, "Too many responses received")
    const response = decodeOrCancel(call, this.codec.deserialize, bytes)
    if (response === notDecoded) return
    this.response = response
    this.received = true
    // read on: grpc-js holds the call's status back while a message is unread, so a second
    // response would otherwise leave the call waiting forever (grpc-js's own client reads once)
    call.startRead()
  }
  onReceiveStatus(status: Parameters<CallListener["onReceiveStatus"]>[0]): void {
    const done = this.resume
    const response = this.response
    this.resume = undefined
    this.response = undefined
    this.call = undefined
    if (done === undefined) return
    if (status.code === Status.OK) {
      return done(
        this.received
          ? Exit.succeed(response as O)
          : Exit.fail(statusError(this.codec.path, { code: Status.UNIMPLEMENTED, details: "No message received" }))
      )
    }
    done(Exit.fail(statusError(this.codec.path, status)))
  }
}

/**
 * A unary call made on the channel's grpc-js call directly, with the bearer metadata made once:
 * what `unary` does through nice-grpc (its middleware, an AbortSignal and a copy of the request
 * per call), for the worker's hot calls, and without grpc-js's client layer either (its
 * interceptor chain, an event emitter, and an `Error` made per call for its stack, which is most
 * of that layer's cost under a deep fiber stack). The same call goes on the wire. The request
 * must be a complete message (no defaults are filled in). Interrupting cancels the call; a
 * failure is a `GrpcError` as `unary` reports it (a request that does not encode fails with
 * INTERNAL before anything is sent).
 *
 * @internal
 */
export const directUnary = <I, O>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  request: I,
  settings?: CallSettings
): Effect.Effect<O, GrpcError> =>
  Effect.async<O, GrpcError>((resume) => {
    const cancel = unsafeDirectUnary(channel, metadata, service, method, request, settings, resume)
    return cancel === undefined ? undefined : Effect.sync(cancel)
  })

/**
 * `directUnary` started as it is called, without an effect: `onExit` gets the call's outcome
 * once, from grpc-js's callback (or at once, for a request that does not encode: then nothing is
 * returned). Returns what cancels the call (`onExit` then gets CANCELLED, as grpc-js reports it).
 *
 * @internal
 */
export const unsafeDirectUnary = <I, O>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  request: I,
  settings: CallSettings | undefined,
  onExit: (exit: Exit.Exit<O, GrpcError>) => void
): (() => void) | undefined => {
  const codec = codecOf(service, method)
  let message: Buffer
  try {
    message = codec.serialize(request)
  } catch (cause) {
    onExit(Exit.fail(
      statusError(codec.path, {
        code: Status.INTERNAL,
        details: `Request message serialization failure: ${cause instanceof Error ? cause.message : String(cause)}`
      })
    ))
    return undefined
  }
  const deadline = settings?.timeout === undefined ? Infinity : Date.now() + Duration.toMillis(settings.timeout)
  const call = channel.createCall(codec.path, deadline, undefined, null, undefined)
  // the channel's call copies the metadata before it adds its own headers
  call.start(metadata, new UnaryListener(onExit, codec, call))
  call.sendMessageWithContext({}, message)
  call.halfClose()
  call.startRead()
  return () => call.cancelWithStatus(Status.CANCELLED, "Cancelled on client")
}

/**
 * A unary call started as it is called, its outcome handed to `onExit` (see `unsafeDirectUnary`);
 * returns what cancels it, if it was started.
 *
 * @internal
 */
export type UnsafeUnary = <I, O>(
  service: string,
  method: UnaryMethod<I, O>,
  request: I,
  settings: CallSettings | undefined,
  onExit: (exit: Exit.Exit<O, GrpcError>) => void
) => (() => void) | undefined

/** The transports' `call`s that have a callback form: this module's. */
const unsafeCalls = new WeakMap<GrpcTransportShape["call"], UnsafeUnary>()

/**
 * The callback form of a transport's `call` (`unsafeDirectUnary` on its channel): found for a
 * transport this module made, not for another implementation of the shape.
 *
 * @internal
 */
export const unsafeCallOf = (call: GrpcTransportShape["call"]): UnsafeUnary | undefined => unsafeCalls.get(call)

/** A status other than OK as the `GrpcError` of the call `path`. */
const statusError = (path: string, status: { code: number; details: string; metadata?: GrpcJsMetadata | undefined }) => {
  const bin = status.metadata?.get("grpc-status-details-bin")[0]
  return new GrpcError({
    method: path,
    code: status.code,
    details: status.details,
    ...(bin instanceof Uint8Array ? { statusDetails: new Uint8Array(bin) } : {})
  })
}

/** Where `startReading` puts a call's responses and its end: a `Mailbox`, or an `Inbox`. */
interface Responses<O> {
  readonly unsafeOffer: (message: O) => unknown
  readonly unsafeDone: (exit: Exit.Exit<void, GrpcError>) => unknown
}

/**
 * Starts a call whose responses are decoded into `mailbox` as they arrive (the next one asked
 * for once one is in), ending it with the call's status: done on OK, a `GrpcError` otherwise (a
 * message that does not decode cancels the call with INTERNAL, as grpc-js does). Closing the
 * scope cancels the call. The caller sends the requests and asks for the first response.
 */
const startReading = <I, O>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  mailbox: Responses<O>
): Effect.Effect<GrpcCall, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { deserialize, path } = codecOf(service, method)
    const call = channel.createCall(path, Infinity, undefined, null, undefined)
    yield* Effect.addFinalizer(() => Effect.sync(() => call.cancelWithStatus(Status.CANCELLED, "Cancelled on client")))
    call.start(metadata.clone(), {
      onReceiveMetadata: () => {},
      onReceiveMessage: (bytes: Buffer) => {
        const message = decodeOrCancel(call, deserialize, bytes)
        if (message === notDecoded) return
        mailbox.unsafeOffer(message)
        call.startRead()
      },
      onReceiveStatus: (status) => {
        mailbox.unsafeDone(status.code === Status.OK ? Exit.void : Exit.fail(statusError(path, status)))
      }
    })
    return call
  })

/**
 * A server-streaming call made on the channel's grpc-js call directly, read in a plain loop: each
 * message is decoded as it arrives, put in a mailbox, and the next one asked for (what grpc-js's
 * own readable stream does, without the Node stream, nice-grpc's async generator and an Effect
 * per message). The Stream emits in chunks what arrived since the consumer last pulled. The
 * server decides how much it sends (for `ListenV2`, the worker's free slots and cancellations),
 * so the mailbox is unbounded. It ends when the server ends the call with OK, fails with a
 * `GrpcError` on any other status (a message that does not decode cancels the call with
 * INTERNAL, as grpc-js does), and closing its scope (interrupting the consumer) cancels the call.
 *
 * @internal
 */
export const directServerStream = <I, O>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  request: I
): Stream.Stream<O, GrpcError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<O, GrpcError>()
    const call = yield* startReading(channel, metadata, service, method, mailbox)
    call.sendMessageWithContext({}, codecOf(service, method).serialize(request))
    call.halfClose()
    call.startRead()
    return Mailbox.toStream(mailbox)
  }))

const noMessage: unique symbol = Symbol("noMessage")

/**
 * The responses of one call for the one fiber that handles them (`directServerStreamForEach`):
 * kept in arrival order until taken, then the call's end. The fiber suspends (one `Effect.async`)
 * only when nothing is there, and takes what arrived meanwhile one message after the other
 * without suspending again; nothing per message but the slot it is kept in, which is cleared as
 * it is taken (the queue lives as long as the call, and must not keep what it handed out).
 */
class Inbox<O> implements Responses<O> {
  private readonly messages: Array<O | undefined> = []
  private next = 0
  private end: Exit.Exit<void, GrpcError> | undefined = undefined
  private wake: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  /** Waits until a message or the end is there. */
  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.next < this.messages.length || this.end !== undefined) resume(Effect.void)
    else this.wake = resume
  })

  readonly unsafeOffer = (message: O): void => {
    this.messages.push(message)
    this.resume()
  }

  readonly unsafeDone = (exit: Exit.Exit<void, GrpcError>): void => {
    if (this.end !== undefined) return
    this.end = exit
    this.resume()
  }

  private resume(): void {
    const wake = this.wake
    if (wake === undefined) return
    this.wake = undefined
    wake(Effect.void)
  }

  /** The next message (its slot cleared), or `noMessage`. */
  take(): O | typeof noMessage {
    if (this.next === this.messages.length) return noMessage
    const message = this.messages[this.next] as O
    this.messages[this.next++] = undefined
    if (this.next === this.messages.length) {
      this.messages.length = 0
      this.next = 0
    }
    return message
  }

  /**
   * Runs `f` on every message in arrival order, each once the previous one's effect is done, and
   * then ends as the call ended; fails as soon as `f` fails. Made of effects built once: per
   * message only `f`'s effect and the step that follows it.
   */
  forEach<E, R>(f: (message: O) => Effect.Effect<void, E, R>): Effect.Effect<void, GrpcError | E, R> {
    const again = (): Effect.Effect<void, GrpcError | E, R> => loop
    const waitThenLoop = Effect.flatMap(this.wait, again)
    const loop: Effect.Effect<void, GrpcError | E, R> = Effect.suspend(() => {
      const message = this.take()
      if (message !== noMessage) return Effect.flatMap(f(message), again)
      return this.end ?? waitThenLoop
    })
    return loop
  }
}

/**
 * `directServerStream` consumed in place: `f` runs on each message in arrival order, in the
 * caller's fiber, each after the previous one's effect is done; what arrived while the fiber was
 * busy or waiting is handled one message after the other, without waiting in between. No Stream,
 * Mailbox or Chunk: the messages wait in a plain queue (see `Inbox`), and the fiber suspends only
 * when it is empty. It succeeds when the server ends the call with OK (after every message that
 * came before), fails with a `GrpcError` on any other status (a message that does not decode
 * cancels the call with INTERNAL, as grpc-js does) or with `f`'s failure, and interrupting it
 * cancels the call.
 *
 * @internal
 */
export const directServerStreamForEach = <I, O, E, R>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  request: I,
  f: (message: O) => Effect.Effect<void, E, R>
): Effect.Effect<void, GrpcError | E, R> =>
  Effect.scoped(Effect.suspend(() => {
    const inbox = new Inbox<O>()
    return Effect.zipRight(
      Effect.map(startReading(channel, metadata, service, method, inbox), (call) => {
        call.sendMessageWithContext({}, codecOf(service, method).serialize(request))
        call.halfClose()
        call.startRead()
      }),
      inbox.forEach(f)
    )
  }))

/**
 * A bidirectional call made on the channel's grpc-js call directly: each request `input` gives is
 * encoded and written, the next one taken once grpc-js has taken it (so a slow connection pushes
 * back on the producer), and ending `input` half-closes the call; responses are decoded as they
 * arrive, as in `directServerStream` (a mailbox, the next one asked for), without nice-grpc's
 * async generators, a queue and a Promise per request. A failure of `input` fails the Stream; a
 * status other than OK fails it with a `GrpcError`; closing its scope (interrupting the
 * consumer) cancels the call.
 *
 * @internal
 */
export const directBidiStream = <I, O, E, R>(
  channel: ChannelInterface,
  metadata: GrpcJsMetadata,
  service: string,
  method: UnaryMethod<I, O>,
  input: Stream.Stream<I, E, R>
): Stream.Stream<O, GrpcError | E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<O, GrpcError | E>()
    const call = yield* startReading(channel, metadata, service, method, mailbox)
    call.startRead()
    const { serialize } = codecOf(service, method)
    const write = (request: I) =>
      Effect.async<void>((resume) => {
        call.sendMessageWithContext({ callback: () => resume(Effect.void) }, serialize(request))
      })
    yield* input.pipe(
      Stream.runForEach(write),
      Effect.matchCauseEffect({
        onSuccess: () => Effect.sync(() => call.halfClose()),
        onFailure: (cause) => Cause.isInterruptedOnly(cause) ? Effect.void : mailbox.failCause(cause)
      }),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))

/**
 * Pulls one message at a time; the scope's finalizer aborts the call before anything else, so
 * an interrupted consumer never waits on the iterator (see effect-anchors §3(b)).
 */
const pullAll = <A>(
  method: string,
  iterable: AsyncIterable<A>
): Stream.Stream<A, GrpcError> => {
  const iterator = iterable[Symbol.asyncIterator]()
  return Stream.repeatEffectOption(
    Effect.tryPromise({ try: () => iterator.next(), catch: (cause) => cause }).pipe(
      Effect.catchAll((cause) => Effect.mapError(fromCallFailure(method)(cause), Option.some)),
      Effect.flatMap((result) => (result.done ? Effect.fail(Option.none()) : Effect.succeed(result.value)))
    )
  )
}

const abortOnClose = Effect.acquireRelease(
  Effect.sync(() => new AbortController()),
  (controller) => Effect.sync(() => controller.abort())
)

/** @internal */
export const serverStream = <A>(
  method: string,
  call: (options: CallOptions) => AsyncIterable<A>
): Stream.Stream<A, GrpcError> =>
  Stream.unwrapScoped(Effect.map(abortOnClose, (controller) => pullAll(method, call({ signal: controller.signal }))))

type Input<I> = { readonly _tag: "Value"; readonly value: I } | { readonly _tag: "End" }

/**
 * The request side is fed from `input` by a scoped fiber through a bounded queue (so a slow
 * server pushes back on the producer); ending `input` half-closes the call. A failure of
 * `input` fails the output stream and cancels the call.
 *
 * @internal
 */
export const bidiStream = <I, A, E, R>(
  method: string,
  input: Stream.Stream<I, E, R>,
  call: (requests: AsyncIterable<I>, options: CallOptions) => AsyncIterable<A>,
  options?: { readonly bufferSize?: number | undefined }
): Stream.Stream<A, GrpcError | E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<Input<I>>(options?.bufferSize ?? 16),
      Queue.shutdown
    )
    // Registered after the queue, so it runs first on close: the call is aborted before the
    // queue's takers are released.
    const controller = yield* abortOnClose
    const producer = yield* input.pipe(
      Stream.runForEach((value) => Queue.offer(queue, { _tag: "Value", value })),
      Effect.zipRight(Queue.offer(queue, { _tag: "End" })),
      Effect.interruptible,
      Effect.forkScoped
    )
    const runtime = yield* Effect.runtime<never>()
    const runExit = Runtime.runPromiseExit(runtime)
    const done: IteratorResult<I> = { done: true, value: undefined }
    const requests: AsyncIterable<I> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          runExit(Queue.take(queue)).then((exit) =>
            Exit.isSuccess(exit) && exit.value._tag === "Value" ? { done: false, value: exit.value.value } : done
          ),
        return: () => Promise.resolve(done)
      })
    }
    const inputFailure = producer.await.pipe(
      Effect.flatMap((exit) => Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? Effect.failCause(exit.cause) : Effect.never)
    )
    return pullAll(method, call(requests, { signal: controller.signal })).pipe(Stream.interruptWhen(inputFailure))
  }))

/**
 * `/<service full name>/<Method>`, the path on the wire.
 *
 * @internal
 */
export const methodPath = <D extends { readonly fullName: string; readonly methods: Record<string, { readonly name: string }> }>(
  definition: D,
  method: keyof D["methods"] & string
): string => `/${definition.fullName}/${definition.methods[method]!.name}`
