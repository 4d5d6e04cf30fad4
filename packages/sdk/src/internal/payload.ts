/**
 * The task side of the wire: `action_payload` (the engine's `V1StepRunData` JSON) in, the
 * COMPLETED `event_payload` out, with the definition's Schemas applied.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { TaskSpec, WorkflowSpec } from "./definition.js"
import { findTask, isSkippable, parentsOf } from "./definition.js"
import { decodeFailure, type EncodedFailure, encodedFailure, parseFailure } from "./failure.js"

/** The parts of `V1StepRunData` a task uses. */
export interface StepRunData {
  readonly input: unknown
  readonly parents: Readonly<Record<string, unknown>>
  readonly stepRunErrors: Readonly<Record<string, string>>
  /** `triggers.filter_payload`: the payload of the event filter that triggered the run, if one did. */
  readonly filterPayload: Readonly<Record<string, unknown>> | undefined
  /**
   * The rest of `triggers`: the data of the step conditions that were met, by readable data key
   * (an event's payload, a sleep's `{ sleep_duration }`).
   */
  readonly triggers: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

/** What Hatchet records as the output of a skipped task (and hands its children as that parent's output). */
export const SKIPPED_OUTPUT: Readonly<Record<string, unknown>> = { skipped: true }

/** Whether a parent output (or a task result) is Hatchet's mark of a skipped task: exactly `{"skipped": true}`. */
export const isSkippedOutput = (u: unknown): boolean => {
  if (!isRecord(u)) return false
  const keys = Object.keys(u)
  return keys.length === 1 && keys[0] === "skipped" && u.skipped === true
}

/** The parents of a task the engine marked as skipped. */
export const skippedParents = (spec: WorkflowSpec, task: TaskSpec, data: StepRunData): ReadonlyArray<string> =>
  task.role === "on-failure" ? [] : parentsOf(spec, task).filter((name) => isSkippedOutput(data.parents[name]))

/** The gRPC default max message size (4 MiB), the engine's and the official SDKs'. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

/** Room left in a message for the fields around the payload. */
export const ENVELOPE_BYTES = 16 * 1024

/** Parses `action_payload`. A payload that is not a JSON object is an error (a message). */
export const parseStepRunData = (actionPayload: string): Either.Either<StepRunData, string> => {
  let parsed: unknown
  try {
    parsed = actionPayload === "" ? {} : JSON.parse(actionPayload)
  } catch (e) {
    return Either.left(`the action payload is not valid JSON (${(e as Error).message})`)
  }
  return stepRunDataOf(parsed)
}

/** The `StepRunData` of an action payload already parsed (a batch item's `payload`). */
export const stepRunDataOf = (parsed: unknown): Either.Either<StepRunData, string> => {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return Either.left("the action payload is not a JSON object")
  }
  const data = parsed as Record<string, unknown>
  return Either.right(
    new ParsedStepRunData(
      data.input ?? {},
      asRecord(data.parents),
      asRecord(data.step_run_errors) as Record<string, string>,
      filterPayloadOf(data.triggers),
      conditionDataOf(data.triggers)
    )
  )
}

/** A `StepRunData`: a class rather than an object literal, made per attempt (see ./attempt.ts on V8's pretenuring). */
class ParsedStepRunData implements StepRunData {
  constructor(
    readonly input: unknown,
    readonly parents: Readonly<Record<string, unknown>>,
    readonly stepRunErrors: Readonly<Record<string, string>>,
    readonly filterPayload: Readonly<Record<string, unknown>> | undefined,
    readonly triggers: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  ) {}
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

const filterPayloadOf = (triggers: unknown): Readonly<Record<string, unknown>> | undefined => {
  if (!isRecord(triggers)) return undefined
  const payload = triggers.filter_payload
  return isRecord(payload) ? payload : undefined
}

const conditionDataOf = (triggers: unknown): Readonly<Record<string, Readonly<Record<string, unknown>>>> => {
  const out: Record<string, Readonly<Record<string, unknown>>> = {}
  if (!isRecord(triggers)) return out
  for (const [key, value] of Object.entries(triggers)) {
    if (key !== "filter_payload" && isRecord(value)) out[key] = value
  }
  return out
}

const asRecord = (u: unknown): Readonly<Record<string, unknown>> => (isRecord(u) ? u : {})

/** The decoded arguments of a handler: the input and, depending on the task, parents or failures. */
export interface TaskArguments {
  readonly input: unknown
  readonly parents: unknown
}

/** `TaskArguments`: a class rather than an object literal, made per attempt (see ./attempt.ts on V8's pretenuring). */
class DecodedArguments implements TaskArguments {
  constructor(readonly input: unknown, readonly parents: unknown) {}
}

/**
 * Decodes a handler's arguments. Any problem is an `InvalidInput` failure (never retried) whose
 * message names the task and the offending field.
 *
 * Schemas usually decode synchronously: that is tried first, and only a value the synchronous
 * decoding rejects (invalid, or a Schema with asynchronous parts) goes through the effectful
 * decoding, which gives the result and the error messages.
 */
export const decodeArguments = (
  spec: WorkflowSpec,
  task: TaskSpec,
  data: StepRunData
): Effect.Effect<TaskArguments, EncodedFailure> => {
  const decoded = decodeArgumentsSync(spec, task, data)
  return decoded !== undefined ? Effect.succeed(decoded) : decodeArgumentsEffect(spec, task, data)
}

const decoders = new WeakMap<Schema.Schema.AnyNoContext, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const encoders = new WeakMap<Schema.Schema.AnyNoContext, (a: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

/** The synchronous decoder (all errors) of a task's Schema, made once per Schema, not per message. */
const decoderOf = (schema: Schema.Schema.AnyNoContext) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEither(schema, { errors: "all" })
    decoders.set(schema, decode)
  }
  return decode
}

/** The synchronous encoder of a task's output Schema, made once per Schema. */
const encoderOf = (schema: Schema.Schema.AnyNoContext) => {
  let encode = encoders.get(schema)
  if (encode === undefined) {
    encode = Schema.encodeEither(schema) as (a: unknown) => Either.Either<unknown, ParseResult.ParseError>
    encoders.set(schema, encode)
  }
  return encode
}

/** The arguments when every Schema decodes them synchronously, else `undefined` (then see `decodeArguments`). */
export const decodeArgumentsSync = (spec: WorkflowSpec, task: TaskSpec, data: StepRunData): TaskArguments | undefined => {
  if (task.role === "on-failure") return undefined
  const input = decoderOf(spec.input)(data.input)
  if (Either.isLeft(input)) return undefined
  const parents: Record<string, unknown> = {}
  for (const name of parentsOf(spec, task)) {
    const parent = findTask(spec, name)
    if (parent === undefined) continue
    if (!(name in data.parents)) return undefined
    const raw = data.parents[name]
    const skippable = isSkippable(spec, parent)
    if (skippable && isSkippedOutput(raw)) {
      parents[name] = Option.none()
      continue
    }
    const output = decoderOf(parent.output)(raw)
    if (Either.isLeft(output)) return undefined
    parents[name] = skippable ? Option.some(output.right) : output.right
  }
  return new DecodedArguments(input.right, parents)
}

/**
 * `decodeArguments`'s effectful decoding alone: for a caller that tried `decodeArgumentsSync`
 * already (the results and messages of a value it rejected, or of an asynchronous Schema).
 */
export const decodeArgumentsEffect = (
  spec: WorkflowSpec,
  task: TaskSpec,
  data: StepRunData
): Effect.Effect<TaskArguments, EncodedFailure> =>
  Effect.gen(function*() {
    const where = `task "${task.name}" of workflow "${spec.name}"`
    const input = yield* decodeWith(spec.input, data.input, `Invalid input for ${where}`)
    if (task.role === "on-failure") {
      const failures: Record<string, unknown> = {}
      for (const [name, text] of Object.entries(data.stepRunErrors)) {
        failures[name] = yield* decodeFailure(findTask(spec, name), name, typeof text === "string" ? text : "")
      }
      return new DecodedArguments(input, failures)
    }
    const parents: Record<string, unknown> = {}
    for (const name of parentsOf(spec, task)) {
      const parent = findTask(spec, name)
      if (parent === undefined) continue
      if (!(name in data.parents)) {
        return yield* Effect.fail(
          encodedFailure("InvalidInput", `Invalid input for ${where}: the output of parent task "${name}" is missing`, {
            shouldNotRetry: true
          })
        )
      }
      const raw = data.parents[name]
      const skippable = isSkippable(spec, parent)
      if (skippable && isSkippedOutput(raw)) {
        parents[name] = Option.none()
        continue
      }
      const output = yield* decodeWith(parent.output, raw, `Invalid output of parent task "${name}" for ${where}`)
      parents[name] = skippable ? Option.some(output) : output
    }
    return new DecodedArguments(input, parents)
  })

const decodeWith = (
  schema: Schema.Schema.AnyNoContext,
  value: unknown,
  prefix: string
): Effect.Effect<unknown, EncodedFailure> =>
  Effect.mapError(
    Schema.decodeUnknown(schema, { errors: "all" })(value),
    (error) => parseFailure("InvalidInput", prefix, error)
  )

/**
 * Encodes a handler's output with the task's `output` Schema into the COMPLETED payload, and
 * checks it fits in one gRPC message. Failures are final (`shouldNotRetry`). As for decoding, the
 * synchronous encoding is tried first.
 */
export const encodeOutput = (
  spec: WorkflowSpec,
  task: TaskSpec,
  value: unknown,
  maxMessageBytes: number
): Effect.Effect<string, EncodedFailure> => {
  const encoded = encoderOf(task.output)(value)
  if (Either.isRight(encoded)) return outputJson(spec, task, encoded.right, maxMessageBytes)
  return Effect.flatMap(
    Effect.mapError(
      Schema.encode(task.output)(value),
      (error) => parseFailure("InvalidOutput", `Invalid output of task "${task.name}" of workflow "${spec.name}"`, error)
    ),
    (encoded) => outputJson(spec, task, encoded, maxMessageBytes)
  )
}

/** The encoded output as JSON, if it fits in one message. */
const outputJson = (
  spec: WorkflowSpec,
  task: TaskSpec,
  encoded: unknown,
  maxMessageBytes: number
): Effect.Effect<string, EncodedFailure> => {
  const where = () => `task "${task.name}" of workflow "${spec.name}"`
  let json: string
  try {
    json = JSON.stringify(encoded ?? null) ?? "null"
  } catch (e) {
    return Effect.fail(
      encodedFailure("InvalidOutput", `The output of ${where()} is not JSON-serializable: ${(e as Error).message}`, {
        shouldNotRetry: true
      })
    )
  }
  const limit = maxMessageBytes - ENVELOPE_BYTES
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only measure when it could matter
  if (json.length * 3 > limit) {
    const bytes = utf8Length(json)
    if (bytes > limit) {
      return Effect.fail(
        encodedFailure(
          "OutputTooLarge",
          `The output of ${where()} is ${formatBytes(bytes)} (${bytes} bytes) once encoded, more than the ${
            formatBytes(maxMessageBytes)
          } gRPC message limit allows; store large data elsewhere and return a reference`,
          { shouldNotRetry: true }
        )
      )
    }
  }
  return Effect.succeed(json)
}

/** Decodes a COMPLETED output text with the task's `output` Schema (client side, tests). */
export const decodeOutput = (
  task: TaskSpec,
  text: string
): Effect.Effect<unknown, ParseResult.ParseError> =>
  Effect.suspend(() => {
    let value: unknown
    try {
      value = text === "" ? null : JSON.parse(text)
    } catch (e) {
      return Effect.fail(
        new ParseResult.ParseError({
          issue: new ParseResult.Type(task.output.ast, text, `output of task "${task.name}" is not JSON: ${(e as Error).message}`)
        })
      )
    }
    return Schema.decodeUnknown(task.output)(value)
  })

/**
 * Decodes a task's result in a finished run: its output, or for a task the engine may skip an
 * `Option` of it (`None` when the task was skipped).
 */
export const decodeTaskResult = (
  spec: WorkflowSpec,
  task: TaskSpec,
  text: string
): Effect.Effect<unknown, ParseResult.ParseError> => {
  if (!isSkippable(spec, task)) return decodeOutput(task, text)
  let skipped = false
  try {
    skipped = isSkippedOutput(JSON.parse(text))
  } catch {
    // not JSON: decodeOutput says so
  }
  return skipped ? Effect.succeed(Option.none()) : Effect.asSome(decodeOutput(task, text))
}

/**
 * Encodes a workflow input for a trigger (client side, tests): Schema-encode, then JSON. A value
 * `JSON.stringify` cannot write (nested deeper than the call stack allows, a cycle, a BigInt) is a
 * `ParseError`, not a defect.
 */
export const encodeInput = (spec: WorkflowSpec, input: unknown): Effect.Effect<string, ParseResult.ParseError> =>
  Effect.flatMap(Schema.encode(spec.input)(input), (encoded) => {
    try {
      return Effect.succeed(JSON.stringify(encoded ?? {}))
    } catch (e) {
      return Effect.fail(
        new ParseResult.ParseError({
          issue: new ParseResult.Type(spec.input.ast, input, `the input is not JSON-serializable: ${(e as Error).message}`)
        })
      )
    }
  })

export const utf8Length = (text: string): number => new TextEncoder().encode(text).length

const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`

/** Parses a run's `additional_metadata` JSON; anything else is `{}`. */
export const parseMetadata = (text: string | undefined): Readonly<Record<string, unknown>> => {
  if (text === undefined || text === "") return {}
  try {
    return asRecord(JSON.parse(text))
  } catch {
    return {}
  }
}

/** `Option` of a proto3 optional field. */
export const optional = <A>(value: A | undefined): Option.Option<A> => Option.fromNullable(value)
