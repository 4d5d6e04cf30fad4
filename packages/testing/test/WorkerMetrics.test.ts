/**
 * The worker's Effect metrics (WorkerMetrics), over the fake dispatcher. Metrics are process-wide,
 * so every assertion compares against the values read before the step.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Worker, WorkerMetrics } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Metric } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import { JobsLive, OrderFlowLive, Script, ScriptLive } from "./fixtures.js"

const { STEP_EVENT_TYPE_COMPLETED: COMPLETED, STEP_EVENT_TYPE_FAILED: FAILED } = StepActionEventType

const snapshot = Effect.all({
  started: Metric.value(WorkerMetrics.tasksStarted),
  completed: Metric.value(WorkerMetrics.tasksCompleted),
  failed: Metric.value(WorkerMetrics.tasksFailed),
  interrupted: Metric.value(WorkerMetrics.tasksInterrupted),
  slots: Metric.value(WorkerMetrics.slotsInUse),
  overhead: Metric.value(WorkerMetrics.taskOverhead),
  duration: Metric.value(WorkerMetrics.taskDuration)
}).pipe(Effect.map((m) => ({
  started: m.started.count,
  completed: m.completed.count,
  failed: m.failed.count,
  interrupted: m.interrupted.count,
  slots: m.slots.value,
  overheadCount: m.overhead.count,
  durationCount: m.duration.count
})))

const startWorker = Effect.gen(function*() {
  const fake = yield* FakeDispatcher.make
  const script = yield* ScriptLive
  yield* Layer.build(
    Layer.scoped(Worker.Worker, Worker.make({ name: "metrics-worker", workflows: [OrderFlowLive, JobsLive] })).pipe(
      Layer.provide(Layer.succeed(Script, script)),
      Layer.provide(fake.layer)
    )
  )
  return { fake, script }
})

const resultOf = (fake: FakeDispatcher.FakeDispatcher, taskRunExternalId: string) =>
  fake.waitForEvent((e) => e.taskRunExternalId === taskRunExternalId && (e.eventType === COMPLETED || e.eventType === FAILED))

describe("WorkerMetrics", () => {
  it.scoped("counts started, completed and failed attempts, and times handlers and the SDK's overhead", () =>
    Effect.gen(function*() {
      const { fake } = yield* startWorker
      const before = yield* snapshot
      const ok = yield* fake.assign({ actionId: "order-processing:validate", input: { orderId: "o-1", amount: 1 } })
      yield* resultOf(fake, ok.taskRunExternalId)
      const declined = yield* fake.assign({
        actionId: "order-processing:charge",
        input: { orderId: "o-2", amount: -1 },
        parents: { validate: { valid: false } }
      })
      expect((yield* resultOf(fake, declined.taskRunExternalId)).eventType).toBe(FAILED)
      const after = yield* snapshot
      expect(after.started - before.started).toBe(2)
      expect(after.completed - before.completed).toBe(1)
      expect(after.failed - before.failed).toBe(1)
      expect(after.interrupted - before.interrupted).toBe(0)
      expect(after.overheadCount - before.overheadCount).toBe(2)
      expect(after.durationCount - before.durationCount).toBe(2)
      expect(after.slots).toBe(before.slots)
    }))

  it.scoped("holds a slot while a task runs and counts a cancelled attempt as interrupted", () =>
    Effect.gen(function*() {
      const { fake, script } = yield* startWorker
      const before = yield* snapshot
      const running = yield* fake.assign({ actionId: "jobs:work", input: { mode: "forever" } })
      const waiting = yield* fake.assign({ actionId: "jobs:work", input: { mode: "wait" } })
      yield* Effect.iterate(0, { while: (n) => n < 2, body: () => Effect.map(snapshot, (m) => m.started - before.started) })
      expect((yield* snapshot).slots - before.slots).toBe(2)

      yield* fake.cancel(running.taskRunExternalId)
      yield* Deferred.succeed(script.gate, void 0)
      yield* resultOf(fake, waiting.taskRunExternalId)
      yield* Effect.iterate(0, {
        while: (n) => n < 1,
        body: () => Effect.map(snapshot, (m) => m.interrupted - before.interrupted)
      })
      const after = yield* snapshot
      expect(after.completed - before.completed).toBe(1)
      expect(after.interrupted - before.interrupted).toBe(1)
      expect(after.slots).toBe(before.slots)
    }))
})
