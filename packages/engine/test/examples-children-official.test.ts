/**
 * The official SDK's shipped examples `child_workflows`, `sticky`, `retries` and `on_success`,
 * unchanged, on official workers against this engine, triggered by the official client:
 * - a parent fans out to five children and sums their outputs; the children are listed as its
 *   children; a single child; a parent that catches its child's failure;
 * - a sticky task's child, spawned with `sticky: true`;
 * - a task that always fails runs four times (its three retries), each attempt's events with its
 *   retry count, and fails with the handler's error; a handler that reads its retry count
 *   succeeds on its third attempt; a task with a backoff (factor 2) waits 2 s, then 4 s, before
 *   its retries;
 * - a DAG's `onSuccess` task runs once both its tasks succeeded.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { examplesClient } from "./support/durable.js"
import * as Official from "./support/official.js"

type Ref = { readonly getWorkflowRunId: () => Promise<string>; readonly output: Promise<unknown> }
interface Runnable<I = object> {
  readonly name: string
  readonly runNoWait: (input: I, options?: Record<string, unknown>) => Promise<Ref>
  readonly run: (input: I, options?: Record<string, unknown>) => Promise<unknown>
}

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
        const engine = yield* Engine.Engine
        const example = yield* Official.importExample<{
          child: Runnable<{ N: number }>
          parent: Runnable<{ N: number }>
          parentSingleChild: Runnable
          withErrorHandling: Runnable
        }>(engine, "child_workflows/workflow.js")
        const { hatchet } = yield* examplesClient
        yield* Official.worker(hatchet, "children-worker", {
          workflows: [example.child, example.parent, example.parentSingleChild, example.withErrorHandling] as never,
          slots: 20
        })
        const parent = yield* Effect.promise(() => example.parent.runNoWait({ N: 5 }))
        expect(yield* Effect.promise(() => parent.output)).toEqual({ Result: 0 + 1 + 2 + 3 + 4 })
        expect(yield* Effect.promise(() => example.parentSingleChild.run({}))).toEqual({ Result: 1 })
        expect(yield* Effect.promise(() => example.withErrorHandling.run({}))).toEqual({ Result: 1 })

        // the five children are runs of their own, listed as the parent's, each with its own output
        // (upstream filters by parent only when listing runs with their DAGs, not with `onlyTasks`)
        const parentId = yield* Effect.promise(() => parent.getWorkflowRunId())
        const details = yield* Effect.promise(() => hatchet.runs.get(parentId))
        expect(details.tasks.map((task) => task.numSpawnedChildren)).toEqual([5])
        const children = yield* Effect.promise(() =>
          hatchet.runs.list({ parentTaskExternalId: parentId, since: new Date(Date.now() - 60_000), onlyTasks: false })
        )
        expect(children.rows.map((row) => row.status)).toEqual(Array(5).fill("COMPLETED"))
        expect(children.rows.map((row) => (row.output as { Value: number }).Value).sort()).toEqual([0, 1, 2, 3, 4])
      }))

    it.scoped("sticky: the sticky task's child, spawned with sticky: true, runs and its output is the parent's", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const { sticky } = yield* Official.importExample<{ sticky: Runnable }>(engine, "sticky/workflow.js")
        const { child } = yield* Official.importExample<{ child: Runnable }>(engine, "child_workflows/workflow.js")
        const { hatchet } = yield* examplesClient
        yield* Official.worker(hatchet, "sticky-worker", { workflows: [sticky, child] as never, slots: 5 })
        expect(yield* Effect.promise(() => sticky.run({}))).toEqual({ result: { Value: 1 } })
      }))

    it.scoped("retries: four attempts then FAILED with the handler's error; a retry count read by the handler; the backoff's waits", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const example = yield* Official.importExample<{
          retries: Runnable
          retriesWithCount: Runnable
          withBackoff: Runnable
        }>(engine, "retries/workflow.js")
        const { hatchet } = yield* examplesClient
        yield* Official.worker(hatchet, "retries-worker", {
          workflows: [example.retries, example.retriesWithCount, example.withBackoff] as never,
          slots: 10
        })

        const failing = yield* Effect.promise(() => example.retries.runNoWait({}))
        const error = yield* Effect.promise(() => failing.output.then(() => undefined, (e: unknown) => e))
        expect(String(error)).toContain("intentional failure")
        const failingId = yield* Effect.promise(() => failing.getWorkflowRunId())
        const events = yield* eventsOf(hatchet, failingId)
        expect(events.filter((e) => e.type === "FAILED").map((e) => e.retryCount)).toEqual([0, 1, 2, 3])
        expect(events.filter((e) => e.type === "RETRYING").map((e) => e.retryCount)).toEqual([1, 2, 3])
        expect(events.filter((e) => e.type === "STARTED").map((e) => e.retryCount)).toEqual([0, 1, 2, 3])
        const details = yield* Effect.promise(() => hatchet.runs.get(failingId))
        expect(details.run.status).toBe("FAILED")
        expect(details.tasks.map((task) => [task.status, task.retryCount, task.attempt])).toEqual([["FAILED", 3, 4]])
        expect(details.run.errorMessage).toContain("intentional failure")

        // retried twice, it reads retry count 2 and succeeds
        const counted = yield* Effect.promise(() => example.retriesWithCount.runNoWait({}))
        expect(yield* Effect.promise(() => counted.output)).toEqual({ message: "success" })
        const countedEvents = yield* eventsOf(hatchet, yield* Effect.promise(() => counted.getWorkflowRunId()))
        expect(countedEvents.filter((e) => e.type === "FAILED").map((e) => e.retryCount)).toEqual([0, 1])
        expect(countedEvents.filter((e) => e.type === "FINISHED").map((e) => e.retryCount)).toEqual([2])

        // backoff factor 2 (at most 10 s): the first retry starts 2 s after the failure, the second 4 s after its own
        const backoff = yield* Effect.promise(() => example.withBackoff.runNoWait({}))
        const backoffId = yield* Effect.promise(() => backoff.getWorkflowRunId())
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
        const engine = yield* Engine.Engine
        const { onSuccessDag } = yield* Official.importExample<{ onSuccessDag: Runnable }>(engine, "on_success/workflow.js")
        const { hatchet } = yield* examplesClient
        yield* Official.worker(hatchet, "on-success-worker", { workflows: [onSuccessDag] as never, slots: 5 })
        const ref = yield* Effect.promise(() => onSuccessDag.runNoWait({}))
        expect(yield* Effect.promise(() => ref.output)).toEqual({
          "always-succeed": { "always-succeed": "success" },
          "always-succeed2": { "always-succeed": "success" },
          "on-success-task": { "on-success": "success" }
        })
        // a task of the DAG whose parents are the two others: it started once both had finished
        const details = yield* Effect.promise(() => ref.getWorkflowRunId().then((id) => hatchet.runs.get(id)))
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
