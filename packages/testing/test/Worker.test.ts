import { SDKS, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Dispatcher, HatchetConfig, TaskError, TaskExecution, Worker } from "@effect-hatchet/sdk"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Ref, Schema, Scope, Stream, TestClock } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import { CardDeclined, JobsLive, OrderFlow, OrderFlowLive, Script, ScriptLive } from "./fixtures.js"

const { STEP_EVENT_TYPE_COMPLETED: COMPLETED, STEP_EVENT_TYPE_FAILED: FAILED, STEP_EVENT_TYPE_STARTED: STARTED } = StepActionEventType

const UNAVAILABLE = 14
const FAILED_PRECONDITION = 9

type Options = Omit<Worker.WorkerSettings, "name">

/**
 * How the worker reads the fake's assignment stream: in place (`listenForEach`, as from the
 * engine), or as the Stream of a dispatcher that only has `listen` (a user's fake).
 */
type ListenMode = "listenForEach" | "listen only"

/** The fake's services; with "listen only", its Dispatcher without `listenForEach`. */
const fakeServices = (fake: FakeDispatcher.FakeDispatcher, mode: ListenMode) =>
  mode === "listenForEach" ? fake.layer : Layer.effect(
    Dispatcher.Dispatcher,
    Effect.map(Dispatcher.Dispatcher, ({ listenForEach: _, ...dispatcher }): Dispatcher.DispatcherShape => dispatcher)
  ).pipe(Layer.provideMerge(fake.layer))

/** Builds a worker over a fresh fake in its own scope (closed by the test, or at its end). */
const startWorker = (options: Options = {}, mode: ListenMode = "listenForEach") =>
  Effect.gen(function*() {
    const fake = yield* FakeDispatcher.make
    const script = yield* ScriptLive
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(
      Layer.scoped(Worker.Worker, Worker.make({ name: "test-worker", workflows: [OrderFlowLive, JobsLive], ...options })).pipe(
        Layer.provide(Layer.succeed(Script, script)),
        Layer.provide(fakeServices(fake, mode))
      ),
      scope
    )
    return { fake, script, scope, worker: Context.get(context, Worker.Worker) }
  })

const payloadOf = (event: { readonly eventPayload: string }) => JSON.parse(event.eventPayload)

const eventsFor = (fake: FakeDispatcher.FakeDispatcher, taskRunExternalId: string) =>
  Effect.map(fake.calls, (c) => c.events.filter((e) => e.taskRunExternalId === taskRunExternalId))

const completedOrFailed = (fake: FakeDispatcher.FakeDispatcher, taskRunExternalId: string) =>
  fake.waitForEvent((e) => e.taskRunExternalId === taskRunExternalId && (e.eventType === COMPLETED || e.eventType === FAILED))

describe("Worker", () => {
  it("runs the implementations it is given: what their handlers need, the channel and Workers are required (type level)", () => {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const layer = Worker.layer({ name: "w", workflows: [OrderFlowLive, JobsLive] })
    expectTypeOf<Layer.Layer.Context<typeof layer>>().toEqualTypeOf<
      | import("@effect-hatchet/sdk").GrpcTransport.GrpcTransport
      | import("@effect-hatchet/sdk").Workers.Workers
      | Script
    >()
    expectTypeOf<Layer.Layer.Success<typeof layer>>().toEqualTypeOf<Worker.Worker>()
    // over the low-level gRPC services (a fake's): make
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const made = Worker.make({ name: "w", workflows: [JobsLive] })
    expectTypeOf<Effect.Effect.Context<typeof made>>().toEqualTypeOf<
      | Scope.Scope
      | import("@effect-hatchet/sdk").Dispatcher.Dispatcher
      | import("@effect-hatchet/sdk").Admin.Admin
      | import("@effect-hatchet/sdk").Events.Events
      | import("@effect-hatchet/sdk").Workers.Workers
      | Script
    >()
    // a definition is not an implementation
    // @ts-expect-error
    Worker.layer({ name: "w", workflows: [OrderFlow] })
  })

  it.scoped("registers exactly the definitions its implementation layers implement, merged or not", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      const script = yield* ScriptLive
      yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "w", workflows: [Layer.mergeAll(OrderFlowLive, JobsLive)] })).pipe(
          Layer.provide([Layer.succeed(Script, script), fake.layer])
        )
      )
      const calls = yield* fake.waitFor((c) => c.listen.length > 0 ? c : undefined)
      expect(calls.putWorkflow.map((r) => r.name)).toEqual(["order-processing", "jobs"])
    }))

  it.scoped("registers workflows, then the worker with slot_config, labels and runtime info", () =>
    Effect.gen(function*() {
      const { fake, worker } = yield* startWorker({ slots: 7, labels: { region: "eu", gpu: 2 }, namespace: "ns_" })
      // the connection's first heartbeat and its listen go out together, in either order
      const calls = yield* fake.waitFor((c) => c.listen.length > 0 && c.heartbeat.length > 0 ? c : undefined)
      expect(calls.putWorkflow.map((r) => r.name)).toEqual(["ns_order-processing", "ns_jobs"])
      expect(calls.register).toHaveLength(1)
      const { runtimeInfo, ...register } = calls.register[0]
      expect(register).toEqual({
        workerName: "ns_test-worker",
        actions: ["ns_order-processing:validate", "ns_order-processing:charge", "ns_jobs:work"],
        services: ["default"],
        slots: undefined,
        labels: { region: { strValue: "eu" }, gpu: { intValue: 2 } },
        webhookId: undefined,
        slotConfig: { default: 7 }
      })
      expect(runtimeInfo?.language).toBe(SDKS.TYPESCRIPT)
      expect(runtimeInfo?.sdkVersion).toBe("0.1.0")
      expect(calls.listen).toEqual(["worker-1"])
      expect(calls.heartbeat).toEqual(["worker-1"])
      expect(yield* worker.workerId).toEqual(Option.some("worker-1"))
      expect(worker.actions).toEqual(register.actions)
    }))

  it.scoped("takes the namespace and the send limit from HatchetConfig when it is provided", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      const script = yield* ScriptLive
      const config = { namespace: "cfg_", grpcMaxSendMessageLength: 64 * 1024 } as HatchetConfig.HatchetConfig["Type"]
      yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "w", workflows: [JobsLive] })).pipe(
          Layer.provide([Layer.succeed(Script, script), fake.layer, Layer.succeed(HatchetConfig.HatchetConfig, config)])
        )
      )
      const calls = yield* fake.waitFor((c) => c.listen.length > 0 ? c : undefined)
      expect(calls.register[0].workerName).toBe("cfg_w")
      expect(calls.register[0].actions).toEqual(["cfg_jobs:work"])
      const big = yield* fake.assign({ actionId: "cfg_jobs:work", input: { mode: "big", size: 100_000 } })
      expect(payloadOf(yield* completedOrFailed(fake, big.taskRunExternalId)).effect_hatchet.kind).toBe("OutputTooLarge")
    }))

  it.scoped("fails to start with a typed error on invalid options, before sending anything", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(startWorker({ slots: 0 }))
      expect(error._tag).toBe("WorkerError")
      expect(error.reason).toBe("InvalidOptions")
      expect(error.message).toContain("slots: must be a positive integer, got 0")
      const threshold = yield* Effect.flip(startWorker({ eventLoopBlockThreshold: 0 }))
      expect(threshold.message).toContain("eventLoopBlockThreshold: must be longer than zero, got 0")
    }))

  it.scoped("runs a task: COMPLETED with the Schema-encoded output, and STARTED (after it, when both leave together)", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      const action = yield* fake.assign({
        actionId: "order-processing:charge",
        retryCount: 2,
        input: { orderId: "o-1", amount: 42 },
        parents: { validate: { valid: true } }
      })
      yield* completedOrFailed(fake, action.taskRunExternalId)
      yield* fake.waitForEvent((e) => e.taskRunExternalId === action.taskRunExternalId && e.eventType === STARTED)
      const events = yield* eventsFor(fake, action.taskRunExternalId)
      // the handler returns at once: its STARTED and its result leave in one round, the result first
      expect(events.map((e) => e.eventType)).toEqual([COMPLETED, STARTED])
      expect(events[1].eventPayload).toBe(`""`)
      expect(events[0].eventPayload).toBe(`{"chargeId":"ch-o-1","at":"1970-01-01T00:00:00.000Z"}`)
      for (const event of events) {
        expect(event).toMatchObject({
          workerId: "worker-1",
          taskRunExternalId: action.taskRunExternalId,
          jobRunId: action.jobRunId,
          taskId: action.taskId,
          actionId: "order-processing:charge",
          retryCount: 2
        })
      }
    }))

  it.scoped("fails invalid input non-retryably, naming the field, and keeps serving other tasks", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      const bad = yield* fake.assign({
        actionId: "order-processing:charge",
        input: { orderId: "o-2", amount: "lots" },
        parents: { validate: { valid: true } }
      })
      const good = yield* fake.assign({ actionId: "order-processing:validate", input: { orderId: "o-3", amount: 1 } })
      const failed = yield* completedOrFailed(fake, bad.taskRunExternalId)
      expect(failed.eventType).toBe(FAILED)
      expect(failed.shouldNotRetry).toBe(true)
      const payload = payloadOf(failed)
      expect(payload.message).toBe(
        `Invalid input for task "charge" of workflow "order-processing": amount: Expected number, actual "lots"`
      )
      expect(payload.effect_hatchet.kind).toBe("InvalidInput")
      const ok = yield* completedOrFailed(fake, good.taskRunExternalId)
      expect(ok.eventType).toBe(COMPLETED)
      expect(payloadOf(ok)).toEqual({ valid: true })
    }))

  it.scoped("reports typed failures as data the client decodes back, defects with the pretty cause", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      const declined = yield* fake.assign({
        actionId: "order-processing:charge",
        input: { orderId: "o-4", amount: 5 },
        parents: { validate: { valid: false } }
      })
      const typed = yield* completedOrFailed(fake, declined.taskRunExternalId)
      expect(typed.eventType).toBe(FAILED)
      expect(typed.shouldNotRetry).toBe(false)
      expect(payloadOf(typed)).toEqual({
        message: `CardDeclined: { "reason": "invalid order" }`,
        effect_hatchet: { v: 1, kind: "Failure", error: { _tag: "CardDeclined", reason: "invalid order" } }
      })
      const decoded = yield* TaskExecution.decodeFailure(OrderFlow, "charge", typed.eventPayload)
      expect(decoded).toEqual(new CardDeclined({ reason: "invalid order" }))

      const died = yield* fake.assign({
        actionId: "order-processing:charge",
        input: { orderId: "o-5", amount: 666 },
        parents: { validate: { valid: true } }
      })
      const defect = yield* completedOrFailed(fake, died.taskRunExternalId)
      expect(defect.eventType).toBe(FAILED)
      expect(defect.shouldNotRetry).toBe(false)
      const payload = payloadOf(defect)
      expect(payload.message).toBe("Error: boom")
      expect(payload.effect_hatchet.kind).toBe("Defect")
      expect(payload.stack).toContain("boom")
      const decodedDefect = yield* TaskExecution.decodeFailure(OrderFlow, "charge", defect.eventPayload)
      expect(decodedDefect).toBeInstanceOf(TaskError.TaskFailed)
      expect(decodedDefect).toMatchObject({ taskName: "charge", kind: "Defect", message: "Error: boom" })
    }))

  it.scoped("sets should_not_retry for NonRetryableError and keeps the typed error", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      const action = yield* fake.assign({
        actionId: "order-processing:charge",
        input: { orderId: "o-6", amount: 13 },
        parents: { validate: { valid: true } }
      })
      const failed = yield* completedOrFailed(fake, action.taskRunExternalId)
      expect(failed.shouldNotRetry).toBe(true)
      expect(yield* TaskExecution.decodeFailure(OrderFlow, "charge", failed.eventPayload)).toEqual(
        new CardDeclined({ reason: "unlucky" })
      )
    }))

  it.scoped("interrupts a task on CANCEL_STEP_RUN: its finalizer runs and nothing more is reported", () =>
    Effect.gen(function*() {
      const { fake, script, worker } = yield* startWorker()
      const action = yield* fake.assign({ actionId: "jobs:work", input: { mode: "forever" } })
      yield* fake.waitForEvent((e) => e.taskRunExternalId === action.taskRunExternalId && e.eventType === STARTED)
      yield* fake.cancel(action.taskRunExternalId)
      yield* Effect.iterate(1, { while: (n) => n > 0, body: () => worker.runningTasks })
      expect(yield* Ref.get(script.finalized)).toBe(1)
      // a later task still runs, and nothing else was reported for the cancelled one
      const next = yield* fake.assign({ actionId: "jobs:work", input: { mode: "quick" } })
      yield* completedOrFailed(fake, next.taskRunExternalId)
      expect((yield* eventsFor(fake, action.taskRunExternalId)).map((e) => e.eventType)).toEqual([STARTED])
    }))

  it.scoped("cancels itself through Admin.cancelTasks and reports nothing", () =>
    Effect.gen(function*() {
      const { fake, script, worker } = yield* startWorker()
      const action = yield* fake.assign({ actionId: "jobs:work", input: { mode: "cancel-self" } })
      const calls = yield* fake.waitFor((c) => c.cancelTasks.length > 0 ? c : undefined)
      expect(calls.cancelTasks[0].externalIds).toEqual([action.taskRunExternalId])
      yield* Effect.iterate(1, { while: (n) => n > 0, body: () => worker.runningTasks })
      expect(yield* Ref.get(script.finalized)).toBe(1)
      const next = yield* fake.assign({ actionId: "jobs:work", input: { mode: "quick" } })
      yield* completedOrFailed(fake, next.taskRunExternalId)
      expect((yield* eventsFor(fake, action.taskRunExternalId)).map((e) => e.eventType)).toEqual([STARTED])
    }))

  it.scoped("runs a duplicate START once; a START for a newer retry supersedes the stale attempt", () =>
    Effect.gen(function*() {
      const { fake, script } = yield* startWorker()
      const first = yield* fake.assign({ actionId: "jobs:work", taskRunExternalId: "t-dup", input: { mode: "wait" } })
      yield* fake.waitForEvent((e) => e.taskRunExternalId === "t-dup" && e.eventType === STARTED)
      yield* fake.assign({ actionId: "jobs:work", taskRunExternalId: "t-dup", input: { mode: "wait" } })
      yield* fake.assign({ actionId: "jobs:work", taskRunExternalId: "t-dup", retryCount: 0, input: { mode: "wait" } })
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      expect(yield* Ref.get(script.runs)).toBe(1)

      yield* fake.assign({ actionId: "jobs:work", taskRunExternalId: "t-dup", retryCount: 1, input: { mode: "quick" } })
      const done = yield* fake.waitForEvent((e) => e.taskRunExternalId === "t-dup" && e.eventType === COMPLETED)
      expect(done.retryCount).toBe(1)
      expect(payloadOf(done)).toEqual({ result: "done 1" })
      expect(yield* Ref.get(script.runs)).toBe(2)
      expect(yield* Ref.get(script.finalized)).toBe(1) // the stale attempt was interrupted first
      yield* fake.waitForEvent((e) => e.taskRunExternalId === "t-dup" && e.eventType === STARTED && e.retryCount === 1)
      const events = yield* eventsFor(fake, first.taskRunExternalId)
      expect(events.map((e) => [e.eventType, e.retryCount])).toEqual([[STARTED, 0], [COMPLETED, 1], [STARTED, 1]])
    }))

  it.scoped("limits running tasks to the slots; releaseSlot frees a permit", () =>
    Effect.gen(function*() {
      const { fake, script } = yield* startWorker({ slots: 2 })
      const a = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      const b = yield* fake.assign({ actionId: "jobs:work", input: { mode: "release" } })
      const c = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      const d = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      // a and b start; b releases its slot, so c starts; d waits
      yield* fake.waitFor((calls) => calls.releaseSlot.length > 0 ? calls : undefined)
      yield* fake.waitForEvent((e) => e.taskRunExternalId === c.taskRunExternalId && e.eventType === STARTED)
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const started = (yield* fake.calls).events.filter((e) => e.eventType === STARTED).map((e) => e.taskRunExternalId)
      expect(started).toEqual([a.taskRunExternalId, b.taskRunExternalId, c.taskRunExternalId])
      expect((yield* fake.calls).releaseSlot).toEqual([b.taskRunExternalId])
      // opening the gate lets everything finish, d included
      yield* Deferred.succeed(script.gate, void 0)
      for (const task of [a, b, c, d]) {
        expect((yield* completedOrFailed(fake, task.taskRunExternalId)).eventType).toBe(COMPLETED)
      }
    }))

  it.scoped("fails an oversized output with OutputTooLarge instead of sending it", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker({ maxMessageBytes: 64 * 1024 })
      const big = yield* fake.assign({ actionId: "jobs:work", input: { mode: "big", size: 100_000 } })
      const failed = yield* completedOrFailed(fake, big.taskRunExternalId)
      expect(failed.eventType).toBe(FAILED)
      expect(failed.shouldNotRetry).toBe(true)
      const payload = payloadOf(failed)
      expect(payload.effect_hatchet.kind).toBe("OutputTooLarge")
      expect(payload.message).toContain(`The output of task "work" of workflow "jobs" is 97.7 KiB (100013 bytes)`)
      const small = yield* fake.assign({ actionId: "jobs:work", input: { mode: "big", size: 10 } })
      expect((yield* completedOrFailed(fake, small.taskRunExternalId)).eventType).toBe(COMPLETED)
    }))

  it.scoped("ships task logs with PutLog (truncated to the engine's limit) and stream chunks in order", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      const action = yield* fake.assign({ actionId: "jobs:work", retryCount: 1, input: { mode: "log" } })
      const calls = yield* fake.waitFor((c) => c.logs.length >= 3 ? c : undefined)
      expect(calls.logs.map((l) => [l.level, l.message.slice(0, 20), l.taskRunExternalId, l.taskRetryCount])).toEqual([
        ["INFO", `hello from ${action.taskRunExternalId}`.slice(0, 20), action.taskRunExternalId, 1],
        ["WARN", "careful", action.taskRunExternalId, 1],
        ["ERROR", "x".repeat(20), action.taskRunExternalId, 1]
      ])
      expect(calls.logs[1].metadata).toBe(`{"user":"u-1"}`)
      expect(calls.logs[0].metadata).toBe("")
      expect(calls.logs[2].message).toHaveLength(10_000)
      expect(calls.logs[2].message).toMatch(/\.\.\.\[truncated: 20000 characters in total\]$/)
      expect(calls.streams.map((s) => [s.eventIndex, [...s.message]])).toEqual([
        [0, [...new TextEncoder().encode("chunk-0")]],
        [1, [1, 2]]
      ])
    }))
})

describe("Worker connection", () => {
  it.scoped("reconnects after the stream ends or fails, with growing jittered delays, without giving up", () =>
    Effect.gen(function*() {
      const { fake, worker } = yield* startWorker()
      const statuses = yield* Ref.make<Array<Worker.WorkerStatus>>([])
      yield* worker.statusChanges.pipe(
        Stream.runForEach((s) => Ref.update(statuses, (all) => [...all, s])),
        Effect.forkScoped
      )
      yield* fake.waitFor((c) => c.listen.length === 1 ? true : undefined)
      yield* fake.failNextListens(60, UNAVAILABLE, "connection refused")
      yield* fake.endStream
      for (let i = 0; i < 70; i++) yield* TestClock.adjust("15 seconds")
      const calls = yield* fake.calls
      expect(calls.listen.length).toBeGreaterThanOrEqual(62)
      expect(calls.register).toHaveLength(1) // UNAVAILABLE is not "unknown worker": no re-registration
      const reconnects = (yield* Ref.get(statuses)).filter((s): s is Extract<Worker.WorkerStatus, { _tag: "Reconnecting" }> =>
        s._tag === "Reconnecting"
      )
      expect(reconnects.length).toBeGreaterThanOrEqual(61)
      expect(reconnects[0].reason).toBe("the assignment stream ended")
      expect(reconnects[1].reason).toBe("the assignment stream failed: connection refused")
      expect(reconnects.slice(0, 55).map((s) => s.attempt)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1))
      reconnects.slice(0, 55).forEach((s, i) => {
        const base = Math.min(250 * 2 ** i, 10_000)
        const ms = Duration.toMillis(s.delay)
        expect(ms).toBeGreaterThanOrEqual(base * 0.8)
        expect(ms).toBeLessThanOrEqual(base * 1.2)
      })
      // after the failures, the worker is listening again and serves tasks
      expect((yield* worker.status)._tag).toBe("Listening")
      const action = yield* fake.assign({ actionId: "order-processing:validate", input: { orderId: "o", amount: 1 } })
      expect((yield* completedOrFailed(fake, action.taskRunExternalId)).eventType).toBe(COMPLETED)
    }), 90_000) // a liveness guard: 70 clock jumps and 62 reconnects are CPU work, 14 to 32 s on a loaded machine

  for (const mode of ["listenForEach", "listen only"] as const) {
    it.scoped(`${mode}: what the stream delivered before it failed is all handled, in order; NOT_FOUND then registers again`, () =>
      Effect.gen(function*() {
        const { fake, script, worker } = yield* startWorker({}, mode)
        yield* fake.waitFor((c) => c.listen.length === 1 ? true : undefined)
        // three assignments and the failure arrive together, before the worker handles any
        const actions = yield* Effect.forEach(
          ["a", "b", "c"],
          (id) => fake.assign({ actionId: "jobs:work", taskRunExternalId: id, input: { mode: "wait" } })
        )
        yield* fake.failStream(5, "worker not found")
        const reconnecting = yield* worker.statusChanges.pipe(Stream.filter((s) => s._tag === "Reconnecting"), Stream.runHead)
        expect(Option.getOrThrow(reconnecting)).toMatchObject({ reason: "the assignment stream failed: worker not found" })
        const started = yield* fake.waitFor((c) => {
          const ids = c.events.filter((e) => e.eventType === STARTED).map((e) => e.taskRunExternalId)
          return ids.length === 3 ? ids : undefined
        })
        expect(started).toEqual(actions.map((a) => a.taskRunExternalId))
        yield* TestClock.adjust("1 second")
        const calls = yield* fake.waitFor((c) => c.listen.length === 2 ? c : undefined)
        expect(calls.register).toHaveLength(2)
        expect(calls.listen).toEqual(["worker-1", "worker-2"])
        // the tasks run on, and report to the engine under the worker id they were assigned to
        yield* Deferred.succeed(script.gate, undefined)
        for (const action of actions) {
          expect(yield* completedOrFailed(fake, action.taskRunExternalId)).toMatchObject({ eventType: COMPLETED, workerId: "worker-1" })
        }
      }))

    it.scoped(`${mode}: an ended stream reconnects; closing the worker interrupts the listen and closes the stream`, () =>
      Effect.gen(function*() {
        const { fake, scope, worker } = yield* startWorker({}, mode)
        yield* fake.waitFor((c) => c.listen.length === 1 ? true : undefined)
        yield* fake.endStream
        const reconnecting = yield* worker.statusChanges.pipe(Stream.filter((s) => s._tag === "Reconnecting"), Stream.runHead)
        expect(Option.getOrThrow(reconnecting)).toMatchObject({ reason: "the assignment stream ended" })
        yield* TestClock.adjust("1 second")
        yield* fake.waitFor((c) => c.listen.length === 2 ? true : undefined)
        expect(yield* fake.streamOpen).toBe(true)
        const action = yield* fake.assign({ actionId: "order-processing:validate", input: { orderId: "o", amount: 1 } })
        expect((yield* completedOrFailed(fake, action.taskRunExternalId)).eventType).toBe(COMPLETED)
        yield* Scope.close(scope, Exit.void)
        expect(yield* fake.streamOpen).toBe(false)
        expect((yield* worker.status)._tag).toBe("Stopped")
      }))
  }

  it.scoped("reconnects when a heartbeat is rejected with FAILED_PRECONDITION", () =>
    Effect.gen(function*() {
      const { fake, worker } = yield* startWorker()
      yield* fake.waitFor((c) => c.heartbeat.length === 1 ? true : undefined)
      yield* fake.setHeartbeat((_id, n) => n === 2 ? { code: FAILED_PRECONDITION, details: "worker stream is not active" } : "ok")
      yield* TestClock.adjust("4 seconds")
      const reconnecting = yield* worker.statusChanges.pipe(
        Stream.filter((s) => s._tag === "Reconnecting"),
        Stream.runHead
      )
      expect(Option.getOrThrow(reconnecting)).toMatchObject({
        reason: "heartbeat rejected: the engine has no active listener for this worker (worker stream is not active)"
      })
      yield* TestClock.adjust("2 seconds")
      const calls = yield* fake.waitFor((c) => c.listen.length === 2 ? c : undefined)
      expect(calls.listen).toEqual(["worker-1", "worker-1"])
      expect(calls.register).toHaveLength(1)
    }))

  it.scoped("ignores a FAILED_PRECONDITION on the first heartbeat of a connection (the listener may not be up yet)", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker()
      yield* fake.setHeartbeat((_id, n) => n === 2 ? { code: FAILED_PRECONDITION } : "ok")
      yield* fake.endStream
      yield* TestClock.adjust("1 second")
      yield* fake.waitFor((c) => c.heartbeat.length === 2 ? true : undefined)
      for (let i = 0; i < 5; i++) yield* TestClock.adjust("4 seconds")
      expect((yield* fake.calls).listen).toHaveLength(2)
    }))

  it.scoped("re-registers (workflows too, labels as changed) with a new worker id when the engine no longer knows the worker", () =>
    Effect.gen(function*() {
      const { fake, worker } = yield* startWorker({ labels: { region: "eu" } })
      yield* fake.waitFor((c) => c.listen.length === 1 ? true : undefined)
      // labels changed at run time are kept for the next registration
      yield* worker.upsertLabels({ model: "llama" })
      expect(yield* worker.currentLabels).toEqual({ region: "eu", model: "llama" })
      expect(yield* Effect.flip(worker.upsertLabels({ gpus: 1.5 }))).toMatchObject({ _tag: "WorkerError", reason: "InvalidOptions" })
      yield* fake.forgetWorkers
      yield* TestClock.adjust("4 seconds") // the next heartbeat gets NOT_FOUND
      yield* TestClock.adjust("2 seconds")
      const calls = yield* fake.waitFor((c) => c.listen.length === 2 ? c : undefined)
      expect(calls.register).toHaveLength(2)
      expect(calls.register[1]!.labels).toEqual({ region: { strValue: "eu" }, model: { strValue: "llama" } })
      expect(calls.putWorkflow).toHaveLength(4)
      expect(calls.listen).toEqual(["worker-1", "worker-2"])
      expect(yield* worker.workerId).toEqual(Option.some("worker-2"))
      const action = yield* fake.assign({ actionId: "order-processing:validate", input: { orderId: "o", amount: 1 } })
      expect((yield* completedOrFailed(fake, action.taskRunExternalId)).workerId).toBe("worker-2")
    }))

  it.scoped("counts a hanging heartbeat as failed and reconnects after three in a row", () =>
    Effect.gen(function*() {
      const { fake, worker } = yield* startWorker()
      yield* fake.waitFor((c) => c.heartbeat.length === 1 ? true : undefined)
      yield* fake.setHeartbeat((_id, n) => n >= 2 && n <= 4 ? "hang" : "ok")
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("4 seconds")
      const reconnecting = yield* worker.statusChanges.pipe(Stream.filter((s) => s._tag === "Reconnecting"), Stream.runHead)
      expect(Option.getOrThrow(reconnecting)).toMatchObject({ reason: "3 heartbeats in a row failed (hung: the connection stalled)" })
      yield* TestClock.adjust("2 seconds")
      yield* fake.waitFor((c) => c.listen.length === 2 ? true : undefined)
    }))

  it.scoped("drains on scope close: paused but still listening and heartbeating while tasks finish; the rest are reported before it unsubscribes", () =>
    Effect.gen(function*() {
      const { fake, scope, script, worker } = yield* startWorker({ shutdownGracePeriod: "10 seconds" })
      const quick = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      const slow = yield* fake.assign({ actionId: "jobs:work", input: { mode: "forever" } })
      yield* fake.waitFor((c) => c.events.filter((e) => e.eventType === STARTED).length === 2 ? true : undefined)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* fake.waitFor((c) => c.pauses.length === 1 ? true : undefined)
      expect((yield* fake.calls).pauses).toEqual([{ workerId: "worker-1", isPaused: true }])
      expect((yield* worker.status)._tag).toBe("Draining")

      // still a live worker: the stream stays open and heartbeats go on (the fake, as the engine,
      // refuses them once the stream is closed), nothing is unsubscribed
      const beats = (yield* fake.calls).heartbeat.length
      yield* TestClock.adjust("5 seconds")
      yield* fake.waitFor((c) => c.heartbeat.length > beats ? true : undefined)
      expect(yield* fake.streamOpen).toBe(true)
      expect((yield* fake.calls).unsubscribe).toEqual([])
      // an assignment the engine sent before the pause took effect still runs
      const late = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      yield* fake.waitFor((c) => c.events.some((e) => e.taskRunExternalId === late.taskRunExternalId) ? true : undefined)
      yield* Deferred.succeed(script.gate, void 0)
      expect((yield* completedOrFailed(fake, quick.taskRunExternalId)).eventType).toBe(COMPLETED)
      expect((yield* completedOrFailed(fake, late.taskRunExternalId)).eventType).toBe(COMPLETED)
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)

      // the grace period ends: the slow task is interrupted and reported before the worker unsubscribes
      const reported = yield* Effect.fork(fake.waitFor((c) => {
        const event = c.events.find((e) => e.taskRunExternalId === slow.taskRunExternalId && e.eventType !== STARTED)
        return event === undefined ? undefined : { event, unsubscribed: c.unsubscribe.length }
      }))
      yield* TestClock.adjust("5 seconds")
      const { event: interrupted, unsubscribed } = yield* Fiber.join(reported)
      yield* Fiber.join(closing)
      expect(unsubscribed).toBe(0)
      expect(interrupted.eventType).toBe(FAILED)
      expect(interrupted.shouldNotRetry).toBe(false)
      expect(payloadOf(interrupted)).toMatchObject({
        message: `worker "test-worker" shut down before the task finished`,
        effect_hatchet: { kind: "Interrupted" }
      })
      expect(yield* Ref.get(script.finalized)).toBe(1)
      expect((yield* worker.status)._tag).toBe("Stopped")
      expect((yield* fake.calls).unsubscribe).toEqual(["worker-1"])
      expect(yield* fake.streamOpen).toBe(false)
    }))

  it.scoped("keeps Schema-typed definitions on the wire: DateFromString output is encoded", () =>
    Effect.gen(function*() {
      // guards the fixture itself: the client decodes what the worker encoded
      const text = yield* TaskExecution.encodeOutput(OrderFlow, "charge", { chargeId: "c", at: new Date(0) })
      expect(yield* TaskExecution.decodeOutput(OrderFlow, "charge", text)).toEqual({ chargeId: "c", at: new Date(0) })
      expect(Schema.is(CardDeclined)(new CardDeclined({ reason: "x" }))).toBe(true)
    }))
})
