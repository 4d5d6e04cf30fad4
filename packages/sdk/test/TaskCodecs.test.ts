/**
 * The task codecs decode and encode synchronously when they can: a Schema with asynchronous parts
 * (which the synchronous codec refuses) must still decode inputs and parent outputs and encode
 * outputs, and invalid values keep their messages.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskExecution from "../src/TaskExecution.js"
import * as Workflow from "../src/Workflow.js"

/** A string decoded and encoded after a real asynchronous step. */
const Slow = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (s) => Effect.as(Effect.sleep("1 millis"), s.toUpperCase()),
  encode: (s) => Effect.as(Effect.sleep("1 millis"), s.toLowerCase())
})

const Flow = Workflow.make("codecs", { input: Schema.Struct({ name: Slow }) }).pipe(
  Workflow.task("first", { output: Schema.Struct({ greeting: Slow }) }),
  Workflow.task("second", { parents: ["first"], output: Schema.Struct({ seen: Schema.String }) })
)

const FlowLive = Flow.toLayer({
  first: (input) => Effect.succeed({ greeting: `HELLO ${input.name}` }),
  second: (input, parents) => Effect.succeed({ seen: `${input.name}/${parents.first.greeting}` })
})

const context = TaskContext.make({
  workflowName: "codecs",
  taskName: "first",
  action: "codecs:first",
  workflowRunId: "wr",
  taskRunExternalId: "tr",
  workerId: "w",
  retryCount: 0,
  additionalMetadata: {},
  priority: 1,
  childIndex: Option.none(),
  childKey: Option.none(),
  parentTaskRunExternalId: Option.none()
}, { refreshTimeout: () => Effect.void, releaseSlot: Effect.void, putStream: () => Effect.void, cancel: Effect.void })

const execute = (task: "first" | "second", payload: unknown) =>
  Effect.gen(function*() {
    const impl = yield* Workflow.implementation(Flow)
    return yield* TaskExecution.execute(impl, task, JSON.stringify(payload), yield* context)
  }).pipe(Effect.provide(FlowLive))

describe("task codecs", () => {
  it.live("decode inputs and parent outputs and encode outputs with asynchronous Schemas", () =>
    Effect.gen(function*() {
      expect(yield* execute("first", { input: { name: "ada" } })).toEqual(
        TaskExecution.Outcome.Completed({ output: `{"greeting":"hello ada"}` })
      )
      expect(yield* execute("second", { input: { name: "ada" }, parents: { first: { greeting: "hi" } } })).toEqual(
        TaskExecution.Outcome.Completed({ output: `{"seen":"ADA/HI"}` })
      )
    }))

  it.live("an invalid value still fails with the effectful codec's message", () =>
    Effect.gen(function*() {
      const outcome = yield* execute("second", { input: { name: 1 }, parents: { first: { greeting: "hi" } } })
      expect(outcome).toMatchObject({ _tag: "Failed", kind: "InvalidInput", shouldNotRetry: true })
      expect(outcome._tag === "Failed" && outcome.message).toContain("name")
      expect(outcome._tag === "Failed" && outcome.message).toContain("Expected string, actual 1")
      // the synchronous codec alone refuses such a Schema
      const sync = Schema.decodeUnknownEither(Slow)("x")
      expect(Either.isLeft(sync) && ParseResult.isParseError(sync.left)).toBe(true)
    }))
})
