/**
 * The implementation: worker-side handlers, each an Effect that may use the application's
 * services. A missing handler or an unprovided service is a type error.
 */
import { TaskError } from "@effect-hatchet/sdk"
import { Clock, Context, Effect, Layer, Ref } from "effect"
import { GatewayTimeout, OrderFlow, PaymentDeclined } from "./order-flow.js"

export class Payments extends Context.Tag("examples/Payments")<Payments, {
  readonly charge: (orderId: string, amount: number) => Effect.Effect<string, PaymentDeclined | GatewayTimeout>
}>() {}

/** An in-memory gateway that times out on the first attempt of every order (to show a retry). */
export const PaymentsDemo = Layer.effect(
  Payments,
  Effect.gen(function*() {
    const attempted = yield* Ref.make(new Set<string>())
    return {
      charge: (orderId, amount) =>
        Effect.gen(function*() {
          if (amount > 10_000) return yield* new PaymentDeclined({ reason: `amount ${amount} is over the limit` })
          const first = yield* Ref.modify(attempted, (seen) => [!seen.has(orderId), new Set(seen).add(orderId)])
          if (first) return yield* new GatewayTimeout({ message: "payment gateway timed out" })
          return `ch-${orderId}`
        })
    }
  })
)

export const OrderFlowLive = OrderFlow.toLayer({
  validate: (input) => Effect.succeed({ total: input.items.reduce((sum, item) => sum + item.quantity * item.price, 0) }),
  "reserve-stock": (input) => Effect.succeed({ reservationId: `res-${input.orderId}` }),
  charge: (input, parents) =>
    Effect.gen(function*() {
      const payments = yield* Payments
      const chargeId = yield* payments.charge(input.orderId, parents.validate.total).pipe(
        // a declined card will not get better: stop retrying (a GatewayTimeout is retried)
        Effect.catchTag("PaymentDeclined", (declined) => TaskError.nonRetryable(Effect.fail(declined)))
      )
      return { chargeId, amount: parents.validate.total }
    }),
  ship: (input) =>
    Effect.map(Clock.currentTimeMillis, (now) => ({
      trackingNumber: `TRK-${input.orderId.toUpperCase()}`,
      estimatedDelivery: new Date(now + 2 * 24 * 60 * 60 * 1000)
    }))
})
