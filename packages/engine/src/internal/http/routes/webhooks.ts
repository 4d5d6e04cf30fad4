/**
 * Incoming webhooks over REST (upstream `api/v1/server/handlers/v1/webhooks/*.go`, the
 * `v1-webhook` getter of `api/v1/server/run/run.go`, `ToV1Webhook` / `ToV1WebhookResponse`,
 * `api-contracts/openapi/paths/v1/webhooks/webhook.yaml`; the receiving side is
 * `domain/webhooks.ts`):
 *
 * - `POST /api/v1/stable/tenants/{tenant}/webhooks` (`V1CreateWebhookRequest`, one of three shapes
 *   told apart by `authType`: `BASIC` `{username, password}`, `API_KEY` `{headerName, apiKey}`,
 *   `HMAC` `{algorithm, encoding, signatureHeaderName, signingSecret}` in `auth`; with `name`,
 *   `sourceName`, `eventKeyExpression`, `scopeExpression?`, `staticPayload?`,
 *   `returnEventAsResponsePayload?` (true)) → `V1Webhook`. A missing or unknown `authType` or an
 *   auth of the wrong shape is 400 "failed to construct webhook create params: …"; what
 *   upstream's database refuses (a name taken or empty, an empty key or scope expression, a source,
 *   algorithm or encoding it does not know) is echo's 500;
 * - `GET /api/v1/stable/tenants/{tenant}/webhooks` (`V1WebhookList`, rows only, newest first;
 *   `sourceNames`, `webhookNames`, `offset`, `limit`; 400 "failed to list webhooks" for a limit
 *   below 1 or a negative offset);
 * - `GET`, `PATCH {eventKeyExpression?, scopeExpression?, staticPayload?,
 *   returnEventAsResponsePayload?}` (an empty scope clears it; an empty key expression is 400
 *   "failed to update webhook") and `DELETE` on `.../webhooks/{name}`: a webhook the tenant does not
 *   have is 404 "not found", before authentication;
 * - `POST .../webhooks/{name}` receives a request, with no token (`security: []`): 400 "invalid
 *   tenant id" and 404 "not found" as the populator, then the source's checks; 200
 *   `V1WebhookResponse` `{message: "ok", event}` (or `{challenge}` for Slack's URL verification),
 *   or 204 when the webhook does not return the event.
 *
 * `V1Webhook.metadata.id` is the nil UUID, as upstream's transformer leaves it: a webhook is known
 * by its name. Secrets are never shown.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Go } from "../../domain/goJson.js"
import { nilUuid, parseUuid } from "../../domain/ids.js"
import type { JsonObject as JsonObjectValue } from "../../domain/json.js"
import { isJsonObject, parseJson } from "../../domain/json.js"
import type { TenantState } from "../../domain/model.js"
import { tenantOf } from "../../domain/tenants.js"
import * as Webhooks from "../../domain/webhooks.js"
import {
  apiError,
  decodeBody,
  type Handler,
  httpError,
  internalServerError,
  json,
  jsonBody,
  JsonObject,
  lookupInTenant,
  nullable,
  parseQuery,
  pathParam,
  publicRoute,
  repositoryPage,
  runDomain,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** `V1Webhook` (`ToV1Webhook`). */
const view = (w: Webhooks.IncomingWebhook) => ({
  authType: w.auth._tag,
  metadata: Views.resourceMeta(nilUuid, w.createdAt, w.updatedAt),
  tenantId: w.tenantId,
  eventKeyExpression: w.eventKeyExpression,
  name: w.name,
  sourceName: w.sourceName,
  returnEventAsResponsePayload: w.returnEventAsResponsePayload,
  ...(w.scopeExpression !== undefined ? { scopeExpression: w.scopeExpression } : {}),
  ...(w.staticPayload !== undefined ? { staticPayload: w.staticPayload } : {})
})

const createFailure = (reason: string) => apiError(400, `failed to construct webhook create params: ${reason}`)

const optionalString = nullable(Schema.String)

/** The fields every create request shares (`V1CreateWebhookRequestBase`) and its `auth`. */
const CreateWebhookRequest = Schema.Struct({
  name: optionalString,
  sourceName: optionalString,
  eventKeyExpression: optionalString,
  scopeExpression: optionalString,
  staticPayload: nullable(JsonObject),
  returnEventAsResponsePayload: nullable(Schema.Boolean),
  auth: nullable(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

/** Each auth method: how upstream names it in errors, and its fields (strings). */
const authShapes = {
  BASIC: { what: "basic auth", fields: ["username", "password"] },
  API_KEY: { what: "api key auth", fields: ["headerName", "apiKey"] },
  HMAC: { what: "hmac auth", fields: ["algorithm", "encoding", "signatureHeaderName", "signingSecret"] }
} as const

/** `constructCreateOpts`: the webhook to store, the 400 upstream answers, or undefined for its 500s. */
const createOpts = (body: unknown) =>
  Effect.gen(function*() {
    if (!isJsonObject(body)) return yield* createFailure("failed to get discriminator: failed to unmarshal request body")
    if (!("authType" in body)) {
      return yield* createFailure("failed to get discriminator: authType field is missing in the request body")
    }
    const authType = body.authType
    // upstream asserts a string and panics otherwise
    if (typeof authType !== "string") return yield* internalServerError()
    if (!(authType in authShapes)) return yield* createFailure(`unsupported auth type: ${authType}`)
    const shape = authShapes[authType as keyof typeof authShapes]
    const parseFailure = (reason: string) => createFailure(`failed to parse ${shape.what}: ${reason}`)
    const parsed = yield* Schema.decodeUnknown(CreateWebhookRequest)(body).pipe(
      Effect.mapError((error) => parseFailure(error.message.split("\n")[0]!))
    )
    const auth = parsed.auth ?? {}
    for (const field of shape.fields) {
      const value = auth[field]
      if (value !== undefined && value !== null && typeof value !== "string") {
        return yield* parseFailure(`json: cannot unmarshal ${typeof value} into Go struct field .auth.${field} of type string`)
      }
    }
    const text = (key: string) => (auth[key] as string | null | undefined) ?? ""
    const webhookAuth: Webhooks.WebhookAuth = authType === "BASIC"
      ? { _tag: "BASIC", username: text("username"), password: text("password") }
      : authType === "API_KEY"
      ? { _tag: "API_KEY", headerName: text("headerName"), apiKey: text("apiKey") }
      : {
        _tag: "HMAC",
        algorithm: text("algorithm") as Webhooks.HmacAlgorithm,
        encoding: text("encoding") as Webhooks.HmacEncoding,
        signatureHeaderName: text("signatureHeaderName"),
        signingSecret: text("signingSecret")
      }
    const sourceName = parsed.sourceName ?? ""
    // what the database's enums and checks refuse: echo's 500
    const invalid = !(Webhooks.sourceNames as ReadonlyArray<string>).includes(sourceName) ||
      parsed.scopeExpression === "" ||
      (webhookAuth._tag === "HMAC" &&
        (!(Webhooks.hmacAlgorithms as ReadonlyArray<string>).includes(webhookAuth.algorithm) ||
          !(Webhooks.hmacEncodings as ReadonlyArray<string>).includes(webhookAuth.encoding)))
    if (invalid) return yield* internalServerError()
    return {
      name: parsed.name ?? "",
      sourceName: sourceName as Webhooks.SourceName,
      eventKeyExpression: parsed.eventKeyExpression ?? "",
      scopeExpression: parsed.scopeExpression,
      staticPayload: parsed.staticPayload as JsonObjectValue | undefined,
      returnEventAsResponsePayload: parsed.returnEventAsResponsePayload ?? true,
      auth: webhookAuth
    } satisfies Webhooks.NewWebhook
  })

/** `V1UpdateWebhookRequest`. */
const UpdateWebhookRequest = Schema.Struct({
  eventKeyExpression: nullable(Schema.String),
  scopeExpression: nullable(Schema.String),
  staticPayload: nullable(JsonObject),
  returnEventAsResponsePayload: nullable(Schema.Boolean)
})

/** A route keyed by a webhook (its name) of the path's tenant. */
const webhookRoute = <R>(handler: (webhook: Webhooks.IncomingWebhook, tenantId: string) => Handler<R>) =>
  tenantResourceRoute("webhook", undefined, lookupInTenant(Webhooks.getWebhook), handler)

/** The request's headers as upstream's map: lower-cased names, the first value. */
const headersOf = (request: HttpServerRequest.HttpServerRequest): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
  return headers
}

/** `ToV1WebhookResponse` of an event: its id, times, key, tenant and payload (an object). */
const responseEvent = (
  event: { readonly id: string; readonly createdAt: number; readonly key: string; readonly tenantId: string; readonly payload: string }
) => {
  const payload = parseJson(event.payload)
  return {
    metadata: Views.resourceMeta(event.id, event.createdAt),
    key: event.key,
    tenantId: event.tenantId,
    workflowRunSummary: { cancelled: 0, failed: 0, queued: 0, running: 0, succeeded: 0 },
    ...(isJsonObject(payload) ? { payload } : {})
  }
}

const base = "/api/v1/stable/tenants/:tenant/webhooks"

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    base,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const opts = yield* createOpts(yield* jsonBody)
        const created = yield* runDomain((state, now) => Webhooks.createWebhook(tenantOf(state, tenantId), opts, now))
        if ("_tag" in created) return yield* internalServerError()
        return json(view(created))
      })
    )
  ),
  HttpRouter.get(
    base,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* Effect.flatten(parseQuery((q) =>
          Either.map(repositoryPage(q, "failed to list webhooks"), (page) => ({
            ...page,
            names: q.strings("webhookNames"),
            sources: q.strings("sourceNames")
          }))
        ))
        // an unknown source is a value the database's enum refuses
        if (query.sources.some((source) => !(Webhooks.sourceNames as ReadonlyArray<string>).includes(source))) {
          return yield* apiError(400, "failed to list webhooks")
        }
        const rows = yield* runDomain((state) => Webhooks.listWebhooks(state, tenantId, query))
        return json({ rows: rows.map(view) })
      })
    )
  ),
  HttpRouter.get(`${base}/:webhook`, webhookRoute((webhook) => Effect.succeed(json(view(webhook))))),
  HttpRouter.patch(
    `${base}/:webhook`,
    webhookRoute((webhook) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          UpdateWebhookRequest,
          Go.struct("gen.V1UpdateWebhookRequest", {
            eventKeyExpression: [Go.string, "pointer"],
            returnEventAsResponsePayload: [Go.bool, "pointer"],
            scopeExpression: [Go.string, "pointer"],
            staticPayload: [Go.map(Go.any), "pointer"]
          })
        )
        const updated = yield* runDomain((_, now) =>
          Webhooks.updateWebhook(webhook, { ...body, staticPayload: body.staticPayload as JsonObjectValue | undefined }, now)
        )
        if ("_tag" in updated) return yield* apiError(400, "failed to update webhook")
        return json(view(updated))
      })
    )
  ),
  HttpRouter.del(
    `${base}/:webhook`,
    webhookRoute((webhook, tenantId) =>
      Effect.map(runDomain((state) => Webhooks.deleteWebhook(tenantOf(state, tenantId), webhook)), (deleted) => json(view(deleted)))
    )
  ),
  HttpRouter.post(
    `${base}/:webhook`,
    publicRoute(Effect.gen(function*() {
      const tenant = parseUuid(yield* pathParam("tenant"))
      if (!tenant.ok) return yield* httpError(400, "invalid tenant id")
      const name = yield* pathParam("webhook")
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = new Uint8Array(yield* Effect.orElseSucceed(request.arrayBuffer, () => new ArrayBuffer(0)))
      const headers = headersOf(request)
      const received = yield* runDomain((state, now): Webhooks.Received | undefined => {
        const tenantState: TenantState | undefined = state.tenants.get(tenant.value)
        const webhook = tenantState?.webhooks.get(name)
        if (tenantState === undefined || webhook === undefined) return undefined
        return Webhooks.receive(state, tenantState, webhook, { body, headers }, now)
      })
      if (received === undefined) return yield* httpError(404, "not found")
      switch (received._tag) {
        case "Challenge":
          return json({ challenge: received.challenge })
        case "Rejected":
          return yield* apiError(received.status, received.description)
        case "Internal":
          return yield* internalServerError()
        case "Event":
          return received.respond
            ? json({ message: "ok", event: responseEvent(received.event) })
            : HttpServerResponse.empty({ status: 204 })
      }
    }))
  )
)
