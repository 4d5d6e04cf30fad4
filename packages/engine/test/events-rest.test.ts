/**
 * The filters and events routes over loopback with raw requests: the answers upstream gives for
 * bad ids, unknown resources, other tenants, bad bodies and list parameters, and the shapes of
 * `V1Filter`, `V1FilterList`, `V1Event` and `V1EventList`.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Clocked from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"

const otherTenant = "5e1d7c5a-4444-4444-8444-444444444444"
const unknownId = "0b9c7a6e-1111-4111-8111-111111111111"

/** A REST call whose JSON body the test reads freely. */
const call = (...args: Parameters<typeof Clocked.call>) =>
  Clocked.call(...args) as Effect.Effect<{ readonly status: number; readonly body: any }>

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST filters and events", (it) => {
  it.scoped("filters: create, get, list, update, delete, and upstream's errors", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/filters`
      const workflowId = "7f0c3a4e-2222-4222-8222-222222222222"
      const created = yield* call("POST", base, token, { workflowId, scope: "s", expression: "input.a == 1" })
      expect(created.status).toBe(200)
      expect(created.body).toEqual({
        expression: "input.a == 1",
        metadata: { id: expect.any(String), createdAt: expect.any(String), updatedAt: expect.any(String) },
        payload: {},
        scope: "s",
        tenantId: engine.tenantId,
        workflowId,
        isDeclarative: false
      })
      const id = created.body.metadata.id as string
      // the same filter: the unique index, echo's 500
      expect(yield* call("POST", base, token, { workflowId, scope: "s", expression: "input.a == 1", payload: {} })).toEqual({
        status: 500,
        body: { message: "Internal Server Error" }
      })
      // nothing is checked but the id's form: a missing id is the nil UUID, empty fields are kept
      const bare = yield* call("POST", base, token, {})
      expect(bare.body).toMatchObject({ workflowId: "00000000-0000-0000-0000-000000000000", scope: "", expression: "" })
      expect(yield* call("POST", base, token, { workflowId: "nope", scope: "s", expression: "true" })).toEqual({
        status: 400,
        body: { message: "invalid UUID length: 4" }
      })
      expect((yield* call("POST", base, token, { workflowId, scope: 1 })).status).toBe(400)
      expect((yield* call("POST", base, undefined, { workflowId })).status).toBe(403)

      // list: newest id first, paging as upstream (the current page counts from 0)
      const second = yield* call("POST", base, token, { workflowId, scope: "t", expression: "true", payload: { k: "v" } })
      const listed = yield* call("GET", `${base}?workflowIds=${workflowId}`, token)
      expect(listed.body.rows.map((f: any) => f.metadata.id)).toEqual([id, second.body.metadata.id].sort().reverse())
      expect(listed.body.pagination).toEqual({ current_page: 0, next_page: 1, num_pages: 1 })
      expect((yield* call("GET", `${base}?scopes=t`, token)).body.rows.map((f: any) => f.metadata.id)).toEqual([second.body.metadata.id])
      const secondPage = yield* call("GET", `${base}?limit=1&offset=1&workflowIds=${workflowId}`, token)
      expect(secondPage.body.pagination).toEqual({ current_page: 1, next_page: 2, num_pages: 2 })
      expect(yield* call("GET", `${base}?limit=0`, token)).toEqual({
        status: 400,
        body: { errors: [{ description: "failed to list filters" }] }
      })
      expect(yield* call("GET", `${base}?offset=-1`, token)).toEqual({
        status: 400,
        body: { errors: [{ description: "failed to list filters" }] }
      })
      expect((yield* call("GET", `${base}?workflowIds=x`, token)).status).toBe(400)

      // get / update / delete keyed by the filter: checked before the token, as upstream's populator
      expect(yield* call("GET", `${base}/${id}`, token)).toEqual({ status: 200, body: created.body })
      expect(yield* call("GET", `${base}/bad`, undefined)).toEqual({ status: 400, body: { message: "invalid filter id" } })
      expect(yield* call("GET", `${base}/${unknownId}`, undefined)).toEqual({ status: 404, body: { message: "not found" } })
      expect((yield* call("GET", `${base}/${id}`, undefined)).status).toBe(403)
      const other = Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))
      expect((yield* call("GET", `${base}/${id}`, other)).status).toBe(403)
      expect(
        (yield* call("GET", `${engine.apiUrl}/api/v1/stable/tenants/${otherTenant}/filters/${id}`, other)).status
      ).toBe(404)
      const updated = yield* call("PATCH", `${base}/${id}`, token, { payload: { p: 1 } })
      expect(updated.body).toMatchObject({ expression: "input.a == 1", scope: "s", payload: { p: 1 } })
      // an update into a duplicate: 500
      expect((yield* call("PATCH", `${base}/${id}`, token, { scope: "t", expression: "true", payload: { k: "v" } })).status).toBe(500)
      const deleted = yield* call("DELETE", `${base}/${id}`, token)
      expect(deleted).toMatchObject({ status: 200, body: { metadata: { id }, payload: { p: 1 } } })
      expect((yield* call("DELETE", `${base}/${id}`, token)).status).toBe(404)
    }))

  it.scoped("events: list with its filters, get, keys; the runs each event triggered", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${token}`)
      yield* Effect.promise(() =>
        c.admin.putWorkflow({
          name: "on-order",
          eventTriggers: ["order:*"],
          tasks: [{ readableId: "t", action: "on-order:t", timeout: "60s", inputs: "{}" }]
        })
      )
      const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/events`
      const a = yield* Effect.promise(() =>
        c.events.push({
          key: "order:created",
          payload: "{\"n\":1}",
          additionalMetadata: "{\"team\":\"x\",\"n\":1}",
          scope: "shop",
          eventTimestamp: new Date()
        })
      )
      // a later millisecond: events seen at the same time list oldest first, as upstream's `ORDER BY seen_at DESC, id`
      yield* Effect.sleep("5 millis")
      const b = yield* Effect.promise(() => c.events.push({ key: "user:created", payload: "[1]", eventTimestamp: new Date() }))

      const got = yield* call("GET", `${base}/${a.eventId}`, token)
      expect(got.status).toBe(200)
      expect(got.body).toEqual({
        key: "order:created",
        metadata: { id: a.eventId, createdAt: expect.any(String), updatedAt: expect.any(String) },
        workflowRunSummary: { cancelled: 0, succeeded: 0, queued: 1, failed: 0, running: 0 },
        seenAt: got.body.metadata.createdAt,
        scope: "shop",
        triggeredRuns: [{ workflowRunId: expect.any(String) }],
        triggeringWebhookName: "",
        additionalMetadata: { team: "x", n: 1 },
        payload: { n: 1 },
        tenantId: ""
      })
      // the run is found from the event, and the event from its run's metadata
      const runId = got.body.triggeredRuns[0].workflowRunId as string
      const since = new Date(Date.now() - 60_000).toISOString()
      const runs = yield* call(
        "GET",
        `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=${since}&only_tasks=false&triggering_event_external_id=${a.eventId}`,
        token
      )
      expect(runs.body.rows.map((row: any) => row.metadata.id)).toEqual([runId])

      const list = (query: string) => Effect.map(call("GET", `${base}?${query}`, token), (r) => r.body.rows?.map((e: any) => e.metadata.id))
      expect(yield* list("")).toEqual([b.eventId, a.eventId])
      const listed = yield* call("GET", base, token)
      expect(listed.body.rows[0]).toMatchObject({ key: "user:created", payload: {}, additionalMetadata: {}, triggeredRuns: null })
      expect(listed.body.rows[0].scope).toBeUndefined()
      expect(listed.body.rows[0].triggeringWebhookName).toBeUndefined()
      expect(listed.body.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })
      expect(yield* list("keys=order:created")).toEqual([a.eventId])
      expect(yield* list("scopes=shop")).toEqual([a.eventId])
      expect(yield* list(`eventIds=${b.eventId}`)).toEqual([b.eventId])
      expect(yield* list("additionalMetadata=team:x")).toEqual([a.eventId])
      // jsonb containment of strings: the number 1 is not "1"
      expect(yield* list("additionalMetadata=n:1")).toEqual([])
      expect(yield* list("workflowRunStatuses=QUEUED")).toEqual([a.eventId])
      expect(yield* list("workflowRunStatuses=COMPLETED")).toEqual([])
      expect(yield* list(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([])
      expect(yield* list(`until=${new Date(Date.now() - 60_000).toISOString()}`)).toEqual([])
      expect(yield* list("limit=1&offset=1")).toEqual([a.eventId])
      expect((yield* call("GET", `${base}?limit=1`, token)).body.pagination).toEqual({ current_page: 1, next_page: 2, num_pages: 2 })
      for (
        const bad of ["limit=0", "limit=-1", "offset=-1", "additionalMetadata=novalue", "additionalMetadata=k:", "workflowRunStatuses=DONE"]
      ) {
        expect(yield* call("GET", `${base}?${bad}`, token), bad).toEqual({ status: 500, body: { message: "Internal Server Error" } })
      }
      expect((yield* call("GET", `${base}?eventIds=bad`, token)).status).toBe(400)
      expect((yield* call("GET", `${base}/keys`, token)).body.rows.sort()).toEqual(["order:created", "user:created"])

      expect(yield* call("GET", `${base}/bad`, undefined)).toEqual({ status: 400, body: { message: "invalid event id" } })
      expect(yield* call("GET", `${base}/${unknownId}`, undefined)).toEqual({ status: 404, body: { message: "not found" } })
      expect((yield* call("GET", `${base}/${a.eventId}`, undefined)).status).toBe(403)
      expect((yield* call("GET", base, undefined)).status).toBe(403)
    }))
})
