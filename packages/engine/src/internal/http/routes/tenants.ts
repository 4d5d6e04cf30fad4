/**
 * The tenant and its members:
 *
 * - `GET /api/v1/tenants/{tenant}` (the official SDK calls it at start-up and checks `version`);
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
import { derivedId } from "../../domain/ids.js"
import type { EngineState, Tenant } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import type { RestError } from "../rest.js"
import { internalServerError, json, jsonBody, lookupAcrossTenants, notFound, runDomain, tenantResourceRoute, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** The id of a tenant's one member. */
const memberId = (tenantId: string) => derivedId("tenant-member", tenantId)

/** `TenantMember` of the tenant's seeded admin (`ToTenantMember`). */
const member = (tenant: Tenant) => ({
  metadata: Views.resourceMeta(memberId(tenant.id), tenant.createdAt),
  user: { email: "admin@example.com", name: "Admin" },
  tenant: Views.tenant(tenant),
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
        return json(Views.tenant(tenant))
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/members",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const tenant = yield* runDomain((state) => Queries.getTenant(state, tenantId))
        return json({ rows: tenant === undefined ? [] : [member(tenant)] })
      })
    )
  ),
  HttpRouter.patch("/api/v1/tenants/:tenant/members/:member", memberRoute(jsonBody)),
  HttpRouter.del("/api/v1/tenants/:tenant/members/:member", memberRoute(Effect.void))
)
