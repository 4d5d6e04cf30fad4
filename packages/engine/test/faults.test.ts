/**
 * Fault injection for resilience tests: dropped listen streams, rejected heartbeats, forgotten
 * workers, a restart that drops every connection and keeps the state.
 */
import { ActionType, type AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"
import { eventually } from "./support/official.js"

/** Opens a new ListenV2 stream for `workerId` and waits until its heartbeats are welcome. */
const listenAgain = (c: Grpc.Clients, workerId: string, onMessage: (a: AssignedAction) => void = () => {}) =>
  Effect.gen(function*() {
    yield* Effect.fork(Grpc.streamOutcome(c.dispatcher.listenV2({ workerId }), onMessage))
    yield* eventually(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }).then(() => true, () => undefined))
  })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("fault injection", (it) => {
  it.scoped("dropListenStreams ends streams cleanly or with a status; heartbeats are then rejected", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const one = yield* Grpc.rawWorker("drop-one")
      const two = yield* Grpc.rawWorker("drop-two")
      expect(yield* engine.faults.dropListenStreams({ workerId: one.workerId })).toBe(1)
      expect(yield* one.outcome.await.pipe(Effect.flatten)).toBe("ended")
      expect(yield* Grpc.statusOf(() => one.c.dispatcher.heartbeat({ workerId: one.workerId, heartbeatAt: new Date() }))).toEqual({
        code: Status.FAILED_PRECONDITION,
        details: `Heartbeat rejected: worker stream is not active: ${one.workerId}`
      })
      yield* engine.faults.dropListenStreams({ status: { code: Status.UNAVAILABLE, message: "engine going away" } })
      expect(yield* two.outcome.await.pipe(Effect.flatten)).toEqual({ code: Status.UNAVAILABLE, details: "engine going away" })
      // listening again makes heartbeats welcome again
      yield* listenAgain(one.c, one.workerId)
    }))

  it.scoped("dropListenStreams silent: the stream stays open and gets nothing; heartbeats are rejected until it listens again", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const w = yield* Grpc.rawWorker("silent")
      yield* Grpc.putWorkflow(w.c, "silent")
      expect(yield* engine.faults.dropListenStreams({ workerId: w.workerId, silent: true })).toBe(1)
      const beat = () => w.c.dispatcher.heartbeat({ workerId: w.workerId, heartbeatAt: new Date() })
      expect(yield* Grpc.statusOf(beat)).toEqual({
        code: Status.FAILED_PRECONDITION,
        details: `Heartbeat rejected: worker stream is not active: ${w.workerId}`
      })
      const run = yield* Effect.promise(() => w.c.workflows.triggerWorkflow({ name: "silent", input: "{}" }))
      yield* Effect.sleep("200 millis")
      expect(w.outcome.unsafePoll()).toBeNull()
      expect(w.received).toHaveLength(0)
      // a new stream: welcome again, and the queued task arrives on it
      const received: Array<AssignedAction> = []
      yield* listenAgain(w.c, w.workerId, (a) => received.push(a))
      yield* eventually(() => received.find((a) => a.workflowRunId === run.workflowRunId))
      expect(w.received).toHaveLength(0)
    }))

  it.scoped("rejectHeartbeats rejects the next N heartbeats with FAILED_PRECONDITION", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const w = yield* Grpc.rawWorker("reject")
      yield* engine.faults.rejectHeartbeats(2)
      const beat = () => w.c.dispatcher.heartbeat({ workerId: w.workerId, heartbeatAt: new Date() })
      expect((yield* Grpc.statusOf(beat)).code).toBe(Status.FAILED_PRECONDITION)
      expect((yield* Grpc.statusOf(beat)).code).toBe(Status.FAILED_PRECONDITION)
      expect(yield* Effect.promise(beat)).toEqual({})
    }))

  it.scoped("forgetWorker ends its streams; Heartbeat and ListenV2 answer NOT_FOUND until it registers again", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const w = yield* Grpc.rawWorker("forget")
      expect(yield* engine.faults.forgetWorker(w.workerId)).toBe(true)
      expect(yield* w.outcome.await.pipe(Effect.flatten)).toBe("ended")
      expect((yield* Grpc.statusOf(() => w.c.dispatcher.heartbeat({ workerId: w.workerId, heartbeatAt: new Date() }))).code)
        .toBe(Status.NOT_FOUND)
      expect(yield* Grpc.streamOutcome(w.c.dispatcher.listenV2({ workerId: w.workerId }))).toEqual({
        code: Status.NOT_FOUND,
        details: "not found"
      })
      expect(yield* engine.faults.forgetWorker(w.workerId)).toBe(false)
    }))

  it.scoped("restart drops every connection, listens on the same ports and keeps the state", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const w = yield* Grpc.rawWorker("restart")
      yield* Grpc.putWorkflow(w.c, "restart")
      const before = yield* Effect.promise(() => w.c.workflows.triggerWorkflow({ name: "restart", input: "{}" }))
      yield* eventually(() => (w.received.length > 0 ? true : undefined))
      yield* engine.faults.restart
      const ended = yield* w.outcome.await.pipe(Effect.flatten)
      expect(ended).not.toBe("ended")
      // the same address and token work; the state survived
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const details = yield* Effect.promise(() => c.admin.getRunDetails({ externalId: before.workflowRunId }))
      expect(details.taskRuns.t!.status).toBe(1)
      const received: Array<AssignedAction> = []
      yield* listenAgain(c, w.workerId, (a) => received.push(a))
      const after = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name: "restart", input: "{}" }))
      yield* eventually(() => received.find((a) => a.workflowRunId === after.workflowRunId && a.actionType === ActionType.START_STEP_RUN))
      const rest = yield* Effect.promise(() =>
        fetch(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`, {
          headers: { authorization: `Bearer ${Redacted.value(engine.token)}` }
        })
      )
      expect(rest.status).toBe(200)
    }))
})
