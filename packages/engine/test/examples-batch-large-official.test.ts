/**
 * The official SDK's shipped `batch_assign` example's `batchLarge` (batches of up to 100 tasks,
 * a 10-second interval), unchanged, on an official worker against an engine whose clock is the
 * test's TestClock, with the facts upstream's own test of it checks: a hundred tasks of 100 kB
 * each are flushed in three batches, two cut by the 4 MB limit on a buffer's payloads (the count
 * of 100 is never reached) and the rest when the interval passes (moved on the TestClock, not
 * waited for); every task receives its whole payload.
 */
import { expect, layer } from "@effect/vitest"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/batch_assign/workflow.js"
import { Effect } from "effect"
import { advance } from "./support/clocked.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Example = typeof ExampleModule

layer(Examples.engineLive)("official SDK example: batch_assign's batchLarge", (it) => {
  it.scoped("a hundred 100 kB tasks: two batches cut at 4 MB, the rest flushed at the interval", () =>
    Effect.gen(function*() {
      const { batchLarge } = yield* Examples.load<Example>("batch_assign/workflow.js")
      const { core } = yield* Examples.worker("batch-large-worker", [batchLarge], { slots: 10 })
      const payloadSize = 100_000
      const payload = "x".repeat(payloadSize)
      const results = Promise.all(Array.from({ length: 100 }, () => batchLarge.run({ data: payload })))
      // the clock stands still: once all hundred are in, those not cut at 4 MB wait in the buffer
      const states = () =>
        [...core.state.runsById.values()].filter((run) => run.workflow.name === batchLarge.name).flatMap((run) =>
          [...run.tasks.values()].map((task) => task.state._tag)
        )
      yield* Official.eventually(() => {
        const now = states()
        return now.length === 100 && now.every((s) => s === "Completed" || s === "Batching") && now.includes("Batching")
          ? true
          : undefined
      })
      yield* advance(10_000)
      const outputs = yield* Effect.promise(() => results)
      expect(outputs).toHaveLength(100)
      expect(new Set(outputs.map((r) => r.batch_id)).size).toBe(3)
      for (const r of outputs) {
        expect(r.received).toBe(true)
        expect(r.data_length).toBe(payloadSize)
      }
    }), { timeout: 30_000 })
})
