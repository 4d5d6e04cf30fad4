/**
 * The official SDK's shipped failure examples (`v1/examples/on_failure`, `non_retryable`,
 * `cancellation`, `timeout`), unchanged, on an official worker against this engine, triggered with
 * the official client; what each must do is what upstream's own e2e tests for them assert:
 * - on_failure: the failing task's error reaches the caller, the run is FAILED with the failed
 *   task and the on-failure task (COMPLETED) among its tasks, and that task saw the error;
 * - non_retryable: a `NonRetryableError` is not retried, a plain error is (once, as configured):
 *   the FAILED run's events show one RETRYING and three FAILED (and, as upstream's engine words
 *   and orders them, the retry's RETRYING message and the QUEUED after it, each sending's message,
 *   an error message on every event);
 * - cancellation: a task that cancels itself (`ctx.cancel()`) ends CANCELLED, with no output, and
 *   so does its run;
 * - timeout: a task past its execution timeout ends FAILED or CANCELLED (its TIMED_OUT event saying
 *   why), one that refreshes its timeout in time completes.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Workflow<I = Record<string, never>, O = unknown> = Examples.Runnable<I, O>

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: failures", (it) => {
  it.scoped("on_failure: step1's error reaches the caller; the run is FAILED, step1 FAILED, on_failure COMPLETED", () =>
    Effect.gen(function*() {
      const { ERROR_TEXT, failureWorkflow } = yield* Examples.load<{ ERROR_TEXT: string; failureWorkflow: Workflow }>(
        "on_failure/workflow.js"
      )
      const { hatchet } = yield* Examples.worker("on-failure-worker", [failureWorkflow], { slots: 5 })
      const run = yield* Examples.trigger(() => failureWorkflow.runNoWait({}))
      // the caller gets the failed tasks' errors
      const error = yield* run.failure
      expect(error).toEqual(expect.arrayContaining([expect.stringContaining(ERROR_TEXT)]))
      // the SDK registers the handler as `on-failure-task` (its name `on_failure` is not sent),
      // so that is its display name's prefix here, as with upstream's engine
      const details = yield* Examples.ended(run.id, { also: (d) => d.tasks.length === 2 })
      expect(details.run.status).toBe("FAILED")
      expect(details.tasks.map((t) => [t.displayName.replace(/-\d+$/, ""), t.status]).sort()).toEqual([
        ["on-failure-task", "COMPLETED"],
        ["step1", "FAILED"]
      ])
      const handler = details.tasks.find((t) => t.displayName.startsWith("on-failure-task"))!
      const logs = yield* Official.eventually(() =>
        hatchet.logs.list(handler.taskExternalId).then((l) => ((l.rows ?? []).length >= 2 ? l.rows! : undefined))
      )
      // the handler saw its run and step1's error (ctx.errors(), keyed by the failed task's name)
      expect(logs.map((l) => l.message).sort()).toEqual([`onFailure for run: ${run.id}`, "upstream errors"])
      const errors = (logs.find((l) => l.message === "upstream errors")!.metadata as { errors: Record<string, string> }).errors
      expect(Object.keys(errors)).toEqual(["step1"])
      expect(JSON.parse(errors.step1!).message).toBe(ERROR_TEXT)
    }))

  it.scoped("non_retryable: only the plain error is retried; one RETRYING and three FAILED events", () =>
    Effect.gen(function*() {
      const { nonRetryableWorkflow: workflow } = yield* Examples.load<{ nonRetryableWorkflow: Workflow }>("non_retryable/workflow.js")
      yield* Examples.worker("non-retryable-worker", [workflow], { slots: 5 })
      const run = yield* Examples.trigger(() => workflow.runNoWait({}))
      const details = yield* Examples.ended(run.id, { also: (d) => d.taskEvents.filter((e) => e.eventType === "FAILED").length >= 3 })
      expect(details.run.status).toBe("FAILED")
      const events = (type: string) =>
        details.taskEvents.filter((e) => e.eventType === type).map((e) => (e.taskDisplayName ?? "").replace(/-\d+$/, "")).sort()
      expect(events("RETRYING")).toEqual(["should-retry-wrong-error-type"])
      expect(events("FAILED")).toEqual(["should-not-retry", "should-retry-wrong-error-type", "should-retry-wrong-error-type"])
      expect(events("FINISHED")).toEqual(["should-not-retry-successful-task"])
      // upstream's task controller words the retry, and queues it again at once (no backoff)
      const retried = details.taskEvents.filter((e) => e.taskDisplayName?.startsWith("should-retry-wrong-error-type"))
      const at = retried.findIndex((e) => e.eventType === "RETRYING")
      expect(retried.slice(at, at + 2).map((e) => [e.eventType, e.message])).toEqual([
        ["RETRYING", "This is retry number 1."],
        ["QUEUED", ""]
      ])
      // as upstream's REST gives events: the dispatcher's message on each sending, an error
      // message on every event ("" but on the failures)
      expect(new Set(details.taskEvents.filter((e) => e.eventType === "SENT_TO_WORKER").map((e) => e.message))).toEqual(
        new Set(["Sent task run to the assigned worker"])
      )
      for (const e of details.taskEvents) {
        if (e.eventType === "FAILED") expect(JSON.parse(e.errorMessage!).message).toBe("This task should not retry")
        else expect(e.errorMessage).toBe("")
      }
    }))

  it.scoped("cancellation: the task that cancels itself ends CANCELLED with no output", () =>
    Effect.gen(function*() {
      const { cancellationWorkflow: workflow } = yield* Examples.load<{ cancellationWorkflow: Workflow }>(
        "cancellation/cancellation-workflow.js"
      )
      const { hatchet } = yield* Examples.worker("cancellation-worker", [workflow], { slots: 5 })
      const run = yield* Examples.trigger(() => workflow.runNoWait({}))
      const details = yield* Examples.ended(run.id)
      expect(details.run.status).toBe("CANCELLED")
      // as the gRPC details give it too (what upstream's Python test of this example reads)
      expect(yield* Effect.promise(() => hatchet.runs.getDetails(details.run.metadata.id).then((d) => [d.done, d.status]))).toEqual([
        true,
        "CANCELLED"
      ])
      // `ctx.cancel()` cancels the calling task only: the other task is not told and completes
      const tasks = Object.fromEntries(details.tasks.map((t) => [t.displayName.replace(/-\d+$/, ""), [t.status, t.output]]))
      expect(tasks).toEqual({
        "self-cancel": ["CANCELLED", {}],
        "check-flag": ["COMPLETED", { error: "Task should have been cancelled" }]
      })
    }))

  it.scoped("timeout: past its execution timeout a task fails; one that refreshes its timeout completes", () =>
    Effect.gen(function*() {
      const { refreshTimeoutTask, timeoutTask } = yield* Examples.load<{
        timeoutTask: Workflow<{ Message: string }>
        refreshTimeoutTask: Workflow<{ Message: string }>
      }>("timeout/workflow.js")
      const { hatchet } = yield* Examples.worker("timeout-worker", [timeoutTask, refreshTimeoutTask], { slots: 5 })
      const timedOut = yield* Examples.trigger(() => timeoutTask.runNoWait({ Message: "hello" }))
      // the 4 s task, whose 3 s timeout it refreshes to 5 s from then
      expect(yield* Effect.promise(() => refreshTimeoutTask.run({ Message: "HELLO" }))).toEqual({ status: "success", message: "hello" })
      const details = yield* Examples.ended(timedOut.id)
      expect(["FAILED", "CANCELLED"]).toContain(details.run.status)
      // REST's error is upstream's OLAP's: the final attempt's FAILED-status event's, and a
      // TIMED_OUT event has none; the text is its message, and the core's error (gRPC details)
      expect(details.tasks.map((t) => [t.status, t.errorMessage])).toEqual([["FAILED", ""]])
      expect(details.run.errorMessage).toBe("")
      expect(details.taskEvents.filter((e) => e.eventType === "TIMED_OUT").map((e) => e.message)).toEqual([
        "Task exceeded timeout of 3s"
      ])
      const grpc = yield* Effect.promise(() => hatchet.runs.getDetails(timedOut.id))
      expect(Object.values(grpc.taskRuns).map((t) => t.error)).toEqual(["Task exceeded timeout of 3s"])
    }))
})
