/**
 * `SubscribeToWorkflowEvents` for a run id the engine does not know: looked up again 1 s apart,
 * ten times in all, then NOT_FOUND; on the engine's clock (here the test's TestClock).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { Status } from "nice-grpc"
import { newId } from "../src/internal/domain/ids.js"
import { advance, engineUnderTestClock } from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"

/** Waits, in real time, until some fiber sleeps on the TestClock (the lookup's next wait). */
const lookupWaiting = Effect.gen(function*() {
  for (let i = 0; i < 500; i++) {
    if ((yield* TestClock.sleeps()).length > 0) return
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
  }
  throw new Error("the lookup never waited")
})

describe("SubscribeToWorkflowEvents of an unknown run", () => {
  it.scoped("looks the run up ten times, 1 s apart, then answers NOT_FOUND (after 9 s)", () =>
    Effect.gen(function*() {
      const { c } = yield* engineUnderTestClock
      const id = newId()
      const outcome = yield* Effect.fork(Grpc.streamOutcome(c.dispatcher.subscribeToWorkflowEvents({ workflowRunId: id })))
      // lookups at 0 s, 1 s, ..., 9 s: the tenth finds nothing either
      for (let second = 1; second <= 8; second++) {
        yield* lookupWaiting
        yield* advance(1000)
        expect(outcome.unsafePoll(), `still looking after ${second} s`).toBeNull()
      }
      yield* lookupWaiting
      yield* advance(1000)
      const ended = yield* Fiber.join(outcome)
      expect(ended).toEqual({ code: Status.NOT_FOUND, details: `workflow run ${id} not found` })
    }))
})
