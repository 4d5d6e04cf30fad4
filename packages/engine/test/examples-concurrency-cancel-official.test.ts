/**
 * The official SDK's shipped `concurrency_cancel_in_progress` and `concurrency_cancel_newest`
 * examples, unchanged, on an official worker against this engine, with the facts upstream's own
 * tests of them check, read back through the official client (`runs.list` by the test run's
 * metadata, `runs.get`):
 * - CANCEL_IN_PROGRESS (one run per group): each newer run of the group cancels the one running;
 *   every run but the last ends CANCELLED, the last COMPLETED. Upstream triggers ten, a second
 *   apart; here four, each once the one before is running (each run of the example takes about
 *   ten seconds, so the last one alone is most of this test's time).
 * - CANCEL_NEWEST (one run per group): with one run of the group running, ten more arriving
 *   together are all cancelled and the running one completes.
 */
import { expect, layer } from "@effect/vitest"
import type * as InProgressModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_cancel_in_progress/workflow.js"
import type * as NewestModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_cancel_newest/workflow.js"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Client = Official.Client
type InProgress = typeof InProgressModule
type Newest = typeof NewestModule

/** The runs of one test run (by its metadata), once there are `count` and none is queued or running. */
const settledRuns = (hatchet: Client, testRunId: string, count: number) =>
  Official.eventually(async () => {
    const listed = await hatchet.runs.list({ additionalMetadata: { test_run_id: testRunId }, onlyTasks: false })
    const rows = listed.rows ?? []
    return rows.length === count && rows.every((row) => row.status !== "QUEUED" && row.status !== "RUNNING") ? rows : undefined
  }, 20_000)

/** Waits until the run's status (as `runs.get` reports it) is RUNNING. */
const running = (hatchet: Client, runId: string) =>
  Official.eventually(async () => ((await hatchet.runs.get(runId)).run.status === "RUNNING" ? true : undefined))

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })(
  "official SDK examples: concurrency cancel strategies",
  (it) => {
    it.scoped("concurrency_cancel_in_progress: each newer run cancels the one in progress; only the last completes", () =>
      Effect.gen(function*() {
        const { concurrencyCancelInProgressWorkflow: wf } = yield* Examples.load<InProgress>(
          "concurrency_cancel_in_progress/workflow.js"
        )
        const { hatchet } = yield* Examples.worker("cancel-in-progress-worker", [wf], { slots: 10 })
        const testRunId = randomUUID()
        const ids: Array<string> = []
        for (let i = 0; i < 4; i++) {
          const { id } = yield* Examples.trigger(() =>
            wf.runNoWait({ group: "A" }, { additionalMetadata: { test_run_id: testRunId, i: String(i) } })
          )
          ids.push(id)
          yield* running(hatchet, id)
        }
        const rows = yield* settledRuns(hatchet, testRunId, 4)
        const byIndex = [...rows].sort((a, b) => Number(Official.runMetadata(a).i) - Number(Official.runMetadata(b).i))
        expect(byIndex.map((row) => Official.runMetadata(row).i)).toEqual(["0", "1", "2", "3"])
        expect(byIndex.map((row) => row.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED", "COMPLETED"])
        expect(byIndex.map((row) => row.metadata.id)).toEqual(ids)
      }))

    it.scoped("concurrency_cancel_newest: ten runs arriving while one runs are all cancelled; the running one completes", () =>
      Effect.gen(function*() {
        const { concurrencyCancelNewestWorkflow: wf } = yield* Examples.load<Newest>("concurrency_cancel_newest/workflow.js")
        const { hatchet } = yield* Examples.worker("cancel-newest-worker", [wf], { slots: 10 })
        const testRunId = randomUUID()
        const options = { additionalMetadata: { test_run_id: testRunId } }
        const { id: toRunId, output: toRunOutput } = yield* Examples.trigger(() => wf.runNoWait({ group: "A" }, options))
        yield* running(hatchet, toRunId)
        const toCancel = yield* Effect.promise(() => Promise.all(Array.from({ length: 10 }, () => wf.runNoWait({ group: "A" }, options))))
        yield* toRunOutput
        yield* Effect.promise(() => Promise.all(toCancel.map((ref) => ref.output.catch(() => undefined))))
        const rows = yield* settledRuns(hatchet, testRunId, 11)
        expect((yield* Effect.promise(() => hatchet.runs.get(toRunId))).run.status).toBe("COMPLETED")
        const others = rows.filter((row) => row.metadata.id !== toRunId)
        expect(others).toHaveLength(10)
        expect(others.map((row) => row.status)).toEqual(Array.from({ length: 10 }, () => "CANCELLED"))
      }))
  }
)
