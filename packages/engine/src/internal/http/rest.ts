/**
 * Building blocks for REST routes: errors in Hatchet's shapes, bearer authentication as upstream
 * (`api/v1/server/authn`, `middleware/populator`), path parameters.
 *
 * Route modules (`routes/*.ts`) describe handlers with `tenantRoute` (paths with a `{tenant}`
 * segment) or `resourceRoute` (paths keyed by a resource whose tenant is looked up), get the
 * engine through `EngineCore`, and fail with `RestError` for anything but success.
 *
 * @internal
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect } from "effect"
import { EngineAuth } from "../auth/EngineAuth.js"
import { EngineCore } from "../core.js"
import { type EngineError, httpStatusOf } from "../domain/errors.js"
import { parseUuid } from "../domain/ids.js"
import type { EngineState } from "../domain/model.js"

/**
 * A REST failure: `message` errors render as echo's `{"message": …}` (authentication, path
 * parameters, not found), `errors` as Hatchet's `APIErrors` `{"errors":[{"description": …}]}`.
 */
export class RestError extends Data.TaggedError("RestError")<{
  readonly status: number
  readonly body: { readonly message: string } | { readonly errors: ReadonlyArray<{ readonly description: string; readonly field?: string }> }
}> {}

/** An echo `HTTPError`: `{"message": …}`. */
export const httpError = (status: number, message: string) => new RestError({ status, body: { message } })

/** Hatchet `APIErrors` with one error. */
export const apiError = (status: number, description: string) =>
  new RestError({ status, body: { errors: [{ description }] } })

/** A domain failure as `APIErrors`, with the HTTP status matching its gRPC code. */
export const fromEngineError = (error: EngineError) => apiError(httpStatusOf(error), error.message)

export const forbidden = () => httpError(403, "Please provide valid credentials")
export const notFound = () => httpError(404, "not found")

export const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const toResponse = (error: RestError) => HttpServerResponse.unsafeJson(error.body, { status: error.status })

/** The bearer token: the header is split on the literal, case-sensitive "Bearer". */
const bearer = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const parts = (request.headers["authorization"] ?? "").split("Bearer")
  return parts.length === 2 ? parts[1]!.trim() : undefined
})

/** The tenant of the request's token, or 403. */
const authenticatedTenant = Effect.gen(function*() {
  const auth = yield* EngineAuth
  const token = yield* bearer
  const tenantId = token === undefined || token === "" ? undefined : yield* auth.authenticate(token)
  if (tenantId === undefined) return yield* forbidden()
  return tenantId
})

/** A path parameter (the router guarantees it exists for the route). */
export const pathParam = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

export type Handler<R> = Effect.Effect<HttpServerResponse.HttpServerResponse, RestError, R>

const respond = <R>(effect: Handler<R>) => effect.pipe(Effect.catchTag("RestError", (e) => Effect.succeed(toResponse(e))))

/**
 * A route under `/tenants/{tenant}`: the id must be a UUID (400 "invalid tenant id") and the
 * token must belong to that tenant (403).
 */
export const tenantRoute = <R>(handler: (tenantId: string) => Handler<R>) =>
  respond(Effect.gen(function*() {
    const parsed = parseUuid(yield* pathParam("tenant"))
    if (!parsed.ok) return yield* httpError(400, "invalid tenant id")
    const tenantId = yield* authenticatedTenant
    if (tenantId !== parsed.value) return yield* forbidden()
    return yield* handler(tenantId)
  }))

/**
 * A route keyed by a resource id (`{param}`): the id must be a UUID (400 `invalidMessage`), the
 * resource must exist (404) and belong to the token's tenant (403).
 */
export const resourceRoute = <A, R>(
  param: string,
  invalidMessage: string,
  lookup: (id: string) => Effect.Effect<{ readonly tenantId: string; readonly resource: A } | undefined, never, EngineCore>,
  handler: (resource: A, tenantId: string) => Handler<R>
) =>
  respond(Effect.gen(function*() {
    const parsed = parseUuid(yield* pathParam(param))
    if (!parsed.ok) return yield* httpError(400, invalidMessage)
    const found = yield* lookup(parsed.value)
    if (found === undefined) return yield* notFound()
    const tenantId = yield* authenticatedTenant
    if (tenantId !== found.tenantId) return yield* forbidden()
    return yield* handler(found.resource, tenantId)
  }))

/** Runs a domain operation, mapping its failure to `APIErrors`. */
export const runDomain = <A>(operation: (state: EngineState, now: number) => A): Effect.Effect<A, RestError, EngineCore> =>
  Effect.flatMap(EngineCore, (core) => core.run(operation)).pipe(Effect.mapError(fromEngineError))

/** Reads the JSON body, or 400 APIErrors. */
export const jsonBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  request.json.pipe(Effect.mapError(() => apiError(400, "Invalid request body"))))
