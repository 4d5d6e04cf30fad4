/**
 * The welcome flow on the local engine, under the TestClock: an activation within three days
 * ends the wait with its plan; without one, three days later the user is nudged and dormant. The
 * welcome email goes out once per user either way. Then the same task with no engine at all
 * (`TaskTest`): its sleep on the TestClock (evicted and restored), an event given up front, a
 * replay from a seeded memo log that does not send the email again, and a replay of a whole run.
 */
import { Hatchet } from "@effect-hatchet/sdk"
import { HatchetTest, TaskTest } from "@effect-hatchet/testing"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { Mailer, Welcome, WelcomeLive } from "./welcome-flow.js"

const sent: Array<string> = []
const MailerTest = Layer.succeed(Mailer, {
  send: (to, template) => Effect.sync(() => `mail-${sent.push(`${template}:${to}`)}`)
})

layer(HatchetTest.layer({ workflows: [WelcomeLive.pipe(Layer.provide(MailerTest))] }))("welcome on the local engine", (it) => {
  it.effect("an activation within three days makes the user active", () =>
    Effect.gen(function*() {
      const run = yield* Hatchet.runNoWait(Welcome, { userId: "u-1", email: "ada@example.com" })
      yield* HatchetTest.adjust("1 day")
      yield* Hatchet.push("user:activated:u-1", { plan: "pro" })
      expect(yield* run.result).toEqual({ welcomeId: "mail-1", status: "active", plan: "pro" })
    }))

  it.effect("without one, three days later the user is nudged and dormant", () =>
    Effect.gen(function*() {
      const run = yield* Hatchet.runNoWait(Welcome, { userId: "u-2", email: "bob@example.com" })
      yield* HatchetTest.adjust("3 days")
      expect((yield* run.result).status).toBe("dormant")
      expect(sent).toEqual(["welcome:ada@example.com", "welcome:bob@example.com", "nudge:bob@example.com"])
    }))
})

describe("welcome under TaskTest, with no engine", () => {
  const MailerStub = Layer.succeed(Mailer, { send: (_, template) => Effect.succeed(`stub-${template}`) })
  const WelcomeStub = WelcomeLive.pipe(Layer.provide(MailerStub))

  it.effect("three days on the TestClock without an activation: dormant", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(TaskTest.run(Welcome, { input: { userId: "u-3", email: "eve@example.com" } }))
      yield* TestClock.adjust("3 days")
      const run = yield* Fiber.join(fiber)
      expect(yield* run.exit).toEqual({ welcomeId: "stub-welcome", status: "dormant", plan: null })
      expect(run.durable?.memoRan).toEqual(["welcome-email", "nudge-email"])
      // evicted after a minute of waiting, restored when the three days were over: it replayed
      expect(run.durable?.invocations.map((i) => i.evicted)).toEqual([true, false])
    }).pipe(Effect.provide(WelcomeStub)))

  it.effect("replay-safe: a replay of a run is answered by its log, no email is sent again", () =>
    Effect.gen(function*() {
      const input = { userId: "u-5", email: "lin@example.com" }
      const events = [{ key: "user:activated:u-5", payload: { plan: "pro" } }]
      const first = yield* TaskTest.run(Welcome, { input, durable: { events } })
      const replay = yield* TaskTest.run(Welcome, { input, durable: { replayOf: first.durable } })
      expect(replay.exit).toEqual(first.exit)
      expect(replay.durable?.memoRan).toEqual([])
      expect(replay.durable?.entries.every((entry) => entry.replayed)).toBe(true)
      // a handler whose durable calls changed would fail with NonDeterminismError, recorded here
      expect(replay.durable?.nonDeterminism).toBeUndefined()
    }).pipe(Effect.provide(WelcomeStub)))

  it.effect("a replay: the memo log answers, the email is not sent again; the activation ends the wait", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(Welcome, {
        input: { userId: "u-4", email: "dan@example.com" },
        durable: {
          memo: { "welcome-email": "mail-7" },
          invocationCount: 2,
          events: [{ key: "user:activated:u-4", payload: { plan: "pro" } }]
        }
      })
      expect(yield* run.exit).toEqual({ welcomeId: "mail-7", status: "active", plan: "pro" })
      expect(run.durable?.memoRan).toEqual([])
    }).pipe(Effect.provide(WelcomeStub)))
})
