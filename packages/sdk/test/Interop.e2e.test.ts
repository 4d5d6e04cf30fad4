/**
 * Interop: our client triggers runs that the OFFICIAL TypeScript SDK's worker executes, on the
 * local engine over loopback gRPC.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import { TaskFailed } from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, unique } from "./support/engine.js"
import { officialClient, officialWorker } from "./support/official.js"

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("interop: our client, the official worker", (it) => {
  it.scoped("a DAG with parent outputs: our client gets the typed, decoded result", () =>
    Effect.gen(function*() {
      const official = officialClient(yield* Engine.Engine)
      const name = unique("interop-dag")
      const wf = official.workflow<{ orderId: string; amount: number }>({ name })
      const price = wf.task({
        name: "price",
        fn: async (input) => ({ total: input.amount * 2, pricedAt: "2030-01-01T00:00:00.000Z" })
      })
      wf.task({
        name: "receipt",
        parents: [price],
        fn: async (input, ctx) => {
          const parent = await ctx.parentOutput(price)
          return { line: `${input.orderId}: ${parent.total}` }
        }
      })
      yield* officialWorker(official, unique("official-worker"), [wf])

      const Ours = Workflow.make(name, { input: Schema.Struct({ orderId: Schema.String, amount: Schema.Number }) }).pipe(
        Workflow.task("price", { output: Schema.Struct({ total: Schema.Number, pricedAt: Schema.DateFromString }) }),
        Workflow.task("receipt", { parents: ["price"], output: Schema.Struct({ line: Schema.String }) })
      )
      const result = yield* Hatchet.run(Ours, { orderId: "o-7", amount: 21 })
      expect(result.price.total).toBe(42)
      expect(result.price.pricedAt).toBeInstanceOf(Date)
      expect(result.price.pricedAt.getTime()).toBe(Date.UTC(2030, 0, 1))
      expect(result.receipt).toEqual({ line: "o-7: 42" })
    }))

  it.scoped("a failing official task: RunFailed with a TaskFailed carrying the thrown message", () =>
    Effect.gen(function*() {
      const official = officialClient(yield* Engine.Engine)
      const name = unique("interop-fail")
      const failing = official.task({
        name,
        retries: 0,
        fn: async (): Promise<{ ok: boolean }> => {
          throw new Error("card declined: expired")
        }
      })
      yield* officialWorker(official, unique("official-worker"), [failing])

      const Ours = Task.make(name, { output: Schema.Struct({ ok: Schema.Boolean }) })
      const failure = yield* Effect.flip(Hatchet.run(Ours, {}))
      expect(failure._tag).toBe("RunFailed")
      if (failure._tag !== "RunFailed") return
      expect(failure.status).toBe("FAILED")
      expect(failure.failures).toHaveLength(1)
      const { error, taskName } = failure.failures[0]!
      expect(taskName).toBe(name)
      expect(error).toBeInstanceOf(TaskFailed)
      expect((error as TaskFailed).message).toBe("card declined: expired")
      expect(failure.message).toContain("card declined: expired")
    }))

  it.scoped("a standalone official task: the result is its output; its putStream chunks reach our handle", () =>
    Effect.gen(function*() {
      const official = officialClient(yield* Engine.Engine)
      const name = unique("interop-task")
      let subscribed = false
      const streaming = official.task({
        name,
        fn: async (input: { words: Array<string> }, ctx) => {
          while (!subscribed) {
            await ctx.putStream("ready")
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          for (const word of input.words) await ctx.putStream(word)
          return { count: input.words.length }
        }
      })
      yield* officialWorker(official, unique("official-worker"), [streaming])

      const Ours = Task.make(name, {
        input: Schema.Struct({ words: Schema.Array(Schema.String) }),
        output: Schema.Struct({ count: Schema.Number })
      })
      const handle = yield* Hatchet.runNoWait(Ours, { words: ["x", "y"] })
      const chunks = yield* handle.stream.pipe(
        Stream.tap((chunk) => Effect.sync(() => (subscribed ||= chunk === "ready"))),
        Stream.filter((chunk) => chunk !== "ready"),
        Stream.runCollect
      )
      expect(Array.from(chunks)).toEqual(["x", "y"])
      expect(yield* handle.result).toEqual({ count: 2 })
    }))
})
