/**
 * A tenant's alerting settings and alert email groups over REST with raw requests: upstream's
 * defaults, a tenant update (name, flags, alerting settings), create / list / update / delete of email groups with upstream's statuses and bodies,
 * its validation answers and the populator's for bad ids and other tenants' groups.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST alerting", (it) => {
  it.scoped("the settings: upstream's defaults, the same each time, per tenant", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = (yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}`)).body
      const settings = yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/alerting/settings`)
      expect(settings).toEqual({
        status: 200,
        body: {
          enableExpiringTokenAlerts: true,
          enableTenantResourceLimitAlerts: true,
          enableWorkflowRunFailureAlerts: false,
          maxAlertingFrequency: "1h",
          metadata: { id: expect.any(String), createdAt: tenant.metadata.createdAt, updatedAt: tenant.metadata.createdAt }
        }
      })
      expect(Object.keys(settings.body)).toEqual([
        "enableExpiringTokenAlerts",
        "enableTenantResourceLimitAlerts",
        "enableWorkflowRunFailureAlerts",
        "maxAlertingFrequency",
        "metadata"
      ])
      expect((yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/alerting/settings`)).body).toEqual(settings.body)
      const theirs = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const other = yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/alerting/settings`, undefined, theirs)
      expect(other.body.metadata.id).not.toBe(settings.body.metadata.id)
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/alerting/settings`)).toEqual(forbidden)
    }))

  it.scoped("PATCH the tenant: its name and flags, the alerting settings; each field when given", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenantPath = `/api/v1/tenants/${engine.tenantId}`
      const before = (yield* restCall(engine, "GET", tenantPath)).body
      expect(before).toEqual({
        alertMemberEmails: false,
        analyticsOptOut: true,
        environment: "local",
        metadata: { id: engine.tenantId, createdAt: expect.any(String), updatedAt: expect.any(String) },
        name: "Default",
        serverUrl: engine.apiUrl,
        slug: "default",
        version: "V1"
      })
      expect(Object.keys(before)).toEqual([
        "alertMemberEmails",
        "analyticsOptOut",
        "environment",
        "metadata",
        "name",
        "serverUrl",
        "slug",
        "version"
      ])
      const settingsBefore = (yield* restCall(engine, "GET", `${tenantPath}/alerting/settings`)).body
      const patched = yield* restCall(engine, "PATCH", tenantPath, {
        name: "Renamed",
        alertMemberEmails: true,
        maxAlertingFrequency: "30m",
        enableWorkflowRunFailureAlerts: true,
        version: "V1"
      })
      expect(patched).toEqual({ status: 200, body: { ...before, name: "Renamed", alertMemberEmails: true } })
      expect((yield* restCall(engine, "GET", tenantPath)).body).toEqual(patched.body)
      expect((yield* restCall(engine, "GET", `${tenantPath}/alerting/settings`)).body).toEqual({
        ...settingsBefore,
        maxAlertingFrequency: "30m",
        enableWorkflowRunFailureAlerts: true
      })
      // the member's tenant follows (without serverUrl, as upstream's member view)
      const { serverUrl: _, ...memberTenant } = patched.body
      expect((yield* restCall(engine, "GET", `${tenantPath}/members`)).body.rows[0].tenant).toEqual(memberTenant)
      // fields not given are kept; an empty body changes nothing
      const again = yield* restCall(engine, "PATCH", tenantPath, { analyticsOptOut: false })
      expect(again.body).toEqual({ ...patched.body, analyticsOptOut: false })
      expect((yield* restCall(engine, "PATCH", tenantPath, {})).body).toEqual(again.body)
      expect((yield* restCall(engine, "GET", `${tenantPath}/alerting/settings`)).body.maxAlertingFrequency).toBe("30m")

      expect(yield* restCall(engine, "PATCH", tenantPath, { maxAlertingFrequency: "1d" })).toEqual({
        status: 400,
        body: {
          errors: [{
            description: "validation failed on field 'UpdateTenantRequest.MaxAlertingFrequency': Invalid duration. Durations " +
              "must be one or more <number><unit> components, where unit is one of: 'ms', 's', 'm', 'h'. For example: '10s', '1h30m', '1.5h'",
            field: "maxalertingfrequency"
          }]
        }
      })
      expect(yield* restCall(engine, "PATCH", tenantPath, { name: 1 })).toEqual({
        status: 400,
        body: { message: "Unmarshal type error: expected=string, got=number, field=name, offset=9" }
      })
      expect(yield* restCall(engine, "PATCH", tenantPath, { name: "x" }, "")).toEqual(forbidden)
      // back, for the other tests
      yield* restCall(engine, "PATCH", tenantPath, { name: "Default", alertMemberEmails: false, analyticsOptOut: true })
    }))

  it.scoped("email groups: create, list, update, delete", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const groups = `/api/v1/tenants/${engine.tenantId}/alerting-email-groups`
      const created = yield* restCall(engine, "POST", groups, { emails: ["ops@example.com", "oncall@example.org"] })
      expect(created).toEqual({
        status: 201,
        body: {
          emails: ["ops@example.com", "oncall@example.org"],
          metadata: { id: expect.any(String), createdAt: expect.any(String), updatedAt: expect.any(String) }
        }
      })
      const second = yield* restCall(engine, "POST", groups, { emails: [] })
      // an empty list is stored as "" and read back as one empty address, as upstream splits it
      expect(second.body.emails).toEqual([""])
      expect((yield* restCall(engine, "GET", groups)).body).toEqual({ rows: [created.body, second.body] })

      const one = `/api/v1/alerting-email-groups/${created.body.metadata.id}`
      const updated = yield* restCall(engine, "PATCH", one, { emails: ["new@example.com"] })
      expect(updated).toEqual({ status: 200, body: { ...created.body, emails: ["new@example.com"] } })
      expect(yield* restCall(engine, "DELETE", one)).toEqual({ status: 204, body: undefined })
      expect((yield* restCall(engine, "GET", groups)).body).toEqual({ rows: [second.body] })
      expect(yield* restCall(engine, "DELETE", one)).toEqual({ status: 404, body: { message: "not found" } })
    }))

  it.scoped("email groups: upstream's validation, ids and tenants", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const groups = `/api/v1/tenants/${engine.tenantId}/alerting-email-groups`
      const invalid = (struct: string, indexes: ReadonlyArray<number>) => ({
        status: 400,
        body: {
          errors: indexes.map((i) => ({
            description: `validation failed on field '${struct}.Emails[${i}]': Invalid email address`,
            field: `emails[${i}]`
          }))
        }
      })
      const required = (struct: string) => ({
        status: 400,
        body: { errors: [{ description: `validation failed on field '${struct}.Emails': on condition 'required'`, field: "emails" }] }
      })
      const create = "CreateTenantAlertEmailGroupRequest"
      expect(yield* restCall(engine, "POST", groups, { emails: ["ok@example.com", "nope", "a@b", "x@y.com"] })).toEqual(
        invalid(create, [1, 2])
      )
      for (const bad of ["a@@b.com", "@b.com", "a@b.c1", "a b@c.com", "a.@b.com", "a@-b.com"]) {
        expect((yield* restCall(engine, "POST", groups, { emails: [bad] })).status, bad).toBe(400)
      }
      for (const good of ["a+tag@sub.example.co", "o'brien@example.ie", "a@b.c.", "a@x-y.example"]) {
        expect((yield* restCall(engine, "POST", groups, { emails: [good] })).status, good).toBe(201)
      }
      expect(yield* restCall(engine, "POST", groups, {})).toEqual(required(create))
      expect(yield* restCall(engine, "POST", groups, { emails: null })).toEqual(required(create))
      expect(yield* restCall(engine, "POST", groups, { emails: "a@b.com" })).toEqual({
        status: 400,
        body: { message: "Unmarshal type error: expected=[]string, got=string, field=emails, offset=19" }
      })
      // the repository's max=255 per address
      expect(yield* restCall(engine, "POST", groups, { emails: [`${"a".repeat(250)}@b.com`] })).toEqual({
        status: 500,
        body: { message: "Internal Server Error" }
      })

      const mine = (yield* restCall(engine, "POST", groups, { emails: ["me@example.com"] })).body.metadata.id
      const theirToken = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const theirs = (yield* restCall(engine, "POST", `/api/v1/tenants/${otherTenant}/alerting-email-groups`, {
        emails: ["them@example.com"]
      }, theirToken)).body.metadata.id
      expect(yield* restCall(engine, "PATCH", `/api/v1/alerting-email-groups/${mine}`, { emails: ["bad"] })).toEqual(
        invalid("UpdateTenantAlertEmailGroupRequest", [0])
      )
      for (const method of ["PATCH", "DELETE"]) {
        expect(yield* restCall(engine, method, "/api/v1/alerting-email-groups/abc")).toEqual({
          status: 400,
          body: { message: "invalid alert email group id" }
        })
        expect(yield* restCall(engine, method, `/api/v1/alerting-email-groups/${unknownId}`, undefined, "")).toEqual({
          status: 404,
          body: { message: "not found" }
        })
        expect(yield* restCall(engine, method, `/api/v1/alerting-email-groups/${theirs}`, { emails: ["x@y.com"] })).toEqual(
          forbidden
        )
      }
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/alerting-email-groups`)).toEqual(forbidden)
      const theirList = yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/alerting-email-groups`, undefined, theirToken)
      expect(theirList.body.rows.map((g: any) => g.emails)).toEqual([["them@example.com"]])
    }))
})
