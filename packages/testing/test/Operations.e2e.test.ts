/**
 * The operator's services against the local engine, as a user calls them: `Metrics` (runs by
 * status, queue depths, task stats, Prometheus text), `Tenants` (the tenant and its members), `RateLimits`, `Cel`,
 * `Runs.trigger` / `Runs.listIds` over REST and the bulk operations of `Schedules`.
 */
import { Cel, Hatchet, Metrics, RateLimits, Runs, Schedules, Task, Tenants } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

const Held = Task.make("ops-held", {
  input: Schema.Struct({ group: Schema.String }),
  output: Schema.String,
  concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: "GROUP_ROUND_ROBIN" }
})
const Double = Task.make("ops-double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ doubled: Schema.Number })
})

/** Before anything the engine made: its clock is the TestClock, starting at 0. */
const epoch = new Date(-1_000)

/** Polls `check` on real time (the tests run under TestClock) until it holds, for at most 5 s. */
const until = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return yield* Effect.dieMessage("condition not met in 5 s")
  })

/** Releases the `ops-held` runs. */
const release = Effect.runSync(Deferred.make<void>())
const HeldLive = Held.toLayer(({ group }) => Effect.as(Deferred.await(release), group))
const DoubleLive = Double.toLayer(({ n }) => Effect.succeed({ doubled: n * 2 }))

const Live = HatchetTest.layer({ workflows: [HeldLive, DoubleLive] })

layer(Live)("operations on the local engine", (it) => {
  it.effect("Metrics: runs by status, task stats with concurrency keys, queues and Prometheus text", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics.Metrics
      const first = yield* Hatchet.runNoWait(Held, { group: "g" })
      const second = yield* Hatchet.runNoWait(Held, { group: "g" })
      yield* until(Effect.map(metrics.runCounts({ since: epoch }), (counts) => counts.RUNNING === 1))
      expect(yield* metrics.runCounts({ since: epoch })).toEqual({ QUEUED: 1, RUNNING: 1, COMPLETED: 0, CANCELLED: 0, FAILED: 0 })
      const stats = yield* metrics.taskStats(["ops-held", "ops-idle"])
      expect(stats["ops-held"]?.queued).toMatchObject({
        total: 1,
        queues: { "ops-held:ops-held": 1 },
        concurrency: [{ expression: "input.group", type: "GROUP_ROUND_ROBIN", keys: { g: 1 } }]
      })
      expect(stats["ops-held"]?.queued?.oldest).toBeInstanceOf(Date)
      expect(stats["ops-held"]?.running?.total).toBe(1)
      expect(stats["ops-idle"]).toEqual({ queued: { total: 0 }, running: { total: 0 } })
      expect(yield* metrics.queues()).toEqual({})
      const text = yield* metrics.prometheus()
      expect(text).toContain("# TYPE hatchet_tenant_created_tasks counter")
      expect(text).toMatch(/hatchet_tenant_created_tasks\{tenant_id="[^"]+"\} 2/)
      yield* Deferred.succeed(release, undefined)
      expect([yield* first.result, yield* second.result]).toEqual(["g", "g"])
      expect((yield* metrics.runCounts({ since: epoch })).COMPLETED).toBe(2)
    }))

  it.effect("Tenants, RateLimits and Cel", () =>
    Effect.gen(function*() {
      const tenants = yield* Tenants.Tenants
      const tenant = yield* tenants.get()
      expect(tenant).toMatchObject({ version: "V1" })
      const members = yield* tenants.members()
      expect(members).toEqual([{
        metadata: expect.objectContaining({ createdAt: tenant.metadata.createdAt }),
        user: { email: "admin@example.com", name: "Admin" },
        role: "OWNER",
        canViewPayloads: true,
        tenant
      }])
      // the member's id is stable: derived from the tenant's
      expect((yield* tenants.members())[0]!.metadata.id).toBe(members[0]!.metadata.id)
      yield* Hatchet.putRateLimit({ key: "ops-api", limit: 7, duration: "HOUR" })
      const limits = yield* (yield* RateLimits.RateLimits).list({ search: "ops-" })
      expect(limits.rows).toEqual([expect.objectContaining({ key: "ops-api", limitValue: 7, value: 7, window: "1 HOUR" })])
      const cel = yield* Cel.Cel
      expect(yield* cel.debug({ expression: "input.total > 100", input: { total: 120 } })).toEqual({ status: "SUCCESS", output: true })
      const failed = yield* cel.debug({ expression: "input.total", input: { total: 1 } })
      expect(failed).toEqual({ status: "ERROR", error: "expression did not evaluate to a boolean: got double" })
    }))

  it.effect("Runs.trigger over REST and Runs.listIds", () =>
    Effect.gen(function*() {
      const runs = yield* Runs.Runs
      const details = yield* runs.trigger("ops-double", { n: 4 }, { additionalMetadata: { via: "rest" }, priority: 3 })
      expect(details.run.input).toEqual({ n: 4 })
      const runId = details.run.metadata.id
      yield* HatchetTest.settle()
      expect((yield* runs.get(runId)).run.output).toEqual({ doubled: 8 })
      expect(yield* runs.listIds({ since: epoch, additionalMetadata: { via: "rest" } })).toEqual([runId])
      expect(yield* runs.listIds({ since: epoch, statuses: ["FAILED"] })).toEqual([])
      const unknown = yield* Effect.flip(runs.trigger("no-such-workflow", {}))
      expect(unknown).toMatchObject({ status: 400 })
      expect(unknown.body).toContain("workflow names not found: no-such-workflow")
    }))

  it.effect("Schedules.bulkReschedule and bulkDelete, by ids and by filter", () =>
    Effect.gen(function*() {
      const schedules = yield* Schedules.Schedules
      const at = new Date(Date.UTC(2100, 0, 1))
      const a = yield* schedules.create("ops-double", { input: { n: 1 }, triggerAt: at, additionalMetadata: { batch: "x" } })
      const b = yield* schedules.create("ops-double", { input: { n: 2 }, triggerAt: at, additionalMetadata: { batch: "x" } })
      const c = yield* schedules.create("ops-double", { input: { n: 3 }, triggerAt: at })
      const later = new Date(Date.UTC(2101, 0, 1))
      const missing = "2f2f2f2f-5555-4555-8555-555555555555"
      const moved = yield* schedules.bulkReschedule([{ id: a.metadata.id, triggerAt: later }, { id: missing, triggerAt: later }])
      expect(moved.updatedIds).toEqual([a.metadata.id])
      expect(moved.errors).toHaveLength(1)
      expect((yield* schedules.get(a.metadata.id)).triggerAt).toEqual(later)
      const byFilter = yield* schedules.bulkDelete({ filter: { additionalMetadata: { batch: "x" } } })
      expect([...(byFilter.deletedIds ?? [])].sort()).toEqual([a.metadata.id, b.metadata.id].sort())
      const byIds = yield* schedules.bulkDelete({ ids: [c.metadata.id, missing] })
      expect(byIds.deletedIds).toEqual([c.metadata.id])
      expect(byIds.errors).toEqual([{ id: missing, error: "Failed to delete scheduled workflow." }])
      expect(yield* schedules.bulkDelete({ ids: [] })).toEqual({ deletedIds: [], errors: [] })
    }))
})
