/**
 * A worker's drain against the local engine over loopback gRPC, with the engine's liveness as
 * Hatchet's (`workerLiveness: "heartbeat"`: a worker silent for 30 s has its running tasks
 * re-queued), and every clock (engine, worker, handlers) a `TestClock` the test moves a second
 * at a time, letting the real gRPC calls of each second (heartbeats, events) go through.
 *
 * What must hold: a draining worker takes no new work (it pauses itself), stays a live worker
 * (stream and heartbeats) until its tasks have reported, so a task longer than the engine's 30 s
 * liveness window but within the grace period is recorded once and never runs again; a task
 * still running when the grace period ends is interrupted and reported FAILED, then retried by
 * the engine per its policy (`retries: 0`: never again).
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Runs, Task, TaskContext, Worker, Workers } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Exit, Fiber, Layer, Option, Schema, Scope, TestClock } from "effect"
import { clientLayer } from "../src/internal/hatchetTest.js"

/** What the handlers did, per run id: attempts started, attempts finished, finalizers run. */
interface Record {
  readonly started: Array<number>
  readonly finished: Array<number>
  readonly interrupted: Array<number>
}
const records = new Map<string, Record>()
const recordOf = (runId: string): Record => {
  let record = records.get(runId)
  if (record === undefined) {
    record = { started: [], finished: [], interrupted: [] }
    records.set(runId, record)
  }
  return record
}

const Input = Schema.Struct({ seconds: Schema.Number })

/** Sleeps `seconds` (on the clock) on its first attempt, returns at once on a retry. */
const handler = (input: typeof Input.Type) =>
  Effect.gen(function*() {
    const context = yield* TaskContext.TaskContext
    const record = recordOf(context.workflowRunId)
    record.started.push(context.retryCount)
    if (context.retryCount === 0) yield* Effect.sleep(Duration.seconds(input.seconds))
    record.finished.push(context.retryCount)
    return { attempt: context.retryCount }
  }).pipe(
    Effect.onInterrupt(() =>
      Effect.flatMap(TaskContext.TaskContext, (context) =>
        Effect.sync(() => recordOf(context.workflowRunId).interrupted.push(context.retryCount)))
    )
  )

const Output = Schema.Struct({ attempt: Schema.Number })
const Retried = Task.make("drain-retried", { input: Input, output: Output, retries: 1, executionTimeout: "5 minutes" })
const Once = Task.make("drain-once", { input: Input, output: Output, retries: 0, executionTimeout: "5 minutes" })
const Implementations = Layer.mergeAll(Retried.toLayer(handler), Once.toLayer(handler))

/** The engine (Hatchet's liveness) and a client of it. */
const EngineAndClient = clientLayer({}).pipe(Layer.provideMerge(Engine.layer({ workerLiveness: "heartbeat" })))

/** A worker in a scope of its own, which the test closes to drain it. */
const startWorker = (name: string, shutdownGracePeriod?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Worker.layer({
        name,
        workflows: [Implementations],
        ...(shutdownGracePeriod !== undefined ? { shutdownGracePeriod } : {}),
        // a heartbeat in flight while the test moves the clock is not a hang
        heartbeatTimeout: Duration.infinity
      }),
      scope
    )
    const worker = Context.get(context, Worker.Worker)
    const workerId = Option.getOrThrow(yield* worker.workerId)
    return { scope, worker, workerId }
  })

/** Real time, whatever the test's clock. */
const realSleep = (millis: number) => Effect.sleep(Duration.millis(millis)).pipe(Effect.withClock(Clock.make()))

/** Moves every clock `seconds` forward, one second at a time, letting each second's calls through. */
const advance = (seconds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds; i++) {
      yield* TestClock.adjust("1 second")
      yield* realSleep(15)
    }
  })

/** Polls (real time) until `f` holds, for at most 5 s. */
const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, f: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0;; i++) {
      const value = yield* effect
      if (f(value)) return value
      if (i > 500) return yield* Effect.dieMessage(`condition not met: ${JSON.stringify(value)}`)
      yield* realSleep(10)
    }
  })

const details = (runId: string) => Effect.flatMap(Runs.Runs, (runs) => runs.get(runId))
const statusOf = (runId: string) => Effect.map(details(runId), (d) => d.run.status)
const eventTypes = (runId: string) => Effect.map(details(runId), (d) => d.taskEvents.map((e) => e.eventType))

describe("Worker drain against the engine (heartbeat liveness, TestClock)", () => {
  it.scoped(
    "a task longer than the engine's 30 s liveness window, within the grace period: recorded once, never run again; new work waits for another worker",
    () =>
      Effect.gen(function*() {
        const first = yield* startWorker("drain-a", "60 seconds")
        const handle = yield* Hatchet.runNoWait(Once, { seconds: 40 })
        yield* eventually(first.worker.runningTasks, (n) => n === 1)

        const closing = yield* Effect.fork(Scope.close(first.scope, Exit.void))
        yield* eventually(first.worker.status, (s) => s._tag === "Draining")
        // the worker pauses itself on the engine as it starts draining (a REST call, which a small
        // trigger sent at once could overtake)
        yield* eventually(Effect.flatMap(Workers.Workers, (w) => w.get(first.workerId)), (w) => w.status === "PAUSED")
        // paused: a run triggered now is not given to the draining worker
        const later = yield* Hatchet.runNoWait(Once, { seconds: 1 })
        yield* advance(45)
        yield* Fiber.join(closing)

        expect(yield* statusOf(handle.runId)).toBe("COMPLETED")
        expect(yield* handle.result).toEqual({ attempt: 0 })
        expect(recordOf(handle.runId)).toEqual({ started: [0], finished: [0], interrupted: [] })
        const events = yield* eventTypes(handle.runId)
        expect(events).not.toContain("REASSIGNED")
        expect(events.filter((e) => e === "FINISHED")).toHaveLength(1)
        expect(recordOf(later.runId).started).toEqual([])
        expect(yield* statusOf(later.runId)).toBe("QUEUED")

        // another worker starts: it gets the waiting run, and nothing of the finished one
        const second = yield* startWorker("drain-b", "60 seconds")
        yield* advance(3)
        expect(yield* later.result).toEqual({ attempt: 0 })
        yield* advance(60)
        expect(recordOf(handle.runId).started).toEqual([0])
        expect(yield* statusOf(handle.runId)).toBe("COMPLETED")
        yield* Scope.close(second.scope, Exit.void)
      }).pipe(Effect.provide(EngineAndClient)),
    30_000
  )

  it.scoped(
    "a task longer than the grace period: interrupted (finalizer run), reported FAILED before the worker leaves, retried per its policy",
    () =>
      Effect.gen(function*() {
        // longer than the engine's 30 s liveness window too: the worker must stay alive all along
        const first = yield* startWorker("drain-c", "35 seconds")
        const handle = yield* Hatchet.runNoWait(Retried, { seconds: 600 })
        yield* eventually(first.worker.runningTasks, (n) => n === 1)

        const closing = yield* Effect.fork(Scope.close(first.scope, Exit.void))
        yield* advance(37)
        yield* Fiber.join(closing)
        expect(recordOf(handle.runId)).toEqual({ started: [0], finished: [], interrupted: [0] })
        // the failure is on record before any other worker exists: reported by the draining worker
        const afterDrain = yield* details(handle.runId)
        const failed = afterDrain.taskEvents.find((e) => e.eventType === "FAILED")
        expect(failed?.errorMessage ?? failed?.message).toMatch(/shut down before the task finished/)
        expect(afterDrain.taskEvents.map((e) => e.eventType)).not.toContain("REASSIGNED")

        const second = yield* startWorker("drain-d")
        yield* advance(3)
        expect(yield* handle.result).toEqual({ attempt: 1 })
        expect(recordOf(handle.runId)).toEqual({ started: [0, 1], finished: [1], interrupted: [0] })
        yield* Scope.close(second.scope, Exit.void)
      }).pipe(Effect.provide(EngineAndClient)),
    30_000
  )

  it.scoped(
    "retries: 0, still running at shutdown with the default 30 s grace: FAILED, and never run again by the next worker",
    () =>
      Effect.gen(function*() {
        const first = yield* startWorker("drain-e")
        const handle = yield* Hatchet.runNoWait(Once, { seconds: 600 })
        yield* eventually(first.worker.runningTasks, (n) => n === 1)

        const closing = yield* Effect.fork(Scope.close(first.scope, Exit.void))
        yield* advance(32)
        yield* Fiber.join(closing)
        expect(yield* eventually(statusOf(handle.runId), (s) => s !== "RUNNING")).toBe("FAILED")

        const second = yield* startWorker("drain-f")
        yield* advance(90)
        expect(recordOf(handle.runId)).toEqual({ started: [0], finished: [], interrupted: [0] })
        expect(yield* statusOf(handle.runId)).toBe("FAILED")
        const events = yield* eventTypes(handle.runId)
        expect(events).not.toContain("REASSIGNED")
        expect(events.filter((e) => e === "STARTED")).toHaveLength(1)
        yield* Scope.close(second.scope, Exit.void)
      }).pipe(Effect.provide(EngineAndClient)),
    30_000
  )
})
