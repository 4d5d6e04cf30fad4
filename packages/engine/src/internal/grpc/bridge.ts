/**
 * Runs Effects from nice-grpc handlers (Promise and async-generator callbacks) through a runtime
 * captured when the server layer is built. Every fiber lives in a `FiberSet` of the engine's
 * scope, so closing the engine interrupts in-flight calls and ends open streams cleanly.
 *
 * - `unary`: one fiber per call, interrupted when the client cancels (`context.signal`); an
 *   `EngineError` becomes a `ServerError` with its code and message, a defect becomes
 *   INTERNAL "An internal error occurred." (as upstream's error interceptor).
 * - `stream`: opens a scoped resource yielding a `Mailbox`; the generator drains it in batches
 *   until the mailbox ends (clean end), fails (error status), the client cancels or the engine
 *   closes. Leaving the generator closes the scope (sessions and subscriptions are released).
 *
 * @internal
 */
import { Cause, Effect, Exit, FiberId, FiberSet, type Mailbox, Option, Runtime, type Scope } from "effect"
import { ServerError, Status } from "nice-grpc"
import { EngineError } from "../domain/errors.js"

export interface Bridge {
  readonly unary: <A>(effect: Effect.Effect<A, EngineError>, signal: AbortSignal) => Promise<A>
  readonly stream: <A>(
    open: Effect.Effect<Mailbox.ReadonlyMailbox<A, EngineError>, EngineError, Scope.Scope>,
    signal: AbortSignal
  ) => AsyncGenerator<A, void, undefined>
  readonly runSync: <A>(effect: Effect.Effect<A>) => A
}

const internalError = () => new ServerError(Status.INTERNAL, "An internal error occurred.")

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
    if (Option.isSome(failure)) return new ServerError(failure.value.code, failure.value.message)
    if (Cause.isInterruptedOnly(cause)) return new ServerError(Status.CANCELLED, "request was canceled")
    runSync(Effect.logError("gRPC handler defect", cause))
    return internalError()
  }

  const unary = async <A>(effect: Effect.Effect<A, EngineError>, signal: AbortSignal): Promise<A> => {
    const exit = await runExit(effect, signal)
    if (Exit.isSuccess(exit)) return exit.value
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

/** Turns a domain failure into the gRPC error thrown from a middleware. */
export const serverErrorOf = (error: EngineError): ServerError => new ServerError(error.code, error.message)
