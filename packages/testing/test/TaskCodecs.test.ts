/**
 * The task codecs decode and encode synchronously when they can: a Schema with asynchronous parts
 * (which the synchronous codec refuses) must still decode inputs and parent outputs and encode
 * outputs, and invalid values keep their messages. Runs through TaskTest (TaskExecution.execute).
 */
import { Workflow } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, ParseResult, Schema } from "effect"
import * as TaskTest from "../src/TaskTest.js"

/** A string decoded (upper-cased) and encoded (lower-cased) after a real asynchronous step. */
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

describe("task codecs", () => {
  it.live("decode inputs and parent outputs and encode outputs with asynchronous Schemas", () =>
    Effect.gen(function*() {
      const first = yield* TaskTest.run(Flow, "first", { input: { name: "ada" } })
      expect(first.outcome).toMatchObject({ _tag: "Completed", output: `{"greeting":"hello ada"}` })
      const second = yield* TaskTest.run(Flow, "second", { input: { name: "ada" }, parents: { first: { greeting: "hi" } } })
      expect(second.outcome).toMatchObject({ _tag: "Completed", output: `{"seen":"ADA/HI"}` })
      // the synchronous codec alone refuses such a Schema
      const sync = Schema.decodeUnknownEither(Slow)("x")
      expect(Either.isLeft(sync) && ParseResult.isParseError(sync.left)).toBe(true)
    }).pipe(Effect.provide(FlowLive)))

  it.live("an invalid value still fails with the effectful codec's message", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Flow, "second", {
        input: { name: "ada" },
        rawInput: { name: 1 },
        parents: { first: { greeting: "hi" } }
      })
      expect(run.outcome).toMatchObject({ _tag: "Failed", kind: "InvalidInput", shouldNotRetry: true })
      expect(run.outcome._tag === "Failed" && run.outcome.message).toContain("name: Expected string, actual 1")
    }).pipe(Effect.provide(FlowLive)))
})
