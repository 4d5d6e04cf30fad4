/**
 * The README's quick start: a worker and a client in an application's layer graph, against the
 * Hatchet of `HATCHET_CLIENT_TOKEN` (and friends). Run it with a token:
 * `HATCHET_CLIENT_TOKEN=... npx tsx --conditions=@effect-hatchet/source examples/quick-start.ts`
 * (`pnpm hatchet-local` prints the variables of a local engine).
 */
import { Hatchet, Worker } from "@effect-hatchet/sdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { OrderFlowLive, PaymentsDemo } from "./order-flow-live.js"
import { OrderFlow } from "./order-flow.js"

// one client layer: the worker and the program share its gRPC channel
// (configured by HATCHET_CLIENT_TOKEN and friends)
const HatchetLive = Hatchet.layer()

// the worker runs the implementations it is given
const WorkerLive = Worker.layer({ name: "orders", slots: 50, workflows: [OrderFlowLive] }).pipe(
  Layer.provide(PaymentsDemo),
  Layer.provide(HatchetLive)
)

const program = Effect.gen(function*() {
  const outcome = yield* Hatchet.run(OrderFlow, {
    orderId: "o-1",
    items: [{ sku: "mug", quantity: 2, price: 9 }]
  }).pipe(
    // typed: result.ship.estimatedDelivery is a Date, result.charge.amount a number
    Effect.map((result) => `charged ${result.charge.amount}, arriving ${result.ship.estimatedDelivery.toDateString()}`),
    // a task's declared errors are caught by their tag (GatewayTimeout once its retries ran out)
    Effect.catchTag("PaymentDeclined", (declined) => Effect.succeed(`declined: ${declined.reason}`)),
    // interruption is cancellation: after 30 s the run is cancelled on the engine
    Effect.timeout("30 seconds")
  )
  yield* Effect.log(outcome)
})

program.pipe(Effect.provide(Layer.merge(WorkerLive, HatchetLive)), NodeRuntime.runMain)
