/**
 * The welcome flow on the local engine, under the TestClock: an activation within three days
 * ends the wait with its plan; without one, three days later the user is nudged and dormant. The
 * welcome email goes out once per user either way.
 */
import { Hatchet } from "@effect-hatchet/sdk"
import { HatchetTest } from "@effect-hatchet/testing"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
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
