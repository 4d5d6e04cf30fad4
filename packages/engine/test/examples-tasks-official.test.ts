/**
 * The official SDK's shipped task examples (`v1/examples/simple`'s e2e tasks, `dag`,
 * `return_exceptions`, `middleware`, `logger`), unchanged, on an official worker against this
 * engine, triggered with the official client; what each must do is what upstream's own e2e tests
 * for them assert:
 * - simple: every way to run a task (run, runNoWait, a one-item list, runMany, runManyNoWait with
 *   options per item) gives its output, for a plain and a durable task; the metadata given per
 *   item is the run's;
 * - dag: a child task reads its parent's output;
 * - return_exceptions: a bulk run with `returnExceptions` gives each failed item as an Error
 *   carrying the task's message, in order with the successes;
 * - middleware: the client's `before` adds to the input the task sees, its `after` to the output,
 *   and chained middlewares compose in order;
 * - logger: a workflow whose tasks log (to the console, and to the engine through the context)
 *   completes, the context's lines stored as the task's logs.
 */
import { expect, layer } from "@effect/vitest"
import type { JsonObject } from "@hatchet-dev/typescript-sdk/v1/types.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Ref<O = unknown> = Examples.Ref<O>
interface Task<I = Record<string, never>, O = unknown> {
  readonly name: string
  readonly run: {
    (input: I, options?: Record<string, unknown>): Promise<O>
    (input: ReadonlyArray<I>, options?: Record<string, unknown>): Promise<Array<O>>
  }
  readonly runNoWait: {
    (input: I, options?: Record<string, unknown>): Promise<Ref<O>>
    (input: ReadonlyArray<I>, options?: Record<string, unknown>): Promise<Array<Ref<O>>>
  }
  readonly runMany: (runs: ReadonlyArray<{ input: I; opts?: Record<string, unknown> }>) => Promise<Array<O>>
  readonly runManyNoWait: (runs: ReadonlyArray<{ input: I; opts?: Record<string, unknown> }>) => Promise<Array<Ref<O>>>
}

const hello = { result: "Hello, world!" }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: tasks", (it) => {
  it.scoped("simple: every run variant of a plain and a durable task gives the output; per-item metadata is the run's", () =>
    Effect.gen(function*() {
      const { helloWorld, helloWorldDurable } = yield* Examples.load<{ helloWorld: Task; helloWorldDurable: Task }>(
        "simple/e2e-workflows.js"
      )
      const { hatchet } = yield* Examples.worker("simple-worker", [helloWorld, helloWorldDurable], { slots: 10 })
      for (const task of [helloWorld, helloWorldDurable]) {
        const outputs = yield* Effect.promise(() =>
          Promise.all([
            task.run({}),
            task.runNoWait({}).then((ref) => ref.output),
            task.run([{}]).then(([o]) => o),
            task.runNoWait([{}]).then(([ref]) => ref!.output)
          ])
        )
        expect(outputs).toEqual([hello, hello, hello, hello])

        const runs = [
          { input: {}, opts: { additionalMetadata: { test_case: "run-many-a" } } },
          { input: {}, opts: { additionalMetadata: { test_case: "run-many-b" }, priority: 3 } }
        ]
        expect(yield* Effect.promise(() => task.runMany(runs))).toEqual([hello, hello])
        const refs = yield* Effect.promise(() => task.runManyNoWait(runs))
        expect(yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))).toEqual([hello, hello])
        const details = yield* Effect.promise(() =>
          Promise.all(refs.map((ref) => ref.getWorkflowRunId().then((id) => hatchet.runs.get(id))))
        )
        expect(details.map((d) => [d.run.status, d.run.additionalMetadata])).toMatchObject([
          ["COMPLETED", { test_case: "run-many-a" }],
          ["COMPLETED", { test_case: "run-many-b" }]
        ])
      }
    }))

  it.scoped("dag: reverse reads to-lower's output", () =>
    Effect.gen(function*() {
      const { dag } = yield* Examples.load<{ dag: Task<{ Message: string }, Record<string, unknown>> }>("dag/workflow.js")
      yield* Examples.worker("dag-worker", [dag], { slots: 10 })
      const output = yield* Effect.promise(() => dag.run({ Message: "hello" }))
      expect(output).toEqual({
        "to-lower": { TransformedMessage: "hello" },
        reverse: { Original: "hello", Transformed: "olleh" },
        "task-with-parent-output": { Original: "hello", Transformed: "olleh" }
      })
    }))

  it.scoped("return_exceptions: a bulk run gives the even items' errors and the odd items' outputs, in order", () =>
    Effect.gen(function*() {
      const { returnExceptionsTask: task } = yield* Examples.load<{
        returnExceptionsTask: Task<{ index: number }>
      }>("return_exceptions/workflow.js")
      yield* Examples.worker("return-exceptions-worker", [task], { slots: 10 })
      const inputs = Array.from({ length: 10 }, (_, index) => ({ index }))
      const results = yield* Effect.promise(() => task.run(inputs, { returnExceptions: true }))
      expect(results).toHaveLength(10)
      results.forEach((result, i) => {
        if (i % 2 === 0) {
          expect(result).toBeInstanceOf(Error)
          expect((result as Error).message).toContain(`error in task with index ${i}`)
        } else {
          expect(result).toEqual({ message: "this is a successful task." })
        }
      })
    }))

  it.scoped("middleware: before adds to the task's input, after to its output; chained ones compose in order", () =>
    Effect.gen(function*() {
      const { taskWithMiddleware } = yield* Examples.load<{
        taskWithMiddleware: Task<{ message: string; first: number; second: number }>
      }>("middleware/workflow.js")
      const { hatchetWithMiddleware, hatchetWithMiddlewareChaining: chaining } = yield* Examples.load<{
        hatchetWithMiddleware: Official.Client
        hatchetWithMiddlewareChaining: Official.Client
      }>("middleware/client.js")
      // a task of ours on the example's chaining client, giving back the input it sees
      const echo = chaining.task({
        name: Official.unique("middleware-echo"),
        fn: (input: JsonObject) => ({ seen: input })
      }) as unknown as Task<{ first: number }>
      yield* Official.worker(hatchetWithMiddleware, "middleware-worker", { workflows: [taskWithMiddleware] as never, slots: 5 })
      yield* Official.worker(chaining, "middleware-chain-worker", { workflows: [echo] as never, slots: 5 })

      const run = yield* Examples.trigger(() => taskWithMiddleware.runNoWait({ message: "hello", first: 10, second: 20 }))
      expect(yield* run.output).toEqual({ message: "hello", extra: 1, additionalData: 2 })
      // the task logged the dependency the `before` middleware added
      const logs = yield* Official.eventually(() =>
        hatchetWithMiddleware.logs.list(run.id).then((l) => ((l.rows ?? []).length >= 5 ? l.rows! : undefined))
      )
      // (sent without waiting for each other: in any order)
      expect(logs).toHaveLength(5)
      expect(logs.map((line) => [line.message, line.metadata])).toEqual(
        expect.arrayContaining([
          ["before", { first: 10 }],
          ["task", { message: "hello" }],
          ["task", { first: 10 }],
          ["task", { second: 20 }],
          ["task", { dependency: "abc-123" }]
        ])
      )

      expect(yield* Effect.promise(() => echo.run({ first: 1 }))).toEqual({
        seen: { first: 1, dependency: "abc-123", anotherDep: true },
        firstExtra: 3,
        secondExtra: 4
      })
    }))

  it.scoped("logger: both tasks complete; the context logger's lines are the task's logs", () =>
    Effect.gen(function*() {
      const { createLoggingWorkflow } = yield* Examples.load<{
        createLoggingWorkflow: (client: Official.Client) => Task
      }>("logger/workflow.js")
      const { hatchet } = yield* Examples.client
      const workflow = createLoggingWorkflow(hatchet)
      yield* Examples.worker("logger-worker", [workflow], { slots: 5 })
      const run = yield* Examples.trigger(() => workflow.runNoWait({}))
      expect(yield* run.output).toEqual({
        root_logger: { status: "success" },
        context_logger: { status: "success" }
      })
      const details = yield* Effect.promise(() => hatchet.runs.get(run.id))
      const task = details.tasks.find((t) => t.displayName.includes("context_logger"))!
      const logs = yield* Official.eventually(() =>
        hatchet.logs.list(task.taskExternalId, { limit: 100 }).then((l) => ((l.rows ?? []).length >= 24 ? l.rows! : undefined))
      )
      expect(logs.map((line) => line.message).sort()).toEqual(
        Array.from({ length: 12 }, (_, i) => [`executed step1 - ${i}`, JSON.stringify({ step1: "step1" })]).flat().sort()
      )
    }))
})
