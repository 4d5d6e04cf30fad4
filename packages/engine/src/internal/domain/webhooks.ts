/**
 * Incoming webhooks (upstream `v1_incoming_webhook`, `pkg/repository/webhooks.go`,
 * `api/v1/server/handlers/v1/webhooks/receive.go`): a named endpoint per tenant that turns an
 * HTTP request into a pushed event. The request is authenticated as its source requires, its body
 * (JSON, or form fields for `GENERIC` and `SLACK`) with the webhook's static payload on top
 * becomes the event's payload, and CEL expressions in the `webhook` environment (`input`: that
 * payload, `headers`: the request's headers, lower-cased, first value) give the event's key and
 * scope. The event then runs workflows as any pushed event does, filters included.
 *
 * Sources and what they check:
 * - `GENERIC`, `GITHUB`, `LINEAR`: the webhook's auth method: `BASIC` (the Authorization header),
 *   `API_KEY` (a header equal to the key) or `HMAC` (a header holding the HMAC of the raw body,
 *   in the webhook's algorithm and encoding; a `sha1=`/`sha256=`/`sha512=`/`md5=` prefix is
 *   ignored);
 * - `SLACK`: a URL verification body (`{"challenge": …}`) is answered before any check; otherwise
 *   `X-Slack-Request-Timestamp` (at most 5 minutes old) and the signature of
 *   `v0:<timestamp>:<body>` as `v0=<hmac>`;
 * - `STRIPE`: the signature header's `t=` and `v1=` parts, the timestamp at most 10 minutes
 *   old, `v1` the HMAC of `<t>.<body>`;
 * - `SVIX`: `svix-id` / `svix-timestamp` / `svix-signature` (or the `webhook-*` names), the
 *   timestamp within 5 minutes either way, a `v1,<base64 HMAC-SHA256>` signature of
 *   `<id>.<timestamp>.<body>` with the base64 secret after `whsec_`.
 * Times are the engine's `Clock`, so a test under `TestClock` signs with the engine's time.
 * Secrets are kept as given (in memory; upstream encrypts them at rest) and never shown.
 *
 * @internal
 */
import { compile, type Compiled, evaluate } from "@effect-hatchet/shared/Cel"
import { createHmac, timingSafeEqual } from "node:crypto"
import { ingest } from "./ingest.js"
import type { JsonObject, JsonValue } from "./json.js"
import { goMarshal, isJsonObject, parseJson } from "./json.js"
import type { EngineState, PushedEvent, TenantState } from "./model.js"

export const sourceNames = ["GENERIC", "GITHUB", "STRIPE", "SLACK", "LINEAR", "SVIX"] as const
export type SourceName = (typeof sourceNames)[number]
export const hmacAlgorithms = ["SHA1", "SHA256", "SHA512", "MD5"] as const
export type HmacAlgorithm = (typeof hmacAlgorithms)[number]
export const hmacEncodings = ["HEX", "BASE64", "BASE64URL"] as const
export type HmacEncoding = (typeof hmacEncodings)[number]

/** How a webhook authenticates its requests (one of upstream's three auth methods). */
export type WebhookAuth =
  | { readonly _tag: "BASIC"; readonly username: string; readonly password: string }
  | { readonly _tag: "API_KEY"; readonly headerName: string; readonly apiKey: string }
  | {
    readonly _tag: "HMAC"
    readonly algorithm: HmacAlgorithm
    readonly encoding: HmacEncoding
    readonly signatureHeaderName: string
    readonly signingSecret: string
  }

/** A webhook of a tenant, keyed by its name. */
export interface IncomingWebhook {
  readonly tenantId: string
  readonly name: string
  readonly sourceName: SourceName
  eventKeyExpression: string
  /** Undefined when none (an empty one is none). */
  scopeExpression: string | undefined
  staticPayload: JsonObject | undefined
  returnEventAsResponsePayload: boolean
  readonly auth: WebhookAuth
  readonly createdAt: number
  updatedAt: number
  /** Compiled expressions, by source text. */
  readonly compiled: Map<string, Compiled<"webhook">>
}

/** What `CreateWebhook` stores. */
export interface NewWebhook {
  readonly name: string
  readonly sourceName: SourceName
  readonly eventKeyExpression: string
  readonly scopeExpression: string | undefined
  readonly staticPayload: JsonObject | undefined
  readonly returnEventAsResponsePayload: boolean
  readonly auth: WebhookAuth
}

/** A write the database refuses upstream: a repeated name, or an empty name or key expression. */
export type Refused = { readonly _tag: "Refused" }

const refused: Refused = { _tag: "Refused" }

/** `CreateWebhook`. */
export const createWebhook = (tenant: TenantState, opts: NewWebhook, now: number): IncomingWebhook | Refused => {
  if (opts.name === "" || opts.eventKeyExpression === "" || tenant.webhooks.has(opts.name)) return refused
  const webhook: IncomingWebhook = {
    tenantId: tenant.tenant.id,
    name: opts.name,
    sourceName: opts.sourceName,
    eventKeyExpression: opts.eventKeyExpression,
    scopeExpression: opts.scopeExpression === "" ? undefined : opts.scopeExpression,
    staticPayload: opts.staticPayload,
    returnEventAsResponsePayload: opts.returnEventAsResponsePayload,
    auth: opts.auth,
    createdAt: now,
    updatedAt: now,
    compiled: new Map()
  }
  tenant.webhooks.set(webhook.name, webhook)
  return webhook
}

/** `GetWebhook`: the tenant's webhook by name. */
export const getWebhook = (state: EngineState, tenantId: string, name: string): IncomingWebhook | undefined =>
  state.tenants.get(tenantId)?.webhooks.get(name)

/** `ListWebhooks`: newest first, by names and sources (each ignored when empty). */
export const listWebhooks = (
  state: EngineState,
  tenantId: string,
  query: {
    readonly names: ReadonlyArray<string>
    readonly sources: ReadonlyArray<string>
    readonly offset: number
    readonly limit: number
  }
): Array<IncomingWebhook> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return []
  return [...tenant.webhooks.values()]
    .filter((w) => query.names.length === 0 || query.names.includes(w.name))
    .filter((w) => query.sources.length === 0 || query.sources.includes(w.sourceName))
    .reverse()
    .slice(query.offset, query.offset + query.limit)
}

/** `UpdateWebhookExpression`: each field given; an empty scope clears it; an empty key expression is refused. */
export const updateWebhook = (
  webhook: IncomingWebhook,
  update: {
    readonly eventKeyExpression?: string | undefined
    readonly scopeExpression?: string | undefined
    readonly staticPayload?: JsonObject | undefined
    readonly returnEventAsResponsePayload?: boolean | undefined
  },
  now: number
): IncomingWebhook | Refused => {
  if (update.eventKeyExpression === "") return refused
  if (update.eventKeyExpression !== undefined) webhook.eventKeyExpression = update.eventKeyExpression
  const scope = update.scopeExpression ?? webhook.scopeExpression
  webhook.scopeExpression = scope === "" ? undefined : scope
  if (update.staticPayload !== undefined) webhook.staticPayload = update.staticPayload
  if (update.returnEventAsResponsePayload !== undefined) webhook.returnEventAsResponsePayload = update.returnEventAsResponsePayload
  webhook.updatedAt = now
  return webhook
}

/** `DeleteWebhook`. */
export const deleteWebhook = (tenant: TenantState, webhook: IncomingWebhook): IncomingWebhook => {
  tenant.webhooks.delete(webhook.name)
  return webhook
}

// -----------------------------------------------------------------------------
// receiving
// -----------------------------------------------------------------------------

/** An HTTP request to a webhook: its raw body and its headers (lower-cased names, first values). */
export interface WebhookRequest {
  readonly body: Uint8Array
  readonly headers: Readonly<Record<string, string>>
}

/** What the receive route answers. */
export type Received =
  | { readonly _tag: "Challenge"; readonly challenge: string }
  | { readonly _tag: "Event"; readonly event: PushedEvent; readonly respond: boolean }
  /** 400 / 403 `APIErrors` with this description. */
  | { readonly _tag: "Rejected"; readonly status: 400 | 403; readonly description: string }
  /** echo's 500 (a failure upstream returns as an error). */
  | { readonly _tag: "Internal" }

const reject = (status: 400 | 403, description: string): Received => ({ _tag: "Rejected", status, description })
const internalError: Received = { _tag: "Internal" }

const hashes: Readonly<Record<HmacAlgorithm, string>> = { SHA1: "sha1", SHA256: "sha256", SHA512: "sha512", MD5: "md5" }

/** `computeHMACSignature`; undefined for an algorithm or encoding it does not know. */
const hmacSignature = (
  payload: Uint8Array | string,
  secret: Uint8Array | string,
  algorithm: string,
  encoding: string
): string | undefined => {
  const hash = hashes[algorithm as HmacAlgorithm]
  if (hash === undefined) return undefined
  const digest = createHmac(hash, secret).update(payload).digest()
  switch (encoding) {
    case "HEX":
      return digest.toString("hex")
    case "BASE64":
      return digest.toString("base64")
    case "BASE64URL":
      // Go's base64.URLEncoding pads
      return digest.toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
    default:
      return undefined
  }
}

/** `hmac.Equal`: constant time over equal lengths. */
const sameBytes = (a: string | Uint8Array, b: string | Uint8Array): boolean => {
  const x = typeof a === "string" ? Buffer.from(a) : Buffer.from(a)
  const y = typeof b === "string" ? Buffer.from(b) : Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const withoutPrefix = (signature: string) =>
  ["sha1=", "sha256=", "sha512=", "md5="].reduce((s, prefix) => (s.startsWith(prefix) ? s.slice(prefix.length) : s), signature)

/** `signaturesMatch`: trimmed, `<algorithm>=` prefixes dropped. */
const signaturesMatch = (provided: string, expected: string) => sameBytes(withoutPrefix(provided.trim()), withoutPrefix(expected.trim()))

const concat = (...parts: ReadonlyArray<string | Uint8Array>) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))))

/** Go's `strconv.ParseInt(s, 10, 64)` for timestamps in seconds. */
const parseSeconds = (text: string): number | undefined => (/^[+-]?\d+$/.test(text) ? Number(text) : undefined)

const hmacAuth = (webhook: IncomingWebhook) =>
  webhook.auth._tag === "HMAC"
    ? webhook.auth
    : { algorithm: "", encoding: "", signatureHeaderName: "", signingSecret: "" }

/** `request.BasicAuth()`. */
const basicAuth = (header: string | undefined): { readonly username: string; readonly password: string } | undefined => {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== "basic ") return undefined
  const encoded = header.slice(6)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** `validateWebhook`: undefined when the request passes. */
const validate = (webhook: IncomingWebhook, request: WebhookRequest, now: number): Received | undefined => {
  const header = (name: string) => request.headers[name.toLowerCase()] ?? ""
  const nowSeconds = Math.floor(now / 1000)
  switch (webhook.sourceName) {
    case "SLACK": {
      const timestampHeader = header("X-Slack-Request-Timestamp")
      if (timestampHeader === "") return reject(403, "missing or invalid timestamp header: X-Slack-Request-Timestamp")
      const timestamp = parseSeconds(timestampHeader.trim())
      if (timestamp === undefined) return reject(403, "Invalid timestamp in header")
      if (timestamp * 1000 < now - 5 * 60_000) return reject(403, "timestamp in header is out of range")
      const auth = hmacAuth(webhook)
      const hash = hmacSignature(concat(`v0:${timestamp}:`, request.body), auth.signingSecret, auth.algorithm, auth.encoding)
      if (hash === undefined) return internalError
      const signature = header(auth.signatureHeaderName)
      if (signature === "") return reject(403, `missing or invalid signature header: ${auth.signatureHeaderName}`)
      return signaturesMatch(signature, `v0=${hash}`) ? undefined : reject(403, "invalid HMAC signature")
    }
    case "STRIPE": {
      const auth = hmacAuth(webhook)
      const signatureHeader = header(auth.signatureHeaderName)
      const missing = reject(400, `missing or invalid signature header: ${auth.signatureHeaderName}`)
      if (signatureHeader === "") return missing
      const parts = new Map<string, string>()
      for (const part of signatureHeader.split(",")) {
        const pieces = part.split("=")
        if (pieces.length !== 2) return reject(400, `invalid signature header format: ${auth.signatureHeaderName}`)
        parts.set(pieces[0]!.trim(), pieces[1]!.trim())
      }
      const timestamp = parts.get("t") ?? ""
      const signature = parts.get("v1") ?? ""
      if (timestamp === "" || signature === "") return missing
      const seconds = parseSeconds(timestamp)
      if (seconds === undefined) return reject(400, "Invalid timestamp in signature header")
      if (seconds * 1000 < now - 10 * 60_000) return reject(400, "timestamp in signature header is out of range")
      const expected = hmacSignature(concat(`${timestamp}.`, request.body), auth.signingSecret, auth.algorithm, auth.encoding)
      if (expected === undefined) return reject(403, `failed to compute HMAC signature: unsupported HMAC algorithm: ${auth.algorithm}`)
      return signaturesMatch(signature, expected) ? undefined : reject(403, "invalid HMAC signature")
    }
    case "SVIX": {
      const secret = hmacAuth(webhook).signingSecret
      const encoded = secret.startsWith("whsec_") ? secret.slice(6) : secret
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return internalError
      const key = Buffer.from(encoded, "base64")
      let id = header("svix-id")
      let signatures = header("svix-signature")
      let timestampText = header("svix-timestamp")
      if (id === "" || signatures === "" || timestampText === "") {
        id = header("webhook-id")
        signatures = header("webhook-signature")
        timestampText = header("webhook-timestamp")
        if (id === "" || signatures === "" || timestampText === "") return reject(400, "missing or invalid headers")
      }
      const timestamp = parseSeconds(timestampText)
      if (timestamp === undefined) return reject(400, "invalid timestamp header: invalid headers")
      if (nowSeconds - timestamp > 5 * 60) return reject(400, "invalid timestamp header: message too old")
      if (timestamp > nowSeconds + 5 * 60) return reject(400, "invalid timestamp header: message too new")
      const expected = createHmac("sha256", key).update(concat(`${id}.${timestamp}.`, request.body)).digest("base64")
      for (const versioned of signatures.split(" ")) {
        const [version, signature] = versioned.split(",")
        if (signature === undefined || version !== "v1") continue
        if (sameBytes(signature, expected)) return undefined
      }
      return reject(403, "invalid SVIX signature")
    }
    case "GENERIC":
    case "GITHUB":
    case "LINEAR": {
      const auth = webhook.auth
      switch (auth._tag) {
        case "BASIC": {
          const given = basicAuth(request.headers["authorization"])
          if (given === undefined) return reject(403, "missing or invalid authorization header")
          const ok = sameBytes(given.username, auth.username) && sameBytes(given.password, auth.password)
          return ok ? undefined : reject(403, "invalid basic auth credentials")
        }
        case "API_KEY": {
          const key = header(auth.headerName)
          if (key === "") return reject(403, `missing or invalid api key header: ${auth.headerName}`)
          return sameBytes(key, auth.apiKey) ? undefined : reject(403, `invalid api key: ${auth.headerName}`)
        }
        case "HMAC": {
          const signature = header(auth.signatureHeaderName)
          if (signature === "") return reject(403, `missing or invalid signature header: ${auth.signatureHeaderName}`)
          const expected = hmacSignature(request.body, auth.signingSecret, auth.algorithm, auth.encoding)
          if (expected === undefined) return internalError
          return signaturesMatch(signature, expected) ? undefined : reject(403, "invalid HMAC signature")
        }
      }
    }
  }
}

/** Go's `url.ParseQuery`: the first value of each key, or undefined when any part is malformed. */
const parseForm = (text: string): Map<string, string> | undefined => {
  const values = new Map<string, string>()
  let failed = false
  for (const part of text.split("&")) {
    if (part === "") continue
    if (part.includes(";")) {
      failed = true
      continue
    }
    const eq = part.indexOf("=")
    const rawKey = eq < 0 ? part : part.slice(0, eq)
    const rawValue = eq < 0 ? "" : part.slice(eq + 1)
    try {
      const key = decodeURIComponent(rawKey.replace(/\+/g, " "))
      const value = decodeURIComponent(rawValue.replace(/\+/g, " "))
      if (!values.has(key)) values.set(key, value)
    } catch {
      failed = true
    }
  }
  return failed ? undefined : values
}

/** The request's body as the event's payload (before the static payload), or the 400 upstream answers. */
const payloadOf = (
  webhook: IncomingWebhook,
  request: WebhookRequest
): { readonly _tag: "Payload"; readonly payload: Record<string, JsonValue> } | Received => {
  const text = Buffer.from(request.body).toString("utf8")
  let payload: Record<string, JsonValue> = {}
  if ((request.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded")) {
    const form = parseForm(text)
    if (form === undefined) return reject(400, "Failed to parse form data")
    if (webhook.sourceName === "SLACK" && (form.get("payload") ?? "") !== "") {
      const parsed = parseJson(form.get("payload"))
      if (parsed === undefined || (parsed !== null && !isJsonObject(parsed))) {
        return reject(400, "Failed to unmarshal payload parameter as JSON")
      }
      payload = { ...(parsed ?? {}) }
    } else if (webhook.sourceName === "SLACK" || webhook.sourceName === "GENERIC") {
      for (const [key, value] of form) payload[key] = value
    } else {
      return reject(400, `form-encoded requests are not supported for webhook source: ${webhook.sourceName}`)
    }
  } else {
    const parsed = parseJson(text)
    if (parsed === undefined || (parsed !== null && !isJsonObject(parsed))) return reject(400, "failed to unmarshal request body")
    payload = { ...(parsed ?? {}) }
  }
  delete payload["tenant"]
  delete payload["v1-webhook"]
  return { _tag: "Payload", payload }
}

/** `EvaluateIncomingWebhookExpression`: a string, or why not (upstream's words). */
const evaluateString = (
  webhook: IncomingWebhook,
  expression: string,
  input: JsonObject,
  headers: Readonly<Record<string, string>>
): { readonly ok: true; readonly value: string } | { readonly ok: false; readonly notString: boolean } => {
  let compiled = webhook.compiled.get(expression)
  if (compiled === undefined) {
    compiled = compile("webhook", expression)
    webhook.compiled.set(expression, compiled)
  }
  if (compiled._tag === "Invalid") return { ok: false, notString: false }
  const result = evaluate(compiled.program, { input: input as JsonValue, headers: headers as JsonValue })
  if (result._tag === "Error") return { ok: false, notString: false }
  return typeof result.value === "string" ? { ok: true, value: result.value } : { ok: false, notString: true }
}

/** `V1WebhookReceive`: authenticates the request and turns it into a pushed event. */
export const receive = (
  state: EngineState,
  tenant: TenantState,
  webhook: IncomingWebhook,
  request: WebhookRequest,
  now: number
): Received => {
  if (webhook.sourceName === "SLACK") {
    const json = parseJson(Buffer.from(request.body).toString("utf8"))
    const challenge = isJsonObject(json) ? json.challenge : undefined
    if (typeof challenge === "string" && challenge !== "") return { _tag: "Challenge", challenge }
  }
  const invalid = validate(webhook, request, now)
  if (invalid !== undefined) return invalid
  const body = payloadOf(webhook, request)
  if (body._tag !== "Payload") return body
  // the static payload wins over the request's keys
  const input = { ...body.payload, ...(webhook.staticPayload ?? {}) }
  const key = evaluateString(webhook, webhook.eventKeyExpression, input, request.headers)
  if (!key.ok) {
    return reject(400, key.notString ? "Event key expression must evaluate to a string" : "Event key evaluated to an empty string")
  }
  let scope: string | undefined
  if (webhook.scopeExpression !== undefined) {
    const evaluated = evaluateString(webhook, webhook.scopeExpression, input, request.headers)
    if (!evaluated.ok) return reject(400, "Failed to evaluate scope expression")
    scope = evaluated.value
  }
  const event = ingest(state, tenant, {
    key: key.value,
    payload: goMarshal(input),
    scope,
    triggeringWebhookName: webhook.name
  }, now)
  return { _tag: "Event", event, respond: webhook.returnEventAsResponsePayload }
}
