/**
 * The store seam, in process under TestClock with the in-memory store: after every operation the
 * store's rows are exactly the engine's stored records (no change escapes it: DAGs, retries with
 * backoff, failures, cancels, replays, logs, children, step conditions' matches, batch tasks
 * (waiting in a buffer, flushed, cancelled, a failing key), a durable task's log and signals,
 * events, crons, scheduled runs, rate limits, and what retention prunes), every row decodes with
 * its Schema, and
 * a version's registration reads back as the request that was sent.
 */
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { PushEventRequest } from "@effect-hatchet/proto/events/events"
import type { DurableTaskRequest } from "@effect-hatchet/proto/v1/dispatcher"
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Actions from "../src/internal/domain/actions.js"
import * as Admin from "../src/internal/domain/admin.js"
import * as Crons from "../src/internal/domain/cron.js"
import * as Durable from "../src/internal/domain/durable.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import type { EngineState } from "../src/internal/domain/model.js"
import * as RateLimits from "../src/internal/domain/rateLimits.js"
import { keepEverything } from "../src/internal/domain/retention.js"
import * as Schedules from "../src/internal/domain/schedules.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import * as WorkflowPause from "../src/internal/domain/workflowPause.js"
import * as EngineStore from "../src/internal/store/EngineStore.js"
import { StoredChanges } from "../src/internal/store/rows.js"
import { makeHarnessWith, task, tenantId } from "./support/harness.js"

const HOUR = 3_600_000

/** The store's rows and the engine's records, in the same shape (rows keyed by id). */
const compare = (state: EngineState, rows: EngineStore.MemoryRows) => {
  const live = EngineStore.snapshot(state)
  const byId = <A extends { readonly id: string }>(list: ReadonlyArray<A>) => Object.fromEntries(list.map((row) => [row.id, row]))
  const json = <A>(value: A): A => JSON.parse(JSON.stringify(value))
  expect(Object.fromEntries(rows.runs)).toEqual(json(byId(live.runs)))
  expect(Object.fromEntries(rows.workflows)).toEqual(json(byId(live.workflows)))
  expect(Object.fromEntries(rows.events)).toEqual(json(byId(live.events)))
  expect(Object.fromEntries(rows.crons)).toEqual(json(byId(live.crons)))
  expect(Object.fromEntries(rows.scheduled)).toEqual(json(byId(live.scheduled)))
  expect(Object.fromEntries(rows.tenants)).toEqual(json(byId(live.tenants)))
  expect(Object.fromEntries(rows.rateLimits)).toEqual(
    json(Object.fromEntries(live.rateLimits.map((row) => [`${row.tenantId}/${row.key}`, row])))
  )
  // every row decodes as the Schema a reading store would check it with
  Schema.decodeUnknownSync(StoredChanges)(json({
    tenants: [...rows.tenants.values()],
    workflows: [...rows.workflows.values()],
    runs: [...rows.runs.values()],
    events: [...rows.events.values()],
    crons: [...rows.crons.values()],
    scheduled: [...rows.scheduled.values()],
    rateLimits: [...rows.rateLimits.values()],
    removed: []
  }))
}

describe("the store seam", () => {
  it.scoped("the in-memory store holds exactly the engine's records after each operation", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection", retention: { ...keepEverything, maxAgeMs: HOUR } })
      const rows = yield* EngineStore.MemoryDriver
      const check = () => compare(h.state, rows)
      check()
      expect(rows.tenants.get(tenantId)?.id).toBe(tenantId)

      // a DAG, a retry with backoff, a final failure and a run cancelled while queued
      yield* h.putWorkflow("dag", [task("a", { retries: 1, backoffFactor: 2 }), task("b", { parents: ["a"] })])
      yield* h.putWorkflow("solo", [task("t")])
      const w = yield* h.worker(["dag:a", "dag:b", "solo:t"])
      const dag = yield* h.trigger("dag", { n: 1 })
      check()
      yield* h.fail(w.starts()[0]!, "first attempt")
      check()
      expect(rows.runs.get(dag)!.tasks[0]!.state).toMatchObject({ _tag: "Backoff", reacquire: false })
      yield* h.advance(2_000)
      check()
      expect(rows.runs.get(dag)!.tasks[0]!.state).toMatchObject({ _tag: "Assigned", workerId: w.id })
      yield* h.runEither((state, now) =>
        Ingest.putLog(state, tenantId, {
          taskRunExternalId: w.starts()[1]!.taskRunExternalId,
          createdAt: undefined,
          message: "working",
          level: "INFO",
          metadata: "",
          taskRetryCount: undefined
        }, now)
      )
      check()
      yield* h.complete(w.starts()[1]!, "{\"a\":1}")
      check()
      yield* h.complete(w.starts()[2]!, "{\"b\":2}")
      check()

      // a paused workflow's row says so, and its held run is a queued one; unpaused, neither
      const soloWorkflow = h.state.tenants.get(tenantId)!.workflowsByName.get("solo")!
      yield* h.run((state, now) =>
        WorkflowPause.pauseWorkflow(state, soloWorkflow, {
          cronRunQueueBehavior: "DROP",
          scheduledRunQueueBehavior: "QUEUE",
          queueTtl: "1h",
          interval: { months: 0, ms: HOUR }
        }, now)
      )
      const held = yield* h.trigger("solo")
      check()
      expect(rows.workflows.get(soloWorkflow.id)!.paused).toEqual({
        cronRunQueueBehavior: "DROP",
        scheduledRunQueueBehavior: "QUEUE",
        queueTtl: "1h"
      })
      expect(rows.runs.get(held)!.tasks[0]!.state).toMatchObject({ _tag: "Queued" })
      yield* h.run((state, now) => WorkflowPause.unpauseWorkflow(state, soloWorkflow, now))
      check()
      expect(rows.workflows.get(soloWorkflow.id)!.paused).toBeUndefined()
      yield* h.advance(0)
      yield* h.complete(w.starts().find((a) => a.workflowRunId === held)!, "{}")
      check()
      expect(rows.runs.get(dag)).toMatchObject({
        finishedAt: expect.any(Number),
        tasks: [
          {
            state: { _tag: "Completed", output: "{\"a\":1}", completedBy: w.id, skipped: false },
            retryCount: 1,
            logs: [{ message: "working" }]
          },
          { state: { _tag: "Completed", output: "{\"b\":2}" } }
        ]
      })

      // a child run spawned by a task, a failure, a cancel, a replay
      const solo = yield* h.trigger("solo")
      const soloStart = w.starts().find((s) => s.workflowRunId === solo)!
      const child = yield* h.trigger("solo", {}, { parentTaskRunExternalId: soloStart.taskRunExternalId, childIndex: 0 })
      check()
      expect(rows.runs.get(solo)!.tasks[0]!.spawned).toEqual({ [`${soloStart.taskRunExternalId}.0.0`]: child })
      yield* h.fail(soloStart, "boom", true)
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [child] }, now))
      check()
      yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [solo] }, now))
      check()
      expect(rows.runs.get(solo)).toMatchObject({ tasks: [{ state: { _tag: "Assigned" }, retryCount: 1 }] })
      expect(rows.runs.get(solo)!.finishedAt).toBeUndefined()

      // a step waiting on a sleep or an event after its parent: its match is stored, then gone
      yield* h.putWorkflow("waits", [
        task("a"),
        task("b", {
          parents: ["a"],
          conditions: {
            sleepConditions: [{ base: { readableDataKey: "s", action: Action.QUEUE, orGroupId: "", expression: "" }, sleepFor: "1h" }],
            userEventConditions: [{
              base: { readableDataKey: "e", action: Action.SKIP, orGroupId: "", expression: "" },
              userEventKey: "go"
            }]
          }
        })
      ])
      const waitsWorker = yield* h.worker(["waits:a", "waits:b"])
      const waits = yield* h.trigger("waits")
      check()
      expect(rows.runs.get(waits)!.matches.map((m) => m.conditions.map((c) => c.action))).toEqual([[
        "CREATE_MATCH",
        "SKIP",
        "CANCEL",
        "CANCEL"
      ]])
      yield* h.complete(waitsWorker.starts()[0]!, "{}")
      check()
      expect(rows.runs.get(waits)!.matches.map((m) => m.conditions.map((c) => c.eventKey))).toEqual([[
        "go",
        expect.stringMatching(/^sleep-/)
      ]])
      yield* h.runEither((state, now) => Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key: "go", payload: "{}" }), now))
      check()
      expect(rows.runs.get(waits)).toMatchObject({ matches: [], finishedAt: expect.any(Number) })

      // batch tasks: waiting in a key's buffer, flushed together, one cancelled while it waits
      yield* h.putWorkflow("batched", [task("t", { batch: { batchMaxSize: 2, batchMaxIntervalMs: 60_000, batchGroupKey: "input.k" } })])
      const batchWorker = yield* h.worker(["batched:t"])
      const first = yield* h.trigger("batched", { k: "x" })
      check()
      expect(rows.runs.get(first)!.tasks[0]).toMatchObject({ batchKey: "x", state: { _tag: "Batching", key: "x" } })
      const second = yield* h.trigger("batched", { k: "x" })
      check()
      const batchStarts = batchWorker.received.filter((a) => a.actionType === ActionType.START_BATCH)
      expect(batchStarts).toHaveLength(1)
      expect([rows.runs.get(first)!.tasks[0]!.state, rows.runs.get(second)!.tasks[0]!.state]).toEqual([
        expect.objectContaining({ _tag: "Assigned", workerId: batchWorker.id, batch: { id: batchStarts[0]!.batchId, size: 2, index: 0 } }),
        expect.objectContaining({ _tag: "Assigned", workerId: batchWorker.id, batch: { id: batchStarts[0]!.batchId, size: 2, index: 1 } })
      ])
      const third = yield* h.trigger("batched", { k: "y" })
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [third] }, now))
      check()
      expect(rows.runs.get(third)!.tasks[0]!.state).toMatchObject({ _tag: "Cancelled" })
      yield* h.runEither((state, now) =>
        Actions.batchActionEvent(state, tenantId, {
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          items: Object.keys(JSON.parse(batchStarts[0]!.actionPayload)).map((id) => ({ taskRunExternalId: id, eventPayload: "{}" }))
        }, now)
      )
      check()
      expect([first, second].map((id) => rows.runs.get(id)!.tasks[0]!.state._tag)).toEqual(["Completed", "Completed"])
      // a group key that is not a string fails the task at creation
      const badKey = yield* h.trigger("batched", { k: 1 })
      check()
      expect(rows.runs.get(badKey)!.tasks[0]!.state).toMatchObject({ _tag: "Failed" })

      // events, rate limits (created, then consumed), crons, scheduled runs
      yield* h.runEither((state, now) =>
        Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key: "k", payload: "{}", additionalMetadata: "{}" }), now)
      )
      yield* h.runEither((state, now) => RateLimits.putRateLimit(state, tenantId, { key: "api", limit: 5, duration: 0 }, now))
      yield* h.putWorkflow("limited", [task("t", { rateLimits: [{ key: "api", units: 2 }] })])
      const limitedWorker = yield* h.worker(["limited:t"])
      yield* h.trigger("limited")
      check()
      expect(limitedWorker.starts()).toHaveLength(1)
      expect(rows.rateLimits.get(`${tenantId}/api`)).toMatchObject({ limitValue: 5, value: 3 })
      const cron = yield* h.runEither((state, now) =>
        Crons.createCron(state, tenantId, "solo", {
          name: "hourly",
          expression: "0 * * * *",
          inputRaw: "",
          metadataRaw: "",
          priority: undefined
        }, now)
      )
      yield* h.run((state) => Crons.setCronEnabled(state, cron, false))
      const scheduled = yield* h.runEither((state, now) =>
        Schedules.createScheduled(state, tenantId, "solo", {
          triggerAt: now + 10 * HOUR,
          inputRaw: "",
          metadataRaw: "",
          priority: undefined
        }, now)
      )
      check()
      expect(rows.crons.get(cron.id)?.enabled).toBe(false)
      yield* h.run((state) => Schedules.reschedule(state, scheduled, scheduled.triggerAt - 9 * HOUR))
      check()
      expect(rows.scheduled.get(scheduled.id)).toBeDefined()
      yield* h.run((state) => Crons.deleteCron(state, tenantId, cron.id))
      check()
      expect(rows.crons.has(cron.id)).toBe(false)

      // the scheduled run fires (its row goes, a run comes); retention prunes what is an hour old
      expect(rows.runs.has(dag)).toBe(true)
      expect(rows.events.size).toBe(2)
      yield* h.advance(2 * HOUR, [], HOUR / 4)
      check()
      expect(rows.scheduled.size).toBe(0)
      expect(rows.runs.has(dag)).toBe(false)
      expect(rows.events.size).toBe(0)

      // a durable task: its log (a memo, a wait with its match, then satisfied), a legacy signal
      yield* h.putWorkflow("durable", [task("t", { isDurable: true, timeout: "2h", slotRequests: { default: 1 } })])
      const durableWorker = yield* h.worker(["durable:t"])
      const durableRun = yield* h.trigger("durable")
      check()
      expect(rows.runs.get(durableRun)!.tasks[0]!.durable).toMatchObject({ invocationCount: 1, entries: [] })
      const durableStart = durableWorker.starts()[0]!
      const stream = { id: "s", tenantId, send: () => {}, releases: new Map() }
      const durable = (request: DurableTaskRequest) => h.run((state, now) => Durable.handleDurableRequest(state, stream, request, now))
      const ids = { durableTaskExternalId: durableRun, invocationCount: 1 }
      yield* durable({ memo: { ...ids, key: new TextEncoder().encode("k"), payload: new TextEncoder().encode("{\"v\":1}") } })
      check()
      yield* durable({
        waitFor: {
          ...ids,
          waitForConditions: {
            sleepConditions: [{
              base: { readableDataKey: "nap", action: 0, orGroupId: crypto.randomUUID(), expression: "" },
              sleepFor: "1h"
            }],
            userEventConditions: []
          }
        }
      })
      yield* h.runEither((state, now) =>
        Durable.registerDurableEvent(state, tenantId, {
          taskId: durableRun,
          signalKey: "sig",
          conditions: {
            sleepConditions: [],
            userEventConditions: [{
              base: { readableDataKey: "go", action: 0, orGroupId: crypto.randomUUID(), expression: "" },
              userEventKey: "durable:go"
            }]
          }
        }, now)
      )
      check()
      expect(rows.runs.get(durableRun)!.tasks[0]!.durable!.entries.map((e) => [e.kind, e.satisfied, e.match?.length])).toEqual([
        ["MEMO", true, undefined],
        ["WAIT_FOR", false, 1]
      ])
      expect(rows.runs.get(durableRun)!.tasks[0]!.signals).toMatchObject([{ signalKey: "sig", match: [{ eventKey: "durable:go" }] }])
      yield* h.advance(HOUR)
      yield* h.runEither((state, now) =>
        Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key: "durable:go", payload: "{}" }), now)
      )
      check()
      expect(rows.runs.get(durableRun)!.tasks[0]!.durable!.entries[1]).toMatchObject({ satisfied: true, satisfiedOrder: 1 })
      expect(rows.runs.get(durableRun)!.tasks[0]!.signals[0]!.completed).toEqual(expect.any(String))
      yield* h.complete(durableStart, "{}")
      check()

      // a version's registration reads back as the request that was sent
      const version = [...rows.workflows.values()].find((workflow) => workflow.name === "dag")!.versions[0]!
      const request = CreateWorkflowVersionRequest.fromJSON(version.registration)
      expect(request.tasks.map((t) => [t.readableId, t.parents, t.retries, t.backoffFactor])).toEqual([["a", [], 1, 2], [
        "b",
        ["a"],
        0,
        undefined
      ]])
      expect(Object.keys(version.stepIds)).toEqual(["a", "b"])
    }).pipe(Effect.provide(EngineStore.layerMemory)))

  it.scoped("the engine's default store keeps nothing and drops the marks", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith()
      yield* h.putWorkflow("solo", [task("t")])
      yield* h.runEither((state, now) =>
        Triggers.toEither(
          Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({ name: "solo", input: "{}" })], now)
        )
      )
      expect(h.state.changes.isEmpty).toBe(true)
    }))
})
