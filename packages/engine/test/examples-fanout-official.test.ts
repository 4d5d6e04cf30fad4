/**
 * The official SDK's shipped child-spawning examples (`v1/examples/child_index`, `bulk_fanout`),
 * unchanged, on an official worker against this engine, triggered with the official client; what
 * each must do is what upstream's own e2e tests for them assert:
 * - child_index: children spawned from a task one by one with `ctx.runChild`, then in parallel
 *   with the child workflow's own `runNoWait`, are each a distinct run with its own output; a
 *   recursive traversal spawning a child per node of a 23-node tree gets 23 distinct run ids;
 * - bulk_fanout: `ctx.bulkRunChildren` spawns N children and gives back all their outputs; the
 *   parent's additional metadata is the run's, its children's too, and the runs list finds them
 *   by it.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"

type Workflow<I, O> = Examples.Runnable<I, O>

interface MixedSpawn {
  readonly "mixed-spawn": {
    readonly ctxResults: ReadonlyArray<string>
    readonly rnwResults: ReadonlyArray<string>
    readonly runIds: ReadonlyArray<string>
  }
}

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: fan-out", (it) => {
  it.scoped("child_index: children spawned by runChild and by runNoWait are distinct runs, each with its own output", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<{
        childIndexChild: Workflow<{ tag: string }, { tag: string }>
        childIndexParent: Workflow<{ n: number }, MixedSpawn>
        scenarioTask: Workflow<{ scenarioId: string }, unknown>
        orchestratorTask: Workflow<
          Record<string, never>,
          { total: number; expected: number; uniqueRunIds: number; hasDuplicates: boolean; scenarios: Array<string> }
        >
      }>("child_index/workflow.js")
      yield* Examples.worker(
        "child-index-worker",
        [example.childIndexChild, example.childIndexParent, example.scenarioTask, example.orchestratorTask],
        { slots: 20 }
      )

      const [five, eight] = yield* Effect.promise(() =>
        Promise.all([example.childIndexParent.run({ n: 5 }), example.childIndexParent.run({ n: 8 })])
      )
      const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
      expect(five["mixed-spawn"].ctxResults).toEqual(range(5, "ctx"))
      expect(five["mixed-spawn"].rnwResults).toEqual(range(5, "rnw"))
      expect(new Set(five["mixed-spawn"].runIds).size).toBe(5)
      expect(new Set([...eight["mixed-spawn"].ctxResults, ...eight["mixed-spawn"].rnwResults]).size).toBe(16)
      expect(new Set(eight["mixed-spawn"].runIds).size).toBe(8)

      const tree = yield* Effect.promise(() => example.orchestratorTask.run({}))
      expect([tree.total, tree.expected, tree.uniqueRunIds, tree.hasDuplicates]).toEqual([23, 23, 23, false])
      // bottom-up: a node's children before it, the root last
      expect(tree.scenarios.slice(0, 3)).toEqual(["project-a1a", "project-a1b", "project-a1c"])
      expect(tree.scenarios.at(-1)).toBe("fund-root")
    }))

  it.scoped("bulk_fanout: bulkRunChildren gives all N outputs; the parent's metadata is its runs' and its children's", () =>
    Effect.gen(function*() {
      const { bulkChild, bulkParentWorkflow: parent } = yield* Examples.load<{
        bulkChild: Workflow<{ i: number }, { i: number }>
        bulkParentWorkflow: Workflow<{ n: number }, { spawn: { results: Array<{ i: number }> } }>
      }>("bulk_fanout/workflow.js")
      const { hatchet } = yield* Examples.worker("bulk-fanout-worker", [bulkChild, parent], { slots: 20 })

      const twelve = yield* Effect.promise(() => parent.run({ n: 12 }))
      expect(twelve.spawn.results).toEqual(Array.from({ length: 12 }, (_, i) => ({ i })))

      const testRunId = randomUUID()
      const run = yield* Examples.trigger(() => parent.runNoWait({ n: 2 }, { additionalMetadata: { test_run_id: testRunId } }))
      expect(yield* run.output).toEqual({ spawn: { results: [{ i: 0 }, { i: 1 }] } })
      const details = yield* Effect.promise(() => hatchet.runs.get(run.id))
      expect(details.run.additionalMetadata).toMatchObject({ test_run_id: testRunId })
      const spawner = details.tasks.find((t) => (t.numSpawnedChildren ?? 0) > 0)
      expect(spawner?.numSpawnedChildren).toBe(2)
      const children = yield* Effect.promise(() =>
        hatchet.runs.list({ parentTaskRunExternalId: spawner!.taskExternalId, onlyTasks: false })
      )
      expect(children.rows).toHaveLength(2)
      for (const child of children.rows) expect(child.additionalMetadata).toMatchObject({ test_run_id: testRunId })
      const byMetadata = yield* Effect.promise(() =>
        hatchet.runs.list({ additionalMetadata: { test_run_id: testRunId }, onlyTasks: false })
      )
      // the parent and its two children
      expect(byMetadata.rows).toHaveLength(3)
    }))
})
