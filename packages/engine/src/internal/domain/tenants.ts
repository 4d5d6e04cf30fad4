/**
 * Tenants. The local engine creates them on demand (a default one at start, others when a token
 * is minted for a new tenant id).
 *
 * @internal
 */
import { touchTenant } from "./changes.js"
import { CreationIndex } from "./creationIndex.js"
import { notFound } from "./errors.js"
import type { EngineState, TenantState, Worker } from "./model.js"

/** Returns the tenant, creating it when it does not exist yet. */
export const ensureTenant = (state: EngineState, tenantId: string, now: number, name?: string): TenantState => {
  let tenant = state.tenants.get(tenantId)
  if (tenant === undefined) {
    const tenantName = name ?? (state.tenants.size === 0 ? "Default" : `Tenant ${tenantId.slice(0, 8)}`)
    tenant = {
      tenant: {
        id: tenantId,
        name: tenantName,
        slug: tenantName.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
        createdAt: now
      },
      workers: new Map(),
      workflowsByName: new Map(),
      workflowsById: new Map(),
      actionWorkers: new Map(),
      roundRobin: new Map(),
      runs: new CreationIndex(),
      runsByWorkflow: new Map(),
      childRuns: new Map(),
      tasks: new CreationIndex(),
      events: new CreationIndex(),
      filters: new Map(),
      filtersByWorkflow: new Map(),
      webhooks: new Map(),
      finished: { runs: [], finishedAt: [], since: [], head: 0, end: 0, count: 0, sweepEnd: undefined },
      rateLimits: new Map(),
      dynamicKeys: new Map(),
      scheduled: new Map(),
      crons: new Map(),
      concurrencyStrategies: new Map(),
      counters: new Map(),
      idempotencyKeys: new Map(),
      eventMatches: new Map(),
      batchGroups: new Map(),
      traces: new Map(),
      traceLookup: new Map()
    }
    state.tenants.set(tenantId, tenant)
    touchTenant(state, tenant.tenant)
  }
  return tenant
}

/** The tenant's state; a tenant the engine does not know is NOT_FOUND. */
export const tenantOf = (state: EngineState, tenantId: string): TenantState => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) throw notFound("tenant not found")
  return tenant
}

/** Removes a worker from the engine's and its tenant's indexes, and its liveness timer. */
export const dropWorker = (state: EngineState, worker: Worker): void => {
  const tenant = state.tenants.get(worker.tenantId)
  state.workersById.delete(worker.id)
  state.timers.cancel("WorkerLiveness", worker.id)
  tenant?.workers.delete(worker.id)
  for (const action of worker.actions) tenant?.actionWorkers.get(action)?.delete(worker)
}
