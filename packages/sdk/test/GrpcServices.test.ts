/**
 * Dispatcher, Admin and Events over a loopback gRPC server: each method sends the request the
 * official SDK sends, on the right path, and returns the part of the response it promises.
 */
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import { RateLimitDuration } from "@effect-hatchet/proto/workflows/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream, TestClock } from "effect"
import { Admin } from "../src/Admin.js"
import { Dispatcher } from "../src/Dispatcher.js"
import { Events } from "../src/Events.js"
import { servicesLayer } from "./support/clientLayer.js"
import { loopbackServer } from "./support/grpcServer.js"

/** Requests as the server decoded them, by method. */
const recorder = () => {
  const calls: Array<[string, unknown]> = []
  const record = <A>(method: string, request: unknown, response: A): A => {
    calls.push([method, request])
    return response
  }
  return { calls, record }
}

const NOW = Date.parse("2031-02-03T04:05:06.789Z")

describe("gRPC services", () => {
  it.scoped("Dispatcher fills each request as the official SDK does", () =>
    Effect.gen(function*() {
      const { calls, record } = recorder()
      const server = yield* loopbackServer({
        dispatcher: {
          register: async (r) => record("Register", r, { workerId: "worker-1", tenantId: "t", workerName: r.workerName }),
          async *listenV2(r) {
            record("ListenV2", r, undefined)
            yield { actionId: "a:1", actionType: ActionType.START_STEP_RUN, taskRunExternalId: "task-1" }
          },
          heartbeat: async (r) => record("Heartbeat", r, {}),
          sendStepActionEvent: async (r) => record("SendStepActionEvent", r, { tenantId: "t", workerId: "worker-1" }),
          refreshTimeout: async (r) => record("RefreshTimeout", r, { timeoutAt: new Date(NOW + 60_000) }),
          releaseSlot: async (r) => record("ReleaseSlot", r, {}),
          unsubscribe: async (r) => record("Unsubscribe", r, { tenantId: "t", workerId: "worker-1" }),
          upsertWorkerLabels: async (r) => record("UpsertWorkerLabels", r, { tenantId: "t", workerId: "worker-1" }),
          getVersion: async (r) => record("GetVersion", r, { version: "v0.104.7" })
        }
      })
      yield* TestClock.setTime(NOW)
      yield* Effect.gen(function*() {
        const dispatcher = yield* Dispatcher
        const registered = yield* dispatcher.register({
          workerName: "w",
          actions: ["wf:task"],
          services: ["default"],
          labels: {},
          slotConfig: { default: 5 }
        })
        expect(registered.workerId).toBe("worker-1")
        const actions = yield* dispatcher.listen("worker-1").pipe(Stream.runCollect)
        expect(Chunk.toArray(actions).map((a) => a.actionId)).toEqual(["a:1"])
        yield* dispatcher.heartbeat("worker-1")
        yield* dispatcher.sendStepActionEvent({
          workerId: "worker-1",
          jobId: "job",
          jobRunId: "job-run",
          taskId: "task",
          taskRunExternalId: "task-1",
          actionId: "wf:task",
          eventTimestamp: new Date(NOW),
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          eventPayload: "{\"ok\":true}",
          retryCount: 0
        })
        expect(yield* dispatcher.refreshTimeout("task-1", "30s")).toEqual(new Date(NOW + 60_000))
        yield* dispatcher.releaseSlot("task-1")
        yield* dispatcher.upsertWorkerLabels("worker-1", { region: { strValue: "eu" }, size: { intValue: 3 } })
        expect(yield* dispatcher.getVersion).toBe("v0.104.7")
        yield* dispatcher.unsubscribe("worker-1")
      }).pipe(Effect.provide(Layer.orDie(servicesLayer(server.hostPort))))

      expect(calls.map(([m]) => m)).toEqual([
        "Register",
        "ListenV2",
        "Heartbeat",
        "SendStepActionEvent",
        "RefreshTimeout",
        "ReleaseSlot",
        "UpsertWorkerLabels",
        "GetVersion",
        "Unsubscribe"
      ])
      const request = (m: string) => calls.find(([name]) => name === m)![1]
      expect(request("Register")).toMatchObject({ workerName: "w", actions: ["wf:task"], slotConfig: { default: 5 } })
      expect(request("ListenV2")).toEqual({ workerId: "worker-1" })
      // heartbeat_at is "now" on Effect's Clock
      expect(request("Heartbeat")).toEqual({ workerId: "worker-1", heartbeatAt: new Date(NOW) })
      expect(request("SendStepActionEvent")).toMatchObject({
        taskRunExternalId: "task-1",
        eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
        eventPayload: "{\"ok\":true}"
      })
      expect(request("RefreshTimeout")).toEqual({ taskRunExternalId: "task-1", incrementTimeoutBy: "30s" })
      expect(request("ReleaseSlot")).toEqual({ taskRunExternalId: "task-1" })
      expect(request("UpsertWorkerLabels")).toEqual({
        workerId: "worker-1",
        labels: { region: { strValue: "eu", intValue: undefined }, size: { strValue: undefined, intValue: 3 } }
      })
      expect(request("GetVersion")).toEqual({})
      expect(request("Unsubscribe")).toEqual({ workerId: "worker-1" })
    }))

  it.scoped("Admin: PutWorkflow on v1.AdminService, triggers on WorkflowService", () =>
    Effect.gen(function*() {
      const { calls, record } = recorder()
      const server = yield* loopbackServer({
        admin: {
          putWorkflow: async (r) => record("v1.PutWorkflow", r, { id: "version-1", workflowId: "wf-1" }),
          getRunDetails: async (r) => record("v1.GetRunDetails", r, { status: RunStatus.COMPLETED, done: true }),
          cancelTasks: async (r) => record("v1.CancelTasks", r, { cancelledTasks: ["t1", "t2"] }),
          replayTasks: async (r) => record("v1.ReplayTasks", r, { replayedTasks: ["t3"] })
        },
        workflows: {
          triggerWorkflow: async (r) => record("TriggerWorkflow", r, { workflowRunId: "run-1" }),
          bulkTriggerWorkflow: async (r) => record("BulkTriggerWorkflow", r, { workflowRunIds: ["run-2", "run-3"] }),
          putRateLimit: async (r) => record("PutRateLimit", r, {})
        }
      })
      yield* Effect.gen(function*() {
        const admin = yield* Admin
        const version = yield* admin.putWorkflow({
          name: "wf",
          description: "",
          version: "",
          eventTriggers: [],
          cronTriggers: [],
          tasks: [],
          concurrency: undefined,
          concurrencyArr: [],
          defaultFilters: []
        })
        expect(version.workflowId).toBe("wf-1")
        expect(yield* admin.triggerWorkflow({ name: "wf", input: "{\"a\":1}", desiredWorkerLabels: {} })).toBe("run-1")
        expect(
          yield* admin.bulkTriggerWorkflow([
            { name: "wf", input: "{}", desiredWorkerLabels: {} },
            { name: "wf", input: "{}", desiredWorkerLabels: {}, additionalMetadata: "{\"k\":\"v\"}" }
          ])
        ).toEqual(["run-2", "run-3"])
        expect((yield* admin.getRunDetails("run-1")).done).toBe(true)
        expect(yield* admin.cancelTasks({ externalIds: ["t1", "t2"] })).toEqual(["t1", "t2"])
        expect(yield* admin.replayTasks({ externalIds: ["t3"] })).toEqual(["t3"])
        yield* admin.putRateLimit({ key: "api", limit: 10, duration: RateLimitDuration.MINUTE })
      }).pipe(Effect.provide(Layer.orDie(servicesLayer(server.hostPort))))

      const request = (m: string) => calls.find(([name]) => name === m)![1]
      expect(request("v1.PutWorkflow")).toMatchObject({ name: "wf" })
      expect(request("TriggerWorkflow")).toMatchObject({ name: "wf", input: "{\"a\":1}" })
      expect(request("BulkTriggerWorkflow")).toMatchObject({
        workflows: [{ name: "wf", input: "{}" }, { name: "wf", input: "{}", additionalMetadata: "{\"k\":\"v\"}" }]
      })
      expect(request("v1.GetRunDetails")).toEqual({ externalId: "run-1" })
      expect(request("v1.CancelTasks")).toMatchObject({ externalIds: ["t1", "t2"] })
      expect(request("v1.ReplayTasks")).toMatchObject({ externalIds: ["t3"] })
      expect(request("PutRateLimit")).toEqual({ key: "api", limit: 10, duration: RateLimitDuration.MINUTE })
    }))

  it.scoped("Events: Push, BulkPush, PutLog, PutStreamEvent", () =>
    Effect.gen(function*() {
      const { calls, record } = recorder()
      const server = yield* loopbackServer({
        events: {
          push: async (r) => record("Push", r, { eventId: "e1", key: r.key, payload: r.payload }),
          bulkPush: async (r) => record("BulkPush", r, { events: r.events!.map((e, i) => ({ eventId: `e${i}`, key: e.key })) }),
          putLog: async (r) => record("PutLog", r, {}),
          putStreamEvent: async (r) => record("PutStreamEvent", r, {})
        }
      })
      yield* Effect.gen(function*() {
        const events = yield* Events
        const pushed = yield* events.push({
          key: "user:created",
          payload: "{\"id\":1}",
          eventTimestamp: new Date(NOW),
          additionalMetadata: "{}"
        })
        expect([pushed.eventId, pushed.key]).toEqual(["e1", "user:created"])
        const bulk = yield* events.bulkPush([
          { key: "a", payload: "{}", eventTimestamp: undefined },
          { key: "b", payload: "{}", eventTimestamp: undefined }
        ])
        expect(bulk.map((e) => [e.eventId, e.key])).toEqual([["e0", "a"], ["e1", "b"]])
        yield* events.putLog({ taskRunExternalId: "task-1", createdAt: new Date(NOW), message: "hello", level: "INFO", metadata: "" })
        yield* events.putStreamEvent({
          taskRunExternalId: "task-1",
          createdAt: new Date(NOW),
          message: new Uint8Array([1, 2]),
          metadata: ""
        })
      }).pipe(Effect.provide(Layer.orDie(servicesLayer(server.hostPort))))

      expect(calls.map(([m]) => m)).toEqual(["Push", "BulkPush", "PutLog", "PutStreamEvent"])
      const request = (m: string) => calls.find(([name]) => name === m)![1]
      expect(request("Push")).toMatchObject({ key: "user:created", payload: "{\"id\":1}", eventTimestamp: new Date(NOW) })
      expect(request("BulkPush")).toMatchObject({ events: [{ key: "a" }, { key: "b" }] })
      expect(request("PutLog")).toMatchObject({ taskRunExternalId: "task-1", message: "hello", level: "INFO" })
      expect(request("PutStreamEvent")).toMatchObject({ taskRunExternalId: "task-1" })
      expect([...(request("PutStreamEvent") as { message: Uint8Array }).message]).toEqual([1, 2])
    }))

  it.scoped("a failing call surfaces a GrpcError naming the method", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer({})
      const error = yield* Effect.flatMap(Dispatcher, (d) => d.getVersion).pipe(
        Effect.provide(Layer.orDie(servicesLayer(server.hostPort))),
        Effect.flip
      )
      expect([error._tag, error.method, error.status]).toEqual(["GrpcError", "/Dispatcher/GetVersion", "UNIMPLEMENTED"])
    }))
})
