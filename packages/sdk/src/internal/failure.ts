/**
 * The FAILED `event_payload` format, written by the worker and read by the client (and by the
 * on-failure task through `step_run_errors`, which carries the same text).
 *
 * ```json
 * {
 *   "message": "CardDeclined: card expired",
 *   "stack": "... optional: the pretty cause or the error's stack ...",
 *   "effect_hatchet": { "v": 1, "kind": "Failure", "error": { "_tag": "CardDeclined", "reason": "expired" } }
 * }
 * ```
 *
 * `message` stays a top-level string (the official TS SDK writes `{message, stack}`), so other SDKs'
 * clients and the engine's `error` text remain readable. `effect_hatchet.error` is present only
 * when the failure matched the task's `error` Schema; it holds the Schema-encoded value.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { NonRetryableError, TaskFailed, TaskFailedKind, UndeclaredError } from "../TaskError.js"
import type { TaskSpec } from "./definition.js"

/** The key of our metadata block in the payload. */
export const MARKER = "effect_hatchet"

/** The version of the metadata block. */
export const VERSION = 1

/** The JSON shape of a FAILED payload written by this SDK. */
export interface FailurePayload {
  readonly message: string
  readonly stack?: string | undefined
  readonly [MARKER]: {
    readonly v: number
    readonly kind: TaskFailedKind
    readonly error?: unknown
  }
}

/** A failure ready for `SendStepActionEvent(FAILED)`. */
export interface EncodedFailure {
  readonly payload: string
  readonly shouldNotRetry: boolean
  readonly kind: TaskFailedKind
  readonly message: string
}

/** Builds the payload text for a failure of the given kind. */
export const failurePayload = (
  kind: TaskFailedKind,
  message: string,
  options?: { readonly stack?: string | undefined; readonly error?: unknown }
): string => {
  const meta: { v: number; kind: TaskFailedKind; error?: unknown } = { v: VERSION, kind }
  if (options?.error !== undefined) meta.error = options.error
  const payload: Record<string, unknown> = { message }
  if (options?.stack !== undefined && options.stack !== "") payload.stack = options.stack
  payload[MARKER] = meta
  return stripNul(JSON.stringify(payload))
}

/** A failure of the given kind, ready to send. */
export const encodedFailure = (
  kind: TaskFailedKind,
  message: string,
  options?: { readonly stack?: string | undefined; readonly shouldNotRetry?: boolean }
): EncodedFailure => ({
  payload: failurePayload(kind, message, { stack: options?.stack }),
  shouldNotRetry: options?.shouldNotRetry ?? false,
  kind,
  message
})

/**
 * Encodes a failed handler's cause: a typed failure (encoded with the task's `error` Schema when
 * it matches), an untyped failure, or a defect. `NonRetryableError` sets `shouldNotRetry`;
 * `UndeclaredError` is unwrapped (its error described, as any failure that is not declared).
 * Interruption-only causes are not failures; the caller decides what they mean.
 */
export const encodeCause = (task: TaskSpec, cause: Cause.Cause<unknown>): Effect.Effect<EncodedFailure> =>
  Effect.gen(function*() {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const nonRetryable = failure.value instanceof NonRetryableError
      const marked: unknown = nonRetryable ? (failure.value as NonRetryableError).error : failure.value
      const error: unknown = marked instanceof UndeclaredError ? marked.error : marked
      const message = describe(error)
      const schema = errorSchema(task)
      if (schema !== undefined && Schema.is(schema)(error)) {
        const encoded = yield* Effect.option(Schema.encode(schema)(error))
        if (Option.isSome(encoded)) {
          return {
            payload: failurePayload("Failure", message, { error: encoded.value }),
            shouldNotRetry: nonRetryable,
            kind: "Failure",
            message
          }
        }
      }
      return encodedFailure("Failure", message, {
        stack: error instanceof Error ? error.stack : undefined,
        shouldNotRetry: nonRetryable
      })
    }
    const defect = Cause.dieOption(cause)
    const message = Option.isSome(defect) ? describe(defect.value) : "task failed"
    return encodedFailure("Defect", message, { stack: Cause.pretty(cause) })
  })

/**
 * Decodes a failure text (`StepRunResult.error`, `step_run_errors[...]`, REST error) back to the
 * task's typed error when possible, or to `TaskFailed`.
 */
export const decodeFailure = (
  task: TaskSpec | undefined,
  taskName: string,
  text: string
): Effect.Effect<unknown> =>
  Effect.gen(function*() {
    if (text === "") {
      return new TaskFailed({ taskName, kind: "Cancelled", message: "the task was cancelled" })
    }
    const parsed = parseJson(text)
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>
      const message = typeof record.message === "string" ? record.message : text
      const stack = typeof record.stack === "string" ? record.stack : undefined
      const meta = record[MARKER]
      if (typeof meta === "object" && meta !== null) {
        const { error, kind } = meta as { readonly kind?: unknown; readonly error?: unknown }
        const schema = task === undefined ? undefined : errorSchema(task)
        if (kind === "Failure" && error !== undefined && schema !== undefined) {
          const decoded = yield* Effect.option(Schema.decodeUnknown(schema)(error))
          if (Option.isSome(decoded)) return decoded.value
        }
        return taskFailed(taskName, isKind(kind) ? kind : "Unknown", message, stack)
      }
      if (typeof record.message === "string") return taskFailed(taskName, "Unknown", message, stack)
    }
    if (text.startsWith("Task exceeded timeout of")) return taskFailed(taskName, "Timeout", text, undefined)
    return taskFailed(taskName, "Unknown", text, undefined)
  })

const errorSchema = (task: TaskSpec): Schema.Schema<unknown> | undefined => task.error as Schema.Schema<unknown> | undefined

const taskFailed = (taskName: string, kind: TaskFailedKind, message: string, stack: string | undefined) =>
  new TaskFailed(stack === undefined ? { taskName, kind, message } : { taskName, kind, message, stack })

const isKind = Schema.is(TaskFailedKind)

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A one-line description of any failure value. */
export const describe = (error: unknown): string => {
  if (typeof error === "string") return error
  if (error instanceof Error) {
    const tag = (error as { readonly _tag?: unknown })._tag
    const name = typeof tag === "string" ? tag : error.name
    return error.message === "" ? name : `${name}: ${error.message}`
  }
  if (typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string") {
    return `${(error as { _tag: string })._tag}: ${Inspectable.toStringUnknown(error, 0)}`
  }
  return Inspectable.toStringUnknown(error, 0)
}

/** The engine rejects `\u0000` in stored text; replace it. */
const stripNul = (text: string): string => text.includes("\\u0000") ? text.replaceAll("\\u0000", "\\ufffd") : text

/** A final failure caused by a ParseError: `<prefix>: <issues>`, with the tree as the stack. */
export const parseFailure = (
  kind: "InvalidInput" | "InvalidOutput",
  prefix: string,
  error: ParseResult.ParseError
): EncodedFailure =>
  encodedFailure(kind, `${prefix}: ${formatParseError(error)}`, {
    stack: ParseResult.TreeFormatter.formatErrorSync(error),
    shouldNotRetry: true
  })

/** Formats a ParseError as `path: message` per issue (at most 5), e.g. `amount: Expected number, actual "x"`. */
export const formatParseError = (error: ParseResult.ParseError): string => {
  const lines = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`
  )
  return lines.length > 5 ? `${lines.slice(0, 5).join("; ")}; and ${lines.length - 5} more` : lines.join("; ")
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`).join("")
