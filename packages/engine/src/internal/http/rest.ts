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
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type ApiToken, EngineAuth, type EngineAuthService } from "../auth/EngineAuth.js"
import { EngineCore, type EngineCoreService, type NotEither } from "../core.js"
import { type EngineError, httpStatusOf } from "../domain/errors.js"
import { decodeGoJson, type GoType, parseGoQueryTime, parseGoRfc3339, readGoJson, zeroGoValue } from "../domain/goJson.js"
import { parseUuid } from "../domain/ids.js"
import { goMarshal } from "../domain/json.js"
import type { EngineState } from "../domain/model.js"
import { type JsonBytes, jsonWriter } from "./jsonBytes.js"

/**
 * A REST failure: `message` errors render as echo's `{"message": …}` (authentication, path
 * parameters, not found), `errors` as Hatchet's `APIErrors` `{"errors":[{"description": …}]}`.
 */
export class RestError extends Data.TaggedError("RestError")<{
  readonly status: number
  readonly body: { readonly message: string } | {
    readonly errors: ReadonlyArray<{ readonly description: string; readonly field?: string }>
  }
}> {}

/** An echo `HTTPError`: `{"message": …}`. */
export const httpError = (status: number, message: string) => new RestError({ status, body: { message } })

/** Hatchet `APIErrors` with one error. */
export const apiError = (status: number, description: string) => new RestError({ status, body: { errors: [{ description }] } })

/** A domain failure as `APIErrors`, with the HTTP status matching its gRPC code. */
export const fromEngineError = (error: EngineError) => apiError(httpStatusOf(error), error.message)

/** echo's answer to an error a handler returns (a repository or database failure upstream). */
export const internalServerError = () => httpError(500, "Internal Server Error")

export const forbidden = () => httpError(403, "Please provide valid credentials")
export const notFound = () => httpError(404, "not found")

/**
 * A JSON answer: its status and what writes its body (`application/json`), which is written when
 * the answer is sent (`replyResponse`, `PlainRoutes.serveLean`).
 */
export interface JsonReply {
  readonly status: number
  readonly write: (writer: JsonBytes) => unknown
}

/**
 * A JSON answer written by `write` straight into bytes (`JsonBytes`: no intermediate objects or
 * text, nothing recursive; what `JSON.stringify` would write).
 */
export const jsonReply = (write: (writer: JsonBytes) => unknown, status = 200): JsonReply => ({ status, write })

/** The error body of a `RestError`, with its status. */
export const errorReply = (error: RestError): JsonReply => jsonReply((writer) => writer.value(error.body), error.status)

/** The content type of every `JsonReply`, however it is served. */
export const jsonContentType = "application/json"

/** A reply as the router's response. */
export const replyResponse = (reply: JsonReply) =>
  HttpServerResponse.uint8Array(jsonWriter.encode(reply.write), { status: reply.status, contentType: jsonContentType })

/** A JSON response written by `write` straight into bytes (see `jsonReply`). */
export const jsonWritten = (write: (writer: JsonBytes) => unknown, status = 200) => replyResponse(jsonReply(write, status))

/**
 * A JSON response: what `JSON.stringify` writes, without recursion (a run's input or output may
 * nest deeper than the call stack allows).
 */
export const json = (body: unknown, status = 200) => jsonWritten((writer) => writer.value(body), status)

const toResponse = (error: RestError) => replyResponse(errorReply(error))

/** The bearer token of an `Authorization` header as upstream's REST middleware reads it (see `tokenTenant`). */
const headerToken = (authorization: string | undefined): string | undefined => {
  const parts = (authorization ?? "").split("Bearer")
  const token = parts.length === 2 ? parts[1]!.trim() : undefined
  return token === "" ? undefined : token
}

/**
 * The tenant that an `Authorization` header's bearer token authenticates at `now`, or undefined.
 * The header is split on the literal, case-sensitive "Bearer".
 */
const tokenTenant = (auth: EngineAuthService, authorization: string | undefined, now: number): string | undefined => {
  const token = headerToken(authorization)
  return token === undefined ? undefined : auth.authenticateAt(token, now)
}

/** The engine's record of the request's bearer token, if the token is valid at the request's time. */
export const requestToken = (request: PlainRequest): ApiToken | undefined => {
  const token = headerToken(request.authorization)
  return token === undefined ? undefined : request.auth.tokenAt(token, request.now)
}

/**
 * What a route reads of a request, as plain values: its path parameters (decoded), its URL (path
 * and query, as received) and `Authorization` header, the engine, and the time of the engine's
 * clock (token expiry).
 */
export interface PlainRequest {
  readonly params: Readonly<Record<string, string | undefined>>
  readonly url: string
  readonly authorization: string | undefined
  readonly core: EngineCoreService
  readonly auth: EngineAuthService
  readonly now: number
}

/** The current request as a `PlainRequest`. */
export const plainRequest: Effect.Effect<
  PlainRequest,
  never,
  HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext | EngineCore | EngineAuth
> = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return {
    params: yield* HttpRouter.params,
    url: request.url,
    authorization: request.headers["authorization"],
    core: yield* EngineCore,
    auth: yield* EngineAuth,
    now: yield* Clock.currentTimeMillis
  }
})

/** A path parameter (the router guarantees it exists for the route). */
export const pathParam = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

/** A UUID path parameter, or 400 `{"message": invalidMessage}`. */
export const uuidParam = (request: PlainRequest, name: string, invalidMessage: string): Either.Either<string, RestError> => {
  const parsed = parseUuid(request.params[name] ?? "")
  return parsed.ok ? Either.right(parsed.value) : Either.left(httpError(400, invalidMessage))
}

/** 403 unless the request's token belongs to `tenantId`. */
export const requireTenant = (request: PlainRequest, tenantId: string): Either.Either<void, RestError> =>
  tokenTenant(request.auth, request.authorization, request.now) === tenantId ? Either.void : Either.left(forbidden())

/**
 * The path's tenant as upstream's populator finds it, before the token is read: the id must be a
 * UUID (400 "invalid tenant id") and name a tenant of the engine (404 "not found": the `tenant`
 * getter's `pgx.ErrNoRows`).
 */
export const populatedTenant = (request: PlainRequest): Either.Either<string, RestError> => {
  const tenantId = uuidParam(request, "tenant", "invalid tenant id")
  if (Either.isLeft(tenantId)) return tenantId
  return request.core.state.tenants.has(tenantId.right) ? tenantId : Either.left(notFound())
}

/**
 * The tenant of a route under `/tenants/{tenant}`: found by the populator (`populatedTenant`),
 * then the token must belong to that tenant (403).
 */
export const pathTenant = (request: PlainRequest): Either.Either<string, RestError> => {
  const tenantId = populatedTenant(request)
  if (Either.isLeft(tenantId)) return tenantId
  const allowed = requireTenant(request, tenantId.right)
  return Either.isLeft(allowed) ? Either.left(allowed.left) : tenantId
}

export type Handler<R> = Effect.Effect<HttpServerResponse.HttpServerResponse, RestError, R>

const respond = <R>(effect: Handler<R>) => effect.pipe(Effect.catchTag("RestError", (e) => Effect.succeed(toResponse(e))))

/** A route under `/tenants/{tenant}` (see `pathTenant`). */
export const tenantRoute = <R>(handler: (tenantId: string) => Handler<R>) =>
  respond(Effect.flatMap(plainRequest, (request) => Effect.flatMap(pathTenant(request), handler)))

/** A route under `/tenants/{tenant}` that upstream answers in its populator: the tenant found (`populatedTenant`), no token read. */
export const populatedTenantRoute = <R>(handler: (tenantId: string) => Handler<R>) =>
  respond(Effect.flatMap(plainRequest, (request) => Effect.flatMap(populatedTenant(request), handler)))

/**
 * A route no token guards (upstream's `security: []`): its failures answer as the others'.
 *
 * @internal
 */
export const publicRoute = <R>(handler: Handler<R>) => respond(handler)

/**
 * A route keyed by a resource id (`{param}`): the id must be a UUID (400 `invalidMessage`), the
 * resource must exist (404 `notFoundMessage`, "not found" by default) and belong to the token's
 * tenant (403).
 */
export const resourceRoute = <A, R>(
  param: string,
  invalidMessage: string,
  lookup: (id: string) => Effect.Effect<{ readonly tenantId: string; readonly resource: A } | undefined, never, EngineCore | EngineAuth>,
  handler: (resource: A, tenantId: string) => Handler<R>,
  notFoundMessage = "not found"
) =>
  respond(Effect.gen(function*() {
    const request = yield* plainRequest
    const id = yield* uuidParam(request, param, invalidMessage)
    const found = yield* lookup(id)
    if (found === undefined) return yield* httpError(404, notFoundMessage)
    yield* requireTenant(request, found.tenantId)
    return yield* handler(found.resource, found.tenantId)
  }))

/**
 * A route under `/tenants/{tenant}` keyed by a resource of that tenant (`{param}`), checked as
 * upstream's populator does before authentication: the tenant found (`populatedTenant`), the
 * resource id a UUID (400 `invalidMessage`; a resource keyed by a name, with no message, takes the
 * segment as it is), the resource found (404 `{"message": notFound}`, or the given error where
 * upstream's getter fails otherwise). Upstream's getter looks some resources up in the path's
 * tenant (`lookupInTenant`: another tenant's is not found), others by their id alone
 * (`lookupAcrossTenants`: another tenant's is 403 "not authorized to access this resource").
 * Then the token must belong to the tenant (403).
 */
export const tenantResourceRoute = <A, R>(
  param: string,
  invalidMessage: string | undefined,
  lookup: (tenantId: string, id: string) => Effect.Effect<A | undefined, RestError, EngineCore>,
  handler: (resource: A, tenantId: string) => Handler<R>,
  notFound: string | RestError = "not found"
) =>
  respond(Effect.gen(function*() {
    const request = yield* plainRequest
    const tenantId = yield* populatedTenant(request)
    const id = invalidMessage === undefined ? request.params[param] ?? "" : yield* uuidParam(request, param, invalidMessage)
    const found = yield* lookup(tenantId, id)
    if (found === undefined) return yield* (typeof notFound === "string" ? httpError(404, notFound) : notFound)
    yield* requireTenant(request, tenantId)
    return yield* handler(found, tenantId)
  }))

/**
 * A `resourceRoute` lookup from a cross-tenant domain finder: the resource and the tenant it
 * belongs to, or undefined.
 */
export const lookupWith =
  <A extends { readonly tenantId: string }>(find: (state: EngineState, id: string) => A | undefined) => (id: string) =>
    Effect.map(EngineCore, (core) => {
      const resource = find(core.state, id)
      return resource === undefined ? undefined : { tenantId: resource.tenantId, resource }
    })

/**
 * A `tenantResourceRoute` lookup from a cross-tenant domain finder, for upstream's getters that
 * find a resource by its id alone: the populator refuses one of another tenant than the path's
 * with 403 "not authorized to access this resource", before the token is read.
 */
export const lookupAcrossTenants =
  <A extends { readonly tenantId: string }>(find: (state: EngineState, id: string) => A | undefined) =>
  (tenantId: string, id: string): Effect.Effect<A | undefined, RestError, EngineCore> =>
    Effect.flatMap(EngineCore, (core) => {
      const resource = find(core.state, id)
      return resource !== undefined && resource.tenantId !== tenantId
        ? Effect.fail(httpError(403, "not authorized to access this resource"))
        : Effect.succeed(resource)
    })

/** A `tenantResourceRoute` lookup from a domain finder scoped to the path's tenant. */
export const lookupInTenant =
  <A>(find: (state: EngineState, tenantId: string, id: string) => A | undefined) => (tenantId: string, id: string) =>
    Effect.map(EngineCore, (core) => find(core.state, tenantId, id))

/** Runs a domain operation, mapping its failure to `APIErrors`. */
export const runDomain = <A>(
  operation: (state: EngineState, now: number) => A,
  ...notEither: NotEither<A>
): Effect.Effect<A, RestError, EngineCore> =>
  Effect.flatMap(EngineCore, (core) => core.run(operation, ...notEither)).pipe(Effect.mapError(fromEngineError))

/** Runs a domain operation that returns its refusal as `Left`, mapping it to `APIErrors`. */
export const runDomainEither = <A, E extends EngineError>(
  operation: (state: EngineState, now: number) => Either.Either<A, E>
): Effect.Effect<A, RestError, EngineCore> =>
  Effect.flatMap(EngineCore, (core) => core.runEither(operation)).pipe(Effect.mapError(fromEngineError))

/**
 * Whether the request has no body for Go's `net/http` (`ContentLength` 0: a length of 0, or
 * neither a length nor chunked encoding), which echo's binder does not read.
 */
const hasNoBody = (headers: Readonly<Record<string, string | undefined>>) => {
  const length = headers["content-length"]
  return length === "0" || (length === undefined && headers["transfer-encoding"] === undefined)
}

/**
 * The JSON body as echo's binder reads it before an upstream handler runs (`DefaultBinder.BindBody`
 * with `encoding/json`'s `Decoder`): `undefined` when there is none (nothing is bound); a media type
 * other than `application/json` (parameters aside) 415 "Unsupported Media Type" (a form binds no
 * field of upstream's bodies, nor here); the first JSON value of the body (what follows it is not
 * read); what is not JSON 400 `{"message":"Syntax error: offset=N, error=…"}` as Go's scanner
 * words it, `EOF` for blank text, `unexpected EOF` for a value cut short. With `type`, the value
 * decoded into upstream's Go request struct (`Go.struct`): keys matched case-insensitively, a
 * mismatch 400 `{"message":"Unmarshal type error: expected=…, got=…, field=…, offset=…"}`, a
 * malformed UUID its parse error; a missing field its zero value.
 */
const boundBody = (type?: GoType): Effect.Effect<unknown, RestError, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const nothing = type === undefined ? undefined : zeroGoValue(type)
    if (hasNoBody(request.headers)) return nothing
    const mediaType = (request.headers["content-type"] ?? "").split(";")[0]!.trim()
    if (mediaType === "application/x-www-form-urlencoded" || mediaType === "multipart/form-data") return nothing
    if (mediaType !== "application/json") return yield* httpError(415, "Unsupported Media Type")
    const bytes = new Uint8Array(yield* Effect.orElseSucceed(request.arrayBuffer, () => new ArrayBuffer(0)))
    const read = readGoJson(bytes)
    if (!("end" in read)) {
      return yield* httpError(
        400,
        read._tag === "Syntax"
          ? `Syntax error: offset=${read.offset}, error=${read.message}`
          : read._tag === "EOF"
          ? "EOF"
          : "unexpected EOF"
      )
    }
    if (type === undefined) return read.value
    const decoded = decodeGoJson(bytes, read.end, type, read)
    if ("value" in decoded) return decoded.value
    return yield* httpError(
      400,
      decoded._tag === "Decoder"
        ? decoded.message
        : `Unmarshal type error: expected=${decoded.expected}, got=${decoded.got}, field=${decoded.field}, offset=${decoded.offset}`
    )
  })

/** The JSON body as echo's binder reads it (`boundBody`), `undefined` when there is none. */
export const jsonBody = boundBody()

// -----------------------------------------------------------------------------
// request parsing as upstream's generated (oapi-codegen, echo) handlers do it
// -----------------------------------------------------------------------------

/** Go's `uuid.Parse` of a value, or 400 `{"message": <prefix><Go error>}`. */
export const goUuid = (value: string, prefix = ""): Either.Either<string, RestError> => {
  const parsed = parseUuid(value)
  return parsed.ok ? Either.right(parsed.value) : Either.left(httpError(400, `${prefix}${parsed.error}`))
}

/** `goUuid` of an optional value. */
export const optionalGoUuid = (value: string | undefined): Either.Either<string | undefined, RestError> =>
  value === undefined ? Either.right(undefined) : goUuid(value)

/** `goUuid` of each value (the first malformed one is the failure). */
export const goUuids = (values: ReadonlyArray<string>): Either.Either<Array<string>, RestError> =>
  Either.all(values.map((value) => goUuid(value)))

/** A date-time of a JSON body as Go's `time.Time` decodes it, or 400 `{"message": …}`. */
export const bodyTime = (value: string): Either.Either<number, RestError> => {
  const parsed = parseGoRfc3339(value)
  return "error" in parsed ? Either.left(httpError(400, parsed.error)) : Either.right(parsed.ms)
}

const int64Max = 2n ** 63n - 1n

/**
 * Typed access to query parameters (arrays as repeated keys, the TypeScript SDK's `qs`
 * `arrayFormat: "repeat"`), read through `read`: a missing required or malformed parameter fails
 * like oapi-codegen's `BindQueryParameter`, 400 `{"message":"Invalid format for parameter <name>: …"}`.
 * An accessor that meets one records it (the first is kept) and answers a placeholder, which `read`
 * discards: the parse functions read every parameter straight, with no `Either` per parameter.
 */
export class QueryReader {
  /** The first failure of the current `read`. */
  private failure: RestError | undefined = undefined

  constructor(readonly params: URLSearchParams) {}

  /** `parse`'s result, or the first parameter it could not read. */
  read<A>(parse: (query: QueryReader) => A): Either.Either<A, RestError> {
    const outer = this.failure
    this.failure = undefined
    const result = parse(this)
    const failure = this.failure
    this.failure = outer
    return failure === undefined ? Either.right(result) : Either.left(failure)
  }

  private fail(name: string, reason: string): undefined {
    this.failure ??= httpError(400, `Invalid format for parameter ${name}: ${reason}`)
    return undefined
  }

  /** Whether a required parameter is missing (recorded as the failure). */
  private missing(name: string): boolean {
    if (this.params.has(name)) return false
    this.fail(name, `query parameter '${name}' is required`)
    return true
  }

  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined
  }

  strings(name: string): Array<string> {
    return this.params.getAll(name)
  }

  /** One of `values`, or a 400. */
  oneOf<A extends string>(name: string, values: ReadonlyArray<A>): A | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    if (!(values as ReadonlyArray<string>).includes(value)) return this.fail(name, `must be one of ${values.join(", ")}, got ${value}`)
    return value as A
  }

  int(name: string): number | undefined {
    const value = this.int64(name)
    return value === undefined ? undefined : Number(value)
  }

  /**
   * An int64 parameter that upstream's repository narrows to int32 (`int32(opts.Limit)`, which
   * wraps: 2^32 + 5 is 5, 10^18 is negative) before handing it to the database.
   */
  int32Narrowed(name: string): number | undefined {
    const value = this.int64(name)
    return value === undefined ? undefined : Number(BigInt.asIntN(32, value))
  }

  /** Go's `strconv.ParseInt(value, 10, 64)`. */
  private int64(name: string): bigint | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    const fail = (reason: string) => this.fail(name, `error binding string parameter: strconv.ParseInt: parsing "${value}": ${reason}`)
    if (!/^[+-]?\d+$/.test(value)) return fail("invalid syntax")
    const parsed = BigInt(value)
    if (parsed > int64Max || parsed < -int64Max - 1n) return fail("value out of range")
    return parsed
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    if (value !== "true" && value !== "false") {
      return this.fail(name, `error binding string parameter: strconv.ParseBool: parsing "${value}": invalid syntax`)
    }
    return value === "true"
  }

  requiredBool(name: string): boolean {
    return !this.missing(name) && this.bool(name) === true
  }

  dateTime(name: string): number | undefined {
    const value = this.string(name)
    if (value === undefined) return undefined
    const parsed = parseGoQueryTime(value)
    return "ms" in parsed ? parsed.ms : this.fail(name, parsed.error)
  }

  requiredDateTime(name: string): number {
    return this.missing(name) ? 0 : this.dateTime(name) ?? 0
  }

  uuid(name: string): string | undefined {
    const value = this.string(name)
    return value === undefined ? undefined : this.parsedUuid(name, value)
  }

  requiredUuid(name: string): string {
    return this.missing(name) ? "" : this.uuid(name) ?? ""
  }

  uuids(name: string): Array<string> {
    return this.strings(name).map((value) => this.parsedUuid(name, value))
  }

  private parsedUuid(name: string, value: string): string {
    const parsed = parseUuid(value)
    if (!parsed.ok) {
      this.fail(name, parsed.error)
      return ""
    }
    return parsed.value
  }
}

/** `parse` over query parameters `params` (`QueryReader.read`). */
export const readQuery = <A>(params: URLSearchParams, parse: (query: QueryReader) => A): Either.Either<A, RestError> =>
  new QueryReader(params).read(parse)

/**
 * `offset` (0) and `limit` (20,000) of the v1 lists whose repository validates them (filters,
 * webhooks): a limit below 1 or a negative offset is 400 APIErrors with the list's `failure`.
 */
export const repositoryPage = (
  query: QueryReader,
  failure: string
): Either.Either<{ readonly offset: number; readonly limit: number }, RestError> => {
  const page = { offset: query.int("offset") ?? 0, limit: query.int("limit") ?? 20_000 }
  return page.limit < 1 || page.offset < 0 ? Either.left(apiError(400, failure)) : Either.right(page)
}

/** An optional body field that may also be `null` (a Go pointer or map). */
export const nullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { nullable: true })

/** A JSON object of a body (`map[string]interface{}`). */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * `additionalMetadata` list filters: `key:value` pairs (exactly one colon), else 400 APIErrors
 * "Additional metadata filters must be in the format key:value.".
 */
export const metadataPairs = (
  pairs: ReadonlyArray<string> | undefined
): Either.Either<Record<string, string> | undefined, RestError> => {
  if (pairs === undefined) return Either.right(undefined)
  const metadata: Record<string, string> = {}
  for (const pair of pairs) {
    const parts = pair.split(":")
    if (parts.length !== 2) return Either.left(apiError(400, "Additional metadata filters must be in the format key:value."))
    metadata[parts[0]!] = parts[1]!
  }
  return Either.right(metadata)
}

/** A stored trigger's `input` and `additionalMetadata` as upstream marshals them ("" when absent). */
export const storedJson = (body: {
  readonly input?: unknown
  readonly additionalMetadata?: unknown
}): { readonly inputRaw: string; readonly metadataRaw: string } => ({
  inputRaw: body.input === undefined ? "" : goMarshal(body.input),
  metadataRaw: body.additionalMetadata === undefined ? "" : goMarshal(body.additionalMetadata)
})

/** The paging, ordering and metadata filter of a list of stored triggers. */
export interface OrderedPage<Field extends string> {
  readonly offset: number
  readonly limit: number
  readonly orderBy: Field
  readonly orderDirection: "ASC" | "DESC"
  readonly additionalMetadata: Record<string, string> | undefined
}

/**
 * Reads `offset` (0), `limit` (50), `orderByField` (one of `fields`, default the first),
 * `orderByDirection` (`direction`, DESC unless given; in any case when `anyCase`) and the
 * `additionalMetadata` pairs. An unknown field or direction or a negative limit or offset is 500,
 * as the repository (or the database) rejects them upstream.
 */
export const orderedPage = <Field extends string>(
  query: QueryReader,
  fields: readonly [Field, ...Array<Field>],
  options: { readonly direction?: "ASC" | "DESC"; readonly anyCase?: boolean } = {}
) =>
  Effect.gen(function*() {
    const { limit, offset, orderBy, orderDirection } = yield* query.read(() => ({
      offset: query.int("offset") ?? 0,
      limit: query.int("limit") ?? 50,
      orderBy: query.string("orderByField") ?? fields[0],
      orderDirection: options.anyCase === true
        ? (query.string("orderByDirection") ?? options.direction ?? "DESC").toUpperCase()
        : query.string("orderByDirection") ?? options.direction ?? "DESC"
    }))
    const additionalMetadata = yield* metadataPairs(
      query.params.has("additionalMetadata") ? query.strings("additionalMetadata") : undefined
    )
    if (
      !(fields as ReadonlyArray<string>).includes(orderBy) ||
      (orderDirection !== "ASC" && orderDirection !== "DESC") ||
      limit < 0 || offset < 0
    ) return yield* internalServerError()
    return { offset, limit, orderBy: orderBy as Field, orderDirection, additionalMetadata } satisfies OrderedPage<Field>
  })

/**
 * Reads the JSON body as echo's binder does (`boundBody`) into `type`, upstream's Go request
 * struct (the struct's JSON names, a missing field its zero value, no body the zero struct), then
 * decodes that with `schema` (what the route reads of it; a defect if it does not fit: 400).
 */
export const decodeBody = <A, I>(schema: Schema.Schema<A, I>, type: GoType) =>
  Effect.flatMap(boundBody(type), (value) =>
    Schema.decodeUnknown(schema)(value).pipe(
      Effect.mapError((error) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        const field = issue === undefined || issue.path.length === 0 ? "" : ` field=${issue.path.join(".")},`
        return httpError(400, `Unmarshal type error:${field} ${issue?.message ?? error.message}`)
      })
    ))

/** Runs `parse` over the request's query parameters (`readQuery`); the first parameter it cannot read is the failure. */
export const parseQuery = <A>(parse: (query: QueryReader) => A): Effect.Effect<A, RestError, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => readQuery(new URL(request.url, "http://localhost").searchParams, parse)
  )
