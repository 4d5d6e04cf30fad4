/**
 * `TaskTest` on durable tasks, with no engine: the SDK's own `DurableContext` over `TaskTest`'s
 * in-process log, under the TestClock: its calls, its evictions and restores, and replays of its
 * log (nothing run again; a changed handler fails with the engine's non-determinism error).
 */
import { Condition, DurableContext, Task, TaskError } from "@effect-hatchet/sdk"
import { DurableTaskError, NonDeterminismError } from "@effect-hatchet/sdk/DurableContext"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Queue, Ref, Schema, TestClock } from "effect"
import * as TaskTest from "../src/TaskTest.js"
import * as Flows from "./durableFlows.js"

/** Waits for a review event or a day, whichever comes first. */
const Review = Task.durable("durable-review", {
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.Struct({ outcome: Schema.String, invocation: Schema.Number }),
  executionTimeout: "2 days"
})

const ReviewLive = Review.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const result = yield* ctx.waitFor(Condition.or(
      Condition.sleep("1 day"),
      Condition.event(`review:${input.id}`, { expression: "input.approved == true" })
    ))
    const review = result[`review:${input.id}`]
    return { outcome: review === undefined ? "timed out" : `reviewed: ${JSON.stringify(review)}`, invocation: ctx.invocationCount }
  })
)

/** Spawns one child it has no implementation for. */
const Orphan = Task.durable("durable-orphan", { output: Schema.Number, executionTimeout: "1 hour" })
const Missing = Task.make("durable-missing", { output: Schema.Number })

const OrphanLive = Orphan.toLayer(() =>
  DurableContext.runChild(Missing, {}).pipe(
    Effect.catchAll((e) => Effect.fail(new TaskError.UndeclaredError({ error: e })))
  )
)

/** Sleeps until two days from its start, then waits for both "a" and "b". */
const Both = Task.durable("durable-both", { output: Schema.Array(Schema.String), executionTimeout: "3 days" })
const BothLive = Both.toLayer(() =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const start = yield* ctx.now
    yield* ctx.sleepUntil(new Date(start.getTime() + 2 * 86_400_000))
    const data = yield* ctx.waitFor([Condition.event("a"), Condition.event("b")])
    return Object.keys(data).sort()
  })
)

const resetCounts = Effect.all([Ref.set(Flows.counts.invocations, 0), Ref.set(Flows.counts.charges, 0)], { discard: true })

describe("TaskTest on a durable task", () => {
  it.effect("a week's sleep ends when the TestClock has moved a week; now is the Clock's", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(TaskTest.run(Flows.Sleeper, { input: { days: 7 } }))
      yield* TestClock.adjust("6 days")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 day")
      const run = yield* Fiber.join(fiber)
      expect(run.exit).toEqual(Exit.succeed({ before: new Date(0).toISOString(), after: new Date(7 * 86_400_000).toISOString() }))
      expect(run.durable?.entries.map((e) => e._tag)).toEqual(["Memo", "Wait", "Memo"])
      const wait = run.durable?.entries[1]
      expect(wait).toMatchObject({ _tag: "Wait", sleeps: ["168h"], startedAt: 0, endedAt: 7 * 86_400_000 })
      expect(run.durable?.memoRan).toEqual(["now", "now"])
    }).pipe(Effect.provide(Flows.SleeperLive)))

  it.effect("an event given up front ends the wait, decoded; the memo runs once", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const run = yield* TaskTest.run(Flows.Checkout, {
        input: { orderId: "o-1", amount: 10 },
        durable: { events: [{ key: "approval:o-1", payload: { approved: true, by: "ada" } }] }
      })
      expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-o-1", approval: { approved: true, by: "ada" } }))
      expect(yield* Ref.get(Flows.counts.charges)).toBe(1)
      expect(run.durable?.memoRan).toEqual(["charge"])
      expect(run.durable?.memoLog).toEqual({ charge: "ch-o-1" })
      expect(run.durable?.entries[1]).toMatchObject({
        _tag: "Wait",
        events: [{ key: "approval:o-1" }],
        data: { "approval:o-1": { approved: true, by: "ada" } }
      })
    }).pipe(Effect.provide(Flows.CheckoutLive)))

  it.effect("an event pushed mid-wait ends it, and only then", () =>
    Effect.gen(function*() {
      const events = yield* Queue.unbounded<TaskTest.DurableEvent>()
      const fiber = yield* Effect.fork(
        TaskTest.run(Flows.Checkout, { input: { orderId: "o-2", amount: 5 }, durable: { eventQueue: events } })
      )
      yield* TestClock.adjust("2 hours")
      expect(fiber.unsafePoll()).toBeNull()
      // another key does not end it
      yield* Queue.offer(events, { key: "approval:o-other", payload: { approved: true, by: "eve" } })
      yield* TestClock.adjust("1 hour")
      expect(fiber.unsafePoll()).toBeNull()
      yield* Queue.offer(events, { key: "approval:o-2", payload: { approved: false, by: "bob" } })
      const run = yield* Fiber.join(fiber)
      expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-o-2", approval: { approved: false, by: "bob" } }))
      expect(run.durable?.entries[1]).toMatchObject({ _tag: "Wait", startedAt: 0, endedAt: 3 * 3_600_000 })
    }).pipe(Effect.provide(Flows.CheckoutLive)))

  it.effect("a payload that does not decode fails the wait with the worker's typed error", () =>
    Effect.gen(function*() {
      const Strict = Task.durable("durable-strict", { output: Flows.Approval, executionTimeout: "1 hour" })
      const StrictLive = Strict.toLayer(() =>
        DurableContext.waitForEvent("approval:x", { schema: Flows.Approval }).pipe(
          Effect.catchTag("DurableTaskError", (e) => Effect.die(e))
        )
      )
      const seen = yield* Ref.make<DurableTaskError | undefined>(undefined)
      const Probe = Task.durable("durable-probe", { output: Schema.String, executionTimeout: "1 hour" })
      const ProbeLive = Probe.toLayer(() =>
        DurableContext.waitForEvent("approval:x", { schema: Flows.Approval }).pipe(
          Effect.as("decoded"),
          Effect.catchTag("DurableTaskError", (e) => Effect.as(Ref.set(seen, e), e.reason))
        )
      )
      const events = [{ key: "approval:x", payload: { approved: "yes" } }]
      const output = yield* TaskTest.result(Probe, { input: {}, durable: { events } }).pipe(Effect.provide(ProbeLive))
      expect(output).toBe("InvalidPayload")
      const error = yield* Ref.get(seen)
      expect(error).toBeInstanceOf(DurableTaskError)
      expect(error?.message).toMatch(/^the payload of event "approval:x" does not decode: /)
      // uncaught, it fails the task as the worker reports it (undeclared: the client's TaskFailed)
      const run = yield* TaskTest.run(Strict, { input: {}, durable: { events } }).pipe(Effect.provide(StrictLive))
      expect(Exit.isFailure(run.exit)).toBe(true)
      expect(run.outcome._tag).toBe("Failed")
    }))

  it.effect("a memo seeded in the log is replayed (decoded, not run); invocationCount as given", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const run = yield* TaskTest.run(Flows.Checkout, {
        input: { orderId: "o-3", amount: 7 },
        durable: {
          memo: { charge: "ch-earlier" },
          invocationCount: 2,
          events: [{ key: "approval:o-3", payload: { approved: true, by: "ada" } }]
        }
      })
      expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-earlier", approval: { approved: true, by: "ada" } }))
      expect(yield* Ref.get(Flows.counts.charges)).toBe(0)
      expect(run.durable?.invocationCount).toBe(2)
      expect(run.durable?.memoRan).toEqual([])
      expect(run.durable?.entries[0]).toMatchObject({ _tag: "Memo", key: "charge", replayed: true })
    }).pipe(Effect.provide(Flows.CheckoutLive)))

  it.effect("children run with TaskTest: typed outputs, and a child's typed error reaches the parent", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Flows.Parent, { input: { n: 21 } })
      expect(run.exit).toEqual(Exit.succeed({ one: 42, many: [2, 4, 6], failure: "too big: 1000" }))
      const children = (run.durable?.entries ?? []).filter((e) => e._tag === "Child")
      expect(children.map((c) => c.input)).toEqual([{ n: 21 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 1000 }])
      const failed = children[4]?.run as TaskTest.Run<unknown, unknown>
      expect(failed.exit).toEqual(Exit.fail(new Flows.TooBig({ n: 1000 })))
    }).pipe(Effect.provide(Flows.ParentLive), Effect.provide(Flows.DoubleLive)))

  it.effect("runChild's typed error, as the parent's handler sees it", () =>
    Effect.gen(function*() {
      const Once = Task.durable("durable-once", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number })
      const OnceLive = Once.toLayer((input) =>
        DurableContext.runChild(Flows.Double, input).pipe(
          Effect.map((r) => r.doubled),
          Effect.catchTag("TooBig", (e) => Effect.succeed(-e.n)),
          Effect.catchAll((e) => Effect.die(e))
        )
      )
      const layer = Layer.merge(OnceLive, Flows.DoubleLive)
      expect(yield* TaskTest.result(Once, { input: { n: 4 } }).pipe(Effect.provide(layer))).toBe(8)
      expect(yield* TaskTest.result(Once, { input: { n: 400 } }).pipe(Effect.provide(layer))).toBe(-400)
    }))

  it.effect("a child with no implementation in the context: a clear typed error", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Orphan, { input: {} }).pipe(Effect.provide(OrphanLive))
      const failure = Exit.isFailure(run.exit) ? Cause.failureOption(run.exit.cause) : undefined
      expect(String(failure)).toContain(`TaskTest has no implementation of the child \\"durable-missing\\": provide its toLayer layer`)
    }))

  it.effect("an or-group of a sleep and an event: the sleep wins when the event never comes", () =>
    Effect.gen(function*() {
      const events = yield* Queue.unbounded<TaskTest.DurableEvent>()
      const fiber = yield* Effect.fork(TaskTest.run(Review, { input: { id: "r-1" }, durable: { eventQueue: events } }))
      // an event its expression refuses does not end the wait
      yield* TestClock.adjust("1 hour")
      yield* Queue.offer(events, { key: "review:r-1", payload: { approved: false } })
      yield* TestClock.adjust("23 hours")
      const run = yield* Fiber.join(fiber)
      // evicted after 15 minutes of waiting (its default `evictAfter`), restored once the day is
      // over: the second invocation replays the wait and returns
      expect(run.exit).toEqual(Exit.succeed({ outcome: "timed out", invocation: 2 }))
      expect(run.durable?.invocations).toEqual([
        { invocationCount: 1, startedAt: 0, endedAt: 15 * 60_000, evicted: true },
        { invocationCount: 2, startedAt: 86_400_000, endedAt: 86_400_000, evicted: false }
      ])
      expect(run.durable?.entries[0]).toMatchObject({
        _tag: "Wait",
        endedAt: 86_400_000,
        data: { "sleep-24h": { sleep_duration: "24h" } },
        replayed: true
      })
    }).pipe(Effect.provide(ReviewLive)))

  it.effect("an or-group of a sleep and an event: the event wins when its expression accepts it", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Review, {
        input: { id: "r-2" },
        durable: { events: [{ key: "review:r-2", payload: { approved: true } }] }
      })
      expect(run.exit).toEqual(Exit.succeed({ outcome: `reviewed: {"approved":true}`, invocation: 1 }))
    }).pipe(Effect.provide(ReviewLive)))

  it.effect("a durable task of a workflow (Workflow.durableTask) gets its parents and the durable context", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        TaskTest.result(Flows.FollowUp, "nudge", { input: { email: "ada" }, parents: { signup: { userId: "u-ada" } } })
      )
      yield* TestClock.adjust("1 day")
      expect(yield* Fiber.join(fiber)).toEqual({ nudged: "u-ada" })
      // its non-durable task has no durable record
      const signup = yield* TaskTest.run(Flows.FollowUp, "signup", { input: { email: "ada" } })
      expect(signup.durable).toBeUndefined()
    }).pipe(Effect.provide(Flows.FollowUpLive)))

  it.effect("a scoped wait takes only an event of its scope", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Flows.LookBack, {
        input: { id: "s-1" },
        durable: {
          events: [
            { key: "scoped:s-1", payload: { approved: true, by: "other scope" }, scope: "s-2" },
            { key: "scoped:s-1", payload: { approved: false, by: "its scope" }, scope: "s-1" }
          ]
        }
      })
      expect(run.exit).toEqual(Exit.succeed({ approved: false, by: "its scope" }))
      expect(run.durable?.entries.at(-1)).toMatchObject({ _tag: "Wait", events: [{ key: "scoped:s-1", scope: "s-1" }] })
    }).pipe(Effect.provide(Flows.LookBackLive)))

  it.effect("sleepUntil wakes at the time given (the Clock's); waitFor a list needs every condition", () =>
    Effect.gen(function*() {
      const events = yield* Queue.unbounded<TaskTest.DurableEvent>()
      const fiber = yield* Effect.fork(TaskTest.run(Both, { input: {}, durable: { eventQueue: events } }))
      yield* TestClock.adjust("1 day")
      yield* Queue.offer(events, { key: "a", payload: { n: 1 } })
      yield* TestClock.adjust("1 day")
      // "a" came before the wait: kept for it; the wait still needs "b"
      expect(fiber.unsafePoll()).toBeNull()
      yield* Queue.offer(events, { key: "b", payload: { n: 2 } })
      const run = yield* Fiber.join(fiber)
      expect(run.exit).toEqual(Exit.succeed(["a", "b"]))
      expect(run.durable?.entries.filter((e) => e._tag === "Wait")).toMatchObject([
        { sleeps: ["48h"], startedAt: 0, endedAt: 2 * 86_400_000 },
        { events: [{ key: "a" }, { key: "b" }], startedAt: 2 * 86_400_000 }
      ])
    }).pipe(Effect.provide(BothLive)))

  it.effect("a durable child gets its own durable context: its week's sleep on the same Clock", () =>
    Effect.gen(function*() {
      const Nest = Task.durable("durable-nest", { output: Schema.String, executionTimeout: "30 days" })
      const NestLive = Nest.toLayer(() =>
        DurableContext.runChild(Flows.Sleeper, { days: 7 }).pipe(
          Effect.map((r) => r.after),
          Effect.catchAll((e) => Effect.fail(new TaskError.UndeclaredError({ error: e })))
        )
      )
      const fiber = yield* Effect.fork(
        TaskTest.run(Nest, { input: {} }).pipe(Effect.provide(Layer.merge(NestLive, Flows.SleeperLive)))
      )
      yield* TestClock.adjust("7 days")
      const run = yield* Fiber.join(fiber)
      expect(run.exit).toEqual(Exit.succeed(new Date(7 * 86_400_000).toISOString()))
      const child = run.durable?.entries[0]
      expect(child).toMatchObject({ _tag: "Child", name: "durable-sleeper", input: { days: 7 } })
      const childRun = (child as { readonly run: TaskTest.Run<unknown, unknown> }).run
      expect(childRun.durable?.entries.map((e) => e._tag)).toEqual(["Memo", "Wait", "Memo"])
    }))
})

/** Waits an hour of its own for an approval, then gives up: its wait is left unfinished. */
const Impatient = Task.durable("durable-impatient", { output: Schema.String, evictAfter: "never" })

const ImpatientLive = Impatient.toLayer(() =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const approval = yield* ctx.waitForEvent("impatient:approval", { schema: Flows.Approval }).pipe(
      Effect.timeout("1 hour"),
      Effect.option
    )
    return approval._tag === "Some" ? `approved by ${approval.value.by}` : "gave up"
  })
)

/** The events `Flows.Agreement` takes once its three-day sleep is over. */
const agreementEvents = [
  { key: "sign:a-1", payload: { signed: true, by: "ada" } },
  { key: "confirm:a-1", payload: { approved: true, by: "bob" }, scope: "a-1" }
]

/** A `Double` that must not run: a replay answers its children from the log. */
const DoubleNotAgain = Flows.Double.toLayer(() => Effect.dieMessage("the child ran again"))

/** `Checkout` changed after its first run: another memo key, or a sleep where it waited for the approval. */
const CheckoutChanged = (change: "memo key" | "wait") =>
  Flows.Checkout.toLayer((input) =>
    Effect.gen(function*() {
      const ctx = yield* DurableContext.DurableContext
      const chargeId = yield* ctx.memo(change === "memo key" ? "charge-v2" : "charge", Effect.succeed("ch-new"), Schema.String)
      if (change === "wait") yield* ctx.sleep("1 hour")
      const approval = yield* ctx.waitForEvent(`approval:${input.orderId}`, { schema: Flows.Approval })
      return { chargeId, approval }
    })
  )

describe("TaskTest replays a durable task's log", () => {
  it.effect("a deterministic task replays its whole log: nothing runs, waits or spawns again", () =>
    Effect.gen(function*() {
      const input = { id: "a-1", n: 5 }
      const fiber = yield* Effect.fork(
        TaskTest.run(Flows.Agreement, { input, durable: { events: agreementEvents } }).pipe(Effect.provide(Flows.DoubleLive))
      )
      yield* TestClock.adjust("3 days")
      const first = yield* Fiber.join(fiber)
      const output = yield* first.exit
      expect(output).toMatchObject({ quote: 15, slept: 3 * 86_400_000, child: 10, invocation: 1 })

      // no clock move, no events, children that would die if run: the log answers every call
      const replay = yield* TaskTest.run(Flows.Agreement, { input, durable: { replayOf: first.durable } }).pipe(
        Effect.provide(DoubleNotAgain)
      )
      expect(yield* replay.exit).toEqual({ ...output, invocation: 2 })
      expect(replay.durable?.invocationCount).toBe(2)
      expect(replay.durable?.memoRan).toEqual([])
      expect(replay.durable?.nonDeterminism).toBeUndefined()
      expect(replay.durable?.entries.map((e) => [e._tag, e.replayed])).toEqual(
        first.durable?.entries.map((e) => [e._tag, true])
      )
      // the children's entries are the first run's (their runs are not made again)
      const children = (run: TaskTest.Run<unknown, unknown>) => run.durable?.entries.flatMap((e) => e._tag === "Child" ? [e.run] : [])
      expect(children(replay)).toEqual(children(first))
      // the first run's record is left as it was
      expect(first.durable?.entries.every((e) => !e.replayed)).toBe(true)
    }).pipe(Effect.provide(Flows.AgreementLive)))

  it.effect("a handler that changed its calls fails the replay with the engine's NonDeterminismError", () =>
    Effect.gen(function*() {
      const input = { orderId: "o-9", amount: 3 }
      const events = [{ key: "approval:o-9", payload: { approved: true, by: "ada" } }]
      const first = yield* TaskTest.run(Flows.Checkout, { input, durable: { events } }).pipe(Effect.provide(Flows.CheckoutLive))
      expect(first.exit).toEqual(Exit.succeed({ chargeId: "ch-o-9", approval: { approved: true, by: "ada" } }))

      // another memo key at node 1
      const renamed = yield* TaskTest.run(Flows.Checkout, { input, durable: { replayOf: first.durable } }).pipe(
        Effect.provide(CheckoutChanged("memo key"))
      )
      const memoError = new NonDeterminismError({
        taskRunExternalId: "test-task-run",
        invocationCount: 2,
        nodeId: 1,
        message: "non-determinism error in task test-task-run at node 1:1\n  expected: MEMO\n  received: memo"
      })
      expect(renamed.durable?.nonDeterminism).toEqual(memoError)
      expect(renamed.durable?.memoRan).toEqual([])
      // uncaught, it fails the task as on a worker
      expect(renamed.outcome).toMatchObject({ _tag: "Failed" })
      expect(Exit.isFailure(renamed.exit) && Cause.pretty(renamed.exit.cause)).toContain("expected: MEMO")

      // a sleep at node 2, where the log holds the wait for the approval
      const slept = yield* TaskTest.run(Flows.Checkout, { input, durable: { replayOf: first.durable } }).pipe(
        Effect.provide(CheckoutChanged("wait"))
      )
      expect(slept.durable?.nonDeterminism).toEqual(
        new NonDeterminismError({
          taskRunExternalId: "test-task-run",
          invocationCount: 2,
          nodeId: 2,
          message: "non-determinism error in task test-task-run at node 2:1\n  expected: event(approval:o-9)\n  received: sleep(1h)"
        })
      )
      // the memo before it replayed (the new value was not computed)
      expect(slept.durable?.entries[0]).toMatchObject({ _tag: "Memo", key: "charge", replayed: true })
      expect(slept.durable?.memoLog).toEqual({ charge: "ch-o-9" })
    }))

  it.effect("children: a replay answers them from the log; a child asked with another input is non-deterministic", () =>
    Effect.gen(function*() {
      const first = yield* TaskTest.run(Flows.Parent, { input: { n: 21 } }).pipe(Effect.provide(Flows.DoubleLive))
      const replay = yield* TaskTest.run(Flows.Parent, { input: { n: 21 }, durable: { replayOf: first.durable } }).pipe(
        Effect.provide(DoubleNotAgain)
      )
      expect(replay.exit).toEqual(first.exit)
      expect(replay.durable?.entries.map((e) => e.replayed)).toEqual([true, true, true, true, true])
      // the first child (index 0) with another input: its spawn key finds the recorded child
      const changed = yield* TaskTest.run(Flows.Parent, { input: { n: 22 }, durable: { replayOf: first.durable } }).pipe(
        Effect.provide(DoubleNotAgain)
      )
      expect(changed.durable?.nonDeterminism).toMatchObject({
        nodeId: 1,
        message: "non-determinism error in task test-task-run at node 1:1\n  expected: run(durable-double)\n  received: run(durable-double)"
      })
    }).pipe(Effect.provide(Flows.ParentLive)))

  it.effect("a wait the first run left unfinished is armed again in the replay, and its event meets it there", () =>
    Effect.gen(function*() {
      // gives up on the approval after an hour of its own (never evicted, so its own timeout runs)
      const fiber = yield* Effect.fork(TaskTest.run(Impatient, { input: {} }))
      yield* TestClock.adjust("1 hour")
      const first = yield* Fiber.join(fiber)
      expect(yield* first.exit).toBe("gave up")
      expect(first.durable?.entries).toMatchObject([{ _tag: "Wait", endedAt: undefined, data: undefined }])

      // the replay finds the wait recorded but not met: armed again, the approval meets it at once
      const replay = yield* TaskTest.run(Impatient, {
        input: {},
        durable: { replayOf: first.durable, events: [{ key: "impatient:approval", payload: { approved: true, by: "ada" } }] }
      })
      expect(yield* replay.exit).toBe("approved by ada")
      expect(replay.durable?.entries).toMatchObject([{
        _tag: "Wait",
        replayed: true,
        data: { "impatient:approval": { approved: true, by: "ada" } }
      }])
      expect(replay.durable?.nonDeterminism).toBeUndefined()
    }).pipe(Effect.provide(ImpatientLive)))

  it.effect("a wait that outlasts evictAfter evicts the invocation; the event restores it, and it replays the log", () =>
    Effect.gen(function*() {
      yield* resetCounts
      const events = yield* Queue.unbounded<TaskTest.DurableEvent>()
      const fiber = yield* Effect.fork(
        TaskTest.run(Flows.Checkout, { input: { orderId: "o-5", amount: 2 }, durable: { eventQueue: events } })
      )
      // evicted after 15 minutes (the default evictAfter): the handler stopped, the wait goes on
      yield* TestClock.adjust("1 hour")
      expect(fiber.unsafePoll()).toBeNull()
      expect(yield* Ref.get(Flows.counts.invocations)).toBe(1)
      yield* Queue.offer(events, { key: "approval:o-5", payload: { approved: true, by: "lin" } })
      const run = yield* Fiber.join(fiber)
      expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-o-5", approval: { approved: true, by: "lin" } }))
      // the body ran twice, the memoized charge once
      expect(yield* Ref.get(Flows.counts.invocations)).toBe(2)
      expect(yield* Ref.get(Flows.counts.charges)).toBe(1)
      expect(run.durable?.invocations).toEqual([
        { invocationCount: 1, startedAt: 0, endedAt: 15 * 60_000, evicted: true },
        { invocationCount: 2, startedAt: 3_600_000, endedAt: 3_600_000, evicted: false }
      ])
      expect(run.durable?.entries).toMatchObject([
        { _tag: "Memo", key: "charge", replayed: true },
        { _tag: "Wait", startedAt: 0, endedAt: 3_600_000, replayed: true }
      ])
      expect(run.durable?.memoRan).toEqual(["charge"])
    }).pipe(Effect.provide(Flows.CheckoutLive)))

  it.effect("evictAfter 0: evicted at every wait not answered at once, restored, and the replay gives the same output", () =>
    Effect.gen(function*() {
      const input = { id: "a-1", n: 5 }
      const fiber = yield* Effect.fork(
        TaskTest.run(Flows.Agreement, { input, durable: { events: agreementEvents, evictAfter: "0 seconds" } }).pipe(
          Effect.provide(Flows.DoubleLive)
        )
      )
      yield* TestClock.adjust("3 days")
      const run = yield* Fiber.join(fiber)
      // evicted at the sleep; the events were there when their waits began, and the children had
      // ended when they were awaited
      expect(run.durable?.invocations).toEqual([
        { invocationCount: 1, startedAt: 0, endedAt: 0, evicted: true },
        { invocationCount: 2, startedAt: 3 * 86_400_000, endedAt: 3 * 86_400_000, evicted: false }
      ])
      expect(yield* run.exit).toMatchObject({ quote: 15, slept: 3 * 86_400_000, child: 10, failure: "too big: 1000", invocation: 2 })
      // each memo ran once, whatever the replays
      expect(run.durable?.memoRan).toEqual(["quote", "now", "now"])
    }).pipe(Effect.provide(Flows.AgreementLive)))

  it.effect("evicted and restored, a handler whose calls changed fails with NonDeterminismError", () =>
    Effect.gen(function*() {
      const layer = Layer.merge(Flows.RestlessLive, Flows.DoubleLive)
      const restore = (drift: boolean) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(TaskTest.run(Flows.Restless, { input: { drift } }).pipe(Effect.provide(layer)))
          yield* TestClock.adjust("11 minutes")
          yield* TestClock.adjust("1 day")
          return yield* Fiber.join(fiber)
        })
      const steady = yield* restore(false)
      expect(steady.exit).toEqual(Exit.succeed({ step: "ran in invocation 1", child: 8, invocation: 2 }))
      expect(steady.durable?.invocations.map((i) => i.evicted)).toEqual([true, false])
      expect(steady.durable?.entries.map((e) => e._tag)).toEqual(["Memo", "Wait", "Child"])

      const drifting = yield* restore(true)
      expect(drifting.durable?.nonDeterminism).toMatchObject({ nodeId: 1, invocationCount: 2 })
      expect(drifting.outcome).toMatchObject({ _tag: "Failed" })
    }))
})
