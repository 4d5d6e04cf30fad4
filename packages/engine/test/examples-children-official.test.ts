/**
 * The official SDK's shipped examples `child_workflows`, `sticky`, `retries` and `on_success`,
 * unchanged, on official workers against this engine, triggered by the official client:
 * - a parent fans out to five children and sums their outputs; the children are listed as its
 *   children; a single child; a parent that catches its child's failure;
 * - a SOFT-sticky task's child, spawned with `sticky: true`: the SDK sends no desired worker
 *   for it and its workflow has no sticky strategy, so upstream's scheduler places it freely;
 * - a task that always fails runs four times (its three retries), each attempt's events with its
 *   retry count, and fails with the handler's error; a handler that reads its retry count
 *   succeeds on its third attempt; a task with a backoff (factor 2) waits 2 s, then 4 s, before
 *   its retries;
 * - a DAG's `onSuccess` task runs once both its tasks succeeded.
 */
import { StickyStrategy } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Runnable<I = object> = Examples.Runnable<I>

/** A run's task events, in order, as (type, retry count, timestamp in ms). */
const eventsOf = (hatchet: Official.Client, id: string) =>
  Effect.promise(() =>
    hatchet.runs.get(id).then((details) =>
      details.taskEvents.map((e) => ({ type: e.eventType, retryCount: e.retryCount, at: Date.parse(e.timestamp) }))
    )
  )

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })(
  "official SDK examples: children, retries, on_success",
  (it) => {
    it.scoped("child_workflows: a parent sums its five children's outputs; a single child; a parent that catches", () =>
      Effect.gen(function*() {
        const example = yield* Examples.load<{
          child: Runnable<{ N: number }>
          parent: Runnable<{ N: number }>
          parentSingleChild: Runnable
          withErrorHandling: Runnable
        }>("child_workflows/workflow.js")
        const { hatchet } = yield* Examples.worker(
          "children-worker",
          [example.child, example.parent, example.parentSingleChild, example.withErrorHandling],
          { slots: 20 }
        )
        const parent = yield* Examples.trigger(() => example.parent.runNoWait({ N: 5 }))
        expect(yield* parent.output).toEqual({ Result: 0 + 1 + 2 + 3 + 4 })
        expect(yield* Effect.promise(() => example.parentSingleChild.run({}))).toEqual({ Result: 1 })
        expect(yield* Effect.promise(() => example.withErrorHandling.run({}))).toEqual({ Result: 1 })

        // the five children are runs of their own, listed as the parent's, each with its own output
        // (upstream filters by parent only when listing runs with their DAGs, not with `onlyTasks`)
        const details = yield* Effect.promise(() => hatchet.runs.get(parent.id))
        expect(details.tasks.map((task) => task.numSpawnedChildren)).toEqual([5])
        const children = yield* Effect.promise(() =>
          hatchet.runs.list({ parentTaskExternalId: parent.id, since: new Date(Date.now() - 60_000), onlyTasks: false })
        )
        expect(children.rows.map((row) => row.status)).toEqual(Array(5).fill("COMPLETED"))
        expect(children.rows.map((row) => (row.output as { Value: number }).Value).sort()).toEqual([0, 1, 2, 3, 4])
      }))

    it.scoped("sticky: the SOFT-sticky task's child, spawned with sticky: true, runs with no desired worker; its output is the parent's", () =>
      Effect.gen(function*() {
        const { sticky } = yield* Examples.load<{ sticky: Runnable }>("sticky/workflow.js")
        const { child } = yield* Examples.load<{ child: Runnable }>("child_workflows/workflow.js")
        const { core } = yield* Examples.worker("sticky-worker", [sticky, child], { slots: 5 })
        const parent = yield* Examples.trigger(() => sticky.runNoWait({}))
        expect(yield* parent.output).toEqual({ result: { Value: 1 } })
        // what upstream's engine does with this child: nothing for its placement. The SDK's
        // `child.run(input, { sticky: true })` puts the parent's worker id under `sticky`, a key
        // TriggerWorkflowRequest has not (only `ctx.runChild` sets `desiredWorkerId`), and the
        // child's workflow has no sticky strategy, under which alone the scheduler ranks workers by
        // a desired one (upstream `rankWorkerIds`); the parent's is SOFT, as the example declares
        const parentRun = core.state.runsById.get(parent.id)!
        const childRun = [...core.state.runsById.values()].find((run) => run.parentTaskExternalId === parent.id)!
        expect(parentRun.version.sticky).toBe(StickyStrategy.SOFT)
        expect(childRun.workflow.name).toBe(child.name)
        expect([childRun.version.sticky, childRun.desiredWorkerId]).toEqual([undefined, undefined])
        expect([...childRun.tasks.values()].map((t) => t.desiredWorkerId)).toEqual([undefined])
      }))

    it.scoped("retries: four attempts then FAILED with the handler's error; a retry count read by the handler; the backoff's waits", () =>
      Effect.gen(function*() {
        const example = yield* Examples.load<{
          retries: Runnable
          retriesWithCount: Runnable
          withBackoff: Runnable
        }>("retries/workflow.js")
        const { hatchet } = yield* Examples.worker(
          "retries-worker",
          [example.retries, example.retriesWithCount, example.withBackoff],
          { slots: 10 }
        )

        const failing = yield* Examples.trigger(() => example.retries.runNoWait({}))
        expect(String(yield* failing.failure)).toContain("intentional failure")
        const events = yield* eventsOf(hatchet, failing.id)
        expect(events.filter((e) => e.type === "FAILED").map((e) => e.retryCount)).toEqual([0, 1, 2, 3])
        expect(events.filter((e) => e.type === "RETRYING").map((e) => e.retryCount)).toEqual([1, 2, 3])
        expect(events.filter((e) => e.type === "STARTED").map((e) => e.retryCount)).toEqual([0, 1, 2, 3])
        const details = yield* Effect.promise(() => hatchet.runs.get(failing.id))
        expect(details.run.status).toBe("FAILED")
        expect(details.tasks.map((task) => [task.status, task.retryCount, task.attempt])).toEqual([["FAILED", 3, 4]])
        expect(details.run.errorMessage).toContain("intentional failure")

        // retried twice, it reads retry count 2 and succeeds
        const counted = yield* Examples.trigger(() => example.retriesWithCount.runNoWait({}))
        expect(yield* counted.output).toEqual({ message: "success" })
        const countedEvents = yield* eventsOf(hatchet, counted.id)
        expect(countedEvents.filter((e) => e.type === "FAILED").map((e) => e.retryCount)).toEqual([0, 1])
        expect(countedEvents.filter((e) => e.type === "FINISHED").map((e) => e.retryCount)).toEqual([2])

        // backoff factor 2 (at most 10 s): the first retry starts 2 s after the failure, the second 4 s after its own
        const { id: backoffId } = yield* Examples.trigger(() => example.withBackoff.runNoWait({}))
        const started = yield* Official.eventually(
          () =>
            hatchet.runs.get(backoffId).then((details) => {
              const starts = details.taskEvents.filter((e) => e.eventType === "STARTED")
              return starts.length >= 3 ? details.taskEvents : undefined
            }),
          20_000
        )
        yield* Effect.promise(() => hatchet.runs.cancel({ ids: [backoffId] }))
        const at = (type: string, retryCount: number) =>
          Date.parse(started.find((e) => e.eventType === type && e.retryCount === retryCount)!.timestamp)
        expect(at("STARTED", 1) - at("FAILED", 0)).toBeGreaterThanOrEqual(2_000)
        expect(at("STARTED", 2) - at("FAILED", 1)).toBeGreaterThanOrEqual(4_000)
      }))

    it.scoped("on_success: the onSuccess task runs after both tasks of the DAG succeeded", () =>
      Effect.gen(function*() {
        const { onSuccessDag } = yield* Examples.load<{ onSuccessDag: Runnable }>("on_success/workflow.js")
        const { hatchet } = yield* Examples.worker("on-success-worker", [onSuccessDag], { slots: 5 })
        const run = yield* Examples.trigger(() => onSuccessDag.runNoWait({}))
        expect(yield* run.output).toEqual({
          "always-succeed": { "always-succeed": "success" },
          "always-succeed2": { "always-succeed": "success" },
          "on-success-task": { "on-success": "success" }
        })
        // a task of the DAG whose parents are the two others: it started once both had finished
        const details = yield* Effect.promise(() => hatchet.runs.get(run.id))
        const step = (name: string) => details.shape.find((s) => s.taskName === name)!
        expect(step("always-succeed").childrenStepIds).toEqual([step("on-success-task").stepId])
        expect(step("always-succeed2").childrenStepIds).toEqual([step("on-success-task").stepId])
        const task = (name: string) => details.tasks.find((t) => t.actionId === `on-success-dag:${name}`)!
        expect(details.tasks.map((t) => t.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED"])
        const lastFinished = Math.max(Date.parse(task("always-succeed").finishedAt!), Date.parse(task("always-succeed2").finishedAt!))
        expect(Date.parse(task("on-success-task").startedAt!)).toBeGreaterThanOrEqual(lastFinished)
      }))
  }
)
