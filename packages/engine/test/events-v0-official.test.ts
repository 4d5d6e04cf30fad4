/**
 * The v0 event routes with the official SDK's generated client (`api.eventGet`, `eventDataGet`,
 * `eventDataGetWithTenant`, and the list, keys, create, bulk, replay and cancel calls upstream
 * answers with its deprecation 400) against the local engine, for an event pushed with the
 * official client; raw REST for bad input.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

const deprecated = (description: string) => ({ status: 400, data: { errors: [{ description }] } })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("v0 event routes", (it) => {
  it.scoped("api.eventGet / eventDataGet / eventDataGetWithTenant read a pushed event; the deprecated calls get upstream's 400", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const key = Official.unique("v0-event")
      const payload = { b: 1, a: "x é", nested: { zz: [1, 2.5], y: null, quote: "\"\n" } }
      const pushed = yield* Effect.promise(() => hatchet.events.push(key, payload, { additionalMetadata: { source: "v0" } }))
      const v1 = (yield* Effect.promise(() => hatchet.api.v1EventGet(engine.tenantId, pushed.eventId))).data

      const got = yield* Effect.promise(() => hatchet.api.eventGet(pushed.eventId))
      expect(got.status).toBe(200)
      expect(got.data).toEqual({
        metadata: { id: pushed.eventId, createdAt: v1.metadata.createdAt, updatedAt: "0001-01-01T00:00:00Z" },
        key,
        tenantId: engine.tenantId
      })
      // the payload as Postgres writes the stored jsonb back
      const text = `{"a": "x é", "b": 1, "nested": {"y": null, "zz": [1, 2.5], "quote": "\\"\\n"}}`
      expect((yield* Effect.promise(() => hatchet.api.eventDataGet(pushed.eventId))).data).toEqual({ data: text })
      expect(JSON.parse(text)).toEqual(payload)
      expect((yield* Effect.promise(() => hatchet.api.eventDataGetWithTenant(pushed.eventId, engine.tenantId))).data).toEqual({
        data: text
      })

      const tenant = engine.tenantId
      expect(yield* Official.restError(() => hatchet.api.eventList(tenant, { limit: 10, keys: [key] }))).toEqual(
        deprecated("EventList is deprecated")
      )
      expect(yield* Official.restError(() => hatchet.api.eventKeyList(tenant))).toEqual(deprecated("EventKeyList is deprecated"))
      expect(yield* Official.restError(() => hatchet.api.eventCreate(tenant, { key, data: {} }))).toEqual(
        deprecated("EventCreate is deprecated")
      )
      expect(yield* Official.restError(() => hatchet.api.eventCreateBulk(tenant, { events: [{ key, data: {} }] }))).toEqual(
        deprecated("EventCreateBulk is deprecated")
      )
      expect(yield* Official.restError(() => hatchet.api.eventUpdateReplay(tenant, { eventIds: [pushed.eventId] }))).toEqual(
        deprecated("EventUpdateReplay is deprecated")
      )
      expect(yield* Official.restError(() => hatchet.api.eventUpdateCancel(tenant, { eventIds: [pushed.eventId] }))).toEqual(
        deprecated("EventUpdateCancel is deprecated; please use V1TaskCancel instead")
      )
      // nothing was pushed by the deprecated create
      const listed = yield* Effect.promise(() => hatchet.events.list({ keys: [key] }))
      expect(listed.rows?.map((row) => row.metadata.id)).toEqual([pushed.eventId])
    }))

  it.scoped("bad input: ids, tenants, tokens, query parameters and bodies as upstream answers them", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const pushed = yield* Effect.promise(() => hatchet.events.push(Official.unique("v0-errors"), { n: 1 }))
      const other = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const notFound = { status: 404, body: { message: "not found" } }
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      for (const path of ["/api/v1/events/abc", "/api/v1/events/abc/data"]) {
        expect(yield* restCall(engine, "GET", path)).toEqual({ status: 400, body: { message: "invalid event id" } })
      }
      expect(yield* restCall(engine, "GET", `/api/v1/events/${unknownId}`)).toEqual(notFound)
      expect(yield* restCall(engine, "GET", `/api/v1/events/${unknownId}/data`)).toEqual(notFound)
      expect(yield* restCall(engine, "GET", `/api/v1/events/${pushed.eventId}`, undefined, other)).toEqual(forbidden)
      expect(yield* restCall(engine, "GET", `/api/v1/events/${pushed.eventId}/data`, undefined, other)).toEqual(forbidden)
      // under a tenant's path: the event must be that tenant's (404 before the token is checked)
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/events/${pushed.eventId}/data`, undefined, other)).toEqual(
        notFound
      )
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/events/${pushed.eventId}/data`, undefined, other))
        .toEqual(forbidden)
      expect(yield* restCall(engine, "GET", `/api/v1/tenants/abc/events/${pushed.eventId}/data`)).toEqual({
        status: 400,
        body: { message: "invalid tenant id" }
      })

      const events = `/api/v1/tenants/${engine.tenantId}/events`
      expect(yield* restCall(engine, "GET", `${events}?eventIds=abc`)).toEqual({
        status: 400,
        body: { message: "Invalid format for parameter eventIds: invalid UUID length: 3" }
      })
      expect((yield* restCall(engine, "GET", `${events}?limit=x`)).body.message).toMatch(/^Invalid format for parameter limit: /)
      expect(yield* restCall(engine, "GET", events, undefined, other)).toEqual(forbidden)
      expect(yield* restCall(engine, "POST", `${events}/replay`, "{not json")).toEqual({
        status: 400,
        body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
      })
      // no body at all is bound as none
      expect(yield* restCall(engine, "POST", `${events}/cancel`)).toEqual({
        status: 400,
        body: { errors: [{ description: "EventUpdateCancel is deprecated; please use V1TaskCancel instead" }] }
      })
    }))
})
