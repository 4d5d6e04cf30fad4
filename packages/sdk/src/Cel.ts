/**
 * Hatchet's CEL debugger through its REST API (`POST /api/v1/stable/tenants/{tenant}/cel/debug`):
 * evaluates an event-filter expression against a sample input, filter payload and additional
 * metadata, as the engine would, and says what it gives or why it fails.
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

/**
 * `V1CELDebugResponse`: `SUCCESS` with the boolean the expression gave, or `ERROR` with the
 * engine's message (it did not compile, failed, or did not give a boolean).
 *
 * @since 0.1.0
 * @category models
 */
export const DebugResult = Schema.Struct({
  status: Schema.Literal("SUCCESS", "ERROR"),
  output: optional(Schema.Boolean),
  error: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface DebugResult extends Schema.Schema.Type<typeof DebugResult> {}

/**
 * What `debug` evaluates.
 *
 * @since 0.1.0
 * @category models
 */
export interface DebugRequest {
  /** An event-filter expression over `input`, `additional_metadata` and `payload`. */
  readonly expression: string
  readonly input: Readonly<Record<string, unknown>>
  /** The filter's payload (`payload` in the expression). */
  readonly filterPayload?: Readonly<Record<string, unknown>> | undefined
  readonly additionalMetadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CelShape {
  readonly debug: (request: DebugRequest) => Effect.Effect<DebugResult, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Cel extends Context.Tag("@effect-hatchet/sdk/Cel")<Cel, CelShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CelShape, never, RestClient> = Effect.map(RestClient, (rest) => ({
  debug: (request) => rest.post(`/api/v1/stable/tenants/${encodeURIComponent(rest.tenantId)}/cel/debug`, DebugResult, { body: request })
}))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Cel, never, RestClient> = Layer.effect(Cel, make)
