/**
 * A tenant's API tokens over REST (upstream `api/v1/server/handlers/api-tokens/*.go`, the
 * `api-token` getter of `api/v1/server/run/run.go`, `transformers.ToAPIToken`,
 * `api-contracts/openapi/paths/api-tokens/api_tokens.yaml`; the tokens themselves are
 * `auth/EngineAuth.ts`'s):
 *
 * Who may call them: upstream's authorization refuses all three to an API token (its
 * `restrictedWithBearerToken`: 401 `{"message":"Not authorized to perform this operation"}`, once
 * the token is found valid for the tenant, before the body is read); only a dashboard user
 * manages tokens. The local engine has no users: its own, internal token (`Engine.token`,
 * `hatchet-local`'s) stands for that user and may; a token created here gets upstream's 401.
 *
 * - `POST /api/v1/tenants/{tenant}/api-tokens` (`CreateAPITokenRequest{name, expiresIn?}` →
 *   `CreateAPITokenResponse{token}`, the only time the token is shown): `expiresIn` is a Go
 *   duration of the validator's grammar (`<number><unit>` parts, units ms, s, m, h), else 400
 *   `APIErrors` with the validator's message and `field: "expiresin"`; without it the token lives 90
 *   days. The name is not checked by the handler (an empty one is stored); one of more than 255
 *   characters fails the repository's validation: echo's 500;
 * - `GET /api/v1/tenants/{tenant}/api-tokens` (`ListAPITokensResponse`, `rows` only): the tenant's
 *   tokens that are neither revoked nor internal, expired ones included, oldest first;
 * - `POST /api/v1/api-tokens/{api-token}` (revoke, 204): a bad id is 400 "invalid api token id", a
 *   token the engine does not know 404 "not found" (both before the bearer token is read, as
 *   upstream's populator), another tenant's 403 "Please provide valid credentials", an internal
 *   token 403 `APIErrors` "Cannot revoke internal API tokens". Revoking a revoked token is 204
 *   again. A revoked token is refused at once (upstream: within its 5 s cache).
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type ApiToken, EngineAuth } from "../../auth/EngineAuth.js"
import { durationError, parseDuration } from "../../domain/duration.js"
import { Go } from "../../domain/goJson.js"
import {
  apiError,
  decodeBody,
  httpError,
  internalServerError,
  json,
  nullable,
  plainRequest,
  requestToken,
  resourceRoute,
  RestError,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** `CreateAPITokenRequest`. */
const CreateApiTokenRequest = Schema.Struct({ name: Schema.String, expiresIn: nullable(Schema.String) })

/** `APIToken` (`ToAPIToken`). */
const view = (token: ApiToken) => ({
  expiresAt: new Date(token.expiresAt).toISOString(),
  metadata: Views.resourceMeta(token.id, token.createdAt, token.updatedAt),
  name: token.name
})

/** The repository's `Name *string validate:"omitempty,max=255"`, counted in characters (runes). */
const maxNameLength = 255

/** What `ValidateAPI` answers for an `expiresIn` its `duration` rule refuses. */
const invalidExpiresIn = () =>
  new RestError({
    status: 400,
    body: {
      errors: [{
        description: `validation failed on field 'CreateAPITokenRequest.ExpiresIn': ${durationError}`,
        field: "expiresin"
      }]
    }
  })

/**
 * Upstream's authorization of these three operations (`restrictedWithBearerToken`): an API token
 * may not list, create or revoke tokens, 401 "Not authorized to perform this operation" (after
 * the token was found valid for the tenant); a dashboard user may. The engine's own, internal
 * token stands for that user here.
 */
const operatorOnly = Effect.flatMap(
  plainRequest,
  (request) =>
    requestToken(request)?.internal === true ? Effect.void : Effect.fail(httpError(401, "Not authorized to perform this operation"))
)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/api/v1/tenants/:tenant/api-tokens",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        yield* operatorOnly
        const body = yield* decodeBody(
          CreateApiTokenRequest,
          Go.struct("gen.CreateAPITokenRequest", { expiresIn: [Go.string, "pointer"], name: Go.string })
        )
        let expiresInMs: number | undefined
        if (body.expiresIn !== undefined) {
          expiresInMs = parseDuration(body.expiresIn)
          if (expiresInMs === undefined) return yield* invalidExpiresIn()
        }
        if ([...body.name].length > maxNameLength) return yield* internalServerError()
        const auth = yield* EngineAuth
        const now = yield* Clock.currentTimeMillis
        const { token } = auth.createApiToken({ tenantId, name: body.name, expiresInMs, now })
        return json({ token: Redacted.value(token) })
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/api-tokens",
    tenantRoute((tenantId) =>
      Effect.zipRight(operatorOnly, Effect.map(EngineAuth, (auth) => json({ rows: auth.listApiTokens(tenantId).map(view) })))
    )
  ),
  HttpRouter.post(
    "/api/v1/api-tokens/:apiToken",
    resourceRoute(
      "apiToken",
      "invalid api token id",
      (id) =>
        Effect.map(EngineAuth, (auth) => {
          const token = auth.findApiToken(id)
          return token === undefined ? undefined : { tenantId: token.tenantId, resource: token }
        }),
      (token) =>
        Effect.gen(function*() {
          yield* operatorOnly
          if (token.internal) return yield* apiError(403, "Cannot revoke internal API tokens")
          const auth = yield* EngineAuth
          auth.revokeApiToken(token, yield* Clock.currentTimeMillis)
          return HttpServerResponse.empty({ status: 204 })
        })
    )
  )
)
