/**
 * Durable tasks in process under TestClock (`docs/engine.md` §9): the event log (memo, waits,
 * child runs) recorded once and answered to later invocations, invocation counts, durable slots,
 * eviction and restore, and a durable task whose worker dies resuming elsewhere from its log.
 * Requests go straight to the domain handler with a stream that records what it is sent.
 */
import { ActionType, type AssignedAction, WorkerRegisterRequest } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { PushEventRequest } from "@effect-hatchet/proto/events/events"
import { DurableTaskErrorType, type DurableTaskRequest, type DurableTaskResponse } from "@effect-hatchet/proto/v1/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import type { CoreOptions } from "../src/internal/core.js"
import * as Admin from "../src/internal/domain/admin.js"
import { branchDurableTask, handleDurableRequest, restoreEvictedTask } from "../src/internal/domain/durable.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import { taskIdOf, taskStatus } from "../src/internal/domain/model.js"
import { keepEverything } from "../src/internal/domain/retention.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as Workers from "../src/internal/domain/workers.js"
import { makeHarnessWith, task, tenantId } from "./support/harness.js"

const orGroup = () => crypto.randomUUID()
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const decode = (payload: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(payload))

/** A harness with durable workers and a recording DurableTask stream. */
const durableHarnessWith = (options: CoreOptions) =>
  Effect.gen(function*() {
    const h = yield* makeHarnessWith(options)
    const sent: Array<DurableTaskResponse> = []
    const stream = { id: "stream-1", tenantId, send: (r: DurableTaskResponse) => void sent.push(r), releases: new Map() }
    const request = (r: DurableTaskRequest) => h.run((state, now) => handleDurableRequest(state, stream, r, now))
    /** A worker with `durable` slots for the given actions; it records the actions it is sent. */
    const durableWorker = (actions: ReadonlyArray<string>, durable = 10) =>
      Effect.gen(function*() {
        const received: Array<AssignedAction> = []
        const worker = yield* h.runEither((state, now) =>
          Either.flatMap(
            Workers.registerWorker(
              state,
              tenantId,
              WorkerRegisterRequest.fromPartial({ workerName: "durable", actions: [...actions], slotConfig: { default: 10, durable } }),
              now
            ),
            (w) => {
              Workers.openSession(state, w, {
                id: `session-${w.id}`,
                workerId: w.id,
                establishedAt: now,
                legacy: false,
                send: (a) => {
                  received.push(a)
                  return true
                },
                close: () => {}
              }, now)
              return Either.map(Workers.heartbeat(state, tenantId, w.id, now), () => w)
            }
          )
        )
        return { worker, received, heartbeat: h.runEither((state, now) => Workers.heartbeat(state, tenantId, worker.id, now)) }
      })
    const memo = (a: AssignedAction, key: string, payload?: unknown) =>
      request({
        memo: {
          durableTaskExternalId: a.taskRunExternalId,
          invocationCount: a.durableTaskInvocationCount!,
          key: new TextEncoder().encode(key),
          ...(payload !== undefined ? { payload: bytes(payload) } : {})
        }
      })
    const sleep = (a: AssignedAction, sleepFor: string, key = "sleep") =>
      request({
        waitFor: {
          durableTaskExternalId: a.taskRunExternalId,
          invocationCount: a.durableTaskInvocationCount!,
          waitForConditions: {
            sleepConditions: [{ base: { readableDataKey: key, action: 0, orGroupId: orGroup(), expression: "" }, sleepFor }],
            userEventConditions: []
          }
        }
      })
    const waitEvent = (a: AssignedAction, eventKey: string, extra: { expression?: string; scope?: string; since?: Date } = {}) =>
      request({
        waitFor: {
          durableTaskExternalId: a.taskRunExternalId,
          invocationCount: a.durableTaskInvocationCount!,
          waitForConditions: {
            sleepConditions: [],
            userEventConditions: [{
              base: { readableDataKey: eventKey, action: 0, orGroupId: orGroup(), expression: extra.expression ?? "" },
              userEventKey: eventKey,
              eventScope: extra.scope,
              considerEventsSince: extra.since
            }]
          }
        }
      })
    const push = (key: string, payload: unknown, scope?: string) =>
      h.runEither((state, now) =>
        Ingest.pushEvent(
          state,
          tenantId,
          PushEventRequest.fromPartial({ key, payload: JSON.stringify(payload), eventTimestamp: new Date(now), scope }),
          now
        )
      )
    /** Advances the clock in steps, heartbeating the workers given. */
    const advance = (ms: number, alive: ReadonlyArray<{ readonly heartbeat: Effect.Effect<void, unknown> }>, step = 4_000) =>
      Effect.gen(function*() {
        for (let left = ms; left > 0; left -= step) {
          yield* TestClock.adjust(Math.min(step, left))
          for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
          for (const w of alive) yield* Effect.ignore(w.heartbeat)
        }
      })
    const completions = () => sent.flatMap((r) => (r.entryCompleted !== undefined ? [r.entryCompleted] : []))
    return { ...h, advance, sent, stream, request, durableWorker, memo, sleep, waitEvent, push, completions }
  })

const durableHarness = durableHarnessWith({})

describe("durable tasks", () => {
  it.scoped("is_durable registers; a durable task takes a durable slot and its first invocation is 1", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("d", [task("t", { isDurable: true })])
      const w = yield* h.durableWorker(["d:t"], 1)
      yield* h.trigger("d")
      yield* h.trigger("d")
      expect(w.received).toHaveLength(1)
      expect(w.received[0]!.durableTaskInvocationCount).toBe(1)
      expect(w.worker.slotsUsed.get("durable")).toBe(1)
      expect(w.worker.slotsUsed.get("default") ?? 0).toBe(0)
    }))

  it.scoped("a week-long sleep completes when the TestClock passes it, with upstream's payload", () =>
    Effect.gen(function*() {
      // an open stream keeps the worker alive however far the clock jumps
      const h = yield* durableHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("sleepy", [task("t", { isDurable: true, timeout: "200h" })])
      const w = yield* h.durableWorker(["sleepy:t"])
      yield* h.trigger("sleepy")
      const start = w.received[0]!
      yield* h.sleep(start, "168h")
      expect(h.sent.map((r) => Object.keys(r)[0])).toEqual(["waitForAck"])
      expect(h.sent[0]!.waitForAck!.ref).toEqual({
        durableTaskExternalId: start.taskRunExternalId,
        invocationCount: 1,
        branchId: 1,
        nodeId: 1
      })
      yield* h.advance(167 * 3_600_000, [], 167 * 3_600_000)
      expect(h.completions()).toEqual([])
      yield* h.advance(3_600_000, [], 3_600_000)
      expect(h.completions()).toHaveLength(1)
      expect(decode(h.completions()[0]!.payload)).toEqual({ CREATE: { sleep: [{ sleep_duration: "168h" }] } })
    }))

  it.scoped("an event wait is met by an event pushed after it begins, or before it with a lookback", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("ev", [task("t", { isDurable: true })])
      const w = yield* h.durableWorker(["ev:t"])
      yield* h.push("order:paid", { id: 1 }, "s1")
      yield* h.advance(10_000, [w])
      yield* h.trigger("ev")
      yield* h.trigger("ev")
      const [after, before] = w.received
      yield* h.waitEvent(after!, "order:paid", { expression: "input.id == 2" })
      // pushed 10 s ago, in scope s1, looked back for a minute
      yield* h.waitEvent(before!, "order:paid", { scope: "s1", since: new Date((yield* TestClock.currentTimeMillis) - 60_000) })
      expect(h.completions().map((c) => c.ref!.durableTaskExternalId)).toEqual([before!.taskRunExternalId])
      expect(decode(h.completions()[0]!.payload)).toEqual({ CREATE: { "order:paid": [{ id: 1 }] } })
      yield* h.push("order:paid", { id: 3 })
      expect(h.completions()).toHaveLength(1)
      yield* h.push("order:paid", { id: 2 })
      expect(h.completions().map((c) => c.ref!.durableTaskExternalId)).toEqual([before!.taskRunExternalId, after!.taskRunExternalId])
      expect(decode(h.completions()[1]!.payload)).toEqual({ CREATE: { "order:paid": [{ id: 2 }] } })
    }))

  it.scoped("a wait is a match: conditions in one or-group are any-of, separate groups all-of; a scope filters events", () =>
    Effect.gen(function*() {
      const h = yield* durableHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("grp", [task("t", { isDurable: true, timeout: "2h" })])
      const w = yield* h.durableWorker(["grp:t"])
      yield* h.trigger("grp")
      yield* h.trigger("grp")
      const [anyOf, allOf] = w.received
      const waitFor = (a: AssignedAction, groups: readonly [string, string]) =>
        h.request({
          waitFor: {
            durableTaskExternalId: a.taskRunExternalId,
            invocationCount: a.durableTaskInvocationCount!,
            waitForConditions: {
              sleepConditions: [{ base: { readableDataKey: "timeout", action: 0, orGroupId: groups[0], expression: "" }, sleepFor: "1h" }],
              userEventConditions: [{
                base: { readableDataKey: "reply", action: 0, orGroupId: groups[1], expression: "" },
                userEventKey: "reply",
                eventScope: "ticket-1"
              }]
            }
          }
        })
      const same = orGroup()
      yield* waitFor(anyOf!, [same, same])
      yield* waitFor(allOf!, [orGroup(), orGroup()])
      // another scope's event meets neither wait; one of the wait's scope meets the any-of wait
      yield* h.push("reply", { text: "other" }, "ticket-2")
      expect(h.completions()).toEqual([])
      yield* h.push("reply", { text: "hi" }, "ticket-1")
      expect(h.completions().map((c) => c.ref!.durableTaskExternalId)).toEqual([anyOf!.taskRunExternalId])
      expect(decode(h.completions()[0]!.payload)).toEqual({ CREATE: { reply: [{ text: "hi" }] } })
      // the all-of wait holds once its sleep ends too, with both conditions' data
      yield* h.advance(3_600_000, [], 3_600_000)
      expect(h.completions().map((c) => c.ref!.durableTaskExternalId)).toEqual([anyOf!.taskRunExternalId, allOf!.taskRunExternalId])
      expect(decode(h.completions()[1]!.payload)).toEqual({ CREATE: { timeout: [{ sleep_duration: "1h" }], reply: [{ text: "hi" }] } })
      // the satisfied waits are gone from the tenant's matches and the timers
      const tenant = yield* h.run((state) => state.tenants.get(tenantId)!)
      expect(tenant.eventMatches.get("reply")).toBeUndefined()
    }))

  it.scoped("a wait whose expression does not compile is recorded, as upstream's: that condition never holds, its or-group's sleep still does", () =>
    Effect.gen(function*() {
      const h = yield* durableHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("typo", [task("t", { isDurable: true, timeout: "2h" })])
      const w = yield* h.durableWorker(["typo:t"])
      yield* h.trigger("typo")
      const a = w.received[0]!
      const group = orGroup()
      yield* h.request({
        waitFor: {
          durableTaskExternalId: a.taskRunExternalId,
          invocationCount: a.durableTaskInvocationCount!,
          waitForConditions: {
            sleepConditions: [{ base: { readableDataKey: "timeout", action: 0, orGroupId: group, expression: "" }, sleepFor: "1h" }],
            userEventConditions: [{
              base: { readableDataKey: "reply", action: 0, orGroupId: group, expression: "input.ok ==" },
              userEventKey: "reply"
            }]
          }
        }
      })
      expect(h.sent.filter((r) => r.waitForAck !== undefined)).toHaveLength(1)
      yield* h.push("reply", { ok: true })
      expect(h.completions()).toEqual([])
      yield* h.advance(3_600_000, [], 3_600_000)
      expect(decode(h.completions()[0]!.payload)).toEqual({ CREATE: { timeout: [{ sleep_duration: "1h" }] } })
    }))

  it.scoped("a lookback needs a scope, as upstream's: an unscoped wait is met only by later events", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("lb", [task("t", { isDurable: true })])
      const w = yield* h.durableWorker(["lb:t"])
      yield* h.push("paid", { id: 1 })
      yield* h.trigger("lb")
      const a = w.received[0]!
      yield* h.waitEvent(a, "paid", { since: new Date((yield* TestClock.currentTimeMillis) - 60_000) })
      expect(h.completions()).toEqual([])
      yield* h.push("paid", { id: 2 })
      expect(decode(h.completions()[0]!.payload)).toEqual({ CREATE: { paid: [{ id: 2 }] } })
    }))

  it.scoped("a worker that dies mid-wait: the task resumes on another worker, its memo answered from the log", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("survive", [task("t", { isDurable: true, timeout: "10m" })])
      const first = yield* h.durableWorker(["survive:t"])
      const runId = yield* h.trigger("survive")
      const a1 = first.received[0]!
      yield* h.memo(a1, "step-1")
      expect(h.sent[0]!.memoAck).toMatchObject({ memoAlreadyExisted: false })
      yield* h.request({ completeMemo: { ref: h.sent[0]!.memoAck!.ref, payload: bytes({ charged: 42 }), memoKey: new Uint8Array() } })
      yield* h.waitEvent(a1, "approve")
      const second = yield* h.durableWorker(["survive:t"])
      // the first worker goes silent; the second keeps heartbeating
      yield* h.advance(31_000, [second])
      expect(second.received).toHaveLength(1)
      const a2 = second.received[0]!
      expect(a2.durableTaskInvocationCount).toBe(2)
      h.sent.length = 0
      // the new invocation replays: the memo is answered from the log, the wait is the same node
      yield* h.memo(a2, "step-1")
      expect(h.sent.map((r) => Object.keys(r)[0])).toEqual(["memoAck", "entryCompleted"])
      expect(h.sent[0]!.memoAck!.memoAlreadyExisted).toBe(true)
      expect(decode(h.sent[0]!.memoAck!.memoResultPayload)).toEqual({ charged: 42 })
      expect(h.sent[0]!.memoAck!.ref).toMatchObject({ invocationCount: 2, nodeId: 1 })
      yield* h.waitEvent(a2, "approve")
      expect(h.sent[2]!.waitForAck!.ref).toMatchObject({ invocationCount: 2, nodeId: 2 })
      // the first invocation is stale
      h.sent.length = 0
      yield* h.memo(a1, "step-2")
      expect(h.sent[0]!.serverEvict).toMatchObject({ durableTaskExternalId: runId, invocationCount: 1 })
      yield* h.push("approve", { ok: true })
      expect(h.completions().map((c) => c.ref)).toEqual([{ durableTaskExternalId: runId, invocationCount: 2, branchId: 1, nodeId: 2 }])
      yield* h.complete(a2, "{\"done\":true}")
      expect(taskStatus(yield* h.taskOf(runId, "t"))).toBe("COMPLETED")
    }))

  it.scoped("a wait met while a new invocation replays is held until the entries satisfied before it are replayed", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("order", [task("t", { isDurable: true, timeout: "10m" })])
      yield* h.putWorkflow("order-child", [task("c")])
      const w = yield* h.durableWorker(["order:t", "order-child:c"])
      const runId = yield* h.trigger("order")
      const spawn = (a: AssignedAction) =>
        h.request({
          triggerRuns: {
            durableTaskExternalId: a.taskRunExternalId,
            invocationCount: a.durableTaskInvocationCount!,
            triggerOpts: [{
              name: "order-child",
              input: "{}",
              parentId: runId,
              parentTaskRunExternalId: a.taskRunExternalId,
              childIndex: 0,
              desiredWorkerLabels: {}
            }]
          }
        })
      const a1 = w.received[0]!
      yield* h.memo(a1, "now", { ts: 1 })
      yield* spawn(a1)
      yield* h.complete(w.received.find((x) => x.actionId === "order-child:c")!, "{\"ok\":1}")
      yield* h.waitEvent(a1, "go")
      yield* h.request({ evictInvocation: { durableTaskExternalId: runId, invocationCount: 1 } })
      yield* h.run((state, now) => restoreEvictedTask(state, tenantId, runId, now))
      const a2 = w.received.filter((x) => x.actionId === "order:t")[1]!
      h.sent.length = 0
      // invocation 2 replays its memo; the event arrives before it replays the child run (node 2)
      yield* h.memo(a2, "now")
      yield* h.push("go", { go: true })
      expect(h.completions().map((c) => c.ref!.nodeId)).toEqual([1])
      yield* spawn(a2)
      // the child's completion (satisfied first), then the held wait's
      expect(h.completions().map((c) => [c.ref!.nodeId, c.ref!.invocationCount])).toEqual([[1, 2], [2, 2], [3, 2]])
      // the replayed wait gets its completion again, which the SDK ignores as a duplicate
      yield* h.waitEvent(a2, "go")
      expect(h.completions().map((c) => c.ref!.nodeId)).toEqual([1, 2, 3, 3])
    }))

  it.scoped("a completion held over 60 s for an earlier one: the next worker_status tells the invocation to restart", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("gap", [task("t", { isDurable: true, timeout: "10m" })])
      yield* h.putWorkflow("gap-child", [task("c")])
      const w = yield* h.durableWorker(["gap:t", "gap-child:c"])
      const runId = yield* h.trigger("gap")
      const a1 = w.received[0]!
      yield* h.request({
        triggerRuns: {
          durableTaskExternalId: runId,
          invocationCount: 1,
          triggerOpts: [{
            name: "gap-child",
            input: "{}",
            parentId: runId,
            parentTaskRunExternalId: runId,
            childIndex: 0,
            desiredWorkerLabels: {}
          }]
        }
      })
      yield* h.complete(w.received.find((x) => x.actionId === "gap-child:c")!, "{}")
      yield* h.waitEvent(a1, "go")
      yield* h.request({ evictInvocation: { durableTaskExternalId: runId, invocationCount: 1 } })
      yield* h.run((state, now) => restoreEvictedTask(state, tenantId, runId, now))
      const a2 = w.received.filter((x) => x.actionId === "gap:t")[1]!
      h.sent.length = 0
      // invocation 2 never replays its child (node 1): the wait's completion (order 2) is held
      yield* h.push("go", {})
      expect(h.completions()).toEqual([])
      const status = h.request({
        workerStatus: {
          workerId: w.worker.id,
          waitingEntries: [{ durableTaskExternalId: runId, invocationCount: 2, branchId: 1, nodeId: 2 }]
        }
      })
      yield* h.advance(60_000, [w])
      yield* status
      expect(h.sent.filter((r) => r.serverEvict !== undefined)).toEqual([])
      yield* h.advance(1_000, [w])
      yield* status
      expect(h.sent.filter((r) => r.serverEvict !== undefined)).toEqual([{
        serverEvict: {
          durableTaskExternalId: runId,
          invocationCount: a2.durableTaskInvocationCount,
          reason: "ordered durable completion release stalled on a missing entry"
        }
      }])
      expect(h.stream.releases.size).toBe(0)
    }))

  it.scoped("branching a completed durable task from a node: a new branch keeps the nodes before it, the task is replayed", () =>
    Effect.gen(function*() {
      const h = yield* durableHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("br", [task("t", { isDurable: true, timeout: "10m" })])
      const w = yield* h.durableWorker(["br:t"])
      const runId = yield* h.trigger("br")
      const a1 = w.received[0]!
      yield* h.memo(a1, "step-1", { v: 1 })
      yield* h.sleep(a1, "10s")
      yield* h.advance(10_000, [], 10_000)
      yield* h.complete(a1, "{}")
      expect(taskStatus(yield* h.taskOf(runId, "t"))).toBe("COMPLETED")
      const branched = yield* h.runEither((state, now) =>
        branchDurableTask(state, tenantId, { taskExternalId: runId, nodeId: 2, branchId: 1 }, now)
      )
      expect(branched).toEqual({ taskExternalId: runId, nodeId: 2, branchId: 2 })
      // replayed as a new invocation: node 1 from the log, node 2 on the new branch, asked anew
      const a2 = w.received[1]!
      expect(a2.durableTaskInvocationCount).toBe(2)
      h.sent.length = 0
      yield* h.memo(a2, "step-1")
      expect(h.sent[0]!.memoAck).toMatchObject({ memoAlreadyExisted: true, ref: { branchId: 1, nodeId: 1 } })
      yield* h.sleep(a2, "20s")
      expect(h.sent.find((r) => r.waitForAck !== undefined)!.waitForAck!.ref).toMatchObject({ branchId: 2, nodeId: 2, invocationCount: 2 })
      expect(h.sent.some((r) => r.error !== undefined)).toBe(false)
      yield* h.advance(20_000, [], 20_000)
      expect(h.completions().at(-1)!.ref).toMatchObject({ branchId: 2, nodeId: 2 })
      expect(decode(h.completions().at(-1)!.payload)).toEqual({ CREATE: { sleep: [{ sleep_duration: "20s" }] } })
      // bad requests, as upstream answers them
      const failure = (id: string) =>
        h.runEither((state, now) => branchDurableTask(state, tenantId, { taskExternalId: id, nodeId: 1, branchId: 1 }, now)).pipe(
          Effect.flip
        )
      expect((yield* failure("nope")).message).toBe("invalid task_external_id")
      expect((yield* failure(crypto.randomUUID())).message).toBe("task not found: no rows in result set")
    }))

  it.scoped("branching a task in flight forks its log and replays nothing, as upstream's ReplayTasks skips it: the evicted one, restored, replays the branch", () =>
    Effect.gen(function*() {
      const h = yield* durableHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("fly", [task("t", { isDurable: true, timeout: "10m" })])
      const w = yield* h.durableWorker(["fly:t"])
      // running: the attempt goes on, told nothing; the log's next node is 1 of the new branch
      const running = yield* h.trigger("fly")
      const r1 = w.received[0]!
      yield* h.memo(r1, "step-1", { v: 1 })
      yield* h.memo(r1, "step-2", { v: 2 })
      h.sent.length = 0
      expect(
        yield* h.runEither((state, now) => branchDurableTask(state, tenantId, { taskExternalId: running, nodeId: 2, branchId: 1 }, now))
      )
        .toEqual({ taskExternalId: running, nodeId: 2, branchId: 2 })
      const task1 = yield* h.taskOf(running, "t")
      expect(task1.state._tag).toBe("Assigned")
      expect(task1.durable).toMatchObject({ invocationCount: 1, latestBranchId: 2, latestNodeId: 0 })
      expect(h.sent).toEqual([])
      expect(w.received).toHaveLength(1)
      // evicted: it stays evicted; restored, its new invocation replays node 1 and asks node 2 anew
      const evictedRun = yield* h.trigger("fly")
      const e1 = w.received.find((x) => x.taskRunExternalId === evictedRun)!
      yield* h.memo(e1, "step-1", { v: 1 })
      yield* h.sleep(e1, "1h")
      yield* h.request({ evictInvocation: { durableTaskExternalId: evictedRun, invocationCount: 1 } })
      yield* h.runEither((state, now) => branchDurableTask(state, tenantId, { taskExternalId: evictedRun, nodeId: 2, branchId: 1 }, now))
      const task2 = yield* h.taskOf(evictedRun, "t")
      expect(task2.state._tag).toBe("Evicted")
      expect(w.received.filter((x) => x.taskRunExternalId === evictedRun)).toHaveLength(1)
      yield* h.run((state, now) => restoreEvictedTask(state, tenantId, evictedRun, now))
      const e2 = w.received.filter((x) => x.taskRunExternalId === evictedRun)[1]!
      expect(e2.durableTaskInvocationCount).toBe(2)
      h.sent.length = 0
      yield* h.memo(e2, "step-1")
      yield* h.sleep(e2, "5s")
      expect(h.sent.find((r) => r.waitForAck !== undefined)!.waitForAck!.ref).toMatchObject({ branchId: 2, nodeId: 2, invocationCount: 2 })
    }))

  it.scoped("a replay that asks something else at a recorded node gets a non-determinism error", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("nd", [task("t", { isDurable: true })])
      const w = yield* h.durableWorker(["nd:t"])
      yield* h.trigger("nd")
      const a = w.received[0]!
      yield* h.sleep(a, "10s")
      yield* h.request({ evictInvocation: { durableTaskExternalId: a.taskRunExternalId, invocationCount: 1 } })
      yield* h.advance(10_000, [w])
      const again = w.received[1]!
      expect(again.durableTaskInvocationCount).toBe(2)
      h.sent.length = 0
      yield* h.sleep(again, "20s")
      expect(h.sent[0]!.error).toMatchObject({
        errorType: DurableTaskErrorType.DURABLE_TASK_ERROR_TYPE_NONDETERMINISM,
        errorMessage: `non-determinism error in task ${a.taskRunExternalId} at node 1:1\n  expected: sleep(10s)\n  received: sleep(20s)`
      })
    }))

  it.scoped("child runs: spawned once, their result delivered; a replay finds them by spawn key", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("parent", [task("t", { isDurable: true })])
      yield* h.putWorkflow("child", [task("c")])
      const w = yield* h.durableWorker(["parent:t", "child:c"])
      const runId = yield* h.trigger("parent")
      const a = w.received[0]!
      const spawn = (action: AssignedAction) =>
        h.request({
          triggerRuns: {
            durableTaskExternalId: action.taskRunExternalId,
            invocationCount: action.durableTaskInvocationCount!,
            triggerOpts: [0, 1].map((i) => ({
              name: "child",
              input: JSON.stringify({ i }),
              parentId: runId,
              parentTaskRunExternalId: action.taskRunExternalId,
              childIndex: i,
              desiredWorkerLabels: {}
            }))
          }
        })
      yield* spawn(a)
      const ack = h.sent[0]!.triggerRunsAck!
      expect(ack.runEntries.map((e) => e.nodeId)).toEqual([1, 2])
      const children = w.received.filter((x) => x.actionId === "child:c")
      expect(children).toHaveLength(2)
      yield* h.complete(children[1]!, "{\"i\":1}")
      yield* h.complete(children[0]!, "{\"i\":0}")
      expect(h.completions().map((c) => [c.ref!.nodeId, decode(c.payload)])).toEqual([[2, { i: 1 }], [1, { i: 0 }]])
      // evicted and restored: the replay spawns nothing new and gets both results again, in order
      yield* h.request({ evictInvocation: { durableTaskExternalId: a.taskRunExternalId, invocationCount: 1 } })
      expect(taskStatus(yield* h.taskOf(runId, "t"))).toBe("RUNNING")
      yield* h.run((state, now) => restoreEvictedTask(state, tenantId, runId, now))
      const restored = w.received.filter((x) => x.actionId === "parent:t")[1]!
      expect(restored.durableTaskInvocationCount).toBe(2)
      h.sent.length = 0
      yield* spawn(restored)
      expect(h.sent[0]!.triggerRunsAck!.runEntries.map((e) => e.workflowRunExternalId)).toEqual(
        ack.runEntries.map((e) => e.workflowRunExternalId)
      )
      expect(w.received.filter((x) => x.actionId === "child:c")).toHaveLength(2)
      expect(h.completions().map((c) => c.ref!.nodeId)).toEqual([2, 1])
    }))

  it.scoped("a child run reaches its parent through a SIGNAL match on its tasks: a DAG's outputs by step, a failure, a cancellation", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("spawner", [task("t", { isDurable: true, timeout: "10m" })])
      yield* h.putWorkflow("two-steps", [task("a"), task("b", { parents: ["a"] })])
      yield* h.putWorkflow("one-step", [task("c")])
      const w = yield* h.durableWorker(["spawner:t", "two-steps:a", "two-steps:b", "one-step:c"])
      const runId = yield* h.trigger("spawner")
      const opt = (name: string, childIndex: number) => ({
        name,
        input: "{}",
        parentId: runId,
        parentTaskRunExternalId: runId,
        childIndex,
        desiredWorkerLabels: {}
      })
      yield* h.request({
        triggerRuns: {
          durableTaskExternalId: runId,
          invocationCount: 1,
          triggerOpts: [opt("two-steps", 0), opt("one-step", 1), opt("one-step", 2)]
        }
      })
      const [dag, failing, cancelled] = h.sent[0]!.triggerRunsAck!.runEntries.map((e) => e.workflowRunExternalId)
      const parent = yield* h.taskOf(runId, "t")
      const entry = parent.durable!.entries.get("1:1")!
      const dagRun = h.state.runsById.get(dag!)!
      // one or-group per task of the DAG, its COMPLETED, FAILED and CANCELLED events, keyed by step
      expect(entry.match).toMatchObject({ kind: "SIGNAL", signalKey: `durable_run:${runId}:1:1` })
      expect(entry.match!.conditions.map((c) => [c.eventKey, c.hint, c.readableDataKey, c.action])).toEqual(
        ["a", "b"].flatMap((step) => {
          const hint = taskIdOf(dagRun, dagRun.version.stepsByReadableId.get(step)!)
          return ["COMPLETED", "FAILED", "CANCELLED"].map((key) => [key, hint, step, "CREATE"])
        })
      )
      yield* h.complete(w.received.find((x) => x.actionId === "two-steps:a")!, "{\"x\":1}")
      expect(h.completions()).toEqual([])
      yield* h.complete(w.received.find((x) => x.actionId === "two-steps:b")!, "{\"y\":2}")
      yield* h.fail(w.received.find((x) => x.actionId === "one-step:c" && x.workflowRunId === failing)!, "boom", true)
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [cancelled!] }, now))
      expect(h.completions().map((c) => [c.ref!.nodeId, c.isFailure, c.isFailure ? c.errorMessage : decode(c.payload)])).toEqual([
        [1, false, { a: { x: 1 }, b: { y: 2 } }],
        [2, true, "boom"],
        [3, true, "task was cancelled"]
      ])
      expect(h.state.childRunMatches.size).toBe(0)
    }))

  it.scoped("cancelling a durable task that waits: the running one is told to stop, the evicted one stays put; its waits still record what comes, and a replay finds it", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("napper", [task("t", { isDurable: true, timeout: "10h" })])
      const w = yield* h.durableWorker(["napper:t"])
      // waiting on a sleep, on its worker
      const running = yield* h.trigger("napper")
      const a = w.received[0]!
      yield* h.sleep(a, "1h")
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [running] }, now))
      expect(w.received.at(-1)).toMatchObject({ actionType: ActionType.CANCEL_STEP_RUN, taskRunExternalId: running })
      const cancelled = yield* h.taskOf(running, "t")
      expect(taskStatus(cancelled)).toBe("CANCELLED")
      // evicted while waiting on an event
      const evictedRun = yield* h.trigger("napper")
      const b = w.received.find((x) => x.taskRunExternalId === evictedRun)!
      yield* h.waitEvent(b, "wake")
      yield* h.request({ evictInvocation: { durableTaskExternalId: evictedRun, invocationCount: 1 } })
      const received = w.received.length
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [evictedRun] }, now))
      expect(w.received).toHaveLength(received)
      const evicted = yield* h.taskOf(evictedRun, "t")
      expect(taskStatus(evicted)).toBe("CANCELLED")
      // the sleep ends and the event comes: recorded in the logs, nothing sent, nothing restored
      h.sent.length = 0
      yield* h.advance(3_600_000, [w], 600_000)
      yield* h.push("wake", {})
      expect(cancelled.durable!.entries.get("1:1")!.satisfied).toBe(true)
      expect(evicted.durable!.entries.get("1:1")!.satisfied).toBe(true)
      expect(h.completions()).toEqual([])
      expect(w.received).toHaveLength(received)
      expect(taskStatus(evicted)).toBe("CANCELLED")
      // replayed, the task finds its sleep over and goes on at once
      yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [running] }, now))
      const replayed = w.received.at(-1)!
      expect(replayed).toMatchObject({ taskRunExternalId: running, durableTaskInvocationCount: 2 })
      yield* h.sleep(replayed, "1h")
      expect(h.completions().map((c) => [c.ref!.nodeId, c.ref!.invocationCount])).toEqual([[1, 2]])
    }))

  it.scoped("the waits of a final durable task are disarmed when retention forgets its run", () =>
    Effect.gen(function*() {
      const h = yield* durableHarnessWith({ workerLiveness: "connection", retention: { ...keepEverything, maxAgeMs: 3_600_000 } })
      yield* h.putWorkflow("forgotten", [task("t", { isDurable: true, timeout: "10h" })])
      yield* h.putWorkflow("forgotten-child", [task("c", { timeout: "10h" })])
      const w = yield* h.durableWorker(["forgotten:t", "forgotten-child:c"])
      const runId = yield* h.trigger("forgotten")
      const a = w.received[0]!
      yield* h.waitEvent(a, "never")
      yield* h.request({
        triggerRuns: {
          durableTaskExternalId: runId,
          invocationCount: 1,
          triggerOpts: [{
            name: "forgotten-child",
            input: "{}",
            parentId: runId,
            parentTaskRunExternalId: runId,
            childIndex: 0,
            desiredWorkerLabels: {}
          }]
        }
      })
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [runId] }, now))
      const tenant = h.state.tenants.get(tenantId)!
      expect(tenant.eventMatches.has("never")).toBe(true)
      expect(h.state.childRunMatches.size).toBe(1)
      // the cancelled parent's run ages out while its child still runs
      const childId = h.sent.find((r) => r.triggerRunsAck !== undefined)!.triggerRunsAck!.runEntries[0]!.workflowRunExternalId
      yield* h.advance(2 * 3_600_000, [w], 600_000)
      expect(h.state.runsById.has(runId)).toBe(false)
      expect(h.state.runsById.has(childId)).toBe(true)
      expect(tenant.eventMatches.has("never")).toBe(false)
      expect(h.state.childRunMatches.size).toBe(0)
    }))

  it.scoped("eviction frees the durable slot for another task; the evicted one is restored when its wait is met", () =>
    Effect.gen(function*() {
      const h = yield* durableHarness
      yield* h.putWorkflow("slot", [task("t", { isDurable: true })])
      const w = yield* h.durableWorker(["slot:t"], 1)
      const first = yield* h.trigger("slot")
      yield* h.trigger("slot")
      expect(w.received).toHaveLength(1)
      const a = w.received[0]!
      yield* h.sleep(a, "1h")
      yield* h.request({ evictInvocation: { durableTaskExternalId: a.taskRunExternalId, invocationCount: 1, reason: "ttl" } })
      expect(h.sent.at(-1)!.evictionAck).toEqual({ durableTaskExternalId: a.taskRunExternalId, invocationCount: 1 })
      const evicted = yield* h.taskOf(first, "t")
      expect(evicted.state).toMatchObject({ _tag: "Evicted", reason: "ttl" })
      expect(eventsOf(evicted).at(-1)).toMatchObject({ eventType: "DURABLE_EVICTED", message: "ttl" })
      // the freed slot goes to the second run
      expect(w.received).toHaveLength(2)
      yield* h.complete(w.received[1]!, "{}")
      // its sleep ends while evicted: restored ahead of new work, as invocation 2
      yield* h.advance(3_600_000, [w], 600_000)
      expect(w.received).toHaveLength(3)
      expect(w.received[2]!.taskRunExternalId).toBe(first)
      expect(w.received[2]!.durableTaskInvocationCount).toBe(2)
      expect(eventsOf(evicted).map((e) => e.eventType)).toContain("DURABLE_RESTORING")
    }))
})
