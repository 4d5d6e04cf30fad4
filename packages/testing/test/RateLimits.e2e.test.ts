/**
 * Rate limits end to end under TestClock: `Hatchet.putRateLimit`, tasks with static and dynamic
 * keys, our worker and client on the local engine over loopback gRPC. Runs over a key's units
 * wait for its next window, which the test reaches by moving the clock.
 */
import { Hatchet, Task } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

class Calls extends Context.Tag("test/Calls")<Calls, Ref.Ref<ReadonlyArray<string>>>() {}
const CallsLive = Layer.effect(Calls, Ref.make<ReadonlyArray<string>>([]))

const record = (label: string) => Effect.flatMap(Calls, (calls) => Ref.update(calls, (all) => [...all, label]))

/** Takes a unit of the static key `rl-api`, which the test creates. */
const CallApi = Task.make("rl-call-api", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  rateLimits: [{ key: "rl-api" }]
})
const CallApiLive = CallApi.toLayer(({ n }) => Effect.as(record(`api-${n}`), { n }))

/** One run per user and minute: a dynamic key with its own limit. */
const PerUser = Task.make("rl-per-user", {
  input: Schema.Struct({ user: Schema.String, n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  rateLimits: [{ dynamicKey: "input.user", limit: 1, duration: "MINUTE" }]
})
const PerUserLive = PerUser.toLayer(({ n, user }) => Effect.as(record(`${user}-${n}`), { n }))

/**
 * A dynamic key and units computed with CEL beyond member access: one key per user however it is
 * spelled (trimmed, lower-cased), a shared key for guests, and two units for a bulk request.
 */
const PerAccount = Task.make("rl-per-account", {
  input: Schema.Struct({ user: Schema.String, items: Schema.Array(Schema.String), n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  rateLimits: [{
    dynamicKey: "input.user.trim() == '' ? 'guests' : 'user-' + input.user.trim().lowerAscii()",
    units: "size(input.items) > 2 ? 2 : 1",
    limit: 2,
    duration: "MINUTE"
  }]
})
const PerAccountLive = PerAccount.toLayer(({ n }) => Effect.as(record(`account-${n}`), { n }))

/** Units from the input: a string there is not an amount. */
const Weighted = Task.make("rl-weighted", {
  input: Schema.Struct({ weight: Schema.Union(Schema.Number, Schema.String) }),
  output: Schema.Struct({ ok: Schema.Boolean }),
  rateLimits: [{ dynamicKey: "'weighted'", units: "input.weight", limit: 10, duration: "MINUTE" }]
})
const WeightedLive = Weighted.toLayer(() => Effect.as(record("weighted"), { ok: true }))

const TestLive = HatchetTest.layer({
  workflows: [CallApiLive, PerUserLive, PerAccountLive, WeightedLive]
}).pipe(Layer.provideMerge(CallsLive))

const callsSoFar = Effect.flatMap(Calls, Ref.get)

layer(TestLive, { timeout: 60_000 })("rate limits end to end (TestClock)", (it) => {
  it.effect("a static key: two units a minute, so five runs take three windows; each waits for the clock", () =>
    Effect.gen(function*() {
      yield* Hatchet.putRateLimit({ key: "rl-api", limit: 2, duration: "MINUTE" })
      const handles = yield* Hatchet.runManyNoWait(CallApi, [0, 1, 2, 3, 4].map((n) => ({ n })))
      yield* HatchetTest.settle()
      const api = () => Effect.map(callsSoFar, (all) => all.filter((c) => c.startsWith("api-")))
      expect(yield* api()).toEqual(["api-0", "api-1"])
      yield* HatchetTest.adjust("59 seconds")
      expect(yield* api()).toHaveLength(2)
      yield* HatchetTest.adjust("1 second")
      expect(yield* api()).toEqual(["api-0", "api-1", "api-2", "api-3"])
      yield* HatchetTest.adjust("1 minute")
      expect(yield* api()).toHaveLength(5)
      const results = yield* Effect.forEach(handles, (h) => h.result)
      expect(results).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })))
    }))

  it.effect("a dynamic key: one run per user and minute; users do not wait for each other", () =>
    Effect.gen(function*() {
      const handles = yield* Hatchet.runManyNoWait(PerUser, [
        { user: "ann", n: 0 },
        { user: "ann", n: 1 },
        { user: "bob", n: 2 }
      ])
      yield* HatchetTest.settle()
      const perUser = () => Effect.map(callsSoFar, (all) => all.filter((c) => c.startsWith("ann-") || c.startsWith("bob-")))
      expect([...(yield* perUser())].sort()).toEqual(["ann-0", "bob-2"])
      yield* HatchetTest.adjust("1 minute")
      expect([...(yield* perUser())].sort()).toEqual(["ann-0", "ann-1", "bob-2"])
      expect(yield* Effect.forEach(handles, (h) => h.result)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }])
    }))

  it.effect("a key and units computed with CEL functions, a ternary and a comparison", () =>
    Effect.gen(function*() {
      const handles = yield* Hatchet.runManyNoWait(PerAccount, [
        // "user-ann": a bulk request takes both units of the minute
        { user: " Ann", items: ["a", "b", "c"], n: 0 },
        { user: "ANN ", items: [], n: 1 },
        // another key: not held back by "user-ann"
        { user: "  ", items: [], n: 2 }
      ])
      yield* HatchetTest.settle()
      const accounts = () => Effect.map(callsSoFar, (all) => all.filter((c) => c.startsWith("account-")))
      expect([...(yield* accounts())].sort()).toEqual(["account-0", "account-2"])
      yield* HatchetTest.adjust("1 minute")
      expect([...(yield* accounts())].sort()).toEqual(["account-0", "account-1", "account-2"])
      expect(yield* Effect.forEach(handles, (h) => h.result)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }])
    }))

  it.effect("units that do not evaluate to an amount fail that run, saying why; others still run", () =>
    Effect.gen(function*() {
      const failed = yield* Effect.flip(Hatchet.run(Weighted, { weight: "heavy" }))
      expect(failed).toMatchObject({ _tag: "TaskFailed", kind: "Unknown" })
      expect(failed.message).toContain("failed to parse step expression (input.weight)")
      expect(yield* Hatchet.run(Weighted, { weight: 3 })).toEqual({ ok: true })
    }))
})
