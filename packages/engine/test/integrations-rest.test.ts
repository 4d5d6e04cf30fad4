/**
 * SNS and Slack integrations over REST with raw requests: SNS integrations created, listed and
 * deleted with upstream's shapes (the ingest URL on the engine's REST address), its validation
 * and repository answers, the populator's for bad ids and other tenants'; Slack's list is empty
 * and its delete finds nothing.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
const echo500 = { status: 500, body: { message: "Internal Server Error" } }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST integrations", (it) => {
  it.scoped("SNS: create, list, delete", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const sns = `/api/v1/tenants/${engine.tenantId}/sns`
      const arn = "arn:aws:sns:us-east-1:123456789012:orders"
      const created = yield* restCall(engine, "POST", sns, { topicArn: arn })
      expect(created).toEqual({
        status: 201,
        body: {
          ingestUrl: `${engine.apiUrl}/api/v1/sns/${engine.tenantId}/sns-event`,
          metadata: { id: expect.any(String), createdAt: expect.any(String), updatedAt: expect.any(String) },
          tenantId: engine.tenantId,
          topicArn: arn
        }
      })
      expect(Object.keys(created.body)).toEqual(["ingestUrl", "metadata", "tenantId", "topicArn"])
      // the same topic again: upstream's insert does nothing and its handler fails
      expect(yield* restCall(engine, "POST", sns, { topicArn: arn })).toEqual(echo500)
      const second = (yield* restCall(engine, "POST", sns, { topicArn: `${arn}-2` })).body
      expect(yield* restCall(engine, "GET", sns)).toEqual({ status: 200, body: { pagination: {}, rows: [created.body, second] } })

      const namespace = "CreateSNSIntegrationRequest.TopicArn"
      expect(yield* restCall(engine, "POST", sns, {})).toEqual({
        status: 400,
        body: { errors: [{ description: `validation failed on field '${namespace}': on condition 'required'`, field: "topicarn" }] }
      })
      const long = "a".repeat(257)
      expect(yield* restCall(engine, "POST", sns, { topicArn: long })).toEqual({
        status: 400,
        body: {
          errors: [{
            description: `validation failed on field '${namespace}': on condition 'max' [ 256 ]: got '${long}'`,
            field: "topicarn"
          }]
        }
      })
      expect(yield* restCall(engine, "POST", sns, { topicArn: "a".repeat(256) })).toEqual(echo500)
      expect((yield* restCall(engine, "POST", sns, { topicArn: "a".repeat(255) })).status).toBe(201)

      const theirToken = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const theirs = (yield* restCall(engine, "POST", `/api/v1/tenants/${otherTenant}/sns`, { topicArn: arn }, theirToken)).body
      expect(theirs.topicArn).toBe(arn)
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/sns`)).toEqual(forbidden)
      expect(yield* restCall(engine, "DELETE", "/api/v1/sns/abc")).toEqual({ status: 400, body: { message: "invalid sns integration id" } })
      expect(yield* restCall(engine, "DELETE", `/api/v1/sns/${unknownId}`, undefined, "")).toEqual({
        status: 404,
        body: { message: "not found" }
      })
      expect(yield* restCall(engine, "DELETE", `/api/v1/sns/${theirs.metadata.id}`)).toEqual(forbidden)
      expect(yield* restCall(engine, "DELETE", `/api/v1/sns/${created.body.metadata.id}`)).toEqual({ status: 204, body: undefined })
      expect((yield* restCall(engine, "GET", sns)).body.rows.map((r: any) => r.topicArn)).toEqual([`${arn}-2`, "a".repeat(255)])
    }))

  it.scoped("Slack: no webhooks (made only by Slack's OAuth flow)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/slack`)).toEqual({
        status: 200,
        body: { pagination: {}, rows: [] }
      })
      yield* engine.mintToken({ tenantId: otherTenant })
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/slack`)).toEqual(forbidden)
      expect(yield* restCall(engine, "DELETE", "/api/v1/slack/abc")).toEqual({
        status: 400,
        body: { message: "invalid slack integration id" }
      })
      expect(yield* restCall(engine, "DELETE", `/api/v1/slack/${unknownId}`)).toEqual({ status: 404, body: { message: "not found" } })
    }))
})
