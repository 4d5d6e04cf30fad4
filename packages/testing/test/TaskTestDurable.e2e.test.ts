/**
 * `TaskTest`'s durable context agrees with the engine's: one durable task making every kind of
 * durable call (a memo with a transforming Schema, `now`, a sleep, an or-group of an event with an
 * expression and a sleep, a scoped event wait, a child and a failing child) run with the same
 * events and clock moves under `TaskTest` (no engine) and through our worker and the local engine
 * (`HatchetTest`, loopback gRPC), with the same output.
 */
import { Hatchet, Worker } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Queue, TestClock } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import * as TaskTest from "../src/TaskTest.js"
import { Agreement, AgreementLive, DoubleLive, waiting } from "./durableFlows.js"

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

layer(HatchetTest.layer({ workflows: [AgreementLive, DoubleLive] }), { timeout: 30_000 })("TaskTest agrees with the engine", (it) => {
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
})
