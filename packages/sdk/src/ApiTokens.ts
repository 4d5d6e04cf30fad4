/**
 * The tenant's API tokens through Hatchet's REST API: create one for a CI job or another service
 * (its value is shown once, as a `Redacted`), list them, revoke one. A revoked or expired token is
 * refused over REST and gRPC (Hatchet caches tokens for a few seconds, so a revocation may take
 * that long there; the local engine refuses it at once).
 *
 * | operation | route |
 * |---|---|
 * | `create` | `POST /api/v1/tenants/{tenant}/api-tokens` |
 * | `list` | `GET /api/v1/tenants/{tenant}/api-tokens` |
 * | `revoke` | `POST /api/v1/api-tokens/{api-token}` |
 *
 * Hatchet lets only a dashboard user manage tokens: a client authenticated with an API token gets
 * a 401 `RestError` from all three (Hatchet Cloud and self-hosted Hatchet alike). On the local
 * engine, its own token (`Engine.token`, `hatchet-local`'s) stands for that user: a client with
 * it may manage the tenant's tokens; that token is internal, neither listed nor revocable (403).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { RestError } from "./HatchetError.js"
import { decodeClaims } from "./internal/config.js"
import { toGoDuration } from "./internal/duration.js"
import { ResourceMetadata } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"

/**
 * `APIToken`: a token without its value.
 *
 * @since 0.1.0
 * @category models
 */
export const ApiToken = Schema.Struct({
  metadata: ResourceMetadata,
  name: Schema.String,
  expiresAt: Schema.DateFromString
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ApiToken extends Schema.Schema.Type<typeof ApiToken> {}

/**
 * A token just created: its id (what `revoke` takes) and its value, which Hatchet shows only
 * this once.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreatedApiToken {
  readonly id: string
  readonly name: string
  readonly token: Redacted.Redacted<string>
}

/**
 * What `create` sends (`CreateAPITokenRequest`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  /** At most 255 characters; need not be unique. */
  readonly name: string
  /** How long the token is valid; Hatchet's default is 90 days. */
  readonly expiresIn?: Duration.DurationInput | undefined
}

/**
 * A create request Hatchet would refuse (a name over 255 characters, a lifetime that is not a
 * positive duration Go can hold): nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidApiToken extends Schema.TaggedError<InvalidApiToken>()("InvalidApiToken", {
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid API token request: ${this.issues.join("; ")}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ApiTokensShape {
  /** Creates a token for the client's tenant. */
  readonly create: (request: CreateRequest) => Effect.Effect<CreatedApiToken, RestError | InvalidApiToken>
  /** The tenant's tokens that are not revoked (expired ones included), oldest first. */
  readonly list: () => Effect.Effect<ReadonlyArray<ApiToken>, RestError>
  /**
   * Revokes a token of the tenant by id. An internal token is a 403 `RestError`, an unknown id a
   * 404; revoking a revoked token succeeds.
   */
  readonly revoke: (id: string) => Effect.Effect<void, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ApiTokens extends Context.Tag("@effect-hatchet/sdk/ApiTokens")<ApiTokens, ApiTokensShape>() {}

const Created = Schema.Struct({ token: Schema.Redacted(Schema.String) })

const TokenList = Schema.Struct({ rows: Schema.optionalWith(Schema.Array(ApiToken), { exact: true }) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ApiTokensShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const path = `/api/v1/tenants/${encodeURIComponent(rest.tenantId)}/api-tokens`
  return {
    create: (request) =>
      Effect.gen(function*() {
        const issues: Array<string> = []
        if ([...request.name].length > 255) issues.push("name: at most 255 characters")
        const expiresIn = request.expiresIn === undefined ? undefined : toGoDuration(request.expiresIn)
        if (expiresIn !== undefined && Either.isLeft(expiresIn)) issues.push(`expiresIn: ${expiresIn.left}`)
        if (issues.length > 0) return yield* new InvalidApiToken({ issues })
        const body = { name: request.name, ...(expiresIn !== undefined && Either.isRight(expiresIn) ? { expiresIn: expiresIn.right } : {}) }
        const { token } = yield* rest.post(path, Created, { body })
        // the token's id is its `token_id` claim; the error never carries the token
        const claims = yield* Effect.mapError(
          decodeClaims(token),
          (cause) => new RestError({ reason: "Decode", method: "POST", url: path, status: 200, cause: cause.message })
        )
        if (claims.token_id === undefined) {
          return yield* new RestError({
            reason: "Decode",
            method: "POST",
            url: path,
            status: 200,
            cause: "the token has no token_id claim"
          })
        }
        return { id: claims.token_id, name: request.name, token }
      }),
    list: () => Effect.map(rest.get(path, TokenList), (list) => list.rows ?? []),
    revoke: (id) => rest.post(`/api/v1/api-tokens/${encodeURIComponent(id)}`, Schema.Void)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ApiTokens, never, RestClient> = Layer.effect(ApiTokens, make)
