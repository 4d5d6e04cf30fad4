/**
 * Testing the order workflow two ways: end to end on the local engine (HatchetTest), and one task
 * alone with no engine (TaskTest).
 */
import { Hatchet } from "@effect-hatchet/sdk"
import { HatchetTest, TaskTest } from "@effect-hatchet/testing"
import { expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { OrderFlowLive, Payments, PaymentsDemo } from "./order-flow-live.js"
import { OrderFlow, PaymentDeclined } from "./order-flow.js"

const order = { orderId: "o-1", items: [{ sku: "mug", quantity: 2, price: 9 }] }

// the local engine, a worker running OrderFlowLive, and the client, in one layer
const TestLive = HatchetTest.layer({ workflows: [OrderFlowLive.pipe(Layer.provide(PaymentsDemo))] })

layer(TestLive)("order-processing on the local engine", (it) => {
  it.effect("charges (after the gateway's first timeout, retried) and ships", () =>
    Effect.gen(function*() {
      const result = yield* Hatchet.run(OrderFlow, order)
      expect(result.charge).toEqual({ chargeId: "ch-o-1", amount: 18 })
      expect(result.ship.trackingNumber).toBe("TRK-O-1")
    }))

  it.effect("a declined payment fails the run with the typed error, caught by its tag", () =>
    Effect.gen(function*() {
      const order = { orderId: "o-2", items: [{ sku: "car", quantity: 1, price: 20_000 }] }
      const failed = yield* Effect.flip(Hatchet.run(OrderFlow, order))
      expect(failed).toEqual(new PaymentDeclined({ reason: "amount 20000 is over the limit" }))
      const outcome = yield* Hatchet.run(OrderFlow, order).pipe(
        Effect.as("charged"),
        Effect.catchTag("PaymentDeclined", (declined) => Effect.succeed(`declined: ${declined.reason}`))
      )
      expect(outcome).toBe("declined: amount 20000 is over the limit")
    }))
})

// one task, no engine: its input, its parents' outputs and its services in; its output out
const PaymentsTest = Layer.succeed(Payments, { charge: (orderId) => Effect.succeed(`test-${orderId}`) })

it.effect("charge, alone", () =>
  Effect.gen(function*() {
    const output = yield* TaskTest.result(OrderFlow, "charge", { input: order, parents: { validate: { total: 18 } } })
    expect(output).toEqual({ chargeId: "test-o-1", amount: 18 })
  }).pipe(Effect.provide(OrderFlowLive), Effect.provide(PaymentsTest)))
