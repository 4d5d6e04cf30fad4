/**
 * Webhook workers (deprecated upstream) with the official SDK: its legacy `admin.registerWebhook`
 * and generated client (`api.webhookList`, `webhookCreate`, `webhookDelete`,
 * `webhookRequestsList`) get upstream's answers from the local engine; raw REST for the order of
 * its checks.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("webhook workers", (it) => {
  it.scoped("every call is refused as upstream refuses it: deprecated", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const tenant = engine.tenantId
      const create = { name: "w", url: "http://127.0.0.1:1/webhook" }
      const deprecated = (description: string) => ({ status: 400, data: { errors: [{ description }] } })
      expect(yield* Official.restError(() => hatchet.api.webhookList(tenant))).toEqual(deprecated("WebhookList is deprecated"))
      expect(yield* Official.restError(() => hatchet.api.webhookCreate(tenant, create))).toEqual(deprecated("WebhookCreate is deprecated"))
      // the legacy client's registration (what its serverless workers called)
      expect(yield* Official.restError(() => hatchet.v0.admin.registerWebhook(create))).toEqual(deprecated("WebhookCreate is deprecated"))
      const refused = { status: 400, data: { message: "This endpoint is deprecated." } }
      expect(yield* Official.restError(() => hatchet.api.webhookDelete(unknownId))).toEqual(refused)
      expect(yield* Official.restError(() => hatchet.api.webhookRequestsList(unknownId))).toEqual(refused)
    }))

  it.scoped("the tenant routes check the tenant and token first; the id routes refuse before authentication", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const other = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const workers = `/api/v1/tenants/${engine.tenantId}/webhook-workers`
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      expect(yield* restCall(engine, "GET", workers, undefined, other)).toEqual(forbidden)
      expect(yield* restCall(engine, "POST", workers, {}, other)).toEqual(forbidden)
      expect(yield* restCall(engine, "GET", "/api/v1/tenants/abc/webhook-workers")).toEqual({
        status: 400,
        body: { message: "invalid tenant id" }
      })
      expect(yield* restCall(engine, "POST", workers, "{not json")).toEqual({
        status: 400,
        body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
      })
      const refused = { status: 400, body: { message: "This endpoint is deprecated." } }
      expect(yield* restCall(engine, "DELETE", "/api/v1/webhook-workers/abc", undefined, "")).toEqual(refused)
      expect(yield* restCall(engine, "GET", "/api/v1/webhook-workers/abc/requests", undefined, "")).toEqual(refused)
    }))
})
