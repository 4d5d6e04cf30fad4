/**
 * Task rate limits with the official `@hatchet-dev/typescript-sdk` (client and worker) over
 * loopback: a static key created with `hatchet.ratelimits.upsert`, and dynamic keys evaluated per
 * input. What the task functions observe is checked loosely (start times, generous slack); the
 * windows are checked on the engine's own assignment times. Speed is never asserted.
 */
import { expect, layer } from "@effect/vitest"
import { RateLimitDuration } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

/** When the engine assigned each run's task (its ASSIGNED events), by run id. */
const assignedAt = (core: EngineCore["Type"], runIds: ReadonlyArray<string>) =>
  runIds.map((runId) => {
    const run = core.state.runsById.get(runId)!
    const task = [...run.tasks.values()][0]!
    return eventsOf(task).filter((e) => e.eventType === "ASSIGNED").map((e) => e.timestamp)
  })

/** The key's window of each time: windows start at the key's `lastRefill`, one `windowMs` apart. */
const windowsOf = (core: EngineCore["Type"], key: string, times: ReadonlyArray<number>, windowMs = 1000) => {
  const anchor = [...core.state.tenants.values()].find((t) => t.rateLimits.has(key))!.rateLimits.get(key)!.lastRefill
  return times.map((t) => Math.floor((t - anchor) / windowMs))
}

/** How many times each value occurs. */
const counts = (values: ReadonlyArray<number>) => {
  const result = new Map<number, number>()
  for (const v of values) result.set(v, (result.get(v) ?? 0) + 1)
  return result
}

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: rate limits", (it) => {
  it.scoped("a static key of 2 per second: six runs at once start at most two per window and all complete", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("rl-static")
      const key = `${name}-key`
      yield* Effect.promise(() => hatchet.ratelimits.upsert({ key, limit: 2, duration: RateLimitDuration.SECOND }))
      const starts: Array<number> = []
      const limited = hatchet.task({
        name,
        rateLimits: [{ staticKey: key, units: 1 }],
        fn: async (input: { n: number }) => {
          starts.push(Date.now())
          return { n: input.n }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [limited], slots: 10 })
      const refs = yield* Effect.promise(() => Promise.all([1, 2, 3, 4, 5, 6].map((n) => limited.runNoWait({ n }))))
      const runIds = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.getWorkflowRunId())))
      const outputs = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
      expect(outputs.map((o) => o.n)).toEqual([1, 2, 3, 4, 5, 6])

      // the engine assigned each run once, never more than two in one window of the key
      const core = yield* EngineCore
      const assigned = assignedAt(core, runIds)
      expect(assigned.map((a) => a.length)).toEqual([1, 1, 1, 1, 1, 1])
      const perWindow = counts(windowsOf(core, key, assigned.flat()))
      expect(Math.max(...perWindow.values())).toBe(2)
      expect(perWindow.size).toBeGreaterThanOrEqual(3)
      const limit = core.state.tenants.get(engine.tenantId)!.rateLimits.get(key)!
      expect({ limitValue: limit.limitValue, window: limit.window }).toEqual({ limitValue: 2, window: "SECOND" })

      // the REST list the SDK reads
      const listed = yield* Effect.promise(() => hatchet.ratelimits.list({ search: key }))
      expect(listed.rows?.map((r) => ({ key: r.key, limitValue: r.limitValue, window: r.window }))).toEqual([
        { key, limitValue: 2, window: "1 SECOND" }
      ])

      // seen from the task functions: any five starts span at least three windows (generous slack)
      const sorted = [...starts].sort((a, b) => a - b)
      expect(sorted).toHaveLength(6)
      for (let i = 0; i + 4 < sorted.length; i++) expect(sorted[i + 4]! - sorted[i]!).toBeGreaterThan(500)
    }))

  it.scoped("the REST list: search, order and paging; an order the repository rejects is 500", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const prefix = Official.unique("rl-list")
      for (const [suffix, limit] of [["b", 5], ["a", 7], ["c", 1]] as const) {
        yield* Effect.promise(() => hatchet.ratelimits.upsert({ key: `${prefix}-${suffix}`, limit, duration: RateLimitDuration.HOUR }))
      }
      const list = (query: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}/rate-limits?search=${prefix}&${query}`, {
            headers: { authorization: `Bearer ${Redacted.value(engine.token)}` }
          })
          return { status: response.status, body: (await response.json()) as { rows?: Array<{ key: string }>; pagination?: unknown } }
        })
      const keys = (body: { rows?: Array<{ key: string }> }) => body.rows?.map((r) => r.key.slice(prefix.length + 1))
      expect(keys((yield* list("")).body)).toEqual(["a", "b", "c"])
      expect(keys((yield* list("orderByField=limitValue&orderByDirection=desc")).body)).toEqual(["a", "b", "c"])
      expect(keys((yield* list("orderByField=value&orderByDirection=asc")).body)).toEqual(["c", "b", "a"])
      const paged = yield* list("limit=2&offset=2")
      expect({ keys: keys(paged.body), pagination: paged.body.pagination }).toEqual({
        keys: ["c"],
        pagination: { num_pages: 2, current_page: 2, next_page: 2 }
      })
      expect((yield* list("orderByField=window")).status).toBe(500)
    }))

  it.scoped("a dynamic key per input value, 1 per second: two groups progress independently", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("rl-dynamic")
      const starts: Array<{ readonly group: string; readonly at: number }> = []
      const grouped = hatchet.task({
        name,
        rateLimits: [{ dynamicKey: "input.group", units: 1, limit: 1, duration: RateLimitDuration.SECOND }],
        fn: async (input: { group: string; n: number }) => {
          starts.push({ group: input.group, at: Date.now() })
          return { n: input.n }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [grouped], slots: 10 })
      const groupA = `${name}-a`
      const groupB = `${name}-b`
      const inputs = [groupA, groupA, groupA, groupB, groupB, groupB].map((group, n) => ({ group, n }))
      const refs = yield* Effect.promise(() => Promise.all(inputs.map((input) => grouped.runNoWait(input))))
      const runIds = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.getWorkflowRunId())))
      const outputs = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
      expect(outputs.map((o) => o.n)).toEqual([0, 1, 2, 3, 4, 5])

      const core = yield* EngineCore
      const assigned = assignedAt(core, runIds).map((a) => a[0]!)
      // per group, one run per window of its own key: three windows each
      const windowsA = windowsOf(core, groupA, assigned.slice(0, 3))
      const windowsB = windowsOf(core, groupB, assigned.slice(3))
      expect(new Set(windowsA).size).toBe(3)
      expect(new Set(windowsB).size).toBe(3)
      // independent: each group's first run starts before either group's second one
      const firsts = [Math.min(...assigned.slice(0, 3)), Math.min(...assigned.slice(3))]
      const seconds = [assigned.slice(0, 3).sort((a, b) => a - b)[1]!, assigned.slice(3).sort((a, b) => a - b)[1]!]
      expect(Math.max(...firsts)).toBeLessThan(Math.min(...seconds))
      const tenant = core.state.tenants.get(engine.tenantId)!
      for (const group of [groupA, groupB]) {
        const limit = tenant.rateLimits.get(group)!
        expect({ limitValue: limit.limitValue, window: limit.window }).toEqual({ limitValue: 1, window: "SECOND" })
      }

      // seen from the task functions: within a group, starts are about a window apart
      for (const group of [groupA, groupB]) {
        const times = starts.filter((s) => s.group === group).map((s) => s.at).sort((a, b) => a - b)
        expect(times).toHaveLength(3)
        expect(times[2]! - times[0]!).toBeGreaterThan(500)
      }
    }))
})
