/**
 * The REST skeleton: bearer authentication and errors as upstream, the tenant route the official
 * SDK calls at start-up, and run details by id.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"

const otherTenant = "5e1d7c5a-4444-4444-8444-444444444444"

const get = (url: string, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    return { status: response.status, body: (await response.json()) as unknown }
  })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST", (it) => {
  it.scoped("GET /api/v1/tenants/{tenant}: V1 tenant; 403 without valid credentials; 400 on a bad id", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const ok = yield* get(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`, token)
      expect(ok.status).toBe(200)
      expect(ok.body).toMatchObject({ metadata: { id: engine.tenantId }, version: "V1", name: "Default" })
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      expect(yield* get(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`)).toEqual(forbidden)
      expect(yield* get(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`, "garbage")).toEqual(forbidden)
      const other = yield* engine.mintToken({ tenantId: otherTenant })
      expect(yield* get(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`, Redacted.value(other))).toEqual(forbidden)
      expect(yield* get(`${engine.apiUrl}/api/v1/tenants/not-a-uuid`, token)).toEqual({
        status: 400,
        body: { message: "invalid tenant id" }
      })
      expect((yield* get(`${engine.apiUrl}/api/v1/nothing-here`, token)).status).toBe(404)
    }))

  it.scoped("GET /api/v1/stable/workflow-runs/{id} and /status", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${token}`)
      yield* Effect.promise(() =>
        c.admin.putWorkflow({
          name: "rest-dag",
          tasks: [
            { readableId: "a", action: "rest-dag:a", timeout: "60s", inputs: "{}" },
            { readableId: "b", action: "rest-dag:b", timeout: "60s", inputs: "{}", parents: ["a"] }
          ]
        })
      )
      const { workflowRunId } = yield* Effect.promise(() =>
        c.workflows.triggerWorkflow({ name: "rest-dag", input: "{\"x\":1}", additionalMetadata: "{\"k\":\"v\"}" })
      )
      const details = yield* get(`${engine.apiUrl}/api/v1/stable/workflow-runs/${workflowRunId}`, token)
      expect(details.status).toBe(200)
      expect(details.body).toMatchObject({
        run: {
          metadata: { id: workflowRunId },
          status: "QUEUED",
          tenantId: engine.tenantId,
          input: { x: 1 },
          additionalMetadata: { k: "v" }
        },
        tasks: [{ status: "QUEUED", workflowRunExternalId: workflowRunId }],
        shape: [{ taskName: "a" }, { taskName: "b" }]
      })
      const status = yield* get(`${engine.apiUrl}/api/v1/stable/workflow-runs/${workflowRunId}/status`, token)
      expect(status).toEqual({ status: 200, body: "QUEUED" })
      expect(yield* get(`${engine.apiUrl}/api/v1/stable/workflow-runs/2f2f2f2f-5555-4555-8555-555555555555`, token)).toEqual({
        status: 404,
        body: { message: "not found" }
      })
      expect(yield* get(`${engine.apiUrl}/api/v1/stable/workflow-runs/nope/status`, token)).toEqual({
        status: 400,
        body: { message: "invalid workflow run id" }
      })
      const other = yield* engine.mintToken({ tenantId: otherTenant })
      expect((yield* get(`${engine.apiUrl}/api/v1/stable/workflow-runs/${workflowRunId}`, Redacted.value(other))).status).toBe(403)
    }))
})
