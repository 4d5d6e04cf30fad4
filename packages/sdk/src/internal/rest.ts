/**
 * The Hatchet REST client over `@effect/platform`'s abstract HttpClient.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { HatchetConfigShape } from "../HatchetConfig.js"
import { RestError } from "../HatchetError.js"
import type { HttpMethod, QueryParams, RequestOptions, RestClientShape } from "../RestClient.js"

/**
 * An optional field of a REST response: absent or present, never `undefined`.
 *
 * @internal
 */
export const optionalField = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * `APIResourceMeta` as Hatchet fills it for the resources it keeps in full: the id, when the
 * resource was created and last updated.
 *
 * @internal
 */
export const ResourceMetadata = Schema.Struct({ id: Schema.String, createdAt: Schema.DateFromString, updatedAt: Schema.DateFromString })

/**
 * `{k: v}` as the `key:value` strings Hatchet's metadata filters take.
 *
 * @internal
 */
export const metadataPairs = (metadata: Readonly<Record<string, string>> | undefined): Array<string> | undefined =>
  metadata === undefined ? undefined : Object.entries(metadata).map(([key, value]) => `${key}:${value}`)

/**
 * Repeated keys for arrays (`statuses=A&statuses=B`, as Hatchet's API expects), ISO strings for
 * dates, nothing for undefined.
 *
 * @internal
 */
export const toUrlParams = (query: QueryParams): UrlParams.UrlParams => {
  const scalar = (v: string | number | boolean | Date) => (v instanceof Date ? v.toISOString() : String(v))
  const out: Array<[string, string]> = []
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue
    if (Array.isArray(value)) { for (const v of value as ReadonlyArray<string | number | boolean | Date>) out.push([key, scalar(v)]) }
    else out.push([key, scalar(value as string | number | boolean | Date)])
  }
  return UrlParams.fromInput(out)
}

const fullUrl = (request: HttpClientRequest.HttpClientRequest) =>
  request.urlParams.length === 0 ? request.url : `${request.url}?${UrlParams.toString(request.urlParams)}`

/**
 * The platform's errors carry the request, whose headers hold the bearer token: keep the error,
 * with the token replaced, so no rendering of a RestError (JSON included) can show it.
 */
const withoutToken = (cause: HttpClientError.HttpClientError): unknown =>
  cause._tag === "RequestError"
    ? new HttpClientError.RequestError({
      request: HttpClientRequest.setHeader(cause.request, "authorization", "<redacted>"),
      reason: cause.reason,
      cause: cause.cause,
      ...(cause.description !== undefined ? { description: cause.description } : {})
    })
    : cause.cause ?? cause.description ?? cause.reason

const transportError = (request: HttpClientRequest.HttpClientRequest) => (cause: HttpClientError.HttpClientError) =>
  new RestError({
    reason: cause._tag === "RequestError" && cause.reason === "Encode" ? "Encode" : "Transport",
    method: request.method,
    url: fullUrl(request),
    cause: withoutToken(cause)
  })

/** Reads the body as text; a body that cannot be read is a transport failure. */
const readBody = (request: HttpClientRequest.HttpClientRequest, response: HttpClientResponse.HttpClientResponse) =>
  response.text.pipe(
    Effect.mapError((cause) =>
      new RestError({
        reason: "Transport",
        method: request.method,
        url: fullUrl(request),
        status: response.status,
        cause: withoutToken(cause)
      })
    )
  )

/** Non-2xx answers are `StatusCode` errors carrying the status and the body. */
const checkStatus = (request: HttpClientRequest.HttpClientRequest, response: HttpClientResponse.HttpClientResponse) =>
  readBody(request, response).pipe(
    Effect.flatMap((body) =>
      response.status >= 200 && response.status < 300
        ? Effect.succeed(body)
        : Effect.fail(
          new RestError({ reason: "StatusCode", method: request.method, url: fullUrl(request), status: response.status, body })
        )
    )
  )

/** @internal */
export const make = (config: HatchetConfigShape, httpClient: HttpClient.HttpClient): RestClientShape => {
  const client = httpClient.pipe(
    HttpClient.mapRequest((request) => request.pipe(HttpClientRequest.bearerToken(config.token), HttpClientRequest.acceptJson))
  )

  const prepare = (method: HttpMethod, path: string, options: RequestOptions = {}) => {
    const request = HttpClientRequest.make(method)(`${config.apiUrl}${path}`).pipe(
      HttpClientRequest.setUrlParams(toUrlParams(options.query ?? {})),
      HttpClientRequest.setHeaders(options.headers ?? {})
    )
    return options.body === undefined
      ? Effect.succeed(request)
      : HttpClientRequest.bodyJson(request, options.body).pipe(
        Effect.mapError((cause) => new RestError({ reason: "Encode", method, url: fullUrl(request), cause }))
      )
  }

  const send = (method: HttpMethod, path: string, options?: RequestOptions) =>
    prepare(method, path, options).pipe(
      Effect.flatMap((request) =>
        client.execute(request).pipe(
          Effect.mapError(transportError(request)),
          Effect.flatMap((response) => Effect.map(checkStatus(request, response), (body) => ({ request, response, body })))
        )
      )
    )

  const request = <A, I, R>(
    method: HttpMethod,
    path: string,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ): Effect.Effect<A, RestError, R> =>
    send(method, path, options).pipe(
      Effect.flatMap(({ body, request, response }) => {
        const decodeError = (cause: unknown) =>
          new RestError({ reason: "Decode", method, url: fullUrl(request), status: response.status, body, cause })
        let json: unknown = undefined
        if (body.trim() !== "") {
          try {
            json = JSON.parse(body)
          } catch (cause) {
            return Effect.fail(decodeError(cause))
          }
        }
        return Effect.mapError(Schema.decodeUnknown(schema)(json), decodeError)
      }),
      Effect.withSpan(`Hatchet REST ${method} ${path}`, { kind: "client" })
    )

  return {
    client,
    tenantId: config.tenantId,
    request,
    get: (path, schema, options) => request("GET", path, schema, options),
    post: (path, schema, options) => request("POST", path, schema, options),
    put: (path, schema, options) => request("PUT", path, schema, options),
    patch: (path, schema, options) => request("PATCH", path, schema, options),
    del: (path, schema, options) => request("DELETE", path, schema, options),
    text: (method, path, options) =>
      send(method, path, options).pipe(
        Effect.map(({ body }) => body),
        Effect.withSpan(`Hatchet REST ${method} ${path}`, { kind: "client" })
      )
  }
}
