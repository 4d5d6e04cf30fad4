/**
 * The tenant's alerting and integration routes through the official SDK's generated REST client
 * (`api.tenantUpdate`, `tenantAlertingSettingsGet`, `alertEmailGroup*`, `sns*`,
 * `slackWebhookList`) against the local engine, on a tenant of its own: what one call stores,
 * the next reads back. No alert is sent and no SNS notification received.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

/** A tenant of this test only, so the shared engine's default tenant is left as it is. */
const tenantId = "3c3c3c3c-4444-4444-8444-444444444444"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("alerting (official SDK)", (it) => {
  it.scoped("tenant update, alerting settings, email groups, SNS and Slack integrations", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine, yield* engine.mintToken({ tenantId }))

      const updated = yield* Effect.promise(() =>
        hatchet.api.tenantUpdate(tenantId, { name: "Ops", enableWorkflowRunFailureAlerts: true, maxAlertingFrequency: "15m" })
      )
      expect(updated.data).toMatchObject({ name: "Ops", serverUrl: engine.apiUrl, metadata: { id: tenantId } })
      expect((yield* Effect.promise(() => hatchet.api.tenantGet(tenantId))).data.name).toBe("Ops")
      expect((yield* Effect.promise(() => hatchet.api.tenantAlertingSettingsGet(tenantId))).data).toMatchObject({
        maxAlertingFrequency: "15m",
        enableWorkflowRunFailureAlerts: true,
        enableExpiringTokenAlerts: true,
        enableTenantResourceLimitAlerts: true
      })

      const group = yield* Effect.promise(() => hatchet.api.alertEmailGroupCreate(tenantId, { emails: ["ops@example.com"] }))
      expect(group.status).toBe(201)
      const id = group.data.metadata.id
      const changed = yield* Effect.promise(() => hatchet.api.alertEmailGroupUpdate(id, { emails: ["a@example.com", "b@example.com"] }))
      expect(changed.data.emails).toEqual(["a@example.com", "b@example.com"])
      expect((yield* Effect.promise(() => hatchet.api.alertEmailGroupList(tenantId))).data.rows).toEqual([changed.data])
      expect(yield* Official.restError(() => hatchet.api.alertEmailGroupCreate(tenantId, { emails: ["nope"] }))).toEqual({
        status: 400,
        data: {
          errors: [{
            description: "validation failed on field 'CreateTenantAlertEmailGroupRequest.Emails[0]': Invalid email address",
            field: "emails[0]"
          }]
        }
      })
      expect((yield* Effect.promise(() => hatchet.api.alertEmailGroupDelete(id))).status).toBe(204)
      expect((yield* Effect.promise(() => hatchet.api.alertEmailGroupList(tenantId))).data.rows).toEqual([])

      const sns = yield* Effect.promise(() => hatchet.api.snsCreate(tenantId, { topicArn: "arn:aws:sns:eu-west-1:1:t" }))
      expect(sns.status).toBe(201)
      expect(sns.data.ingestUrl).toBe(`${engine.apiUrl}/api/v1/sns/${tenantId}/sns-event`)
      expect((yield* Effect.promise(() => hatchet.api.snsList(tenantId))).data).toEqual({ pagination: {}, rows: [sns.data] })
      expect((yield* Effect.promise(() => hatchet.api.snsDelete(sns.data.metadata.id))).status).toBe(204)
      expect((yield* Effect.promise(() => hatchet.api.slackWebhookList(tenantId))).data).toEqual({ pagination: {}, rows: [] })
    }))
})
