/**
 * State-machine rules of the engine, in process under TestClock (`docs/engine.md` §1–§4).
 */
import { ResourceEventType, ResourceType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Either, TestClock } from "effect"
import { createHash } from "node:crypto"
import * as Admin from "../src/internal/domain/admin.js"
import { restError, taskError, taskStatus } from "../src/internal/domain/model.js"
import { runEventsGraceMs } from "../src/internal/domain/publish.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import * as Workers from "../src/internal/domain/workers.js"
import { makeHarness, makeHarnessWith, payloadOf, task, tenantId } from "./support/harness.js"

describe("dispatch", () => {
  it.scoped("a START carries the AssignedAction fields and action_payload as upstream", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("simple", [task("Step1", { action: "simple:Step1" })])
      const w = yield* h.worker(["simple:step1"])
      const runId = yield* h.trigger("simple", { message: "hi" }, { additionalMetadata: "{\"b\":\"<x>\",\"a\":1}" })
      const [start] = w.starts()
      expect(start).toBeDefined()
      expect(start!.actionPayload).toBe(
        "{\"input\":{\"message\":\"hi\"},\"triggered_by\":\"manual\",\"parents\":{},\"triggers\":{\"filter_payload\":null},\"user_data\":null,\"overrides\":null}"
      )
      expect(start).toMatchObject({
        tenantId,
        workflowRunId: runId,
        taskRunExternalId: runId,
        jobRunId: runId,
        jobId: version.steps[0]!.id,
        taskId: version.steps[0]!.id,
        jobName: "Step1",
        taskName: "Step1",
        actionId: "simple:step1",
        retryCount: 0,
        priority: 1,
        workflowId: version.workflow.id,
        workflowVersionId: version.id,
        getGroupKeyRunId: ""
      })
      const metadata = JSON.parse(start!.additionalMetadata!)
      expect(metadata.a).toBe(1)
      expect(metadata.b).toBe("<x>")
      expect(metadata.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      // Go marshals with sorted keys and HTML escaping
      expect(start!.additionalMetadata!.startsWith("{\"a\":1,\"b\":\"\\u003cx\\u003e\",\"traceparent\"")).toBe(true)

      const results = yield* h.awaitRun(runId)
      yield* h.complete(start!, "{\"ok\":true}")
      expect(results).toHaveLength(1)
      expect(results[0]!.results).toEqual([
        { taskRunExternalId: runId, taskName: "Step1", jobRunId: runId, output: "{\"ok\":true}" }
      ])
    }))

  it.scoped("orders by priority, FIFO within a priority, retries ahead of new work", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("prio", [task("t", { retries: 1 })])
      const a = yield* h.trigger("prio", { n: "a" }, { priority: 1 })
      const b = yield* h.trigger("prio", { n: "b" }, { priority: 3 })
      const c = yield* h.trigger("prio", { n: "c" }, { priority: 2 })
      const d = yield* h.trigger("prio", { n: "d" }, { priority: 3 })
      const w = yield* h.worker(["prio:t"], 1)
      expect(w.starts().map((s) => s.workflowRunId)).toEqual([b])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(w.starts().map((s) => s.workflowRunId)).toEqual([b, d])
      // a failure of d is retried at priority 4, ahead of c and a
      yield* h.fail(w.starts()[1]!, "boom")
      expect(w.starts().map((s) => [s.workflowRunId, s.retryCount])).toEqual([[b, 0], [d, 0], [d, 1]])
      expect(w.starts()[2]!.priority).toBe(3)
      yield* h.complete(w.starts()[2]!, "{}")
      yield* h.complete(w.starts()[3]!, "{}")
      expect(w.starts().map((s) => s.workflowRunId)).toEqual([b, d, d, c, a])
    }))

  it.scoped("matches actions exactly and accounts slots per slot type", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("Slots", [task("Heavy", { action: "Slots:Heavy", slotRequests: { default: 2 } })])
      const wrongCase = yield* h.worker(["Slots:Heavy"], 10)
      const w = yield* h.worker(["slots:heavy"], 3)
      yield* h.trigger("Slots")
      yield* h.trigger("Slots")
      expect(wrongCase.starts()).toHaveLength(0)
      expect(w.starts()).toHaveLength(1)
      yield* h.complete(w.starts()[0]!, "{}")
      expect(w.starts()).toHaveLength(2)
    }))

  it.scoped("ReleaseSlot frees the slot while the attempt keeps running", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("rs", [task("t")])
      const w = yield* h.worker(["rs:t"], 1)
      yield* h.trigger("rs")
      yield* h.trigger("rs")
      expect(w.starts()).toHaveLength(1)
      const first = w.starts()[0]!
      yield* h.runEither((state, now) => Workers.releaseSlot(state, tenantId, first.taskRunExternalId, now))
      expect(w.starts()).toHaveLength(2)
      yield* h.complete(first, "{\"done\":1}")
      expect(taskStatus(h.state.tasksByExternalId.get(first.taskRunExternalId)!)).toBe("COMPLETED")
      const again = yield* Effect.flip(h.runEither((state, now) => Workers.releaseSlot(state, tenantId, first.taskRunExternalId, now)))
      expect(again.message).toBe(`task run not found: ${first.taskRunExternalId}`)
    }))
})

describe("affinity", () => {
  it.scoped("desired worker labels rank workers; a required label that is not met excludes a worker", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("lbl", [task("t", {
        workerLabels: {
          gpu: { strValue: "a100", required: true },
          memory: { intValue: 32, comparator: 3, weight: 10 }
        }
      })])
      const noGpu = yield* h.worker(["lbl:t"], 10, { memory: { intValue: 64 } })
      const small = yield* h.worker(["lbl:t"], 10, { gpu: { strValue: "a100" }, memory: { intValue: 16 } })
      const big = yield* h.worker(["lbl:t"], 10, { gpu: { strValue: "a100" }, memory: { intValue: 64 } })
      for (let i = 0; i < 3; i++) yield* h.trigger("lbl")
      expect(noGpu.starts()).toHaveLength(0)
      expect(small.starts()).toHaveLength(0)
      expect(big.starts()).toHaveLength(3)
      // run-level labels replace the step's
      yield* h.trigger("lbl", {}, { desiredWorkerLabels: { memory: { intValue: 20, comparator: 4, required: true } } })
      expect(small.starts()).toHaveLength(1)
    }))

  it.scoped("sticky HARD runs only on the desired worker, SOFT prefers it", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("hard", [task("t")], { sticky: 1 })
      yield* h.putWorkflow("soft", [task("t")], { sticky: 0 })
      const a = yield* h.worker(["hard:t", "soft:t"], 10)
      const b = yield* h.worker(["hard:t", "soft:t"], 10)
      for (let i = 0; i < 4; i++) yield* h.trigger("hard", {}, { desiredWorkerId: b.id })
      expect([a.starts().length, b.starts().length]).toEqual([0, 4])
      for (let i = 0; i < 4; i++) yield* h.trigger("soft", {}, { desiredWorkerId: a.id })
      expect(a.starts().filter((s) => s.actionId === "soft:t")).toHaveLength(4)
    }))

  it.scoped("a sticky DAG: each task goes to the worker that ran its parent; labels are ignored under sticky", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const steps = [
        task("a", { workerLabels: { zone: { strValue: "b", required: true } } }),
        task("b", { parents: ["a"] }),
        task("c", { parents: ["b"] })
      ]
      yield* h.putWorkflow("hard-dag", steps, { sticky: 1 })
      yield* h.putWorkflow("soft-dag", steps, { sticky: 0 })
      const actions = ["hard-dag:a", "hard-dag:b", "hard-dag:c", "soft-dag:a", "soft-dag:b", "soft-dag:c"]
      const a = yield* h.worker(actions, 10, { zone: { strValue: "a" } })
      const b = yield* h.worker(actions, 10, { zone: { strValue: "b" } })
      const byAction = (action: string) => [a, b].filter((w) => w.starts().some((s) => s.actionId === action))
      for (const name of ["hard-dag", "soft-dag"]) {
        yield* h.trigger(name)
        // the root task has no desired worker and its required label is ignored: either may take it
        const [first] = byAction(`${name}:a`)
        expect(first).toBeDefined()
        yield* h.complete(first!.starts().find((s) => s.actionId === `${name}:a`)!, "{}")
        expect(byAction(`${name}:b`)).toEqual([first])
        yield* h.complete(first!.starts().find((s) => s.actionId === `${name}:b`)!, "{}")
        expect(byAction(`${name}:c`)).toEqual([first])
      }
    }))
})

describe("worker liveness", () => {
  it.scoped("only workers with a heartbeat in the last 5 s are schedulable", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("hb", [task("t")])
      const w = yield* h.worker(["hb:t"])
      yield* TestClock.adjust("5 seconds")
      yield* h.trigger("hb")
      expect(w.starts()).toHaveLength(0)
      yield* w.heartbeat
      expect(w.starts()).toHaveLength(1)
    }))

  it.scoped("a worker silent for 30 s has its running attempts re-queued, without a cancel", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dead", [task("t")])
      const silent = yield* h.worker(["dead:t"])
      const runId = yield* h.trigger("dead")
      expect(silent.starts()).toHaveLength(1)
      const alive = yield* h.worker(["dead:t"])
      yield* h.advance(29_000, [alive])
      expect(h.state.tasksByExternalId.get(runId)!.retryCount).toBe(0)
      yield* h.advance(2_000, [alive])
      expect(silent.cancels()).toHaveLength(0)
      expect(alive.starts().map((s) => [s.taskRunExternalId, s.retryCount])).toEqual([[runId, 1]])
      const t = h.state.tasksByExternalId.get(runId)!
      expect(t.internalRetryCount).toBe(1)
      expect(t.appRetryCount).toBe(0)
      // upstream's reassignment controller: a REASSIGNED event saying why, on the silent worker,
      // no error message; the retry then records no QUEUED (an internal retry)
      const reassigned = eventsOf(t).filter((e) => e.eventType === "REASSIGNED")
      expect(reassigned.map((e) => [e.message, e.errorMessage ?? "", e.workerId, e.retryCount])).toEqual([
        ["Worker did not send a heartbeat for 30 seconds", "", silent.id, 0]
      ])
      expect(eventsOf(t).map((e) => e.eventType)).toEqual([
        "QUEUED",
        "ASSIGNED",
        "SENT_TO_WORKER",
        "REASSIGNED",
        "ASSIGNED",
        "SENT_TO_WORKER"
      ])
    }))

  it.scoped("a task reassigned past its internal retries fails with upstream's FAILED event; REST shows its text, gRPC none", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ maxInternalRetries: 1 })
      yield* h.putWorkflow("dead-max", [task("t")])
      const first = yield* h.worker(["dead-max:t"])
      const runId = yield* h.trigger("dead-max")
      const second = yield* h.worker(["dead-max:t"])
      yield* h.advance(31_000, [second])
      expect(second.starts()).toHaveLength(1)
      yield* h.advance(31_000)
      const t = h.state.tasksByExternalId.get(runId)!
      expect(taskStatus(t)).toBe("FAILED")
      expect(first.starts()).toHaveLength(1)
      const last = eventsOf(t).slice(-2)
      expect(last.map((e) => [e.eventType, e.message, e.errorMessage ?? "", e.workerId])).toEqual([
        ["REASSIGNED", "Worker did not send a heartbeat for 30 seconds", "", second.id],
        ["FAILED", "Task reached its maximum reassignment count", "Task reached its maximum reassignment count", second.id]
      ])
      // REST reads the FAILED event's error (upstream's OLAP); the core's failure carries none
      expect(t.state._tag === "Failed" && [t.state.error, restError(t.state)]).toEqual(["", "Task reached its maximum reassignment count"])
    }))

  it.scoped("heartbeats: NOT_FOUND for unknown workers, FAILED_PRECONDITION once the stream closed", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const w = yield* h.worker(["x:y"])
      const unknown = yield* Effect.flip(
        h.runEither((state, now) => Workers.heartbeat(state, tenantId, "6f0f1b1c-1111-4111-8111-111111111111", now))
      )
      expect(unknown.message).toBe("worker not found: 6f0f1b1c-1111-4111-8111-111111111111")
      const bad = yield* Effect.flip(h.runEither((state, now) => Workers.heartbeat(state, tenantId, "nope", now)))
      expect(bad.message).toBe("invalid worker ID format: nope")
      yield* w.closeStream
      const closed = yield* Effect.flip(w.heartbeat)
      expect(closed).toMatchObject({ _tag: "FailedPrecondition", message: `Heartbeat rejected: worker stream is not active: ${w.id}` })
    }))
})

describe("retries and failures", () => {
  it.scoped("a one-hour backoff resolves by adjusting the TestClock", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bo", [task("t", { retries: 2, backoffFactor: 60, backoffMaxSeconds: 3600 })])
      const w = yield* h.worker(["bo:t"])
      yield* h.trigger("bo")
      yield* h.fail(w.starts()[0]!, "{\"message\":\"boom\"}")
      yield* TestClock.adjust("59 seconds")
      yield* w.heartbeat
      expect(w.starts()).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      yield* w.heartbeat
      expect(w.starts()).toHaveLength(2)
      // the second retry waits min(3600, 60^2) s: one hour
      yield* h.fail(w.starts()[1]!, "{\"message\":\"boom\"}")
      yield* TestClock.adjust("3599 seconds")
      yield* w.heartbeat
      expect(w.starts()).toHaveLength(2)
      yield* TestClock.adjust("1 second")
      yield* w.heartbeat
      expect(w.starts().map((s) => s.retryCount)).toEqual([0, 1, 2])
    }))

  it.scoped("RETRYING says which retry it is (and, with a backoff, how long and until when); QUEUED follows when it is queued", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("rm", [task("now", { retries: 1 }), task("later", { retries: 1, backoffFactor: 2, backoffMaxSeconds: 60 })])
      const w = yield* h.worker(["rm:now", "rm:later"])
      const runId = yield* h.trigger("rm")
      const startOf = (step: string) => w.starts().find((s) => s.actionId === `rm:${step}`)!
      const failedAt = yield* Clock.currentTimeMillis
      yield* h.fail(startOf("now"), "x")
      yield* h.fail(startOf("later"), "x")
      const timeline = (step: string) =>
        Effect.map(h.taskOf(runId, step), (t) => eventsOf(t).map((e) => [e.retryCount, e.eventType, e.message]))
      const now = yield* timeline("now")
      const retried = now.findIndex(([, type]) => type === "RETRYING")
      expect(now.slice(retried, retried + 2)).toEqual([
        [1, "RETRYING", "This is retry number 1."],
        [1, "QUEUED", ""]
      ])
      const until = new Date(failedAt + 2_000).toISOString().replace(/\.\d{3}Z$/, "Z")
      expect((yield* timeline("later")).slice(-2)).toEqual([
        [0, "FAILED", ""],
        [1, "RETRYING", `This is retry number 1. Retrying in 2s (${until}).`]
      ])
      // queued when its backoff ends
      yield* h.advance(2_000, [w], 500)
      const later = yield* timeline("later")
      const retrying = later.findIndex(([, type]) => type === "RETRYING")
      expect(later.slice(retrying + 1, retrying + 3).map(([, type]) => type)).toEqual(["QUEUED", "ASSIGNED"])
    }))

  it.scoped("backoff is min(max, factor^n) seconds", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bo2", [task("t", { retries: 3, backoffFactor: 2, backoffMaxSeconds: 3 })])
      const w = yield* h.worker(["bo2:t"])
      yield* h.trigger("bo2")
      const waits: Array<number> = []
      for (let attempt = 0; attempt < 3; attempt++) {
        yield* h.fail(w.starts()[attempt]!, "x")
        let waited = 0
        while (w.starts().length === attempt + 1) {
          yield* h.advance(500, [w], 500)
          waited += 500
        }
        waits.push(waited)
      }
      expect(waits).toEqual([2000, 3000, 3000])
    }))

  it.scoped("should_not_retry fails the task finally; retries are exhausted after N+1 attempts", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("nr", [task("t", { retries: 3 })])
      const w = yield* h.worker(["nr:t"])
      const runId = yield* h.trigger("nr")
      const results = yield* h.awaitRun(runId)
      yield* h.fail(w.starts()[0]!, "fatal", true)
      expect(w.starts()).toHaveLength(1)
      expect(results[0]!.results[0]!.error).toBe("fatal")

      yield* h.putWorkflow("ex", [task("t", { retries: 1 })])
      const w2 = yield* h.worker(["ex:t"])
      const run2 = yield* h.trigger("ex")
      yield* h.fail(w2.starts()[0]!, "one")
      yield* h.fail(w2.starts()[1]!, "two")
      expect(w2.starts()).toHaveLength(2)
      expect(h.state.tasksByExternalId.get(run2)!).toMatchObject({ state: { _tag: "Failed", error: "two" }, retryCount: 1 })
    }))

  it.scoped("COMPLETED with invalid JSON becomes FAILED with the validation message", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bad", [task("t")])
      const w = yield* h.worker(["bad:t"])
      const runId = yield* h.trigger("bad")
      yield* h.complete(w.starts()[0]!, "{not json")
      expect(h.state.tasksByExternalId.get(runId)!).toMatchObject({
        state: { _tag: "Failed", error: "invalid json in field `taskOutput`" }
      })
      const runId2 = yield* h.trigger("bad")
      yield* h.complete(w.starts()[1]!, "{\"a\":\"\\u0000\"}")
      expect(taskError(h.state.tasksByExternalId.get(runId2)!)).toBe(
        "encoded jsonb contains invalid null character \\u0000 in field `taskOutput`"
      )
    }))

  it.scoped("events with a stale retry_count are ignored; STARTED and ACKNOWLEDGED change nothing", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("stale", [task("t", { retries: 1 })])
      const w = yield* h.worker(["stale:t"])
      const runId = yield* h.trigger("stale")
      const first = w.starts()[0]!
      yield* h.report(first, 1, "")
      yield* h.report(first, 4, "")
      expect(taskStatus(h.state.tasksByExternalId.get(runId)!)).toBe("RUNNING")
      yield* h.fail(first, "retry me")
      yield* h.complete(first, "{\"late\":true}")
      const t = h.state.tasksByExternalId.get(runId)!
      expect(taskStatus(t)).toBe("RUNNING")
      expect(t.retryCount).toBe(1)
      yield* h.complete(w.starts()[1]!, "{\"ok\":1}")
      expect(t).toMatchObject({ state: { _tag: "Completed", output: "{\"ok\":1}" } })
    }))

  it.scoped("a STARTED that arrives after its attempt's result is placed before that result, once", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("late", [task("t", { retries: 1 })])
      const w = yield* h.worker(["late:t"])
      const runId = yield* h.trigger("late")
      const first = w.starts()[0]!
      yield* h.fail(first, "retry me") // attempt 0 fails before its STARTED arrives
      yield* h.report(first, 1, "")
      const second = w.starts()[1]!
      yield* h.complete(second, "{\"ok\":1}") // attempt 1 completes before its STARTED arrives
      yield* h.report(second, 1, "")
      yield* h.report(second, 1, "") // a duplicate is not placed twice
      const t = h.state.tasksByExternalId.get(runId)!
      expect(taskStatus(t)).toBe("COMPLETED")
      const timeline = eventsOf(t).map((e) => `${e.retryCount}:${e.eventType}`)
      const attempt = (n: number) => timeline.filter((e) => e.startsWith(`${n}:`))
      expect(attempt(1).slice(-3)).toEqual(["1:SENT_TO_WORKER", "1:STARTED", "1:FINISHED"])
      expect(timeline.filter((e) => e.endsWith(":STARTED"))).toEqual(["0:STARTED", "1:STARTED"])
      const started0 = timeline.indexOf("0:STARTED")
      expect(timeline[started0 - 1]).toBe("0:SENT_TO_WORKER")
      expect(eventsOf(t)[started0]!.workerId).toBe(eventsOf(t)[started0 - 1]!.workerId)
    }))

  it.scoped("a STARTED is stamped with the worker's event_timestamp, kept between the attempt's sending and its result", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("stamp", [task("t")])
      const w = yield* h.worker(["stamp:t"])
      const started = (runId: string) => eventsOf(h.state.tasksByExternalId.get(runId)!).find((e) => e.eventType === "STARTED")!.timestamp
      const sent = (runId: string) =>
        eventsOf(h.state.tasksByExternalId.get(runId)!).find((e) => e.eventType === "SENT_TO_WORKER")!.timestamp

      const a = yield* h.trigger("stamp")
      yield* h.advance(3_000, [w])
      const worker = new Date(sent(a) + 1_000) // the worker started it 2 s before the engine heard
      yield* h.report(w.starts()[0]!, StepActionEventType.STEP_EVENT_TYPE_STARTED, "", false, worker)
      expect(started(a)).toBe(worker.getTime())

      const b = yield* h.trigger("stamp")
      yield* h.advance(1_000, [w])
      yield* h.report(w.starts()[1]!, StepActionEventType.STEP_EVENT_TYPE_STARTED, "", false, new Date(0))
      expect(started(b)).toBe(sent(b)) // a clock far behind: no earlier than the sending

      const c = yield* h.trigger("stamp")
      yield* h.advance(1_000, [w])
      yield* h.complete(w.starts()[2]!, "{}")
      const result = eventsOf(h.state.tasksByExternalId.get(c)!).at(-1)!.timestamp
      yield* h.report(w.starts()[2]!, StepActionEventType.STEP_EVENT_TYPE_STARTED, "", false, new Date(result + 60_000))
      expect(started(c)).toBe(result) // late, and a clock ahead: no later than the result
      expect(eventsOf(h.state.tasksByExternalId.get(c)!).map((e) => e.eventType).slice(-2)).toEqual(["STARTED", "FINISHED"])
    }))

  it.scoped("unknown tasks and unknown event types are INVALID_ARGUMENT", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("u", [task("t")])
      const w = yield* h.worker(["u:t"])
      yield* h.trigger("u")
      const bogus = { ...w.starts()[0]!, taskRunExternalId: "2b2b2b2b-2b2b-4b2b-8b2b-2b2b2b2b2b2b" }
      const e1 = yield* Effect.flip(h.complete(bogus, "{}"))
      expect(e1.message).toBe("invalid task external run id 2b2b2b2b-2b2b-4b2b-8b2b-2b2b2b2b2b2b: no rows in result set")
      const e2 = yield* Effect.flip(h.report(w.starts()[0]!, 0, ""))
      expect(e2.message).toBe(`invalid task external run id ${w.starts()[0]!.taskRunExternalId}`)
    }))
})

describe("timeouts", () => {
  it.scoped("execution timeout fails the attempt (retryable) and sends CANCEL_STEP_RUN", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("to", [task("t", { timeout: "10m", retries: 1 })])
      const w = yield* h.worker(["to:t"])
      const runId = yield* h.trigger("to")
      const events = yield* h.watchEvents(runId)
      yield* h.advance(10 * 60_000 - 4_000, [w])
      expect(w.cancels()).toHaveLength(0)
      yield* h.advance(4_000, [w])
      expect(w.cancels().map((c) => [c.taskRunExternalId, c.retryCount, c.actionPayload])).toEqual([[runId, 0, ""]])
      expect(w.starts().map((s) => s.retryCount)).toEqual([0, 1])
      yield* h.advance(10 * 60_000, [w])
      const t = h.state.tasksByExternalId.get(runId)!
      expect(t).toMatchObject({ state: { _tag: "Failed", error: "Task exceeded timeout of 10m" } })
      // each attempt's TIMED_OUT event gives the reason as its message, with no error message
      expect(eventsOf(t).filter((e) => e.eventType === "TIMED_OUT").map((e) => [e.retryCount, e.message, e.errorMessage])).toEqual([
        [0, "Task exceeded timeout of 10m", undefined],
        [1, "Task exceeded timeout of 10m", undefined]
      ])
      expect(w.cancels().map((c) => c.retryCount)).toEqual([0, 1])
      // timeouts publish no STEP_RUN FAILED on the event stream
      expect(events.filter((e) =>
        e.eventType === ResourceEventType.RESOURCE_EVENT_TYPE_FAILED && e.resourceType === ResourceType.RESOURCE_TYPE_STEP_RUN
      )).toHaveLength(0)
      yield* h.advance(runEventsGraceMs, [w])
      expect(events.at(-1)).toMatchObject({
        resourceType: ResourceType.RESOURCE_TYPE_WORKFLOW_RUN,
        eventType: ResourceEventType.RESOURCE_EVENT_TYPE_FAILED,
        hangup: true
      })
    }))

  it.scoped("RefreshTimeout extends the current deadline", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("rt", [task("t", { timeout: "60s" })])
      const w = yield* h.worker(["rt:t"])
      const runId = yield* h.trigger("rt")
      yield* h.advance(40_000, [w])
      const deadline = yield* h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, runId, "30s", now))
      expect(deadline).toBe(90_000)
      yield* h.advance(48_000, [w])
      expect(w.cancels()).toHaveLength(0)
      yield* h.advance(4_000, [w])
      expect(w.cancels()).toHaveLength(1)
      const bad = yield* Effect.flip(h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, runId, "1d", now)))
      expect(bad.message).toContain("validation failed on field 'RefreshTimeoutBy.IncrementTimeoutBy': Invalid duration")
      const gone = yield* Effect.flip(h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, runId, "1s", now)))
      expect(gone.message).toBe(`task run not found: ${runId}`)
    }))

  it.scoped("RefreshTimeout records the increment as a Go duration; a nil task id fails validation", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("rtm", [task("t", { timeout: "60s" })])
      const w = yield* h.worker(["rtm:t"])
      const runId = yield* h.trigger("rtm")
      expect(w.starts()).toHaveLength(1)
      for (const increment of ["30s", "1m", "1.5h", "90s", "0.5s", "250ms", "0.0001s"]) {
        yield* h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, runId, increment, now))
      }
      const refreshed = eventsOf(yield* h.taskOf(runId, "t")).filter((e) => e.eventType === "TIMEOUT_REFRESHED")
      expect(refreshed.map((e) => e.message)).toEqual([
        "Timeout refreshed by 30s",
        "Timeout refreshed by 1m0s",
        "Timeout refreshed by 1h30m0s",
        "Timeout refreshed by 1m30s",
        "Timeout refreshed by 500ms",
        "Timeout refreshed by 250ms",
        "Timeout refreshed by 100µs"
      ])
      const nil = yield* Effect.flip(
        h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, "00000000-0000-0000-0000-000000000000", "", now))
      )
      expect(nil.message).toBe(
        "Invalid request: Validation failed with the following errors:\n" +
          "0: validation failed on field 'RefreshTimeoutBy.TaskExternalId': on condition 'required'\n" +
          "1: validation failed on field 'RefreshTimeoutBy.IncrementTimeoutBy': on condition 'required'\n"
      )
    }))

  it.scoped("schedule timeout cancels a task nobody picked up", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("st", [task("t", { scheduleTimeout: "2m" })])
      const runId = yield* h.trigger("st")
      const results = yield* h.awaitRun(runId)
      yield* TestClock.adjust("119 seconds")
      expect(taskStatus(h.state.tasksByExternalId.get(runId)!)).toBe("QUEUED")
      yield* TestClock.adjust("1 second")
      yield* Effect.yieldNow()
      expect(taskStatus(h.state.tasksByExternalId.get(runId)!)).toBe("CANCELLED")
      expect(results[0]!.results[0]).toMatchObject({ error: "" })
    }))
})

describe("DAGs", () => {
  const dag = [
    task("first"),
    task("second", { parents: ["first"] }),
    task("third", { parents: ["second"] }),
    task("side")
  ]

  it.scoped("children start when their parents complete, with the parents' outputs", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dag", dag)
      const w = yield* h.worker(["dag:first", "dag:second", "dag:third", "dag:side"])
      const runId = yield* h.trigger("dag", { a: 1 })
      const results = yield* h.awaitRun(runId)
      expect(w.starts().map((s) => s.taskName).sort()).toEqual(["first", "side"])
      const first = w.starts().find((s) => s.taskName === "first")!
      expect(first.workflowRunId).toBe(runId)
      expect(first.taskRunExternalId).not.toBe(runId)
      yield* h.complete(first, "{\"result\":\"x\"}")
      const second = w.starts().find((s) => s.taskName === "second")!
      expect(payloadOf(second)).toEqual({
        input: { a: 1 },
        triggered_by: "manual",
        parents: { first: { result: "x" } },
        triggers: { filter_payload: null },
        user_data: null,
        overrides: null
      })
      yield* h.complete(w.starts().find((s) => s.taskName === "side")!, "null")
      yield* h.complete(second, "[1,2]")
      const third = w.starts().find((s) => s.taskName === "third")!
      // non-object outputs are dropped, null becomes {}
      expect(payloadOf(third).parents).toEqual({ first: { result: "x" }, side: {} })
      expect(results).toHaveLength(0)
      yield* h.complete(third, "{}")
      expect(results[0]!.results.map((r) => r.taskName)).toEqual(["first", "second", "third", "side"])
    }))

  it.scoped("a final failure cancels the descendants; unrelated branches continue", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dagf", dag)
      const w = yield* h.worker(["dagf:first", "dagf:second", "dagf:third", "dagf:side"])
      const runId = yield* h.trigger("dagf")
      const results = yield* h.awaitRun(runId)
      yield* h.fail(w.starts().find((s) => s.taskName === "first")!, "E")
      const second = yield* h.taskOf(runId, "second")
      const third = yield* h.taskOf(runId, "third")
      expect([taskStatus(second), taskStatus(third)]).toEqual(["CANCELLED", "CANCELLED"])
      expect(results).toHaveLength(0)
      yield* h.complete(w.starts().find((s) => s.taskName === "side")!, "{}")
      expect(results[0]!.results.map((r) => [r.taskName, r.error ?? r.output])).toEqual([
        ["first", "E"],
        ["second", ""],
        ["third", ""],
        ["side", "{}"]
      ])
      const run = yield* h.getRun(runId)
      expect(run.finishedAt).toBeDefined()
    }))

  it.scoped("the on-failure task runs at the first final failure with step_run_errors", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("of", [task("a"), task("b")], {
        onFailureTask: task("on-failure-task", { action: "of:on-failure-task" })
      })
      const w = yield* h.worker(["of:a", "of:b", "of:on-failure-task"])
      const runId = yield* h.trigger("of", { x: 1 })
      const results = yield* h.awaitRun(runId)
      yield* h.complete(w.starts().find((s) => s.taskName === "b")!, "{\"b\":1}")
      yield* h.fail(w.starts().find((s) => s.taskName === "a")!, "{\"message\":\"bad\"}")
      const onFailure = w.starts().find((s) => s.taskName === "on-failure-task")!
      expect(payloadOf(onFailure)).toMatchObject({
        input: { x: 1 },
        parents: { b: { b: 1 } },
        step_run_errors: { a: "{\"message\":\"bad\"}" }
      })
      yield* h.complete(onFailure, "{\"handled\":true}")
      expect(results[0]!.results.map((r) => r.taskName)).toEqual(["a", "b", "on-failure-task"])

      // a run without failures skips the on-failure task
      const ok = yield* h.trigger("of")
      const okResults = yield* h.awaitRun(ok)
      for (const s of w.starts().filter((s) => s.workflowRunId === ok)) yield* h.complete(s, "{}")
      expect(okResults[0]!.results.find((r) => r.taskName === "on-failure-task")!.output).toBe("{\"skipped\":true}")
      expect(w.starts().filter((s) => s.workflowRunId === ok && s.taskName === "on-failure-task")).toHaveLength(0)
    }))
})

describe("children", () => {
  it.scoped("a child with the same parent and index returns the existing run (also across retries)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("parent", [task("p", { retries: 1 })])
      yield* h.putWorkflow("child", [task("c")])
      const w = yield* h.worker(["parent:p"])
      const parentRun = yield* h.trigger("parent")
      const spawn = (index: number, key?: string) =>
        h.runEither((state, now) =>
          Either.map(
            Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({
              name: "child",
              input: "{}",
              parentId: parentRun,
              parentTaskRunExternalId: parentRun,
              childIndex: index,
              ...(key !== undefined ? { childKey: key } : {})
            })], now)),
            (ids) => ids[0]!
          )
        )
      const first = yield* spawn(0)
      const other = yield* spawn(1)
      expect(other).not.toBe(first)
      yield* h.fail(w.starts()[0]!, "retry")
      expect(yield* spawn(0)).toBe(first)
      const keyed = yield* spawn(5, "k")
      expect(yield* spawn(9, "k")).toBe(keyed)
      const childRun = yield* h.getRun(first)
      expect(childRun.parentTaskExternalId).toBe(parentRun)
      expect(childRun.metadata).toMatchObject({
        hatchet__parent_workflow_run_id: parentRun,
        hatchet__parent_step_run_id: parentRun
      })
      const unknown = yield* Effect.flip(h.trigger("nope"))
      expect(unknown).toMatchObject({ _tag: "InvalidArgument", message: "workflow names not found: nope" })
    }))
})

describe("cancel and replay", () => {
  it.scoped("cancelling a run cancels its tasks; running attempts get CANCEL_STEP_RUN", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cx", [task("a"), task("b", { parents: ["a"] })])
      const w = yield* h.worker(["cx:a", "cx:b"])
      const runId = yield* h.trigger("cx")
      const results = yield* h.awaitRun(runId)
      const ids = yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [runId] }, now))
      expect(ids).toEqual([runId])
      expect(w.cancels().map((c) => [c.taskName, c.retryCount])).toEqual([["a", 0]])
      expect(results[0]!.results.map((r) => [r.taskName, r.error])).toEqual([["a", ""], ["b", ""]])
      const both = yield* Effect.flip(
        h.runEither((state, now) =>
          Admin.cancelTasks(state, tenantId, {
            externalIds: [runId],
            filter: { since: 0, statuses: [], workflowIds: [], additionalMetadata: [] }
          }, now)
        )
      )
      expect(both.message).toBe("cannot provide both external ids and filter")
    }))

  it.scoped("replay re-queues a final task with retry_count + 1 and re-arms its descendants", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("rp", [task("a"), task("b", { parents: ["a"] })])
      const w = yield* h.worker(["rp:a", "rp:b"])
      const runId = yield* h.trigger("rp")
      yield* h.complete(w.starts()[0]!, "{\"v\":1}")
      yield* h.complete(w.starts()[1]!, "{\"w\":1}")
      const a = yield* h.taskOf(runId, "a")
      const replayed = yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [a.externalId] }, now))
      expect(replayed).toEqual([a.externalId])
      expect(w.starts().map((s) => [s.taskName, s.retryCount])).toEqual([["a", 0], ["b", 0], ["a", 1]])
      const results = yield* h.awaitRun(runId)
      yield* h.complete(w.starts()[2]!, "{\"v\":2}")
      expect(payloadOf(w.starts()[3]!).parents).toEqual({ a: { v: 2 } })
      expect(w.starts()[3]!.retryCount).toBe(1)
      yield* h.complete(w.starts()[3]!, "{}")
      expect(results).toHaveLength(1)
    }))
})

describe("a run's traceparent", () => {
  it("is SHA-256 of the prefix and the run's 16 bytes: trace id from the parent (or the run), span id from the run", () => {
    const digest = (prefix: string, id: string, bytes: number) =>
      createHash("sha256").update(Buffer.concat([Buffer.from(prefix), Buffer.from(id.replaceAll("-", ""), "hex")]))
        .digest("hex").slice(0, bytes * 2)
    const runId = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff"
    const parentId = "ABCDEF01-2345-4678-9abc-def012345678"
    const own: Record<string, string> = {}
    Triggers.ensureTraceparent(own, runId)
    expect(own.traceparent).toBe(
      `00-${digest("hatchet-engine-wf-trace:", runId, 16)}-${digest("hatchet-engine-wf-span:", runId, 8)}-01`
    )
    const child: Record<string, string> = { hatchet__parent_workflow_run_id: parentId }
    Triggers.ensureTraceparent(child, runId)
    expect(child.traceparent).toBe(
      `00-${digest("hatchet-engine-wf-trace:", parentId.toLowerCase(), 16)}-${digest("hatchet-engine-wf-span:", runId, 8)}-01`
    )
    // a valid one is kept
    const kept: Record<string, string> = { traceparent: own.traceparent! }
    Triggers.ensureTraceparent(kept, parentId)
    expect(kept.traceparent).toBe(own.traceparent)
  })
})
