/**
 * Resilience of the worker under load, over real loopback gRPC: for each fault, runs are
 * triggered before it (some are executing when it hits) and while it lasts; every run must
 * complete with the right output (no task lost), no task run may execute twice at once on the
 * worker (an instrumented in-flight set), and the worker must end up `Listening` again, having
 * taken the recovery path the fault calls for.
 *
 * The worker reaches the engine through a `TcpProxy` (network faults hit only its channel); the
 * client that triggers and awaits runs talks to the engine directly. Heartbeats run every 500 ms
 * (timeout 1 s) to keep the suite short. An assignment the engine sends into a stream that is
 * already dead never reaches the worker and Hatchet has no acknowledgement for it: the engine
 * recovers it by the attempt's execution timeout and a retry. So the task has a 2 s execution
 * timeout and 30 retries, and re-executions (at least once) are allowed; overlaps are not.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Ref } from "effect"
import * as Harness from "./ResilienceHarness.js"

const TIMEOUT = 60_000

/** gRPC status codes (as `nice-grpc-common`'s `Status`). */
const Status = { INTERNAL: 13, UNAVAILABLE: 14 } as const

/** The common assertions, and the report printed for the record. */
const check = (name: string, h: Harness.Harness, report: Harness.ScenarioReport, total: number) =>
  Effect.gen(function*() {
    const byN = [...report.outputs].sort((a, b) => a.n - b.n)
    expect(byN).toEqual(Array.from({ length: total }, (_, n) => ({ n, square: n * n })))
    expect(h.probe.overlaps).toEqual([])
    expect(h.probe.inFlight.size).toBe(0)
    const status = yield* Harness.waitFor(h.worker.status, (s) => s._tag === "Listening", "10 seconds")
    expect(status._tag).toBe("Listening")
    const stats = yield* h.proxy.stats
    console.log(`[resilience] ${name}: ${
      JSON.stringify({
        detectedAfterMs: report.detectedAfter,
        listeningAfterMs: report.listeningAfter,
        allCompletedAfterMs: report.completedAfter,
        reExecutions: report.reExecutions,
        connections: stats.accepted,
        reconnects: report.reconnects
      })
    }`)
  })

/**
 * The reason a worker gives when the engine drops its listener: `expected` (the stream's end or
 * failure), or a heartbeat refused because the listener is gone, if that reached the worker first.
 */
const listenerLost = (expected: string) =>
  new RegExp(`^(${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}|heartbeat rejected: the engine has no active listener for this worker)`)

const workerId = (h: Harness.Harness) => Effect.map(h.worker.workerId, Option.getOrThrow)

/** Starts a harness, runs the scenario and makes the common assertions. */
const run = (
  name: string,
  scenario: Harness.ScenarioOptions,
  options: Harness.HarnessOptions = {}
) =>
  Effect.gen(function*() {
    const h = yield* Harness.start(options)
    const report = yield* Harness.scenario(h, scenario)
    yield* check(name, h, report, scenario.total ?? 200)
    return { h, report }
  })

describe("Resilience: the worker under faults (loopback gRPC, local engine)", () => {
  it.scopedLive("the engine ends the listen stream cleanly", () =>
    Effect.gen(function*() {
      const { report } = yield* run("stream ended cleanly", {
        fault: (h) => Effect.flatMap(workerId(h), (id) => h.engine.faults.dropListenStreams({ workerId: id }))
      })
      // the engine drops the listener as it ends the stream: a heartbeat landing before the worker
      // reads the end is refused (FAILED_PRECONDITION), and either tells the worker first (a race
      // the real engine has too; the reason for each is proven in Worker.test.ts, with a fake)
      expect(report.reconnects[0]).toMatch(listenerLost("the assignment stream ended"))
    }), TIMEOUT)

  it.scopedLive("the engine ends the listen stream with UNAVAILABLE, then with INTERNAL (RST_STREAM)", () =>
    Effect.gen(function*() {
      const { report } = yield* run("stream failed (UNAVAILABLE, INTERNAL)", {
        fault: (h) =>
          Effect.gen(function*() {
            const id = yield* workerId(h)
            yield* h.engine.faults.dropListenStreams({
              workerId: id,
              status: { code: Status.UNAVAILABLE, message: "engine going away" }
            })
            yield* Harness.waitFor(Ref.get(h.statuses), (all) => all.some((s) => s.status._tag === "Reconnecting"), "10 seconds")
            // once the new stream is open on the engine's side
            yield* Harness.waitFor(
              h.engine.faults.dropListenStreams({
                workerId: id,
                status: { code: Status.INTERNAL, message: "Received RST_STREAM with code 2" }
              }),
              (dropped) => dropped > 0,
              "10 seconds"
            )
          })
      })
      // each failure, or a heartbeat refused as the engine dropped the listener (see above)
      expect(report.reconnects.length).toBeGreaterThanOrEqual(2)
      expect(report.reconnects[0]).toMatch(listenerLost("the assignment stream failed: engine going away"))
      expect(report.reconnects[1]).toMatch(listenerLost("the assignment stream failed: Received RST_STREAM with code 2"))
    }), TIMEOUT)

  it.scopedLive("a silent stall: heartbeats hang, the worker moves to a fresh connection", () =>
    Effect.gen(function*() {
      // keepalive as the official SDKs (10 s / 60 s): only the heartbeats can notice in time
      const { h, report } = yield* run("silent stall (heartbeat timeout)", { fault: (h) => h.proxy.freeze() })
      expect(report.reconnects.some((r) => r.includes("(hung: the connection stalled)"))).toBe(true)
      const stats = yield* h.proxy.stats
      // the worker left the dead connection open (keepalive never fired) and opened a new one
      expect(stats.accepted).toBeGreaterThanOrEqual(2)
      expect(stats.frozen).toBeGreaterThanOrEqual(1)
    }), TIMEOUT)

  it.scopedLive(
    "a silent stall with the client on the worker's channel: its calls and result stream move too",
    () =>
      Effect.gen(function*() {
        const { report } = yield* run(
          "silent stall, one channel for worker and client",
          { total: 100, fault: (h) => h.proxy.freeze() },
          { sharedChannel: true }
        )
        expect(report.reconnects.some((r) => r.includes("(hung: the connection stalled)"))).toBe(true)
      }),
    TIMEOUT
  )

  it.scopedLive("a silent stall the heartbeats do not catch: keepalive closes the dead connection", () =>
    Effect.gen(function*() {
      const { h, report } = yield* run("silent stall (keepalive)", { total: 100, fault: (h) => h.proxy.freeze() }, {
        workerConfig: { grpcKeepaliveTime: "1 second", grpcKeepaliveTimeout: "1 second" },
        worker: { heartbeatTimeout: "1 minute" }
      })
      expect(report.reconnects.some((r) => r.startsWith("the assignment stream failed: "))).toBe(true)
      expect(report.reconnects.some((r) => r.includes("hung"))).toBe(false)
      expect((yield* h.proxy.stats).accepted).toBeGreaterThanOrEqual(2)
    }), TIMEOUT)

  it.scopedLive("a partition: new connections hang too, until it heals", () =>
    Effect.gen(function*() {
      const { report } = yield* run("partition, healed after 4 s", {
        total: 100,
        fault: (h) => h.proxy.freeze({ newConnections: true }),
        faultFor: "4 seconds",
        heal: (h) => h.proxy.thaw
      })
      expect(report.reconnects.some((r) => r.includes("(hung: the connection stalled)"))).toBe(true)
    }), TIMEOUT)

  it.scopedLive("the engine loses the listener: heartbeats are rejected with FAILED_PRECONDITION", () =>
    Effect.gen(function*() {
      const { report } = yield* run("listener lost (FAILED_PRECONDITION)", {
        fault: (h) => Effect.flatMap(workerId(h), (id) => h.engine.faults.dropListenStreams({ workerId: id, silent: true }))
      })
      expect(report.reconnects.some((r) => r.startsWith("heartbeat rejected: the engine has no active listener"))).toBe(true)
    }), TIMEOUT)

  it.scopedLive("the engine forgets the worker: NOT_FOUND, it registers again", () =>
    Effect.gen(function*() {
      let first: string | undefined
      const { h, report } = yield* run("worker forgotten (re-register)", {
        fault: (h) => Effect.flatMap(workerId(h), (id) => h.engine.faults.forgetWorker(first = id))
      })
      expect(yield* workerId(h)).not.toBe(first)
      expect(report.reconnects.some((r) => r.includes("NOT_FOUND") || r.includes("not found"))).toBe(true)
    }), TIMEOUT)

  it.scopedLive("the engine restarts", () =>
    Effect.gen(function*() {
      const { report } = yield* run("engine restart", { fault: (h) => h.engine.faults.restart })
      expect(report.reconnects.length).toBeGreaterThanOrEqual(1)
    }), TIMEOUT)

  it.scopedLive("the connection is reset (RST)", () =>
    Effect.gen(function*() {
      const { h, report } = yield* run("connection reset", {
        fault: (h) => Effect.flatMap(h.proxy.reset, (n) => Effect.sync(() => expect(n).toBeGreaterThanOrEqual(1)))
      })
      expect(report.reconnects.some((r) => r.startsWith("the assignment stream failed: "))).toBe(true)
      expect((yield* h.proxy.stats).accepted).toBeGreaterThanOrEqual(2)
    }), TIMEOUT)
})
