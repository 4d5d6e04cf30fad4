/**
 * The official SDK's shipped `priority` example, unchanged, on an official worker of one slot
 * against this engine, with the fact upstream's own TypeScript test of it checks and the two its
 * comments state: a task sees, in `ctx.priority()`, the default priority it declares (MEDIUM)
 * unless the run asks for another (HIGH); the tasks of a workflow that declares a default (LOW)
 * see it. And the order upstream's Python test of its priority example checks (skipped there as
 * flaky on shared CI): runs waiting for the one slot start highest priority first, in arrival
 * order within a priority (upstream's queue: `ORDER BY priority DESC, id ASC`).
 */
import { expect, layer } from "@effect/vitest"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/priority/workflow.js"
import { Priority } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Example = typeof ExampleModule

layer(InternalEngine.layer(), { timeout: 30_000, excludeTestServices: true })("official SDK example: priority", (it) => {
  it.scoped("runs queued before a worker of one slot starts run highest priority first, in arrival order within one", () =>
    Effect.gen(function*() {
      const { priority, priorityWf } = yield* Examples.load<Example>("priority/workflow.js")
      // registered by a worker that is then stopped: the runs wait in the queue
      const { core, hatchet } = yield* Effect.scoped(
        Examples.worker("priority-register-worker", [priority, priorityWf], { slots: 1 })
      )
      yield* Official.eventually(() => ([...core.state.workersById.values()].every((w) => !w.isActive) ? true : undefined))
      const testRunId = randomUUID()
      const order = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.LOW, Priority.HIGH, Priority.MEDIUM]
      const ids: Array<string> = []
      for (const [index, p] of order.entries()) {
        const ref = yield* Effect.promise(() =>
          priority.runNoWait({}, { priority: p, additionalMetadata: { test_run_id: testRunId, index: String(index) } })
        )
        ids.push(yield* Effect.promise(() => ref.getWorkflowRunId()))
      }
      yield* Examples.worker("priority-order-worker", [priority, priorityWf], { slots: 1 })
      const rows = yield* Official.eventually(async () => {
        const listed = await hatchet.runs.list({ additionalMetadata: { test_run_id: testRunId }, onlyTasks: true })
        const rows = listed.rows ?? []
        return rows.length === order.length && rows.every((row) => row.status === "COMPLETED") ? rows : undefined
      })
      // one slot: each run starts once the one before it finished (a tie on the start goes to the one that finished first)
      const at = (iso: string | undefined) => Date.parse(iso!)
      const started = [...rows].sort((a, b) => at(a.startedAt) - at(b.startedAt) || at(a.finishedAt) - at(b.finishedAt))
      expect(started.map((row) => Official.runMetadata(row).index)).toEqual(["2", "4", "1", "5", "0", "3"])
    }))

  it.scoped("ctx.priority(): the task's default, the run's override, the workflow's default in each of its tasks", () =>
    Effect.gen(function*() {
      const { priority, priorityWf } = yield* Examples.load<Example>("priority/workflow.js")
      yield* Examples.worker("priority-worker", [priority, priorityWf], { slots: 1 })
      expect(yield* Effect.promise(() => priority.run({}))).toEqual({ priority: Priority.MEDIUM })
      expect(yield* Effect.promise(() => priority.run({}, { priority: Priority.HIGH }))).toEqual({ priority: Priority.HIGH })
      expect(yield* Effect.promise(() => priorityWf.run({}))).toEqual({
        "child-medium": { priority: Priority.LOW },
        "child-high": { priority: Priority.LOW }
      })
    }))
})
