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
 * import * as WorkerHealth from "@effect-hatchet/sdk/WorkerHealth"
 * import { createServer } from "node:http"
 *
 * const HealthLive = WorkerHealth.layer.pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8001 })),
 *   Layer.provide(WorkerLive)
 * )
 * ```
 *
 * @since 0.1.0
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, type Layer, Metric } from "effect"
import * as Prometheus from "./internal/prometheus.js"
import { Worker, type WorkerStatus } from "./Worker.js"

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

/**
 * The worker's report, as `/health` serves it: `UNHEALTHY` while the event loop is blocked
 * (`Worker`'s `eventLoopBlockThreshold`, as the Python SDK's health check), else the worker's
 * status as `healthStatus` maps it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const report: Effect.Effect<HealthReport, never, Worker> = Effect.gen(function*() {
  const worker = yield* Worker
  const eventLoop = yield* worker.eventLoop
  return {
    status: eventLoop.blocked ? "UNHEALTHY" : healthStatus(yield* worker.status),
    name: worker.name,
    slots: worker.slots - (yield* worker.slotsInUse),
    actions: worker.actions,
    labels: worker.labels,
    nodeVersion: process.version
  }
})

const metrics = Effect.gen(function*() {
  const health = yield* report
  const eventLoop = yield* Effect.flatMap(Worker, (worker) => worker.eventLoop)
  const snapshot = yield* Metric.snapshot
  const text = Prometheus.gauge("hatchet_worker_status", "Current status of the Hatchet worker", health.status === "HEALTHY" ? 1 : 0) +
    Prometheus.gauge("hatchet_worker_slots", "Total slots available on the worker", health.slots) +
    Prometheus.gauge("hatchet_worker_actions", "Number of registered actions on the worker", health.actions.length) +
    Prometheus.gauge(
      "hatchet_worker_event_loop_lag_seconds",
      "Largest event loop lag over the last 10 s, in seconds",
      Duration.toSeconds(eventLoop.recentMax)
    ) +
    Prometheus.render(snapshot.filter((pair) => pair.metricKey.name.startsWith("hatchet_worker_")))
  return HttpServerResponse.text(text, { contentType: Prometheus.contentType })
})

/**
 * The routes, as an `HttpApp` to mount in a server of one's own.
 *
 * @since 0.1.0
 * @category http
 */
export const httpApp = HttpRouter.empty.pipe(
  HttpRouter.get("/livez", HttpServerResponse.text("ok")),
  HttpRouter.get(
    "/readyz",
    Effect.flatMap(report, (health) => HttpServerResponse.json(health, { status: health.status === "HEALTHY" ? 200 : 503 }))
  ),
  HttpRouter.get("/health", Effect.flatMap(report, (health) => HttpServerResponse.json(health))),
  HttpRouter.get("/metrics", metrics)
)

/**
 * Serves `httpApp` on the `HttpServer` in context for as long as the layer lives.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer | Worker> = HttpServer.serve(httpApp)
