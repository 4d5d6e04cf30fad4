/**
 * Standalone tasks: a one-task workflow whose run result is the task's output.
 *
 * On the wire a standalone task is a workflow named like the task with a single task of the same
 * name, as the official SDKs register it. A client awaiting it unwraps `result[name]`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task } from "@effect-hatchet/sdk"
 *
 * export const SendEmail = Task.make("send-email", {
 *   input: Schema.Struct({ to: Schema.String }),
 *   output: Schema.Struct({ messageId: Schema.String }),
 *   retries: 2,
 *   onEvents: ["user:signed-up"]
 * })
 *
 * export const SendEmailLive = SendEmail.toLayer((input) => Mailer.send(input.to))
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Layer, Pipeable, Scope } from "effect"
import { Schema } from "effect"
import type { TaskContext } from "./TaskContext.js"
import type { HandlerError } from "./TaskError.js"
import type { ErrorSchema, Implementation, TaskSettings, WorkflowSettings } from "./Workflow.js"
import * as internal from "./internal/definition.js"

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
> extends Pipeable.Pipeable, internal.HasSpec {
  readonly [TypeId]: TypeId
  readonly kind: "task"
  readonly name: Name
  readonly input: Input
  readonly output: Output
  /** `Schema.Never` when the task declares no error. */
  readonly error: Error
  readonly settings: WorkflowSettings & TaskSettings
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
): Task<Name, Input, Output, Error> => {
  const o = options ?? {}
  return internal.makeTaskValue({
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
      settings: internal.pickTaskSettings(o)
    }],
    onFailure: undefined,
    onSuccess: undefined
  }, TypeId)
}
