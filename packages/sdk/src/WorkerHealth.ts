/**
 * HTTP health checks and metrics for a `Worker`, for Kubernetes probes and Prometheus.
 *
 * - `GET /livez`: `200` while the process answers. A worker waiting for its engine is alive:
 *   restarting it would not bring the engine back, and would drop the work in flight.
 * - `GET /readyz`: `200` when the worker is `HEALTHY` (registered, its assignment stream open,
 *   heartbeats accepted, the event loop not blocked: see `Worker`'s `eventLoopBlockThreshold`),
 *   `503` otherwise; the body is the `/health` report.
 * - `GET /health`: the official SDKs' report, `{ status, name, slots, actions, labels,
 *   nodeVersion }` with `status` one of `STARTING`, `HEALTHY`, `UNHEALTHY`; always `200`, as
 *   upstream (the status is in the body).
 * - `GET /metrics`: Prometheus text: upstream's `hatchet_worker_status` (1 when healthy),
 *   `hatchet_worker_slots` (slots free) and `hatchet_worker_actions` gauges, the Python SDK's
 *   `hatchet_worker_event_loop_lag_seconds` (here the largest lag over the last 10 s, so that a
 *   scrape sees a block that has ended), then the process's `WorkerMetrics`.
 *
 * The paths and the report follow the official TypeScript SDK's health server (`/readyz` and
 * `/livez` as added upstream for hatchet#4823). The server is any `@effect/platform`
 * `HttpServer`, so the SDK itself does not depend on Node's: on Node, provide
 * `NodeHttpServer.layer(createServer, { port: 8001 })` from `@effect/platform-node` (8001 is the
 * official SDKs' `HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT` default).
 *
 * A separate entry point, `@effect-hatchet/sdk/WorkerHealth`, not re-exported by the package's
 * index: an application that does not serve health checks does not load `@effect/platform`'s
 * HTTP server modules (about 20 MiB of heap).
 *
 * @example
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
 * import * as WorkerHealth from "@effect-hatchet/sdk/WorkerHealth"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 * import { createServer } from "node:http"
 *
 * const Ping = Task.make("ping")
 * const PingLive = Ping.toLayer(() => Effect.void)
 * const HatchetLive = Hatchet.layer()
 *
 * // health served from before registration until after the drain
 * const WorkerLive = WorkerHealth.serveWorker(
 *   Worker.layer({ name: "orders", workflows: [PingLive] })
 * ).pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8001 })),
 *   Layer.provide(HatchetLive)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Prometheus from "./internal/prometheus.js"
import { Worker, type WorkerShape, type WorkerStatus } from "./Worker.js"

/**
 * A worker's health as the official SDKs name it.
 *
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = "STARTING" | "HEALTHY" | "UNHEALTHY"

/**
 * `Registering` is `STARTING`, `Listening` is `HEALTHY`; reconnecting, draining and stopped
 * are `UNHEALTHY` (as is any status while the event loop is blocked: see `report`).
 *
 * @since 0.1.0
 * @category models
 */
export const healthStatus = (status: WorkerStatus): HealthStatus => {
  switch (status._tag) {
    case "Registering":
      return "STARTING"
    case "Listening":
      return "HEALTHY"
    default:
      return "UNHEALTHY"
  }
}

/**
 * The body of `/health` and `/readyz`.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthReport {
  readonly status: HealthStatus
  readonly name: string
  /** Slots free. */
  readonly slots: number
  readonly actions: ReadonlyArray<string>
  readonly labels: Readonly<Record<string, string | number>>
  readonly nodeVersion: string
}

/** What `/health` says before the worker exists (it is registering). */
const registering = (): HealthReport => ({
  status: "STARTING",
  name: "",
  slots: 0,
  actions: [],
  labels: {},
  nodeVersion: process.version
})

/** The report, and the event loop's largest recent lag (zero before the worker exists). */
const readingsOf = (
  worker: Option.Option<WorkerShape>
): Effect.Effect<{ readonly report: HealthReport; readonly lag: Duration.Duration }> =>
  Option.match(worker, {
    onNone: () => Effect.sync(() => ({ report: registering(), lag: Duration.zero })),
    onSome: (worker) =>
      Effect.gen(function*() {
        const eventLoop = yield* worker.eventLoop
        const report: HealthReport = {
          status: eventLoop.blocked ? "UNHEALTHY" : healthStatus(yield* worker.status),
          name: worker.name,
          slots: worker.slots - (yield* worker.slotsInUse),
          actions: worker.actions,
          labels: yield* worker.currentLabels,
          nodeVersion: process.version
        }
        return { report, lag: eventLoop.recentMax }
      })
  })

const reportOf = (worker: Option.Option<WorkerShape>): Effect.Effect<HealthReport> =>
  Effect.map(readingsOf(worker), (readings) => readings.report)

/**
 * The worker's report, as `/health` serves it: `UNHEALTHY` while the event loop is blocked
 * (`Worker`'s `eventLoopBlockThreshold`, as the Python SDK's health check), else the worker's
 * status as `healthStatus` maps it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const report: Effect.Effect<HealthReport, never, Worker> = Effect.flatMap(
  Worker,
  (worker) => reportOf(Option.some(worker))
)

const metricsOf = (worker: Option.Option<WorkerShape>) =>
  Effect.gen(function*() {
    const { lag, report: health } = yield* readingsOf(worker)
    const snapshot = yield* Metric.snapshot
    const text = Prometheus.gauge("hatchet_worker_status", "Current status of the Hatchet worker", health.status === "HEALTHY" ? 1 : 0) +
      Prometheus.gauge("hatchet_worker_slots", "Total slots available on the worker", health.slots) +
      Prometheus.gauge("hatchet_worker_actions", "Number of registered actions on the worker", health.actions.length) +
      Prometheus.gauge(
        "hatchet_worker_event_loop_lag_seconds",
        "Largest event loop lag over the last 10 s, in seconds",
        Duration.toSeconds(lag)
      ) +
      Prometheus.render(snapshot.filter((pair) => pair.metricKey.name.startsWith("hatchet_worker_")))
    return HttpServerResponse.text(text, { contentType: Prometheus.contentType })
  })

/** The routes over a worker that may not exist yet. */
const routes = <R>(worker: Effect.Effect<Option.Option<WorkerShape>, never, R>) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/livez", HttpServerResponse.text("ok")),
    HttpRouter.get(
      "/readyz",
      worker.pipe(
        Effect.flatMap(reportOf),
        Effect.flatMap((health) => HttpServerResponse.json(health, { status: health.status === "HEALTHY" ? 200 : 503 }))
      )
    ),
    HttpRouter.get("/health", worker.pipe(Effect.flatMap(reportOf), Effect.flatMap((health) => HttpServerResponse.json(health)))),
    HttpRouter.get("/metrics", Effect.flatMap(worker, metricsOf))
  )

/**
 * The routes, as an `HttpApp` to mount in a server of one's own.
 *
 * @since 0.1.0
 * @category http
 */
export const httpApp = routes(Effect.map(Worker, Option.some))

/**
 * Serves `httpApp` on the `HttpServer` in context for as long as the layer lives, for a `Worker`
 * already in context. Being built after the worker, it is released before it: the port closes
 * before the worker drains. `serveWorker` keeps serving through registration and the drain.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer | Worker> = HttpServer.serve(httpApp)

/**
 * Builds `worker` (a `Worker.layer`) with its health served around it: the routes answer from
 * before the worker registers (`/livez` 200, `/readyz` 503 `STARTING`, also while an engine that
 * is down keeps the registration retrying) until it has drained (`/readyz` 503 while it
 * finishes its tasks), and the server stops only then. The `HttpServer` comes from context.
 *
 * @example
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
 * import * as WorkerHealth from "@effect-hatchet/sdk/WorkerHealth"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 * import { createServer } from "node:http"
 *
 * const Ping = Task.make("ping")
 * const PingLive = Ping.toLayer(() => Effect.void)
 *
 * const WorkerLive = WorkerHealth.serveWorker(
 *   Worker.layer({ name: "orders", workflows: [PingLive] })
 * ).pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8001 })),
 *   Layer.provide(Hatchet.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const serveWorker = <E, R>(
  worker: Layer.Layer<Worker, E, R>
): Layer.Layer<Worker, E, R | HttpServer.HttpServer> =>
  Layer.scopedContext(Effect.gen(function*() {
    const current = yield* Ref.make(Option.none<WorkerShape>())
    // served first, so released last: after the worker's drain
    yield* HttpServer.serveEffect(routes(Ref.get(current)))
    const context = yield* Layer.buildWithMemoMap(worker, yield* Layer.CurrentMemoMap, yield* Effect.scope)
    yield* Ref.set(current, Option.some(Context.get(context, Worker)))
    return context
  }))
