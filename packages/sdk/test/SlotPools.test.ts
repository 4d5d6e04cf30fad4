/**
 * The worker's slot pools (`internal/slotPools.ts`): permits taken synchronously while free,
 * waiters woken in order (each that fits), a waiter interrupted while it waits holds nothing, and
 * a waiter woken then interrupted holds its permits until its attempt releases them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Attempt from "../src/internal/attempt.js"
import * as SlotPools from "../src/internal/slotPools.js"

const attempt = Effect.map(Effect.clock, (clock) => Attempt.make(clock, 0, {}))

/** Lets forked fibers run up to their next wait. */
const settle = Effect.repeatN(Effect.yieldNow(), 10)

describe("slot pools", () => {
  it.effect("take while free at once; a waiter interrupted while it waits leaves the queue holding nothing", () =>
    Effect.gen(function*() {
      const pools = yield* SlotPools.make(2, 1)
      const [a, b, c] = [yield* attempt, yield* attempt, yield* attempt]
      expect(pools.unsafeTryTake(a, 2)).toBe(true)
      expect([a.permits, pools.held(), pools.default.free]).toEqual([2, 2, 0])
      expect(pools.unsafeTryTake(b, 1)).toBe(false)

      const waitingB = yield* Effect.fork(pools.take(b, 1))
      const waitingC = yield* Effect.fork(pools.take(c, 1))
      yield* settle
      expect(pools.default.waiters.size).toBe(2)

      yield* Fiber.interrupt(waitingB)
      expect(pools.default.waiters.size).toBe(1)
      expect(b.permits).toBe(0)

      // a's release wakes c, whose permit is taken for it as it is woken
      pools.unsafeRelease(a)
      expect([c.permits, pools.held(), pools.default.free]).toEqual([1, 1, 1])
      yield* Fiber.join(waitingC)
      expect(pools.default.waiters.size).toBe(0)
      // the durable pool is apart
      expect(pools.unsafeTryTake(b, 1, pools.durable)).toBe(true)
      expect([pools.durable.free, pools.default.free, pools.held()]).toEqual([0, 1, 2])
    }))

  it.effect("a waiter that does not fit does not hold back a later one that does; a new taker waits behind waiters", () =>
    Effect.gen(function*() {
      const pools = yield* SlotPools.make(3, 1)
      const [a, x, big, small] = [yield* attempt, yield* attempt, yield* attempt, yield* attempt]
      expect(pools.unsafeTryTake(a, 2)).toBe(true)
      expect(pools.unsafeTryTake(x, 1)).toBe(true)
      const waitingBig = yield* Effect.fork(pools.take(big, 3))
      const waitingSmall = yield* Effect.fork(pools.take(small, 1))
      yield* settle
      expect(pools.default.waiters.size).toBe(2)

      // one permit free: the big waiter (first) does not fit, the small one behind it does
      pools.unsafeRelease(x)
      expect([big.permits, small.permits, pools.default.free]).toEqual([0, 1, 0])
      yield* Fiber.join(waitingSmall)

      // a permit would be free after a's release, but a waiter came first: a new taker waits too
      pools.unsafeRelease(a)
      const late = yield* attempt
      expect(pools.unsafeTryTake(late, 1)).toBe(false)

      // three free: the big waiter takes them
      pools.unsafeRelease(small)
      expect([big.permits, pools.default.free, pools.held()]).toEqual([3, 0, 3])
      yield* Fiber.join(waitingBig)
    }))

  it.effect("a waiter woken and then interrupted keeps its permits on its attempt until the attempt releases them", () =>
    Effect.gen(function*() {
      const pools = yield* SlotPools.make(1, 1)
      const [a, b, c] = [yield* attempt, yield* attempt, yield* attempt]
      expect(pools.unsafeTryTake(a, 1)).toBe(true)
      const waitingB = yield* Effect.fork(pools.take(b, 1))
      yield* settle
      pools.unsafeRelease(a)
      yield* Fiber.interrupt(waitingB)
      expect([b.permits, pools.held(), pools.default.free]).toEqual([1, 1, 0])
      expect(pools.unsafeTryTake(c, 1)).toBe(false)
      pools.unsafeRelease(b)
      expect([b.permits, pools.held(), pools.default.free]).toEqual([0, 0, 1])
      expect(pools.unsafeTryTake(c, 1)).toBe(true)
    }))
})
