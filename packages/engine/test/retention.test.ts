/**
 * Retention, in process under TestClock: finished runs (with their tasks), pushed events and
 * inactive workers are pruned by age and by count, from every index; what is still in use (an
 * unfinished run, a replayed run, the child of a running parent, a worker with a stream or a
 * running attempt) is kept. A backlog is pruned in slices, one per turn of the engine's loop, and
 * ends as a sweep in one pass would. Plus the option checks of `Engine.layer`.
 */
import { WorkerRegisterRequest } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { PushEventRequest } from "@effect-hatchet/proto/events/events"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Exit } from "effect"
import * as Engine from "../src/Engine.js"
import * as Admin from "../src/internal/domain/admin.js"
import { fireTimer } from "../src/internal/domain/deadlines.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import type { RetentionPolicy } from "../src/internal/domain/model.js"
import * as Queries from "../src/internal/domain/queries.js"
import { countSweepDelayMs, keepEverything, onRetention, sliceBudget } from "../src/internal/domain/retention.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import * as Workers from "../src/internal/domain/workers.js"
import { retentionPolicy } from "../src/internal/engine.js"
import { type FakeWorker, makeHarnessWith, task, tenantId } from "./support/harness.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE

const harness = (retention: Partial<RetentionPolicy>) =>
  makeHarnessWith({ workerLiveness: "connection", retention: { ...keepEverything, ...retention } })

type Harness = Effect.Effect.Success<ReturnType<typeof harness>>

/** Triggers `count` runs of `name` and completes them on `w`, one at a time. */
const completeRuns = (h: Harness, name: string, count: number, w: FakeWorker) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (let i = 0; i < count; i++) {
      const id = yield* h.trigger(name)
      const start = w.starts().find((s) => s.workflowRunId === id)!
      yield* h.complete(start, "{}")
      ids.push(id)
    }
    return ids
  })

/** Moves the clock in one jump (what came due fires). */
const jump = (h: Harness, ms: number) => h.advance(ms, [], ms)

const stored = (h: Harness, ids: ReadonlyArray<string>) => ids.filter((id) => h.state.runsById.has(id))
const listed = (h: Harness) => Queries.listRuns(h.state, tenantId, {}).rows.map((r) => r.id)
const listedTasks = (h: Harness) => Queries.listTasks(h.state, tenantId, {}).rows.map((t) => t.externalId)

describe("finished runs", () => {
  it.scoped("are pruned once they finished maxAge ago, with their tasks, from every index", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxAgeMs: HOUR })
      yield* h.putWorkflow("dag", [task("a", { timeout: "24h" }), task("b", { parents: ["a"], timeout: "24h" })])
      const w = yield* h.worker(["dag:a", "dag:b"])
      const runId = yield* h.trigger("dag")
      yield* h.complete(w.starts()[0]!, "{}")
      yield* jump(h, 10 * MINUTE)
      yield* h.complete(w.starts()[1]!, "{}")
      const taskIds = [...(yield* h.getRun(runId)).tasks.values()].map((t) => t.externalId)
      // a run still going is never pruned, however old
      const unfinished = yield* h.trigger("dag")
      yield* jump(h, HOUR - 1)
      expect(stored(h, [runId, unfinished])).toEqual([runId, unfinished])
      expect(listed(h)).toEqual([unfinished, runId])
      yield* jump(h, 1)
      expect(stored(h, [runId, unfinished])).toEqual([unfinished])
      expect(listed(h)).toEqual([unfinished])
      expect(taskIds.filter((id) => h.state.tasksByExternalId.has(id))).toEqual([])
      expect(listedTasks(h)).toEqual([h.state.runsById.get(unfinished)!.tasks.values().next().value!.externalId])
      expect(Queries.listRuns(h.state, tenantId, { workflowIds: [(yield* h.getRun(unfinished)).workflow.id] }).total).toBe(1)
      // a pruned run is unknown, as any id the engine never saw
      expect(yield* Effect.exit(h.runEither((state) => Queries.getRunDetails(state, tenantId, runId))))
        .toEqual(Exit.fail(expect.objectContaining({ _tag: "NotFound" })))
    }))

  it.scoped("beyond maxRuns per tenant the oldest finished go first, a second after the count is exceeded", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxRuns: 3 })
      yield* h.putWorkflow("t", [task("a")])
      const w = yield* h.worker(["t:a"])
      const queued = yield* h.runEither((state, now) =>
        Either.map(
          Triggers.toEither(
            Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({ name: "t", input: "{}" })], now)
          ),
          (ids) => ids[0]!
        )
      )
      const ids = yield* completeRuns(h, "t", 5, w)
      expect(stored(h, ids)).toEqual(ids)
      yield* jump(h, 1_000)
      expect(stored(h, ids)).toEqual(ids.slice(2))
      // the first run, assigned first, finished last: it is kept
      expect(h.state.runsById.get(queued)?.finishedAt).toBeUndefined()
      yield* h.complete(w.starts().find((s) => s.workflowRunId === queued)!, "{}")
      yield* jump(h, 1_000)
      expect(stored(h, [queued, ...ids])).toEqual([queued, ...ids.slice(3)])
      expect(Queries.listRuns(h.state, tenantId, {}).total).toBe(3)
    }))

  it.scoped("beyond maxRuns the oldest go first across many sweeps (retention's arrays compacted in place)", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxRuns: 100 })
      yield* h.putWorkflow("t", [task("a")])
      const w = yield* h.worker(["t:a"])
      const ids: Array<string> = []
      for (let round = 0; round < 6; round++) {
        for (const id of yield* completeRuns(h, "t", 500, w)) ids.push(id)
        yield* jump(h, 1_000)
        expect(stored(h, ids)).toEqual(ids.slice(-100))
        expect(listed(h)).toEqual(ids.slice(-100).reverse())
        expect(h.state.tenants.get(tenantId)!.finished.count).toBe(100)
      }
    }))

  it.scoped("a replayed run is not finished: it is kept until it finishes again", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxAgeMs: HOUR })
      yield* h.putWorkflow("t", [task("a", { timeout: "24h" })])
      const w = yield* h.worker(["t:a"])
      const [runId] = yield* completeRuns(h, "t", 1, w)
      yield* jump(h, HOUR / 2)
      yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [runId!] }, now))
      yield* jump(h, HOUR)
      expect(stored(h, [runId!])).toEqual([runId])
      yield* h.complete(w.starts().at(-1)!, "{}")
      yield* jump(h, HOUR - 1)
      expect(stored(h, [runId!])).toEqual([runId])
      yield* jump(h, 1)
      expect(stored(h, [runId!])).toEqual([])
    }))

  it.scoped("a child run is kept while its parent task runs, so a retried parent finds it", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxRuns: 0 })
      yield* h.putWorkflow("parent", [task("p")])
      yield* h.putWorkflow("child", [task("c")])
      const w = yield* h.worker(["parent:p", "child:c"])
      const parentId = yield* h.trigger("parent")
      const spawn = () =>
        h.runEither((state, now) =>
          Either.map(
            Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [
              TriggerWorkflowRequest.fromPartial({ name: "child", input: "{}", parentTaskRunExternalId: parentId, childIndex: 0 })
            ], now)),
            (ids) => ids[0]!
          )
        )
      const childId = yield* spawn()
      yield* h.complete(w.starts().find((s) => s.workflowRunId === childId)!, "{}")
      yield* jump(h, 5_000)
      expect(stored(h, [childId])).toEqual([childId])
      expect(yield* spawn()).toBe(childId)
      yield* h.complete(w.starts().find((s) => s.workflowRunId === parentId)!, "{}")
      yield* jump(h, 2_000)
      expect(stored(h, [parentId, childId])).toEqual([])
      expect(h.state.tenants.get(tenantId)!.childRuns.size).toBe(0)
    }))
})

describe("pushed events", () => {
  it.scoped("are pruned by age and beyond maxRuns", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxAgeMs: HOUR, maxRuns: 2 })
      const push = (key: string) =>
        h.runEither((state, now) =>
          Either.map(Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key, payload: "{}" }), now), (e) => e.id)
        )
      const first = yield* push("a")
      yield* jump(h, MINUTE)
      const rest = [yield* push("b"), yield* push("c")]
      expect([first, ...rest].filter((id) => h.state.eventsById.has(id))).toEqual([first, ...rest])
      yield* jump(h, 1_000)
      expect([first, ...rest].filter((id) => h.state.eventsById.has(id))).toEqual(rest)
      yield* jump(h, HOUR)
      expect(h.state.eventsById.size).toBe(0)
      expect(h.state.tenants.get(tenantId)!.events.size).toBe(0)
    }))
})

describe("inactive workers", () => {
  it.scoped("are pruned workerMaxAge after their stream ended, then answer NOT_FOUND; active ones stay", () =>
    Effect.gen(function*() {
      const h = yield* harness({ workerMaxAgeMs: HOUR })
      yield* h.putWorkflow("t", [task("a")])
      const active = yield* h.worker(["t:a"])
      const gone = yield* h.worker(["t:a"])
      yield* gone.closeStream
      yield* jump(h, HOUR - 1)
      expect(h.state.workersById.has(gone.id)).toBe(true)
      yield* jump(h, 1)
      expect(h.state.workersById.has(gone.id)).toBe(false)
      expect(h.state.workersById.has(active.id)).toBe(true)
      expect([...h.state.tenants.get(tenantId)!.actionWorkers.get("t:a")!].map((w) => w.id)).toEqual([active.id])
      expect(yield* Effect.exit(gone.heartbeat)).toEqual(Exit.fail(expect.objectContaining({ _tag: "NotFound" })))
    }))

  it.scoped("beyond maxInactiveWorkers the longest inactive go first; a worker with a running attempt stays", () =>
    Effect.gen(function*() {
      const h = yield* harness({ maxInactiveWorkers: 1 })
      yield* h.putWorkflow("t", [task("a", { timeout: "24h" })])
      const busy = yield* h.worker(["t:a"], 1)
      yield* h.trigger("t")
      expect(busy.starts()).toHaveLength(1)
      yield* busy.closeStream
      const workers = [yield* h.worker(["t:a"], 0), yield* h.worker(["t:a"], 0), yield* h.worker(["t:a"], 0)]
      for (const w of workers) {
        yield* jump(h, MINUTE)
        yield* w.closeStream
      }
      // registered and never listening counts as inactive from registration
      const silent = yield* h.runEither((state, now) =>
        Workers.registerWorker(state, tenantId, WorkerRegisterRequest.fromPartial({ workerName: "silent", actions: ["t:a"] }), now)
      )
      yield* jump(h, 1_000)
      expect([busy, ...workers].map((w) => h.state.workersById.has(w.id))).toEqual([true, false, false, false])
      expect(h.state.workersById.has(silent.id)).toBe(true)
    }))
})

describe("a backlog larger than a slice", () => {
  const policy = { maxRuns: 0, maxInactiveWorkers: 0 }

  /** A backlog over every bound: a child of a running parent, 600 finished runs, 200 events, 3 inactive workers. */
  const backlog = (h: Harness) =>
    Effect.gen(function*() {
      yield* h.putWorkflow("parent", [task("p", { timeout: "24h" })])
      yield* h.putWorkflow("t", [task("a")])
      const w = yield* h.worker(["parent:p", "t:a"])
      const parentId = yield* h.trigger("parent")
      const childId = yield* h.runEither((state, now) =>
        Either.map(
          Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [
            TriggerWorkflowRequest.fromPartial({ name: "t", input: "{}", parentTaskRunExternalId: parentId, childIndex: 0 })
          ], now)),
          (ids) => ids[0]!
        )
      )
      yield* h.complete(w.starts().find((s) => s.workflowRunId === childId)!, "{}")
      const runIds = [parentId, childId, ...yield* completeRuns(h, "t", 600, w)]
      const eventIds: Array<string> = []
      for (let i = 0; i < 200; i++) {
        eventIds.push(
          yield* h.runEither((state, now) =>
            Either.map(Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key: "k", payload: "{}" }), now), (e) => e.id)
          )
        )
      }
      const workers = [yield* h.worker(["t:a"], 0), yield* h.worker(["t:a"], 0), yield* h.worker(["t:a"], 0)]
      for (const gone of workers) yield* gone.closeStream
      return { runIds, eventIds, workerIds: [w.id, ...workers.map((x) => x.id)] }
    })

  type Backlog = Effect.Effect.Success<ReturnType<typeof backlog>>

  /** What is left, by position in the backlog (ids differ between engines). */
  const left = (h: Harness, b: Backlog) => {
    const kept = (ids: ReadonlyArray<string>, has: (id: string) => boolean) => ids.flatMap((id, i) => has(id) ? [i] : [])
    const tenant = h.state.tenants.get(tenantId)!
    return {
      runs: kept(b.runIds, (id) => h.state.runsById.has(id)),
      listed: listed(h).map((id) => b.runIds.indexOf(id)),
      tasks: h.state.tasksByExternalId.size,
      events: kept(b.eventIds, (id) => h.state.eventsById.has(id)),
      storedEvents: tenant.events.size,
      workers: kept(b.workerIds, (id) => h.state.workersById.has(id)),
      finished: tenant.finished.count,
      childRuns: tenant.childRuns.size,
      next: h.state.timers.get("Retention", tenantId)?.at
    }
  }

  it.scoped("is pruned over several turns of the engine's loop, and ends as the sweep in one pass", () =>
    Effect.gen(function*() {
      const once = yield* harness(policy)
      const onceBacklog = yield* backlog(once)
      yield* once.core.runSync((state, now) => onRetention(state, tenantId, now, Infinity))

      const sliced = yield* harness(policy)
      const slicedBacklog = yield* backlog(sliced)
      // every pass of the timers fires one slice and leaves the next for the next pass
      const passes = yield* sliced.core.runSync((state, now) => {
        const pruned: Array<number> = []
        state.timers.set({ kind: "Retention", id: tenantId, at: now })
        while ((state.timers.next() ?? Infinity) <= now) {
          const before = state.runsById.size + state.eventsById.size + state.workersById.size
          state.timers.runDue(now, (timer) => fireTimer(state, timer, now))
          pruned.push(before - state.runsById.size - state.eventsById.size - state.workersById.size)
        }
        return pruned
      })
      expect(passes.length).toBeGreaterThanOrEqual(3)
      // a one-task run costs 2 (looked at, its task), an event or a worker 1
      expect(passes.slice(0, 2)).toEqual([sliceBudget / 2, sliceBudget / 2])
      expect(passes.reduce((a, b) => a + b, 0)).toBe(600 + 200 + 3)

      const expected = left(once, onceBacklog)
      expect(left(sliced, slicedBacklog)).toEqual(expected)
      // the parent runs, its child is kept for it; everything else is gone
      expect(expected).toMatchObject({ runs: [0, 1], events: [], workers: [0], finished: 1, childRuns: 1 })
    }))

  it.scopedLive("on the live clock, goes in several passes of the engine's timer loop, each on a turn of its own", () =>
    Effect.gen(function*() {
      const h = yield* harness(policy)
      const b = yield* backlog(h)
      const timers = h.state.timers
      const runDue = timers.runDue.bind(timers)
      // the pass of the timer loop each slice fired in
      const passes: Array<number> = []
      let pass = 0
      timers.runDue = (now, fire) => {
        pass++
        runDue(now, (timer) => {
          if (timer.kind === "Retention") passes.push(pass)
          fire(timer)
        })
      }
      yield* h.core.runSync((state, now) => state.timers.set({ kind: "Retention", id: tenantId, at: now }))
      for (let i = 0; i < 200 && h.state.runsById.size > 2; i++) yield* Effect.sleep("10 millis")
      expect(left(h, b)).toMatchObject({ runs: [0, 1], events: [], storedEvents: 0, workers: [0], finished: 1 })
      expect(passes.length).toBeGreaterThanOrEqual(3)
      expect(new Set(passes).size).toBe(passes.length)
    }))

  it.scoped("under TestClock, goes in the one clock adjustment that makes it due", () =>
    Effect.gen(function*() {
      const h = yield* harness(policy)
      const b = yield* backlog(h)
      yield* jump(h, 999)
      expect(left(h, b).runs).toHaveLength(602)
      yield* jump(h, 1)
      expect(left(h, b)).toMatchObject({ runs: [0, 1], listed: [1, 0], events: [], storedEvents: 0, workers: [0], finished: 1 })
      // the child of the running parent is looked at again by the next sweep, a second later
      expect(h.state.timers.get("Retention", tenantId)?.at).toBe((yield* Clock.currentTimeMillis) + countSweepDelayMs)
    }))
})

describe("Engine.layer retention options", () => {
  it("default to a day, 10,000 runs, an hour and 100 workers; false keeps everything; bad values are refused", () => {
    expect(retentionPolicy(undefined)).toEqual({ maxAgeMs: 24 * HOUR, maxRuns: 10_000, workerMaxAgeMs: HOUR, maxInactiveWorkers: 100 })
    expect(retentionPolicy({ maxRuns: 5, maxAge: "2 hours" })).toEqual({
      maxAgeMs: 2 * HOUR,
      maxRuns: 5,
      workerMaxAgeMs: HOUR,
      maxInactiveWorkers: 100
    })
    expect(retentionPolicy({ maxRuns: Infinity, maxAge: Duration.infinity })).toMatchObject({ maxRuns: Infinity, maxAgeMs: Infinity })
    expect(retentionPolicy(false)).toEqual(keepEverything)
    expect(retentionPolicy({ maxRuns: -1 })).toBe("retention.maxRuns must be a whole number >= 0 or Infinity, got -1")
    expect(retentionPolicy({ maxInactiveWorkers: 1.5 })).toBe(
      "retention.maxInactiveWorkers must be a whole number >= 0 or Infinity, got 1.5"
    )
    expect(Engine.defaultRetention).toEqual({ maxAge: "1 day", maxRuns: 10_000, workerMaxAge: "1 hour", maxInactiveWorkers: 100 })
  })
  it.scoped("an invalid option is a typed EngineOptionsError from Engine.make and mintToken, not a defect", () =>
    Effect.gen(function*() {
      expect(yield* Effect.exit(Engine.make({ retention: { maxRuns: -1 } }))).toEqual(
        Exit.fail(new Engine.EngineOptionsError({ message: "Engine: retention.maxRuns must be a whole number >= 0 or Infinity, got -1" }))
      )
      expect(yield* Effect.exit(Engine.make({ tenantId: "tenant-1" }))).toEqual(
        Exit.fail(new Engine.EngineOptionsError({ message: "Engine: tenantId must be a UUID, got tenant-1" }))
      )
      expect(yield* Effect.exit(Engine.make({ runEventsGrace: "soon" as never }))).toEqual(
        Exit.fail(new Engine.EngineOptionsError({ message: "Engine: runEventsGrace must be a finite Duration, got soon" }))
      )
      const engine = yield* Engine.make()
      expect(yield* Effect.flip(engine.mintToken({ tenantId: "nope" }))).toEqual(
        new Engine.EngineOptionsError({ message: "Engine.mintToken: tenantId must be a UUID, got nope" })
      )
    }))
})
