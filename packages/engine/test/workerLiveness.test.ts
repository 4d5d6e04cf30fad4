/**
 * `workerLiveness: "connection"`: an open stream keeps a worker alive whatever the clock does (for
 * tests under TestClock); the default `"heartbeat"` behaviour is covered in rules.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { taskStatus } from "../src/internal/domain/model.js"
import { makeHarness, makeHarnessWith, task } from "./support/harness.js"

describe("workerLiveness: connection", () => {
  it.scoped("a worker silent for an hour still receives tasks (with heartbeat liveness it does not)", () =>
    Effect.gen(function*() {
      const connection = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* connection.putWorkflow("quiet", [task("t")])
      const w = yield* connection.worker(["quiet:t"])
      const heartbeat = yield* makeHarness
      yield* heartbeat.putWorkflow("quiet", [task("t")])
      const hw = yield* heartbeat.worker(["quiet:t"])

      yield* TestClock.adjust("1 hour")
      yield* connection.trigger("quiet")
      yield* heartbeat.trigger("quiet")
      expect(w.starts()).toHaveLength(1)
      expect(hw.starts()).toHaveLength(0)
    }))

  it.scoped("a running attempt is not re-queued when its worker is silent past 30 s", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("long", [task("t", { timeout: "10m" })])
      const silent = yield* h.worker(["long:t"])
      const runId = yield* h.trigger("long")
      expect(silent.starts()).toHaveLength(1)
      const other = yield* h.worker(["long:t"])
      yield* TestClock.adjust("5 minutes")
      const t = h.state.tasksByExternalId.get(runId)!
      expect(taskStatus(t)).toBe("RUNNING")
      expect(t.internalRetryCount).toBe(0)
      expect(other.starts()).toHaveLength(0)
      yield* h.complete(silent.starts()[0]!, "{}")
      expect(taskStatus(h.state.tasksByExternalId.get(runId)!)).toBe("COMPLETED")
    }))

  it.scoped("a retry after a 1000 s backoff goes to the silent worker after one jump of the clock", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("bo", [task("t", { retries: 1, backoffFactor: 1000, backoffMaxSeconds: 3600 })])
      const w = yield* h.worker(["bo:t"])
      yield* h.trigger("bo")
      yield* h.fail(w.starts()[0]!, "{\"message\":\"boom\"}")
      yield* TestClock.adjust("999 seconds")
      expect(w.starts()).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      expect(w.starts().map((s) => s.retryCount)).toEqual([0, 1])
    }))

  it.scoped("a closed stream still makes the worker unschedulable, and its heartbeats are rejected", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("gone", [task("t")])
      const w = yield* h.worker(["gone:t"])
      yield* w.closeStream
      yield* h.trigger("gone")
      expect(w.starts()).toHaveLength(0)
      expect(yield* Effect.flip(w.heartbeat)).toMatchObject({ _tag: "FailedPrecondition" })
    }))
})
