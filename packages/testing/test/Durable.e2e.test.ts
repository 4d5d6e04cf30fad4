/**
 * Durable tasks end to end: our worker and client on the local engine over loopback gRPC
 * (`V1Dispatcher/DurableTask`), under the TestClock (HatchetTest), asserting what Hatchet does:
 * - a durable sleep of a week ends once the engine's clock has moved a week (no real waiting),
 *   and `now` is the engine-recorded time on each side of it;
 * - a memoized step runs once, and a wait for an event ends with the event pushed after it began,
 *   its payload decoded; with a scope and a lookback, an event pushed before the wait counts;
 * - children: one, several, and a failing one whose typed error reaches the parent;
 * - a task waiting longer than its `evictAfter` is evicted (slot freed, execution timeout
 *   stopped) and restored when its week-long sleep ends, past its hour of execution timeout;
 * - a durable task of a workflow (`Workflow.durableTask`) sleeps after its parent;
 * - a worker shut down mid-wait hands the task back to the engine (evicted, not failed); the
 *   event restores it on another worker, which replays the log: the memoized charge does not run
 *   again, and the run completes;
 * - a replay that makes another durable call at a recorded node fails with the engine's
 *   non-determinism error.
 */
import { Hatchet, Runs, Worker } from "@effect-hatchet/sdk"
import { TaskFailed } from "@effect-hatchet/sdk/TaskError"
import { expect, layer } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Exit, Layer, Ref, Scope, TestClock } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import {
  Checkout,
  CheckoutLive,
  counts,
  DoubleLive,
  drift,
  Drifting,
  DriftingLive,
  FollowUp,
  FollowUpLive,
  Hibernate,
  HibernateLive,
  LookBack,
  LookBackLive,
  Parent,
  ParentLive,
  Sleeper,
  SleeperLive
} from "./durableFlows.js"

/** The real clock: the tests wait (a little) in real time while the TestClock stands still. */
const liveClock = Clock.make()

/** Polls, in real time, until `check` holds (at most 10 s). */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = (yield* liveClock.currentTimeMillis) + 10_000
    while (!(yield* check)) {
      if ((yield* liveClock.currentTimeMillis) > deadline) return yield* Effect.dieMessage("condition not reached in 10 s")
      yield* Effect.sleep("5 millis").pipe(Effect.withClock(liveClock))
    }
  })

/** Until the worker has `n` durable tasks waiting for the engine. */
const waiting = (worker: Worker.WorkerShape, n = 1) => eventually(Effect.map(worker.durableWaiting, (w) => w >= n))

const resetCounts = Effect.all([Ref.set(counts.invocations, 0), Ref.set(counts.charges, 0)], { discard: true })

const TestLive = HatchetTest.layer({
  workflows: [SleeperLive, CheckoutLive, LookBackLive, ParentLive, DoubleLive, FollowUpLive, HibernateLive]
})

layer(TestLive, { timeout: 30_000 })("durable tasks end to end", (it) => {
  it.effect("a durable sleep of a week ends when the engine's clock has moved a week", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      const handle = yield* Hatchet.runNoWait(Sleeper, { days: 7 })
      yield* waiting(worker)
      // settled: the waiting durable task counts as idle
      yield* HatchetTest.adjust("6 days")
      expect(yield* (yield* Runs.Runs).status(handle.runId)).toBe("RUNNING")
      yield* HatchetTest.adjust("1 day")
      const result = yield* handle.result
      expect(new Date(result.after).getTime() - new Date(result.before).getTime()).toBeGreaterThanOrEqual(
        Duration.toMillis(Duration.days(7))
      )
    }))

  it.effect("a task waiting longer than evictAfter is evicted (its slot freed, its timeout stopped), then restored", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      const handle = yield* Hatchet.runNoWait(Hibernate, {})
      yield* waiting(worker)
      yield* HatchetTest.adjust("11 minutes")
      // evicted: nothing runs on the worker, the engine keeps the task (RUNNING, evicted)
      yield* eventually(Effect.map(worker.runningTasks, (n) => n === 0))
      expect(yield* worker.slotsInUse).toBe(0)
      expect(yield* (yield* Runs.Runs).status(handle.runId)).toBe("RUNNING")
      // a week later (past its hour of execution timeout) the sleep ends: restored, it replays and completes
      yield* HatchetTest.adjust("7 days")
      expect(yield* handle.result).toBe(2)
    }))

  it.effect("a memoized step runs once; the wait ends with the event pushed after it began, decoded", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const worker = yield* Worker.Worker
      const handle = yield* Hatchet.runNoWait(Checkout, { orderId: "o-1", amount: 10 })
      yield* waiting(worker)
      yield* Hatchet.push("approval:o-1", { approved: true, by: "ada" })
      expect(yield* handle.result).toEqual({ chargeId: "ch-o-1", approval: { approved: true, by: "ada" } })
      expect(yield* Ref.get(counts.charges)).toBe(1)
      expect(yield* Ref.get(counts.invocations)).toBe(1)
    }))

  it.effect("with a scope and a lookback, an event pushed before the wait began ends it", () =>
    Effect.gen(function*() {
      yield* Hatchet.push("scoped:s-1", { approved: false, by: "early" }, { scope: "s-1" })
      // another scope does not count
      yield* Hatchet.push("scoped:s-1", { approved: true, by: "other scope" }, { scope: "s-2" })
      yield* TestClock.adjust("1 minute")
      expect(yield* Hatchet.run(LookBack, { id: "s-1" })).toEqual({ approved: false, by: "early" })
    }))

  it.effect("a durable task of a workflow (Workflow.durableTask) sleeps a day after its parent", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      const handle = yield* Hatchet.runNoWait(FollowUp, { email: "ada" })
      yield* waiting(worker)
      yield* HatchetTest.adjust("1 day")
      expect(yield* handle.result).toEqual({ signup: { userId: "u-ada" }, nudge: { nudged: "u-ada" } })
    }))

  it.effect("children: one, several, and a failing one whose typed error reaches the parent", () =>
    Effect.gen(function*() {
      expect(yield* Hatchet.run(Parent, { n: 21 })).toEqual({ one: 42, many: [2, 4, 6], failure: "too big: 1000" })
    }))
})

/** The engine and the client (the layer's own worker runs nothing durable). */
const EngineLive = HatchetTest.layer({ workflows: [DoubleLive] })

/** A worker of the durable flows in a scope of its own, closed by the test. */
const startWorker = (name: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Worker.layer({ name, workflows: [CheckoutLive, DriftingLive], shutdownGracePeriod: "5 seconds" }),
      scope
    )
    return { scope, worker: Context.get(context, Worker.Worker) }
  })

layer(EngineLive, { timeout: 30_000 })("a durable worker shut down mid-wait", (it) => {
  it.effect("evicts the task; the event restores it on another worker, which replays the log", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const a = yield* startWorker("durable-a")
      const handle = yield* Hatchet.runNoWait(Checkout, { orderId: "o-2", amount: 5 })
      yield* waiting(a.worker)
      expect(yield* Ref.get(counts.charges)).toBe(1)

      // worker a goes away mid-wait: the task is handed back to the engine, not failed
      yield* Scope.close(a.scope, Exit.void)
      expect(yield* (yield* Runs.Runs).status(handle.runId)).toBe("RUNNING")

      const b = yield* startWorker("durable-b")
      yield* Hatchet.push("approval:o-2", { approved: true, by: "grace" })
      expect(yield* handle.result).toEqual({ chargeId: "ch-o-2", approval: { approved: true, by: "grace" } })
      // the body ran twice (once per worker); the memoized charge ran once
      expect(yield* Ref.get(counts.invocations)).toBe(2)
      expect(yield* Ref.get(counts.charges)).toBe(1)
      yield* Scope.close(b.scope, Exit.void)
    }))
})

layer(EngineLive, { timeout: 30_000 })("a replay that makes another durable call", (it) => {
  it.effect("fails the task with the engine's non-determinism error", () =>
    Effect.gen(function*() {
      const a = yield* startWorker("drift-a")
      const handle = yield* Hatchet.runNoWait(Drifting, {})
      yield* waiting(a.worker)
      yield* Scope.close(a.scope, Exit.void)
      const b = yield* startWorker("drift-b")
      yield* Hatchet.push("drift:go", {})
      // the replay memoizes under "step-2" where the log holds "step-1"
      const failure = yield* Effect.flip(handle.result)
      expect(failure).toBeInstanceOf(TaskFailed)
      expect((failure as TaskFailed).message).toMatch(/non-determinism error in task .* at node 1:1/)
      expect(yield* Ref.get(drift)).toBe(2)
      yield* Scope.close(b.scope, Exit.void)
    }))
})
