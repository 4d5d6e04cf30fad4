/**
 * Delivery rules, in process under TestClock: worker sessions (a START to one stream, a CANCEL to
 * all; legacy Listen heartbeats), workflow events (STREAM order, hangup a grace after the run's
 * end, metadata subscriptions)
 * and run results.
 */
import { ActionType, ResourceEventType, ResourceType, type WorkflowEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Admin from "../src/internal/domain/admin.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import type { MetadataSubscriber, Session } from "../src/internal/domain/model.js"
import * as Publish from "../src/internal/domain/publish.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as Workers from "../src/internal/domain/workers.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

const stream = (runId: string) => (events: ReadonlyArray<WorkflowEvent>) =>
  events.filter((e) => e.workflowRunId === runId && e.eventType === ResourceEventType.RESOURCE_EVENT_TYPE_STREAM)
    .map((e) => e.eventPayload)

/** A `PutStreamEvent` of `message` at `eventIndex` for the task `taskRunExternalId`, as the engine ingests it. */
const putStream =
  (h: Effect.Effect.Success<typeof makeHarness>, taskRunExternalId: string) => (message: string, eventIndex: number | undefined) =>
    h.runEither((state, now) =>
      Ingest.putStreamEvent(state, tenantId, { taskRunExternalId, createdAt: now, message: Buffer.from(message), eventIndex }, now)
    )

describe("worker sessions", () => {
  it.scoped("a START goes to one of the worker's streams, a CANCEL to all of them", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("sess", [task("t")])
      const w = yield* h.worker(["sess:t"])
      const second: Array<unknown> = []
      yield* h.run((state, now) => {
        const worker = state.workersById.get(w.id)!
        const session: Session = {
          id: "second",
          workerId: w.id,
          establishedAt: now,
          legacy: false,
          send: (a) => second.push(a) > 0,
          close: () => {}
        }
        Workers.openSession(state, worker, session, now)
      })
      const runId = yield* h.trigger("sess")
      const startsOnSecond = () => second.filter((a) => (a as { actionType: number }).actionType === ActionType.START_STEP_RUN)
      expect(w.starts().length + startsOnSecond().length).toBe(1)
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [runId] }, now))
      expect(w.cancels()).toHaveLength(1)
      expect(second.filter((a) => (a as { actionType: number }).actionType === ActionType.CANCEL_STEP_RUN)).toHaveLength(1)
    }))

  it.scoped("a START goes to the worker's newest stream (its older one may be dead after a reconnect)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("newest", [task("t")])
      const w = yield* h.worker(["newest:t"])
      const newer: Array<{ readonly actionType: number }> = []
      yield* h.run((state, now) => {
        Workers.openSession(state, state.workersById.get(w.id)!, {
          id: "newer",
          workerId: w.id,
          establishedAt: now,
          legacy: false,
          send: (a) => newer.push(a) > 0,
          close: () => {}
        }, now)
      })
      yield* h.trigger("newest")
      yield* h.trigger("newest")
      expect(newer.filter((a) => a.actionType === ActionType.START_STEP_RUN)).toHaveLength(2)
      expect(w.starts()).toHaveLength(0)
    }))

  it.scoped("a worker whose streams are gone gets its assignment re-queued as an internal failure", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("gone", [task("t")])
      const w = yield* h.worker(["gone:t"])
      yield* h.runEither((state) => Workers.unsubscribe(state, tenantId, w.id))
      const runId = yield* h.trigger("gone")
      const t = h.state.tasksByExternalId.get(runId)!
      expect(t).toMatchObject({ state: { _tag: "Backoff" }, internalRetryCount: 1, retryCount: 1 })
      // the unsubscribed worker stays schedulable while it heartbeats (upstream keeps it active);
      // once it is silent for 5 s the re-queued attempt reaches the other worker
      const other = yield* h.worker(["gone:t"])
      yield* h.advance(6_000, [other], 100)
      expect(other.starts().map((s) => s.taskRunExternalId)).toEqual([runId])
      expect(other.starts()[0]!.retryCount).toBeGreaterThanOrEqual(1)
      expect(w.received).toHaveLength(0)
      // as upstream records an internal retry (its task controller publishes RETRYING and QUEUED
      // for application retries only): each undelivered attempt's FAILED, then the next ASSIGNED,
      // however long the redelivery waited
      const events = eventsOf(t).map((e) => [e.eventType, e.retryCount])
      expect(events.slice(0, 4)).toEqual([["QUEUED", 0], ["ASSIGNED", 0], ["FAILED", 0], ["ASSIGNED", 1]])
      expect(events.filter(([type]) => type === "QUEUED")).toEqual([["QUEUED", 0]])
    }))

  it.scoped("a legacy Listen stream keeps its worker's heartbeat fresh", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("legacy", [task("t")])
      const received: Array<unknown> = []
      const worker = yield* h.runEither((state, now) =>
        Workers.registerWorker(state, tenantId, { workerName: "old", actions: ["legacy:t"], services: [], labels: {}, slotConfig: {} }, now)
      )
      yield* h.run((state, now) =>
        Workers.openSession(state, worker, {
          id: "legacy",
          workerId: worker.id,
          establishedAt: now,
          legacy: true,
          send: (a) => received.push(a) > 0,
          close: () => {}
        }, now)
      )
      yield* h.advance(60_000)
      yield* h.trigger("legacy")
      expect(received).toHaveLength(1)
    }))
})

describe("workflow events", () => {
  it.scoped("STREAM events are released in event_index order; a gap is held at most 5 s", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("str", [task("t")])
      const w = yield* h.worker(["str:t"])
      const runId = yield* h.trigger("str")
      const events = yield* h.watchEvents(runId)
      const put = putStream(h, runId)
      yield* put("c", 2)
      yield* put("a", 0)
      expect(stream(runId)(events)).toEqual(["a"])
      yield* put("b", 1)
      expect(stream(runId)(events)).toEqual(["a", "b", "c"])
      yield* put("e", 4)
      yield* put("unindexed", undefined)
      expect(stream(runId)(events)).toEqual(["a", "b", "c", "unindexed"])
      yield* TestClock.adjust("5 seconds")
      yield* Effect.yieldNow()
      expect(stream(runId)(events)).toEqual(["a", "b", "c", "unindexed", "e"])
      // a terminal step event flushes what is buffered first
      yield* put("g", 6)
      yield* h.complete(w.starts()[0]!, "{}")
      yield* h.advance(Publish.runEventsGraceMs)
      const tail = events.slice(-3).map((e) => [e.resourceType, e.eventType, e.eventPayload, e.hangup])
      expect(tail).toEqual([
        [ResourceType.RESOURCE_TYPE_STEP_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_STREAM, "g", false],
        [ResourceType.RESOURCE_TYPE_STEP_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, "{}", false],
        [ResourceType.RESOURCE_TYPE_WORKFLOW_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, "", true]
      ])
    }))

  it.scoped("a run's events: created (STARTED), every FAILED attempt, COMPLETED, then WORKFLOW_RUN with hangup", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("ev", [task("t", { retries: 1 })])
      const w = yield* h.worker(["ev:t"])
      const runId = yield* h.trigger("ev")
      const events = yield* h.watchEvents(runId)
      yield* h.fail(w.starts()[0]!, "first")
      yield* h.complete(w.starts()[1]!, "{\"x\":1}")
      yield* h.advance(Publish.runEventsGraceMs)
      expect(events.map((e) => [e.resourceType, e.eventType, e.retryCount, e.eventPayload])).toEqual([
        [ResourceType.RESOURCE_TYPE_STEP_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_FAILED, 0, "first"],
        [ResourceType.RESOURCE_TYPE_STEP_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, 1, "{\"x\":1}"],
        [ResourceType.RESOURCE_TYPE_WORKFLOW_RUN, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, undefined, ""]
      ])
      // a DAG child's creation is published as STEP_RUN STARTED
      yield* h.putWorkflow("ev2", [task("a"), task("b", { parents: ["a"] })])
      const w2 = yield* h.worker(["ev2:a", "ev2:b"])
      const dag = yield* h.trigger("ev2")
      const dagEvents = yield* h.watchEvents(dag)
      yield* h.complete(w2.starts()[0]!, "{}")
      expect(dagEvents.map((e) => e.eventType)).toEqual([
        ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED,
        ResourceEventType.RESOURCE_EVENT_TYPE_STARTED
      ])
    }))

  it.scoped("a finished run's subscribers get what is put for a while after, then WORKFLOW_RUN with hangup", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("late", [task("t")])
      const w = yield* h.worker(["late:t"])
      const runId = yield* h.trigger("late")
      const events = yield* h.watchEvents(runId)
      let closed = false
      yield* h.run((state) =>
        Publish.addEventSubscriber(state, runId, {
          send: () => undefined,
          close: () => {
            closed = true
          }
        })
      )
      const put = putStream(h, runId)
      // the official SDK does not await its puts: the last ones may arrive after the result
      yield* h.complete(w.starts()[0]!, "{}")
      yield* put("a", 0)
      yield* h.advance(Publish.runEventsGraceMs - 1)
      yield* put("b", 1)
      expect(stream(runId)(events)).toEqual(["a", "b"])
      expect(closed).toBe(false)
      expect(events.at(-1)?.hangup).toBe(false)
      yield* h.advance(1)
      expect(closed).toBe(true)
      expect(events.at(-1)).toMatchObject({
        resourceType: ResourceType.RESOURCE_TYPE_WORKFLOW_RUN,
        eventType: ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED,
        hangup: true
      })
    }))

  it.scoped("metadata subscriptions hang up once every run they saw has COMPLETED", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("meta", [task("t")])
      const w = yield* h.worker(["meta:t"])
      const received: Array<WorkflowEvent> = []
      let closed = false
      const subscriber: MetadataSubscriber = {
        key: "batch",
        value: "b1",
        active: new Set(),
        send: (e) => received.push(e),
        close: () => {
          closed = true
        }
      }
      yield* h.run((state) => state.metadataSubscribers.add(subscriber))
      const one = yield* h.trigger("meta", {}, { additionalMetadata: "{\"batch\":\"b1\"}" })
      const two = yield* h.trigger("meta", {}, { additionalMetadata: "{\"batch\":\"b1\"}" })
      yield* h.trigger("meta", {}, { additionalMetadata: "{\"batch\":\"other\"}" })
      const byRun = (id: string) => w.starts().find((s) => s.workflowRunId === id)!
      yield* h.complete(byRun(one), "{}")
      expect(closed).toBe(false)
      yield* h.complete(byRun(two), "{}")
      expect(closed).toBe(true)
      expect(new Set(received.map((e) => e.workflowRunId))).toEqual(new Set([one, two]))
      expect(received.at(-1)).toMatchObject({ resourceType: ResourceType.RESOURCE_TYPE_WORKFLOW_RUN, hangup: true })
    }))
})

describe("run results", () => {
  it.scoped("a finished run is answered at once; results over 3 MiB are trimmed, then dropped", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("res", [task("t")])
      const w = yield* h.worker(["res:t"])
      const runId = yield* h.trigger("res")
      yield* h.complete(w.starts()[0]!, "{\"v\":1}")
      const late = yield* h.awaitRun(runId)
      expect(late).toHaveLength(1)
      const big = "x".repeat(2 * 1024 * 1024)
      const trimmed = Publish.cleanResults({
        workflowRunId: runId,
        eventType: 0,
        eventTimestamp: new Date(0),
        results: [
          { taskRunExternalId: "a", taskName: "a", jobRunId: "a", output: JSON.stringify(big) },
          { taskRunExternalId: "b", taskName: "b", jobRunId: "b", error: big }
        ]
      })
      expect(trimmed.results[1]!.error).toBe("Error is too large to send over the Hatchet stream.")
      const dropped = Publish.cleanResults({
        ...trimmed,
        results: [{ taskRunExternalId: "a", taskName: "a", jobRunId: "a", output: JSON.stringify(big + big) }]
      })
      expect(dropped.results).toEqual([])
    }))
})
