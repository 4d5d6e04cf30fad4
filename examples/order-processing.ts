/**
 * `pnpm demo`: one order through the order-processing DAG, end to end over gRPC and REST.
 *
 * With no `HATCHET_CLIENT_TOKEN` it starts the embedded local engine in this process; with one, it
 * talks to that Hatchet (`Hatchet.layer()`, the `HATCHET_CLIENT_*` variables). A worker
 * runs the workflow, the client triggers one run, prints each task's transitions as the engine
 * records them, then the typed result. Closing the program's scope stops the worker, the client
 * and the engine, and the process ends by itself.
 */
import { Engine } from "@effect-hatchet/engine"
import type { Runs } from "@effect-hatchet/sdk"
import { Hatchet, HatchetConfig, TaskError, TaskExecution, Worker } from "@effect-hatchet/sdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, Console, Effect, Layer, Logger, LogLevel, Option, Stream } from "effect"
import { inspect } from "node:util"
import { OrderFlowLive, PaymentsDemo } from "./order-flow-live.js"
import { GatewayTimeout, OrderFlow, PaymentDeclined } from "./order-flow.js"

const order = {
  orderId: "o-1042",
  items: [
    { sku: "tea-earl-grey", quantity: 2, price: 12.5 },
    { sku: "mug", quantity: 1, price: 18 }
  ]
}

// --- where: the embedded engine, or the Hatchet of HATCHET_CLIENT_* -------------------------------

/** The local engine in this process, and a client pointed at it. */
const EmbeddedHatchet = Layer.unwrapEffect(
  Effect.map(
    Engine.Engine,
    (engine) => Hatchet.layer({ token: engine.token, hostPort: engine.grpcAddress, apiUrl: engine.apiUrl, tlsStrategy: "none" })
  )
).pipe(Layer.provide(Engine.layer()))

const program = (where: string) =>
  Effect.gen(function*() {
    const worker = yield* Worker.Worker
    const config = yield* HatchetConfig.HatchetConfig
    yield* Console.log(`effect-hatchet demo: workflow "${OrderFlow.name}" on ${where} (${config.hostPort})`)
    yield* Console.log(`worker "${worker.name}" registered; triggering order ${order.orderId} (${order.items.length} items)\n`)

    const handle = yield* Hatchet.runNoWait(OrderFlow, order)
    yield* Console.log(`run ${handle.runId}`)
    yield* transitions(handle).pipe(Stream.runForEach(Console.log))

    // typed: each task's output decoded with its Schema (estimatedDelivery is a Date)
    const result = yield* handle.result
    yield* Console.log(`\nresult (each output decoded with its task's Schema):`)
    for (const [task, output] of Object.entries(result)) yield* Console.log(`  ${task.padEnd(14)} ${show(output)}`)
    yield* Console.log(
      `\ndone: charged ${result.charge.amount.toFixed(2)} (${result.charge.chargeId}), ` +
        `shipping ${result.ship.trackingNumber}, arriving ${result.ship.estimatedDelivery.toDateString()}`
    )
  })

// --- the run's transitions, as the engine records them ------------------------------------------

/** Each task event worth a line, from the run's start, in order (`handle.progress`). */
const transitions = (handle: Hatchet.RunHandle<typeof OrderFlow>) => {
  let start: number | undefined
  return handle.progress({ pollInterval: "100 millis" }).pipe(
    Stream.filter(({ event }) => shown.has(event.eventType)),
    Stream.mapEffect(({ event, task }) =>
      Effect.gen(function*() {
        start ??= event.timestamp.getTime()
        const at = `+${event.timestamp.getTime() - start}ms`.padEnd(8)
        return `  ${at} ${task.padEnd(14)} ${(shown.get(event.eventType) ?? "").padEnd(10)} ${yield* detail(task, event)}`
          .trimEnd()
      })
    )
  )
}

/** The engine's event types worth a line, as this demo names them. */
const shown = new Map([
  ["STARTED", "STARTED"],
  ["FINISHED", "COMPLETED"],
  ["FAILED", "FAILED"],
  ["RETRYING", "RETRYING"],
  ["CANCELLED", "CANCELLED"],
  ["TIMED_OUT", "TIMED_OUT"]
])

const detail = (task: string, event: Runs.TaskEvent): Effect.Effect<string> => {
  switch (event.eventType) {
    case "STARTED":
      return Effect.succeed((event.retryCount ?? 0) > 0 ? `retry ${event.retryCount}` : "")
    case "FAILED":
      // the error text decodes back to the task's declared error (here a GatewayTimeout), or to a TaskFailed
      return Effect.map(
        TaskExecution.decodeFailure(OrderFlow, task, event.errorMessage ?? ""),
        (error) =>
          error instanceof TaskError.TaskFailed
            ? error.message
            : error instanceof GatewayTimeout || error instanceof PaymentDeclined
            ? `${error._tag}: ${error.message}`
            : String(error)
      )
    case "RETRYING":
      return Effect.succeed(`retry ${event.retryCount ?? ""} queued`)
    default:
      return Effect.succeed("")
  }
}

const show = (value: unknown): string => inspect(value, { breakLength: Infinity, colors: false })

// --- main -----------------------------------------------------------------------------------------

const main = Effect.gen(function*() {
  const remote = Option.isSome(yield* Config.option(Config.nonEmptyString("HATCHET_CLIENT_TOKEN")))
  const HatchetLive: Layer.Layer<Hatchet.Services, HatchetConfig.HatchetConfigError | Engine.EngineStartError | Engine.EngineOptionsError> =
    remote
      ? Hatchet.layer()
      : EmbeddedHatchet
  const WorkerLive = Worker.layer({ name: "order-demo", workflows: [OrderFlowLive] }).pipe(Layer.provide(PaymentsDemo))
  yield* program(remote ? "the Hatchet of HATCHET_CLIENT_*" : "the embedded local engine").pipe(
    Effect.provide(WorkerLive.pipe(Layer.provideMerge(HatchetLive))),
    Effect.timeoutFail({
      duration: "60 seconds",
      onTimeout: () => new Error("the demo did not finish within 60 s: is the Hatchet engine reachable?")
    })
  )
}).pipe(
  Effect.tapErrorCause((cause) =>
    Console.error(
      `\ndemo failed: ${Cause.isFailType(cause) && cause.error instanceof Error ? cause.error.message : Cause.pretty(cause)}`
    )
  ),
  // the SDK's own logs are for operators; the demo shows warnings and errors only
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

NodeRuntime.runMain(main, { disableErrorReporting: true })
