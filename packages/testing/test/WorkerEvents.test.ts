/**
 * The worker's step action events under load, over the fake dispatcher: one STARTED and one
 * result per task (the result is sent without waiting for STARTED's acknowledgement, and goes first
 * when both leave in one round, so they may arrive in either order, as from the official SDK), whether
 * the events travel alone or in `SendBatchActionEvent` batches, and on an engine without batches.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Task, Worker } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, HashMap, Layer, Logger, Schema } from "effect"
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

describe("Worker step action events", () => {
  it.scoped("ships what a handler, the fibers it forks and its finalizers log, and nothing else", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      yield* Layer.build(
        Layer.scoped(Worker.Worker, Worker.make({ name: "logs-worker", workflows: [ChattyLive] })).pipe(Layer.provide(fake.layer))
      )
      const first = yield* fake.assign({ actionId: "chatty:chatty" })
      const second = yield* fake.assign({ actionId: "chatty:chatty" })
      yield* fake.waitFor((c) => c.events.filter((e) => e.eventType === COMPLETED).length === 2 ? c : undefined)
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
      const seen: Array<{ readonly message: unknown; readonly annotations: Record<string, unknown> }> = []
      const capture = Logger.make(({ annotations, message }) => {
        seen.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      })
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
      for (const line of lines) {
        expect(line.annotations).toMatchObject({
          "hatchet.action": "chatty:chatty",
          "hatchet.task_run_id": action.taskRunExternalId,
          "hatchet.workflow_run_id": action.workflowRunId,
          "hatchet.retry_count": 2
        })
      }
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
