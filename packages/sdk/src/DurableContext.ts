/**
 * The service a durable task's handler reads with `yield* DurableContext`: what it may do that
 * survives a worker's death, recorded in the task's durable event log on the engine (Hatchet's
 * durable execution, the `V1Dispatcher/DurableTask` protocol).
 *
 * - `sleep` / `sleepUntil`: wait on the engine's clock (a week, if need be); the worker may die
 *   or shut down meanwhile.
 * - `waitForEvent` / `waitFor`: wait for a pushed event (decoded with a Schema), or any
 *   `Condition` (sleeps, events, `or` groups).
 * - `memo`: run an effect once; its result, encoded with a Schema, is kept in the log.
 * - `now`: the time, memoized (the same on every replay).
 * - `runChild` / `runChildren`: spawn child runs and await their typed results.
 *
 * Each call takes the next position of the log. When the task runs again (on another worker after
 * a crash, after an eviction, or a retry) its handler runs from the start, and every call the log
 * already holds is answered from it at once: memoized effects are not run again, waits that were
 * met return their data, children are not spawned again. The handler must therefore make the same
 * durable calls in the same order on every run; a different call at a recorded position fails with
 * `NonDeterminismError`.
 *
 * While a durable task waits, it holds a slot of the worker's durable pool (`durableSlots`), not
 * of its default slots. When the worker shuts down, its waiting durable tasks are evicted (handed
 * back to the engine, not failed); the engine restores each on a worker once its wait is over.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { DurableContext, Task } from "@effect-hatchet/sdk"
 *
 * // a stand-in for the application's mailer
 * const sendWelcome = (userId: string) => Effect.log(`welcome, ${userId}`)
 *
 * const Approval = Schema.Struct({ approved: Schema.Boolean })
 *
 * export const Onboard = Task.durable("onboard", {
 *   input: Schema.Struct({ userId: Schema.String }),
 *   output: Schema.Struct({ approved: Schema.Boolean })
 * })
 *
 * export const OnboardLive = Onboard.toLayer((input) =>
 *   Effect.gen(function*() {
 *     const ctx = yield* DurableContext.DurableContext
 *     yield* ctx.memo("welcome", sendWelcome(input.userId), Schema.Void)
 *     yield* ctx.sleep("3 days")
 *     return yield* ctx.waitForEvent(`approval:${input.userId}`, { schema: Approval })
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Eff from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Condition from "./Condition.js"
import type { RunOptions } from "./Hatchet.js"
import type { Definition, Failure, Input, Result } from "./Workflow.js"

/**
 * A durable call at a position of the log whose recorded call is another one (another kind, memo
 * key, wait or child): the handler did not make the same durable calls in the same order as when
 * the log was written. `message` is the engine's ("expected: ... received: ...").
 *
 * @since 0.1.0
 * @category errors
 */
export class NonDeterminismError extends Data.TaggedError("NonDeterminismError")<{
  readonly taskRunExternalId: string
  readonly invocationCount: number
  /** The position of the log (1 for the first durable call of a run). */
  readonly nodeId: number
  readonly message: string
}> {}

/**
 * A durable call failed for another reason:
 *
 * - `Disconnected`: the durable stream to the engine broke before the engine answered (the task
 *   fails, and its retry replays the log);
 * - `InvalidArgument`: a duration, condition or input the call cannot send (nothing was sent);
 * - `InvalidPayload`: what the log holds does not decode with the Schema given (a memo's result,
 *   an event's payload, a child's output);
 * - `Engine`: the engine answered the call with an error.
 *
 * @since 0.1.0
 * @category errors
 */
export class DurableTaskError extends Data.TaggedError("DurableTaskError")<{
  readonly reason: "Disconnected" | "InvalidArgument" | "InvalidPayload" | "Engine"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * What a durable call may fail with (besides a child's own failure, for `runChild`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DurableError = NonDeterminismError | DurableTaskError

/**
 * Options of `waitForEvent`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitForEventOptions<A, I> {
  /** Decodes the event's payload. */
  readonly schema: Schema.Schema<A, I, never>
  /**
   * A CEL expression over the event's payload (`input`): only an event it accepts ends the wait.
   * One that does not compile (in Hatchet's condition environment) fails the call with
   * `InvalidArgument` before anything is sent: Hatchet would record it and never match it.
   */
  readonly expression?: string | undefined
  /**
   * Events pushed this long before the wait began count too (the engine looks back over stored
   * events). Hatchet only looks back over events pushed with a `scope`: give the same `scope`.
   */
  readonly lookback?: Duration.DurationInput | undefined
  /** Only events pushed with this scope (`Hatchet.push(..., { scope })`) end the wait. */
  readonly scope?: string | undefined
}

/**
 * What `waitFor` returns: the data of each condition that held, by its data key (an event's
 * payload under the event key, `{ sleep_duration }` under `sleep-<duration>`, or the `dataKey`
 * given to the condition).
 *
 * @since 0.1.0
 * @category models
 */
export type WaitResult = Readonly<Record<string, unknown>>

/**
 * @since 0.1.0
 * @category models
 */
export interface DurableContextShape {
  /** The invocation of the task running now: 1 on its first run, one more on each replay. */
  readonly invocationCount: number
  /** Waits `duration` on the engine's clock (whole seconds or finer, as Go durations). */
  readonly sleep: (duration: Duration.DurationInput) => Effect.Effect<void, DurableError>
  /** Waits until `at` (from the memoized `now`: a replay wakes at the same time). */
  readonly sleepUntil: (at: Date) => Effect.Effect<void, DurableError>
  /**
   * Waits for an event pushed with `key` (namespaced as any event key) while the task waits, or
   * within `lookback` before it began, and returns its payload decoded with `schema`.
   */
  readonly waitForEvent: <A, I>(key: string, options: WaitForEventOptions<A, I>) => Effect.Effect<A, DurableError>
  /**
   * Waits until the conditions hold (a list must all hold; `Condition.or` groups any one of),
   * and returns their data by data key. Parent conditions have no meaning here and are refused,
   * and so is an event condition whose CEL does not compile (`InvalidArgument`, nothing sent).
   */
  readonly waitFor: (conditions: Condition.Conditions<never>) => Effect.Effect<WaitResult, DurableError>
  /** The current time, memoized: a replay gets the time of the first run. */
  readonly now: Effect.Effect<Date, DurableError>
  /**
   * Runs `effect` once for this run of the task and `key`: its result is encoded with `schema`
   * and kept in the log; a replay decodes it instead of running `effect`. A failure of `effect`
   * is not recorded (a replay runs it again).
   */
  readonly memo: <A, I, E, R>(
    key: string,
    effect: Effect.Effect<A, E, R>,
    schema: Schema.Schema<A, I, never>
  ) => Effect.Effect<A, E | DurableError, R>
  /**
   * Spawns a child run of `definition` and awaits its result, decoded as `Hatchet.run` decodes
   * it; a failed child fails with its typed error or `TaskFailed`. The spawn is in the log: a
   * replay gets the same child (and its result once it finished). `key` names the child among
   * its siblings instead of its position.
   */
  readonly runChild: <D extends Definition>(
    definition: D,
    input: Input<D>,
    options?: ChildOptions
  ) => Effect.Effect<Result<D>, Failure<D> | DurableError>
  /** Spawns several children of `definition` in one log entry each, and awaits all their results, in order. */
  readonly runChildren: <D extends Definition>(
    definition: D,
    inputs: ReadonlyArray<Input<D>>,
    options?: ChildOptions
  ) => Effect.Effect<ReadonlyArray<Result<D>>, Failure<D> | DurableError>
}

/**
 * Options of a child spawned from a durable task.
 *
 * @since 0.1.0
 * @category models
 */
export type ChildOptions = Pick<RunOptions, "additionalMetadata" | "priority" | "key" | "sticky" | "desiredWorkerLabels">

/**
 * @since 0.1.0
 * @category tags
 */
export class DurableContext extends Context.Tag("@effect-hatchet/sdk/DurableContext")<DurableContext, DurableContextShape>() {}

/**
 * @since 0.1.0
 * @category accessors
 */
export const sleep = (duration: Duration.DurationInput): Effect.Effect<void, DurableError, DurableContext> =>
  Eff.flatMap(DurableContext, (ctx) => ctx.sleep(duration))

/**
 * @since 0.1.0
 * @category accessors
 */
export const sleepUntil = (at: Date): Effect.Effect<void, DurableError, DurableContext> =>
  Eff.flatMap(DurableContext, (ctx) => ctx.sleepUntil(at))

/**
 * @since 0.1.0
 * @category accessors
 */
export const waitForEvent = <A, I>(
  key: string,
  options: WaitForEventOptions<A, I>
): Effect.Effect<A, DurableError, DurableContext> => Eff.flatMap(DurableContext, (ctx) => ctx.waitForEvent(key, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const waitFor = (conditions: Condition.Conditions<never>): Effect.Effect<WaitResult, DurableError, DurableContext> =>
  Eff.flatMap(DurableContext, (ctx) => ctx.waitFor(conditions))

/**
 * @since 0.1.0
 * @category accessors
 */
export const now: Effect.Effect<Date, DurableError, DurableContext> = Eff.flatMap(DurableContext, (ctx) => ctx.now)

/**
 * @since 0.1.0
 * @category accessors
 */
export const memo = <A, I, E, R>(
  key: string,
  effect: Effect.Effect<A, E, R>,
  schema: Schema.Schema<A, I, never>
): Effect.Effect<A, E | DurableError, R | DurableContext> => Eff.flatMap(DurableContext, (ctx) => ctx.memo(key, effect, schema))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runChild = <D extends Definition>(
  definition: D,
  input: Input<D>,
  options?: ChildOptions
): Effect.Effect<Result<D>, Failure<D> | DurableError, DurableContext> =>
  Eff.flatMap(DurableContext, (ctx) => ctx.runChild(definition, input, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runChildren = <D extends Definition>(
  definition: D,
  inputs: ReadonlyArray<Input<D>>,
  options?: ChildOptions
): Effect.Effect<ReadonlyArray<Result<D>>, Failure<D> | DurableError, DurableContext> =>
  Eff.flatMap(DurableContext, (ctx) => ctx.runChildren(definition, inputs, options))

/**
 * The context when the effect runs in a durable task, `None` elsewhere.
 *
 * @since 0.1.0
 * @category accessors
 */
export const current: Effect.Effect<Option.Option<DurableContextShape>> = Eff.serviceOption(DurableContext)
