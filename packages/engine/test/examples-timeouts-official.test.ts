/**
 * The official SDK's shipped `timeouts`, `with_timeouts` and `on_cron` examples, unchanged, on an
 * official worker against an engine whose clock is the test's `TestClock` (upstream has no e2e
 * test of them; the facts are upstream's engine's):
 * - timeouts (`executionTimeout: '3s'`) and with_timeouts' `withTimeouts` (`'10s'`), both
 *   sleeping longer: each run FAILED, its TIMED_OUT event saying "Task exceeded timeout of <t>",
 *   once the engine's clock passes its timeout, while the worker still sleeps;
 * - with_timeouts' `refreshTimeout` (`'10s'`, refreshed by 15 s at its start, then a real 15 s
 *   sleep): upstream adds the increment to the attempt's deadline (`RefreshTimeoutBy`:
 *   `timeout_at + increment`), so 24 s of the engine's clock do not time it out, and it completes
 *   (about 15 s of real time: most of this file's);
 * - on_cron (`*\/15 * * * *`, no cron input): registering the workflow creates the cron; it fires
 *   at each quarter hour of the engine's clock. The SDK sends no `cron_input`, which upstream
 *   stores as a NULL `input` and triggers the run with, so the worker gets a null input and the
 *   example's task fails (reading `input.Message`).
 */
import { expect, layer } from "@effect/vitest"
import type * as OnCronModule from "@hatchet-dev/typescript-sdk/v1/examples/on_cron/workflow.js"
import type * as TimeoutsModule from "@hatchet-dev/typescript-sdk/v1/examples/timeouts/workflow.js"
import type * as WithTimeoutsModule from "@hatchet-dev/typescript-sdk/v1/examples/with_timeouts/workflow.js"
import { Clock, Effect } from "effect"
import type { EngineCoreService } from "../src/internal/core.js"
import { advance } from "./support/clocked.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Client = Official.Client

/** The run's task once a worker runs it: its state (with the attempt's deadline) and assignment time. */
const assigned = (core: EngineCoreService, runId: string) =>
  Official.eventually(() => {
    const task = core.state.tasksByExternalId.get(runId)
    return task?.state._tag === "Assigned" ? task.state : undefined
  })

/** The run's details once its status is `status`. */
const reaches = (hatchet: Client, runId: string, status: string) =>
  Official.eventually(async () => {
    const details = await hatchet.runs.get(runId)
    return details.run.status === status ? details : undefined
  })

/**
 * Each task's status, REST error and TIMED_OUT event messages: upstream's OLAP gives a task the
 * error of its final FAILED event, which a timeout does not write; the reason is the event's message.
 */
const timedOut = (details: Examples.RunDetails) =>
  details.tasks.map((t) => [
    t.status,
    t.errorMessage,
    details.taskEvents.filter((e) => e.taskId === t.metadata.id && e.eventType === "TIMED_OUT").map((e) => e.message)
  ])

layer(Examples.engineLive, { timeout: 60_000 })("official SDK examples: timeouts and crons", (it) => {
  it.scoped(
    "timeouts and with_timeouts: past their execution timeouts two tasks fail; the one that refreshed its timeout completes",
    () =>
      Effect.gen(function*() {
        const { cancellation } = yield* Examples.load<typeof TimeoutsModule>("timeouts/workflow.js")
        const { refreshTimeout, withTimeouts } = yield* Examples.load<typeof WithTimeoutsModule>("with_timeouts/workflow.js")
        const { core, hatchet } = yield* Examples.worker("timeouts-worker", [cancellation, withTimeouts, refreshTimeout], {
          slots: 10
        })
        const refreshed = yield* Examples.trigger(() => refreshTimeout.runNoWait({ Message: "HELLO" }))
        const three = yield* Examples.trigger(() => cancellation.runNoWait({}))
        const ten = yield* Examples.trigger(() => withTimeouts.runNoWait({ Message: "HELLO" }))
        yield* assigned(core, three.id)
        yield* assigned(core, ten.id)
        // the refresh reached the engine: 10 s + 15 s from the assignment
        yield* Official.eventually(() => {
          const task = core.state.tasksByExternalId.get(refreshed.id)
          return task?.state._tag === "Assigned" && task.state.timeoutAt === task.state.assignedAt + 25_000 ? true : undefined
        })

        yield* advance(3_000)
        const threeDetails = yield* reaches(hatchet, three.id, "FAILED")
        expect(timedOut(threeDetails)).toEqual([["FAILED", "", ["Task exceeded timeout of 3s"]]])
        yield* advance(7_000)
        const tenDetails = yield* reaches(hatchet, ten.id, "FAILED")
        expect(timedOut(tenDetails)).toEqual([["FAILED", "", ["Task exceeded timeout of 10s"]]])
        for (const run of [three, ten]) expect(yield* run.failure).toBeDefined()

        // 24 s of the engine's clock: short of the refreshed deadline
        yield* advance(14_000)
        expect((yield* Effect.promise(() => hatchet.runs.get(refreshed.id))).run.status).toBe("RUNNING")
        expect(yield* refreshed.output).toEqual({ TransformedMessage: "hello" })
        const details = yield* Effect.promise(() => hatchet.runs.get(refreshed.id))
        expect(details.run.status).toBe("COMPLETED")
        expect(details.taskEvents.filter((e) => e.eventType === "TIMEOUT_REFRESHED").map((e) => e.message)).toEqual([
          "Timeout refreshed by 15s"
        ])
      }),
    40_000
  )

  it.scoped("on_cron: registering the workflow creates its cron, which fires at each quarter hour (with no input: the task fails)", () =>
    Effect.gen(function*() {
      const { onCron } = yield* Examples.load<typeof OnCronModule>("on_cron/workflow.js")
      const { core, hatchet } = yield* Examples.worker("on-cron-worker", [onCron])
      const crons = (yield* Effect.promise(() => hatchet.crons.list({}))).rows ?? []
      expect(crons.map((c) => [c.workflowName, c.cron])).toEqual([["on-cron-workflow", "*/15 * * * *"]])
      const runs = () => [...core.state.runsById.values()].filter((run) => run.workflow.name === "on-cron-workflow")
      const quarter = 15 * 60_000
      for (const count of [1, 2]) {
        const now = yield* Clock.currentTimeMillis
        yield* advance(Math.ceil((now + 1) / quarter) * quarter - now)
        const fired = yield* Official.eventually(() => (runs().length === count ? runs() : undefined))
        expect(fired.map((run) => run.createdAt % quarter)).toEqual(fired.map(() => 0))
        // the task fails on the worker before the clock moves on (past its 60 s timeout)
        const details = yield* reaches(hatchet, fired.at(-1)!.id, "FAILED")
        expect(details.tasks.map((t) => t.errorMessage)).toEqual([
          expect.stringContaining("Cannot read properties of null (reading 'Message')")
        ])
      }
    }))
})
