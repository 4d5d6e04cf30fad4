/**
 * Interop of durable tasks on the local engine over loopback gRPC: the OFFICIAL TypeScript SDK's
 * client triggers a durable task our worker runs (a memoized step, a durable sleep, a child run,
 * a wait for an event the official client pushes) and reads its output.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Clock, Duration, Effect, Layer, Ref, Schema } from "effect"
import * as DurableContext from "../src/DurableContext.js"
import * as Task from "../src/Task.js"
import * as TaskError from "../src/TaskError.js"
import { engineWithClient, unique } from "./support/engine.js"
import { officialClient } from "./support/official.js"
import { startWorker } from "./support/worker.js"

const liveClock = Clock.make()

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("interop: the official client, our durable worker", (it) => {
  it.scoped("the official client triggers our durable task and pushes the event it waits for", () =>
    Effect.gen(function*() {
      const official = officialClient(yield* Engine.Engine)
      const name = unique("durable-interop")
      const charges = yield* Ref.make(0)
      const atApproval = yield* Ref.make(false)
      const Child = Task.make(`${name}-child`, {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Struct({ doubled: Schema.Number })
      })
      const Flow = Task.durable(name, {
        input: Schema.Struct({ orderId: Schema.String }),
        output: Schema.Struct({ chargeId: Schema.String, doubled: Schema.Number, by: Schema.String }),
        executionTimeout: "1 minute"
      })
      const worker = yield* startWorker(
        Layer.mergeAll(
          Child.toLayer((input) => Effect.succeed({ doubled: input.n * 2 })),
          Flow.toLayer((input) =>
            Effect.gen(function*() {
              const ctx = yield* DurableContext.DurableContext
              const chargeId = yield* ctx.memo(
                "charge",
                Effect.as(Ref.update(charges, (n) => n + 1), `ch-${input.orderId}`),
                Schema.String
              )
              yield* ctx.sleep("1 second")
              const child = yield* ctx.runChild(Child, { n: 21 }).pipe(TaskError.undeclared)
              yield* Ref.set(atApproval, true)
              const approval = yield* ctx.waitForEvent(`${name}:approve`, { schema: Schema.Struct({ by: Schema.String }) })
              return { chargeId, doubled: child.doubled, by: approval.by }
            })
          )
        )
      )
      const ref = yield* Effect.promise(() => official.runNoWait(name, { orderId: "o-1" }, {}))
      // the task waits for the event (after its memo, its sleep and its child)
      const deadline = (yield* liveClock.currentTimeMillis) + 10_000
      while ((yield* worker.durableWaiting) === 0 || !(yield* Ref.get(atApproval))) {
        expect(yield* liveClock.currentTimeMillis).toBeLessThan(deadline)
        yield* liveClock.sleep(Duration.millis(10))
      }
      yield* Effect.promise(() => official.events.push(`${name}:approve`, { by: "official" }))
      // a run by name reports its task's output under the task's name
      const output = yield* Effect.promise(() => ref.output as unknown as Promise<Record<string, unknown>>)
      expect(output[name]).toEqual({ chargeId: "ch-o-1", doubled: 42, by: "official" })
      expect(yield* Ref.get(charges)).toBe(1)
    }))
})
