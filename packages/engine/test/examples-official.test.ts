/**
 * The official SDK's shipped examples `bulk_operations` and `runtime_affinity`, unchanged, with the
 * official worker and client against this engine: list runs by workflow name, cancel them by ids
 * and by a filter, replay them; pin a run's tasks to a worker by labels given when it is triggered.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"

type Task = Examples.Runnable<Record<string, never>>

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: operations", (it) => {
  it.scoped("bulk_operations: runs listed by workflow name, cancelled by ids and by filter, then replayed and run", () =>
    Effect.gen(function*() {
      const { bulkReplayTest1: one, bulkReplayTest2: two } = yield* Examples.load<{
        bulkReplayTest1: Task
        bulkReplayTest2: Task
      }>("bulk_operations/workflow.js")
      // registered by a worker that then stops: the runs wait
      const { hatchet } = yield* Effect.scoped(Examples.worker("bulk-register", [one, two], { slots: 1 }))
      const since = new Date(Date.now() - 60_000)
      const ones = yield* Effect.promise(() => Promise.all([one.runNoWait({}), one.runNoWait({})]))
      const twos = yield* Effect.promise(() =>
        Promise.all([
          two.runNoWait({}, { additionalMetadata: { key: "value" } }),
          two.runNoWait({}, { additionalMetadata: { key: "other" } })
        ])
      )
      const idsOf = (refs: ReadonlyArray<Examples.Ref>) => Promise.all(refs.map((ref) => ref.getWorkflowRunId()))
      const oneIds = yield* Effect.promise(() => idsOf(ones))
      const twoIds = yield* Effect.promise(() => idsOf(twos))

      // > List runs, > Cancel by run ids
      const listed = yield* Effect.promise(() => hatchet.runs.list({ workflowNames: [one.name], since }))
      expect(listed.rows.map((run) => run.metadata.id).sort()).toEqual([...oneIds].sort())
      yield* Effect.promise(() => hatchet.runs.cancel({ ids: listed.rows.map((run) => run.metadata.id) }))
      // > Cancel by filters (queued here, as no worker runs them)
      yield* Effect.promise(() =>
        hatchet.runs.cancel({
          filters: {
            since,
            until: new Date(),
            statuses: ["QUEUED" as never],
            workflowNames: [two.name],
            additionalMetadata: { key: "value" }
          }
        })
      )
      const statusOf = (id: string) => Effect.promise(() => hatchet.runs.get(id).then((d) => d.run.status))
      expect([yield* statusOf(oneIds[0]!), yield* statusOf(oneIds[1]!)]).toEqual(["CANCELLED", "CANCELLED"])
      expect([yield* statusOf(twoIds[0]!), yield* statusOf(twoIds[1]!)]).toEqual(["CANCELLED", "QUEUED"])

      // replayed, the cancelled runs run on a worker (each fails once, then succeeds on its retry)
      yield* Effect.promise(() => hatchet.runs.replay({ ids: [...oneIds, twoIds[0]!] }))
      yield* Examples.worker("bulk-worker", [one, two], { slots: 10 })
      const ended = yield* Effect.forEach([...oneIds, ...twoIds], (id) => Examples.ended(id, { timeout: 20_000 }))
      expect(ended.map((d) => d.run.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"])
    }))

  it.scoped("runtime_affinity: labels given at trigger time pin both tasks of the run to the worker that has them", () =>
    Effect.gen(function*() {
      const { affinityExampleTask: wf } = yield* Examples.load<{ affinityExampleTask: Task }>("runtime_affinity/workflow.js")
      const { hatchet } = yield* Examples.worker("affinity-blue", [wf], { slots: 5, labels: { color: "blue" } })
      yield* Examples.worker("affinity-green", [wf], { slots: 5, labels: { color: "green" } })
      const workersOf = (color: string) =>
        Effect.promise(async () => {
          const ids = new Set<string>()
          for (let i = 0; i < 3; i++) {
            const output = (await wf.run({}, { desiredWorkerLabels: { color: { value: color, required: true } } })) as {
              affinity_t1: { worker_id: string }
              affinity_t2: { worker_id: string }
            }
            ids.add(output.affinity_t1.worker_id).add(output.affinity_t2.worker_id)
          }
          return [...ids]
        })
      const blue = yield* workersOf("blue")
      const green = yield* workersOf("green")
      expect(blue).toHaveLength(1)
      expect(green).toHaveLength(1)
      expect(blue[0]).not.toBe(green[0])
      const workers = yield* Effect.promise(() => hatchet.workers.list())
      expect(workers.rows!.find((w) => w.metadata.id === blue[0])?.labels).toEqual([
        expect.objectContaining({ key: "color", value: "blue" })
      ])
    }))
})
