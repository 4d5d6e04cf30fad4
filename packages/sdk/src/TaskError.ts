/**
 * Errors that describe how a task failed.
 *
 * - `NonRetryableError` wraps a task failure so that Hatchet does not retry it
 *   (`should_not_retry` on the FAILED event).
 * - `TaskFailed` is a task failure as read back from the wire when it is not one of the task's
 *   declared (typed) errors: a defect, an undeclared failure, invalid input, an oversized output,
 *   an engine timeout or cancellation, or a failure reported by another SDK's worker.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Data, Effect as Eff, Schema } from "effect"

/**
 * Marks a task failure as final: the worker reports it with `should_not_retry = true`, so the
 * engine does not retry the task even if it has retries left.
 *
 * When the wrapped `error` matches the task's declared `error` schema it still travels the wire as
 * that typed error; the client decodes it back to the typed error, not to this wrapper.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskError } from "@effect-hatchet/sdk"
 *
 * const charge = Effect.fail(new CardDeclined({ reason: "expired" })).pipe(TaskError.nonRetryable)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NonRetryableError<E = unknown> extends Data.TaggedError("NonRetryableError")<{
  readonly error: E
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const error: unknown = this.error
    if (typeof error === "string") return error
    if (error instanceof Error && error.message !== "") return error.message
    if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
    return "non-retryable task failure"
  }
}

/**
 * Wraps every failure of an effect in `NonRetryableError`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const nonRetryable = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, NonRetryableError<E>, R> =>
  Eff.mapError(self, (error) => new NonRetryableError({ error }))

/**
 * Why a task failed, when the failure is not a declared typed error.
 *
 * - `Failure`: the handler failed with an error that is not in the task's `error` schema
 * - `Defect`: the handler died (a bug, a thrown exception)
 * - `InvalidInput`: the input or a parent output did not decode with its Schema (never retried)
 * - `InvalidOutput`: the handler's output did not encode with the task's `output` Schema (never retried)
 * - `OutputTooLarge`: the encoded output is larger than the gRPC send limit (never retried)
 * - `Interrupted`: the worker was shut down (or the fiber interrupted) before the task finished
 * - `Timeout`: the engine's execution timeout (`"Task exceeded timeout of ..."`)
 * - `Cancelled`: the task was cancelled (the engine reports an empty error)
 * - `Unknown`: a failure text this SDK did not write (another SDK's worker, or the engine)
 *
 * @since 0.1.0
 * @category models
 */
export const TaskFailedKind = Schema.Literal(
  "Failure",
  "Defect",
  "InvalidInput",
  "InvalidOutput",
  "OutputTooLarge",
  "Interrupted",
  "Timeout",
  "Cancelled",
  "Unknown"
)

/**
 * @since 0.1.0
 * @category models
 */
export type TaskFailedKind = typeof TaskFailedKind.Type

/**
 * A task failure that is not one of the task's declared typed errors. `message` is the readable
 * text; `stack` holds the pretty-printed cause or stack when the worker sent one.
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>("@effect-hatchet/sdk/TaskFailed")("TaskFailed", {
  taskName: Schema.String,
  kind: TaskFailedKind,
  message: Schema.String,
  stack: Schema.optional(Schema.String)
}) {}
