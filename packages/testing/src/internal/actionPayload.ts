/**
 * The `action_payload` of an assignment, as the engine builds it, for the test doubles that stand
 * in for the engine (`TaskTest`, `FakeDispatcher`).
 *
 * @internal
 */
import * as TaskExecution from "@effect-hatchet/sdk/TaskExecution"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import * as Effect from "effect/Effect"

/** The wire-level parts of a payload: JSON values as the engine would hold them. */
export interface RawPayload {
  readonly input?: unknown
  readonly parents?: Readonly<Record<string, unknown>> | undefined
  /** The on-failure task's `step_run_errors`: failure texts by task name. */
  readonly stepRunErrors?: Readonly<Record<string, string>> | undefined
  /** The payload of the event filter that triggered the run (`triggers.filter_payload`). */
  readonly filterPayload?: Readonly<Record<string, unknown>> | undefined
  /** The data of the step conditions that were met, by data key (the rest of `triggers`). */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
}

/** The payload JSON of `raw`. */
export const actionPayloadJson = (raw: RawPayload): string =>
  JSON.stringify({
    input: raw.input ?? {},
    triggered_by: "manual",
    parents: raw.parents ?? {},
    triggers: { ...raw.triggers, filter_payload: raw.filterPayload ?? null },
    user_data: null,
    overrides: null,
    ...(raw.stepRunErrors === undefined ? {} : { step_run_errors: raw.stepRunErrors })
  })

/** What a test gives in its own types: encoded with the definition's Schemas. */
export interface TypedPayload {
  readonly input: unknown
  /** Replaces the encoded input (to test what happens with malformed input). */
  readonly rawInput?: unknown
  readonly parents?: Readonly<Record<string, unknown>> | undefined
  /** Typed errors, `TaskFailed`, or raw failure text, by task name. */
  readonly failures?: Readonly<Record<string, unknown>> | undefined
  /** The payload of the event filter that triggered the run. */
  readonly filterPayload?: Readonly<Record<string, unknown>> | undefined
  /** The data of the step conditions that were met, by data key (`TaskContext.triggers`). */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
}

/**
 * The payload JSON of a typed assignment: the input and parent outputs encoded with their
 * Schemas, failures as the worker would have reported them. A value its Schema cannot encode is a
 * defect (a mistake in the test).
 */
export const encodeActionPayload = (
  definition: Workflow.Definition,
  options: TypedPayload
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const input = "rawInput" in options
      ? options.rawInput
      : JSON.parse(yield* Effect.orDie(TaskExecution.encodeInput(definition, options.input)))
    const parents: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(options.parents ?? {})) {
      // a parent that may be skipped is given as its children see it: an Option (None: skipped)
      parents[name] = JSON.parse(yield* Effect.orDie(TaskExecution.encodeParentOutput(definition, name, value)))
    }
    let stepRunErrors: Record<string, string> | undefined
    if (options.failures !== undefined) {
      stepRunErrors = {}
      for (const [name, error] of Object.entries(options.failures)) {
        stepRunErrors[name] = typeof error === "string" ? error : yield* TaskExecution.encodeFailure(definition, name, error)
      }
    }
    return actionPayloadJson({ input, parents, stepRunErrors, filterPayload: options.filterPayload, triggers: options.triggers })
  })
