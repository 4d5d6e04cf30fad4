/**
 * The client's tenant through Hatchet's REST API (`GET /api/v1/tenants/{tenant}`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
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
 * @since 0.1.0
 * @category models
 */
export interface TenantsShape {
  /** The tenant the client's token belongs to. */
  readonly get: () => Effect.Effect<Tenant, RestError>
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
export const make: Effect.Effect<TenantsShape, never, RestClient> = Effect.map(RestClient, (rest) => ({
  get: () => rest.get(`/api/v1/tenants/${encodeURIComponent(rest.tenantId)}`, Tenant)
}))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Tenants, never, RestClient> = Layer.effect(Tenants, make)
