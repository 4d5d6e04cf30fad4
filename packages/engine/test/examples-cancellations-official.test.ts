/**
 * The official SDK's shipped `cancellations` example, unchanged, on an official worker against
 * this engine, driven as its `run` script drives it (upstream has no e2e test of it): of two runs
 * of its ten-second task, the one cancelled by its reference (`ref.cancel()`) ends CANCELLED, the
 * other completes; the script awaits the cancelled run's output, which resolves to `{}` (upstream
 * gives a cancelled task's result an empty error, which the SDK does not count as a failure); replayed, the cancelled run runs again and completes;
 * a bulk cancel by filter (`runs.cancel({ filters: { since, additionalMetadata } })`, the
 * script's `since` of 3.6 s ago) cancels the run with that metadata only. Everything starts at
 * once, so the test takes about one run of the task (ten seconds).
 */
import { expect, layer } from "@effect/vitest"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/cancellations/workflow.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Client = Official.Client

/** The run's status as `runs.get` reports it, once it is `status`. */
const reaches = (hatchet: Client, runId: string, status: string) =>
  Official.eventually(async () => ((await hatchet.runs.get(runId)).run.status === status ? true : undefined), 15_000)

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK example: cancellations", (it) => {
  it.scoped("cancel by reference, replay, and cancel by metadata filter", () =>
    Effect.gen(function*() {
      const { cancellation } = yield* Examples.load<typeof ExampleModule>("cancellations/workflow.js")
      const { hatchet } = yield* Examples.worker("cancellation-worker", [cancellation], { slots: 100 })
      // the SDK's own references: the script cancels and replays through them
      const [run, run1, run2, run4] = yield* Effect.promise(() =>
        Promise.all([
          cancellation.runNoWait({}),
          cancellation.runNoWait({}),
          cancellation.runNoWait({}, { additionalMetadata: { test: "abc" } }),
          cancellation.runNoWait({}, { additionalMetadata: { test: "test" } })
        ])
      )
      const [id, id1, id2, id4] = yield* Effect.promise(() => Promise.all([run, run1, run2, run4].map((ref) => ref.getWorkflowRunId())))
      for (const runId of [id, id1, id2, id4]) yield* reaches(hatchet, runId!, "RUNNING")

      yield* Effect.promise(() => run.cancel())
      yield* reaches(hatchet, id!, "CANCELLED")
      expect(yield* Effect.promise(() => run.output)).toEqual({})
      // replayed, the cancelled run runs again
      yield* Effect.promise(() => run.replay())
      const replayed = Effect.promise(() => run.output)

      yield* Effect.promise(() =>
        hatchet.runs.cancel({ filters: { since: new Date(Date.now() - 60 * 60), additionalMetadata: { test: "test" } } })
      )
      yield* reaches(hatchet, id4!, "CANCELLED")
      expect(yield* Effect.promise(() => run4.output)).toEqual({})

      const [res1, res2, resReplay] = yield* Effect.all([Effect.promise(() => run1.output), Effect.promise(() => run2.output), replayed], {
        concurrency: "unbounded"
      })
      expect(res1).toEqual({ Completed: true })
      expect(res2).toEqual({ Completed: true })
      expect(resReplay).toEqual({ Completed: true })
      const statuses = yield* Effect.promise(() => Promise.all([id, id1, id2, id4].map((runId) => hatchet.runs.get(runId!))))
      expect(statuses.map((d) => d.run.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "CANCELLED"])
    }))
})
