/**
 * `handle.progress`: a run's task events from its start, each once, in order, whenever the
 * stream is subscribed (before the run starts, while it runs, after it ended).
 */
import { Hatchet, TaskContext, TaskError, Workflow } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, Schema, Stream } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

/** first -> second, whose first attempt fails (retried at once). */
const Steps = Workflow.make("progress-steps", { input: Schema.Struct({ id: Schema.String }) }).pipe(
  Workflow.task("first", { output: Schema.Struct({ text: Schema.String }) }),
  Workflow.task("second", { parents: ["first"], output: Schema.String, retries: 1 })
)
const StepsLive = Steps.toLayer({
  first: (input) => Effect.succeed({ text: `first ${input.id}` }),
  second: () =>
    Effect.flatMap(TaskContext.TaskContext, (context) =>
      context.retryCount === 0
        ? TaskError.undeclared(Effect.fail("not yet"))
        : Effect.succeed(`second, attempt ${context.retryCount}`))
})

const TestLive = HatchetTest.layer({ workflows: [StepsLive] })

const lines = (progress: Chunk.Chunk<Hatchet.RunProgress>) =>
  Chunk.toReadonlyArray(progress)
    .filter(({ event }) => ["STARTED", "FINISHED", "FAILED", "RETRYING"].includes(event.eventType))
    .map(({ event, task }) => `${task} ${event.eventType} ${event.retryCount ?? 0}`)

const expected = [
  "first STARTED 0",
  "first FINISHED 0",
  "second STARTED 0",
  "second FAILED 0",
  "second RETRYING 1",
  "second STARTED 1",
  "second FINISHED 1"
]

layer(TestLive, { timeout: 30_000 })("RunHandle.progress on the local engine", (it) => {
  it.effect("subscribed before the run has started, and again after it ended: the same events, from the start", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Steps, { id: "p-1" })
      const early = yield* handle.progress({ pollInterval: "50 millis" }).pipe(Stream.runCollect, Effect.fork)
      expect(yield* handle.result).toEqual({ first: { text: "first p-1" }, second: "second, attempt 1" })
      const during = yield* Fiber.join(early)
      const after = yield* Stream.runCollect(handle.progress())

      expect(lines(during)).toEqual(expected)
      expect(lines(after)).toEqual(expected)
      // each event once, in the engine's order
      const ids = Chunk.toReadonlyArray(after).map(({ event }) => event.id)
      expect(new Set(ids).size).toBe(ids.length)
      const times = Chunk.toReadonlyArray(after).map(({ event }) => event.timestamp.getTime())
      expect([...times].sort((a, b) => a - b)).toEqual(times)
      expect(Chunk.toReadonlyArray(after).map(({ event }) => event.id)).toEqual(
        Chunk.toReadonlyArray(during).map(({ event }) => event.id)
      )
    }))
})
