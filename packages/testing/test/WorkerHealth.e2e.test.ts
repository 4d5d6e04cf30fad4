/**
 * WorkerHealth over real HTTP, for a worker on the local engine over loopback gRPC: what a
 * Kubernetes probe and a Prometheus scrape see, also while the engine loses the worker's stream
 * and while CPU-bound work blocks the event loop.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
import * as WorkerHealth from "@effect-hatchet/sdk/WorkerHealth"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule, Schema, Stream } from "effect"
import { createServer } from "node:http"
import * as HatchetTest from "../src/HatchetTest.js"

const Double = Task.make("health-double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ doubled: Schema.Number })
})
const DoubleLive = Double.toLayer(({ n }) => Effect.succeed({ doubled: n * 2 }))

const TestLive = WorkerHealth.layer.pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(HatchetTest.layer({
    workflows: [DoubleLive],
    // a lost stream is noticed at the next heartbeat; the reconnect waits long enough to be seen
    worker: {
      name: "health-worker",
      heartbeatInterval: "200 millis",
      reconnect: { initialDelay: "1 second" },
      eventLoopBlockThreshold: "500 millis"
    }
  }))
)

/** GET on the health server. */
const get = (path: string) =>
  Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.die("not a TCP server")
    return yield* Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(`http://127.0.0.1:${address.port}${path}`, { signal })
        return { status: response.status, body: await response.text() }
      },
      catch: (cause) => cause
    }).pipe(Effect.orDie)
  })

/** Until `/readyz` answers 200 (at most 10 s). */
const waitUntilReady = get("/readyz").pipe(
  Effect.filterOrFail((response) => response.status === 200),
  Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })
)

layer(TestLive, { timeout: 60_000, excludeTestServices: true })("WorkerHealth over HTTP (local engine)", (it) => {
  it.effect("a worker that listens is ready and alive; health reports it as the official SDKs do", () =>
    Effect.gen(function*() {
      // a loaded machine can briefly block the event loop past the threshold (UNHEALTHY): wait
      const ready = yield* waitUntilReady
      expect(ready.status).toBe(200)
      expect(JSON.parse(ready.body)).toMatchObject({
        status: "HEALTHY",
        name: "health-worker",
        slots: 100,
        actions: ["health-double:health-double"]
      })
      expect(yield* get("/livez")).toEqual({ status: 200, body: "ok" })
      expect((yield* get("/health")).status).toBe(200)
    }))

  it.effect("metrics count the tasks the worker ran", () =>
    Effect.gen(function*() {
      const completed = (text: string) =>
        [...text.matchAll(/^hatchet_worker_tasks_completed(?:\{[^}]*\})? (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
      const before = completed((yield* get("/metrics")).body)
      expect(yield* Hatchet.run(Double, { n: 21 })).toEqual({ doubled: 42 })
      expect(yield* Hatchet.run(Double, { n: 2 })).toEqual({ doubled: 4 })
      const metrics = (yield* get("/metrics")).body
      expect(metrics).toContain("hatchet_worker_status 1\n")
      expect(completed(metrics)).toBe(before + 2)
    }))

  it.effect("the engine loses the worker's stream: not ready while it reconnects, still alive, ready again after", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const worker = yield* Worker.Worker
      const reconnecting = yield* worker.statusChanges.pipe(
        Stream.filter((status) => status._tag === "Reconnecting"),
        Stream.runHead,
        Effect.fork
      )
      yield* Effect.sleep("50 millis") // the status subscription is in place
      expect(yield* engine.faults.dropListenStreams({ silent: true })).toBe(1)
      yield* reconnecting // the next heartbeat was rejected
      const notReady = yield* get("/readyz")
      expect(notReady.status).toBe(503)
      expect(JSON.parse(notReady.body).status).toBe("UNHEALTHY")
      expect((yield* get("/livez")).status).toBe(200)

      yield* waitUntilReady
      expect(yield* Hatchet.run(Double, { n: 5 })).toEqual({ doubled: 10 })
    }))

  it.effect("CPU-bound work blocks the event loop: not ready right after, the lag in the metrics, ready again, runs still complete", () =>
    Effect.gen(function*() {
      yield* waitUntilReady
      // holds the event loop for 1.5 s, as a task doing synchronous work would
      yield* Effect.sync(() => {
        const until = performance.now() + 1500
        while (performance.now() < until) {
          // busy
        }
      })
      const notReady = yield* get("/readyz")
      expect(notReady.status).toBe(503)
      expect(JSON.parse(notReady.body).status).toBe("UNHEALTHY")
      expect((yield* get("/livez")).status).toBe(200)
      const lag = Number(/^hatchet_worker_event_loop_lag_seconds (\S+)$/m.exec((yield* get("/metrics")).body)?.[1])
      expect(lag).toBeGreaterThanOrEqual(1)

      yield* waitUntilReady
      expect(yield* Hatchet.run(Double, { n: 7 })).toEqual({ doubled: 14 })
    }))
})
