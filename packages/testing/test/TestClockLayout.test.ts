/**
 * The test layout the README shows, under `@effect/vitest`: a named `layer(...)` block shares one
 * layer, and with it one `TestClock`, across its tests; a top-level `it.effect` after the block
 * starts on a fresh clock, without the layer's services. (The unnamed form, `layer(L)((it) => ...)`,
 * installs the layer's methods on the imported `it`, so top-level tests after it would run in the
 * layer: the README says to avoid it.)
 */
import { expect, it, layer } from "@effect/vitest"
import { Clock, Context, Effect, Layer, Option, TestClock } from "effect"

class BlockService extends Context.Tag("TestClockLayout/BlockService")<BlockService, string>() {}

const HOUR = 60 * 60 * 1000

layer(Layer.succeed(BlockService, "in the block"))("a named layer block", (it) => {
  it.effect("moves the block's clock by an hour", () =>
    Effect.gen(function*() {
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* TestClock.adjust("1 hour")
      expect(yield* Clock.currentTimeMillis).toBe(HOUR)
    }))

  it.effect("the next test of the block starts where the last one left the clock", () =>
    Effect.gen(function*() {
      expect(yield* Clock.currentTimeMillis).toBe(HOUR)
      expect(yield* BlockService).toBe("in the block")
    }))
})

it.effect("a top-level test after the block: a fresh clock, none of the block's services", () =>
  Effect.gen(function*() {
    expect(yield* Clock.currentTimeMillis).toBe(0)
    expect(yield* Effect.serviceOption(BlockService)).toEqual(Option.none())
  }))
