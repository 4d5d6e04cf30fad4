/**
 * A durable task: a new user gets a welcome email at once, a nudge three days later unless they
 * activated meanwhile, and is marked active or dormant. The task sleeps on the engine, not on the
 * worker: a worker may restart (or another take over) during those days, and the email already
 * sent is not sent again (a memoized step).
 */
import { Condition, DurableContext, Task } from "@effect-hatchet/sdk"
import { Context, Effect, Schema } from "effect"

/** Sends mail (a test double in the example's test). */
export class Mailer extends Context.Tag("examples/Mailer")<Mailer, {
  readonly send: (to: string, template: string) => Effect.Effect<string>
}>() {}

/** What the app pushes as `user:activated:<userId>` when the user activates. */
export const Activated = Schema.Struct({ plan: Schema.String })

export const Welcome = Task.durable("welcome", {
  input: Schema.Struct({ userId: Schema.String, email: Schema.String }),
  output: Schema.Struct({
    welcomeId: Schema.String,
    status: Schema.Literal("active", "dormant"),
    plan: Schema.NullOr(Schema.String)
  }),
  // after a minute of waiting it is evicted (its slot freed): the timeout counts only while it runs
  executionTimeout: "5 minutes",
  evictAfter: "1 minute"
})

export const WelcomeLive = Welcome.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* DurableContext.DurableContext
    const mailer = yield* Mailer
    // sent once, whatever happens to the worker afterwards
    const welcomeId = yield* ctx.memo("welcome-email", mailer.send(input.email, "welcome"), Schema.String)
    // activation within three days, or the nudge
    const woke = yield* ctx.waitFor(
      Condition.or(Condition.event(`user:activated:${input.userId}`), Condition.sleep("3 days"))
    )
    const activation = woke[`user:activated:${input.userId}`]
    if (activation !== undefined) {
      const { plan } = yield* Schema.decodeUnknown(Activated)(activation).pipe(Effect.orDie)
      return { welcomeId, status: "active" as const, plan }
    }
    yield* ctx.memo("nudge-email", mailer.send(input.email, "nudge"), Schema.String)
    return { welcomeId, status: "dormant" as const, plan: null }
  })
)
