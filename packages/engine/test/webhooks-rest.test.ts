/**
 * Incoming webhooks over loopback with raw requests: the answers upstream gives for bad create,
 * list and update requests, and for receiving: each auth method and source (basic, API key, HMAC
 * in every algorithm and encoding, Svix, Linear), bodies (JSON, form fields, neither), the event
 * key and scope expressions, the static payload, filters applied to the scope the webhook computes,
 * and the 204 of a webhook that does not return its event.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createHmac } from "node:crypto"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Clocked from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"

/** A REST call whose JSON body the test reads freely. */
const call = (...args: Parameters<typeof Clocked.call>) =>
  Clocked.call(...args) as Effect.Effect<{ readonly status: number; readonly body: any }>

const apiErrors = (status: number, description: string) => ({ status, body: { errors: [{ description }] } })
const echo500 = { status: 500, body: { message: "Internal Server Error" } }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST webhooks", (it) => {
  it.scoped("create, list, update: upstream's errors", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/webhooks`
      const create = (body: unknown) => call("POST", base, token, JSON.stringify(body), { "content-type": "application/json" })
      const valid = {
        name: "w1",
        sourceName: "GENERIC",
        eventKeyExpression: "input.type",
        authType: "API_KEY",
        auth: { headerName: "X-Key", apiKey: "k" }
      }
      expect((yield* create(valid)).status).toBe(200)
      const failure = (reason: string) => apiErrors(400, `failed to construct webhook create params: ${reason}`)
      expect(yield* create({ ...valid, authType: undefined })).toEqual(
        failure("failed to get discriminator: authType field is missing in the request body")
      )
      expect(yield* create({ ...valid, authType: "OAUTH" })).toEqual(failure("unsupported auth type: OAUTH"))
      expect(yield* create({ ...valid, name: "w2", auth: { headerName: 1 } })).toEqual(
        failure("failed to parse api key auth: json: cannot unmarshal number into Go struct field .auth.headerName of type string")
      )
      expect(yield* create({ ...valid, authType: 1 })).toEqual(echo500)
      // what the database refuses: a taken or empty name, an empty key or scope expression, unknown enums
      expect(yield* create(valid)).toEqual(echo500)
      expect(yield* create({ ...valid, name: "" })).toEqual(echo500)
      expect(yield* create({ ...valid, name: "w3", eventKeyExpression: "" })).toEqual(echo500)
      expect(yield* create({ ...valid, name: "w3", scopeExpression: "" })).toEqual(echo500)
      expect(yield* create({ ...valid, name: "w3", sourceName: "GITLAB" })).toEqual(echo500)
      expect(
        yield* create({
          ...valid,
          name: "w3",
          authType: "HMAC",
          auth: { algorithm: "SHA3", encoding: "HEX", signatureHeaderName: "s", signingSecret: "x" }
        })
      ).toEqual(echo500)
      expect((yield* create({ ...valid, name: "w3" })).status).toBe(200)
      expect((yield* call("POST", base, undefined, JSON.stringify(valid))).status).toBe(403)

      const list = yield* call("GET", base, token)
      expect(list.body.rows.map((w: any) => w.name)).toEqual(["w3", "w1"])
      expect(list.body.pagination).toBeUndefined()
      expect((yield* call("GET", `${base}?webhookNames=w1`, token)).body.rows.map((w: any) => w.name)).toEqual(["w1"])
      expect((yield* call("GET", `${base}?limit=1&offset=1`, token)).body.rows.map((w: any) => w.name)).toEqual(["w1"])
      expect(yield* call("GET", `${base}?limit=0`, token)).toEqual(apiErrors(400, "failed to list webhooks"))
      expect(yield* call("GET", `${base}?sourceNames=NOPE`, token)).toEqual(apiErrors(400, "failed to list webhooks"))

      expect(yield* call("GET", `${base}/nope`, undefined)).toEqual({ status: 404, body: { message: "not found" } })
      expect((yield* call("GET", `${base}/w1`, undefined)).status).toBe(403)
      const patch = (name: string, body: unknown) => call("PATCH", `${base}/${name}`, token, JSON.stringify(body))
      expect(yield* patch("w1", { eventKeyExpression: "" })).toEqual(apiErrors(400, "failed to update webhook"))
      expect((yield* patch("w1", { scopeExpression: "input.s" })).body.scopeExpression).toBe("input.s")
      // an empty scope clears it
      expect((yield* patch("w1", { scopeExpression: "" })).body.scopeExpression).toBeUndefined()
      const deleted = yield* call("DELETE", `${base}/w3`, token)
      expect(deleted.body).toMatchObject({ name: "w3", authType: "API_KEY" })
      expect((yield* call("DELETE", `${base}/w3`, token)).status).toBe(404)
    }))

  it.scoped("receive: each auth method and source, bodies, expressions, the static payload, scopes and filters", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/webhooks`
      const create = (body: Record<string, unknown>) =>
        Effect.map(call("POST", base, token, JSON.stringify({ sourceName: "GENERIC", ...body })), (r) => {
          expect(r.status).toBe(200)
          return r.body
        })
      const receive = (name: string, body: string, headers: Record<string, string> = {}) =>
        call("POST", `${base}/${name}`, undefined, body, headers)

      // the path first, as upstream's populator
      expect(yield* call("POST", `${engine.apiUrl}/api/v1/stable/tenants/bad/webhooks/x`, undefined, "{}")).toEqual({
        status: 400,
        body: { message: "invalid tenant id" }
      })
      expect((yield* receive("missing", "{}")).status).toBe(404)

      // basic auth
      yield* create({ name: "basic", eventKeyExpression: "'k:' + input.a", authType: "BASIC", auth: { username: "u", password: "p" } })
      const basic = (user: string, password: string) => ({
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
      })
      expect(yield* receive("basic", "{\"a\":\"x\"}")).toEqual(apiErrors(403, "missing or invalid authorization header"))
      expect(yield* receive("basic", "{\"a\":\"x\"}", basic("u", "q"))).toEqual(apiErrors(403, "invalid basic auth credentials"))
      const ok = yield* receive("basic", "{\"a\":\"x\",\"tenant\":\"dropped\"}", basic("u", "p"))
      expect(ok.body).toMatchObject({ message: "ok", event: { key: "k:x", payload: { a: "x" } } })
      expect(ok.body.event.payload.tenant).toBeUndefined()
      // bodies: not JSON, not an object
      expect(yield* receive("basic", "not json", basic("u", "p"))).toEqual(apiErrors(400, "failed to unmarshal request body"))
      expect(yield* receive("basic", "[1]", basic("u", "p"))).toEqual(apiErrors(400, "failed to unmarshal request body"))
      // the key expression: not a string, or failing
      yield* call("PATCH", `${base}/basic`, token, JSON.stringify({ eventKeyExpression: "1 + 1" }))
      expect(yield* receive("basic", "{}", basic("u", "p"))).toEqual(apiErrors(400, "Event key expression must evaluate to a string"))
      yield* call("PATCH", `${base}/basic`, token, JSON.stringify({ eventKeyExpression: "input.missing" }))
      expect(yield* receive("basic", "{}", basic("u", "p"))).toEqual(apiErrors(400, "Event key evaluated to an empty string"))

      // HMAC in each algorithm and encoding; GENERIC accepts form fields
      const sign = (hash: string, secret: string, body: string, encoding: "hex" | "base64" | "base64url"): string =>
        createHmac(hash, secret).update(body).digest(encoding)
      for (
        const [algorithm, hash, encoding, bufferEncoding] of [
          ["SHA1", "sha1", "HEX", "hex"],
          ["SHA512", "sha512", "BASE64", "base64"],
          ["MD5", "md5", "BASE64URL", "base64url"]
        ] as const
      ) {
        const name = `hmac-${algorithm}`
        yield* create({
          name,
          eventKeyExpression: "'form:' + input.a",
          authType: "HMAC",
          auth: { algorithm, encoding, signatureHeaderName: "X-Sig", signingSecret: "s3cret" }
        })
        const body = "a=1&b=two+words"
        let signature = sign(hash, "s3cret", body, bufferEncoding)
        // Go's base64.URLEncoding pads
        if (encoding === "BASE64URL") signature = signature.padEnd(Math.ceil(signature.length / 4) * 4, "=")
        const form = { "content-type": "application/x-www-form-urlencoded", "x-sig": signature }
        const received = yield* receive(name, body, form)
        expect(received.body?.event, algorithm).toMatchObject({ key: "form:1", payload: { a: "1", b: "two words" } })
        expect(yield* receive(name, body, { ...form, "x-sig": "bad" })).toEqual(apiErrors(403, "invalid HMAC signature"))
        expect(yield* receive(name, body, { "content-type": form["content-type"] })).toEqual(
          apiErrors(403, "missing or invalid signature header: X-Sig")
        )
      }

      // Linear: form bodies are not supported for it
      yield* create({
        name: "linear",
        sourceName: "LINEAR",
        eventKeyExpression: "'linear'",
        authType: "API_KEY",
        auth: { headerName: "k", apiKey: "v" }
      })
      expect(yield* receive("linear", "a=1", { "content-type": "application/x-www-form-urlencoded", k: "v" })).toEqual(
        apiErrors(400, "form-encoded requests are not supported for webhook source: LINEAR")
      )

      // Svix: whsec_ secret, id.timestamp.body signed with SHA-256, within 5 minutes either way
      const key = Buffer.from("svix-key-bytes").toString("base64")
      yield* create({
        name: "svix",
        sourceName: "SVIX",
        eventKeyExpression: "'svix:' + input.type",
        authType: "HMAC",
        auth: { algorithm: "SHA256", encoding: "BASE64", signatureHeaderName: "svix-signature", signingSecret: `whsec_${key}` }
      })
      const svix = (body: string, ts: number) => ({
        "svix-id": "msg_1",
        "svix-timestamp": String(ts),
        "svix-signature": `v1,bogus v1,${createHmac("sha256", Buffer.from(key, "base64")).update(`msg_1.${ts}.${body}`).digest("base64")}`
      })
      const now = Math.floor(Date.now() / 1000)
      const svixBody = "{\"type\":\"user.created\"}"
      expect((yield* receive("svix", svixBody, svix(svixBody, now))).body.event.key).toBe("svix:user.created")
      expect(yield* receive("svix", svixBody, svix(svixBody, now - 600))).toEqual(
        apiErrors(400, "invalid timestamp header: message too old")
      )
      expect(yield* receive("svix", svixBody, svix(svixBody, now + 600))).toEqual(
        apiErrors(400, "invalid timestamp header: message too new")
      )
      expect(yield* receive("svix", svixBody, { ...svix(svixBody, now), "svix-signature": "v1,nope" })).toEqual(
        apiErrors(403, "invalid SVIX signature")
      )
      expect(yield* receive("svix", svixBody, {})).toEqual(apiErrors(400, "missing or invalid headers"))

      // a scope expression, filters on it, the static payload, and no event in the answer
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${token}`)
      yield* Effect.promise(() =>
        c.admin.putWorkflow({
          name: "on-signup",
          eventTriggers: ["signup"],
          tasks: [{ readableId: "t", action: "on-signup:t", timeout: "60s", inputs: "{}" }],
          defaultFilters: [{
            scope: "acme",
            expression: "input.plan == 'gold' && input.source == 'hook'",
            payload: Buffer.from("{\"f\":1}")
          }]
        })
      )
      yield* create({
        name: "scoped",
        eventKeyExpression: "'signup'",
        scopeExpression: "headers['x-org']",
        staticPayload: { source: "hook" },
        returnEventAsResponsePayload: false,
        authType: "API_KEY",
        auth: { headerName: "k", apiKey: "v" }
      })
      expect(yield* receive("scoped", "{\"plan\":\"gold\",\"source\":\"body\"}", { k: "v", "x-org": "acme" })).toEqual({
        status: 204,
        body: undefined
      })
      expect(yield* receive("scoped", "{}", { k: "v" })).toEqual(apiErrors(400, "Failed to evaluate scope expression"))
      const events = yield* call("GET", `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/events?keys=signup`, token)
      expect(events.body.rows).toHaveLength(1)
      expect(events.body.rows[0]).toMatchObject({
        scope: "acme",
        triggeringWebhookName: "scoped",
        payload: { plan: "gold", source: "hook" },
        triggeredRuns: [{ workflowRunId: expect.any(String), filterId: expect.any(String) }]
      })
    }))
})
