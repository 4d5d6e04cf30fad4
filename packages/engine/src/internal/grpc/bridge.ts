/**
 * Runs Effects from nice-grpc handlers (Promise and async-generator callbacks) through a runtime
 * captured when the server layer is built. Every fiber lives in a `FiberSet` of the engine's
 * scope, so closing the engine interrupts in-flight calls and ends open streams cleanly.
 *
 * - `unary`: one fiber per call (none for an `Exit`: `EngineCore.runNow`'s outcome of a hot call), interrupted when the client cancels (`context.signal`); an
 *   `EngineError` becomes a `ServerError` with its code and message (bounded: the one place every
 *   status message passes, see `boundStatusMessage`), a defect becomes INTERNAL "An internal
 *   error occurred." (as upstream's error interceptor).
 * - `stream`: opens a scoped resource yielding a `Mailbox`; the generator drains it in batches
 *   until the mailbox ends (clean end), fails (error status), the client cancels or the engine
 *   closes. Leaving the generator closes the scope (sessions and subscriptions are released).
 *
 * @internal
 */
import { Cause, Effect, Exit, FiberId, FiberSet, type Mailbox, Option, Runtime, type Scope } from "effect"
import { type Metadata, ServerError, Status } from "nice-grpc"
import { type EngineError, grpcStatusOf, statusDetailsOf } from "../domain/errors.js"

export interface Bridge {
  /**
   * Runs a unary handler. With the call's `trailer`, an error carrying status details sends them
   * as `grpc-status-details-bin` (what clients decode typed errors from).
   */
  readonly unary: <A>(effect: Effect.Effect<A, EngineError>, signal: AbortSignal, trailer?: Metadata) => Promise<A>
  readonly stream: <A>(
    open: Effect.Effect<Mailbox.ReadonlyMailbox<A, EngineError>, EngineError, Scope.Scope>,
    signal: AbortSignal
  ) => AsyncGenerator<A, void, undefined>
  readonly runSync: <A>(effect: Effect.Effect<A>) => A
}

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

  async function* stream<A>(
    open: Effect.Effect<Mailbox.ReadonlyMailbox<A, EngineError>, EngineError, Scope.Scope>,
    signal: AbortSignal
  ): AsyncGenerator<A, void, undefined> {
    let resolveOpened!: (mailbox: Mailbox.ReadonlyMailbox<A, EngineError>) => void
    const opened = new Promise<Mailbox.ReadonlyMailbox<A, EngineError>>((resolve) => {
      resolveOpened = resolve
    })
    // the holder keeps the stream's scope open until the generator is left
    const holder = runFork(Effect.scoped(Effect.flatMap(open, (mailbox) => {
      resolveOpened(mailbox)
      return Effect.never
    })))
    const holderExit = new Promise<Exit.Exit<never, EngineError>>((resolve) => holder.addObserver(resolve))
    try {
      const first = await Promise.race([opened, holderExit])
      if (Exit.isExit(first)) {
        if (Exit.isFailure(first) && !Cause.isInterruptedOnly(first.cause)) throw toServerError(first.cause)
        return
      }
      const mailbox = first
      for (;;) {
        if (signal.aborted) return
        const exit = await runExit(mailbox.takeAll, signal)
        if (Exit.isFailure(exit)) {
          if (Cause.isInterruptedOnly(exit.cause)) return
          throw toServerError(exit.cause)
        }
        const [messages, done] = exit.value
        for (const message of messages) yield message
        if (done) return
      }
    } finally {
      holder.unsafeInterruptAsFork(FiberId.none)
    }
  }

  return { unary, stream, runSync }
})
