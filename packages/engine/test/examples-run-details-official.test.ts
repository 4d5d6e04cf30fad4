/**
 * The official SDK's shipped `v1/examples/run_details` and `streaming`, unchanged, on an official
 * worker against this engine, triggered with the official client; what each must do is what
 * upstream's own e2e tests for them assert:
 * - run_details: mid-run, the REST details show the run's input and metadata and only its four
 *   root tasks, none ended badly; once it has ended they show it FAILED with all six tasks (the
 *   DAG's outputs, the failing task's error, the self-cancelled task CANCELLED), and the gRPC
 *   details (`runs.getDetails`) show it done with each task's ids and terminal status;
 * - streaming: the chunks a task puts on its stream reach a subscriber in order and complete.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Workflow<I = Record<string, never>> = Examples.Runnable<I>

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: run details", (it) => {
  it.scoped("run_details: the details mid-run and after it fails, over REST and over gRPC", () =>
    Effect.gen(function*() {
      const { runDetailTestWorkflow: workflow } = yield* Examples.load<{ runDetailTestWorkflow: Workflow<{ foo: string }> }>(
        "run_details/workflow.js"
      )
      const { hatchet } = yield* Examples.worker("run-details-worker", [workflow], { slots: 10 })
      const input = { foo: randomUUID() }
      const metadata = { test_run_id: randomUUID() }
      const { failure, id } = yield* Examples.trigger(() => workflow.runNoWait(input, { additionalMetadata: metadata }))

      // mid-run (step2 sleeps 5 s): step3 and step4 wait on it
      const running = yield* Official.eventually(() =>
        hatchet.runs.get(id).then((d) => (d.run.status === "RUNNING" && d.tasks.length === 4 ? d : undefined))
      )
      expect(running.run.input).toEqual(input)
      expect(running.run.additionalMetadata).toMatchObject(metadata)
      const midNames = running.tasks.map((t) => t.displayName.replace(/-\d+$/, "")).sort()
      expect(midNames).toEqual(["cancel_step", "fail_step", "step1", "step2"])
      const grpcMid = yield* Effect.promise(() => hatchet.runs.getDetails(id))
      expect(grpcMid.status).toBeDefined()
      expect(Object.keys(grpcMid.taskRuns).length).toBeGreaterThan(0)

      expect(yield* failure).toBeDefined()
      const done = yield* Examples.ended(id, { also: (d) => d.tasks.length === 6 })
      expect(done.run.status).toBe("FAILED")
      expect(done.run.input).toEqual(input)
      expect(done.run.additionalMetadata).toMatchObject(metadata)
      const nameOf = new Map(done.shape.map((s) => [s.taskExternalId, s.taskName]))
      const byName: Record<string, (typeof done.tasks)[number]> = Object.fromEntries(
        done.tasks.map((t) => [nameOf.get(t.taskExternalId), t])
      )
      expect(Object.fromEntries(Object.entries(byName).map(([name, t]) => [name, t.status]))).toEqual({
        step1: "COMPLETED",
        step2: "COMPLETED",
        step3: "COMPLETED",
        step4: "COMPLETED",
        fail_step: "FAILED",
        cancel_step: "CANCELLED"
      })
      const one = byName.step1!.output as { random_number: number }
      const two = byName.step2!.output as { random_number: number }
      expect(typeof one.random_number).toBe("number")
      expect(typeof two.random_number).toBe("number")
      expect(byName.step3!.output).toEqual({ sum: one.random_number + two.random_number })
      expect(byName.step4!.output).toEqual({ step4: "step4" })
      expect(byName.fail_step!.errorMessage).toContain("Intentional Failure")
      expect(byName.fail_step!.output).toEqual({})

      const grpcDone = yield* Effect.promise(() => hatchet.runs.getDetails(id))
      expect(grpcDone.done).toBe(true)
      expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(grpcDone.status)
      const taskRuns = Object.values(grpcDone.taskRuns)
      expect(taskRuns).toHaveLength(6)
      for (const taskRun of taskRuns) {
        expect(taskRun.externalId).toBeTruthy()
        expect(taskRun.readableId).toBeTruthy()
        expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(taskRun.status)
      }
    }))

  it.scoped("streaming: a subscriber gets the task's chunks in order, complete, and the stream ends with the run", () =>
    Effect.gen(function*() {
      const { streamingTask: task } = yield* Examples.load<{ streamingTask: Workflow }>("streaming/workflow.js")
      const { hatchet } = yield* Examples.worker("streaming-worker", [task], { slots: 5 })
      const { id, output } = yield* Examples.trigger(() => task.runNoWait({}))
      const chunks = yield* Effect.promise(async () => {
        const received: Array<string> = []
        for await (const chunk of hatchet.runs.subscribeToStream(id)) received.push(chunk)
        return received
      })
      const text = chunks.join("")
      expect(text.startsWith("\nHappy families are all alike")).toBe(true)
      // the whole passage, in 10-character chunks
      expect(text.endsWith("living in the same house with him.\n")).toBe(true)
      expect(chunks.every((chunk) => chunk.length === 10 || chunk === chunks.at(-1))).toBe(true)
      yield* output
    }))
})
