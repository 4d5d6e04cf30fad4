/**
 * Incoming webhooks through Hatchet's REST API: named endpoints that turn HTTP requests from
 * GitHub, Stripe, Slack, Linear, Svix or anything else into pushed events.
 *
 * The engine checks each request as its source requires (`GENERIC`, `GITHUB` and `LINEAR` by the
 * webhook's auth: basic, an API key header, or an HMAC signature of the body; `SLACK`, `STRIPE`
 * and `SVIX` by their own signing schemes, which take an `Hmac` auth), then makes an event of it:
 * its payload is the JSON body (or the form fields, for `GENERIC` and `SLACK`) with the
 * webhook's `staticPayload` on top, its key the CEL `eventKeyExpression` and its scope the
 * optional `scopeExpression`, both over `input` (that payload) and `headers` (lower-cased names).
 * The event runs the workflows listening to its key, as `Hatchet.push` would, filters included;
 * `EventHistory` shows which webhook made it.
 *
 * | operation | route |
 * |---|---|
 * | `create` | `POST /api/v1/stable/tenants/{tenant}/webhooks` |
 * | `list` | `GET /api/v1/stable/tenants/{tenant}/webhooks` |
 * | `get`, `update`, `delete` | `GET`, `PATCH`, `DELETE /api/v1/stable/tenants/{tenant}/webhooks/{name}` |
 * | `url` | where senders `POST`: `/api/v1/stable/tenants/{tenant}/webhooks/{name}`, no token |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { HatchetConfig } from "./HatchetConfig.js"
import type { RestError } from "./HatchetError.js"
import { optionalField as optional } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"

/**
 * `V1WebhookSourceName`.
 *
 * @since 0.1.0
 * @category models
 */
export const SourceName = Schema.Literal("GENERIC", "GITHUB", "STRIPE", "SLACK", "LINEAR", "SVIX")

/**
 * @since 0.1.0
 * @category models
 */
export type SourceName = typeof SourceName.Type

/**
 * `V1WebhookAuthType`.
 *
 * @since 0.1.0
 * @category models
 */
export const AuthType = Schema.Literal("BASIC", "API_KEY", "HMAC")

/**
 * How a webhook authenticates requests. Secrets are `Redacted`: they are sent once, when the
 * webhook is created, and the engine never shows them again.
 *
 * @since 0.1.0
 * @category models
 */
export type Auth =
  | { readonly _tag: "Basic"; readonly username: string; readonly password: Redacted.Redacted<string> }
  | { readonly _tag: "ApiKey"; readonly headerName: string; readonly apiKey: Redacted.Redacted<string> }
  | {
    readonly _tag: "Hmac"
    readonly algorithm: "SHA1" | "SHA256" | "SHA512" | "MD5"
    readonly encoding: "HEX" | "BASE64" | "BASE64URL"
    /** The header that carries the signature, e.g. `X-Hub-Signature-256` or `Stripe-Signature`. */
    readonly signatureHeaderName: string
    readonly signingSecret: Redacted.Redacted<string>
  }

/**
 * `V1Webhook`.
 *
 * @since 0.1.0
 * @category models
 */
export const Webhook = Schema.Struct({
  metadata: Schema.Struct({ createdAt: Schema.DateFromString, updatedAt: Schema.DateFromString }),
  tenantId: Schema.String,
  name: Schema.String,
  sourceName: SourceName,
  authType: AuthType,
  eventKeyExpression: Schema.String,
  scopeExpression: optional(Schema.String),
  staticPayload: optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  returnEventAsResponsePayload: optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Webhook extends Schema.Schema.Type<typeof Webhook> {}

/**
 * What `create` sends (`V1CreateWebhookRequest`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  /** Unique in the tenant; part of the URL senders post to. */
  readonly name: string
  readonly source: SourceName
  /** CEL over `input` and `headers` giving the event's key, e.g. `'stripe:' + input.type`. */
  readonly eventKeyExpression: string
  /** CEL giving the event's scope (which filters apply). */
  readonly scopeExpression?: string | undefined
  /** Merged over each request's payload (its keys win). */
  readonly staticPayload?: Readonly<Record<string, unknown>> | undefined
  /** Whether the endpoint answers with the event (200) or nothing (204). Default true. */
  readonly returnEventAsResponsePayload?: boolean | undefined
  readonly auth: Auth
}

/**
 * What `update` changes: each field given (an empty `scopeExpression` removes the scope).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateRequest {
  readonly eventKeyExpression?: string | undefined
  readonly scopeExpression?: string | undefined
  readonly staticPayload?: Readonly<Record<string, unknown>> | undefined
  readonly returnEventAsResponsePayload?: boolean | undefined
}

/**
 * A webhook request the engine would refuse (an empty name or expression): nothing was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidWebhook extends Schema.TaggedError<InvalidWebhook>()("InvalidWebhook", {
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid webhook: ${this.issues.join("; ")}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhooksShape {
  readonly create: (request: CreateRequest) => Effect.Effect<Webhook, RestError | InvalidWebhook>
  /** Newest first. */
  readonly list: (options?: {
    readonly names?: ReadonlyArray<string> | undefined
    readonly sources?: ReadonlyArray<SourceName> | undefined
    readonly offset?: number | undefined
    readonly limit?: number | undefined
  }) => Effect.Effect<ReadonlyArray<Webhook>, RestError>
  readonly get: (name: string) => Effect.Effect<Webhook, RestError>
  readonly update: (name: string, request: UpdateRequest) => Effect.Effect<Webhook, RestError | InvalidWebhook>
  /** Deletes the webhook and returns it; its URL answers 404 from then on. */
  readonly delete: (name: string) => Effect.Effect<Webhook, RestError>
  /** The URL senders post to (it takes no token: the webhook's auth protects it). */
  readonly url: (name: string) => string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Webhooks extends Context.Tag("@effect-hatchet/sdk/Webhooks")<Webhooks, WebhooksShape>() {}

const WebhookList = Schema.Struct({ rows: optional(Schema.Array(Webhook)) })

const authBody = (auth: Auth) => {
  switch (auth._tag) {
    case "Basic":
      return { authType: "BASIC", auth: { username: auth.username, password: Redacted.value(auth.password) } }
    case "ApiKey":
      return { authType: "API_KEY", auth: { headerName: auth.headerName, apiKey: Redacted.value(auth.apiKey) } }
    case "Hmac":
      return {
        authType: "HMAC",
        auth: {
          algorithm: auth.algorithm,
          encoding: auth.encoding,
          signatureHeaderName: auth.signatureHeaderName,
          signingSecret: Redacted.value(auth.signingSecret)
        }
      }
  }
}

/** What the engine's database refuses, checked before sending. */
const issuesOf = (
  request: {
    readonly name?: string | undefined
    readonly eventKeyExpression?: string | undefined
    readonly scopeExpression?: string | undefined
  },
  creating: boolean
): Array<string> => {
  const issues: Array<string> = []
  if (creating && (request.name ?? "") === "") issues.push("name: must not be empty")
  if (creating ? (request.eventKeyExpression ?? "").trim() === "" : request.eventKeyExpression?.trim() === "") {
    issues.push("eventKeyExpression: must be a CEL expression")
  }
  if (creating && request.scopeExpression === "") issues.push("scopeExpression: must not be empty (leave it out for no scope)")
  return issues
}

const checked = <A>(issues: ReadonlyArray<string>, send: Effect.Effect<A, RestError>) =>
  issues.length > 0 ? Effect.fail(new InvalidWebhook({ issues })) : send

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<WebhooksShape, never, RestClient | HatchetConfig> = Effect.gen(function*() {
  const rest = yield* RestClient
  const config = yield* HatchetConfig
  const path = `/api/v1/stable/tenants/${encodeURIComponent(rest.tenantId)}/webhooks`
  const one = (name: string) => `${path}/${encodeURIComponent(name)}`
  return {
    create: (request) =>
      checked(
        issuesOf(request, true),
        rest.post(path, Webhook, {
          body: {
            name: request.name,
            sourceName: request.source,
            eventKeyExpression: request.eventKeyExpression,
            ...(request.scopeExpression !== undefined ? { scopeExpression: request.scopeExpression } : {}),
            ...(request.staticPayload !== undefined ? { staticPayload: request.staticPayload } : {}),
            ...(request.returnEventAsResponsePayload !== undefined
              ? { returnEventAsResponsePayload: request.returnEventAsResponsePayload }
              : {}),
            ...authBody(request.auth)
          }
        })
      ),
    list: (options = {}) =>
      Effect.map(
        rest.get(path, WebhookList, {
          query: { webhookNames: options.names, sourceNames: options.sources, offset: options.offset, limit: options.limit }
        }),
        (list) => list.rows ?? []
      ),
    get: (name) => rest.get(one(name), Webhook),
    update: (name, request) => checked(issuesOf(request, false), rest.patch(one(name), Webhook, { body: request })),
    delete: (name) => rest.del(one(name), Webhook),
    url: (name) => `${config.apiUrl}${one(name)}`
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Webhooks, never, RestClient | HatchetConfig> = Layer.effect(Webhooks, make)
