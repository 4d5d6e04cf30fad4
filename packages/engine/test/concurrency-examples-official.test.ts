/**
 * The official SDK's shipped concurrency examples (`v1/examples/concurrency_cancel_queued_except_*`,
 * `concurrency_shared`), unchanged, with the official worker and client against this engine: the
 * examples build their client from the environment when first imported, so the environment points
 * at the engine before the import. Timings are never asserted, only overlap and outcomes.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { EngineCore } from "../src/internal/core.js"
import { runStatus } from "../src/internal/domain/model.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

/** Triggers `inputs` one after the other (so the engine sees them in order) and returns the run ids. */
const triggerInOrder = <I>(runNoWait: (input: I) => Promise<Examples.Ref>, inputs: ReadonlyArray<I>) =>
  Effect.forEach(inputs, (input) => Effect.map(Examples.trigger(() => runNoWait(input)), (run) => run.id))

/** Waits until every run is final and returns their statuses. */
const finalStatuses = (ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const core = yield* EngineCore
    const statuses = () => ids.map((id) => core.state.runsById.get(id)).map((run) => (run === undefined ? undefined : runStatus(run)))
    return yield* Official.eventually(() => {
      const now = statuses()
      return now.every((s) => s === "COMPLETED" || s === "CANCELLED" || s === "FAILED") ? now : undefined
    }, 20_000)
  })

type Workflow<I> = Examples.Runnable<I>

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: concurrency", (it) => {
  it.scoped("concurrency_cancel_queued_except_newest: the running run finishes, the newest waiting one runs, those between are cancelled", () =>
    Effect.gen(function*() {
      const { concurrencyCancelQueuedExceptNewestWorkflow: wf } = yield* Examples.load<{
        concurrencyCancelQueuedExceptNewestWorkflow: Workflow<{ group: string }>
      }>("concurrency_cancel_queued_except_newest/workflow.js")
      yield* Examples.worker("cqn-worker", [wf], { slots: 10 })
      const ids = yield* triggerInOrder((input) => wf.runNoWait(input), [{ group: "a" }, { group: "a" }, { group: "a" }, { group: "a" }, {
        group: "b"
      }])
      expect(yield* finalStatuses(ids)).toEqual(["COMPLETED", "CANCELLED", "CANCELLED", "COMPLETED", "COMPLETED"])
    }))

  it.scoped("concurrency_cancel_queued_except_oldest: the running run and the oldest waiting one finish, newer arrivals are cancelled", () =>
    Effect.gen(function*() {
      const { concurrencyCancelQueuedExceptOldestWorkflow: wf } = yield* Examples.load<{
        concurrencyCancelQueuedExceptOldestWorkflow: Workflow<{ group: string }>
      }>("concurrency_cancel_queued_except_oldest/workflow.js")
      yield* Examples.worker("cqo-worker", [wf], { slots: 10 })
      const ids = yield* triggerInOrder((input) => wf.runNoWait(input), [{ group: "a" }, { group: "a" }, { group: "a" }, { group: "a" }])
      expect(yield* finalStatuses(ids)).toEqual(["COMPLETED", "COMPLETED", "CANCELLED", "CANCELLED"])
    }))

  it.scoped("concurrency_shared: one tenant-scoped limit across two workflows, and mixed with an inline one", () =>
    Effect.gen(function*() {
      type Window = { readonly startMs: number; readonly endMs: number }
      const example = yield* Examples.load<{
        concurrencySharedWorkflowA: Workflow<{ group: string }>
        concurrencySharedWorkflowB: Workflow<{ group: string }>
        concurrencySharedMixedWorkflow: Workflow<{ group: string; inline: string }>
      }>("concurrency_shared/workflow.js")
      const { concurrencySharedMixedWorkflow: mixed, concurrencySharedWorkflowA: a, concurrencySharedWorkflowB: b } = example
      yield* Examples.worker("shared-worker", [a, b, mixed], { slots: 10 })
      const windowOf = (output: unknown) => (output as { readonly "shared-task": Window })["shared-task"]
      const overlaps = (x: Window, y: Window) => x.startMs < y.endMs && y.startMs < x.endMs
      // the same group in two workflows: one after the other; another group alongside; in the
      // mixed workflow the shared key holds even though the inline keys differ
      const [a1, b1, b2, m1, m2] = yield* Effect.promise(() =>
        Promise.all([
          a.run({ group: "g1" }),
          b.run({ group: "g1" }),
          b.run({ group: "g2" }),
          mixed.run({ group: "g3", inline: "i1" }),
          mixed.run({ group: "g3", inline: "i2" })
        ])
      )
      expect(overlaps(windowOf(a1), windowOf(b1))).toBe(false)
      expect(overlaps(windowOf(a1), windowOf(b2)) || overlaps(windowOf(b1), windowOf(b2))).toBe(true)
      expect(overlaps(windowOf(m1), windowOf(m2))).toBe(false)
    }))
})
