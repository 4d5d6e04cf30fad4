/**
 * The review workflow's conditions on the local engine, under the TestClock: a high score skips
 * the review, an approval event wakes it, and without one it goes on after a day.
 */
import { Hatchet } from "@effect-hatchet/sdk"
import { HatchetTest } from "@effect-hatchet/testing"
import { expect, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Review, ReviewLive } from "./review-flow.js"

layer(HatchetTest.layer({ workflows: [ReviewLive] }))("review on the local engine", (it) => {
  it.effect("a high score skips the review", () =>
    Effect.gen(function*() {
      const result = yield* Hatchet.run(Review, { docId: "d-1", score: 0.95 })
      expect(result["human-review"]).toEqual(Option.none())
      expect(result.publish.reviewedBy).toBe("nobody: the score was high enough")
    }))

  it.effect("without an approval the review goes on after a day; an approval wakes it", () =>
    Effect.gen(function*() {
      const idle = yield* Hatchet.runNoWait(Review, { docId: "d-2", score: 0.5 })
      yield* HatchetTest.adjust("1 day")
      expect((yield* idle.result).publish.reviewedBy).toBe("nobody: a day passed")

      const approved = yield* Hatchet.runNoWait(Review, { docId: "d-3", score: 0.5 })
      yield* HatchetTest.settle()
      yield* Hatchet.push("review:approved", { docId: "d-3", approved: true, by: "ada" })
      expect((yield* approved.result).publish.reviewedBy).toBe("ada")
    }))
})
