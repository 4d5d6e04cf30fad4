/**
 * `TaskTest`'s durable context agrees with the engine's: one durable task making every kind of
 * durable call (a memo with a transforming Schema, `now`, a sleep, an or-group of an event with an
 * expression and a sleep, a scoped event wait, a child and a failing child) run with the same
 * events and clock moves under `TaskTest` (no engine) and through our worker and the local engine
 * (`HatchetTest`, loopback gRPC), with the same output; and a task evicted while it sleeps,
 * restored and replayed, with the same output, or (its calls changed) the same non-determinism
 * error.
 */
import { Hatchet, Worker } from "@effect-hatchet/sdk"
import { TaskFailed } from "@effect-hatchet/sdk/TaskError"
import { expect, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Queue, TestClock, TestContext } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import * as TaskTest from "../src/TaskTest.js"
import { Agreement, AgreementLive, DoubleLive, eventually, Restless, RestlessLive, waiting } from "./durableFlows.js"

/** What the task receives, in order, once its three-day sleep is over. */
const events = (id: string) =>
  [
    // refused by the or-group's expression
    { key: `sign:${id}`, payload: { signed: false, by: "eve" } },
    { key: `sign:${id}`, payload: { signed: true, by: "ada" } },
    { key: `confirm:${id}`, payload: { approved: true, by: "bob" }, scope: id }
  ] as const

const expected = {
  quote: 15,
  issuedIsDate: true,
  slept: 3 * 86_400_000,
  signed: { "sign:a-1": { signed: true, by: "ada" } },
  confirmed: { approved: true, by: "bob" },
  child: 10,
  failure: "too big: 1000",
  invocation: 1
}

/**
 * `Restless` on the engine: evicted by its worker after 10 minutes of its day's sleep, restored by
 * the engine when the day is over; its run id and how it ended.
 */
const restlessOnEngine = (drift: boolean) =>
  Effect.gen(function*() {
    const worker = yield* Worker.Worker
    const handle = yield* Hatchet.runNoWait(Restless, { drift })
    yield* waiting(worker)
    yield* HatchetTest.adjust("11 minutes")
    yield* eventually(Effect.map(worker.runningTasks, (n) => n === 0))
    yield* HatchetTest.adjust("1 day")
    return { runId: handle.runId, exit: yield* Effect.exit(handle.result) }
  })

/**
 * `Restless` under `TaskTest` (no engine), as the same task run, with the same clock moves, on a
 * TestClock of its own (a day's jump need not wake the engine's timers).
 */
const restlessUnderTaskTest = (drift: boolean, taskRunExternalId: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(
      TaskTest.run(Restless, { input: { drift }, taskRunExternalId }).pipe(Effect.provide(RestlessLive), Effect.provide(DoubleLive))
    )
    yield* TestClock.adjust("11 minutes")
    yield* TestClock.adjust("1 day")
    return yield* Fiber.join(fiber)
  }).pipe(Effect.provide(TestContext.TestContext))

layer(HatchetTest.layer({ workflows: [AgreementLive, DoubleLive, RestlessLive] }), { timeout: 30_000 })(
  "TaskTest agrees with the engine",
  (it) => {
    it.effect("the same durable task, events and clock give the same output under TaskTest and on the engine", () =>
      Effect.gen(function*() {
        // on the engine: our worker over loopback gRPC
        const worker = yield* Worker.Worker
        const handle = yield* Hatchet.runNoWait(Agreement, { id: "a-1", n: 5 })
        yield* waiting(worker)
        yield* HatchetTest.adjust("3 days")
        for (const event of events("a-1")) {
          yield* Hatchet.push(event.key, event.payload, "scope" in event ? { scope: event.scope } : {})
          yield* HatchetTest.settle()
        }
        const onEngine = yield* handle.result

        // under TaskTest: no engine, the same events after the same sleep
        const queue = yield* Queue.unbounded<TaskTest.DurableEvent>()
        const fiber = yield* Effect.fork(
          TaskTest.result(Agreement, { input: { id: "a-1", n: 5 }, durable: { eventQueue: queue } }).pipe(
            Effect.provide(AgreementLive),
            Effect.provide(DoubleLive)
          )
        )
        yield* TestClock.adjust("3 days")
        yield* Queue.offerAll(queue, events("a-1"))
        const underTaskTest = yield* Fiber.join(fiber)

        expect(onEngine).toEqual(expected)
        expect(underTaskTest).toEqual(onEngine)
      }))

    it.effect("evicted mid-sleep and restored: the same output under TaskTest as on the engine (the second invocation's)", () =>
      Effect.gen(function*() {
        const onEngine = yield* restlessOnEngine(false)
        const underTaskTest = yield* restlessUnderTaskTest(false, onEngine.runId)
        expect(onEngine.exit).toEqual(Exit.succeed({ step: "ran in invocation 1", child: 8, invocation: 2 }))
        expect(underTaskTest.exit).toEqual(onEngine.exit)
        expect(underTaskTest.durable?.invocations.map((i) => i.evicted)).toEqual([true, false])
      }))

    it.effect("restored with other calls: the same non-determinism error under TaskTest as on the engine", () =>
      Effect.gen(function*() {
        const onEngine = yield* restlessOnEngine(true)
        const underTaskTest = yield* restlessUnderTaskTest(true, onEngine.runId)
        const failure = (exit: Exit.Exit<unknown, unknown>) =>
          Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        expect(failure(onEngine.exit)).toBeInstanceOf(TaskFailed)
        expect((failure(onEngine.exit) as TaskFailed).message).toContain(
          `non-determinism error in task ${onEngine.runId} at node 1:1\n  expected: MEMO\n  received: memo`
        )
        expect(failure(underTaskTest.exit)).toEqual(failure(onEngine.exit))
        expect(underTaskTest.durable?.nonDeterminism?.message).toBe(
          `non-determinism error in task ${onEngine.runId} at node 1:1\n  expected: MEMO\n  received: memo`
        )
      }))
  }
)
