/**
 * FakeDispatcher's typed side: assign a task by its definition with typed input and parents, and
 * read what the worker did in the task's own types (a worker unit test with no engine).
 */
import { TaskError, Worker } from "@effect-hatchet/sdk"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import { CardDeclined, OrderFlow, OrderFlowLive, Script, ScriptLive } from "./fixtures.js"

/** A worker running OrderFlow over a fresh fake; the test body gets the fake. */
const withWorker = <A, E>(body: (fake: FakeDispatcher.FakeDispatcher) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fake = yield* FakeDispatcher.make
    const script = yield* ScriptLive
    return yield* body(fake).pipe(
      Effect.provide(
        Layer.scoped(Worker.Worker, Worker.make({ name: "fake-typed", workflows: [OrderFlowLive] })).pipe(
          Layer.provide(Layer.succeed(Script, script)),
          Layer.provide(fake.layer)
        )
      )
    )
  })

describe("FakeDispatcher, typed", () => {
  it.scoped("assigns a task with typed input and parents; its result is the decoded output", () =>
    withWorker((fake) =>
      Effect.gen(function*() {
        const charge = yield* fake.assignTask(OrderFlow, "charge", {
          input: { orderId: "o-1", amount: 42 },
          parents: { validate: { valid: true } }
        })
        expect(charge.action.actionId).toBe("order-processing:charge")
        const output = yield* charge.result
        expectTypeOf(output).toEqualTypeOf<{ readonly chargeId: string; readonly at: Date }>()
        expect(output).toEqual({ chargeId: "ch-o-1", at: new Date(0) })
        yield* charge.started
        const reports = yield* charge.reports
        expect(reports.map((r) => r.type)).toEqual(["STARTED", "COMPLETED"])
        expect(JSON.parse(reports[1]!.payload)).toEqual({ chargeId: "ch-o-1", at: "1970-01-01T00:00:00.000Z" })
      })
    ))

  it.scoped("a declared failure comes back as the task's error class; a non-retryable one is marked", () =>
    withWorker((fake) =>
      Effect.gen(function*() {
        const declined = yield* fake.assignTask(OrderFlow, "charge", {
          input: { orderId: "o-2", amount: 5 },
          parents: { validate: { valid: false } }
        })
        const exit = yield* Effect.exit(declined.result)
        expect(exit).toEqual(Exit.fail(new CardDeclined({ reason: "invalid order" })))
        const unlucky = yield* fake.assignTask(OrderFlow, "charge", {
          input: { orderId: "o-3", amount: 13 },
          parents: { validate: { valid: true } }
        })
        expect(yield* Effect.flip(unlucky.result)).toEqual(new CardDeclined({ reason: "unlucky" }))
        expect((yield* unlucky.reports).find((r) => r.type === "FAILED")?.shouldNotRetry).toBe(true)
      })
    ))

  it.scoped("malformed input fails that task with a TaskFailed naming the field", () =>
    withWorker((fake) =>
      Effect.gen(function*() {
        const bad = yield* fake.assignTask(OrderFlow, "validate", {
          input: { orderId: "o-4", amount: 1 },
          rawInput: { orderId: "o-4", amount: "lots" }
        })
        const failure = yield* Effect.flip(bad.result)
        expect(failure).toBeInstanceOf(TaskError.TaskFailed)
        expect((failure as TaskError.TaskFailed).message).toMatch(/amount/)
        yield* bad.started
        expect((yield* fake.reports(bad.taskRunExternalId)).map((r) => r.type)).toEqual(["STARTED", "FAILED"])
      })
    ))

  it("rejects what the definition does not allow (type level)", () => {
    const check = (fake: FakeDispatcher.FakeDispatcher) => {
      // @ts-expect-error: "charge" needs its parent's output
      fake.assignTask(OrderFlow, "charge", { input: { orderId: "o", amount: 1 } })
      // @ts-expect-error: no such task
      fake.assignTask(OrderFlow, "refund", { input: { orderId: "o", amount: 1 } })
      // @ts-expect-error: the input is typed
      fake.assignTask(OrderFlow, "validate", { input: { orderId: 1 } })
      fake.assignTask(OrderFlow, "validate", { input: { orderId: "o", amount: 1 } })
    }
    expect(Schema.is(CardDeclined)(new CardDeclined({ reason: "x" }))).toBe(true)
    expect(typeof check).toBe("function")
  })
})
