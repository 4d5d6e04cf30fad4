/**
 * Scheduled runs with the official TypeScript SDK over loopback: `hatchet.scheduled.create`
 * and a workflow's `schedule` create them (REST), `get` / `list` show them before they fire,
 * `update` moves them, `delete` and `bulkDelete` prevent their runs, the legacy
 * `admin.scheduleWorkflow` schedules over gRPC; the official worker runs each one with its input.
 */
import { expect, layer } from "@effect/vitest"
import { WorkflowRunOrderByDirection } from "@hatchet-dev/typescript-sdk/clients/rest/generated/data-contracts.js"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: scheduled runs", (it) => {
  it.scoped("create, get, list, update, delete: the worker runs the scheduled runs with their input, never a deleted one", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("scheduled")
      const ran: Array<{ readonly input: { readonly n: number }; readonly metadata: Record<string, string> }> = []
      const wf = hatchet.workflow<{ n: number }>({ name })
      wf.task({
        name: "run",
        fn: async (input, ctx) => {
          ran.push({ input, metadata: ctx.additionalMetadata() })
          return {}
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 5 })

      // nothing fires until the end, where the runs are moved to `soon`; the one to delete is due
      // first (a minute earlier)
      const far = new Date(Date.now() + 3_600_000)
      const dropped = yield* Effect.promise(() => wf.schedule(new Date(far.getTime() - 60_000), { n: 0 }))
      const kept = yield* Effect.promise(() =>
        hatchet.scheduled.create(name, { triggerAt: far, input: { n: 1 }, additionalMetadata: { tag: "kept" }, priority: 2 })
      )
      const moved = yield* Effect.promise(() => wf.schedule(far, { n: 2 }))
      const bulk = yield* Effect.promise(() => Promise.all([1, 2].map(() => wf.schedule(far, { n: 9 }))))

      expect(kept).toMatchObject({
        workflowName: name,
        triggerAt: far.toISOString(),
        input: { n: 1 },
        additionalMetadata: { tag: "kept" },
        method: "API",
        priority: 2
      })
      const got = yield* Effect.promise(() => hatchet.scheduled.get(kept.metadata.id))
      expect(got).toEqual(kept)
      const listed = yield* Effect.promise(() =>
        hatchet.scheduled.list({ workflow: name, orderByDirection: WorkflowRunOrderByDirection.ASC })
      )
      expect(listed.rows?.map((row) => row.metadata.id)).toEqual([
        dropped.metadata.id,
        ...[kept, moved, ...bulk].map((s) => s.metadata.id).sort()
      ])

      // due in 3 s, then deleted by the next call (so it is due during the wait below, deleted before
      // it; on a loaded machine a longer run of calls could outlast a fixed delay)
      const soon = Date.now() + 3_000
      const due = yield* Effect.promise(() => hatchet.scheduled.update(dropped, { triggerAt: new Date(soon) }))
      expect(due.triggerAt).toBe(new Date(soon).toISOString())
      yield* Effect.promise(() => hatchet.scheduled.delete(dropped))
      const bulkDeleted = yield* Effect.promise(() => hatchet.scheduled.bulkDelete({ scheduledRuns: bulk }))
      expect(bulkDeleted).toEqual({ deletedIds: bulk.map((s) => s.metadata.id), errors: [] })
      const updated = yield* Effect.promise(() => hatchet.scheduled.update(kept, { triggerAt: new Date(soon + 100) }))
      expect(updated.triggerAt).toBe(new Date(soon + 100).toISOString())
      yield* Effect.promise(() => hatchet.scheduled.bulkUpdate([{ scheduledRun: moved, triggerAt: new Date(soon + 200) }]))
      // the legacy client schedules over gRPC (WorkflowService/ScheduleWorkflow)
      hatchet.v0.admin.scheduleWorkflow(name, { schedules: [new Date(soon + 300)], input: { n: 3 } })

      yield* Official.eventually(() => (ran.length >= 3 ? true : undefined), 15_000)
      expect(ran.map((r) => r.input.n).sort()).toEqual([1, 2, 3])
      expect(ran.find((r) => r.input.n === 1)!.metadata).toMatchObject({ tag: "kept" })
      // fired runs are no longer scheduled
      yield* Official.eventually(async () => {
        const rows = (await hatchet.scheduled.list({ workflow: name })).rows ?? []
        return rows.length === 0 ? true : undefined
      })
      yield* Effect.promise(() =>
        hatchet.scheduled.get(kept.metadata.id).then(
          () => expect.fail("the fired run is still there"),
          (error: { response?: { status?: number } }) => expect(error.response?.status).toBe(404)
        )
      )
      expect(ran.map((r) => r.input.n).sort()).toEqual([1, 2, 3])
    }))
})
