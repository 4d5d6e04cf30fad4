/**
 * Batch tasks inside a DAG (`Workflow.batchTask`) end to end: our worker and our client over
 * loopback gRPC against the local engine.
 *
 * Each run is a DAG: a parent task, a batch task depending on it, a child depending on the batch
 * task. The engine gathers the batch task of many runs (flushed by size or by interval) and hands
 * the worker one `START_BATCH`; the handler gets each run's workflow input and its parent outputs,
 * each run goes on with its own output to its child; a failing batch fails those runs; an item
 * whose input does not decode fails its run alone. And the official SDK's `workflow.batchTask`:
 * the same `PutWorkflow` tasks as ours, and its worker on this engine with our client.
 */
import { Engine } from "@effect-hatchet/engine"
import { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import * as OfficialWire from "@hatchet-dev/typescript-sdk/protoc/v1/workflows.js"
import * as OfficialProto from "@hatchet-dev/typescript-sdk/v1/client/worker/workflow-proto.js"
import * as OfficialSdk from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import * as Admin from "../src/Admin.js"
import * as BatchContext from "../src/BatchContext.js"
import * as Condition from "../src/Condition.js"
import * as Hatchet from "../src/Hatchet.js"
import { specOf } from "../src/internal/definition.js"
import { compile } from "../src/internal/registration.js"
import * as Runs from "../src/Runs.js"
import { TaskFailed } from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"
import { cancelOneThenTheOther, holdUntilInterrupted } from "./support/batch.js"
import { engineWithClient, pollUntil, unique } from "./support/engine.js"
import { officialClient, officialWorker } from "./support/official.js"
import { startWorker } from "./support/worker.js"

const Word = Schema.Struct({ word: Schema.String, group: Schema.optional(Schema.String) })
const Prepared = Schema.Struct({ upper: Schema.String })
const Measured = Schema.Struct({ fromParent: Schema.String, length: Schema.Number, batchSize: Schema.Number, run: Schema.String })
const Reported = Schema.Struct({ line: Schema.String })

class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", { load: Schema.Number }) {}

/**
 * `prepare` -> `measure` (batched) -> `report`; records each batch's size and how often the child
 * ran.
 */
const pipeline = (batch: Workflow.BatchSettings) => {
  const sizes: Array<number> = []
  const reported: Array<string> = []
  const flow = Workflow.make(unique("measure-flow"), { input: Word }).pipe(
    Workflow.task("prepare", { output: Prepared }),
    Workflow.batchTask("measure", { parents: ["prepare"], output: Measured, batch }),
    Workflow.task("report", { parents: ["measure"], output: Reported })
  )
  const live = flow.toLayer({
    prepare: (input) => Effect.succeed({ upper: input.word.toUpperCase() }),
    measure: (inputs, parents) =>
      Effect.gen(function*() {
        const ctx = yield* BatchContext.BatchContext
        sizes.push(inputs.length)
        return inputs.map((input, i) => ({
          fromParent: parents[i]!.prepare.upper,
          length: input.word.length,
          batchSize: inputs.length,
          run: ctx.items[i]!.workflowRunId
        }))
      }),
    report: (input, parents) =>
      Effect.sync(() => {
        reported.push(input.word)
        return { line: `${parents.measure.fromParent}:${parents.measure.length}/${parents.measure.batchSize}` }
      })
  })
  return { flow, live, sizes, reported }
}

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })(
  "batch tasks in a DAG, our worker and client end to end",
  (it) => {
    it.scoped("a full batch is flushed at once: one handler call with each run's input and parents, each child gets its run's output", () =>
      Effect.gen(function*() {
        const { flow, live, reported, sizes } = pipeline({ maxSize: 3, maxInterval: "1 minute" })
        yield* startWorker(live)
        const handles = yield* Hatchet.runManyNoWait(flow, [{ word: "a" }, { word: "bb" }, { word: "ccc" }])
        const results = yield* Effect.forEach(handles, (h) => h.result, { concurrency: "unbounded" })
        expect(results.map((r) => r.prepare.upper)).toEqual(["A", "BB", "CCC"])
        // parents[i] is the parent output of the run of inputs[i]; BatchContext.items[i] is that run
        expect(results.map((r) => r.measure)).toEqual([
          { fromParent: "A", length: 1, batchSize: 3, run: handles[0]!.runId },
          { fromParent: "BB", length: 2, batchSize: 3, run: handles[1]!.runId },
          { fromParent: "CCC", length: 3, batchSize: 3, run: handles[2]!.runId }
        ])
        expect(results.map((r) => r.report.line)).toEqual(["A:1/3", "BB:2/3", "CCC:3/3"])
        expect(sizes).toEqual([3])
        expect(reported.sort()).toEqual(["a", "bb", "ccc"])
        const runs = yield* Runs.Runs
        const details = yield* runs.get(handles[0]!.runId)
        expect(details.run.status).toBe("COMPLETED")
        const events = details.taskEvents.map((e) => e.eventType)
        expect(events).toContain("WAITING_FOR_BATCH")
        expect(events).toContain("BATCH_FLUSHED")
      }))

    it.scoped("a batch that does not fill up is flushed when its interval passes; the runs go on to their children", () =>
      Effect.gen(function*() {
        const { flow, live, sizes } = pipeline({ maxSize: 10, maxInterval: "150 millis" })
        yield* startWorker(live)
        const results = yield* Effect.all([Hatchet.run(flow, { word: "x" }), Hatchet.run(flow, { word: "yy" })], {
          concurrency: "unbounded"
        })
        expect(results.map((r) => r.report.line.split("/")[0])).toEqual(["X:1", "YY:2"])
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(2)
        expect(sizes.every((size) => size < 10)).toBe(true)
      }))

    it.scoped("runs are batched by their group key only with runs of the same key", () =>
      Effect.gen(function*() {
        const { flow, live, sizes } = pipeline({ maxSize: 2, maxInterval: "1 minute", groupKey: "input.group" })
        yield* startWorker(live)
        const inputs = [{ word: "a1", group: "a" }, { word: "b1", group: "b" }, { word: "a2", group: "a" }, { word: "b2", group: "b" }]
        const results = yield* Effect.forEach(inputs, (input) => Hatchet.run(flow, input), { concurrency: "unbounded" })
        expect(results.map((r) => r.report.line)).toEqual(["A1:2/2", "B1:2/2", "A2:2/2", "B2:2/2"])
        expect(sizes).toEqual([2, 2])
      }))

    it.scoped("a failing batch fails the batch task in each of its runs, and so those runs: their children never run", () =>
      Effect.gen(function*() {
        let childRan = 0
        const flow = Workflow.make(unique("overloaded-flow"), { input: Word }).pipe(
          Workflow.task("prepare", { output: Prepared }),
          Workflow.batchTask("measure", { parents: ["prepare"], output: Measured, error: Overloaded, batch: { maxSize: 2 } }),
          Workflow.task("report", { parents: ["measure"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          prepare: (input) => Effect.succeed({ upper: input.word }),
          measure: (inputs) => Effect.fail(new Overloaded({ load: inputs.length })),
          report: () => Effect.sync(() => (childRan++, { line: "" }))
        }))
        const handles = yield* Hatchet.runManyNoWait(flow, [{ word: "a" }, { word: "b" }])
        for (const handle of handles) {
          expect(yield* Effect.flip(handle.result)).toEqual(new Overloaded({ load: 2 }))
        }
        const runs = yield* Runs.Runs
        const details = yield* pollUntil(runs.get(handles[0]!.runId), (d) => d.run.status === "FAILED")
        // as for any failed parent: the engine creates the child CANCELLED, it never reaches a worker
        expect(details.tasks.map((t) => [t.displayName.replace(/-\d+$/, ""), t.status]).sort()).toEqual([
          ["measure", "FAILED"],
          ["prepare", "COMPLETED"],
          ["report", "CANCELLED"]
        ])
        expect(childRan).toBe(0)
      }))

    it.scoped("a run whose input does not decode fails alone with InvalidInput; the batch goes on with the others", () =>
      Effect.gen(function*() {
        const sizes: Array<number> = []
        // the batch task is the DAG's root, so that it is the first to decode the input
        const flow = Workflow.make(unique("root-batch-flow"), { input: Word }).pipe(
          Workflow.batchTask("measure", { output: Schema.Struct({ n: Schema.Number }), batch: { maxSize: 3, maxInterval: "1 minute" } }),
          Workflow.task("report", { parents: ["measure"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          measure: (inputs) => Effect.sync(() => (sizes.push(inputs.length), inputs.map((i) => ({ n: i.word.length })))),
          report: (input, parents) => Effect.succeed({ line: `${input.word}:${parents.measure.n}` })
        }))
        const admin = yield* Admin.Admin
        // what our client would refuse: another SDK, a REST trigger, an older version of the Schema
        const badRun = yield* admin.triggerWorkflow({
          name: flow.name.toLowerCase(),
          input: JSON.stringify({ word: 42 }),
          desiredWorkerLabels: {}
        })
        const good = yield* Hatchet.runManyNoWait(flow, [{ word: "a" }, { word: "bb" }])
        const results = yield* Effect.forEach(good, (h) => h.result, { concurrency: "unbounded" })
        expect(results.map((r) => r.report.line)).toEqual(["a:1", "bb:2"])
        const bad = yield* Effect.flip(Effect.flatMap(Hatchet.handle(flow, badRun), (h) => h.result))
        expect(bad).toBeInstanceOf(TaskFailed)
        expect(bad).toMatchObject({ kind: "InvalidInput" })
        expect((bad as TaskFailed).message).toContain(`Invalid input for task "measure"`)
        // one batch of three: the handler got the two runs that decode
        expect(sizes).toEqual([2])
      }))

    it.scoped("a run whose parent output does not decode fails alone with InvalidInput; the batch goes on with the others", () =>
      Effect.gen(function*() {
        const sizes: Array<number> = []
        // encodes any string, decodes all but "BAD": the parent's output reaches the engine, the batch cannot read it
        const Picky = Schema.transformOrFail(Schema.String, Schema.String, {
          strict: true,
          decode: (s, _, ast) => s === "BAD" ? ParseResult.fail(new ParseResult.Type(ast, s, "BAD is refused")) : ParseResult.succeed(s),
          encode: ParseResult.succeed
        })
        const flow = Workflow.make(unique("picky-parent-flow"), { input: Word }).pipe(
          Workflow.task("prepare", { output: Schema.Struct({ upper: Picky }) }),
          Workflow.batchTask("measure", {
            parents: ["prepare"],
            output: Schema.Struct({ n: Schema.Number }),
            batch: { maxSize: 3, maxInterval: "1 minute" }
          }),
          Workflow.task("report", { parents: ["measure"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          prepare: (input) => Effect.succeed({ upper: input.word.toUpperCase() }),
          measure: (_inputs, parents) =>
            Effect.sync(() => (sizes.push(parents.length), parents.map((p) => ({ n: p.prepare.upper.length })))),
          report: (input, parents) => Effect.succeed({ line: `${input.word}:${parents.measure.n}` })
        }))
        const handles = yield* Hatchet.runManyNoWait(flow, [{ word: "bad" }, { word: "a" }, { word: "bb" }])
        const [bad, ...good] = yield* Effect.forEach(handles, (h) => Effect.either(h.result), { concurrency: "unbounded" })
        expect(good.map((r) => Either.map(r, (result) => result.report.line))).toEqual([Either.right("a:1"), Either.right("bb:2")])
        expect(bad).toMatchObject({ _tag: "Left", left: { kind: "InvalidInput" } })
        expect(Either.isLeft(bad) && (bad.left as TaskFailed).message).toContain(`Invalid output of parent task "prepare"`)
        expect(sizes).toEqual([2])
      }))

    it.scoped("broadcastOutput: one output for the batch, every run's child gets it", () =>
      Effect.gen(function*() {
        const flow = Workflow.make(unique("broadcast-flow"), { input: Word }).pipe(
          Workflow.task("prepare", { output: Prepared }),
          Workflow.batchTask("total", {
            parents: ["prepare"],
            output: Schema.Struct({ letters: Schema.Number }),
            batch: { maxSize: 3, maxInterval: "1 minute", broadcastOutput: true }
          }),
          Workflow.task("report", { parents: ["total"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          prepare: (input) => Effect.succeed({ upper: input.word.toUpperCase() }),
          total: (_inputs, parents) => Effect.succeed({ letters: parents.reduce((n, p) => n + p.prepare.upper.length, 0) }),
          report: (input, parents) => Effect.succeed({ line: `${input.word}/${parents.total.letters}` })
        }))
        const results = yield* Effect.forEach([{ word: "a" }, { word: "bb" }, { word: "ccc" }], (input) => Hatchet.run(flow, input), {
          concurrency: "unbounded"
        })
        expect(results.map((r) => r.report.line)).toEqual(["a/6", "bb/6", "ccc/6"])
      }))

    it.scoped("cancelling a run cancels its item of a running batch; once every run is cancelled the handler is interrupted", () =>
      Effect.gen(function*() {
        const held = yield* holdUntilInterrupted
        const flow = Workflow.make(unique("stuck-flow"), { input: Word }).pipe(
          Workflow.task("prepare", { output: Prepared }),
          Workflow.batchTask("measure", { parents: ["prepare"], output: Measured, batch: { maxSize: 2, maxInterval: "1 minute" } }),
          Workflow.task("report", { parents: ["measure"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          prepare: (input) => Effect.succeed({ upper: input.word }),
          measure: held.handler,
          report: () => Effect.succeed({ line: "" })
        }))
        yield* cancelOneThenTheOther(held, yield* Hatchet.runManyNoWait(flow, [{ word: "a" }, { word: "b" }]))
      }))

    it.scoped("a batch task's conditions: a skipped one is not batched, its child gets none; the others are batched", () =>
      Effect.gen(function*() {
        const sizes: Array<number> = []
        const flow = Workflow.make(unique("skip-flow"), { input: Word }).pipe(
          Workflow.task("prepare", { output: Prepared }),
          Workflow.batchTask("measure", {
            parents: ["prepare"],
            output: Schema.Struct({ n: Schema.Number }),
            skipIf: Condition.parentOutput("prepare", "output.upper == 'SKIP'"),
            batch: { maxSize: 2, maxInterval: "1 minute" }
          }),
          // (a child whose parents were all skipped is skipped too: "prepare" keeps this one)
          Workflow.task("report", { parents: ["prepare", "measure"], output: Reported })
        )
        yield* startWorker(flow.toLayer({
          prepare: (input) => Effect.succeed({ upper: input.word.toUpperCase() }),
          measure: (_inputs, parents) =>
            Effect.sync(() => (sizes.push(parents.length), parents.map((p) => ({ n: p.prepare.upper.length })))),
          report: (input, parents) =>
            Effect.succeed({
              line: Option.match(parents.measure, { onNone: () => `${input.word}:skipped`, onSome: ({ n }) => `${input.word}:${n}` })
            })
        }))
        const results = yield* Effect.forEach([{ word: "skip" }, { word: "a" }, { word: "bb" }], (input) => Hatchet.run(flow, input), {
          concurrency: "unbounded"
        })
        expect(results.map((r) => r.report.line)).toEqual(["skip:skipped", "a:1", "bb:2"])
        expect(results[0]!.measure).toEqual(Option.none())
        expect(sizes).toEqual([2])
      }))

    it.scoped("the official SDK's workflow.batchTask on this engine: its worker batches the runs our client triggers", () =>
      Effect.gen(function*() {
        const official = officialClient(yield* Engine.Engine)
        const name = unique("official-batch-dag")
        const sizes: Array<number> = []
        const wf = official.workflow<{ word: string }>({ name })
        const prepare = wf.task({ name: "prepare", fn: async (input) => ({ upper: input.word.toUpperCase() }) })
        const measure = wf.batchTask({
          name: "measure",
          // the official TS SDK's types leave `parents` out of batchTask's options (its Python SDK's
          // batch_task takes them); its workflowToProto sends them all the same
          ...({ parents: [prepare] } as {}),
          batch: { maxSize: 3, maxInterval: "1m" },
          fn: async (inputs: Record<string, { word: string }>, ctx) => {
            // the official SDK hands a batch handler the inputs only; the parents are in each item's payload
            const items = JSON.parse(ctx.action.actionPayload) as Record<string, { payload: { parents: { prepare: { upper: string } } } }>
            sizes.push(Object.keys(inputs).length)
            return Object.fromEntries(
              Object.entries(inputs).map(([id, input]) => [id, {
                fromParent: items[id]!.payload.parents.prepare.upper,
                length: input.word.length,
                batchSize: Object.keys(inputs).length,
                run: ""
              }])
            )
          }
        })
        wf.task({
          name: "report",
          parents: [measure],
          fn: async (_input, ctx) => {
            const m = await ctx.parentOutput(measure)
            return { line: `${m.fromParent}:${m.length}/${m.batchSize}` }
          }
        })
        yield* officialWorker(official, unique("official-worker"), [wf])

        const Ours = Workflow.make(name, { input: Word }).pipe(
          Workflow.task("prepare", { output: Prepared }),
          Workflow.batchTask("measure", { parents: ["prepare"], output: Measured, batch: { maxSize: 3, maxInterval: "1 minute" } }),
          Workflow.task("report", { parents: ["measure"], output: Reported })
        )
        const handles = yield* Hatchet.runManyNoWait(Ours, [{ word: "a" }, { word: "bb" }, { word: "ccc" }])
        const results = yield* Effect.forEach(handles, (h) => h.result, { concurrency: "unbounded" })
        expect(results.map((r) => r.report.line)).toEqual(["A:1/3", "BB:2/3", "CCC:3/3"])
        expect(sizes).toEqual([3])
      }))

    it("registers the same PutWorkflow tasks as the official SDK's workflow.batchTask (retries 0 over taskDefaults, one slot)", () => {
      const official = OfficialProto.workflowToProto((() => {
        const wf = OfficialSdk.CreateWorkflow<{ word: string }>({ name: "batch-dag-wire", taskDefaults: { retries: 3 } })
        const prepare = wf.task({ name: "prepare", fn: async () => ({}) })
        const measure = wf.batchTask({
          name: "measure",
          ...({ parents: [prepare] } as {}),
          batch: { maxSize: 4, maxInterval: "2s", groupKey: "input.word", groupMaxRuns: 2, broadcastOutput: true },
          fn: async () => ({})
        })
        wf.task({ name: "report", parents: [measure], fn: async () => ({}) })
        return wf
      })())
      const theirs = CreateWorkflowVersionRequest.decode(
        OfficialWire.CreateWorkflowVersionRequest.encode(OfficialWire.CreateWorkflowVersionRequest.fromPartial(official)).finish()
      )
      const Ours = Workflow.make("batch-dag-wire", { input: Word, taskDefaults: { retries: 3 } }).pipe(
        Workflow.task("prepare", { output: Prepared }),
        Workflow.batchTask("measure", {
          parents: ["prepare"],
          output: Measured,
          batch: { maxSize: 4, maxInterval: "2 seconds", groupKey: "input.word", groupMaxRuns: 2, broadcastOutput: true }
        }),
        Workflow.task("report", { parents: ["measure"], output: Reported })
      )
      const ours = Either.getOrThrow(compile(specOf(Ours), "")).request
      expect(theirs.tasks.map((t) => [t.readableId, t.parents, t.retries, t.slotRequests])).toEqual([
        ["prepare", [], 3, { default: 1 }],
        ["measure", ["prepare"], 0, { default: 1 }],
        ["report", ["measure"], 3, { default: 1 }]
      ])
      expect(theirs.tasks[1]!.batch).toEqual({
        batchMaxSize: 4,
        batchMaxIntervalMs: 2000,
        batchGroupKey: "input.word",
        batchGroupMaxRuns: 2,
        broadcastOutput: true
      })
      expect(ours.tasks).toEqual(theirs.tasks)
    })
  }
)
