/**
 * Definitions: what runs, shared by the worker and by any client. No implementation here, so a
 * service that only triggers orders imports this file and gets typed inputs and results.
 */
import { Workflow } from "@effect-hatchet/sdk"
import { Schema } from "effect"

export const Order = Schema.Struct({
  orderId: Schema.String,
  items: Schema.Array(Schema.Struct({ sku: Schema.String, quantity: Schema.Number, price: Schema.Number }))
})

/** A typed error: it crosses the wire and comes back as this class on the client. */
export class PaymentDeclined extends Schema.TaggedError<PaymentDeclined>()("PaymentDeclined", {
  reason: Schema.String
}) {}

/** The payment gateway timed out: declared too, and retried (a caller sees it once retries run out). */
export class GatewayTimeout extends Schema.TaggedError<GatewayTimeout>()("GatewayTimeout", {
  message: Schema.String
}) {}

export const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
  Workflow.task("validate", { output: Schema.Struct({ total: Schema.Number }) }),
  Workflow.task("reserve-stock", { parents: ["validate"], output: Schema.Struct({ reservationId: Schema.String }) }),
  Workflow.task("charge", {
    parents: ["validate"],
    output: Schema.Struct({ chargeId: Schema.String, amount: Schema.Number }),
    // a handler may fail only with what its task declares
    error: Schema.Union(PaymentDeclined, GatewayTimeout),
    retries: 2
  }),
  Workflow.task("ship", {
    parents: ["reserve-stock", "charge"],
    output: Schema.Struct({ trackingNumber: Schema.String, estimatedDelivery: Schema.DateFromString })
  })
)
