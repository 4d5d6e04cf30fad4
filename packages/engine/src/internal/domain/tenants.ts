/**
 * Tenants. The local engine creates them on demand (a default one at start, others when a token
 * is minted for a new tenant id).
 *
 * @internal
 */
import { notFound } from "./errors.js"
import type { EngineState, TenantState } from "./model.js"

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
      runs: [],
      events: [],
      rateLimits: new Map(),
      dynamicRateLimitActions: new Set(),
      scheduled: new Map(),
      crons: new Map(),
      concurrencyStrategies: new Map(),
      counters: new Map(),
      idempotencyKeys: new Map()
    }
    state.tenants.set(tenantId, tenant)
  }
  return tenant
}

/** The tenant's state; a tenant the engine does not know is NOT_FOUND. */
export const tenantOf = (state: EngineState, tenantId: string): TenantState => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) throw notFound("tenant not found")
  return tenant
}
