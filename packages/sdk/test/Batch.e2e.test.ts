/**
 * Batch tasks end to end: our worker and our client over loopback gRPC against the local engine
 * (and the official SDK's client triggering our batch worker).
 *
 * Each run is triggered alone; the engine hands the worker the runs of a key in batches (flushed
 * by size or by interval), our worker calls the handler once per batch under one slot and reports
 * each run with `SendBatchActionEvent`; every run gets its own output, its own failure, or its own
 * cancellation.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Option, Schema, Scope } from "effect"
import * as Admin from "../src/Admin.js"
import * as BatchContext from "../src/BatchContext.js"
import * as Hatchet from "../src/Hatchet.js"
import * as Runs from "../src/Runs.js"
import * as Task from "../src/Task.js"
import { TaskFailed } from "../src/TaskError.js"
import { cancelOneThenTheOther, holdUntilInterrupted } from "./support/batch.js"
import { engineWithClient, pollUntil, unique } from "./support/engine.js"
import { officialClient } from "./support/official.js"
import { startWorker } from "./support/worker.js"

const Message = Schema.Struct({ message: Schema.String, group: Schema.optional(Schema.String) })
const Shout = Schema.Struct({ upper: Schema.String, batchSize: Schema.Number, key: Schema.String, run: Schema.String })

class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", { load: Schema.Number }) {}

/** A batch task that upper-cases each message and says what batch it was in; records each batch's size. */
const shouting = (batch: Task.BatchTask.Any["batch"]) => {
  const sizes: Array<number> = []
  const task = Task.batch(unique("shout"), { input: Message, output: Shout, batch })
  const live = task.toLayer((inputs) =>
    Effect.gen(function*() {
      const ctx = yield* BatchContext.BatchContext
      sizes.push(inputs.length)
      return inputs.map((input, i) => ({
        upper: input.message.toUpperCase(),
        batchSize: inputs.length,
        key: Option.getOrElse(ctx.batchKey, () => ""),
        run: ctx.items[i]!.workflowRunId
      }))
    })
  )
  return { task, live, sizes }
}

/** A batch task flushed by twos (its interval never passes in a test). */
const pairOf = (prefix: string) =>
  Task.batch(unique(prefix), { input: Message, output: Shout, batch: { maxSize: 2, maxInterval: "1 minute" } })

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("batch tasks, our worker and client end to end", (it) => {
  it.scoped("a full batch is flushed at once: one handler call, each run gets its own output", () =>
    Effect.gen(function*() {
      const { live, sizes, task } = shouting({ maxSize: 3, maxInterval: "1 minute" })
      yield* startWorker(live)
      const handles = yield* Hatchet.runManyNoWait(task, [{ message: "a" }, { message: "b" }, { message: "c" }])
      const results = yield* Effect.forEach(handles, (h) => h.result, { concurrency: "unbounded" })
      expect(results.map((r) => r.upper)).toEqual(["A", "B", "C"])
      expect(results.map((r) => r.batchSize)).toEqual([3, 3, 3])
      // BatchContext.items[i] is the run of inputs[i]
      expect(results.map((r) => r.run)).toEqual(handles.map((h) => h.runId))
      expect(sizes).toEqual([3])
    }))

  it.scoped("a batch that does not fill up is flushed when its interval passes", () =>
    Effect.gen(function*() {
      const { live, sizes, task } = shouting({ maxSize: 10, maxInterval: "150 millis" })
      yield* startWorker(live)
      const results = yield* Effect.all([Hatchet.run(task, { message: "x" }), Hatchet.run(task, { message: "y" })], {
        concurrency: "unbounded"
      })
      expect(results.map((r) => r.upper).sort()).toEqual(["X", "Y"])
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(2)
      expect(sizes.every((size) => size < 10)).toBe(true)
    }))

  it.scoped("items are batched by their group key only with items of the same key", () =>
    Effect.gen(function*() {
      const { live, sizes, task } = shouting({ maxSize: 2, maxInterval: "1 minute", groupKey: "input.group" })
      yield* startWorker(live)
      const inputs = [
        { message: "a1", group: "a" },
        { message: "b1", group: "b" },
        { message: "a2", group: "a" },
        { message: "b2", group: "b" }
      ]
      const results = yield* Effect.forEach(inputs, (input) => Hatchet.run(task, input), { concurrency: "unbounded" })
      expect(results.map((r) => r.key)).toEqual(["a", "b", "a", "b"])
      expect(results.map((r) => r.batchSize)).toEqual([2, 2, 2, 2])
      expect(sizes).toEqual([2, 2])
    }))

  it.scoped("a handler's failure fails every run of the batch with the declared error", () =>
    Effect.gen(function*() {
      const task = Task.batch(unique("overloaded"), {
        input: Message,
        output: Shout,
        error: Overloaded,
        batch: { maxSize: 2, maxInterval: "1 minute" }
      })
      yield* startWorker(task.toLayer((inputs) => Effect.fail(new Overloaded({ load: inputs.length }))))
      const failures = yield* Effect.forEach(
        [{ message: "a" }, { message: "b" }],
        (input) => Effect.flip(Hatchet.run(task, input)),
        { concurrency: "unbounded" }
      )
      expect(failures).toEqual([new Overloaded({ load: 2 }), new Overloaded({ load: 2 })])
    }))

  it.scoped("the number of outputs must match the inputs; an output that does not encode fails its own run", () =>
    Effect.gen(function*() {
      const short = Task.batch(unique("short"), {
        input: Message,
        output: Schema.Struct({ upper: Schema.String }),
        batch: { maxSize: 2, maxInterval: "1 minute" }
      })
      const picky = Task.batch(unique("picky"), {
        input: Message,
        output: Schema.Struct({ length: Schema.Number.pipe(Schema.positive()) }),
        batch: { maxSize: 2, maxInterval: "1 minute" }
      })
      yield* startWorker(short.toLayer((inputs) => Effect.succeed([{ upper: inputs[0]!.message }])))
      yield* startWorker(picky.toLayer((inputs) => Effect.succeed(inputs.map((i) => ({ length: i.message.length })))))
      const mismatch = yield* Effect.forEach(
        [{ message: "a" }, { message: "b" }],
        (input) => Effect.flip(Hatchet.run(short, input)),
        { concurrency: "unbounded" }
      )
      for (const error of mismatch) {
        expect(error).toBeInstanceOf(TaskFailed)
        expect(error).toMatchObject({ kind: "InvalidOutput", message: `Batch task "${short.name}" returned 1 outputs for 2 inputs` })
      }
      const [empty, full] = yield* Effect.all([
        Effect.either(Hatchet.run(picky, { message: "" })),
        Effect.either(Hatchet.run(picky, { message: "abc" }))
      ], { concurrency: "unbounded" })
      expect(empty).toMatchObject({ _tag: "Left", left: { kind: "InvalidOutput" } })
      expect(full).toMatchObject({ _tag: "Right", right: { length: 3 } })
    }))

  it.scoped("an item whose input does not decode fails alone with InvalidInput; the handler gets the others", () =>
    Effect.gen(function*() {
      const { live, sizes, task } = shouting({ maxSize: 3, maxInterval: "1 minute" })
      yield* startWorker(live)
      const admin = yield* Admin.Admin
      // what our client would refuse: another SDK, a REST trigger, an older version of the Schema
      const badRun = yield* admin.triggerWorkflow({ name: task.name, input: JSON.stringify({ message: 42 }), desiredWorkerLabels: {} })
      const good = yield* Hatchet.runManyNoWait(task, [{ message: "a" }, { message: "b" }])
      const results = yield* Effect.forEach(good, (h) => h.result, { concurrency: "unbounded" })
      expect(results.map((r) => r.upper)).toEqual(["A", "B"])
      expect(results.map((r) => r.batchSize)).toEqual([2, 2])
      const bad = yield* Effect.flip(Effect.flatMap(Hatchet.handle(task, badRun), (h) => h.result))
      expect(bad).toBeInstanceOf(TaskFailed)
      expect(bad).toMatchObject({ kind: "InvalidInput" })
      expect((bad as TaskFailed).message).toContain(`Invalid input for task "${task.name}"`)
      expect(sizes).toEqual([2])
    }))

  it.scoped("broadcastOutput: the handler returns one output, every run gets it", () =>
    Effect.gen(function*() {
      const task = Task.batch(unique("sum"), {
        input: Message,
        output: Schema.Struct({ total: Schema.Number }),
        batch: { maxSize: 3, maxInterval: "1 minute", broadcastOutput: true }
      })
      yield* startWorker(task.toLayer((inputs) => Effect.succeed({ total: inputs.reduce((n, i) => n + i.message.length, 0) })))
      const results = yield* Effect.forEach(["a", "bb", "ccc"], (message) => Hatchet.run(task, { message }), {
        concurrency: "unbounded"
      })
      expect(results).toEqual([{ total: 6 }, { total: 6 }, { total: 6 }])
    }))

  it.scoped("cancelling every run of a batch interrupts its handler (finalizers run); the runs end CANCELLED", () =>
    Effect.gen(function*() {
      const held = yield* holdUntilInterrupted
      const task = pairOf("stuck")
      yield* startWorker(task.toLayer(held.handler))
      yield* cancelOneThenTheOther(held, yield* Hatchet.runManyNoWait(task, [{ message: "a" }, { message: "b" }]))
    }))

  it.scoped("BatchContext.cancel cancels every run of the batch and interrupts the handler", () =>
    Effect.gen(function*() {
      const finalized = yield* Deferred.make<void>()
      const task = pairOf("give-up")
      yield* startWorker(
        task.toLayer(() => BatchContext.cancel.pipe(Effect.onInterrupt(() => Deferred.succeed(finalized, undefined)), Effect.orDie))
      )
      const handles = yield* Hatchet.runManyNoWait(task, [{ message: "a" }, { message: "b" }])
      for (const handle of handles) {
        expect(yield* Effect.flip(handle.result)).toMatchObject({ kind: "Cancelled" })
      }
      yield* Deferred.await(finalized)
      const runs = yield* Runs.Runs
      const details = yield* pollUntil(runs.get(handles[0]!.runId), (d) => d.run.status === "CANCELLED")
      expect(details.run.status).toBe("CANCELLED")
    }))

  it.scoped("a worker that shuts down past its grace period interrupts the batch and fails its runs (Interrupted)", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const task = pairOf("slow")
      const scope = yield* Scope.make()
      yield* startWorker(task.toLayer(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)), {
        shutdownGracePeriod: "100 millis"
      }).pipe(Scope.extend(scope))
      const handles = yield* Hatchet.runManyNoWait(task, [{ message: "a" }, { message: "b" }])
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      for (const handle of handles) {
        const error = yield* Effect.flip(handle.result)
        expect(error).toMatchObject({ kind: "Interrupted" })
        expect((error as TaskFailed).message).toMatch(/shut down before the batch finished/)
      }
    }))

  it.scoped("the official SDK's client triggers our batch worker and gets each run's output", () =>
    Effect.gen(function*() {
      const { live, sizes, task } = shouting({ maxSize: 2, maxInterval: "1 minute" })
      yield* startWorker(live)
      const official = officialClient(yield* Engine.Engine)
      const results = yield* Effect.promise(() =>
        Promise.all([official.run(task.name, { message: "hi" }), official.run(task.name, { message: "yo" })])
      )
      expect(results.map((r) => (r as unknown as Record<string, { upper: string }>)[task.name]!.upper)).toEqual(["HI", "YO"])
      expect(sizes).toEqual([2])
    }))
})
