/**
 * `pnpm demo`: one order through the order-processing DAG, end to end over gRPC and REST.
 *
 * With no `HATCHET_CLIENT_TOKEN` it starts the embedded local engine in this process; with one, it
 * talks to that Hatchet (`Hatchet.layerFromEnv`, the `HATCHET_CLIENT_*` variables). A worker
 * runs the workflow, the client triggers one run, prints each task's transitions as the engine
 * records them, then the typed result. Closing the program's scope stops the worker, the client
 * and the engine, and the process ends by itself.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, HatchetConfig, Runs, TaskError, TaskExecution, Worker } from "@effect-hatchet/sdk"
import { NodeRuntime } from "@effect/platform-node"
import { inspect } from "node:util"
import { Cause, Config, Console, Effect, Layer, Logger, LogLevel, Option, Schedule, Stream } from "effect"
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
  Effect.map(Engine.Engine, (engine) =>
    Hatchet.layer({ token: engine.token, hostPort: engine.grpcAddress, apiUrl: engine.apiUrl, tlsStrategy: "none" }))
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

// --- the run's transitions, from the task events the engine records (REST run details) ----------

const transitions = (handle: Hatchet.RunHandle<typeof OrderFlow>) => {
  const seen = new Set<number>()
  let start: number | undefined
  let pollsSinceEnd = 0
  return Stream.repeatEffectWithSchedule(
    // the run may take a moment to be readable on a real Hatchet: retry briefly
    handle.details.pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("5 seconds")))),
    Schedule.spaced("50 millis")
  ).pipe(
    Stream.map((details) => {
      // A worker's STARTED may reach the engine just after the attempt's result (Hatchet records
      // it for monitoring only, stamped with the worker's time). Nothing from such a result on is
      // shown until it is there; once the run has ended, it gets one more second.
      const started = new Set(
        details.taskEvents.filter((event) => event.eventType === "STARTED").map((event) => attempt(event))
      )
      const until = Math.min(
        ...details.taskEvents
          .filter((event) => attemptResults.has(event.eventType) && !started.has(attempt(event)))
          .map((event) => event.timestamp.getTime())
      )
      const last = ended(details) && (until === Infinity || ++pollsSinceEnd > 20)
      return { details, until: last ? Infinity : until, last }
    }),
    Stream.takeUntil(({ last }) => last),
    Stream.mapConcatEffect(({ details, until }) => {
      const fresh = details.taskEvents
        .filter((event) => !seen.has(event.id) && shown.has(event.eventType) && event.timestamp.getTime() < until)
        .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a.id - b.id)
      return Effect.forEach(fresh, (event) =>
        Effect.gen(function*() {
          seen.add(event.id)
          start ??= event.timestamp.getTime()
          const task = details.shape.find((s) => s.taskExternalId === event.taskId)?.taskName ?? event.taskId
          const at = `+${event.timestamp.getTime() - start}ms`.padEnd(8)
          return `  ${at} ${task.padEnd(14)} ${(shown.get(event.eventType) ?? "").padEnd(10)} ${yield* detail(task, event)}`
            .trimEnd()
        }))
    })
  )
}

const ended = (details: Runs.WorkflowRunDetails) => details.run.status !== "QUEUED" && details.run.status !== "RUNNING"

/** An attempt of a task, as a key. */
const attempt = (event: Runs.TaskEvent) => `${event.taskId}/${event.retryCount ?? 0}`

/** The events that end an attempt. */
const attemptResults = new Set(["FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"])

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
  const HatchetLive: Layer.Layer<Hatchet.Services, HatchetConfig.HatchetConfigError | Engine.EngineStartError> = remote
    ? Hatchet.layerFromEnv
    : EmbeddedHatchet
  const WorkerLive = Worker.layer({ name: "order-demo", workflows: [OrderFlow] }).pipe(
    Layer.provide(OrderFlowLive),
    Layer.provide(PaymentsDemo)
  )
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
      `\ndemo failed: ${
        Cause.isFailType(cause) && cause.error instanceof Error ? cause.error.message : Cause.pretty(cause)
      }`
    )
  ),
  // the SDK's own logs are for operators; the demo shows warnings and errors only
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

NodeRuntime.runMain(main, { disableErrorReporting: true })
