/**
 * Which failures the worker retries (its reports and its registration), under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../src/HatchetError.js"
import { isTransient, reportRetry, retryAfterFailure } from "../src/internal/retry.js"

const failure = (code: Status) => new GrpcError({ method: "/Dispatcher/SendStepActionEvent", code, details: Status[code] })

/**
 * Fails with `code` `times` times, then succeeds, retried as the worker's calls are
 * (`retryAfterFailure` with `reportRetry`); returns how many calls were made.
 */
const flaky = (code: Status, times: number) =>
  Effect.gen(function*() {
    let calls = 0
    const call = Effect.suspend(() => (++calls <= times ? Effect.fail(failure(code)) : Effect.succeed(calls)))
    const fiber = yield* Effect.fork(Effect.either(retryAfterFailure(call, reportRetry)))
    yield* TestClock.adjust("10 seconds")
    return { result: yield* Fiber.join(fiber), calls }
  })

describe("worker retries", () => {
  it.effect("a report cut by the server (CANCELLED, e.g. an engine restart) is retried like UNAVAILABLE", () =>
    Effect.gen(function*() {
      for (const code of [Status.CANCELLED, Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]) {
        const { calls, result } = yield* flaky(code, 2)
        expect(result._tag).toBe("Right")
        expect(calls).toBe(3)
      }
    }))

  it.effect("a rejected request is not retried", () =>
    Effect.gen(function*() {
      for (const code of [Status.INVALID_ARGUMENT, Status.NOT_FOUND, Status.FAILED_PRECONDITION, Status.UNIMPLEMENTED]) {
        expect(isTransient(failure(code))).toBe(false)
        const { calls, result } = yield* flaky(code, 1)
        expect(result._tag).toBe("Left")
        expect(calls).toBe(1)
      }
    }))

  it.effect("gives up after 5 retries", () =>
    Effect.gen(function*() {
      const { calls, result } = yield* flaky(Status.UNAVAILABLE, 100)
      expect(result._tag).toBe("Left")
      expect(calls).toBe(6)
    }))
  it.effect("retryAfterFailure waits as Effect.retry does: the schedule sees the first failure and backs off before the first retry", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      let calls = 0
      const call = Effect.flatMap(TestClock.currentTimeMillis, (now) => {
        times.push(now)
        return ++calls <= 3 ? Effect.fail(failure(Status.UNAVAILABLE)) : Effect.succeed(calls)
      })
      // a fixed backoff, so that both sides can be compared without jitter
      const schedule = Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(5)))
      const fiber = yield* Effect.fork(retryAfterFailure(call, schedule))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(4)
      expect(times).toEqual([0, 100, 200, 300])
      // a call that succeeds at once is called once
      let once = 0
      expect(yield* retryAfterFailure(Effect.sync(() => ++once), schedule)).toBe(1)
    }))
})
