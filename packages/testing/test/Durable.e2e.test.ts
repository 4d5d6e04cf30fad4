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
 * - a worker that dies mid-wait (its connection black-holed by a `TcpProxy`: no drain, no
 *   eviction, its heartbeats stop) keeps the task until the engine's liveness window (30 s on the
 *   TestClock) passes; the engine re-queues it, another worker replays the log without running
 *   the memoized charge again, and the run completes; the dead worker coming back is told its
 *   invocation is stale (`server_evict`) and stops it, recording nothing on the engine;
 * - a replay that makes another durable call at a recorded node fails with the engine's
 *   non-determinism error;
 * - a wait whose event expression does not compile is refused before sending (`InvalidArgument`
 *   with cel-go's message), where Hatchet would record it and never match it; a correct one is
 *   met by the event it accepts.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Runs, Worker, Workers } from "@effect-hatchet/sdk"
import { TaskFailed } from "@effect-hatchet/sdk/TaskError"
import { expect, layer } from "@effect/vitest"
import {
  Clock,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Exit,
  FiberRef,
  HashSet,
  Layer,
  Logger,
  Option,
  Ref,
  Scope,
  TestClock
} from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import * as TcpProxy from "../src/TcpProxy.js"
import {
  Checkout,
  CheckoutLive,
  counts,
  DoubleLive,
  drift,
  Drifting,
  DriftingLive,
  eventually,
  FollowUp,
  FollowUpLive,
  Hibernate,
  HibernateLive,
  LookBack,
  LookBackLive,
  MixedParent,
  MixedParentLive,
  Parent,
  ParentLive,
  Sleeper,
  SleeperLive,
  Typo,
  TypoLive,
  waiting
} from "./durableFlows.js"

const resetCounts = Effect.all([Ref.set(counts.invocations, 0), Ref.set(counts.charges, 0)], { discard: true })

const TestLive = HatchetTest.layer({
  workflows: [SleeperLive, CheckoutLive, LookBackLive, ParentLive, DoubleLive, FollowUpLive, HibernateLive, MixedParentLive, TypoLive]
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

  it.effect("a wait whose expression does not compile is refused before sending; a correct one is met by its event", () =>
    Effect.gen(function*() {
      const refused = yield* Hatchet.run(Typo, { id: "t-1", expression: "input.ok ==" })
      expect(refused).toEqual({
        refused: "invalid wait: conditions.waitFor[0].or[0].expression: does not compile:\n" +
          "      ERROR: <input>:1:10: Syntax error: found = but expecting end of input\n" +
          "       | input.ok ==\n" +
          "       | .........^"
      })
      const worker = yield* Worker.Worker
      const handle = yield* Hatchet.runNoWait(Typo, { id: "t-2", expression: "input.ok == true" })
      yield* waiting(worker)
      yield* Hatchet.push("typo:t-2", { ok: false })
      yield* Hatchet.push("typo:t-2", { ok: true })
      expect(yield* handle.result).toEqual({ met: ["typo:t-2"] })
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

  it.effect("a child spawned through the client and one through the durable context are two children, each with its own result", () =>
    Effect.gen(function*() {
      expect(yield* Hatchet.run(MixedParent, {})).toEqual({ viaClient: 2, viaDurable: 10 })
    }))
})

/** The engine and the client (the layer's own worker runs nothing durable). */
const EngineLive = HatchetTest.layer({ workflows: [DoubleLive] })

/**
 * A worker of the durable flows in a scope of its own, closed by the test; on the layer's channel,
 * or on a channel of its own to `hostPort` (a proxy).
 */
const startWorker = (name: string, options: { readonly hostPort?: string; readonly shutdownGracePeriod?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const worker = Worker.layer({
      name,
      workflows: [CheckoutLive, DriftingLive],
      shutdownGracePeriod: options.shutdownGracePeriod ?? "5 seconds",
      // as HatchetTest's worker: a jump of the TestClock during a heartbeat is not a hang
      heartbeatTimeout: Duration.infinity
    })
    const engine = yield* Engine.Engine
    const context = yield* Layer.buildWithScope(
      options.hostPort === undefined ? worker : worker.pipe(
        Layer.provide(Hatchet.layer({ token: engine.token, apiUrl: engine.apiUrl, hostPort: options.hostPort, tlsStrategy: "none" })),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
      ),
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

/** The engine's liveness window (`deadAfterMs`): a worker silent this long has its attempts re-queued. */
const deadAfterSeconds = 30

/** The engine with Hatchet's liveness: a worker silent for 30 s (on the TestClock) has its attempts re-queued. */
const HeartbeatEngineLive = HatchetTest.layer({ workflows: [DoubleLive], engine: { workerLiveness: "heartbeat" } })

layer(HeartbeatEngineLive, { timeout: 30_000 })("a durable worker killed mid-wait (no shutdown)", (it) => {
  it.scoped("the engine re-queues the task after the liveness window; another worker replays it from the log", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const engine = yield* Engine.Engine
      const runs = yield* Runs.Runs
      const workers = yield* Workers.Workers
      const proxy = yield* TcpProxy.make({ target: engine.grpcAddress })
      // what worker a logs (its fibers inherit the logger), to tell why its stale attempt stops
      const aLogs: Array<string> = []
      const a = yield* startWorker("death-a", { hostPort: proxy.address, shutdownGracePeriod: Duration.zero }).pipe(
        Effect.locallyWith(FiberRef.currentLoggers, HashSet.add(Logger.make(({ message }) => aLogs.push(String(message)))))
      )
      const handle = yield* Hatchet.runNoWait(Checkout, { orderId: "o-3", amount: 7 })
      yield* waiting(a.worker)
      expect(yield* Ref.get(counts.charges)).toBe(1)
      const aId = yield* Effect.flatMap(a.worker.workerId, (id) => id)

      // another worker, connected directly, is up (and idle) while a is alive
      const b = yield* startWorker("death-b")
      const bId = yield* eventually(Effect.map(b.worker.workerId, Option.isSome)).pipe(
        Effect.zipRight(Effect.flatMap(b.worker.workerId, (id) => id))
      )

      // worker a's machine dies: every byte to and from it is black-holed, new connections too; it
      // neither drains nor evicts, and its heartbeats stop reaching the engine
      yield* proxy.freeze({ newConnections: true })
      // the clock moves a second at a time, and b's heartbeats land on the engine as they fall due
      // (it stays schedulable: a beat in the last 5 s), so only a's silence can make it dead
      const step = (s: number) =>
        Effect.gen(function*() {
          yield* TestClock.adjust("1 second")
          const now = yield* Clock.currentTimeMillis
          yield* eventually(
            Effect.map(workers.get(bId), (w) => w.lastHeartbeatAt !== undefined && now - w.lastHeartbeatAt.getTime() < 5_000)
          )
          if (s < deadAfterSeconds) {
            // within the liveness window the attempt stays with the silent worker
            expect((yield* runs.get(handle.runId)).taskEvents.map((e) => e.eventType)).not.toContain("REASSIGNED")
          }
        })
      yield* Effect.forEach(Array.from({ length: deadAfterSeconds + 1 }, (_, i) => i + 1), step, { discard: true })
      // past it, the engine re-queues the attempt (not a failure) and b replays the task from its log
      yield* eventually(Effect.map(runs.get(handle.runId), (d) => d.taskEvents.some((e) => e.eventType === "REASSIGNED")))
      yield* waiting(b.worker)
      expect(yield* runs.status(handle.runId)).toBe("RUNNING")
      yield* Hatchet.push("approval:o-3", { approved: true, by: "lin" })
      const output = { chargeId: "ch-o-3", approval: { approved: true, by: "lin" } }
      expect(yield* handle.result).toEqual(output)
      // the body ran twice (once per worker); the memoized charge ran once, on the dead worker
      expect(yield* Ref.get(counts.invocations)).toBe(2)
      expect(yield* Ref.get(counts.charges)).toBe(1)

      // the dead worker comes back: the engine hears its heartbeats again, and its durable stream's
      // `worker_status` (held back by the freeze, then sent every second) names invocation 1 of a
      // task now at invocation 2, so the engine answers `server_evict` ("stale invocation"), as
      // upstream does; a stops that attempt and reports nothing (its slot freed, nothing left running)
      yield* proxy.thaw
      const now = yield* Clock.currentTimeMillis
      yield* eventually(Effect.map(workers.get(aId), (w) => w.lastHeartbeatAt !== undefined && now - w.lastHeartbeatAt.getTime() < 5_000))
      yield* eventually(Effect.map(a.worker.runningTasks, (n) => n === 0))
      expect(yield* a.worker.durableWaiting).toBe(0)
      expect(yield* a.worker.slotsInUse).toBe(0)
      expect(aLogs.filter((line) => line.includes("the engine evicted durable task"))).toEqual([
        `the engine evicted durable task ${handle.runId} (invocation 1): stale invocation: server has 2, worker sent 1`
      ])
      expect(yield* runs.status(handle.runId)).toBe("COMPLETED")
      // a is shut down with nothing to hand back; the run stays completed with b's output
      yield* Scope.close(a.scope, Exit.void)
      expect(yield* runs.status(handle.runId)).toBe("COMPLETED")
      // the engine recorded nothing from a after it was declared dead; b's attempt finished the task
      const events = (yield* runs.get(handle.runId)).taskEvents.map((e) => [e.eventType, e.workerId])
      expect(events.filter(([, worker]) => worker === aId).map(([type]) => type)).toEqual([
        "ASSIGNED",
        "SENT_TO_WORKER",
        "STARTED",
        "REASSIGNED"
      ])
      expect(events.at(-1)).toEqual(["FINISHED", bId])
      expect(yield* (yield* Hatchet.handle(Checkout, handle.runId)).result).toEqual(output)
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
