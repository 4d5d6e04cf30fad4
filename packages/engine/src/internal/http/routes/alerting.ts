/**
 * A tenant's alerting settings and alert email groups over REST (upstream
 * `api/v1/server/handlers/tenants/{get_alerting_settings,create_email_group,list_email_groups,
 * update_email_group,delete_email_group}.go`, the `alert-email-group` getter of
 * `api/v1/server/run/run.go`, `ToTenantAlertingSettings` / `ToTenantAlertEmailGroup`,
 * `api-contracts/openapi/paths/tenant/tenant.yaml`; the records are `domain/alerting.ts`'s). The
 * local engine sends no alerts: what these routes keep is answered back, nothing else reads it.
 *
 * - `GET /api/v1/tenants/{tenant}/alerting/settings` (`TenantAlertingSettings`): upstream's
 *   defaults (`maxAlertingFrequency` "1h", expiring-token and resource-limit alerts on, run-failure
 *   alerts off) until `PATCH /api/v1/tenants/{tenant}` (`tenants.ts`) changes them;
 * - `POST /api/v1/tenants/{tenant}/alerting-email-groups` (`{emails}` → 201
 *   `TenantAlertEmailGroup`) and `GET` (`{rows}`, oldest first);
 * - `PATCH` (`{emails}` → the group) and `DELETE` (204) on `/api/v1/alerting-email-groups/{id}`:
 *   400 "invalid alert email group id", 404 "not found" (before the token), another tenant's 403.
 *
 * `emails` is validated as upstream's `validate:"required,dive,email"`: missing or null is 400
 * `APIErrors` "on condition 'required'", each address that is not one 400 "Invalid email address"
 * (field `emails[i]`); an address over 255 characters fails the repository's validation, echo's
 * 500. The address check follows go-playground's `email` rule for unquoted local parts; a quoted
 * local part (`"a b"@example.com`), which that rule accepts, is refused here.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Alerting from "../../domain/alerting.js"
import { Go } from "../../domain/goJson.js"
import { tenantOf } from "../../domain/tenants.js"
import { decodeBody, internalServerError, json, lookupWith, nullable, resourceRoute, RestError, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** `TenantAlertingSettings` (`ToTenantAlertingSettings`: no `alertMemberEmails`, no `lastAlertedAt` until an alert). */
const settingsView = (s: Alerting.AlertingSettings) => ({
  enableExpiringTokenAlerts: s.enableExpiringTokenAlerts,
  enableTenantResourceLimitAlerts: s.enableTenantResourceLimitAlerts,
  enableWorkflowRunFailureAlerts: s.enableWorkflowRunFailureAlerts,
  maxAlertingFrequency: s.maxFrequency,
  metadata: Views.resourceMeta(s.id, s.createdAt, s.updatedAt)
})

/** `TenantAlertEmailGroup` (`ToTenantAlertEmailGroup`: the stored text split on commas). */
const groupView = (g: Alerting.AlertEmailGroup) => ({
  emails: g.emails.split(","),
  metadata: Views.resourceMeta(g.id, g.createdAt, g.updatedAt)
})

const unicode = "\\u00A0-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF"
const atom = `[a-zA-Z0-9!#$%&'*+\\-/=?^_\`{|}~${unicode}]+`
const alnum = `[a-zA-Z0-9${unicode}]`
const alpha = `[a-zA-Z${unicode}]`
const inner = `[a-zA-Z0-9\\-.~${unicode}]`
/** An address as go-playground's `email` rule reads one with an unquoted local part. */
const emailPattern = new RegExp(
  `^${atom}(?:\\.${atom})*@(?:(?:${alnum}|${alnum}${inner}*${alnum})\\.)+(?:${alpha}|${alpha}${inner}*${alpha})\\.?$`
)

/** The request body of create and update (`CreateTenantAlertEmailGroupRequest` / `Update…`). */
const EmailsRequest = Schema.Struct({ emails: nullable(Schema.Array(Schema.String)) })

/** The emails of a create or update body, checked as upstream's validator and repository check them. */
const emailsOf = (struct: "CreateTenantAlertEmailGroupRequest" | "UpdateTenantAlertEmailGroupRequest") =>
  Effect.gen(function*() {
    const body = yield* decodeBody(EmailsRequest, Go.struct(`gen.${struct}`, { emails: Go.slice(Go.string) }))
    const emails = body.emails
    const errors: Array<{ readonly description: string; readonly field: string }> = []
    if (emails === undefined) {
      errors.push({ description: `validation failed on field '${struct}.Emails': on condition 'required'`, field: "emails" })
    } else {
      emails.forEach((email, i) => {
        if (!emailPattern.test(email)) {
          errors.push({ description: `validation failed on field '${struct}.Emails[${i}]': Invalid email address`, field: `emails[${i}]` })
        }
      })
    }
    if (errors.length > 0) return yield* new RestError({ status: 400, body: { errors } })
    const checked = emails ?? []
    if (checked.some((email) => [...email].length > 255)) return yield* internalServerError()
    return checked
  })

/** A route keyed by an email group, found across tenants as upstream's populator finds it. */
const groupRoute = <R>(
  handler: (group: Alerting.AlertEmailGroup, tenantId: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, RestError, R>
) => resourceRoute("group", "invalid alert email group id", lookupWith(Alerting.findGroup), handler)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant/alerting/settings",
    tenantRoute((tenantId) =>
      Effect.map(runDomain((state) => Alerting.settingsOf(tenantOf(state, tenantId))), (s) => json(settingsView(s)))
    )
  ),
  HttpRouter.post(
    "/api/v1/tenants/:tenant/alerting-email-groups",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const emails = yield* emailsOf("CreateTenantAlertEmailGroupRequest")
        const group = yield* runDomain((state, now) => Alerting.createGroup(tenantOf(state, tenantId), emails, now))
        return json(groupView(group), 201)
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/alerting-email-groups",
    tenantRoute((tenantId) =>
      Effect.map(
        runDomain((state) => Alerting.listGroups(tenantOf(state, tenantId))),
        (groups) => json({ rows: groups.map(groupView) })
      )
    )
  ),
  HttpRouter.patch(
    "/api/v1/alerting-email-groups/:group",
    groupRoute((group) =>
      Effect.gen(function*() {
        const emails = yield* emailsOf("UpdateTenantAlertEmailGroupRequest")
        return json(groupView(yield* runDomain(() => Alerting.updateGroup(group, emails))))
      })
    )
  ),
  HttpRouter.del(
    "/api/v1/alerting-email-groups/:group",
    groupRoute((group, tenantId) =>
      Effect.as(
        runDomain((state) => Alerting.deleteGroup(tenantOf(state, tenantId), group.id)),
        HttpServerResponse.empty({ status: 204 })
      )
    )
  )
)
