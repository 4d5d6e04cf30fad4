/**
 * Serves the engine's gRPC services, written as Effects (`EffectService`), on grpc-js handlers
 * (`Bridge.serve`), through a runtime captured when the server layer is built. Every call is
 * authenticated first (`Auth.tenantOf`: UNAUTHENTICATED "invalid auth token" without a valid
 * token, before its handler runs). Every fiber lives in a `FiberSet` of the engine's scope, so
 * closing the engine interrupts in-flight calls and ends open streams cleanly.
 *
 * - unary: one fiber per call, none for an `Exit` (`EngineCore.runNow`'s outcome of a hot call:
 *   answered within grpc-js's handler), interrupted when the client cancels or the deadline
 *   passes (grpc-js's `cancelled`).
 * - server stream (and bidi, its requests read from the call as they come): opens a scoped
 *   resource yielding a `StreamQueue` in a holder fiber, then writes the queue's messages to the
 *   call a batch at a time (`StreamWriter`, plain code: one microtask per batch, none per
 *   message), waiting for `drain` when grpc-js's stream is full, until the queue ends (clean end),
 *   fails (error status), the client cancels or the engine closes (the holder ends: clean end).
 *   Over, the holder is interrupted (sessions and subscriptions are released).
 *
 * Errors (`statusOfCause`, the one place every status passes): an `EngineError` ends the call with
 * its code and message (bounded: see `boundStatusMessage`), and its status details, if it has
 * any, as `grpc-status-details-bin` (what clients decode typed errors from); a defect (a handler's
 * throw included) is INTERNAL "An internal error occurred." (as upstream's error interceptor); an
 * interruption CANCELLED "request was canceled".
 *
 * @internal
 */
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  sendUnaryData,
  ServerDuplexStream,
  ServerWritableStream,
  StatusObject,
  UntypedHandleCall,
  UntypedServiceImplementation
} from "@grpc/grpc-js"
import { Metadata, status as Status } from "@grpc/grpc-js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { type EngineError, grpcStatusOf, statusDetailsOf } from "../domain/errors.js"
import { type TenantContext, tenantOf, unauthenticated } from "./auth.js"

/** A unary method: its response, or the domain error it ends with. */
export type UnaryMethod<Req, Res> = (request: Req, context: TenantContext) => Effect.Effect<Res, EngineError>

/** A server-streaming method: opens the stream's resources, yielding the queue of its messages. */
export type ServerStreamMethod<Req, Res> = (
  request: Req,
  context: TenantContext
) => Effect.Effect<StreamQueue<Res>, EngineError, Scope.Scope>

/** A bidi-streaming method: as a server stream, with the client's requests as they come. */
export type BidiStreamMethod<Req, Res> = (
  requests: AsyncIterable<Req>,
  context: TenantContext
) => Effect.Effect<StreamQueue<Res>, EngineError, Scope.Scope>

/**
 * The Effect form of a generated (ts-proto, nice-grpc) service implementation type `S`: each
 * method with the same request and (partial) response types, as a `UnaryMethod`,
 * `ServerStreamMethod` or `BidiStreamMethod`.
 */
export type EffectService<S> = {
  readonly [K in keyof S]: S[K] extends (request: infer Req, context: any) => infer R ?
    R extends PromiseLike<infer Res> ? UnaryMethod<Req, Res>
    : R extends AsyncIterable<infer Res> ? Req extends AsyncIterable<infer Item> ? BidiStreamMethod<Item, Res>
      : ServerStreamMethod<Req, Res>
    : never
    : never
}

export interface Bridge {
  /**
   * The grpc-js handlers of a service: each of `definition`'s methods served by the method of
   * the same name of `implementation`, after authentication.
   */
  readonly serve: (
    definition: { readonly [name: string]: MethodDefinition<unknown, unknown> },
    implementation: object
  ) => UntypedServiceImplementation
}

/**
 * The messages of one server stream, offered by the engine's callbacks (a session's `send`, a
 * subscriber's) and written by `Bridge.serve`'s stream writer: what a `Mailbox` did there, as
 * plain code. Offers after the end are refused (false); messages offered before it are still
 * delivered.
 */
export class StreamQueue<A> {
  private items: Array<A> = []
  private ended: Exit.Exit<void, EngineError> | undefined
  private listener: (() => void) | undefined

  /** Queues `message` unless the queue has ended. */
  unsafeOffer(message: A): boolean {
    if (this.ended !== undefined) return false
    this.items.push(message)
    this.listener?.()
    return true
  }

  /** Ends the queue: cleanly with `Exit.void`, or with an error status once drained. */
  unsafeDone(exit: Exit.Exit<void, EngineError>): boolean {
    if (this.ended !== undefined) return false
    this.ended = exit
    this.listener?.()
    return true
  }

  /** Ends the queue cleanly. */
  readonly end: Effect.Effect<boolean> = Effect.sync(() => this.unsafeDone(Exit.void))

  /** @internal Everything queued, in order (empty when nothing is). */
  takeAll(): ReadonlyArray<A> {
    const items = this.items
    if (items.length > 0) this.items = []
    return items
  }

  /** @internal How the queue ended, once it has. */
  get exit(): Exit.Exit<void, EngineError> | undefined {
    return this.ended
  }

  /**
   * @internal Calls `listener` at each offer and at the end (or no more, with undefined). It
   * runs inside the engine's operation that offered: it must only schedule its work.
   */
  listen(listener: (() => void) | undefined): void {
    this.listener = listener
  }
}

/** A new, empty `StreamQueue` (what a stream handler's `open` returns). */
export const makeQueue = <A>(): Effect.Effect<StreamQueue<A>> => Effect.sync(() => new StreamQueue<A>())

/**
 * The most a status message takes in its `grpc-message` trailer, percent-encoded as grpc-js
 * writes it (`encodeURI`). A trailer is one HTTP/2 header block: Node's HTTP/2 (nghttp2) refuses a
 * header field whose encoded value passes 64 KiB as a connection error, and gRPC C-core clients
 * refuse metadata past 8 KiB, so a message that echoes a caller's 100 KB name must be cut well
 * before that (see `boundStatusMessage`).
 */
export const maxStatusMessageBytes = 4096

/** ASCII that `encodeURI` leaves as is; every other UTF-8 byte becomes `%XX`. */
const uriSafe = /[A-Za-z0-9\-_.!~*'();/?:@&=+$,#]/

/** The length `encodeURI` gives one code point. */
const encodedLength = (codePoint: number): number =>
  codePoint < 0x80
    ? (uriSafe.test(String.fromCharCode(codePoint)) ? 1 : 3)
    : codePoint < 0x800
    ? 6
    : codePoint < 0x10000
    ? 9
    : 12

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

const truncationNote = (omitted: number) => ` ... (${omitted} more characters)`

/**
 * A status message fit for a trailer: lone surrogates replaced (grpc-js's `encodeURI` throws on
 * them, and the throw escapes the server), and, past `maxBytes` once encoded, cut at a code point
 * with a note of how much was left out. Upstream echoes whatever it was sent (a name, an id, an
 * expression); this keeps the start of it, which is what the caller needs to recognize.
 */
export const boundStatusMessage = (message: string, maxBytes = maxStatusMessageBytes): string => {
  const text = message.replace(loneSurrogate, "\uFFFD")
  // at most 9 encoded bytes per UTF-16 unit (a surrogate pair: 12 for two)
  if (text.length * 9 <= maxBytes) return text
  let total = 0
  let codePoints = 0
  for (const char of text) {
    total += encodedLength(char.codePointAt(0)!)
    codePoints++
  }
  if (total <= maxBytes) return text
  const budget = maxBytes - truncationNote(codePoints).length * 3
  let used = 0
  let kept = 0
  let end = 0
  for (const char of text) {
    const length = encodedLength(char.codePointAt(0)!)
    if (used + length > budget) break
    used += length
    kept++
    end += char.length
  }
  return text.slice(0, end) + truncationNote(codePoints - kept)
}

const internalError: Pick<StatusObject, "code" | "details"> = Object.freeze({
  code: Status.INTERNAL,
  details: "An internal error occurred."
})

const cancelled: Pick<StatusObject, "code" | "details"> = Object.freeze({
  code: Status.CANCELLED,
  details: "request was canceled"
})

/** A status a call ends with: its code, message and trailers (status details), as grpc-js takes it. */
type CallStatus = Pick<StatusObject, "code" | "details"> & { readonly metadata?: Metadata }

/** The status a domain failure reports: its message bounded, its status details in the trailers. */
const statusOf = (error: EngineError): CallStatus => {
  const details = statusDetailsOf(error)
  const status = { code: grpcStatusOf(error), details: boundStatusMessage(error.message) }
  if (details === undefined) return status
  const metadata = new Metadata()
  metadata.add("grpc-status-details-bin", Buffer.from(details))
  return { ...status, metadata }
}

/** A call's writable side and events, as grpc-js's server streams have them. */
type StreamCall = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>

const noMessages: ReadonlyArray<never> = []

/**
 * Writes a server stream's messages to its grpc-js call (`Bridge.serve`): opens the stream's
 * resource in a holder fiber, then, one microtask after the queue's first offer of a batch, writes
 * everything queued, in order, straight to the call; when grpc-js's stream is full (`write` says
 * so), the rest waits for `drain`. Over, it releases the resource (the holder is interrupted):
 * when the queue ends (after its messages: a clean end, or its error's status) or fails to open
 * (its error's status), the client cancels (nothing more is written), or the engine closes (the
 * holder ends: a clean end).
 */
class StreamWriter<A> {
  private finished = false
  private holder: Fiber.RuntimeFiber<never, EngineError> | undefined
  private queue: StreamQueue<A> | undefined
  /** The batch being written, and the index of its next message. */
  private batch: ReadonlyArray<A> = noMessages
  private index = 0
  private scheduled = false
  private draining = false
  private readonly pump = () => {
    this.scheduled = false
    this.write()
  }
  private readonly schedule = () => {
    if (this.scheduled || this.finished) return
    this.scheduled = true
    queueMicrotask(this.pump)
  }
  private readonly onDrain = () => {
    this.draining = false
    this.write()
  }
  private readonly onCancelled = () => this.finish()
  private readonly onHolderExit = (exit: Exit.Exit<never, EngineError>) => {
    if (this.finished) return
    const opened = this.queue !== undefined
    this.finish()
    if (!opened && Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) this.fail(exit.cause)
    else this.call.end()
  }

  constructor(
    private readonly call: StreamCall,
    private readonly open: Effect.Effect<StreamQueue<A>, EngineError, Scope.Scope>,
    private readonly runFork: <X, E>(effect: Effect.Effect<X, E>) => Fiber.RuntimeFiber<X, E>,
    private readonly statusOfCause: (cause: Cause.Cause<EngineError>) => CallStatus
  ) {}

  /** Opens the stream in its holder fiber, which keeps its scope open until the stream is over. */
  start(): void {
    if (this.call.cancelled) return
    this.call.once("cancelled", this.onCancelled)
    const holder = this.runFork(Effect.scoped(Effect.flatMap(this.open, (queue) => {
      this.opened(queue)
      return Effect.never
    })))
    if (this.finished) holder.unsafeInterruptAsFork(FiberId.none)
    else this.holder = holder
    holder.addObserver(this.onHolderExit)
  }

  private opened(queue: StreamQueue<A>): void {
    if (this.finished) return
    this.queue = queue
    queue.listen(this.schedule)
    this.schedule()
  }

  /** Writes what is queued until grpc-js's stream is full; ends the call once the queue has ended. */
  private write(): void {
    if (this.finished || this.draining) return
    const queue = this.queue!
    for (;;) {
      while (this.index < this.batch.length) {
        const message = this.batch[this.index++]
        if (!this.call.write(message)) {
          if (this.finished) return
          this.draining = true
          this.call.once("drain", this.onDrain)
          return
        }
        if (this.finished) return
      }
      const messages = queue.takeAll()
      if (messages.length === 0) break
      this.batch = messages
      this.index = 0
    }
    this.batch = noMessages
    this.index = 0
    const exit = queue.exit
    if (exit === undefined) return
    this.finish()
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) this.fail(exit.cause)
    else this.call.end()
  }

  private fail(cause: Cause.Cause<EngineError>): void {
    this.call.emit("error", this.statusOfCause(cause))
  }

  /** Over: no more writes, the listeners removed, the resource released. */
  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.batch = noMessages
    this.index = 0
    this.call.removeListener("cancelled", this.onCancelled)
    if (this.draining) this.call.removeListener("drain", this.onDrain)
    this.queue?.listen(undefined)
    this.holder?.unsafeInterruptAsFork(FiberId.none)
  }
}

export const make = (authenticate: (token: string) => string | undefined): Effect.Effect<Bridge, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runFork = yield* FiberSet.makeRuntime<never>()
    const runtime = yield* Effect.runtime<never>()
    const runSync = Runtime.runSync(runtime)

    /** The status a failed call ends with (the module's "Errors"). */
    const statusOfCause = (cause: Cause.Cause<EngineError>): CallStatus => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) return statusOf(failure.value)
      if (Cause.isInterruptedOnly(cause)) return cancelled
      runSync(Effect.logError("gRPC handler defect", cause))
      return internalError
    }

    /** Answers a unary call with its outcome. */
    const reply = (exit: Exit.Exit<unknown, EngineError>, callback: sendUnaryData<unknown>) => {
      if (Exit.isSuccess(exit)) callback(null, exit.value)
      else callback(statusOfCause(exit.cause))
    }

    const unary = (method: UnaryMethod<unknown, unknown>): handleUnaryCall<unknown, unknown> => (call, callback) => {
      const tenantId = tenantOf(authenticate, call.metadata)
      if (tenantId === undefined) return callback(unauthenticated)
      let effect: Effect.Effect<unknown, EngineError>
      try {
        effect = method(call.request, { tenantId })
      } catch (defect) {
        return reply(Exit.die(defect), callback)
      }
      // an outcome already there (`EngineCore.runNow`) needs no fiber
      if (Exit.isExit(effect)) return reply(effect as Exit.Exit<unknown, EngineError>, callback)
      const fiber = runFork(effect)
      const onCancelled = () => fiber.unsafeInterruptAsFork(FiberId.none)
      if (call.cancelled) onCancelled()
      else call.once("cancelled", onCancelled)
      fiber.addObserver((exit) => {
        call.removeListener("cancelled", onCancelled)
        reply(exit, callback)
      })
    }

    const stream = (call: StreamCall, open: (context: TenantContext) => Effect.Effect<StreamQueue<unknown>, EngineError, Scope.Scope>) => {
      const tenantId = tenantOf(authenticate, call.metadata)
      if (tenantId === undefined) {
        call.emit("error", unauthenticated)
        return
      }
      const context: TenantContext = { tenantId }
      new StreamWriter(call, Effect.suspend(() => open(context)), runFork, statusOfCause).start()
    }

    const serverStream = (method: ServerStreamMethod<unknown, unknown>): handleServerStreamingCall<unknown, unknown> => (call) =>
      stream(call, (context) => method(call.request, context))

    // the requests are read without destroying the call when they end (its responses may go on)
    const bidiStream = (method: BidiStreamMethod<unknown, unknown>): handleBidiStreamingCall<unknown, unknown> => (call) =>
      stream(call, (context) => method(call.iterator({ destroyOnReturn: false }), context))

    const serve: Bridge["serve"] = (definition, implementation) => {
      const handlers: Record<string, UntypedHandleCall> = {}
      for (const [name, method] of Object.entries(definition)) {
        const handler = (implementation as Record<string, unknown>)[name]
        if (method.requestStream && !method.responseStream) throw new Error(`client-streaming method ${method.path} is not served`)
        if (!method.responseStream) handlers[name] = unary(handler as UnaryMethod<unknown, unknown>)
        else if (method.requestStream) handlers[name] = bidiStream(handler as BidiStreamMethod<unknown, unknown>)
        else handlers[name] = serverStream(handler as ServerStreamMethod<unknown, unknown>)
      }
      return handlers
    }

    return { serve }
  })
