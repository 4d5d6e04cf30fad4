/**
 * The run and task lists read indexes instead of every run: the creation-ordered index itself,
 * and, in process under TestClock, that every filter answers what a scan of all runs answers
 * (rows, order and total), through pruning and replays; the total stops at 20,000 as upstream's.
 */
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Admin from "../src/internal/domain/admin.js"
import { CreationIndex } from "../src/internal/domain/creationIndex.js"
import { type EngineState, type Run, runStatus } from "../src/internal/domain/model.js"
import * as Queries from "../src/internal/domain/queries.js"
import { keepEverything } from "../src/internal/domain/retention.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import { makeHarnessWith, task, tenantId } from "./support/harness.js"

const item = (id: number, createdAt: number) => ({ id, createdAt })

describe("CreationIndex", () => {
  it("reads a time range newest first by position, and counts it", () => {
    const index = new CreationIndex<{ id: number; createdAt: number }>()
    for (let i = 0; i < 10; i++) index.add(item(i, i * 10))
    const range = index.range(20, 60)
    expect(range.count).toBe(5)
    expect(range.page(0, 2).map((x) => x.id)).toEqual([6, 5])
    expect(range.page(3, 10).map((x) => x.id)).toEqual([3, 2])
    expect([...index.range(undefined, 15).newestFirst()].map((x) => x.id)).toEqual([1, 0])
    expect(index.range(91, undefined).count).toBe(0)
  })

  it("removes the oldest at once and the others in batches; a clock set back falls back to a scan", () => {
    const index = new CreationIndex<{ id: number; createdAt: number }>()
    const items = Array.from({ length: 200 }, (_, i) => item(i, i))
    for (const x of items) index.add(x)
    index.remove(items[0]!)
    index.remove(items[5]!)
    expect(index.size).toBe(198)
    expect(index.oldest()?.id).toBe(1)
    expect(index.range(undefined, undefined).page(194, 10).map((x) => x.id)).toEqual([4, 3, 2, 1])
    for (let i = 100; i < 200; i++) index.remove(items[i]!)
    expect(index.size).toBe(98)
    index.add(item(500, 50))
    expect(index.range(40, 60).page(0, 100).map((x) => x.id)).toEqual([
      500,
      60,
      59,
      58,
      57,
      56,
      55,
      54,
      53,
      52,
      51,
      50,
      49,
      48,
      47,
      46,
      45,
      44,
      43,
      42,
      41,
      40
    ])
  })
})

/** The list as a scan of every stored run computes it (the engine's rules before the indexes). */
const scan = (state: EngineState, filter: Queries.RunsFilter) => {
  const runs = [...state.runsById.values()].filter((run) =>
    run.tenantId === tenantId &&
    (filter.since === undefined || run.createdAt >= filter.since) &&
    (filter.until === undefined || run.createdAt <= filter.until) &&
    (filter.statuses === undefined || filter.statuses.length === 0 || filter.statuses.includes(runStatus(run))) &&
    (filter.workflowIds === undefined || filter.workflowIds.length === 0 || filter.workflowIds.includes(run.workflow.id)) &&
    (filter.parentTaskExternalId === undefined || run.parentTaskExternalId === filter.parentTaskExternalId) &&
    Object.entries(filter.additionalMetadata ?? {}).every(([k, v]) => run.metadata[k] === v)
  ).reverse()
  const offset = filter.offset ?? 0
  return { rows: runs.slice(offset, offset + (filter.limit ?? Infinity)).map((r) => r.id), total: runs.length }
}

describe("listRuns", () => {
  it.scoped("answers every filter as a scan of all runs does, through pruning and replays", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection", retention: { ...keepEverything, maxRuns: 40 } })
      for (const name of ["a", "b", "c"]) yield* h.putWorkflow(name, [task("t", { timeout: "24h" })])
      const w = yield* h.worker(["a:t", "b:t", "c:t"], 1_000)
      const versions = ["a", "b", "c"].map((name) => h.state.tenants.get(tenantId)!.workflowsByName.get(name)!)
      let seed = 11
      const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n
      const runs: Array<Run> = []
      for (let i = 0; i < 150; i++) {
        const live = runs.filter((r) => h.state.runsById.get(r.id) === r)
        const parent = live.length > 0 && random(5) === 0 ? live[random(live.length)] : undefined
        const id = yield* h.runEither((state, now) =>
          Either.map(
            Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({
              name: ["a", "b", "c"][random(3)]!,
              input: "{}",
              additionalMetadata: JSON.stringify({ group: `g${random(3)}` }),
              ...(parent !== undefined ? { parentTaskRunExternalId: parent.tasks.values().next().value!.externalId, childIndex: i } : {})
            })], now)),
            (ids) => ids[0]!
          )
        )
        runs.push(h.state.runsById.get(id)!)
        if (random(3) > 0) yield* h.complete(w.starts().find((s) => s.workflowRunId === id)!, "{}")
        if (random(10) === 0) {
          const finished = runs.filter((r) => h.state.runsById.get(r.id) === r && r.finishedAt !== undefined)
          if (finished.length > 0) {
            yield* h.runEither((state, now) =>
              Admin.replayTasks(state, tenantId, { externalIds: [finished[random(finished.length)]!.id] }, now)
            )
          }
        }
        yield* h.advance(300, [], 300)
      }
      expect(h.state.runsById.size).toBeLessThan(150)
      const now = 150 * 300
      const filters: Array<Queries.RunsFilter> = [{}, { limit: 7 }, { offset: 5, limit: 10 }, { since: now / 3, until: (2 * now) / 3 }]
      for (const version of versions) filters.push({ workflowIds: [version.id], limit: 20 }, { workflowIds: [version.id], since: now / 2 })
      filters.push({ workflowIds: versions.slice(0, 2).map((v) => v.id), offset: 3, limit: 5 })
      for (const status of ["QUEUED", "RUNNING", "COMPLETED"]) {
        filters.push({ statuses: [status] }, { statuses: [status], limit: 4, offset: 2 })
      }
      filters.push({ additionalMetadata: { group: "g1" } }, { additionalMetadata: { group: "g2" }, workflowIds: [versions[0]!.id] })
      for (
        const run of runs.filter((r) => r.parentTaskExternalId !== undefined).slice(0, 5)
      ) {
        filters.push({ parentTaskExternalId: run.parentTaskExternalId }, { parentTaskExternalId: run.parentTaskExternalId, limit: 1 })
      }
      for (const filter of filters) {
        const page = Queries.listRuns(h.state, tenantId, filter)
        expect({ rows: page.rows.map((r) => r.id), total: page.total }, JSON.stringify(filter)).toEqual(scan(h.state, filter))
      }
    }))

  it.scoped("counts at most 20,000 matches, as upstream, and still pages past them", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("many", [task("t")])
      for (let i = 0; i < 21; i++) {
        yield* h.runEither((state, now) =>
          Triggers.toEither(Triggers.triggerWorkflows(
            state,
            tenantId,
            Array.from({ length: 1_000 }, () => TriggerWorkflowRequest.fromPartial({ name: "many", input: "{}" })),
            now
          ))
        )
      }
      const all = Queries.listRuns(h.state, tenantId, { limit: 50 })
      expect(all.total).toBe(Queries.countLimit)
      expect(all.rows).toHaveLength(50)
      const queued = Queries.listRuns(h.state, tenantId, { statuses: ["QUEUED"], offset: 20_990, limit: 50 })
      expect(queued.total).toBe(Queries.countLimit)
      expect(queued.rows).toHaveLength(10)
      expect(Queries.listTasks(h.state, tenantId, { limit: 1 }).total).toBe(Queries.countLimit)
    }))
})
