/**
 * Hatchet's REST API (`/api/v1/...`) over `@effect/platform`'s abstract `HttpClient`: base URL
 * from `HatchetConfig.apiUrl`, `Authorization: Bearer <token>`, JSON bodies, Schema-decoded
 * responses, and `RestError` with the HTTP status and body on failure.
 *
 * The SDK does not pick an HTTP implementation: provide one, e.g. `FetchHttpClient.layer`
 * (`@effect/platform`) or `NodeHttpClient.layerUndici` (`@effect/platform-node`).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import { HatchetConfig } from "./HatchetConfig.js"
import type { RestError } from "./HatchetError.js"
import * as internal from "./internal/rest.js"

/**
 * @since 0.1.0
 * @category models
 */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/**
 * Query parameters. Arrays become repeated keys (`statuses=A&statuses=B`), dates ISO strings,
 * `undefined` is left out.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryParams = Readonly<
  Record<string, string | number | boolean | Date | ReadonlyArray<string | number | boolean | Date> | undefined>
>

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  readonly query?: QueryParams | undefined
  /** Sent as JSON. */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RestClientShape {
  /** The underlying client with the bearer token and `Accept: application/json` added. */
  readonly client: HttpClient.HttpClient
  /** The tenant id, for paths like `/api/v1/stable/tenants/{tenant}/...`. */
  readonly tenantId: string
  /**
   * Sends a request to `path` (e.g. `/api/v1/stable/workflow-runs/<id>`) and decodes the JSON
   * body with `schema` (an empty body decodes as `undefined`, so `Schema.Void` fits 204s).
   */
  readonly request: <A, I, R>(
    method: HttpMethod,
    path: string,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ) => Effect.Effect<A, RestError, R>
  readonly get: <A, I, R>(path: string, schema: Schema.Schema<A, I, R>, options?: RequestOptions) => Effect.Effect<A, RestError, R>
  readonly post: <A, I, R>(path: string, schema: Schema.Schema<A, I, R>, options?: RequestOptions) => Effect.Effect<A, RestError, R>
  readonly put: <A, I, R>(path: string, schema: Schema.Schema<A, I, R>, options?: RequestOptions) => Effect.Effect<A, RestError, R>
  readonly patch: <A, I, R>(path: string, schema: Schema.Schema<A, I, R>, options?: RequestOptions) => Effect.Effect<A, RestError, R>
  readonly del: <A, I, R>(path: string, schema: Schema.Schema<A, I, R>, options?: RequestOptions) => Effect.Effect<A, RestError, R>
  /** The raw body of a 2xx answer (e.g. Prometheus metrics text). */
  readonly text: (method: HttpMethod, path: string, options?: RequestOptions) => Effect.Effect<string, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RestClient extends Context.Tag("@effect-hatchet/sdk/RestClient")<RestClient, RestClientShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<RestClientShape, never, HatchetConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    return internal.make(yield* HatchetConfig, yield* HttpClient.HttpClient)
  }
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<RestClient, never, HatchetConfig | HttpClient.HttpClient> = Layer.effect(
  RestClient,
  make
)

/**
 * Hatchet's query encoding (exposed for tests and other clients).
 *
 * @since 0.1.0
 * @category utils
 */
export const toUrlParams = internal.toUrlParams
