/**
 * The per-task service a handler reads with `yield* TaskContext`: who this attempt is (ids, attempt
 * number and retry count, metadata, priority, child index and key, the triggering event and the
 * payload of the event filter that matched it) and what
 * it can ask of the engine (refresh its timeout, release its slot, stream chunks to subscribers,
 * cancel itself, change its worker's labels). The decoded input and
 * parent outputs are the handler's arguments, typed by the definition.
 *
 * Log lines written with Effect's logger inside a task (`Effect.log`, `Effect.logWarning`, ...)
 * reach Hatchet as task logs; no special API is needed.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { TaskContext } from "@effect-hatchet/sdk"
 *
 * const handler = (input: { readonly url: string }) =>
 *   Effect.gen(function*() {
 *     const ctx = yield* TaskContext.TaskContext
 *     yield* Effect.log(`attempt ${ctx.retryCount + 1} of run ${ctx.workflowRunId}`)
 *     yield* ctx.putStream("downloading...")
 *     yield* ctx.refreshTimeout("5 minutes")
 *   })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Types from "effect/Types"
import type * as Condition from "./Condition.js"
import { dataKeyOf } from "./internal/conditions.js"
import { toGoDuration } from "./internal/duration.js"
import { type HasRunData, type RunData, withRunData } from "./internal/runData.js"

/**
 * A `TaskContext` operation failed: the engine refused it or could not be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskContextError extends Data.TaggedError("TaskContextError")<{
  readonly operation: "refreshTimeout" | "releaseSlot" | "putStream" | "cancel" | "upsertLabels"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Facts about the running attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskInfo {
  /** Declared workflow name (not namespaced). */
  readonly workflowName: string
  /** The task's readable id. */
  readonly taskName: string
  /** The worker action, `"<wire workflow name>:<task lower>"`. */
  readonly action: string
  readonly workflowRunId: string
  readonly taskRunExternalId: string
  /** The worker's id (empty outside a worker). */
  readonly workerId: string
  /** 0 for the first attempt. */
  readonly retryCount: number
  /** How many attempts the task may have: its `retries` plus one. */
  readonly maxAttempts: number
  /** The event that triggered the run, when an event did (`Hatchet.push` of a key it listens to). */
  readonly triggeringEvent: Option.Option<TriggeringEvent>
  /** The run's additional metadata (a JSON object on the wire). */
  readonly additionalMetadata: Readonly<Record<string, unknown>>
  /** 1 (lowest) to 3. */
  readonly priority: number
  /** When this run is a child: its index among the parent task's children. */
  readonly childIndex: Option.Option<number>
  /** When this run is a child spawned with a key: that key. */
  readonly childKey: Option.Option<string>
  /** When this run is a child: the parent *task* run's external id. */
  readonly parentTaskRunExternalId: Option.Option<string>
  /**
   * When an event filter triggered the run: that filter's payload (see the `Filters` service and
   * `defaultFilters`). `decodeFilterPayload` reads it with a Schema.
   */
  readonly filterPayload?: Option.Option<Readonly<Record<string, unknown>>> | undefined
  /** The parents Hatchet skipped (their `skipIf` held, or all their own parents were skipped). */
  readonly skippedParents?: ReadonlyArray<string> | undefined
  /** The data of the step conditions that were met, by data key (see `TaskContextShape.triggers`). */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
}

/**
 * The event that triggered a run: its id (as `Hatchet.push` returned it) and its key.
 *
 * @since 0.1.0
 * @category models
 */
export interface TriggeringEvent {
  readonly id: string
  readonly key: string
}

/**
 * What a `TaskContext` asks of its backend (the worker, or a test). Durations arrive already
 * converted to Go-style strings; stream chunks with their `event_index`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskOperations {
  readonly refreshTimeout: (incrementBy: string) => Effect.Effect<void, TaskContextError>
  readonly releaseSlot: Effect.Effect<void, TaskContextError>
  readonly putStream: (chunk: Uint8Array, eventIndex: number) => Effect.Effect<void, TaskContextError>
  /** Asks the engine to cancel this task; the caller then interrupts the task itself. */
  readonly cancel: Effect.Effect<void, TaskContextError>
  /** Whether the attempt is being stopped to run again (see `TaskContextShape`). Default: never. */
  readonly interruptedForRetry?: Effect.Effect<boolean> | undefined
  /** Adds or changes labels of the worker running the task. */
  readonly upsertLabels: (labels: Readonly<Record<string, string | number>>) => Effect.Effect<void, TaskContextError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskContextShape extends TaskInfo {
  /** 1 for the first attempt: `retryCount + 1`. */
  readonly attemptNumber: number
  /** The payload of the event filter that triggered the run, if one did. */
  readonly filterPayload: Option.Option<Readonly<Record<string, unknown>>>
  /**
   * The parents Hatchet skipped: their output is `Option.none()` among the handler's parent
   * outputs, and `wasSkipped` tells the same.
   */
  readonly skippedParents: ReadonlyArray<string>
  /**
   * What the task's step conditions (`waitFor`) were met with, by the condition's data key (see
   * `Condition`): an event condition's event payload, a sleep's `{ sleep_duration }`. Only the
   * conditions that held are there, so with an `or` it says which woke the task. Hatchet passes it
   * to tasks that have parents (a task without parents gets none). `conditionData` reads it.
   */
  readonly triggers: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  /**
   * Extends the current deadline by `incrementBy` (the engine adds it to the deadline, not to
   * now). Fails when the task is no longer running on the engine.
   */
  readonly refreshTimeout: (incrementBy: Duration.DurationInput) => Effect.Effect<void, TaskContextError>
  /**
   * Gives this task's slot back (to the engine and to the worker's slot limit) while it keeps
   * running. After this the engine can no longer route a cancel to the task.
   */
  readonly releaseSlot: Effect.Effect<void, TaskContextError>
  /** Sends a chunk to the run's stream subscribers, in order (`event_index` from 0). */
  readonly putStream: (chunk: string | Uint8Array) => Effect.Effect<void, TaskContextError>
  /**
   * Cancels this task on the engine, then interrupts it: finalizers run and nothing more is
   * reported (the engine already records it as CANCELLED).
   */
  readonly cancel: Effect.Effect<never, TaskContextError>
  /**
   * Adds or changes labels of the worker running this task (`UpsertWorkerLabels`), e.g. the model
   * it has loaded, so that later tasks wanting them (`desiredWorkerLabels`) come to it. The
   * worker keeps them, also when it registers again.
   */
  readonly upsertLabels: (labels: Readonly<Record<string, string | number>>) => Effect.Effect<void, TaskContextError>
  /**
   * Extension point for child spawning: the next child index of this attempt (0, 1, 2, ...).
   * The counter belongs to the attempt, so a retry starts again at 0 and spawns the same
   * children in the same order get the same indices (that is what lets the engine dedupe them).
   * Increments are atomic; concurrent spawns get distinct indices but in scheduling order, so
   * give concurrently spawned children a `key` when their identity matters.
   */
  readonly nextChildIndex: Effect.Effect<number>
  /**
   * Whether this attempt is being interrupted to run again: the worker is shutting down, or the
   * engine sent a newer attempt of the task. The children it awaits are then left running, since
   * the next attempt spawns the same children and gets them back; on any other interruption
   * (the task cancelled or timed out) they are cancelled with it.
   */
  readonly interruptedForRetry: Effect.Effect<boolean>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TaskContext extends Context.Tag("@effect-hatchet/sdk/TaskContext")<TaskContext, TaskContextShape>() {}

const encoder = new TextEncoder()

/**
 * An attempt's counters, shared by the contexts made for it (a class rather than an object
 * literal, made per attempt: see internal/attempt.ts on V8's pretenuring).
 */
class AttemptCounters {
  children = 0
  streamIndex = 0
}

/**
 * A task attempt's context: the facts copied once, the operations built when a handler uses them
 * (most handlers use none, and a worker builds a context per attempt).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
interface AttemptContext extends TaskInfo {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class AttemptContext implements TaskContextShape, HasRunData<AttemptContext> {
  readonly attemptNumber: number
  readonly filterPayload: Option.Option<Readonly<Record<string, unknown>>>
  readonly skippedParents: ReadonlyArray<string>
  readonly triggers: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  // the facts are copied one by one (one shape for every context, unlike `Object.assign`)
  constructor(
    info: TaskInfo,
    private readonly operations: TaskOperations,
    // counters of this attempt (a fiber's reads and increments are atomic: no Ref needed)
    private readonly counters: AttemptCounters = new AttemptCounters(),
    data?: RunData
  ) {
    const self = this as Types.Mutable<TaskInfo>
    self.workflowName = info.workflowName
    self.taskName = info.taskName
    self.action = info.action
    self.workflowRunId = info.workflowRunId
    self.taskRunExternalId = info.taskRunExternalId
    self.workerId = info.workerId
    self.retryCount = info.retryCount
    self.maxAttempts = info.maxAttempts
    self.triggeringEvent = info.triggeringEvent
    self.additionalMetadata = info.additionalMetadata
    self.priority = info.priority
    self.childIndex = info.childIndex
    self.childKey = info.childKey
    self.parentTaskRunExternalId = info.parentTaskRunExternalId
    this.attemptNumber = info.retryCount + 1
    this.filterPayload = data?.filterPayload ?? info.filterPayload ?? Option.none()
    this.skippedParents = data?.skippedParents ?? info.skippedParents ?? []
    this.triggers = data?.triggers ?? info.triggers ?? {}
  }
  [withRunData](data: RunData): AttemptContext {
    return new AttemptContext(this, this.operations, this.counters, data)
  }
  // the functions are made when read (so that they work detached from the context, as before)
  get refreshTimeout(): (incrementBy: Duration.DurationInput) => Effect.Effect<void, TaskContextError> {
    return (incrementBy) =>
      Either.match(toGoDuration(incrementBy), {
        onLeft: (message) => Effect.fail(new TaskContextError({ operation: "refreshTimeout", message: `refreshTimeout: ${message}` })),
        onRight: this.operations.refreshTimeout
      })
  }
  get releaseSlot(): Effect.Effect<void, TaskContextError> {
    return this.operations.releaseSlot
  }
  get putStream(): (chunk: string | Uint8Array) => Effect.Effect<void, TaskContextError> {
    return (chunk) =>
      Effect.suspend(() =>
        this.operations.putStream(typeof chunk === "string" ? encoder.encode(chunk) : chunk, this.counters.streamIndex++)
      )
  }
  get cancel(): Effect.Effect<never, TaskContextError> {
    return Effect.zipRight(this.operations.cancel, Effect.interrupt)
  }
  get upsertLabels(): (labels: Readonly<Record<string, string | number>>) => Effect.Effect<void, TaskContextError> {
    return this.operations.upsertLabels
  }
  get nextChildIndex(): Effect.Effect<number> {
    return Effect.sync(() => this.counters.children++)
  }
  get interruptedForRetry(): Effect.Effect<boolean> {
    return this.operations.interruptedForRetry ?? Effect.succeed(false)
  }
}

/**
 * Builds a `TaskContext` from facts and a backend. The worker and the test runner both use it.
 * The operations are read from `operations` when the handler uses them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (info: TaskInfo, operations: TaskOperations): Effect.Effect<TaskContextShape> =>
  Effect.sync(() => unsafeMake(info, operations))

/**
 * `make`, building the context as it is called.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (info: TaskInfo, operations: TaskOperations): TaskContextShape => new AttemptContext(info, operations)

/**
 * @since 0.1.0
 * @category accessors
 */
export const refreshTimeout = (incrementBy: Duration.DurationInput): Effect.Effect<void, TaskContextError, TaskContext> =>
  Effect.flatMap(TaskContext, (ctx) => ctx.refreshTimeout(incrementBy))

/**
 * @since 0.1.0
 * @category accessors
 */
export const releaseSlot: Effect.Effect<void, TaskContextError, TaskContext> = Effect.flatMap(
  TaskContext,
  (ctx) => ctx.releaseSlot
)

/**
 * @since 0.1.0
 * @category accessors
 */
export const putStream = (chunk: string | Uint8Array): Effect.Effect<void, TaskContextError, TaskContext> =>
  Effect.flatMap(TaskContext, (ctx) => ctx.putStream(chunk))

/**
 * @since 0.1.0
 * @category accessors
 */
export const cancel: Effect.Effect<never, TaskContextError, TaskContext> = Effect.flatMap(
  TaskContext,
  (ctx) => ctx.cancel
)

/**
 * @since 0.1.0
 * @category accessors
 */
export const upsertLabels = (
  labels: Readonly<Record<string, string | number>>
): Effect.Effect<void, TaskContextError, TaskContext> => Effect.flatMap(TaskContext, (ctx) => ctx.upsertLabels(labels))

/**
 * The payload of the event filter that triggered the run, decoded with `schema`: `None` when no
 * filter did (the run was not started by a filtered event), a `ParseError` when it does not match.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
 * import { TaskContext } from "@effect-hatchet/sdk"
 *
 * const Threshold = Schema.Struct({ threshold: Schema.Number })
 * const handler = (input: { readonly amount: number }) =>
 *   Effect.gen(function*() {
 *     const filter = yield* TaskContext.decodeFilterPayload(Threshold)
 *     const threshold = Option.match(filter, { onNone: () => 0, onSome: (p) => p.threshold })
 *     return { accepted: input.amount >= threshold }
 *   })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const decodeFilterPayload = <A, I, R>(
  schema: Schema.Schema<A, I, R>
): Effect.Effect<Option.Option<A>, ParseResult.ParseError, TaskContext | R> =>
  Effect.flatMap(TaskContext, (ctx) =>
    Option.match(ctx.filterPayload, {
      onNone: () => Effect.succeedNone,
      onSome: (payload) => Effect.asSome(Schema.decodeUnknown(schema)(payload))
    }))

/**
 * Whether Hatchet skipped the parent task `parent` (it then has no output: the handler receives
 * `Option.none()` for it).
 *
 * @since 0.1.0
 * @category accessors
 */
export const wasSkipped = (parent: string): Effect.Effect<boolean, never, TaskContext> =>
  Effect.map(TaskContext, (ctx) => ctx.skippedParents.includes(parent))

/**
 * The data a `waitFor` condition of this task was met with: `Some` of the event's payload for an
 * event condition, of `{ sleep_duration }` for a sleep; `None` when that condition did not hold
 * (another of its `or` group did), or the task has no parents (Hatchet passes no condition data
 * to those).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
 * import { Condition, TaskContext } from "@effect-hatchet/sdk"
 *
 * const approved = Condition.event("review:approved")
 * // waitFor: Condition.or(approved, Condition.sleep("1 day"))
 * const handler = () =>
 *   Effect.gen(function*() {
 *     const byReviewer = Option.isSome(yield* TaskContext.conditionData(approved))
 *     return { byReviewer }
 *   })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const conditionData = (
  condition: Condition.Sleep | Condition.Event
): Effect.Effect<Option.Option<Readonly<Record<string, unknown>>>, never, TaskContext> =>
  Effect.map(TaskContext, (ctx) => Option.fromNullable(ctx.triggers[dataKeyOf(condition)]))

/**
 * `conditionData`, decoded with `schema` (e.g. the event's payload Schema).
 *
 * @since 0.1.0
 * @category accessors
 */
export const decodeConditionData = <A, I, R>(
  condition: Condition.Sleep | Condition.Event,
  schema: Schema.Schema<A, I, R>
): Effect.Effect<Option.Option<A>, ParseResult.ParseError, TaskContext | R> =>
  Effect.flatMap(conditionData(condition), (data) =>
    Option.match(data, {
      onNone: () => Effect.succeedNone,
      onSome: (value) => Effect.asSome(Schema.decodeUnknown(schema)(value))
    }))
