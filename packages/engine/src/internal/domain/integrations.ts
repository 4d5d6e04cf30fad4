/**
 * A tenant's SNS integrations, as upstream stores them (`SNSIntegration`,
 * `pkg/repository/sns.go`): a topic ARN per row, unique in the tenant. The local engine does not
 * receive SNS notifications (upstream's `POST /api/v1/sns/{tenant}/{event}` is not served): the
 * rows are kept and answered, nothing else reads them.
 *
 * They hang off the tenant's state object (a `WeakMap`), as `alerting.ts`'s records do.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import type { EngineState, TenantState } from "./model.js"

/** `SNSIntegration`. */
export interface SnsIntegration {
  readonly id: string
  readonly tenantId: string
  readonly createdAt: number
  readonly updatedAt: number
  readonly topicArn: string
}

const byTenant = new WeakMap<TenantState, Map<string, SnsIntegration>>()

const integrationsOf = (tenant: TenantState): Map<string, SnsIntegration> => {
  let integrations = byTenant.get(tenant)
  if (integrations === undefined) {
    integrations = new Map()
    byTenant.set(tenant, integrations)
  }
  return integrations
}

/**
 * Creates an integration (`CreateSNSIntegration`), or undefined when the tenant has one for the
 * topic (upstream's insert does nothing then, and its handler fails on the missing row).
 */
export const createSns = (tenant: TenantState, topicArn: string, now: number): SnsIntegration | undefined => {
  const integrations = integrationsOf(tenant)
  for (const existing of integrations.values()) if (existing.topicArn === topicArn) return undefined
  const integration = { id: randomUUID(), tenantId: tenant.tenant.id, createdAt: now, updatedAt: now, topicArn }
  integrations.set(integration.id, integration)
  return integration
}

/** The tenant's integrations, oldest first (`ListSNSIntegrations`). */
export const listSns = (tenant: TenantState): ReadonlyArray<SnsIntegration> => [...integrationsOf(tenant).values()]

/** The integration with this id, in whichever tenant it is (`GetSNSIntegrationById`). */
export const findSns = (state: EngineState, id: string): SnsIntegration | undefined => {
  for (const tenant of state.tenants.values()) {
    const integration = byTenant.get(tenant)?.get(id)
    if (integration !== undefined) return integration
  }
  return undefined
}

/** Deletes an integration (`DeleteSNSIntegration`). */
export const deleteSns = (tenant: TenantState, id: string): void => {
  integrationsOf(tenant).delete(id)
}
