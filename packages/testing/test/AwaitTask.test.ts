/**
 * HatchetTest.awaitTask: wait until a handler that sleeps on the TestClock has started, then
 * cancel it or move the clock, without `settle` (which such a handler never satisfies).
 */
import { Hatchet, Task, TaskContext } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Ref, Schema, TestClock } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

class Finalized extends Context.Tag("test/Finalized")<Finalized, Ref.Ref<ReadonlyArray<string>>>() {}

/** Sleeps an hour on the clock; records its finalizer by run id. */
const Sleeper = Task.make("sleeper", {
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.String,
  executionTimeout: "2 hours"
})
const SleeperLive = Sleeper.toLayer((input) =>
  Effect.gen(function*() {
    const finalized = yield* Finalized
    const context = yield* TaskContext.TaskContext
    return yield* Effect.sleep("1 hour").pipe(
      Effect.as(`woke ${input.id}`),
      Effect.onInterrupt(() => Ref.update(finalized, (all) => [...all, context.workflowRunId]))
    )
  })
)

const TestLive = HatchetTest.layer({
  workflows: [SleeperLive.pipe(Layer.provideMerge(Layer.effect(Finalized, Ref.make<ReadonlyArray<string>>([]))))]
})

layer(TestLive)("HatchetTest.awaitTask", (it) => {
  it.effect("waits until the handler runs; a cancel then interrupts it (its finalizer runs)", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Sleeper, { id: "a" })
      const started = yield* HatchetTest.awaitTask(handle)
      expect(started.status).toBe("RUNNING")
      yield* handle.cancel
      const cancelled = yield* HatchetTest.awaitTask(handle, { until: "CANCELLED" })
      expect(cancelled.status).toBe("CANCELLED")
      expect(yield* Ref.get(yield* Finalized)).toContain(handle.runId)
    }))

  it.effect("waits until the handler runs; moving the clock an hour then finishes it", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Sleeper, { id: "b" })
      yield* HatchetTest.awaitTask(handle)
      // not HatchetTest.adjust: its settle would wait for the sleeping handler in vain
      yield* TestClock.adjust("1 hour")
      expect(yield* handle.result).toBe("woke b")
    }))

  it.effect("gives up with TaskNotReached, saying where the task is", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Sleeper, { id: "c" })
      const error = yield* Effect.flip(HatchetTest.awaitTask(handle, { until: "COMPLETED", timeout: "300 millis" }))
      expect(error._tag).toBe("TaskNotReached")
      expect(error.message).toMatch(/has not reached "COMPLETED" \(status: RUNNING\)/)
      yield* handle.cancel
    }))
})
