/**
 * The tenant and its members:
 *
 * - `GET /api/v1/tenants/{tenant}` (the official SDK calls it at start-up and checks `version`),
 *   with `serverUrl`, the engine's REST address, as upstream's `ToTenant`;
 * - `PATCH /api/v1/tenants/{tenant}` (`UpdateTenantRequest` → `Tenant`, upstream
 *   `handlers/tenants/update.go`): `name`, `analyticsOptOut`, `alertMemberEmails` and the
 *   alerting settings (`maxAlertingFrequency`, a Go duration of the validator's grammar, else 400
 *   with `field: "maxalertingfrequency"`; the three `enable…Alerts`), each when given (see
 *   `domain/alerting.ts`); `version` is read and ignored, as upstream's handler ignores it;
 * - `GET /api/v1/tenants/{tenant}/members` (`TenantMemberList`, upstream
 *   `handlers/tenants/list_members.go`, `transformers.ToTenantMember`): the local engine has no
 *   users, so each tenant has the one member upstream's seed gives the tenant it creates: the
 *   admin user (`admin@example.com`, "Admin", upstream's `SEED_DEFAULT_ADMIN_*` defaults) as
 *   `OWNER`, who can view payloads; its id is derived from the tenant's (stable across restarts);
 *   no `pagination`, as upstream;
 * - `PATCH` and `DELETE /api/v1/tenants/{tenant}/members/{member}`: checked as upstream's populator
 *   checks them, before the token (400 "invalid tenant member id", 404 "not found", 403 "not
 *   authorized to access this resource" for another tenant's member), then the token (403), then,
 *   for an API token (the only credential the
 *   local engine knows), upstream's answer: its handlers read the caller's membership, which a
 *   token request has none of, and fail with echo's 500 (a PATCH body that is not JSON is 400
 *   first, as it is bound before).
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { EngineAuth } from "../../auth/EngineAuth.js"
import * as Alerting from "../../domain/alerting.js"
import { durationError, isValidDuration } from "../../domain/duration.js"
import { Go } from "../../domain/goJson.js"
import { derivedId } from "../../domain/ids.js"
import type { EngineState, Tenant } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import { tenantOf } from "../../domain/tenants.js"
import {
  decodeBody,
  internalServerError,
  json,
  jsonBody,
  lookupAcrossTenants,
  notFound,
  nullable,
  RestError,
  runDomain,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** `UpdateTenantRequest` (each field optional; `version` is read and, as upstream, not applied). */
const UpdateTenantRequest = Schema.Struct({
  alertMemberEmails: nullable(Schema.Boolean),
  analyticsOptOut: nullable(Schema.Boolean),
  enableExpiringTokenAlerts: nullable(Schema.Boolean),
  enableTenantResourceLimitAlerts: nullable(Schema.Boolean),
  enableWorkflowRunFailureAlerts: nullable(Schema.Boolean),
  maxAlertingFrequency: nullable(Schema.String),
  name: nullable(Schema.String),
  version: nullable(Schema.String)
})

/** The id of a tenant's one member. */
const memberId = (tenantId: string) => derivedId("tenant-member", tenantId)

/** `TenantMember` of the tenant's seeded admin (`ToTenantMember`: its tenant without `serverUrl`). */
const member = (tenant: Tenant, profile: Alerting.TenantProfile) => ({
  metadata: Views.resourceMeta(memberId(tenant.id), tenant.createdAt),
  user: { email: "admin@example.com", name: "Admin" },
  tenant: Views.tenant(tenant, profile),
  role: "OWNER" as const,
  canViewPayloads: true
})

/** The member with this id, in whichever tenant it is (the populator's `member` getter). */
const findMember = (state: EngineState, id: string) => {
  for (const { tenant } of state.tenants.values()) if (memberId(tenant.id) === id) return { tenantId: tenant.id }
  return undefined
}

/**
 * A route of one member of the path's tenant (see the module's description): `read` is what
 * upstream binds before its handler fails.
 */
const memberRoute = <R>(read: Effect.Effect<unknown, RestError, R>) =>
  tenantResourceRoute(
    "member",
    "invalid tenant member id",
    lookupAcrossTenants(findMember),
    () => Effect.zipRight(read, internalServerError())
  )

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const tenant = yield* runDomain((state) => Queries.getTenant(state, tenantId))
        if (tenant === undefined) return yield* notFound()
        const profile = yield* runDomain((state) => Alerting.profileOf(tenantOf(state, tenantId)))
        return json(Views.tenant(tenant, profile, (yield* EngineAuth).serverUrl()))
      })
    )
  ),
  HttpRouter.patch(
    "/api/v1/tenants/:tenant",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          UpdateTenantRequest,
          Go.struct("gen.UpdateTenantRequest", {
            alertMemberEmails: [Go.bool, "pointer"],
            analyticsOptOut: [Go.bool, "pointer"],
            enableExpiringTokenAlerts: [Go.bool, "pointer"],
            enableTenantResourceLimitAlerts: [Go.bool, "pointer"],
            enableWorkflowRunFailureAlerts: [Go.bool, "pointer"],
            maxAlertingFrequency: [Go.string, "pointer"],
            name: [Go.string, "pointer"],
            version: [Go.named("gen.TenantVersion"), "pointer"]
          })
        )
        if (body.maxAlertingFrequency !== undefined && !isValidDuration(body.maxAlertingFrequency)) {
          return yield* new RestError({
            status: 400,
            body: {
              errors: [{
                description: `validation failed on field 'UpdateTenantRequest.MaxAlertingFrequency': ${durationError}`,
                field: "maxalertingfrequency"
              }]
            }
          })
        }
        const { profile, tenant } = yield* runDomain((state) => {
          const tenantState = tenantOf(state, tenantId)
          const profile = Alerting.updateTenant(tenantState, {
            name: body.name,
            analyticsOptOut: body.analyticsOptOut,
            alertMemberEmails: body.alertMemberEmails,
            maxFrequency: body.maxAlertingFrequency,
            enableExpiringTokenAlerts: body.enableExpiringTokenAlerts,
            enableWorkflowRunFailureAlerts: body.enableWorkflowRunFailureAlerts,
            enableTenantResourceLimitAlerts: body.enableTenantResourceLimitAlerts
          })
          return { profile, tenant: tenantState.tenant }
        })
        return json(Views.tenant(tenant, profile, (yield* EngineAuth).serverUrl()))
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/members",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const found = yield* runDomain((state) => {
          const tenant = Queries.getTenant(state, tenantId)
          return tenant === undefined ? undefined : { tenant, profile: Alerting.profileOf(tenantOf(state, tenantId)) }
        })
        return json({ rows: found === undefined ? [] : [member(found.tenant, found.profile)] })
      })
    )
  ),
  HttpRouter.patch("/api/v1/tenants/:tenant/members/:member", memberRoute(jsonBody)),
  HttpRouter.del("/api/v1/tenants/:tenant/members/:member", memberRoute(Effect.void))
)
