/**
 * Where tasks run, end to end with two of our workers on the local engine: sticky runs and their
 * children, desired worker labels given when triggering, labels changed at run time; and what a
 * task sees of its trigger (the event) and its attempts.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Ref, Schema } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskError from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const WorkerId = Schema.Struct({ workerId: Schema.String })

/** A task that answers with the id of the worker that ran it. */
const whereTask = <Input extends Schema.Schema.AnyNoContext = Schema.Struct<{}>>(
  name: string,
  options: Omit<Task.TaskOptions<Input, typeof WorkerId, typeof Schema.Never>, "output"> = {}
) => Task.make(name, { ...options, output: WorkerId })

const reportWorker = Effect.map(TaskContext.TaskContext, (ctx) => ({ workerId: ctx.workerId }))

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("affinity end to end", (it) => {
  it.scoped("sticky: children spawned with sticky: true run on their parent's worker; a sticky DAG stays on one worker", () =>
    Effect.gen(function*() {
      const Child = whereTask(unique("sticky-child"), { sticky: "HARD" })
      const Parent = Task.make(unique("sticky-parent"), {
        output: Schema.Struct({ parent: Schema.String, children: Schema.Array(Schema.String) })
      })
      const Dag = Workflow.make(unique("sticky-dag"), { sticky: "SOFT" }).pipe(
        Workflow.task("a", { output: WorkerId }),
        Workflow.task("b", { parents: ["a"], output: WorkerId }),
        Workflow.task("c", { parents: ["b"], output: WorkerId })
      )
      const implementations = Layer.mergeAll(
        Child.toLayer(() => reportWorker),
        Parent.toLayer(() =>
          Effect.gen(function*() {
            const ctx = yield* TaskContext.TaskContext
            const children = yield* Effect.forEach(
              Array.from({ length: 6 }),
              () => Hatchet.run(Child, {}, { sticky: true }),
              { concurrency: "unbounded" }
            )
            return { parent: ctx.workerId, children: children.map((child) => child.workerId) }
          }).pipe(TaskError.undeclared)
        ),
        Dag.toLayer({ a: () => reportWorker, b: () => reportWorker, c: () => reportWorker })
      )
      const first = yield* startWorker(implementations)
      const second = yield* startWorker(implementations)
      const ids = new Set([Option.getOrThrow(yield* first.workerId), Option.getOrThrow(yield* second.workerId)])

      const seen = new Set<string>()
      for (let i = 0; i < 4; i++) {
        const result = yield* Hatchet.run(Parent, {})
        expect(result.children).toEqual(Array.from({ length: 6 }, () => result.parent))
        seen.add(result.parent)
        const dag = yield* Hatchet.run(Dag, {})
        expect([dag.b.workerId, dag.c.workerId]).toEqual([dag.a.workerId, dag.a.workerId])
        seen.add(dag.a.workerId)
      }
      // both workers took work: the children did not stay together by chance
      expect(seen).toEqual(ids)
    }))

  it.scoped("sticky and desiredWorkerId are refused for a workflow without a sticky strategy", () =>
    Effect.gen(function*() {
      const Plain = whereTask(unique("plain"))
      const error = yield* Effect.flip(Hatchet.runNoWait(Plain, {}, { desiredWorkerId: "00000000-0000-4000-8000-000000000000" }))
      expect(error).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidOptions" })
      expect(error.message).toContain("declares no sticky strategy")
    }))

  it.scoped("desiredWorkerLabels given when triggering send the run to the worker with those labels", () =>
    Effect.gen(function*() {
      const Infer = whereTask(unique("infer"))
      const small = yield* startWorker(Infer.toLayer(() => reportWorker), { labels: { model: "small", gpus: 1 } })
      const large = yield* startWorker(Infer.toLayer(() => reportWorker), { labels: { model: "large", gpus: 8 } })
      const smallId = Option.getOrThrow(yield* small.workerId)
      const largeId = Option.getOrThrow(yield* large.workerId)
      const onLarge = yield* Effect.forEach(
        Array.from({ length: 4 }),
        () => Hatchet.run(Infer, {}, { desiredWorkerLabels: { model: { value: "large", required: true } } })
      )
      expect(onLarge.map((r) => r.workerId)).toEqual([largeId, largeId, largeId, largeId])
      const fewGpus = yield* Effect.forEach(
        Array.from({ length: 4 }),
        () => Hatchet.run(Infer, {}, { desiredWorkerLabels: { gpus: { value: 4, comparator: "LESS_THAN", required: true } } })
      )
      expect(fewGpus.map((r) => r.workerId)).toEqual([smallId, smallId, smallId, smallId])
      const bad = yield* Effect.flip(Hatchet.runNoWait(Infer, {}, { desiredWorkerLabels: { gpus: 1.5 } }))
      expect(bad).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidOptions" })
      expect(bad.message).toContain("desiredWorkerLabels.gpus: a numeric label must be an integer")
    }))

  it.scoped("labels changed at run time, from a task or from the worker, steer later runs", () =>
    Effect.gen(function*() {
      const Load = whereTask(unique("load-model"), { input: Schema.Struct({ model: Schema.String }) })
      const Use = whereTask(unique("use-model"))
      const implementations = Layer.merge(
        Load.toLayer(({ model }) => Effect.zipRight(TaskContext.upsertLabels({ model }).pipe(Effect.orDie), reportWorker)),
        Use.toLayer(() => reportWorker)
      )
      const one = yield* startWorker(implementations)
      const two = yield* startWorker(implementations)
      // a task loads a model on whichever worker runs it, and labels that worker
      const loaded = yield* Hatchet.run(Load, { model: "llama" })
      const wantsLlama = { desiredWorkerLabels: { model: { value: "llama", required: true } } }
      const runs = yield* Effect.forEach(Array.from({ length: 4 }), () => Hatchet.run(Use, {}, wantsLlama))
      expect(runs.map((r) => r.workerId)).toEqual(Array.from({ length: 4 }, () => loaded.workerId))
      // the other worker labels itself
      const other = Option.getOrThrow(yield* one.workerId) === loaded.workerId ? two : one
      yield* other.upsertLabels({ model: "mistral" })
      expect(yield* other.currentLabels).toEqual({ model: "mistral" })
      const mistral = yield* Hatchet.run(Use, {}, { desiredWorkerLabels: { model: { value: "mistral", required: true } } })
      expect(mistral.workerId).toBe(Option.getOrThrow(yield* other.workerId))
    }))

  it.scoped("a task sees the event that triggered its run, its attempt number and its maximum", () =>
    Effect.gen(function*() {
      const key = unique("order:placed")
      const seen = yield* Ref.make<Array<{ event: Option.Option<TaskContext.TriggeringEvent>; attempt: number; max: number }>>([])
      const OnOrder = Task.make(unique("on-order"), { onEvents: [key], retries: 2 })
      yield* startWorker(OnOrder.toLayer(() =>
        Effect.gen(function*() {
          const ctx = yield* TaskContext.TaskContext
          yield* Ref.update(seen, (all) => [...all, { event: ctx.triggeringEvent, attempt: ctx.attemptNumber, max: ctx.maxAttempts }])
          if (ctx.attemptNumber === 1) return yield* TaskError.undeclared(Effect.fail("first attempt fails"))
        })
      ))
      const event = yield* Hatchet.push(key, {})
      const direct = yield* Hatchet.runNoWait(OnOrder, {})
      yield* direct.result
      const all = yield* Effect.repeat(Ref.get(seen), { until: (list) => list.length >= 4 })
      const fromEvent = all.filter((s) => Option.isSome(s.event))
      expect(fromEvent.map((s) => [s.attempt, s.max])).toEqual([[1, 3], [2, 3]])
      expect(Option.getOrThrow(fromEvent[0]!.event)).toEqual({ id: event.eventId, key })
      expect(all.filter((s) => Option.isNone(s.event)).map((s) => s.attempt)).toEqual([1, 2])
    }))
})
