/**
 * Standalone tasks: a one-task workflow whose run result is the task's output.
 *
 * On the wire a standalone task is a workflow named like the task with a single task of the same
 * name, as the official SDKs register it. A client awaiting it unwraps `result[name]`.
 *
 * A batch task (`Task.batch`, beta in Hatchet) is triggered like any standalone task, one run per
 * input, but its handler gets the inputs of many runs at once, as the engine gathers them (the
 * second example).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { Task } from "@effect-hatchet/sdk"
 *
 * // the application's mailer
 * const send = (to: string) => Effect.succeed({ messageId: `message to ${to}` })
 *
 * export const SendEmail = Task.make("send-email", {
 *   input: Schema.Struct({ to: Schema.String }),
 *   output: Schema.Struct({ messageId: Schema.String }),
 *   retries: 2,
 *   onEvents: ["user:signed-up"]
 * })
 *
 * export const SendEmailLive = SendEmail.toLayer((input) => send(input.to))
 * ```
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { Task } from "@effect-hatchet/sdk"
 *
 * // the application's model: one vector per text
 * const embed = (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((text) => [text.length]))
 *
 * export const Embed = Task.batch("embed", {
 *   input: Schema.Struct({ text: Schema.String }),
 *   output: Schema.Struct({ vector: Schema.Array(Schema.Number) }),
 *   batch: { maxSize: 64, maxInterval: "200 millis", groupKey: "input.model" }
 * })
 *
 * // one call for up to 64 runs; outputs in the order of the inputs
 * export const EmbedLive = Embed.toLayer((inputs) =>
 *   Effect.map(embed(inputs.map((i) => i.text)), (vectors) => vectors.map((vector) => ({ vector })))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Pipeable from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { BatchContext } from "./BatchContext.js"
import type { DurableContext, DurableError } from "./DurableContext.js"
import * as internal from "./internal/definition.js"
import type { TaskContext } from "./TaskContext.js"
import type { HandlerError } from "./TaskError.js"
import type { BatchSettings, ErrorSchema, Implementation, TaskSettings, WorkflowSettings } from "./Workflow.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-hatchet/sdk/Task")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What a standalone task and a batch task have in common: a one-task workflow named like its
 * task, triggered with one input and giving that run's output.
 *
 * @since 0.1.0
 * @category models
 */
export interface Standalone<
  Name extends string,
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema
> extends Pipeable.Pipeable, internal.HasSpec {
  readonly [TypeId]: TypeId
  readonly kind: "task"
  readonly name: Name
  readonly input: Input
  readonly output: Output
  /** `Schema.Never` when the task declares no error. */
  readonly error: Error
  readonly settings: WorkflowSettings & TaskSettings
}

/**
 * A standalone task definition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Task<
  Name extends string,
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema
> extends Standalone<Name, Input, Output, Error> {
  /**
   * The implementation as a Layer: the handler (or an Effect that builds it) is an Effect that
   * may require the application's services and `TaskContext`.
   */
  toLayer<R, EX = never, RX = never>(
    build: Task.Handler<this, R> | Effect.Effect<Task.Handler<this, R>, EX, RX>
  ): Layer.Layer<Implementation<Name>, EX, Exclude<RX, Scope.Scope> | Exclude<R, TaskContext | Scope.Scope>>
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Task {
  /**
   * @since 0.1.0
   */
  export type Any = Task<any, Schema.Schema.AnyNoContext, Schema.Schema.AnyNoContext, ErrorSchema>

  /**
   * The handler of a standalone task: its decoded input in, an Effect of its output out, failing
   * only with its declared error or the markers of `TaskError.HandlerError`.
   *
   * @since 0.1.0
   */
  export type Handler<T extends Any, R = any> = (
    input: Schema.Schema.Type<T["input"]>
  ) => Effect.Effect<Schema.Schema.Type<T["output"]>, HandlerError<Schema.Schema.Type<T["error"]>>, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskOptions<
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema
> extends WorkflowSettings, TaskSettings {
  /** The input Schema; its encoded side must be a JSON object. Default `Schema.Struct({})`. */
  readonly input?: Input | undefined
  /** The output Schema. Default `Schema.Void`. */
  readonly output?: Output | undefined
  /** The typed errors the task fails with. */
  readonly error?: Error | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isTask = (u: unknown): u is Task.Any => typeof u === "object" && u !== null && TypeId in u

/**
 * Defines a standalone task.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  Input extends Schema.Schema.AnyNoContext = Schema.Struct<{}>,
  Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
  Error extends ErrorSchema = typeof Schema.Never
>(
  name: Name,
  options?: TaskOptions<Input, Output, Error>
): Task<Name, Input, Output, Error> => internal.makeTaskValue(standaloneSpec(name, options ?? {}, undefined), TypeId)

/** The spec of a standalone task: a one-task workflow named like its task. */
const standaloneSpec = (
  name: string,
  o: TaskOptions<Schema.Schema.AnyNoContext, Schema.Schema.AnyNoContext, ErrorSchema>,
  batch: BatchSettings | undefined,
  durable?: internal.DurableEviction
): internal.WorkflowSpec => ({
  kind: "task",
  name,
  input: o.input ?? Schema.Struct({}),
  // a standalone task's concurrency is the task's own (as upstream merges a one-task workflow's)
  settings: { ...internal.pickWorkflowSettings(o), concurrency: undefined },
  tasks: [{
    name,
    role: "task",
    output: o.output ?? Schema.Void,
    error: o.error,
    parents: [],
    settings: internal.pickTaskSettings(o),
    batch,
    ...(durable !== undefined ? internal.durableSpec(durable) : {})
  }],
  onFailure: undefined,
  onSuccess: undefined
})

// -----------------------------------------------------------------------------
// batch tasks
// -----------------------------------------------------------------------------

/**
 * A batch task definition (`Task.batch`): triggered and awaited as a standalone task (one run per
 * input, `Hatchet.run` gives that run's output), handled many runs at a time.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchTask<
  Name extends string,
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Broadcast extends boolean = false
> extends Standalone<Name, Input, Output, Error> {
  /** How the engine gathers runs into batches. */
  readonly batch: BatchSettings & { readonly broadcastOutput?: Broadcast | undefined }
  /**
   * The implementation as a Layer: the handler (or an Effect that builds it) gets the decoded
   * inputs of a batch and returns their outputs in the same order (or, with `broadcastOutput`, one
   * output for all); it may require the application's services and `BatchContext`.
   */
  toLayer<R, EX = never, RX = never>(
    build: BatchTask.Handler<this, R> | Effect.Effect<BatchTask.Handler<this, R>, EX, RX>
  ): Layer.Layer<Implementation<Name>, EX, Exclude<RX, Scope.Scope> | Exclude<R, BatchContext | Scope.Scope>>
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace BatchTask {
  /**
   * @since 0.1.0
   */
  export type Any = BatchTask<any, Schema.Schema.AnyNoContext, Schema.Schema.AnyNoContext, ErrorSchema, boolean>

  /**
   * What a batch handler returns: one output per input, in order, or one output for all when the
   * task broadcasts.
   *
   * @since 0.1.0
   */
  export type Outputs<T extends Any> = T extends BatchTask<any, any, infer O, any, infer B>
    ? [B] extends [true] ? Schema.Schema.Type<O> : ReadonlyArray<Schema.Schema.Type<O>>
    : never

  /**
   * The handler of a batch task: the decoded inputs of the batch's runs in (never empty), an
   * Effect of their outputs out. A failure fails every run of the batch, with the declared error
   * or the markers of `TaskError.HandlerError`, as a standalone task's failure would.
   *
   * @since 0.1.0
   */
  export type Handler<T extends Any, R = any> = (
    inputs: ReadonlyArray<Schema.Schema.Type<T["input"]>>
  ) => Effect.Effect<Outputs<T>, HandlerError<Schema.Schema.Type<T["error"]>>, R>
}

/**
 * The options of `Task.batch`: those of a standalone task, less what a batch cannot have (retries
 * and backoff: Hatchet runs each item once; `slotCost`: a batch takes one slot), plus `batch`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchTaskOptions<
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Batch extends BatchSettings
> extends Omit<TaskOptions<Input, Output, Error>, "retries" | "backoff" | "slotCost" | "taskDefaults"> {
  readonly batch: Batch
}

/**
 * Whether `u` is a batch task definition.
 *
 * @since 0.1.0
 * @category guards
 */
export const isBatchTask = (u: unknown): u is BatchTask.Any => isTask(u) && internal.specOf(u).tasks[0]?.batch !== undefined

/**
 * Defines a batch task (beta in Hatchet, engine v0.98.0 or newer): each run is triggered with one
 * input, as any standalone task, and the engine hands its worker the runs of one group key in
 * batches of up to `batch.maxSize`, flushed when full or `batch.maxInterval` after the previous
 * flush. The handler gets the decoded inputs of a batch at once and returns their outputs in the
 * same order; each run completes with its own output. A run whose input does not decode fails
 * alone (`InvalidInput`), the others are handled without it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const batch = <
  const Name extends string,
  const Batch extends BatchSettings,
  Input extends Schema.Schema.AnyNoContext = Schema.Struct<{}>,
  Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
  Error extends ErrorSchema = typeof Schema.Never
>(
  name: Name,
  options: BatchTaskOptions<Input, Output, Error, Batch>
): BatchTask<Name, Input, Output, Error, Batch["broadcastOutput"] extends true ? true : false> => {
  const { batch: settings, ...rest } = options
  return internal.makeTaskValue(standaloneSpec(name, rest, settings), TypeId)
}

// -----------------------------------------------------------------------------
// durable tasks
// -----------------------------------------------------------------------------

/**
 * A durable task definition (`Task.durable`): triggered and awaited as a standalone task; its
 * handler may use `DurableContext` (durable sleeps, event waits, memoized steps, children), whose
 * calls are recorded in the engine's log and replayed when the task runs again.
 *
 * @since 0.1.0
 * @category models
 */
export interface DurableTask<
  Name extends string,
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema
> extends Standalone<Name, Input, Output, Error> {
  readonly durable: true
  /**
   * The implementation as a Layer: the handler (or an Effect that builds it) may require the
   * application's services, `TaskContext` and `DurableContext`.
   */
  toLayer<R, EX = never, RX = never>(
    build: DurableTask.Handler<this, R> | Effect.Effect<DurableTask.Handler<this, R>, EX, RX>
  ): Layer.Layer<
    Implementation<Name>,
    EX,
    Exclude<RX, Scope.Scope> | Exclude<R, TaskContext | DurableContext | Scope.Scope>
  >
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace DurableTask {
  /**
   * @since 0.1.0
   */
  export type Any = DurableTask<any, Schema.Schema.AnyNoContext, Schema.Schema.AnyNoContext, ErrorSchema>

  /**
   * The handler of a durable task: a standalone task's, which may also fail with a
   * `DurableError` (reported as an undeclared failure: the client gets a `TaskFailed`).
   *
   * @since 0.1.0
   */
  export type Handler<T extends Any, R = any> = (
    input: Schema.Schema.Type<T["input"]>
  ) => Effect.Effect<Schema.Schema.Type<T["output"]>, HandlerError<Schema.Schema.Type<T["error"]>> | DurableError, R>
}

/**
 * The options of `Task.durable`: those of a standalone task but `slotCost` (a durable task takes
 * one slot of its worker's durable pool).
 *
 * @since 0.1.0
 * @category models
 */
export interface DurableTaskOptions<
  Input extends Schema.Schema.AnyNoContext,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema
> extends Omit<TaskOptions<Input, Output, Error>, "slotCost" | "taskDefaults"> {
  /**
   * After waiting this long for the engine (a durable sleep, event or child), the task is evicted
   * by its worker: its durable slot is freed and its execution timeout stops; the engine restores
   * it (on any worker, replaying its log) when the wait ends. `"never"` keeps it on the worker.
   * Default 15 minutes, as the official SDKs' eviction policy.
   */
  readonly evictAfter?: Duration.DurationInput | "never" | undefined
  /**
   * When every durable slot of its worker holds a task waiting for the engine, the worker evicts
   * the one that has waited longest (at least 10 seconds), among those of the lowest
   * `evictionPriority`, so that new durable work can start; the engine restores it when its wait
   * ends, on a worker with a free durable slot. `false` keeps this task through such pressure.
   * Default true, as the official SDKs' `allowCapacityEviction`.
   */
  readonly evictUnderPressure?: boolean | undefined
  /** Among durable tasks evicted for capacity, lower first (the official SDKs' eviction `priority`). Default 0. */
  readonly evictionPriority?: number | undefined
}

/**
 * Whether `u` is a durable task definition.
 *
 * @since 0.1.0
 * @category guards
 */
export const isDurableTask = (u: unknown): u is DurableTask.Any => isTask(u) && internal.specOf(u).tasks[0]?.durable === true

/**
 * Defines a durable task (Hatchet's `durableTask`): registered with `is_durable`, run on the
 * worker's durable slots, its handler given a `DurableContext` whose calls (sleeps, event waits,
 * memoized steps, children) survive the worker: when the task runs again, on this worker or
 * another, the engine's log answers the calls it already made, so it resumes where it was.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { DurableContext, Task } from "@effect-hatchet/sdk"
 *
 * // a stand-in for the application's mailer
 * const sendReminder = (userId: string) => Effect.log(`reminder for ${userId}`)
 *
 * export const Reminder = Task.durable("reminder", {
 *   input: Schema.Struct({ userId: Schema.String }),
 *   executionTimeout: "10 minutes"
 * })
 *
 * export const ReminderLive = Reminder.toLayer((input) =>
 *   Effect.gen(function*() {
 *     const ctx = yield* DurableContext.DurableContext
 *     yield* ctx.sleep("7 days")
 *     yield* ctx.memo("send", sendReminder(input.userId), Schema.Void)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const durable = <
  const Name extends string,
  Input extends Schema.Schema.AnyNoContext = Schema.Struct<{}>,
  Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
  Error extends ErrorSchema = typeof Schema.Never
>(
  name: Name,
  options?: DurableTaskOptions<Input, Output, Error>
): DurableTask<Name, Input, Output, Error> => internal.makeTaskValue(standaloneSpec(name, options ?? {}, undefined, options ?? {}), TypeId)
