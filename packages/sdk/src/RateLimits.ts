/**
 * The tenant's rate limits through Hatchet's REST API: each key with its limit, window and the
 * units left now (`GET /api/v1/tenants/{tenant}/rate-limits`). Keys are created with
 * `Hatchet.putRateLimit`, or by tasks' dynamic limits.
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
import { Pagination } from "./Runs.js"

/**
 * `RateLimit`.
 *
 * @since 0.1.0
 * @category models
 */
export const RateLimit = Schema.Struct({
  key: Schema.String,
  tenantId: optional(Schema.String),
  /** Units per window. */
  limitValue: Schema.Number,
  /** Units left in the current window. */
  value: Schema.Number,
  /** The window, e.g. `1 MINUTE`. */
  window: Schema.String,
  lastRefill: optional(Schema.DateFromString)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimit extends Schema.Schema.Type<typeof RateLimit> {}

/**
 * `RateLimitList`.
 *
 * @since 0.1.0
 * @category models
 */
export const RateLimitList = Schema.Struct({
  rows: Schema.optionalWith(Schema.Array(RateLimit), { exact: true, default: () => [] }),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimitList extends Schema.Schema.Type<typeof RateLimitList> {}

/**
 * What `list` selects (`rate-limit:list`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListRateLimitsOptions {
  /** Keys containing this. */
  readonly search?: string | undefined
  readonly orderByField?: "key" | "value" | "limitValue" | undefined
  readonly orderByDirection?: "asc" | "desc" | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimitsShape {
  readonly list: (options?: ListRateLimitsOptions) => Effect.Effect<RateLimitList, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RateLimits extends Context.Tag("@effect-hatchet/sdk/RateLimits")<RateLimits, RateLimitsShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<RateLimitsShape, never, RestClient> = Effect.map(RestClient, (rest) => ({
  list: (options = {}) =>
    rest.get(`/api/v1/tenants/${encodeURIComponent(rest.tenantId)}/rate-limits`, RateLimitList, {
      query: {
        search: options.search,
        orderByField: options.orderByField,
        orderByDirection: options.orderByDirection,
        offset: options.offset,
        limit: options.limit
      }
    })
}))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<RateLimits, never, RestClient> = Layer.effect(RateLimits, make)
