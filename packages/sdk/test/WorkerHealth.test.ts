/**
 * WorkerHealth without an engine: the routes over a worker whose status the test sets, and the
 * Prometheus text of Effect metrics.
 */
import { HttpApp } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Metric, MetricBoundaries, Option, SubscriptionRef } from "effect"
import * as Prometheus from "../src/internal/prometheus.js"
import { type EventLoopLag, Worker, WorkerStatus } from "../src/Worker.js"
import * as WorkerHealth from "../src/WorkerHealth.js"

const makeFakeWorker = Effect.gen(function*() {
  const status = yield* SubscriptionRef.make<WorkerStatus>(WorkerStatus.Registering())
  const inUse = yield* SubscriptionRef.make(0)
  const eventLoop = yield* SubscriptionRef.make<EventLoopLag>({ latest: Duration.zero, recentMax: Duration.zero, blocked: false })
  const worker = Worker.of({
    name: "health-worker",
    actions: ["orders:charge", "orders:ship"],
    slots: 10,
    labels: { region: "eu", gpu: 1 },
    currentLabels: Effect.succeed({ region: "eu", gpu: 1 }),
    upsertLabels: () => Effect.void,
    slotsInUse: SubscriptionRef.get(inUse),
    workerId: Effect.succeed(Option.some("w-1")),
    status: SubscriptionRef.get(status),
    statusChanges: status.changes,
    runningTasks: Effect.succeed(0),
    durableWaiting: Effect.succeed(0),
    eventLoop: SubscriptionRef.get(eventLoop)
  })
  const handler = HttpApp.toWebHandler(Effect.provideService(WorkerHealth.httpApp, Worker, worker))
  const get = (path: string) =>
    Effect.promise(async () => {
      const response = await handler(new Request(`http://health.test${path}`))
      return { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.text() }
    })
  return { status, inUse, eventLoop, get }
})

describe("WorkerHealth routes", () => {
  it.effect("readyz is 503 until the worker listens, 200 while it does, 503 while it reconnects; livez stays 200", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeWorker
      const ready = yield* fake.get("/readyz")
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.body).status).toBe("STARTING")
      expect((yield* fake.get("/livez")).status).toBe(200)

      yield* SubscriptionRef.set(fake.status, WorkerStatus.Listening({ workerId: "w-1" }))
      expect((yield* fake.get("/readyz")).status).toBe(200)

      yield* SubscriptionRef.set(
        fake.status,
        WorkerStatus.Reconnecting({ workerId: Option.some("w-1"), attempt: 1, reason: "stream ended", delay: Duration.seconds(1) })
      )
      const reconnecting = yield* fake.get("/readyz")
      expect(reconnecting.status).toBe(503)
      expect(JSON.parse(reconnecting.body).status).toBe("UNHEALTHY")
      expect((yield* fake.get("/livez")).status).toBe(200)

      yield* SubscriptionRef.set(fake.status, WorkerStatus.Draining())
      expect((yield* fake.get("/readyz")).status).toBe(503)
    }))

  it.effect("health is always 200 with the official SDKs' report: status, name, free slots, actions, labels", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeWorker
      yield* SubscriptionRef.set(fake.inUse, 3)
      const starting = yield* fake.get("/health")
      expect(starting.status).toBe(200)
      expect(starting.type).toContain("application/json")
      expect(JSON.parse(starting.body)).toEqual({
        status: "STARTING",
        name: "health-worker",
        slots: 7,
        actions: ["orders:charge", "orders:ship"],
        labels: { region: "eu", gpu: 1 },
        nodeVersion: process.version
      })
      yield* SubscriptionRef.set(fake.status, WorkerStatus.Stopped())
      const stopped = yield* fake.get("/health")
      expect(stopped.status).toBe(200)
      expect(JSON.parse(stopped.body).status).toBe("UNHEALTHY")
    }))

  it.effect("a blocked event loop makes a listening worker UNHEALTHY (readyz 503) until it runs on time; the lag gauge", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeWorker
      yield* SubscriptionRef.set(fake.status, WorkerStatus.Listening({ workerId: "w-1" }))
      yield* SubscriptionRef.set(fake.eventLoop, { latest: Duration.seconds(6), recentMax: Duration.seconds(6), blocked: true })
      const blocked = yield* fake.get("/readyz")
      expect(blocked.status).toBe(503)
      expect(JSON.parse(blocked.body).status).toBe("UNHEALTHY")
      expect(JSON.parse((yield* fake.get("/health")).body).status).toBe("UNHEALTHY")
      expect((yield* fake.get("/livez")).status).toBe(200)
      expect((yield* fake.get("/metrics")).body).toContain(
        "# TYPE hatchet_worker_event_loop_lag_seconds gauge\nhatchet_worker_event_loop_lag_seconds 6\n"
      )

      // on time again; the gauge still shows the block of the last 10 s
      yield* SubscriptionRef.set(fake.eventLoop, { latest: Duration.millis(2), recentMax: Duration.millis(6500), blocked: false })
      expect((yield* fake.get("/readyz")).status).toBe(200)
      expect((yield* fake.get("/metrics")).body).toContain("hatchet_worker_event_loop_lag_seconds 6.5\n")
    }))

  it.effect("metrics: upstream's three gauges, then the worker metrics, as Prometheus text; other paths are 404", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeWorker
      yield* SubscriptionRef.set(fake.status, WorkerStatus.Listening({ workerId: "w-1" }))
      yield* SubscriptionRef.set(fake.inUse, 4)
      const metrics = yield* fake.get("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.type).toBe(Prometheus.contentType)
      expect(metrics.body).toContain("# TYPE hatchet_worker_status gauge\nhatchet_worker_status 1\n")
      expect(metrics.body).toContain("hatchet_worker_slots 6\n")
      expect(metrics.body).toContain("hatchet_worker_actions 2\n")
      // the module-level worker metrics are registered once anything updated them; only those
      // of the worker are exported, not the process's other metrics
      expect(metrics.body).not.toMatch(/^(?!hatchet_worker_|# )\S/m)
      expect((yield* fake.get("/nope")).status).toBe(404)
    }))
})

describe("Prometheus text", () => {
  it.effect("counters, gauges and histograms with labels, escaped; one HELP and TYPE per family", () =>
    Effect.gen(function*() {
      const runs = Metric.counter("prom_test_runs", { description: "Runs \\ seen\nso far" })
      const depth = Metric.gauge("prom.test-depth")
      const latency = Metric.histogram("prom_test_latency", MetricBoundaries.fromIterable([1, 5]), "Latency")
      yield* Metric.increment(runs).pipe(Effect.tagMetrics("queue", "a\"b"))
      yield* Metric.incrementBy(runs, 2).pipe(Effect.tagMetrics("queue", "c"))
      yield* Metric.set(depth, 4)
      yield* Effect.forEach([0.5, 3, 9], (value) => Metric.update(latency, value))
      const text = Prometheus.render((yield* Metric.snapshot).filter((pair) => pair.metricKey.name.startsWith("prom")))

      expect(text).toContain("# HELP prom_test_runs Runs \\\\ seen\\nso far\n# TYPE prom_test_runs counter\n")
      expect(text).toContain("prom_test_runs{queue=\"a\\\"b\"} 1\n")
      expect(text).toContain("prom_test_runs{queue=\"c\"} 2\n")
      expect(text.match(/# TYPE prom_test_runs /g)).toHaveLength(1)
      expect(text).toContain("# TYPE prom_test_depth gauge\nprom_test_depth 4\n")
      expect(text).toContain(
        "# HELP prom_test_latency Latency\n# TYPE prom_test_latency histogram\n" +
          "prom_test_latency_bucket{le=\"1\"} 1\nprom_test_latency_bucket{le=\"5\"} 2\n" +
          "prom_test_latency_bucket{le=\"+Inf\"} 3\nprom_test_latency_sum 12.5\nprom_test_latency_count 3\n"
      )
    }))
})
