/**
 * The client's tenant through Hatchet's REST API: the tenant (`GET /api/v1/tenants/{tenant}`) and
 * its members (`GET /api/v1/tenants/{tenant}/members`: the users of the dashboard with their role).
 * Changing or removing a member is a dashboard user's act: Hatchet refuses it to an API token.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { optionalField as optional } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"
import { ResourceMeta } from "./Runs.js"

/**
 * `Tenant` (the fields this SDK reads).
 *
 * @since 0.1.0
 * @category models
 */
export const Tenant = Schema.Struct({
  metadata: ResourceMeta,
  name: Schema.String,
  slug: Schema.String,
  /** The engine generation serving the tenant: `V0` or `V1`. */
  version: optional(Schema.String),
  analyticsOptOut: optional(Schema.Boolean),
  alertMemberEmails: optional(Schema.Boolean),
  environment: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Tenant extends Schema.Schema.Type<typeof Tenant> {}

/**
 * `TenantMember` (the fields this SDK reads): a user of the tenant and its role (`OWNER`,
 * `ADMIN`, `MEMBER` or `VIEWER`).
 *
 * @since 0.1.0
 * @category models
 */
export const TenantMember = Schema.Struct({
  metadata: ResourceMeta,
  user: Schema.Struct({ email: Schema.String, name: optional(Schema.String) }),
  role: Schema.Literal("OWNER", "ADMIN", "MEMBER", "VIEWER"),
  /** Whether the member sees task, event and log payloads (owners and admins always do). */
  canViewPayloads: optional(Schema.Boolean),
  tenant: optional(Tenant)
})

/**
 * A member of the tenant: the user, its role and whether it may view payloads.
 *
 * @since 0.1.0
 * @category models
 */
export interface TenantMember extends Schema.Schema.Type<typeof TenantMember> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface TenantsShape {
  /** The tenant the client's token belongs to. */
  readonly get: () => Effect.Effect<Tenant, RestError>
  /** The tenant's members. On the local engine: its one owner, the admin user Hatchet seeds. */
  readonly members: () => Effect.Effect<ReadonlyArray<TenantMember>, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Tenants extends Context.Tag("@effect-hatchet/sdk/Tenants")<Tenants, TenantsShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TenantsShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const path = `/api/v1/tenants/${encodeURIComponent(rest.tenantId)}`
  return {
    get: () => rest.get(path, Tenant),
    members: () =>
      Effect.map(
        rest.get(`${path}/members`, Schema.Struct({ rows: optional(Schema.Array(TenantMember)) })),
        (list) => list.rows ?? []
      )
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Tenants, never, RestClient> = Layer.effect(Tenants, make)
