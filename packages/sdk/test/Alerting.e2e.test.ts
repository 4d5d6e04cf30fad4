/**
 * The tenant's alerting end to end with the `Alerting` service on the local engine: Hatchet's
 * default settings, an update read back (the frequency sent as a Go duration), email groups
 * created, listed, changed and deleted; an address Hatchet refuses is a 400 `RestError`, a bad
 * frequency refused before sending.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Alerting from "../src/Alerting.js"
import * as Tenants from "../src/Tenants.js"
import { engineWithClient } from "./support/engine.js"

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("alerting end to end", (it) => {
  it.scoped("settings: defaults, then an update", () =>
    Effect.gen(function*() {
      const alerting = yield* Alerting.Alerting
      const before = yield* alerting.settings()
      expect(before).toMatchObject({
        maxAlertingFrequency: "1h",
        enableWorkflowRunFailureAlerts: false,
        enableExpiringTokenAlerts: true,
        enableTenantResourceLimitAlerts: true
      })
      const after = yield* alerting.update({ maxFrequency: "90 minutes", workflowRunFailureAlerts: true, memberEmails: true })
      expect(after).toEqual({ ...before, maxAlertingFrequency: "90m", enableWorkflowRunFailureAlerts: true })
      expect((yield* (yield* Tenants.Tenants).get()).alertMemberEmails).toBe(true)
      expect(yield* Effect.flip(alerting.update({ maxFrequency: 0 }))).toEqual(
        new Alerting.InvalidAlertingSettings({ issues: ["maxFrequency: 0 must be positive"] })
      )
      expect(yield* alerting.settings()).toEqual(after)
    }))

  it.scoped("email groups", () =>
    Effect.gen(function*() {
      const alerting = yield* Alerting.Alerting
      const group = yield* alerting.createEmailGroup(["ops@example.com"])
      expect(group.emails).toEqual(["ops@example.com"])
      const changed = yield* alerting.updateEmailGroup(group.metadata.id, ["a@example.com", "b@example.com"])
      expect(changed.emails).toEqual(["a@example.com", "b@example.com"])
      expect(yield* alerting.listEmailGroups()).toEqual([changed])
      const refused = yield* Effect.flip(alerting.createEmailGroup(["not an address"]))
      expect(refused).toMatchObject({ _tag: "RestError", status: 400 })
      expect(refused.body).toContain("Invalid email address")
      yield* alerting.deleteEmailGroup(group.metadata.id)
      expect(yield* alerting.listEmailGroups()).toEqual([])
      expect(yield* Effect.flip(alerting.deleteEmailGroup(group.metadata.id))).toMatchObject({ status: 404 })
    }))
})
