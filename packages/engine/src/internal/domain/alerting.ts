/**
 * A tenant's alerting settings and alert email groups, as upstream stores them
 * (`TenantAlertingSettings`, `TenantAlertEmailGroup`, `pkg/repository/tenant_alerting.go`). The
 * local engine sends no alerts: these are kept and answered, nothing reads them.
 *
 * They hang off the tenant's state object (a `WeakMap`), so they live and die with the tenant
 * and need nothing in `TenantState` itself.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import { derivedId } from "./ids.js"
import type { EngineState, TenantState } from "./model.js"

/** `TenantAlertingSettings` with upstream's column defaults (the row made with the tenant). */
export interface AlertingSettings {
  readonly id: string
  readonly createdAt: number
  readonly updatedAt: number
  readonly maxFrequency: string
  readonly enableExpiringTokenAlerts: boolean
  readonly enableWorkflowRunFailureAlerts: boolean
  readonly enableTenantResourceLimitAlerts: boolean
}

/** `TenantAlertEmailGroup`: its emails as upstream stores them, joined by commas. */
export interface AlertEmailGroup {
  readonly id: string
  readonly tenantId: string
  readonly createdAt: number
  readonly updatedAt: number
  emails: string
}

interface TenantAlerting {
  readonly settings: AlertingSettings
  readonly groups: Map<string, AlertEmailGroup>
}

const byTenant = new WeakMap<TenantState, TenantAlerting>()

const alertingOf = (tenant: TenantState): TenantAlerting => {
  let alerting = byTenant.get(tenant)
  if (alerting === undefined) {
    alerting = {
      settings: {
        // stable across restarts, as the tenant's member id
        id: derivedId("tenant-alerting-settings", tenant.tenant.id),
        createdAt: tenant.tenant.createdAt,
        updatedAt: tenant.tenant.createdAt,
        maxFrequency: "1h",
        enableExpiringTokenAlerts: true,
        enableWorkflowRunFailureAlerts: false,
        enableTenantResourceLimitAlerts: true
      },
      groups: new Map()
    }
    byTenant.set(tenant, alerting)
  }
  return alerting
}

/** The tenant's alerting settings (`GetTenantAlertingSettings`). */
export const settingsOf = (tenant: TenantState): AlertingSettings => alertingOf(tenant).settings

/** Creates an email group (`CreateTenantAlertGroup`). */
export const createGroup = (tenant: TenantState, emails: ReadonlyArray<string>, now: number): AlertEmailGroup => {
  const group: AlertEmailGroup = { id: randomUUID(), tenantId: tenant.tenant.id, createdAt: now, updatedAt: now, emails: emails.join(",") }
  alertingOf(tenant).groups.set(group.id, group)
  return group
}

/** The tenant's email groups, oldest first (`ListTenantAlertGroups`). */
export const listGroups = (tenant: TenantState): ReadonlyArray<AlertEmailGroup> => [...alertingOf(tenant).groups.values()]

/** The email group with this id, in whichever tenant it is (`GetTenantAlertGroupById`). */
export const findGroup = (state: EngineState, id: string): AlertEmailGroup | undefined => {
  for (const tenant of state.tenants.values()) {
    const group = byTenant.get(tenant)?.groups.get(id)
    if (group !== undefined) return group
  }
  return undefined
}

/** Replaces a group's emails (`UpdateTenantAlertGroup`: `updatedAt` stays, as upstream's query leaves it). */
export const updateGroup = (group: AlertEmailGroup, emails: ReadonlyArray<string>): AlertEmailGroup => {
  group.emails = emails.join(",")
  return group
}

/** Deletes a group (`DeleteTenantAlertGroup`). */
export const deleteGroup = (tenant: TenantState, id: string): void => {
  alertingOf(tenant).groups.delete(id)
}
