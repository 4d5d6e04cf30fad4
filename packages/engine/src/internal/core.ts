/**
 * The engine core: the domain state behind a `Context.Tag`, the single entry point through which
 * the gRPC and REST handlers (and tests) run domain operations, and the timer fiber that fires
 * deadlines (`domain/timers.ts`, plain data) through Effect's `Clock`, each through `fireTimer`.
 *
 * Every operation runs as `core.run((state, now) => ...)`: the current time is read from
 * `Clock`, the synchronous domain function runs atomically, queues that gained work or capacity
 * are assigned, and the records the operation changed go to the `EngineStore` (from the context;
 * none by default) before returning. An operation that refuses its input returns an `Either`
 * and runs with `runEither`, whose failure channel is the operation's typed `EngineError`s; an
 * `EngineError` a `run` operation still throws becomes the failure too, anything else thrown is a
 * defect.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { WorkerLiveness } from "../Engine.js"
import { assignDirty } from "./domain/assignment.js"
import { fireTimer } from "./domain/deadlines.js"
import { type EngineError, internal, isEngineError } from "./domain/errors.js"
import { EngineState, type RetentionPolicy } from "./domain/model.js"
import { runEventsGraceMs } from "./domain/publish.js"
import { ActionQueues } from "./domain/queue.js"
import { keepEverything } from "./domain/retention.js"
import { ensureTenant } from "./domain/tenants.js"
import { TimerQueue } from "./domain/timers.js"
import { encodeChanges, EngineStore, noop as noopStore } from "./store/EngineStore.js"

/** The longest sleep of the timer fiber (the most a JavaScript timer can wait). */
const maxSleepMs = 2 ** 31 - 1

export interface CoreOptions {
  /** Internal retries (dead worker, undeliverable assignment) before a task fails: 10 upstream. */
  readonly maxInternalRetries?: number | undefined
  /** `"heartbeat"` (default, as upstream) or `"connection"`: see `EngineOptions.workerLiveness`. */
  readonly workerLiveness?: WorkerLiveness | undefined
  /** Tenants to create at start. */
  readonly tenantIds?: ReadonlyArray<string> | undefined
  /** What the engine keeps; everything by default (`Engine.make` passes the development defaults). */
  readonly retention?: RetentionPolicy | undefined
  /** See `EngineOptions.runEventsGrace`; `runEventsGraceMs` (1 s) by default. */
  readonly runEventsGraceMs?: number | undefined
}

/**
 * No argument, unless the operation returns an `Either`: then an impossible one, so that `run`
 * does not accept an operation whose refusal it would return as a value (`runEither` fails with it).
 */
export type NotEither<A> = [A] extends [Either.Either<infer _R, infer _L>] ? [refusal: never] : []

export interface EngineCoreService {
  /** The state, for read-only inspection (tests, views). Mutate it only through `run`. */
  readonly state: EngineState
  /** Runs a synchronous domain operation at the current `Clock` time. */
  readonly run: <A>(operation: (state: EngineState, now: number) => A, ..._: NotEither<A>) => Effect.Effect<A, EngineError>
  /**
   * Runs a synchronous domain operation that returns its refusal as `Left` (typed): the effect
   * fails with it after the operation's changes are committed, as a thrown error's would be.
   */
  readonly runEither: <A, E extends EngineError>(
    operation: (state: EngineState, now: number) => Either.Either<A, E>
  ) => Effect.Effect<A, E | EngineError>
  /** `runNow` for an operation that returns an `Either` (the gRPC handlers' hot calls). */
  readonly runEitherNow: <A, E extends EngineError>(
    operation: (state: EngineState, now: number) => Either.Either<A, E>
  ) => Effect.Effect<A, E | EngineError>
  /** Like `run` for operations that cannot fail. */
  readonly runSync: <A>(operation: (state: EngineState, now: number) => A, ..._: NotEither<A>) => Effect.Effect<A>
  /**
   * Runs an operation now (the gRPC handlers' hot calls), at the current `Clock` time: its
   * outcome as an `Exit` when nothing is left to do, else an effect that commits its changes to
   * the store first. Only for effects run at once: the operation has run when this returns.
   */
  readonly runNow: <A>(operation: (state: EngineState, now: number) => A, ..._: NotEither<A>) => Effect.Effect<A, EngineError>
}

export class EngineCore extends Context.Tag("@effect-hatchet/engine/EngineCore")<EngineCore, EngineCoreService>() {}

/** Builds the core and starts its timer fiber in the current scope. */
export const make = (options: CoreOptions = {}) =>
  Effect.gen(function*() {
    const timers = new TimerQueue()
    const state = new EngineState(timers, new ActionQueues(), {
      maxInternalRetries: options.maxInternalRetries ?? 10,
      workerLiveness: options.workerLiveness ?? "heartbeat",
      retention: options.retention ?? keepEverything,
      runEventsGraceMs: options.runEventsGraceMs ?? runEventsGraceMs
    })
    const store = Option.getOrElse(yield* Effect.serviceOption(EngineStore), () => noopStore)
    state.recordsChanges = store.enabled
    /** Hands the operation's changes to the store (a store that keeps nothing: forgets them). */
    const commit: Effect.Effect<void, EngineError> = Effect.suspend(() => {
      if (!store.enabled) {
        state.changes.clear()
        return Effect.void
      }
      const changes = state.takeChanges()
      if (changes.isEmpty) return Effect.void
      return store.commit(encodeChanges(state, changes)).pipe(
        Effect.tapError((error) => Effect.logError("engine store failed", error)),
        Effect.mapError(() => internal())
      )
    })
    const start = yield* Clock.currentTimeMillis
    for (const tenantId of options.tenantIds ?? []) ensureTenant(state, tenantId, start)
    yield* Effect.orDie(commit)

    /** Runs `operation` at `now`, then commits; its outcome is read with `exitOf`. */
    const runAt = <R, A, E>(
      operation: (state: EngineState, now: number) => R,
      exitOf: (result: R) => Exit.Exit<A, E>,
      now: number
    ): Effect.Effect<A, E | EngineError> => {
      try {
        const result = operation(state, now)
        assignDirty(state, now)
        return Effect.zipRight(commit, exitOf(result))
      } catch (error) {
        assignDirty(state, now)
        return Effect.zipRight(commit, isEngineError(error) ? Effect.fail(error) : Effect.die(error))
      }
    }
    const run = <A>(operation: (state: EngineState, now: number) => A): Effect.Effect<A, EngineError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => runAt(operation, Exit.succeed, now))
    const clock = yield* Effect.clock
    /** Whether the operation's changes are committed already (no store: they are forgotten). */
    const committedNow = (): boolean => {
      if (store.enabled) return false
      state.changes.clear()
      return true
    }
    /** Runs `operation` now and reads its outcome with `exitOf` (no fiber, no intermediate Exit). */
    const runNowWith = <R, A, E>(
      operation: (state: EngineState, now: number) => R,
      exitOf: (result: R) => Exit.Exit<A, E>
    ): Effect.Effect<A, E | EngineError> => {
      const now = clock.unsafeCurrentTimeMillis()
      let exit: Exit.Exit<A, E | EngineError>
      try {
        exit = exitOf(operation(state, now))
        assignDirty(state, now)
      } catch (error) {
        assignDirty(state, now)
        exit = isEngineError(error) ? Exit.fail(error) : Exit.die(error)
      }
      return committedNow() ? exit : Effect.zipRight(commit, exit)
    }
    const runNow = <A>(operation: (state: EngineState, now: number) => A): Effect.Effect<A, EngineError> =>
      runNowWith(operation, Exit.succeed)
    const exitOfEither = <A, E>(result: Either.Either<A, E>): Exit.Exit<A, E> =>
      Either.isRight(result) ? Exit.succeed(result.right) : Exit.fail(result.left)
    const runEither = <A, E extends EngineError>(
      operation: (state: EngineState, now: number) => Either.Either<A, E>
    ): Effect.Effect<A, E | EngineError> => Effect.flatMap(Clock.currentTimeMillis, (now) => runAt(operation, exitOfEither, now))
    const runEitherNow = <A, E extends EngineError>(
      operation: (state: EngineState, now: number) => Either.Either<A, E>
    ): Effect.Effect<A, E | EngineError> => runNowWith(operation, exitOfEither)
    const runSync = <A>(operation: (state: EngineState, now: number) => A): Effect.Effect<A> => Effect.orDie(run(operation))

    // the timer fiber: sleep until the earliest deadline (or until an earlier one is added)
    const wake = yield* Effect.makeLatch(false)
    timers.onEarlier = () => wake.unsafeOpen()
    const fireDue = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        try {
          timers.runDue(now, (timer) => fireTimer(state, timer, now))
          assignDirty(state, now)
          return commit.pipe(Effect.catchAll(() => Effect.void), Effect.as(now))
        } catch (error) {
          return Effect.logError("engine timer failed", Cause.die(error)).pipe(Effect.zipRight(Effect.ignore(commit)), Effect.as(now))
        }
      }))
    const timerLoop = Effect.gen(function*() {
      for (;;) {
        yield* wake.close
        const now = yield* fireDue
        const next = timers.next()
        if (next === undefined) yield* wake.await
        // JavaScript timers cannot wait longer than 2^31 - 1 ms (Effect's live clock then never
        // wakes): a later deadline (a run scheduled weeks ahead) is reached in several sleeps
        else if (next > now) yield* Effect.raceFirst(Effect.sleep(Math.min(next - now, maxSleepMs)), wake.await)
        // a timer left for the next turn (the next slice of a retention sweep) is due already: the
        // event loop gets a turn first (a zero sleep, which `TestClock` does not hold back)
        else yield* Effect.sleep(0)
      }
    })
    yield* timerLoop.pipe(Effect.interruptible, Effect.forkScoped)

    // `NotEither` only guards the callers' types
    return EngineCore.of({
      state,
      run: run as EngineCoreService["run"],
      runEither,
      runEitherNow,
      runSync: runSync as EngineCoreService["runSync"],
      runNow: runNow as EngineCoreService["runNow"]
    })
  })

export const layer = (options: CoreOptions = {}): Layer.Layer<EngineCore> => Layer.scoped(EngineCore, make(options))
