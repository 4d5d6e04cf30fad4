/**
 * Workflows as values: a name, an input Schema and a DAG of tasks with typed outputs.
 *
 * A definition says *what* runs; it imports no implementation, so a client can trigger a workflow
 * and get a typed result without the worker's code. The implementation is a Layer built with
 * `toLayer`, whose handlers are Effects that may use the application's services (the model is
 * `@effect/rpc`'s `RpcGroup.toLayer`): a missing handler or service is a type error, and so is a
 * handler that can fail with an error its task does not declare (see `Handler`).
 *
 * Notes for client code (trigger / await):
 * - the wire name is `applyNamespace(name, namespace).toLowerCase()`;
 * - the input is encoded with `Schema.encode(definition.input)` then `JSON.stringify`;
 * - a run's result is `{ [readableId]: decoded output }` (`Workflow.Result`), or the output itself
 *   for a standalone `Task`; each output is decoded with its task's `output` Schema;
 * - a failed task's error text is decoded back to the task's typed `error` or to `TaskFailed`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 *
 * export class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}
 *
 * // definitions: shared by worker and client code
 * export const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
 * export const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
 *   Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }), retries: 3 }),
 *   Workflow.task("charge", {
 *     parents: ["validate"],
 *     output: Schema.Struct({ chargeId: Schema.String }),
 *     error: CardDeclined
 *   })
 * )
 *
 * // the application's payment gateway
 * const charge = (order: typeof Order.Type) => Effect.succeed({ chargeId: `charge-${order.orderId}` })
 *
 * // implementation: worker side
 * export const OrderFlowLive = OrderFlow.toLayer({
 *   validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
 *   charge: (input, parents) =>
 *     parents.validate.valid ? charge(input) : Effect.fail(new CardDeclined({ reason: "invalid" }))
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Eff from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Pipeable from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type { BatchContext } from "./BatchContext.js"
import * as Condition from "./Condition.js"
import type { DurableContext, DurableError } from "./DurableContext.js"
import { checkExpressions } from "./internal/conditions.js"
import * as internal from "./internal/definition.js"
import { ON_FAILURE_TASK, ON_SUCCESS_TASK } from "./internal/naming.js"
import { compile as compileSpec } from "./internal/registration.js"
import type { BatchTask, DurableTask, Task } from "./Task.js"
import type { TaskContext } from "./TaskContext.js"
import type { HandlerError, TaskFailed } from "./TaskError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-hatchet/sdk/Workflow")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export const ImplementationTypeId: unique symbol = Symbol.for("@effect-hatchet/sdk/Workflow/Implementation")

/**
 * @since 0.1.0
 * @category type ids
 */
export type ImplementationTypeId = typeof ImplementationTypeId

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Settings of a workflow: description, version, event and cron triggers, default priority,
 * `concurrency`, `sticky` and `taskDefaults`.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkflowSettings = internal.WorkflowSettings

/**
 * An event filter declared on a workflow or standalone task (`defaultFilters`): a `scope`, a CEL
 * `expression` over the pushed event (`input`), the filter's `payload`, `additional_metadata`,
 * `event_id` and `event_key`, and a JSON object `payload` the runs it triggers read with
 * `TaskContext.filterPayload`. Registered with the workflow; each new version replaces them.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 *
 * const Notify = Workflow.make("notify", {
 *   input: Schema.Struct({ amount: Schema.Number }),
 *   onEvents: ["payment:received"],
 *   defaultFilters: [{ scope: "acme", expression: "input.amount >= payload.threshold", payload: { threshold: 100 } }]
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type DefaultFilter = internal.DefaultFilter

/**
 * Settings of a task: `retries`, `backoff`, `executionTimeout` (default 60 s), `scheduleTimeout`,
 * `desiredWorkerLabels`, `slotCost` (default 1), `concurrency`, `rateLimits`. Durations are Effect `DurationInput`s and must be
 * whole milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export type TaskSettings = internal.TaskSettings

/**
 * How the engine gathers the runs of a batch task (`Task.batch`, `Workflow.batchTask`): its size,
 * interval, group key and batches per key, and whether the handler broadcasts one output.
 *
 * @since 0.1.0
 * @category models
 */
export type BatchSettings = internal.BatchSettings

/**
 * A concurrency limit (`Concurrency` in Hatchet's contract): at most `maxRuns` runs at once per
 * key, the key being a CEL `expression` over the run (`input`, `additional_metadata` or
 * `workflow_run_id`) that gives a string, with a `limitStrategy` for the runs over it.
 * Set on a workflow (`concurrency`: whole runs), on a task, or in `taskDefaults`.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 *
 * const Sync = Workflow.make("sync-account", {
 *   input: Schema.Struct({ accountId: Schema.String }),
 *   concurrency: { expression: "input.accountId", maxRuns: 1, limitStrategy: "GROUP_ROUND_ROBIN" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Concurrency = internal.Concurrency

/**
 * @since 0.1.0
 * @category models
 */
export type ConcurrencyLimitStrategy = internal.ConcurrencyLimitStrategy

/**
 * An idempotency key per run (`idempotency` of a workflow or a standalone task; beta in Hatchet):
 * a CEL expression giving a string, held for `ttl`, or until the run's first task ends
 * (`until: "finished"`). Triggering a run whose key is held fails with `HatchetClientError`
 * `IdempotencyCollision` naming the run that holds it. Needs Hatchet engine v0.95.0 or newer
 * (v0.96.0 for `until: "finished"`): the worker refuses an older engine (`EngineTooOld`), which
 * would ignore the key.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Task } from "@effect-hatchet/sdk"
 *
 * const Charge = Task.make("charge", {
 *   input: Schema.Struct({ orderId: Schema.String }),
 *   idempotency: { expression: "input.orderId", ttl: "1 hour" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Idempotency = internal.Idempotency

/**
 * A rate limit of a task (`CreateTaskRateLimit` in Hatchet's contract): a static `key` made
 * with `Hatchet.putRateLimit`, or a `dynamicKey` CEL expression with its own `limit` per
 * `duration`; the task consumes `units` (default 1) when it is assigned.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Task } from "@effect-hatchet/sdk"
 *
 * const CallApi = Task.make("call-api", {
 *   input: Schema.Struct({ userId: Schema.String }),
 *   rateLimits: [
 *     { key: "openai", units: 1 },
 *     { dynamicKey: "input.userId", limit: 10, duration: "MINUTE" }
 *   ]
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimit = internal.RateLimit

/**
 * @since 0.1.0
 * @category models
 */
export type RateLimitDuration = internal.RateLimitDuration

/**
 * @since 0.1.0
 * @category models
 */
export type DesiredWorkerLabel = internal.DesiredWorkerLabel

/**
 * @since 0.1.0
 * @category models
 */
export type WorkerLabelComparator = internal.WorkerLabelComparator

/**
 * What kind of batch task a task of a workflow is: `false` for a task that is not batched,
 * `"each"` for a batch task (`Workflow.batchTask`) whose handler returns one output per run,
 * `"broadcast"` for one whose handler returns one output every run of the batch gets.
 *
 * @since 0.1.0
 * @category models
 */
export type BatchKind = false | "each" | "broadcast"

/**
 * One task of a workflow: its readable id, output and error Schemas, its parents, and whether the
 * engine may skip it (`Skippable`: it declares `skipIf`, or all its parents may be skipped), in
 * which case its children and the run's result have an `Option` of its output.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskDefinition<
  Name extends string,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends string,
  Skippable extends boolean = false,
  Durable extends boolean = false,
  Batch extends BatchKind = false
> {
  readonly name: Name
  readonly output: Output
  /** `Schema.Never` when the task declares no error. */
  readonly error: Error
  readonly parents: ReadonlyArray<Parents>
  readonly settings: TaskSettings
  /** A batch task's settings (`Workflow.batchTask`). */
  readonly batch?: BatchSettings | undefined
  /** Type-level only: whether the task may be skipped. */
  readonly skippable?: Skippable | undefined
  /** Type-level only: whether it is a durable task (`Workflow.durableTask`). */
  readonly durable?: Durable | undefined
  /** Type-level only: whether it is a batch task (`Workflow.batchTask`), and which kind. */
  readonly batched?: Batch | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace TaskDefinition {
  /**
   * @since 0.1.0
   */
  export type Any = TaskDefinition<string, Schema.Schema.AnyNoContext, ErrorSchema, string, boolean, boolean, BatchKind>
}

/**
 * A Schema for a task's typed errors (`Schema.Never` when none is declared).
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorSchema = internal.ErrorSchema

/**
 * The tasks of a workflow, by readable id.
 *
 * @since 0.1.0
 * @category models
 */
export type TaskMap = { readonly [name: string]: TaskDefinition.Any }

/**
 * A workflow definition. `Tasks` are the user tasks; `Hooks` the optional `on-failure-task` and
 * `on-success-task`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Workflow<
  Name extends string,
  Input extends Schema.Schema.AnyNoContext,
  Tasks extends TaskMap = {},
  Hooks extends TaskMap = {}
> extends Pipeable.Pipeable, internal.HasSpec {
  readonly [TypeId]: TypeId
  readonly kind: "workflow"
  readonly name: Name
  readonly input: Input
  readonly settings: WorkflowSettings
  readonly tasks: Tasks
  readonly hooks: Hooks
  /**
   * The implementation of this workflow as a Layer: one handler per task (and per hook), each an
   * Effect that may require the application's services (and `TaskContext`). Pass the handlers, or
   * an Effect that builds them (for setup shared by the handlers).
   */
  toLayer<H extends Handlers<Input, Tasks, Hooks>, EX = never, RX = never>(
    build: H | Effect.Effect<H, EX, RX>
  ): Layer.Layer<Implementation<Name>, EX, Exclude<RX, Scope.Scope> | HandlersContext<H, Tasks>>
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Workflow {
  /**
   * @since 0.1.0
   */
  export type Any = Workflow<any, Schema.Schema.AnyNoContext, any, any>
}

/**
 * Anything a worker can run and a client can trigger: a `Workflow`, a standalone `Task`, a
 * batch task or a durable task.
 *
 * @since 0.1.0
 * @category models
 */
export type Definition = Workflow.Any | Task.Any | BatchTask.Any | DurableTask.Any

/**
 * The service a definition's `toLayer` provides and a worker requires: the handlers of the
 * workflow named `Name`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Implementation<Name extends string> {
  readonly [ImplementationTypeId]: Name
}

/**
 * What a worker runs: a definition's `toLayer` layer, possibly with more provided or merged into
 * it (`OrderFlowLive.pipe(Layer.provide(PaymentsLive))`).
 *
 * @since 0.1.0
 * @category models
 */
export type ImplementationLayer = Layer.Layer<Implementation<any>, any, any>

/**
 * The runtime value of an `Implementation`: the definition and its handlers, services provided.
 *
 * @since 0.1.0
 * @category models
 */
export type ImplementationShape = internal.ImplementationShape

/**
 * The invalid definition and every problem found in it.
 *
 * @since 0.1.0
 * @category errors
 */
export const WorkflowDefinitionError = internal.WorkflowDefinitionError

/**
 * @since 0.1.0
 * @category errors
 */
export type WorkflowDefinitionError = internal.WorkflowDefinitionError

// -----------------------------------------------------------------------------
// type-level helpers
// -----------------------------------------------------------------------------

/**
 * The parents a task definition declares.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ParentsOf<T> = T extends TaskDefinition<any, any, any, infer P, any, any, any> ? P : never

/**
 * The tasks of `Tasks` the engine may skip (see `TaskDefinition`).
 *
 * @since 0.1.0
 * @category type-level
 */
export type SkippableTasks<Tasks extends TaskMap> =
  & {
    [K in keyof Tasks]: Tasks[K] extends TaskDefinition<any, any, any, any, true, any, any> ? K : never
  }[keyof Tasks]
  & string

/**
 * Whether a task with parents `Parents` and a `skipIf` of type `SkipIf` may be skipped: it declares
 * `skipIf`, or it has parents and each may be skipped (Hatchet skips a task whose parents were all
 * skipped).
 *
 * @since 0.1.0
 * @category type-level
 */
export type IsSkippable<Tasks extends TaskMap, Parents extends string, SkipIf> = [SkipIf] extends [undefined]
  ? [Parents] extends [never] ? false
  : [Exclude<Parents, SkippableTasks<Tasks>>] extends [never] ? true
  : false
  : true

/**
 * A task's output as its children and the run's result see it: the decoded output, or an
 * `Option` of it when the task may be skipped (`None`: it was skipped).
 *
 * @since 0.1.0
 * @category type-level
 */
export type OutputOf<T> = T extends TaskDefinition<any, infer O, any, any, infer S, any, any>
  ? [S] extends [true] ? Option.Option<Schema.Schema.Type<O>> : Schema.Schema.Type<O>
  : never

/**
 * What a task's handler receives as its second argument: the decoded output of each parent, an
 * `Option` of it for a parent that may be skipped.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ParentOutputs<Tasks extends TaskMap, Parents extends string> = {
  readonly [P in Parents]: OutputOf<Tasks[P]>
}

/**
 * The tasks no other task depends on: the parents of the on-success task.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Leaves<Tasks extends TaskMap> = Exclude<keyof Tasks & string, { [K in keyof Tasks]: ParentsOf<Tasks[K]> }[keyof Tasks]>

/**
 * What the on-failure handler receives as its second argument: the failure of each task that
 * failed, decoded to its typed error or to `TaskFailed`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type TaskFailures<Tasks extends TaskMap> = {
  readonly [K in keyof Tasks]?: Schema.Schema.Type<Tasks[K]["error"]> | TaskFailed
}

/**
 * A task handler: the decoded workflow input and parent outputs in, an Effect of the output out.
 * It may fail only with the task's declared error `E` (which travels the wire and comes back to
 * the client as that error), or with the markers of `TaskError.HandlerError`: `nonRetryable` to
 * stop retries, `undeclared` to fail on purpose with an error the task does not declare (the
 * client gets a `TaskFailed`). As `@effect/rpc`'s `ToHandlerFn`, any other error is a type error.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Handler<I, P, O, E = never> = (input: I, parents: P) => Effect.Effect<O, HandlerError<E>, any>

/**
 * The handler of a durable task of a workflow: a `Handler` that may also fail with a
 * `DurableError` (reported as an undeclared failure) and use `DurableContext`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type DurableHandler<I, P, O, E = never> = (
  input: I,
  parents: P
) => Effect.Effect<O, HandlerError<E> | DurableError, any>

/**
 * The handler of a batch task of a workflow (`Workflow.batchTask`): the decoded workflow inputs of
 * the batch's runs in (never empty), with each run's parent outputs at the same index, an Effect
 * of their outputs out, in the same order (one output for all when `Broadcast`). A failure fails
 * every run of the batch, with the declared error `E` or the markers of `TaskError.HandlerError`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type BatchHandler<I, P, O, E = never, Broadcast extends boolean = false> = (
  inputs: ReadonlyArray<I>,
  parents: ReadonlyArray<P>
) => Effect.Effect<[Broadcast] extends [true] ? O : ReadonlyArray<O>, HandlerError<E>, any>

/**
 * The declared error of a task definition (`never` when it declares none).
 *
 * @since 0.1.0
 * @category type-level
 */
export type ErrorOf<T extends TaskDefinition.Any> = Schema.Schema.Type<T["error"]>

/**
 * The handlers `toLayer` needs: one per task, plus `"on-failure-task"` / `"on-success-task"` when
 * the workflow has those hooks.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Handlers<Input extends Schema.Schema.AnyNoContext, Tasks extends TaskMap, Hooks extends TaskMap> =
  & {
    readonly [K in keyof Tasks]: (Tasks[K] extends TaskDefinition<any, any, any, any, any, true, any> ? DurableHandler<
        Schema.Schema.Type<Input>,
        ParentOutputs<Tasks, ParentsOf<Tasks[K]>>,
        Schema.Schema.Type<Tasks[K]["output"]>,
        ErrorOf<Tasks[K]>
      >
      : Tasks[K] extends TaskDefinition<any, any, any, any, any, any, infer B extends "each" | "broadcast"> ? BatchHandler<
          Schema.Schema.Type<Input>,
          ParentOutputs<Tasks, ParentsOf<Tasks[K]>>,
          Schema.Schema.Type<Tasks[K]["output"]>,
          ErrorOf<Tasks[K]>,
          B extends "broadcast" ? true : false
        >
      : Handler<
        Schema.Schema.Type<Input>,
        ParentOutputs<Tasks, ParentsOf<Tasks[K]>>,
        Schema.Schema.Type<Tasks[K]["output"]>,
        ErrorOf<Tasks[K]>
      >)
  }
  & (Hooks extends { readonly "on-failure-task": infer F extends TaskDefinition.Any } ? {
      readonly "on-failure-task": Handler<
        Schema.Schema.Type<Input>,
        TaskFailures<Tasks>,
        Schema.Schema.Type<F["output"]>,
        ErrorOf<F>
      >
    }
    : {})
  & (Hooks extends { readonly "on-success-task": infer S extends TaskDefinition.Any } ? {
      readonly "on-success-task": Handler<
        Schema.Schema.Type<Input>,
        ParentOutputs<Tasks, Leaves<Tasks>>,
        Schema.Schema.Type<S["output"]>,
        ErrorOf<S>
      >
    }
    : {})

/**
 * The services the handlers need, minus what the worker provides per task (`TaskContext` and
 * `Scope`, and `DurableContext` to the durable tasks of `Tasks`; a batch task of `Tasks` gets
 * `BatchContext` and `Scope`, no `TaskContext`).
 *
 * @since 0.1.0
 * @category type-level
 */
export type HandlersContext<H, Tasks extends TaskMap = {}> = {
  [K in keyof H]: H[K] extends (...args: any) => Effect.Effect<any, any, infer R>
    ? K extends keyof Tasks
      ? Tasks[K] extends TaskDefinition<any, any, any, any, any, true, any> ? Exclude<R, DurableContext | TaskContext | Scope.Scope>
      : Tasks[K] extends TaskDefinition<any, any, any, any, any, any, "each" | "broadcast"> ? Exclude<R, BatchContext | Scope.Scope>
      : Exclude<R, TaskContext | Scope.Scope>
    : Exclude<R, TaskContext | Scope.Scope>
    : never
}[keyof H]

/**
 * The declared name of a definition.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Name<D> = D extends { readonly name: infer N extends string } ? N : never

/**
 * The input a definition is triggered with (the input Schema's `Type`).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Input<D> = D extends { readonly input: infer S extends Schema.Schema.AnyNoContext } ? Schema.Schema.Type<S>
  : never

/**
 * The result of a run: for a workflow, each task's decoded output by readable id (including
 * `on-success-task` when defined); for a standalone task, its output.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Result<D> = D extends { readonly kind: "task"; readonly output: infer O extends Schema.Schema.AnyNoContext }
  ? Schema.Schema.Type<O>
  : D extends Workflow<any, any, infer Tasks, infer Hooks> ? Types.Simplify<
      & { readonly [K in keyof Tasks]: OutputOf<Tasks[K]> }
      & { readonly [K in keyof Hooks & typeof ON_SUCCESS_TASK]: Schema.Schema.Type<Hooks[K]["output"]> }
    >
  : never

/**
 * How a run can fail: the declared error of any task (hooks included), or `TaskFailed` (an
 * undeclared failure, a defect, a cancellation, a timeout, ...).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Failure<D> = D extends { readonly kind: "task"; readonly error: infer E extends ErrorSchema }
  ? Schema.Schema.Type<E> | TaskFailed
  : D extends Workflow<any, any, infer Tasks, infer Hooks> ?
      | { [K in keyof Tasks]: Schema.Schema.Type<Tasks[K]["error"]> }[keyof Tasks]
      | { [K in keyof Hooks]: Schema.Schema.Type<Hooks[K]["error"]> }[keyof Hooks]
      | TaskFailed
  : never

/**
 * The `Implementation` a worker needs for a definition.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ImplementationOf<D> = D extends { readonly name: infer N extends string } ? Implementation<N> : never

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowOptions<Input extends Schema.Schema.AnyNoContext> extends WorkflowSettings {
  /** The input Schema; its encoded side must be a JSON object. Default `Schema.Struct({})`. */
  readonly input?: Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskOptions<
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends ReadonlyArray<string>,
  SkipIf extends Condition.Conditions<Parents[number]> | undefined = undefined
> extends TaskSettings {
  /** The output Schema. Default `Schema.Void`. A parent's output must encode to a JSON object. */
  readonly output?: Output | undefined
  /** The typed errors this task fails with; they travel the wire and decode back on the client. */
  readonly error?: Error | undefined
  /** Readable ids of earlier tasks this task waits for; their outputs are its second argument. */
  readonly parents?: Parents | undefined
  /**
   * Conditions the task waits for once its parents completed (Hatchet's `wait_for`): a sleep, an
   * event, a parent's output, or an `or` of them; a list must all hold. See `Condition`.
   */
  readonly waitFor?: Condition.Conditions<NoInfer<Parents[number]>> | undefined
  /**
   * Conditions that skip the task (Hatchet's `skip_if`): it does not run and completes with no
   * output, so its children receive `Option.none()` for it (they receive an `Option` of its output).
   */
  readonly skipIf?: SkipIf | undefined
  /** Conditions that cancel the task, and so the run (Hatchet's `cancel_if`). */
  readonly cancelIf?: Condition.Conditions<NoInfer<Parents[number]>> | undefined
}

/**
 * The options of `Workflow.durableTask`: a task's, but `slotCost` (a durable task takes one slot of
 * the durable pool), and its eviction settings (see `Task.DurableTaskOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DurableTaskOptions<
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends ReadonlyArray<string>,
  SkipIf extends Condition.Conditions<Parents[number]> | undefined = undefined
> extends Omit<TaskOptions<Output, Error, Parents, SkipIf>, "slotCost"> {
  /** After waiting this long for the engine, the task is evicted (default 15 minutes); `"never"` keeps it. */
  readonly evictAfter?: Duration.DurationInput | "never" | undefined
  /** Whether its worker may evict it when all its durable slots wait for the engine (default true). */
  readonly evictUnderPressure?: boolean | undefined
  /** Among durable tasks evicted for capacity, lower first (default 0). */
  readonly evictionPriority?: number | undefined
}

/**
 * The options of `Workflow.batchTask`: a task's, less what a batch cannot have (`retries` and
 * `backoff`: Hatchet runs each item once; `slotCost`: a batch takes one slot), plus `batch`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchTaskOptions<
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends ReadonlyArray<string>,
  SkipIf extends Condition.Conditions<Parents[number]> | undefined,
  Batch extends BatchSettings
> extends Omit<TaskOptions<Output, Error, Parents, SkipIf>, "retries" | "backoff" | "slotCost"> {
  /** How the engine gathers the runs' tasks into batches. */
  readonly batch: Batch
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HookOptions<Output extends Schema.Schema.AnyNoContext, Error extends ErrorSchema> extends TaskSettings {
  readonly output?: Output | undefined
  readonly error?: Error | undefined
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * The default input: an empty object.
 *
 * @since 0.1.0
 * @category constructors
 */
export const EmptyInput: Schema.Struct<{}> = Schema.Struct({})

/**
 * @since 0.1.0
 * @category guards
 */
export const isWorkflow = (u: unknown): u is Workflow.Any => typeof u === "object" && u !== null && TypeId in u

/**
 * Starts a workflow definition. Add tasks with `Workflow.task`, hooks with `Workflow.onFailure`
 * and `Workflow.onSuccess`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Name extends string, Input extends Schema.Schema.AnyNoContext = Schema.Struct<{}>>(
  name: Name,
  options?: WorkflowOptions<Input>
): Workflow<Name, Input> =>
  internal.makeWorkflowValue({
    kind: "workflow",
    name,
    input: options?.input ?? EmptyInput,
    settings: internal.pickWorkflowSettings(options ?? {}),
    tasks: [],
    onFailure: undefined,
    onSuccess: undefined
  }, TypeId)

const withSpec = (self: internal.HasSpec, f: (spec: internal.WorkflowSpec) => internal.WorkflowSpec) =>
  internal.makeWorkflowValue(f(internal.specOf(self)), TypeId)

/**
 * The options of a task added with `Workflow.task` (`Durable` false) or `Workflow.durableTask`.
 *
 * @since 0.1.0
 * @category combinators
 */
export type AddTaskOptions<
  Durable extends boolean,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends ReadonlyArray<string>,
  SkipIf extends Condition.Conditions<Parents[number]> | undefined
> = [Durable] extends [true] ? DurableTaskOptions<Output, Error, Parents, SkipIf> : TaskOptions<Output, Error, Parents, SkipIf>

/**
 * `Tasks` with the task `TaskName` added.
 *
 * @since 0.1.0
 * @category type-level
 */
export type WithTask<
  Tasks extends TaskMap,
  TaskName extends string,
  Output extends Schema.Schema.AnyNoContext,
  Error extends ErrorSchema,
  Parents extends string,
  Skippable extends boolean,
  Durable extends boolean,
  Batch extends BatchKind = false
> = Tasks & { readonly [K in TaskName]: TaskDefinition<K, Output, Error, Parents, Skippable, Durable, Batch> }

/**
 * The type of `Workflow.task` and `Workflow.durableTask`: adds a task named `TaskName` (durable
 * when `Durable` is true).
 *
 * @since 0.1.0
 * @category combinators
 */
export interface AddTask<Durable extends boolean> {
  <
    Tasks extends TaskMap,
    const TaskName extends string,
    Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
    Error extends ErrorSchema = typeof Schema.Never,
    const Parents extends ReadonlyArray<keyof Tasks & string> = readonly [],
    const SkipIf extends Condition.Conditions<NoInfer<Parents[number]>> | undefined = undefined
  >(
    name: TaskName extends keyof Tasks ? never : TaskName,
    options?: AddTaskOptions<Durable, Output, Error, Parents, SkipIf>
  ): <WName extends string, Input extends Schema.Schema.AnyNoContext, Hooks extends TaskMap>(
    self: Workflow<WName, Input, Tasks, Hooks>
  ) => Workflow<
    WName,
    Input,
    WithTask<Tasks, TaskName, Output, Error, Parents[number], IsSkippable<Tasks, Parents[number], SkipIf>, Durable>,
    Hooks
  >
  <
    WName extends string,
    Input extends Schema.Schema.AnyNoContext,
    Tasks extends TaskMap,
    Hooks extends TaskMap,
    const TaskName extends string,
    Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
    Error extends ErrorSchema = typeof Schema.Never,
    const Parents extends ReadonlyArray<keyof Tasks & string> = readonly [],
    const SkipIf extends Condition.Conditions<NoInfer<Parents[number]>> | undefined = undefined
  >(
    self: Workflow<WName, Input, Tasks, Hooks>,
    name: TaskName extends keyof Tasks ? never : TaskName,
    options?: AddTaskOptions<Durable, Output, Error, Parents, SkipIf>
  ): Workflow<
    WName,
    Input,
    WithTask<Tasks, TaskName, Output, Error, Parents[number], IsSkippable<Tasks, Parents[number], SkipIf>, Durable>,
    Hooks
  >
}

/**
 * Adds a task. `parents` may only name tasks added before it (so the DAG cannot have a cycle),
 * and each parent's decoded output is passed to the handler. `waitFor`, `skipIf` and `cancelIf`
 * take `Condition` values (a parent condition may only name a declared parent); a parent that may
 * be skipped reaches the handler as an `Option` of its output.
 *
 * @since 0.1.0
 * @category combinators
 */
export const task: AddTask<false> = dual(
  (args) => isWorkflow(args[0]),
  (self: Workflow.Any, name: string, options?: TaskOptions<any, any, ReadonlyArray<string>, any>) =>
    withSpec(self, (spec) => ({
      ...spec,
      tasks: [...spec.tasks, {
        name,
        role: "task",
        output: options?.output ?? Schema.Void,
        error: options?.error,
        parents: [...(options?.parents ?? [])],
        settings: internal.pickTaskSettings(options ?? {}),
        conditions: options?.waitFor === undefined && options?.skipIf === undefined && options?.cancelIf === undefined
          ? undefined
          : {
            waitFor: Condition.toArray(options.waitFor),
            skipIf: Condition.toArray(options.skipIf),
            cancelIf: Condition.toArray(options.cancelIf)
          }
      }]
    }))
)

/**
 * Adds a durable task (Hatchet's `workflow.durableTask`): as `Workflow.task`, but registered with
 * `is_durable`, run on the worker's durable slots, and its handler may use `DurableContext`
 * (durable sleeps, event waits, memoized steps, children: see `DurableContext`). It has no
 * `slotCost` (a durable task takes one slot of the durable pool).
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 *
 * const Signup = Workflow.make("signup", { input: Schema.Struct({ email: Schema.String }) }).pipe(
 *   Workflow.task("create-account", { output: Schema.Struct({ userId: Schema.String }) }),
 *   Workflow.durableTask("nurture", { parents: ["create-account"], executionTimeout: "1 hour" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const durableTask: AddTask<true> = dual(
  (args) => isWorkflow(args[0]),
  (self: Workflow.Any, name: string, options?: DurableTaskOptions<any, any, ReadonlyArray<string>, any>) =>
    withSpec(task(self, name as never, options as never), (spec) => ({
      ...spec,
      tasks: spec.tasks.map((t) => (t.name === name ? { ...t, ...internal.durableSpec(options) } : t))
    }))
)

/**
 * The kind of batch task `Workflow.batchTask` adds for the settings `Batch`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type BatchKindOf<Batch extends BatchSettings> = Batch["broadcastOutput"] extends true ? "broadcast" : "each"

/**
 * The type of `Workflow.batchTask`: adds a batch task named `TaskName`.
 *
 * @since 0.1.0
 * @category combinators
 */
export interface AddBatchTask {
  <
    Tasks extends TaskMap,
    const TaskName extends string,
    const Batch extends BatchSettings,
    Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
    Error extends ErrorSchema = typeof Schema.Never,
    const Parents extends ReadonlyArray<keyof Tasks & string> = readonly [],
    const SkipIf extends Condition.Conditions<NoInfer<Parents[number]>> | undefined = undefined
  >(
    name: TaskName extends keyof Tasks ? never : TaskName,
    options: BatchTaskOptions<Output, Error, Parents, SkipIf, Batch>
  ): <WName extends string, Input extends Schema.Schema.AnyNoContext, Hooks extends TaskMap>(
    self: Workflow<WName, Input, Tasks, Hooks>
  ) => Workflow<
    WName,
    Input,
    WithTask<Tasks, TaskName, Output, Error, Parents[number], IsSkippable<Tasks, Parents[number], SkipIf>, false, BatchKindOf<Batch>>,
    Hooks
  >
  <
    WName extends string,
    Input extends Schema.Schema.AnyNoContext,
    Tasks extends TaskMap,
    Hooks extends TaskMap,
    const TaskName extends string,
    const Batch extends BatchSettings,
    Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
    Error extends ErrorSchema = typeof Schema.Never,
    const Parents extends ReadonlyArray<keyof Tasks & string> = readonly [],
    const SkipIf extends Condition.Conditions<NoInfer<Parents[number]>> | undefined = undefined
  >(
    self: Workflow<WName, Input, Tasks, Hooks>,
    name: TaskName extends keyof Tasks ? never : TaskName,
    options: BatchTaskOptions<Output, Error, Parents, SkipIf, Batch>
  ): Workflow<
    WName,
    Input,
    WithTask<Tasks, TaskName, Output, Error, Parents[number], IsSkippable<Tasks, Parents[number], SkipIf>, false, BatchKindOf<Batch>>,
    Hooks
  >
}

/**
 * Adds a batch task (Hatchet's `workflow.batchTask`, beta upstream, engine v0.98.0 or newer): a
 * task of the DAG like `Workflow.task` (its parents, `waitFor`, `skipIf` and `cancelIf` alike; the
 * official SDKs offer parents on a batch task but not conditions, which the engine holds as any
 * task's),
 * whose handler gets many runs at once: once a run's task is due, the engine gathers it with the
 * due tasks of other runs of the same `batch.groupKey` (a CEL expression over the run's input) and
 * flushes them when `batch.maxSize` are waiting or `batch.maxInterval` after the previous flush.
 * The handler gets the decoded workflow inputs of the batch's runs and, at the same index, each
 * run's parent outputs, and returns one output per run in the same order (or, with
 * `broadcastOutput`, one output every run gets); each run goes on with its own output, so the
 * task's children see it as any parent's. `BatchContext` says which runs the items are. A batch
 * takes one slot and is not retried (`retries`, `backoff` and `slotCost` are refused; the
 * workflow's `taskDefaults.retries` does not apply to it, as the official SDKs send 0). A run whose
 * input or parent outputs do not decode fails alone (`InvalidInput`); a failure of the handler
 * fails the task in every run of the batch, and so those runs.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 *
 * // the application's model: one vector per text
 * const embed = (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((text) => [text.length]))
 *
 * export const Ingest = Workflow.make("ingest", { input: Schema.Struct({ url: Schema.String }) }).pipe(
 *   Workflow.task("fetch", { output: Schema.Struct({ text: Schema.String }) }),
 *   Workflow.batchTask("embed", {
 *     parents: ["fetch"],
 *     output: Schema.Struct({ vector: Schema.Array(Schema.Number) }),
 *     batch: { maxSize: 64, maxInterval: "200 millis" }
 *   }),
 *   Workflow.task("store", { parents: ["embed"] })
 * )
 *
 * export const IngestLive = Ingest.toLayer({
 *   fetch: (input) => Effect.succeed({ text: `contents of ${input.url}` }),
 *   // one call for up to 64 runs: parents[i] are the parent outputs of the run of inputs[i]
 *   embed: (_inputs, parents) =>
 *     Effect.map(embed(parents.map((p) => p.fetch.text)), (vectors) => vectors.map((vector) => ({ vector }))),
 *   store: (_input, parents) => Effect.log(`stored ${parents.embed.vector.length} numbers`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const batchTask: AddBatchTask = dual(
  (args) => isWorkflow(args[0]),
  (self: Workflow.Any, name: string, options: BatchTaskOptions<any, any, ReadonlyArray<string>, any, BatchSettings>) => {
    const { batch, ...rest } = options
    return withSpec(task(self, name as never, rest as never), (spec) => ({
      ...spec,
      tasks: spec.tasks.map((t) => (t.name === name ? { ...t, batch } : t))
    }))
  }
)

/**
 * The type of `Workflow.onFailure` and `Workflow.onSuccess`: adds the hook named `HookName`.
 *
 * @since 0.1.0
 * @category combinators
 */
export interface AddHook<HookName extends string> {
  <Output extends Schema.Schema.AnyNoContext = typeof Schema.Void, Error extends ErrorSchema = typeof Schema.Never>(
    options?: HookOptions<Output, Error>
  ): <WName extends string, Input extends Schema.Schema.AnyNoContext, Tasks extends TaskMap, Hooks extends TaskMap>(
    self: Workflow<WName, Input, Tasks, Hooks>
  ) => Workflow<WName, Input, Tasks, Hooks & { readonly [K in HookName]: TaskDefinition<K, Output, Error, never> }>
  <
    WName extends string,
    Input extends Schema.Schema.AnyNoContext,
    Tasks extends TaskMap,
    Hooks extends TaskMap,
    Output extends Schema.Schema.AnyNoContext = typeof Schema.Void,
    Error extends ErrorSchema = typeof Schema.Never
  >(
    self: Workflow<WName, Input, Tasks, Hooks>,
    options?: HookOptions<Output, Error>
  ): Workflow<WName, Input, Tasks, Hooks & { readonly [K in HookName]: TaskDefinition<K, Output, Error, never> }>
}

const addHook = (role: "on-failure" | "on-success", key: "onFailure" | "onSuccess") =>
  dual(
    (args) => isWorkflow(args[0]),
    (self: Workflow.Any, options?: HookOptions<any, any>) =>
      withSpec(self, (spec) => ({ ...spec, [key]: internal.hookSpec(role, options ?? {}) }))
  )

/**
 * Adds the on-failure task (readable id `on-failure-task`). It runs once, as soon as a task of
 * the run fails for good; its handler gets the input and the failures, decoded to each task's typed
 * error or `TaskFailed`. The run stays FAILED even when it succeeds.
 *
 * @since 0.1.0
 * @category combinators
 */
export const onFailure: AddHook<"on-failure-task"> = addHook("on-failure", "onFailure")

/**
 * Adds the on-success task (readable id `on-success-task`): a normal task whose parents are the
 * workflow's leaves (computed from all tasks, whenever they are added), as upstream SDKs do. Its
 * output appears in the run's result under `"on-success-task"`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const onSuccess: AddHook<"on-success-task"> = addHook("on-success", "onSuccess")

// -----------------------------------------------------------------------------
// operations
// -----------------------------------------------------------------------------

/**
 * Checks a definition the way the engine would, and more: names, durations, cron expressions,
 * retries and backoff ranges, priorities, worker labels, slot cost, and the DAG (unknown parent,
 * cycle, duplicate or reserved task names), and the CEL expressions of conditions, compiled as
 * Hatchet compiles them (it would skip one that does not compile, and the task would wait for
 * ever). Fails with every problem at once (the CEL once the rest holds). The worker runs this
 * before registering; the client runs all but the CEL before triggering.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (definition: Definition): Effect.Effect<void, WorkflowDefinitionError> =>
  Either.match(compileSpec(internal.specOf(definition), ""), {
    onLeft: Eff.fail,
    onRight: (compiled) => checkExpressions(compiled.spec.name, compiled.expressions)
  })

/**
 * The implementation of a definition, from the context (where its `toLayer` put it).
 *
 * @since 0.1.0
 * @category accessors
 */
export const implementation = <D extends Definition>(
  definition: D
): Effect.Effect<ImplementationShape, never, ImplementationOf<D>> => internal.implementationTag(internal.specOf(definition).name) as any

/**
 * The readable ids of the hooks, as they appear in results, `parents` and handler maps.
 *
 * @since 0.1.0
 * @category constants
 */
export const HookNames = { onFailure: ON_FAILURE_TASK, onSuccess: ON_SUCCESS_TASK } as const
