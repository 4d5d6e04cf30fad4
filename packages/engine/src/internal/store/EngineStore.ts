/**
 * The seam between what a durable store keeps and the engine's live runtime, after
 * `@effect/cluster`'s `MessageStorage`: a service that takes encoded rows (`rows.ts`), and an
 * in-memory layer that keeps them.
 *
 * The domain works on its in-memory records (the working set) and marks what each operation
 * changes (`domain/changes.ts`); at the end of the operation the core encodes those records and
 * hands them to `commit`, all of one operation at once. A store that writes them in one
 * transaction (a SQLite layer, later) then holds after every operation what the engine would need
 * to start again: reading the rows back and rebuilding the runtime from them (queues from queued
 * tasks, timers from deadlines) is that layer's other half, not written yet.
 *
 * - `layerNoop`: stores nothing and costs nothing (no encoding): the engine's default, whose
 *   memory is the in-memory records themselves.
 * - `layerMemory`: keeps the rows in maps (`MemoryDriver`), for tests of the seam.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ChangeSet } from "../domain/changes.js"
import type { EngineState, EventFilter, Workflow } from "../domain/model.js"
import {
  cronRow,
  eventRow,
  rateLimitRow,
  runRow,
  scheduledRow,
  type StoredChanges,
  type StoredCron,
  type StoredEvent,
  type StoredRateLimit,
  type StoredRun,
  type StoredScheduled,
  type StoredTenant,
  type StoredWorkflow,
  tenantRow,
  workflowRow
} from "./rows.js"

/** A store could not write an operation's changes. */
export class EngineStoreError extends Data.TaggedError("EngineStoreError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EngineStoreService {
  /** False for a store that keeps nothing: the core then does not encode anything. */
  readonly enabled: boolean
  /** Writes what one operation changed (a SQL store: in one transaction). */
  readonly commit: (changes: StoredChanges) => Effect.Effect<void, EngineStoreError>
}

/** Where the engine's durable records go. */
export class EngineStore extends Context.Tag("@effect-hatchet/engine/EngineStore")<EngineStore, EngineStoreService>() {}

/** The rows of a change set. */
export const encodeChanges = (state: EngineState, changes: ChangeSet): StoredChanges => ({
  tenants: [...changes.tenants].map(tenantRow),
  workflows: [...changes.workflows].map((workflow) => workflowRow(workflow, filtersOf(state, workflow))),
  runs: [...changes.runs].map(runRow),
  events: [...changes.events].map(eventRow),
  crons: [...changes.crons].map(cronRow),
  scheduled: [...changes.scheduled].map(scheduledRow),
  rateLimits: [...changes.rateLimits].map(([limit, tenantId]) => rateLimitRow(tenantId, limit)),
  removed: [...changes.removed]
})

/** A workflow's event filters (its row holds them). */
const filtersOf = (state: EngineState, workflow: Workflow): ReadonlyArray<EventFilter> =>
  state.tenants.get(workflow.tenantId)?.filtersByWorkflow.get(workflow.id) ?? []

/** Every stored record of `state`, as rows: what a store holds once it has every change. */
export const snapshot = (state: EngineState): StoredChanges => {
  const tenants = [...state.tenants.values()]
  return {
    tenants: tenants.map((tenant) => tenantRow(tenant.tenant)),
    workflows: tenants.flatMap((tenant) =>
      [...tenant.workflowsById.values()].map((workflow) => workflowRow(workflow, filtersOf(state, workflow)))
    ),
    runs: [...state.runsById.values()].map(runRow),
    events: [...state.eventsById.values()].map(eventRow),
    crons: tenants.flatMap((tenant) => [...tenant.crons.values()].map(cronRow)),
    scheduled: tenants.flatMap((tenant) => [...tenant.scheduled.values()].map(scheduledRow)),
    rateLimits: tenants.flatMap((tenant) => [...tenant.rateLimits.values()].map((limit) => rateLimitRow(tenant.tenant.id, limit))),
    removed: []
  }
}

/** A store that keeps nothing. */
export const noop: EngineStoreService = { enabled: false, commit: () => Effect.void }

/** Stores nothing (the default). */
export const layerNoop: Layer.Layer<EngineStore> = Layer.succeed(EngineStore, noop)

/** The rows an in-memory store holds, by id (rate limits by tenant id and key). */
export interface MemoryRows {
  readonly tenants: Map<string, StoredTenant>
  readonly workflows: Map<string, StoredWorkflow>
  readonly runs: Map<string, StoredRun>
  readonly events: Map<string, StoredEvent>
  readonly crons: Map<string, StoredCron>
  readonly scheduled: Map<string, StoredScheduled>
  readonly rateLimits: Map<string, StoredRateLimit>
  /** How many commits wrote something. */
  commits: number
}

/** The in-memory store's rows, for tests to read. */
export class MemoryDriver extends Context.Tag("@effect-hatchet/engine/EngineStore/MemoryDriver")<MemoryDriver, MemoryRows>() {}

/** Keeps copies of the rows (JSON round-tripped, as a store that serializes them would). */
const memoryStore = (rows: MemoryRows): EngineStoreService => ({
  enabled: true,
  commit: (changes) =>
    Effect.sync(() => {
      const copy = JSON.parse(JSON.stringify(changes)) as StoredChanges
      for (const row of copy.tenants) rows.tenants.set(row.id, row)
      for (const row of copy.workflows) rows.workflows.set(row.id, row)
      for (const row of copy.runs) rows.runs.set(row.id, row)
      for (const row of copy.events) rows.events.set(row.id, row)
      for (const row of copy.crons) rows.crons.set(row.id, row)
      for (const row of copy.scheduled) rows.scheduled.set(row.id, row)
      for (const row of copy.rateLimits) rows.rateLimits.set(`${row.tenantId}/${row.key}`, row)
      for (const removal of copy.removed) {
        switch (removal.kind) {
          case "run":
            rows.runs.delete(removal.id)
            break
          case "event":
            rows.events.delete(removal.id)
            break
          case "cron":
            rows.crons.delete(removal.id)
            break
          case "scheduled":
            rows.scheduled.delete(removal.id)
            break
        }
      }
      rows.commits++
    })
})

/** Keeps the rows in memory; `MemoryDriver` reads them. */
export const layerMemory: Layer.Layer<EngineStore | MemoryDriver> = Layer.effectContext(
  Effect.sync(() => {
    const rows: MemoryRows = {
      tenants: new Map(),
      workflows: new Map(),
      runs: new Map(),
      events: new Map(),
      crons: new Map(),
      scheduled: new Map(),
      rateLimits: new Map(),
      commits: 0
    }
    return Context.make(MemoryDriver, rows).pipe(Context.add(EngineStore, memoryStore(rows)))
  })
)
