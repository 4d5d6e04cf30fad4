/**
 * A tenant's alerting settings and alert email groups, as upstream stores them
 * (`TenantAlertingSettings`, `TenantAlertEmailGroup`, `pkg/repository/tenant_alerting.go`), and
 * what a tenant update changes of the tenant (its name, `analyticsOptOut`, `alertMemberEmails`).
 * The local engine sends no alerts: these are kept and answered, nothing reads them.
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

/**
 * What `PATCH /api/v1/tenants/{tenant}` changes of the tenant itself (upstream's `UpdateTenant`):
 * a new name, and the two flags the local engine shows as it always has (no analytics, member
 * emails off: it sends no alerts), until changed.
 */
export interface TenantProfile {
  readonly name: string | undefined
  readonly analyticsOptOut: boolean
  readonly alertMemberEmails: boolean
}

/** The profile of a tenant never updated. */
export const defaultProfile: TenantProfile = { name: undefined, analyticsOptOut: true, alertMemberEmails: false }

interface TenantAlerting {
  settings: AlertingSettings
  profile: TenantProfile
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
      profile: defaultProfile,
      groups: new Map()
    }
    byTenant.set(tenant, alerting)
  }
  return alerting
}

/** The tenant's alerting settings (`GetTenantAlertingSettings`). */
export const settingsOf = (tenant: TenantState): AlertingSettings => alertingOf(tenant).settings

/** The tenant's profile (its name and flags as `PATCH` left them). */
export const profileOf = (tenant: TenantState): TenantProfile => byTenant.get(tenant)?.profile ?? defaultProfile

/** What `PATCH /api/v1/tenants/{tenant}` may change: each field given. */
export interface TenantUpdate {
  readonly name?: string | undefined
  readonly analyticsOptOut?: boolean | undefined
  readonly alertMemberEmails?: boolean | undefined
  readonly maxFrequency?: string | undefined
  readonly enableExpiringTokenAlerts?: boolean | undefined
  readonly enableWorkflowRunFailureAlerts?: boolean | undefined
  readonly enableTenantResourceLimitAlerts?: boolean | undefined
}

/**
 * Applies an update (upstream's `UpdateTenant`, then `UpsertTenantAlertingSettings` when an
 * alerting field is given): each given field replaces the stored one; neither row's `updatedAt`
 * moves, as upstream's queries leave it.
 */
export const updateTenant = (tenant: TenantState, update: TenantUpdate): TenantProfile => {
  const alerting = alertingOf(tenant)
  const { profile, settings } = alerting
  alerting.profile = {
    name: update.name ?? profile.name,
    analyticsOptOut: update.analyticsOptOut ?? profile.analyticsOptOut,
    alertMemberEmails: update.alertMemberEmails ?? profile.alertMemberEmails
  }
  alerting.settings = {
    ...settings,
    maxFrequency: update.maxFrequency ?? settings.maxFrequency,
    enableExpiringTokenAlerts: update.enableExpiringTokenAlerts ?? settings.enableExpiringTokenAlerts,
    enableWorkflowRunFailureAlerts: update.enableWorkflowRunFailureAlerts ?? settings.enableWorkflowRunFailureAlerts,
    enableTenantResourceLimitAlerts: update.enableTenantResourceLimitAlerts ?? settings.enableTenantResourceLimitAlerts
  }
  return alerting.profile
}

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
