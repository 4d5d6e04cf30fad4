/**
 * Which failures the worker retries (its reports and its registration), under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../src/HatchetError.js"
import { isTransient, reportRetry } from "../src/internal/retry.js"

const failure = (code: Status) => new GrpcError({ method: "/Dispatcher/SendStepActionEvent", code, details: Status[code] })

/** Fails with `code` `times` times, then succeeds; returns how many calls were made. */
const flaky = (code: Status, times: number) =>
  Effect.gen(function*() {
    let calls = 0
    const call = Effect.suspend(() => (++calls <= times ? Effect.fail(failure(code)) : Effect.succeed(calls)))
    const fiber = yield* Effect.fork(Effect.either(Effect.retry(call, reportRetry)))
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
})
