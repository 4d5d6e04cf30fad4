/**
 * The official SDK's shipped examples `dag_match_condition` and `conditions`, unchanged, with the
 * official worker and client over loopback against an engine whose clock is the test's TestClock
 * (so their 10-second sleeps pass at once): a wait on an event or a sleep, whichever comes first,
 * with what satisfied it in `ctx.triggers()`; sleeps after the parent, a skip on an event, branches
 * skipped on the parent's output, and a join that sums what ran.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { EngineCoreService } from "../src/internal/core.js"
import { taskStatus } from "../src/internal/domain/model.js"
import { advance } from "./support/clocked.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Declaration = Examples.Runnable<Record<string, never>>

/** The status of a run's task, once the task exists. */
const statusOf = (core: EngineCoreService, runId: string, readableId: string) => {
  const run = core.state.runsById.get(runId)
  const step = run?.version.stepsByReadableId.get(readableId)
  const task = step !== undefined ? run!.tasks.get(step.id) : undefined
  return task === undefined ? undefined : task.state._tag === "Completed" && task.state.skipped ? "SKIPPED" : taskStatus(task)
}

/** Waits (in real time) until the run's task has `status`. */
const until = (core: EngineCoreService, runId: string, readableId: string, status: string) =>
  Official.eventually(() => (statusOf(core, runId, readableId) === status ? true : undefined), 10_000)

layer(Examples.engineLive)("official SDK examples: conditions", (it) => {
  it.scoped(
    "dag_match_condition and conditions run with the official worker, their sleeps on the engine's clock",
    () =>
      Effect.gen(function*() {
        const { dagWithConditions } = yield* Examples.load<{ dagWithConditions: Declaration }>("dag_match_condition/workflow.js")
        const { taskConditionWorkflow } = yield* Examples.load<{ taskConditionWorkflow: Declaration }>(
          "conditions/complex-workflow.js"
        )
        const { core, hatchet } = yield* Examples.worker("conditions-worker", [dagWithConditions, taskConditionWorkflow], {
          slots: 20
        })
        const pushEvent = (key: string, payload: Record<string, unknown>) => Effect.promise(() => hatchet.events.push(key, payload))
        const runOf = (declaration: Declaration) => Examples.trigger(() => declaration.runNoWait({}))

        // dag_match_condition: second-task waits on `user:event` OR a 10s sleep, after first-task
        const byEvent = yield* runOf(dagWithConditions)
        yield* until(core, byEvent.id, "first-task", "COMPLETED")
        yield* pushEvent("user:event", { Data: { Hello: "World" } })
        expect(yield* byEvent.output).toEqual({
          "first-task": { Completed: true },
          "second-task": { Completed: true }
        })
        const bySleep = yield* runOf(dagWithConditions)
        yield* until(core, bySleep.id, "first-task", "COMPLETED")
        expect(statusOf(core, bySleep.id, "second-task")).toBeUndefined()
        yield* advance(10_000)
        expect(yield* bySleep.output).toEqual({
          "first-task": { Completed: true },
          "second-task": { Completed: true }
        })
        // the payloads the engine sent: the event's data, then the sleep's, under their data keys
        const secondTriggers = [byEvent.id, bySleep.id].map((runId) => {
          const run = core.state.runsById.get(runId)!
          return run.tasks.get(run.version.stepsByReadableId.get("second-task")!.id)!.triggerData
        })
        expect(secondTriggers.map((data) => Object.values(data))).toEqual([
          [{ Data: { Hello: "World" } }],
          [{ sleep_duration: "10s" }]
        ])

        // conditions: start; skipOnEvent skipped by its event; waitForEvent by its event before its
        // 1m sleep; waitForSleep after 10s; one branch skipped on waitForSleep's output; sum
        const complex = yield* runOf(taskConditionWorkflow)
        yield* until(core, complex.id, "start", "COMPLETED")
        yield* pushEvent("skip_on_event:skip", {})
        yield* pushEvent("wait_for_event:start", {})
        yield* until(core, complex.id, "skipOnEvent", "SKIPPED")
        yield* until(core, complex.id, "waitForEvent", "COMPLETED")
        expect(statusOf(core, complex.id, "waitForSleep")).toBeUndefined()
        yield* advance(10_000)
        type Random = { readonly randomNumber: number }
        const result = (yield* complex.output) as {
          readonly start: Random
          readonly waitForSleep: Random
          readonly waitForEvent: Random
          readonly skipOnEvent: { readonly skipped: boolean }
          readonly leftBranch: Random | { readonly skipped: boolean }
          readonly rightBranch: Random | { readonly skipped: boolean }
          readonly sum: { readonly sum: number }
        }
        expect(result.skipOnEvent).toEqual({ skipped: true })
        const [ran, skipped] = result.waitForSleep.randomNumber > 50
          ? [result.rightBranch, result.leftBranch]
          : [result.leftBranch, result.rightBranch]
        expect(skipped).toEqual({ skipped: true })
        expect(ran).toEqual({ randomNumber: expect.any(Number) })
        expect(result.sum.sum).toBe(
          result.start.randomNumber + result.waitForEvent.randomNumber + result.waitForSleep.randomNumber +
            (ran as Random).randomNumber
        )
        const details = yield* Effect.promise(() => hatchet.runs.get(complex.id))
        expect(details.run.status).toBe("COMPLETED")
      }),
    { timeout: 30_000 }
  )
})
