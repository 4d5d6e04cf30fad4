/**
 * Pausing a workflow over REST with the official SDK's generated client (`api.workflowUpdate`,
 * `PATCH /api/v1/workflows/{workflow}`; the official TypeScript SDK has no `pause` helper of its
 * own) against the local engine, with the official worker: a run triggered while paused stays
 * QUEUED while the same worker runs another workflow, then completes once unpaused. Raw REST for
 * bad input, answered as upstream answers it.
 */
import { expect, layer } from "@effect/vitest"
import { WorkflowPauseScheduledCronRunQueueBehavior as Behavior } from "@hatchet-dev/typescript-sdk/clients/rest/generated/data-contracts.js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

const internalError = { status: 500, body: { message: "Internal Server Error" } }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("workflow pause", (it) => {
  it.scoped("api.workflowUpdate pauses: a run stays QUEUED while the worker runs other work; unpaused, it completes", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("pausable")
      const calls: Array<unknown> = []
      const pausable = hatchet.task({
        name,
        fn: async (input: { n: number }) => {
          calls.push(input)
          return { doubled: input.n * 2 }
        }
      })
      const other = hatchet.task({ name: `${name}-other`, fn: async () => ({ other: true }) })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [pausable, other], slots: 5 })
      const { metadata } = yield* Effect.promise(() => hatchet.workflows.get(name))

      const paused = yield* Effect.promise(() =>
        hatchet.api.workflowUpdate(metadata.id, {
          pause: {
            action: "pause",
            pausedWorkflowCronRunQueueBehavior: Behavior.QUEUE,
            pausedWorkflowScheduledRunQueueBehavior: Behavior.DROP,
            pausedWorkflowQueueTTL: "10m"
          }
        })
      )
      expect(paused.status).toBe(200)
      expect(paused.data).toMatchObject({
        metadata: { id: metadata.id },
        name,
        isPaused: true,
        pausedWorkflowCronRunQueueBehavior: "QUEUE",
        pausedWorkflowScheduledRunQueueBehavior: "DROP"
      })
      // `workflows.get` caches by name: the workflow as upstream's GET shows it (`isPaused` only)
      const got = (yield* Effect.promise(() => hatchet.api.workflowGet(metadata.id))).data
      expect(got.isPaused).toBe(true)
      expect(got).not.toHaveProperty("pausedWorkflowCronRunQueueBehavior")
      // the name filter matches both workflows; only the paused one says so
      const listed = (yield* Effect.promise(() => hatchet.workflows.list({ name }))).rows!
      expect(listed.map((w) => [w.name, w.isPaused, w.pausedWorkflowScheduledRunQueueBehavior]).sort()).toEqual([
        [name, true, "DROP"],
        [`${name}-other`, false, undefined]
      ])

      const ref = yield* Effect.promise(() => pausable.runNoWait({ n: 21 }))
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      // the worker is serving: a run of another workflow completes meanwhile
      expect(yield* Effect.promise(() => other.run({}))).toEqual({ other: true })
      const held = yield* Effect.promise(() => hatchet.runs.get(runId))
      expect(held.run.status).toBe("QUEUED")
      expect(held.tasks.map((t) => t.status)).toEqual(["QUEUED"])
      expect(held.taskEvents.map((e) => e.eventType)).toEqual(["QUEUED"])
      expect(calls).toEqual([])

      const unpaused = yield* Effect.promise(() => hatchet.api.workflowUpdate(metadata.id, { pause: { action: "unpause" } }))
      expect(unpaused.data.isPaused).toBe(false)
      expect(unpaused.data).not.toHaveProperty("pausedWorkflowCronRunQueueBehavior")
      expect(yield* Effect.promise(() => ref.output)).toEqual({ doubled: 42 })
      expect(calls).toEqual([{ n: 21 }])
      expect((yield* Effect.promise(() => hatchet.runs.get(runId))).run.status).toBe("COMPLETED")
    }))

  it.scoped("PATCH bad input: as upstream, 500 for a pause it cannot apply; 400 / 404 / 403 for the workflow id", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("pause-errors")
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [hatchet.task({ name, fn: async () => ({}) })], slots: 1 })
      const { metadata } = yield* Effect.promise(() => hatchet.workflows.get(name))
      const path = `/api/v1/workflows/${metadata.id}`
      const pause = { action: "pause", pausedWorkflowCronRunQueueBehavior: "QUEUE", pausedWorkflowScheduledRunQueueBehavior: "QUEUE" }

      // no pause: upstream's handler dereferences the nil workflow it did not update
      expect(yield* restCall(engine, "PATCH", path, {})).toEqual(internalError)
      expect(yield* restCall(engine, "PATCH", path, { pause: { action: "stop" } })).toEqual(internalError)
      expect(yield* restCall(engine, "PATCH", path, { pause: { ...pause, pausedWorkflowCronRunQueueBehavior: "LATER" } })).toEqual(
        internalError
      )
      expect(yield* restCall(engine, "PATCH", path, { pause: { ...pause, pausedWorkflowQueueTTL: 60 } })).toEqual(internalError)
      expect(yield* restCall(engine, "PATCH", path, { pause: { ...pause, pausedWorkflowQueueTTL: "1234567890123456s" } })).toEqual(
        internalError
      )
      expect((yield* restCall(engine, "PATCH", path, "[]")).status).toBe(400)
      expect((yield* Effect.promise(() => hatchet.api.workflowGet(metadata.id))).data.isPaused).toBe(false)

      // a TTL the database cannot read is 5 minutes: the pause applies
      expect(yield* restCall(engine, "PATCH", path, { pause: { ...pause, pausedWorkflowQueueTTL: "1d7h30m" } })).toMatchObject({
        status: 200,
        body: { isPaused: true }
      })
      expect(yield* restCall(engine, "PATCH", "/api/v1/workflows/abc", { pause })).toEqual({
        status: 400,
        body: { message: "invalid workflow id" }
      })
      expect(yield* restCall(engine, "PATCH", `/api/v1/workflows/${unknownId}`, { pause })).toEqual({
        status: 404,
        body: { message: "not found" }
      })
      const otherToken = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      expect(yield* restCall(engine, "PATCH", path, { pause: { action: "unpause" } }, otherToken)).toEqual({
        status: 403,
        body: { message: "Please provide valid credentials" }
      })
    }))
})
