/**
 * The official SDK's shipped examples that start their workers when loaded, `affinity` and
 * `logging` (`logging/logger.js`, byte for byte `logger/logger.js`), unchanged, each run as its
 * own script in a child process against this engine (support/exampleProcess), triggered with the
 * examples' client. Upstream has no e2e test of either: what their code and comments say, and
 * upstream engine facts (read in its Go):
 * - affinity: two workers, `model: abc, memory: 1024` and `model: xyz, memory: 512`, each
 *   running `affinity-workflow` and `child-affinity-workflow`; `step1` runs a child whose
 *   `child-step1` requires `model: xyz` (only the second worker has it) and whose `child-step2`
 *   requires `memory` LESS_THAN 512. Upstream's scheduler compares the worker's value to the
 *   desired one (`workerLabel < desiredLabel`, pkg/scheduling/v1/worker.go computeWeight) and
 *   assigns no task whose required label no worker meets: neither 1024 nor 512 is below 512, so
 *   `child-step2` stays QUEUED, and the parent, awaiting its child, RUNNING until its 60 s
 *   execution timeout fails it; five minutes after it was queued, `child-step2`'s schedule
 *   timeout cancels it (the example, as shipped, fails after a minute; the engine's clock is the
 *   test's TestClock here);
 * - logging: `logger-worker` (one slot) runs `logger-example` on `user:create`; its task logs
 *   ten lines through the context logger, 200 ms apart, which are the task's INFO logs.
 * `logging/byo-logger.js` (byte for byte `logger/byo-logger.js`) runs in examples-byo-logger-official.test.ts.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { advance } from "./support/clocked.js"
import * as ExampleProcess from "./support/exampleProcess.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

layer(Examples.engineLive, { timeout: 60_000 })("official SDK examples: scripts that start workers", (it) => {
  it.scoped("affinity: child-step1 runs on the model xyz worker; no worker's memory is below 512, so child-step2 waits until its schedule timeout", () =>
    Effect.gen(function*() {
      const script = yield* ExampleProcess.run("affinity/affinity-workers.js")
      const { hatchet } = yield* Examples.client
      const workers = yield* Official.eventually(async () => {
        const active = ((await hatchet.workers.list()).rows ?? []).filter((w) =>
          w.status === "ACTIVE" && w.name.startsWith("affinity-worker-")
        )
        return active.length === 2 ? active : undefined
      }, 20_000).pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}`)))
      const xyz = workers.find((w) => w.name === "affinity-worker-2")!
      expect(Object.fromEntries((xyz.labels ?? []).map((l) => [l.key, l.value]))).toEqual({ model: "xyz", memory: "512" })
      const ref = yield* Effect.promise(() => hatchet.runNoWait("affinity-workflow", {}, {}))
      const id = yield* Effect.promise(() => ref.getWorkflowRunId())
      const child = yield* Official.eventually(() =>
        hatchet.runs.list({ workflowNames: ["child-affinity-workflow"] }).then((l) =>
          l.rows?.length === 1 && l.rows[0]!.children?.some((t) => t.status === "COMPLETED") ? l.rows[0] : undefined
        )
      )
      // both workers idle a second longer: child-step2 still finds none
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_000)))
      const details = yield* Effect.promise(() => hatchet.runs.get(child.metadata.id))
      const byName = Object.fromEntries(details.tasks.map((t) => [t.displayName.replace(/-\d+$/, ""), t]))
      expect(byName["child-step1"]?.status).toBe("COMPLETED")
      expect(byName["child-step2"]?.status).toBe("QUEUED")
      const workerOf = (task: string) =>
        new Set(details.taskEvents.flatMap((e) => (e.taskId === byName[task]?.taskExternalId && e.workerId ? [e.workerId] : [])))
      expect(workerOf("child-step1")).toEqual(new Set([xyz.metadata.id]))
      expect(workerOf("child-step2")).toEqual(new Set())
      expect((yield* Effect.promise(() => hatchet.runs.get(id))).run.status).toBe("RUNNING")
      expect((yield* Effect.promise(() => hatchet.runs.list({ workflowNames: ["child-affinity-workflow"] }))).rows).toHaveLength(1)
      // a minute of the engine's clock: step1 (awaiting its child) passes its execution timeout
      // (60 s by default) and fails (upstream process_timeouts: TIMED_OUT with the reason, REST error "")
      yield* advance(60_000)
      const parent = yield* Examples.ended(id)
      expect(parent.run.status).toBe("FAILED")
      expect(parent.taskEvents.filter((e) => e.eventType === "TIMED_OUT").map((e) => e.message)).toEqual(["Task exceeded timeout of 60s"])
      const stillQueued = yield* Effect.promise(() => hatchet.runs.get(child.metadata.id))
      expect(stillQueued.tasks.map((t) => t.status).sort()).toEqual(["COMPLETED", "QUEUED"])
      // five minutes after it was queued, child-step2's schedule timeout (5 m by default) cancels it
      // (upstream scheduler: SCHEDULING_TIMED_OUT, no message) and the child run ends CANCELLED
      yield* advance(4 * 60_000)
      const timedOut = yield* Examples.ended(child.metadata.id)
      expect(timedOut.run.status).toBe("CANCELLED")
      expect(timedOut.tasks.map((t) => t.status).sort()).toEqual(["CANCELLED", "COMPLETED"])
      expect(timedOut.taskEvents.filter((e) => e.eventType === "SCHEDULING_TIMED_OUT").map((e) => e.message)).toEqual([""])
    }))

  it.scoped("logging: logger-worker runs logger-example on user:create; the context logger's ten lines are the task's INFO logs", () =>
    Effect.gen(function*() {
      const script = yield* ExampleProcess.run("logging/logger.js")
      const { hatchet } = yield* Examples.client
      yield* Official.eventually(
        async () =>
          ((await hatchet.workers.list()).rows ?? []).some((w) => w.status === "ACTIVE" && w.name === "logger-worker") || undefined,
        20_000
      ).pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}`)))
      const event = yield* Effect.promise(() => hatchet.events.push("user:create", {}))
      const run = yield* Official.eventually(
        () => hatchet.runs.list({ triggeringEventExternalId: event.eventId }).then((l) => l.rows?.find((r) => r.status === "COMPLETED")),
        20_000
      )
      // one task: the run's row carries the task's id and output
      const task = run
      expect(task.output).toEqual({ step1: "completed step run" })
      const logs = yield* Official.eventually(() =>
        hatchet.logs.list(task.taskExternalId, { limit: 100 }).then((l) => ((l.rows ?? []).length >= 10 ? l.rows! : undefined))
      )
      expect(logs.map((line) => line.message).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `log message ${i}`))
      expect(new Set(logs.map((line) => line.level))).toEqual(new Set(["INFO"]))
    }))
})
