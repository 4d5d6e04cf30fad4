/**
 * The official SDK's shipped `quickstart`, `inferred-typing`, `deep`, `slot_cost`, `high-memory`,
 * `subscribe_to_stream` and `runtime_affinity` examples, unchanged, on official workers against
 * this engine, triggered with the official client. Upstream has e2e tests of
 * `subscribe_to_stream` and `runtime_affinity` (checked here as they check, but for their
 * timings); for the others, what their `run` scripts print and their comments say:
 * - quickstart: `first-task` lower-cases its message;
 * - inferred-typing: the standalone tasks, the durable one, and `crazy-workflow` (the two
 *   standalone tasks' definitions reused as a DAG, the second after the first) give each task's
 *   output under its name;
 * - deep: five levels of children fanned out with `bulkRunChildren` sum the ones at the bottom:
 *   N^5 for N children per level (here N = 3, 364 runs; the script's N = 5 is 3,906);
 * - slot_cost: a task of cost 5 needs five free slots of one worker (upstream's scheduler
 *   reserves `units` from a worker with that many free), so a worker of four never gets it while
 *   a task of cost 1 queued after it runs there; a worker of five runs it;
 * - high-memory: its `child` returns a 1 MiB string, whole (the parent, a thousand children of a
 *   1 MiB input each, is not run: a gigabyte of payloads);
 * - subscribe_to_stream (upstream's test): a subscriber that subscribes as the run is triggered,
 *   or once it runs, gets all twenty chunks of a task, in order, and of a DAG run (an on-failure
 *   task makes it one: its QUEUED→RUNNING must not end the stream; its chunks, put back to back,
 *   may arrive out of order); one that joins mid-stream gets a tail of them; each stream ends with
 *   its run;
 * - runtime_affinity (upstream's test): two workers, labelled `affinity: foo` and `bar`, are both
 *   ACTIVE in `workers.list` with their labels; twenty runs alternately requiring one label run
 *   both their tasks on that worker (`ctx.worker.id()` is the listed worker's id).
 */
import { expect, layer } from "@effect/vitest"
import type * as DeepModule from "@hatchet-dev/typescript-sdk/v1/examples/deep/workflow.js"
import type * as HighMemoryModule from "@hatchet-dev/typescript-sdk/v1/examples/high-memory/workflow-with-child.js"
import type * as InferredModule from "@hatchet-dev/typescript-sdk/v1/examples/inferred-typing/workflow.js"
import type * as QuickstartModule from "@hatchet-dev/typescript-sdk/v1/examples/quickstart/workflows/first-task.js"
import type * as AffinityModule from "@hatchet-dev/typescript-sdk/v1/examples/runtime_affinity/workflow.js"
import type * as SlotCostModule from "@hatchet-dev/typescript-sdk/v1/examples/slot_cost/workflow.js"
import type * as StreamModule from "@hatchet-dev/typescript-sdk/v1/examples/subscribe_to_stream/workflow.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: misc", (it) => {
  it.scoped("quickstart and inferred-typing: each task's output, and a DAG of reused task definitions", () =>
    Effect.gen(function*() {
      const { firstTask } = yield* Examples.load<typeof QuickstartModule>("quickstart/workflows/first-task.js")
      const typed = yield* Examples.load<typeof InferredModule>("inferred-typing/workflow.js")
      yield* Examples.worker(
        "first-worker",
        [firstTask, typed.declaredType, typed.inferredType, typed.inferredTypeDurable, typed.crazyWorkflow],
        { slots: 10 }
      )
      expect(yield* Effect.promise(() => firstTask.run({ Message: "Hello World!" }))).toEqual({ TransformedMessage: "hello world!" })
      const [declared, inferred, durable, crazy] = yield* Effect.promise(() =>
        Promise.all([
          typed.declaredType.run({ Message: "hello" }),
          typed.inferredType.run({ Message: "hello" }),
          typed.inferredTypeDurable.run({ Message: "Durable Task" }),
          typed.crazyWorkflow.run({ Message: "hello" })
        ])
      )
      expect(declared).toEqual({ TransformedMessage: "hello" })
      expect(inferred).toEqual({ TransformedMessage: "HELLO" })
      expect(durable).toEqual({ TransformedMessage: "DURABLE TASK" })
      expect(crazy).toEqual({ "declared-type": { TransformedMessage: "hello" }, "inferred-type": { TransformedMessage: "HELLO" } })
    }))

  it.scoped("deep: five levels of bulk-run children sum to N^5", () =>
    Effect.gen(function*() {
      const deep = yield* Examples.load<typeof DeepModule>("deep/workflow.js")
      yield* Examples.worker("deep-worker", [deep.parent, deep.child1, deep.child2, deep.child3, deep.child4, deep.child5], {
        slots: 500
      })
      expect(yield* Effect.promise(() => deep.parent.run({ Message: "hello", N: 3 }))).toEqual({ parent: { Sum: 243 } })
    }))

  it.scoped("slot_cost: a task of cost 5 waits for a worker of five slots; one of cost 1 runs on a worker of four", () =>
    Effect.gen(function*() {
      const { omega, weenie } = yield* Examples.load<typeof SlotCostModule>("slot_cost/workflow.js")
      const { hatchet } = yield* Examples.worker("slot-cost-worker-4", [omega, weenie], { slots: 4 })
      const heavy = yield* Examples.trigger(() => omega.runNoWait({}))
      // queued after the heavy one, the light one runs on the worker of four while the heavy one waits
      yield* Effect.promise(() => weenie.run({}))
      expect((yield* Effect.promise(() => hatchet.runs.get(heavy.id))).run.status).toBe("QUEUED")
      yield* Examples.worker("slot-cost-worker-5", [omega, weenie], { slots: 5 })
      const details = yield* Examples.ended(heavy.id)
      expect(details.run.status).toBe("COMPLETED")
      const workers = (yield* Effect.promise(() => hatchet.workers.list())).rows ?? []
      const five = workers.find((w) => w.name === "slot-cost-worker-5")
      expect(new Set(details.taskEvents.flatMap((e) => (e.workerId === undefined ? [] : [e.workerId])))).toEqual(
        new Set([five?.metadata.id])
      )
    }))

  it.scoped("high-memory: the child task's 1 MiB output arrives whole", () =>
    Effect.gen(function*() {
      const { child } = yield* Examples.load<typeof HighMemoryModule>("high-memory/workflow-with-child.js")
      yield* Examples.worker("child-worker", [child], { slots: 10 })
      const output = yield* Effect.promise(() => child.run({ Message: "Iteration 1" }))
      expect(output.TransformedMessage).toBe("a".repeat(1024 * 1024))
    }))

  it.scoped("subscribe_to_stream: every chunk of a task and of a DAG run, subscribed at the start or once running; the tail mid-stream", () =>
    Effect.gen(function*() {
      const { STREAM_CHUNKS, dagStream, longStream } = yield* Examples.load<typeof StreamModule>("subscribe_to_stream/workflow.js")
      const { hatchet } = yield* Examples.worker("subscribe-stream-worker", [longStream, dagStream], { slots: 8 })
      const all = STREAM_CHUNKS.join("")
      /** The chunks a subscriber gets until the stream ends; `onChunk` sees each as it arrives. */
      const collect = (id: string, onChunk: (count: number) => void = () => undefined) =>
        Effect.promise(async () => {
          const chunks: Array<string> = []
          for await (const chunk of hatchet.runs.subscribeToStream(id)) onChunk(chunks.push(chunk))
          return chunks
        })
      const [dag, task, runningTask, joinedTask] = (yield* Effect.all([
        Examples.trigger(() => dagStream.runNoWait({})),
        Examples.trigger(() => longStream.runNoWait({})),
        Examples.trigger(() => longStream.runNoWait({})),
        Examples.trigger(() => longStream.runNoWait({}))
      ])).map((run) => run.id)
      const subscribedWhenRunning = Effect.zipRight(
        Official.eventually(async () => ((await hatchet.runs.get(runningTask)).run.status === "RUNNING" ? true : undefined)),
        collect(runningTask)
      )
      // a second subscriber joins once the first has had four of the twenty chunks (sixteen
      // remain, 50 ms apart: time enough to subscribe under load)
      const joining = yield* Effect.makeLatch(false)
      const midStream = Effect.zipRight(
        Effect.fork(collect(joinedTask, (count) => count === 4 && Effect.runSync(joining.open))),
        Effect.zipRight(joining.await, collect(joinedTask))
      )
      const [dagChunks, taskChunks, runningChunks, tail] = yield* Effect.all(
        [collect(dag), collect(task), subscribedWhenRunning, midStream],
        { concurrency: "unbounded" }
      )
      // the DAG's task puts its chunks back to back without awaiting them (the SDK's putStream does
      // not), so they may reach the engine out of order, some after the task's result, which
      // releases what is held for a gap (as upstream's stream buffer does): every chunk, once
      expect([...dagChunks].sort()).toEqual(STREAM_CHUNKS)
      expect(taskChunks).toEqual(STREAM_CHUNKS)
      expect(runningChunks).toEqual(STREAM_CHUNKS)
      expect(tail.length).toBeGreaterThan(0)
      expect(all.endsWith(tail.join(""))).toBe(true)
      for (const id of [dag, task, runningTask, joinedTask]) {
        expect((yield* Effect.promise(() => hatchet.runs.get(id))).run.status).toBe("COMPLETED")
      }
    }))

  it.scoped("runtime_affinity: runs requiring a worker's label run both their tasks on that worker", () =>
    Effect.gen(function*() {
      const { affinityExampleTask: workflow } = yield* Examples.load<typeof AffinityModule>("runtime_affinity/workflow.js")
      const { hatchet } = yield* Examples.client
      const labels = ["foo", "bar"] as const
      for (const label of labels) yield* Examples.worker("runtime-affinity-worker", [workflow], { labels: { affinity: label } })
      const active = yield* Official.eventually(async () => {
        const rows = ((await hatchet.workers.list()).rows ?? []).filter((w) =>
          w.status === "ACTIVE" && w.name === "runtime-affinity-worker"
        )
        return rows.length === 2 ? rows : undefined
      })
      const byLabel = new Map(
        active.flatMap((w) => (w.labels ?? []).filter((l) => l.key === "affinity").map((l) => [l.value, w.metadata.id] as const))
      )
      expect([...byLabel.keys()].sort()).toEqual(["bar", "foo"])
      for (let i = 0; i < 20; i++) {
        const target = labels[i % 2]!
        const output = yield* Effect.promise(() =>
          workflow.run({}, { desiredWorkerLabels: { affinity: { value: target, required: true } } })
        )
        expect(output.affinity_t1.worker_id).toBe(byLabel.get(target))
        expect(output.affinity_t2.worker_id).toBe(byLabel.get(target))
      }
    }))
})
