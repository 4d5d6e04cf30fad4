/**
 * Durable tasks for the durable tests (end to end, and under `TaskTest`): a sleeper, a flow that
 * memoizes a charge and waits for an approval (counting what runs), an event waiter with a
 * lookback, and a parent of typed children; and how the end-to-end tests wait for a worker.
 */
import type { Worker } from "@effect-hatchet/sdk"
import { Condition, DurableContext, Hatchet, Task, TaskError, Workflow } from "@effect-hatchet/sdk"
import { Clock, Effect, Ref, Schema } from "effect"

/** The real clock: the tests wait (a little) in real time while the TestClock stands still. */
const liveClock = Clock.make()

/** Sleeps `ms` of real time, whatever clock the test runs on. */
export const liveSleep = (ms: number) => Effect.sleep(ms).pipe(Effect.withClock(liveClock))

/** Polls, in real time, until `check` holds (at most 10 s). */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = (yield* liveClock.currentTimeMillis) + 10_000
    while (!(yield* check)) {
      if ((yield* liveClock.currentTimeMillis) > deadline) return yield* Effect.dieMessage("condition not reached in 10 s")
      yield* liveSleep(5)
    }
  })

/** Until the worker has `n` durable tasks waiting for the engine. */
export const waiting = (worker: Worker.WorkerShape, n = 1) => eventually(Effect.map(worker.durableWaiting, (w) => w >= n))

/** How often each step of the flows below ran (reset by each test). */
export const counts = {
  invocations: Ref.unsafeMake(0),
  charges: Ref.unsafeMake(0)
}

/** Sleeps `days` days on the engine's clock, between two memoized `now`s. */
export const Sleeper = Task.durable("durable-sleeper", {
  input: Schema.Struct({ days: Schema.Number }),
  output: Schema.Struct({ before: Schema.String, after: Schema.String }),
  executionTimeout: "30 days"
})

export const SleeperLive = Sleeper.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const before = yield* ctx.now
    yield* ctx.sleep(`${input.days} days`)
    const after = yield* ctx.now
    return { before: before.toISOString(), after: after.toISOString() }
  })
)

export const Approval = Schema.Struct({ approved: Schema.Boolean, by: Schema.String })

/** Charges once (a memo), then waits for `approval:<orderId>`. */
export const Checkout = Task.durable("durable-checkout", {
  input: Schema.Struct({ orderId: Schema.String, amount: Schema.Number }),
  output: Schema.Struct({ chargeId: Schema.String, approval: Approval }),
  executionTimeout: "1 hour"
})

export const CheckoutLive = Checkout.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    yield* Ref.update(counts.invocations, (n) => n + 1)
    const chargeId = yield* ctx.memo(
      "charge",
      Effect.as(Ref.update(counts.charges, (n) => n + 1), `ch-${input.orderId}`),
      Schema.String
    )
    const approval = yield* ctx.waitForEvent(`approval:${input.orderId}`, { schema: Approval })
    return { chargeId, approval }
  })
)

/** Waits for `scoped:<id>` pushed with scope `<id>`, counting events of the last hour. */
export const LookBack = Task.durable("durable-lookback", {
  input: Schema.Struct({ id: Schema.String }),
  output: Approval,
  executionTimeout: "1 hour"
})

export const LookBackLive = LookBack.toLayer((input) =>
  DurableContext.waitForEvent(`scoped:${input.id}`, { schema: Approval, scope: input.id, lookback: "1 hour" })
)

/** Waits for `typo:<id>` with the expression given, or an hour; a wait refused before sending says why. */
export const Typo = Task.durable("durable-typo", {
  input: Schema.Struct({ id: Schema.String, expression: Schema.String }),
  output: Schema.Union(Schema.Struct({ met: Schema.Array(Schema.String) }), Schema.Struct({ refused: Schema.String })),
  executionTimeout: "2 hours"
})

export const TypoLive = Typo.toLayer((input) =>
  DurableContext.waitFor(
    Condition.or(Condition.event(`typo:${input.id}`, { expression: input.expression }), Condition.sleep("1 hour"))
  ).pipe(
    Effect.map((result) => ({ met: Object.keys(result) })),
    Effect.catchIf(
      (error) => error._tag === "DurableTaskError" && error.reason === "InvalidArgument",
      (error) => Effect.succeed({ refused: error.message })
    )
  )
)

export class TooBig extends Schema.TaggedError<TooBig>()("TooBig", { n: Schema.Number }) {}

/** A child: doubles, or fails with a typed error above 100. */
export const Double = Task.make("durable-double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ doubled: Schema.Number }),
  error: TooBig
})

export const DoubleLive = Double.toLayer((input) =>
  input.n > 100 ? Effect.fail(new TooBig({ n: input.n })) : Effect.succeed({ doubled: input.n * 2 })
)

/** Spawns children: one, then a batch, then a failing one whose typed error it reports. */
export const Parent = Task.durable("durable-parent", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ one: Schema.Number, many: Schema.Array(Schema.Number), failure: Schema.String }),
  executionTimeout: "1 hour"
})

export const ParentLive = Parent.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const one = yield* ctx.runChild(Double, { n: input.n })
    const many = yield* ctx.runChildren(Double, [{ n: 1 }, { n: 2 }, { n: 3 }])
    const failure = yield* ctx.runChild(Double, { n: 1000 }).pipe(
      Effect.map(() => "none"),
      Effect.catchTag("TooBig", (e) => Effect.succeed(`too big: ${e.n}`))
    )
    return { one: one.doubled, many: many.map((r) => r.doubled), failure }
  }).pipe(
    // a child that failed otherwise fails the parent, undeclared
    Effect.catchTags({
      TaskFailed: (e) => Effect.fail(new TaskError.UndeclaredError({ error: e })),
      TooBig: (e) => Effect.fail(new TaskError.UndeclaredError({ error: e }))
    })
  )
)

/**
 * Spawns one child through the client (`Hatchet.run` in the handler, a child of the task by its
 * task context) and one through its durable context: two children, each with its own result.
 */
export const MixedParent = Task.durable("durable-mixed-parent", {
  output: Schema.Struct({ viaClient: Schema.Number, viaDurable: Schema.Number }),
  executionTimeout: "1 hour"
})

export const MixedParentLive = MixedParent.toLayer(() =>
  Effect.gen(function*() {
    const viaClient = yield* Hatchet.run(Double, { n: 1 })
    const viaDurable = yield* DurableContext.runChild(Double, { n: 5 })
    return { viaClient: viaClient.doubled, viaDurable: viaDurable.doubled }
  }).pipe(TaskError.undeclared)
)

/** How many times `Drifting` began (its memo key changes with it: a non-deterministic handler). */
export const drift = Ref.unsafeMake(0)

/** Memoizes under a key that differs on each run, then waits for `drift:go`. */
export const Drifting = Task.durable("durable-drifting", { output: Schema.String, executionTimeout: "1 hour" })

export const DriftingLive = Drifting.toLayer(() =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const n = yield* Ref.updateAndGet(drift, (k) => k + 1)
    yield* ctx.memo(`step-${n}`, Effect.succeed(n), Schema.Number)
    yield* ctx.waitForEvent("drift:go", { schema: Schema.Struct({}) })
    return "done"
  })
)

/** A workflow whose second task is durable: it sleeps a day after its parent, then reads the parent. */
export const FollowUp = Workflow.make("durable-follow-up", { input: Schema.Struct({ email: Schema.String }) }).pipe(
  Workflow.task("signup", { output: Schema.Struct({ userId: Schema.String }) }),
  Workflow.durableTask("nudge", {
    parents: ["signup"],
    output: Schema.Struct({ nudged: Schema.String }),
    executionTimeout: "2 days"
  })
)

export const FollowUpLive = FollowUp.toLayer({
  signup: (input) => Effect.succeed({ userId: `u-${input.email}` }),
  nudge: (_, parents) =>
    Effect.gen(function*() {
      yield* DurableContext.sleep("1 day")
      return { nudged: parents.signup.userId }
    })
})

/** How many times `Hibernate` began. */
export const hibernations = Ref.unsafeMake(0)

/** Sleeps a week with an hour's execution timeout: only eviction (after 10 minutes) lets it. */
export const Hibernate = Task.durable("durable-hibernate", {
  output: Schema.Number,
  executionTimeout: "1 hour",
  evictAfter: "10 minutes"
})

export const HibernateLive = Hibernate.toLayer(() =>
  Effect.gen(function*() {
    const n = yield* Ref.updateAndGet(hibernations, (k) => k + 1)
    yield* DurableContext.sleep("7 days")
    return n
  })
)

/** A quote memoized with a Schema that transforms (a `Date` kept as its ISO string). */
const Quote = Schema.Struct({ price: Schema.Number, issued: Schema.Date })

/**
 * Every durable call at once, for the agreement of `TaskTest` with the engine: a memo with a
 * transforming Schema, `now`, a sleep, an or-group of an event (with an expression) and a sleep,
 * a scoped event wait, a child and a failing child.
 */
export const Agreement = Task.durable("durable-agreement", {
  input: Schema.Struct({ id: Schema.String, n: Schema.Number }),
  output: Schema.Struct({
    quote: Schema.Number,
    issuedIsDate: Schema.Boolean,
    slept: Schema.Number,
    signed: Schema.Unknown,
    confirmed: Approval,
    child: Schema.Number,
    failure: Schema.String,
    invocation: Schema.Number
  }),
  executionTimeout: "30 days",
  // kept on its worker while it waits (an eviction would replay it as invocation 2)
  evictAfter: "never"
})

export const AgreementLive = Agreement.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const quote = yield* ctx.memo(
      "quote",
      Effect.map(Clock.currentTimeMillis, (ms) => ({ price: input.n * 3, issued: new Date(ms) })),
      Quote
    )
    const before = yield* ctx.now
    yield* ctx.sleep("3 days")
    const after = yield* ctx.now
    const signed = yield* ctx.waitFor(Condition.or(
      Condition.event(`sign:${input.id}`, { expression: "input.signed == true" }),
      Condition.sleep("7 days")
    ))
    const confirmed = yield* ctx.waitForEvent(`confirm:${input.id}`, { schema: Approval, scope: input.id })
    const child = yield* ctx.runChild(Double, { n: input.n })
    const failure = yield* ctx.runChild(Double, { n: 1000 }).pipe(
      Effect.as("none"),
      Effect.catchTag("TooBig", (e) => Effect.succeed(`too big: ${e.n}`))
    )
    return {
      quote: quote.price,
      issuedIsDate: quote.issued instanceof Date,
      slept: after.getTime() - before.getTime(),
      signed,
      confirmed,
      child: child.doubled,
      failure,
      invocation: ctx.invocationCount
    }
  }).pipe(Effect.catchAll((e) => Effect.fail(new TaskError.UndeclaredError({ error: e }))))
)

/**
 * Memoizes a step, sleeps a day, then runs a child; evicted after 10 minutes of its sleep, it is
 * restored when the day is over and replays the log. With `drift`, its memo key names the invocation: the replay asks
 * another memo than the log holds (a non-deterministic handler).
 */
export const Restless = Task.durable("durable-restless", {
  input: Schema.Struct({ drift: Schema.Boolean }),
  output: Schema.Struct({ step: Schema.String, child: Schema.Number, invocation: Schema.Number }),
  executionTimeout: "1 hour",
  evictAfter: "10 minutes"
})

export const RestlessLive = Restless.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const step = yield* ctx.memo(
      input.drift ? `step-${ctx.invocationCount}` : "step",
      Effect.succeed(`ran in invocation ${ctx.invocationCount}`),
      Schema.String
    )
    yield* ctx.sleep("1 day")
    const child = yield* ctx.runChild(Double, { n: 4 })
    return { step, child: child.doubled, invocation: ctx.invocationCount }
  }).pipe(Effect.catchAll((e) => Effect.fail(new TaskError.UndeclaredError({ error: e }))))
)
