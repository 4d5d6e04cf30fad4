/**
 * Interop, both ways, on the local engine over loopback gRPC: our client triggers runs that the
 * OFFICIAL TypeScript SDK's worker executes, and the official client triggers runs that our
 * worker executes.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import * as TaskError from "../src/TaskError.js"
import { TaskFailed } from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, unique } from "./support/engine.js"
import { officialClient, officialWorker } from "./support/official.js"
import { startWorker } from "./support/worker.js"

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

  it.scoped("a failing official task: a TaskFailed carrying the thrown message", () =>
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
      expect(failure).toBeInstanceOf(TaskFailed)
      expect(failure).toMatchObject({ _tag: "TaskFailed", taskName: name, message: "card declined: expired" })
    }))

  it.scoped("a standalone official task: the result is its output; its putStream chunks reach our handle", () =>
    Effect.gen(function*() {
      const official = officialClient(yield* Engine.Engine)
      const name = unique("interop-task")
      let subscribed = false
      let sawLast = false
      const streaming = official.task({
        name,
        fn: async (input: { words: Array<string> }, ctx) => {
          while (!subscribed) {
            await ctx.putStream("ready")
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          for (const word of input.words) await ctx.putStream(word)
          // The official putStream does not wait for the engine, so the task's result could
          // overtake its last chunk, and the run's hangup ends the subscription (as upstream):
          // finish only once our handle has the last chunk.
          while (!sawLast) await new Promise((resolve) => setTimeout(resolve, 10))
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
        Stream.tap((chunk) =>
          Effect.sync(() => {
            subscribed ||= chunk === "ready"
            sawLast ||= chunk === "y"
          })
        ),
        Stream.filter((chunk) => chunk !== "ready"),
        Stream.runCollect
      )
      expect(Array.from(chunks)).toEqual(["x", "y"])
      expect(yield* handle.result).toEqual({ count: 2 })
    }))
})

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("interop: the official client, our worker", (it) => {
  it.scoped("a DAG run by our worker: the official client gets each task's encoded output", () =>
    Effect.gen(function*() {
      const name = unique("interop-ours-dag")
      const Flow = Workflow.make(name, { input: Schema.Struct({ orderId: Schema.String, amount: Schema.Number }) }).pipe(
        Workflow.task("price", { output: Schema.Struct({ total: Schema.Number, pricedAt: Schema.DateFromString }) }),
        Workflow.task("receipt", { parents: ["price"], output: Schema.Struct({ line: Schema.String }) })
      )
      const FlowLive = Flow.toLayer({
        price: (input) => Effect.succeed({ total: input.amount * 2, pricedAt: new Date(Date.UTC(2030, 0, 1)) }),
        receipt: (input, parents) => Effect.succeed({ line: `${input.orderId}: ${parents.price.total}` })
      })
      yield* startWorker(FlowLive)

      const official = officialClient(yield* Engine.Engine)
      const result: unknown = yield* Effect.promise(() => official.run(name, { orderId: "o-9", amount: 5 }))
      // the Date went through its Schema's encoding: the wire carries the ISO string
      expect(result).toEqual({ price: { total: 10, pricedAt: "2030-01-01T00:00:00.000Z" }, receipt: { line: "o-9: 10" } })
    }))

  it.scoped("input the official client sends that fails our Schema: the run fails at once, naming the field", () =>
    Effect.gen(function*() {
      const name = unique("interop-ours-invalid")
      let attempts = 0
      const Strict = Task.make(name, {
        input: Schema.Struct({ amount: Schema.Number }),
        output: Schema.Struct({ doubled: Schema.Number }),
        retries: 3
      })
      const StrictLive = Strict.toLayer((input) => Effect.sync(() => ++attempts).pipe(Effect.as({ doubled: input.amount * 2 })))
      yield* startWorker(StrictLive)

      const official = officialClient(yield* Engine.Engine)
      const rejection = yield* Effect.promise(() => official.run(name, { amount: "ten" }).then(() => undefined, (error: unknown) => error))
      expect(JSON.stringify(rejection)).toMatch(/amount/)
      expect(attempts).toBe(0) // the handler never ran, and no retry was made
      // the worker keeps serving (run by name, the official client keys a standalone task's output by its name)
      expect(yield* Effect.promise(() => official.run(name, { amount: 4 }))).toEqual({ [name]: { doubled: 8 } })
    }))

  it.scoped("a typed failure of ours, non-retryable: the official client sees its message", () =>
    Effect.gen(function*() {
      class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}
      const name = unique("interop-ours-fail")
      const Charge = Task.make(name, { output: Schema.Struct({ ok: Schema.Boolean }), error: CardDeclined, retries: 2 })
      const ChargeLive = Charge.toLayer(() => TaskError.nonRetryable(Effect.fail(new CardDeclined({ reason: "expired" }))))
      yield* startWorker(ChargeLive.pipe(Layer.orDie))

      const official = officialClient(yield* Engine.Engine)
      const rejection = yield* Effect.promise(() => official.run(name, {}).then(() => undefined, (error: unknown) => error))
      expect(JSON.stringify(rejection)).toMatch(/expired/)
    }))
})
