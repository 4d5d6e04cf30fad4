/**
 * Our client and our worker, end to end over loopback gRPC and REST against the local engine.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}

const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })

const orderFlow = () =>
  Workflow.make(unique("order"), { input: Order }).pipe(
    Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
    Workflow.task("charge", {
      parents: ["validate"],
      output: Schema.Struct({ chargeId: Schema.String, at: Schema.DateFromString }),
      error: CardDeclined
    })
  )

layer(engineWithClient(), { timeout: 120_000, excludeTestServices: true })("client + worker end to end", (it) => {
  it.scoped("a DAG with typed parent outputs: typed result; a declared error comes back typed in RunFailed", () =>
    Effect.gen(function*() {
      const OrderFlow = orderFlow()
      yield* startWorker([OrderFlow], OrderFlow.toLayer({
        validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
        charge: (input, parents) =>
          parents.validate.valid
            ? Effect.succeed({ chargeId: `ch-${input.orderId}`, at: new Date(Date.UTC(2030, 0, 1)) })
            : Effect.fail(new CardDeclined({ reason: "invalid amount" }))
      }))
      const result = yield* Hatchet.run(OrderFlow, { orderId: "o-1", amount: 42 })
      expect(result.validate).toEqual({ valid: true })
      expect(result.charge.chargeId).toBe("ch-o-1")
      expect(result.charge.at).toBeInstanceOf(Date)
      expect(result.charge.at.toISOString()).toBe("2030-01-01T00:00:00.000Z")

      const failed = yield* Effect.flip(Hatchet.run(OrderFlow, { orderId: "o-2", amount: 0 }))
      expect(failed._tag).toBe("RunFailed")
      if (failed._tag !== "RunFailed") return
      expect(failed.status).toBe("FAILED")
      expect(failed.failures).toHaveLength(1)
      expect(failed.failures[0]!.taskName).toBe("charge")
      const error = failed.failures[0]!.error
      expect(error).toBeInstanceOf(CardDeclined)
      expect(error).toMatchObject({ _tag: "CardDeclined", reason: "invalid amount" })
    }))
})
