/**
 * Step conditions end to end: our worker and client on the local engine over loopback gRPC, under
 * the TestClock (HatchetTest). What is asserted is what Hatchet does:
 * - `skipIf` on a parent's output skips the task (its result is `None`), a task whose parents were
 *   all skipped is skipped too, and a child with another parent runs and sees the skipped one;
 * - a sleep condition of a day holds only once the day has passed since the parents completed;
 * - an event condition counts only events pushed while the task waits (not before its parents
 *   are done) and that its expression accepts, and the task reads the event's payload;
 * - `cancelIf` on a parent's output cancels the task, and so the run.
 */
import { Hatchet, Runs, TaskError } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Option } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import {
  approvalKey,
  Approvals,
  ApprovalsLive,
  Branches,
  BranchesLive,
  gate,
  Guarded,
  GuardedLive,
  ran,
  Sleepy,
  SleepyLive
} from "./conditionFlows.js"

const TestLive = HatchetTest.layer({ workflows: [BranchesLive, SleepyLive, ApprovalsLive, GuardedLive] })

layer(TestLive, { timeout: 30_000 })("step conditions end to end", (it) => {
  it.effect("skipIf on a parent's output: the task is skipped, so is its only child; the other child sees it skipped", () =>
    Effect.gen(function*() {
      ran.length = 0
      const high = yield* Hatchet.run(Branches, { n: 60 })
      expect(high).toEqual({
        start: { n: 60 },
        left: Option.none(),
        right: Option.some({ n: 62 }),
        "after-left": Option.none(),
        sum: { total: 122, skipped: ["left"], leftSkipped: true }
      })
      expect(ran).not.toContain("left")
      expect(ran).not.toContain("after-left")

      const low = yield* Hatchet.run(Branches, { n: 10 })
      expect(low).toEqual({
        start: { n: 10 },
        left: Option.some({ n: 11 }),
        right: Option.none(),
        "after-left": Option.some({ n: 11 }),
        sum: { total: 21, skipped: ["right"], leftSkipped: false }
      })
    }))

  it.effect("a sleep condition of a day holds once the day has passed, not before", () =>
    Effect.gen(function*() {
      const runs = yield* Runs.Runs
      const handle = yield* Hatchet.runNoWait(Sleepy, {})
      yield* HatchetTest.adjust("23 hours")
      expect(yield* runs.status(handle.runId)).toBe("RUNNING")
      yield* HatchetTest.adjust("1 hour")
      // the sleep's data reached the task under its data key
      expect((yield* handle.result)["after-a-day"]).toEqual({ woke: { sleep_duration: "24h" } })
    }))

  it.effect("an event condition counts an event pushed while the task waits that its expression accepts", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Approvals, {})
      // `start` runs, held by the gate: the event condition is not waited for yet
      yield* HatchetTest.awaitTask(handle, { task: "start" })
      yield* Hatchet.push(approvalKey, { ok: true, by: "too early" })
      yield* Deferred.succeed(gate, undefined)
      yield* HatchetTest.settle()
      // now it waits: an event its expression refuses does not count, the next one does
      yield* Hatchet.push(approvalKey, { ok: false, by: "refused" })
      yield* Hatchet.push(approvalKey, { ok: true, by: "ada" })
      // the task read the payload of the event that met its condition: neither the early one nor the refused one
      expect((yield* handle.result).approved).toEqual({ by: "ada" })
    }))

  it.effect("cancelIf on a parent's output cancels the task, and so the run", () =>
    Effect.gen(function*() {
      expect(yield* Hatchet.run(Guarded, { n: 10 })).toEqual({
        start: { n: 10 },
        guarded: { n: 20 },
        "after-guarded": { n: 21 }
      })
      const exit = yield* Effect.exit(Hatchet.run(Guarded, { n: 60 }))
      expect(Exit.isFailure(exit)).toBe(true)
      const failures = Exit.isFailure(exit) ? [...Cause.failures(exit.cause)] : []
      expect(failures[0]).toBeInstanceOf(TaskError.TaskFailed)
      expect(failures[0]).toMatchObject({ taskName: "guarded", kind: "Cancelled" })
    }))
})
