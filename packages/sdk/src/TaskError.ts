/**
 * Errors that describe how a task failed.
 *
 * A handler may fail only with its task's declared `error`, or with these markers:
 *
 * - `NonRetryableError` wraps a task failure so that Hatchet does not retry it
 *   (`should_not_retry` on the FAILED event);
 * - `UndeclaredError` fails the task with an error its definition does not declare, on purpose
 *   (`TaskError.undeclared`); the client sees a `TaskFailed` of kind `Failure` with its message.
 *
 * And what a client reads back:
 *
 * - `TaskFailed` is a task failure as read back from the wire when it is not one of the task's
 *   declared (typed) errors: a defect, an undeclared failure, invalid input, an oversized output,
 *   an engine timeout or cancellation, or a failure reported by another SDK's worker.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Eff from "effect/Effect"
import * as Schema from "effect/Schema"

/** The message of a wrapper: the wrapped error's message, or its tag. */
const wrappedMessage = (error: unknown, fallback: string): string => {
  if (typeof error === "string") return error
  if (error instanceof Error && error.message !== "") return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return fallback
}

/**
 * Marks a task failure as final: the worker reports it with `should_not_retry = true`, so the
 * engine does not retry the task even if it has retries left.
 *
 * When the wrapped `error` matches the task's declared `error` schema it still travels the wire as
 * that typed error; the client decodes it back to the typed error, not to this wrapper.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { TaskError } from "@effect-hatchet/sdk"
 *
 * class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}
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
    return wrappedMessage(this.error, "non-retryable task failure")
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
 * A failure the task's definition does not declare, made on purpose: the worker reports it as
 * an untyped failure (retried like any other unless also non-retryable), and the client reads it
 * back as a `TaskFailed` of kind `Failure` whose message describes `error`.
 *
 * @since 0.1.0
 * @category errors
 */
export class UndeclaredError extends Data.TaggedError("UndeclaredError")<{
  readonly error: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return wrappedMessage(this.error, "undeclared task failure")
  }
}

/**
 * Wraps every failure of an effect in `UndeclaredError`, so that a handler may fail with errors
 * its task does not declare (they reach the client as `TaskFailed`, kind `Failure`). Prefer
 * declaring the errors a caller may want to handle in the task's `error` Schema.
 *
 * @example
 * ```ts
 * import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
 * import { TaskError } from "@effect-hatchet/sdk"
 *
 * class StorageError extends Data.TaggedError("StorageError")<{ readonly cause: unknown }> {}
 * const insert = (row: { readonly id: string }) => Effect.fail(new StorageError({ cause: `cannot insert ${row.id}` }))
 *
 * // a storage error the caller cannot act on: fail the task (retried) without declaring it
 * const save = (row: { readonly id: string }) => insert(row).pipe(TaskError.undeclared)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const undeclared = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, UndeclaredError, R> =>
  Eff.mapError(self, (error) => new UndeclaredError({ error }))

/**
 * What a handler of a task declaring the errors `E` may fail with: `E`, an `UndeclaredError`
 * (an undeclared failure written on purpose), or either wrapped in `NonRetryableError`.
 * Anything else is a type error: declare it, handle it, or mark it with `undeclared`
 * (`Effect.orDie` also works: a defect, reported as `TaskFailed` of kind `Defect`).
 *
 * @since 0.1.0
 * @category models
 */
export type HandlerError<E> = E | UndeclaredError | NonRetryableError<E | UndeclaredError>

/**
 * Why a task failed, when the failure is not a declared typed error.
 *
 * - `Failure`: the handler failed with an error that is not in the task's `error` schema
 *   (`UndeclaredError`)
 * - `Defect`: the handler died (a bug, a thrown exception)
 * - `InvalidInput`: the input or a parent output did not decode with its Schema (never retried)
 * - `InvalidOutput`: the handler's output did not encode with the task's `output` Schema (never retried)
 * - `OutputTooLarge`: the encoded output is larger than the gRPC send limit (never retried)
 * - `Interrupted`: the worker was shut down (or the fiber interrupted) before the task finished
 * - `Timeout`: the engine's execution timeout (`"Task exceeded timeout of ..."`)
 * - `ScheduleTimeout`: no worker took the task within its `scheduleTimeout` (the engine cancels it,
 *   recording `SCHEDULING_TIMED_OUT`)
 * - `Cancelled`: the task was cancelled (the engine reports an empty error): by a user, by a
 *   concurrency strategy (the message says so), or because a parent failed
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
  "ScheduleTimeout",
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
