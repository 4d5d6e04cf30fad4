/**
 * Runs Effects from nice-grpc handlers (Promise and async-generator callbacks) through a runtime
 * captured when the server layer is built. Every fiber lives in a `FiberSet` of the engine's
 * scope, so closing the engine interrupts in-flight calls and ends open streams cleanly.
 *
 * - `unary`: one fiber per call (none for an `Exit`: `EngineCore.runNow`'s outcome of a hot call), interrupted when the client cancels (`context.signal`); an
 *   `EngineError` becomes a `ServerError` with its code and message (bounded: the one place every
 *   status message passes, see `boundStatusMessage`), a defect becomes INTERNAL "An internal
 *   error occurred." (as upstream's error interceptor).
 * - `stream`: opens a scoped resource yielding a `StreamQueue`; its iterator (`StreamMessages`)
 *   drains it in batches until the queue ends (clean end), fails (error status), the client
 *   cancels or the engine closes. Leaving the iteration closes the scope (sessions and
 *   subscriptions are released). Draining is plain code (a Promise to wait on when the queue is
 *   empty), not a fiber per batch, and a batch's messages are handed out without an async
 *   generator's resumption each.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { type Metadata, ServerError, Status } from "nice-grpc"
import { type EngineError, grpcStatusOf, statusDetailsOf } from "../domain/errors.js"

export interface Bridge {
  /**
   * Runs a unary handler. With the call's `trailer`, an error carrying status details sends them
   * as `grpc-status-details-bin` (what clients decode typed errors from).
   */
  readonly unary: <A>(effect: Effect.Effect<A, EngineError>, signal: AbortSignal, trailer?: Metadata) => Promise<A>
  readonly stream: <A>(
    open: Effect.Effect<StreamQueue<A>, EngineError, Scope.Scope>,
    signal: AbortSignal
  ) => AsyncIterableIterator<A>
  readonly runSync: <A>(effect: Effect.Effect<A>) => A
}

/**
 * The messages of one server stream, offered by the engine's callbacks (a session's `send`, a
 * subscriber's) and drained by `Bridge.stream`: what a `Mailbox` did there, as plain code. Offers
 * after the end are refused (false); messages offered before it are still delivered.
 */
export class StreamQueue<A> {
  private items: Array<A> = []
  private ended: Exit.Exit<void, EngineError> | undefined
  private waiting: (() => void) | undefined

  /** Queues `message` unless the queue has ended. */
  unsafeOffer(message: A): boolean {
    if (this.ended !== undefined) return false
    this.items.push(message)
    this.wake()
    return true
  }

  /** Ends the queue: cleanly with `Exit.void`, or with an error status once drained. */
  unsafeDone(exit: Exit.Exit<void, EngineError>): boolean {
    if (this.ended !== undefined) return false
    this.ended = exit
    this.wake()
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

  /** @internal Resolves at the next offer, end or `wake`. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve
    })
  }

  /** @internal Resolves a pending `next`. */
  wake(): void {
    const waiting = this.waiting
    if (waiting !== undefined) {
      this.waiting = undefined
      waiting()
    }
  }
}

/** A new, empty `StreamQueue` (what a stream handler's `open` returns). */
export const makeQueue = <A>(): Effect.Effect<StreamQueue<A>> => Effect.sync(() => new StreamQueue<A>())

const internalError = () => new ServerError(Status.INTERNAL, "An internal error occurred.")

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

/** The status a domain failure reports, its message bounded for the trailer. */
const statusOf = (error: EngineError): ServerError => new ServerError(grpcStatusOf(error), boundStatusMessage(error.message))

/** The outcome of a stream's `next` once it is over. */
const over: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true })

/**
 * A server stream's messages for nice-grpc (`Bridge.stream`): opens the stream's resource in a
 * holder fiber at the first `next`, then hands out the queue's messages a batch at a time. A
 * message of a batch already taken is answered without waiting (a resolved promise), rather than
 * through an async generator's resumption per message (the listen stream carries a START per
 * run). Over, it releases the resource (the holder is interrupted): when the queue ends or fails,
 * the client cancels (`signal`), the engine closes (the holder ends), or nice-grpc calls `return`.
 */
class StreamMessages<A> implements AsyncIterableIterator<A> {
  private started = false
  private finished = false
  private holder: Fiber.RuntimeFiber<never, EngineError> | undefined
  private queue: StreamQueue<A> | undefined
  /** The batch being handed out, and the index of its next message. */
  private batch: ReadonlyArray<A> = []
  private index = 0
  private readonly onAbort = () => this.queue?.wake()

  constructor(
    private readonly open: Effect.Effect<StreamQueue<A>, EngineError, Scope.Scope>,
    private readonly signal: AbortSignal,
    private readonly runFork: <X, E>(effect: Effect.Effect<X, E>) => Fiber.RuntimeFiber<X, E>,
    private readonly toServerError: (cause: Cause.Cause<EngineError>) => Error
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<A> {
    return this
  }

  next(): Promise<IteratorResult<A, undefined>> {
    if (this.index < this.batch.length) return Promise.resolve({ value: this.batch[this.index++]!, done: false })
    return this.pull()
  }

  return(): Promise<IteratorResult<A, undefined>> {
    this.finish()
    return Promise.resolve(over)
  }

  throw(error: unknown): Promise<IteratorResult<A, undefined>> {
    this.finish()
    return Promise.reject(error)
  }

  /** Waits for the next batch (opening the stream first), or for the end. */
  private async pull(): Promise<IteratorResult<A, undefined>> {
    if (this.finished) return over
    try {
      if (!this.started) {
        this.started = true
        const opened = await this.start()
        if (opened !== undefined) {
          this.finish()
          return opened
        }
      }
      const queue = this.queue!
      for (;;) {
        if (this.signal.aborted || this.holder!.unsafePoll() !== null) {
          this.finish()
          return over
        }
        const messages = queue.takeAll()
        if (messages.length > 0) {
          this.batch = messages
          this.index = 1
          return { value: messages[0]!, done: false }
        }
        const exit = queue.exit
        if (exit !== undefined) {
          this.finish()
          if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) throw this.toServerError(exit.cause)
          return over
        }
        await queue.next()
      }
    } catch (error) {
      this.finish()
      throw error
    }
  }

  /** Opens the stream in its holder fiber; the end when it could not be opened (else undefined). */
  private async start(): Promise<IteratorResult<A, undefined> | undefined> {
    let resolveOpened!: (queue: StreamQueue<A>) => void
    const opened = new Promise<StreamQueue<A>>((resolve) => {
      resolveOpened = resolve
    })
    // the holder keeps the stream's scope open until the stream is over
    const holder = this.runFork(Effect.scoped(Effect.flatMap(this.open, (queue) => {
      resolveOpened(queue)
      return Effect.never
    })))
    this.holder = holder
    const holderExit = new Promise<Exit.Exit<never, EngineError>>((resolve) => holder.addObserver(resolve))
    this.signal.addEventListener("abort", this.onAbort, { once: true })
    const first = await Promise.race([opened, holderExit])
    if (Exit.isExit(first)) {
      if (Exit.isFailure(first) && !Cause.isInterruptedOnly(first.cause)) throw this.toServerError(first.cause)
      return over
    }
    const queue = first
    this.queue = queue
    // the engine closing (its scope interrupts the holder) ends the stream
    holder.addObserver(() => queue.wake())
    return undefined
  }

  /** Over: no more messages, the abort listener removed, the resource released. */
  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.batch = []
    this.index = 0
    this.signal.removeEventListener("abort", this.onAbort)
    this.holder?.unsafeInterruptAsFork(FiberId.none)
  }
}

export const make: Effect.Effect<Bridge, never, Scope.Scope> = Effect.gen(function*() {
  const runFork = yield* FiberSet.makeRuntime<never>()
  const runtime = yield* Effect.runtime<never>()
  const runSync = Runtime.runSync(runtime)

  /** Runs `effect` until it ends or `signal` aborts; resolves with its Exit. */
  const runExit = <A, E>(effect: Effect.Effect<A, E>, signal: AbortSignal): Promise<Exit.Exit<A, E>> =>
    new Promise((resolve) => {
      const fiber = runFork(effect)
      const onAbort = () => fiber.unsafeInterruptAsFork(FiberId.none)
      if (signal.aborted) onAbort()
      else signal.addEventListener("abort", onAbort, { once: true })
      fiber.addObserver((exit) => {
        signal.removeEventListener("abort", onAbort)
        resolve(exit)
      })
    })

  /** The error a failed call reports to the client. */
  const toServerError = (cause: Cause.Cause<EngineError>): Error => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) return statusOf(failure.value)
    if (Cause.isInterruptedOnly(cause)) return new ServerError(Status.CANCELLED, "request was canceled")
    runSync(Effect.logError("gRPC handler defect", cause))
    return internalError()
  }

  const unary = async <A>(effect: Effect.Effect<A, EngineError>, signal: AbortSignal, trailer?: Metadata): Promise<A> => {
    // an outcome already there (`EngineCore.runNow`) needs no fiber
    const exit = Exit.isExit(effect) ? effect as Exit.Exit<A, EngineError> : await runExit(effect, signal)
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    const details = trailer !== undefined && Option.isSome(failure) ? statusDetailsOf(failure.value) : undefined
    if (details !== undefined) trailer!.set("grpc-status-details-bin", details)
    throw toServerError(exit.cause)
  }

  const stream = <A>(
    open: Effect.Effect<StreamQueue<A>, EngineError, Scope.Scope>,
    signal: AbortSignal
  ): AsyncIterableIterator<A> => new StreamMessages(open, signal, runFork, toServerError)

  return { unary, stream, runSync }
})
