/**
 * The tenant's alerting through Hatchet's REST API: the settings (how often Hatchet may alert,
 * and for what: failed runs, expiring tokens, resource limits, the members' emails) and the
 * email groups alerts go to. The local engine keeps and answers them, but sends no alerts.
 *
 * | operation | route |
 * |---|---|
 * | `settings` | `GET /api/v1/tenants/{tenant}/alerting/settings` |
 * | `update` | `PATCH /api/v1/tenants/{tenant}` (then `settings`) |
 * | `createEmailGroup`, `listEmailGroups` | `POST`, `GET /api/v1/tenants/{tenant}/alerting-email-groups` |
 * | `updateEmailGroup`, `deleteEmailGroup` | `PATCH`, `DELETE /api/v1/alerting-email-groups/{id}` |
 *
 * Hatchet checks each address; one it refuses is a 400 `RestError` naming it (`emails[i]`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { toGoDuration } from "./internal/duration.js"
import { optionalField as optional, ResourceMetadata } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"

/**
 * `TenantAlertingSettings`.
 *
 * @since 0.1.0
 * @category models
 */
export const AlertingSettings = Schema.Struct({
  metadata: ResourceMetadata,
  /** The shortest time between two alerts, a Go duration such as `1h`. */
  maxAlertingFrequency: Schema.String,
  enableWorkflowRunFailureAlerts: optional(Schema.Boolean),
  enableExpiringTokenAlerts: optional(Schema.Boolean),
  enableTenantResourceLimitAlerts: optional(Schema.Boolean),
  lastAlertedAt: optional(Schema.DateFromString)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AlertingSettings extends Schema.Schema.Type<typeof AlertingSettings> {}

/**
 * `TenantAlertEmailGroup`: addresses alerts go to.
 *
 * @since 0.1.0
 * @category models
 */
export const EmailGroup = Schema.Struct({ metadata: ResourceMetadata, emails: Schema.Array(Schema.String) })

/**
 * @since 0.1.0
 * @category models
 */
export interface EmailGroup extends Schema.Schema.Type<typeof EmailGroup> {}

/**
 * What `update` changes: each field given.
 *
 * @since 0.1.0
 * @category models
 */
export interface SettingsUpdate {
  /** The shortest time between two alerts (Hatchet's default: 1 hour). */
  readonly maxFrequency?: Duration.DurationInput | undefined
  readonly workflowRunFailureAlerts?: boolean | undefined
  readonly expiringTokenAlerts?: boolean | undefined
  readonly tenantResourceLimitAlerts?: boolean | undefined
  /** Whether alerts also go to the tenant's members (the tenant's `alertMemberEmails`). */
  readonly memberEmails?: boolean | undefined
}

/**
 * An update Hatchet would refuse (a frequency that is not a positive duration Go can hold):
 * nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAlertingSettings extends Schema.TaggedError<InvalidAlertingSettings>()("InvalidAlertingSettings", {
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid alerting settings: ${this.issues.join("; ")}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AlertingShape {
  readonly settings: () => Effect.Effect<AlertingSettings, RestError>
  /** Changes the settings and returns them. */
  readonly update: (update: SettingsUpdate) => Effect.Effect<AlertingSettings, RestError | InvalidAlertingSettings>
  readonly createEmailGroup: (emails: ReadonlyArray<string>) => Effect.Effect<EmailGroup, RestError>
  /** Oldest first. */
  readonly listEmailGroups: () => Effect.Effect<ReadonlyArray<EmailGroup>, RestError>
  /** Replaces the group's addresses. */
  readonly updateEmailGroup: (id: string, emails: ReadonlyArray<string>) => Effect.Effect<EmailGroup, RestError>
  readonly deleteEmailGroup: (id: string) => Effect.Effect<void, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Alerting extends Context.Tag("@effect-hatchet/sdk/Alerting")<Alerting, AlertingShape>() {}

const EmailGroupList = Schema.Struct({ rows: optional(Schema.Array(EmailGroup)) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<AlertingShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const tenant = `/api/v1/tenants/${encodeURIComponent(rest.tenantId)}`
  const group = (id: string) => `/api/v1/alerting-email-groups/${encodeURIComponent(id)}`
  const settings = () => rest.get(`${tenant}/alerting/settings`, AlertingSettings)
  return {
    settings,
    update: (update) =>
      Effect.gen(function*() {
        const frequency = update.maxFrequency === undefined ? undefined : toGoDuration(update.maxFrequency)
        if (frequency !== undefined && Either.isLeft(frequency)) {
          return yield* new InvalidAlertingSettings({ issues: [`maxFrequency: ${frequency.left}`] })
        }
        const body = {
          ...(frequency !== undefined ? { maxAlertingFrequency: frequency.right } : {}),
          ...(update.workflowRunFailureAlerts !== undefined ? { enableWorkflowRunFailureAlerts: update.workflowRunFailureAlerts } : {}),
          ...(update.expiringTokenAlerts !== undefined ? { enableExpiringTokenAlerts: update.expiringTokenAlerts } : {}),
          ...(update.tenantResourceLimitAlerts !== undefined ? { enableTenantResourceLimitAlerts: update.tenantResourceLimitAlerts } : {}),
          ...(update.memberEmails !== undefined ? { alertMemberEmails: update.memberEmails } : {})
        }
        yield* rest.patch(tenant, Schema.Unknown, { body })
        return yield* settings()
      }),
    createEmailGroup: (emails) => rest.post(`${tenant}/alerting-email-groups`, EmailGroup, { body: { emails } }),
    listEmailGroups: () => Effect.map(rest.get(`${tenant}/alerting-email-groups`, EmailGroupList), (list) => list.rows ?? []),
    updateEmailGroup: (id, emails) => rest.patch(group(id), EmailGroup, { body: { emails } }),
    deleteEmailGroup: (id) => rest.del(group(id), Schema.Void)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Alerting, never, RestClient> = Layer.effect(Alerting, make)
