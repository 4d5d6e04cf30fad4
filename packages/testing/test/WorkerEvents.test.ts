/**
 * The worker's step action events under load, over the fake dispatcher: one STARTED and one
 * result per task (the result is sent without waiting for STARTED's acknowledgement, and goes first
 * when both leave in one round, so they may arrive in either order, as from the official SDK), whether
 * the events travel alone or in `SendBatchActionEvent` batches, and on an engine without batches.
 * An attempt's fiber ends with its result queued: the attempt counts as running, and the worker
 * stays, until the engine answered its events; one that cannot be sent is logged with the task's
 * annotations.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Dispatcher, HatchetError, Task, Worker } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, HashMap, Layer, Logger, Schema, Scope } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import { JobsLive, Script, ScriptLive } from "./fixtures.js"

const { STEP_EVENT_TYPE_COMPLETED: COMPLETED, STEP_EVENT_TYPE_STARTED: STARTED } = StepActionEventType

const runMany = (batches: boolean) =>
  Effect.gen(function*() {
    const fake = yield* FakeDispatcher.make
    yield* fake.setBatchEventsSupported(batches)
    const script = yield* ScriptLive
    yield* Layer.build(
      Layer.scoped(Worker.Worker, Worker.make({ name: "events-worker", workflows: [JobsLive], slots: 50 })).pipe(
        Layer.provide(Layer.succeed(Script, script)),
        Layer.provide(fake.layer)
      )
    )
    const actions = yield* Effect.forEach(
      Array.from({ length: 40 }),
      () => fake.assign({ actionId: "jobs:work", input: { mode: "quick" } })
    )
    const count = (c: FakeDispatcher.Calls, type: StepActionEventType) => c.events.filter((e) => e.eventType === type).length
    const calls = yield* fake.waitFor((c) => count(c, COMPLETED) === 40 && count(c, STARTED) === 40 ? c : undefined)
    for (const action of actions) {
      const events = calls.events.filter((e) => e.taskRunExternalId === action.taskRunExternalId)
      expect(events.map((e) => e.eventType).sort()).toEqual([STARTED, COMPLETED])
      expect(events.find((e) => e.eventType === COMPLETED)).toMatchObject({
        eventPayload: `{"result":"done 0"}`,
        retryCount: 0,
        actionId: "jobs:work",
        workerId: "worker-1"
      })
    }
    return calls
  })

/** Logs from the handler, from a fiber it forks, and from its finalizer. */
const Chatty = Task.make("chatty", { output: Schema.Struct({}) })
const ChattyLive = Chatty.toLayer(() =>
  Effect.gen(function*() {
    yield* Effect.addFinalizer(() => Effect.log("finalizer"))
    yield* Effect.log("handler")
    yield* Fiber.join(yield* Effect.fork(Effect.log("child fiber")))
    return {}
  })
)

interface LogLine {
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

/** A logger that keeps every line with its annotations. */
const capturedLogs = () => {
  const seen: Array<LogLine> = []
  const capture = Logger.make(({ annotations, message }) => {
    seen.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
  })
  return { capture, seen }
}

/** Every line carries the task's action, task run, workflow run and retry count. */
const expectAnnotated = (
  lines: ReadonlyArray<LogLine>,
  action: { readonly taskRunExternalId: string; readonly workflowRunId: string },
  retryCount: number
) => {
  for (const line of lines) {
    expect(line.annotations).toMatchObject({
      "hatchet.action": "chatty:chatty",
      "hatchet.task_run_id": action.taskRunExternalId,
      "hatchet.workflow_run_id": action.workflowRunId,
      "hatchet.retry_count": retryCount
    })
  }
}

/**
 * The fake's services, with its step action event calls held until `answer` is completed, then
 * answered by the fake (`Success`) or failed with INTERNAL (`Failure`).
 */
const heldEvents = (fake: FakeDispatcher.FakeDispatcher, answer: Deferred.Deferred<"ok" | "fail">) =>
  Layer.effect(
    Dispatcher.Dispatcher,
    Effect.map(Dispatcher.Dispatcher, (dispatcher): Dispatcher.DispatcherShape => {
      const held = <A>(method: string, call: Effect.Effect<A, HatchetError.GrpcError>) =>
        Effect.flatMap(
          Deferred.await(answer),
          (a) => a === "ok" ? call : new HatchetError.GrpcError({ method, code: 13, details: "the engine failed" })
        )
      return {
        ...dispatcher,
        sendStepActionEvent: (event, options) => held("/Dispatcher/SendStepActionEvent", dispatcher.sendStepActionEvent(event, options)),
        sendBatchActionEvent: (event, options) => held("/Dispatcher/SendBatchActionEvent", dispatcher.sendBatchActionEvent(event, options))
      }
    })
  ).pipe(Layer.provideMerge(fake.layer))

describe("Worker step action events", () => {
  it.scoped("an attempt counts as running until its events are answered, and a closing worker waits for them", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      const answer = yield* Deferred.make<"ok" | "fail">()
      const scope = yield* Scope.make()
      const worker = yield* Layer.buildWithScope(
        Layer.scoped(Worker.Worker, Worker.make({ name: "held-worker", workflows: [ChattyLive] })).pipe(
          Layer.provide(heldEvents(fake, answer))
        ),
        scope
      ).pipe(Effect.map(Context.get(Worker.Worker)))
      const action = yield* fake.assign({ actionId: "chatty:chatty" })
      // the handler has run (its finalizer logged): its result is queued, not answered
      yield* fake.waitFor((c) => c.logs.some((l) => l.message === "finalizer") ? c : undefined)
      expect(yield* worker.runningTasks).toBe(1)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.repeatN(Effect.yieldNow(), 100)
      expect(closing.unsafePoll()).toBeNull()
      expect((yield* fake.calls).events).toEqual([])
      yield* Deferred.succeed(answer, "ok")
      yield* Fiber.join(closing)
      const events = (yield* fake.calls).events.filter((e) => e.taskRunExternalId === action.taskRunExternalId)
      expect(events.map((e) => e.eventType).sort()).toEqual([STARTED, COMPLETED])
      expect(yield* worker.runningTasks).toBe(0)
    }))

  it.scoped("an event the engine refuses is logged with the task's annotations, and the attempt leaves", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      const answer = yield* Deferred.make<"ok" | "fail">()
      const { capture, seen } = capturedLogs()
      const context = yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "refused-worker", workflows: [ChattyLive] })).pipe(
          Layer.provide(heldEvents(fake, answer)),
          Layer.provide(Logger.add(capture))
        )
      )
      const worker = Context.get(context, Worker.Worker)
      const action = yield* fake.assign({ actionId: "chatty:chatty", retryCount: 1 })
      yield* fake.waitFor((c) => c.logs.some((l) => l.message === "finalizer") ? c : undefined)
      yield* Deferred.succeed(answer, "fail")
      yield* Effect.iterate(1, { while: (n) => n > 0, body: () => worker.runningTasks })
      const refused = seen.filter((l) => String(l.message).startsWith("could not report"))
      expect(refused.map((l) => String(l.message)).sort()).toEqual([
        "could not report STEP_EVENT_TYPE_COMPLETED to the engine",
        "could not report STEP_EVENT_TYPE_STARTED to the engine"
      ])
      expectAnnotated(refused, action, 1)
    }))

  it.scoped("ships what a handler, the fibers it forks and its finalizers log, and nothing else", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "logs-worker", workflows: [ChattyLive] })).pipe(Layer.provide(fake.layer))
      )
      const first = yield* fake.assign({ actionId: "chatty:chatty" })
      const second = yield* fake.assign({ actionId: "chatty:chatty" })
      // each task's STARTED and COMPLETED (a round's STARTED events leave a turn after its results)
      yield* fake.waitFor((c) => c.events.length >= 4 ? c : undefined)
      const calls = yield* fake.waitFor((c) => c.logs.length >= 6 ? c : undefined)
      const lines = calls.logs.map((l) => [l.taskRunExternalId, l.message])
      for (const id of [first.taskRunExternalId, second.taskRunExternalId]) {
        expect(lines.filter(([task]) => task === id).map(([, message]) => message)).toEqual(["handler", "child fiber", "finalizer"])
      }
      expect(lines).toHaveLength(6)
      expect(calls.events).toHaveLength(4)
    }))

  it.scoped("a task's log lines carry its action, task run, workflow run and retry as annotations, in every logger", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      const { capture, seen } = capturedLogs()
      yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "logs-worker", workflows: [ChattyLive] })).pipe(
          Layer.provide(fake.layer),
          Layer.provide(Logger.add(capture))
        )
      )
      const action = yield* fake.assign({ actionId: "chatty:chatty", retryCount: 2 })
      yield* fake.waitFor((c) => c.events.some((e) => e.eventType === COMPLETED) ? c : undefined)
      const lines = seen.filter((l) => ["handler", "child fiber", "finalizer"].includes(String(l.message)))
      expect(lines).toHaveLength(3)
      expectAnnotated(lines, action, 2)
    }))

  it.scoped("40 tasks at once: one STARTED and one COMPLETED each, in batches", () =>
    Effect.gen(function*() {
      const calls = yield* runMany(true)
      for (const batch of calls.batches) {
        expect([STARTED, COMPLETED]).toContain(batch.eventType)
        expect(batch.items.length).toBeGreaterThan(1)
      }
    }))

  it.scoped("the same on an engine without SendBatchActionEvent", () =>
    Effect.gen(function*() {
      const calls = yield* runMany(false)
      expect(calls.batches).toEqual([])
    }))
})
