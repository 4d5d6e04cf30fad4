/**
 * Bad input over REST: malformed bodies, invalid or unknown ids, bad query parameters, bad
 * tokens and another tenant's ids each get a clear HTTP error in upstream's shape, and the engine
 * keeps serving everyone else.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"
import * as Official from "./support/official.js"
import { otherTenant, unknownId } from "./support/rest.js"

/** One HTTP call; `body` is sent verbatim when it is a string. */
const call = (url: string, options: { readonly token?: string | undefined; readonly body?: unknown } = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: options.body === undefined ? "GET" : "POST",
      headers: {
        ...(options.token !== undefined ? { authorization: options.token } : {}),
        ...(options.body !== undefined ? { "content-type": "application/json" } : {})
      },
      ...(options.body !== undefined ? { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) } : {})
    })
    return { status: response.status, body: (await response.json()) as unknown }
  })

/** A tenant's engine objects: a queued run (with a log line) and a registered worker. */
const seed = (engine: Engine.EngineService) =>
  Effect.gen(function*() {
    const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
    const name = Official.unique("rest-errors")
    const { workflowId } = yield* Effect.promise(() =>
      c.admin.putWorkflow({ name, tasks: [{ readableId: name, action: `${name}:${name}`, timeout: "60s", inputs: "{}" }] })
    )
    const { workflowRunId } = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: "{}" }))
    yield* Effect.promise(() => c.events.putLog({ taskRunExternalId: workflowRunId, message: "a secret line", level: "INFO" }))
    const { workerId } = yield* Effect.promise(() =>
      c.dispatcher.register({ workerName: `${name}-w`, actions: ["other:action"], slotConfig: { default: 1 } })
    )
    return { name, workflowId, runId: workflowRunId, workerId }
  })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("REST bad input", (it) => {
  it.scoped("cancel / replay: malformed JSON, wrong shapes, invalid UUIDs and times, ids with a filter are 400; a valid cancel still works", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = `Bearer ${Redacted.value(engine.token)}`
      const { runId } = yield* seed(engine)
      const since = new Date(Date.now() - 60_000).toISOString()
      for (const operation of ["cancel", "replay"]) {
        const url = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/tasks/${operation}`
        expect(yield* call(url, { token, body: "{not json" })).toEqual({
          status: 400,
          body: { errors: [{ description: "Invalid request body" }] }
        })
        const wrongShape = yield* call(url, { token, body: { externalIds: "abc" } })
        expect(wrongShape.status).toBe(400)
        expect(wrongShape.body).toEqual({ message: expect.stringMatching(/^Unmarshal type error: field=externalIds,/) })
        const noSince = yield* call(url, { token, body: { filter: { statuses: ["FAILED"] } } })
        expect(noSince.body).toEqual({ message: expect.stringMatching(/^Unmarshal type error: field=filter\.since,/) })
        expect(yield* call(url, { token, body: { externalIds: ["abc"] } })).toEqual({
          status: 400,
          body: { message: "invalid UUID length: 3" }
        })
        expect(yield* call(url, { token, body: { filter: { since: "yesterday" } } })).toEqual({
          status: 400,
          body: { message: "parsing time \"yesterday\": not an RFC 3339 date-time" }
        })
        expect(yield* call(url, { token, body: { filter: { since, workflowIds: ["nope"] } } })).toEqual({
          status: 400,
          body: { message: "invalid UUID length: 4" }
        })
        expect(yield* call(url, { token, body: { externalIds: [runId], filter: { since } } })).toEqual({
          status: 400,
          body: { errors: [{ description: "cannot provide both external ids and filter" }] }
        })
      }
      const cancelled = yield* call(`${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/tasks/cancel`, {
        token,
        body: { externalIds: [runId.toUpperCase()] }
      })
      expect(cancelled).toEqual({ status: 200, body: { ids: [runId] } })
      expect(yield* call(`${engine.apiUrl}/api/v1/stable/workflow-runs/${runId}/status`, { token })).toEqual({
        status: 200,
        body: "CANCELLED"
      })
    }))

  it.scoped("invalid path ids are 400, unknown ids 404, bad query parameters 400", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = `Bearer ${Redacted.value(engine.token)}`
      const api = engine.apiUrl
      const cases: ReadonlyArray<readonly [string, number, unknown]> = [
        ["/api/v1/stable/tasks/abc", 400, { message: "invalid task id" }],
        ["/api/v1/stable/tasks/abc/logs", 400, { message: "invalid task id" }],
        [`/api/v1/stable/tasks/${unknownId}`, 404, { message: "task not found" }],
        [`/api/v1/stable/tasks/${unknownId}/logs`, 404, { message: "task not found" }],
        ["/api/v1/workers/abc", 400, { message: "invalid worker id" }],
        [`/api/v1/workers/${unknownId}`, 404, { message: "not found" }],
        ["/api/v1/workflows/abc", 400, { message: "invalid workflow id" }],
        [`/api/v1/workflows/${unknownId}`, 404, { message: "not found" }],
        ["/api/v1/stable/tenants/abc/workflow-runs", 400, { message: "invalid tenant id" }],
        [`/api/v1/stable/workflow-runs/${unknownId}/task-events`, 404, { message: "not found" }],
        [`/api/v1/tenants/${engine.tenantId}/workflow-runs/${unknownId}/shape`, 400, { message: "This endpoint is deprecated." }],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?only_tasks=false`,
          400,
          { message: "Invalid format for parameter since: query parameter 'since' is required" }
        ],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2024-01-01T00:00:00Z`,
          400,
          { message: "Invalid format for parameter only_tasks: query parameter 'only_tasks' is required" }
        ],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=last-week&only_tasks=false`,
          400,
          { message: "Invalid format for parameter since: error parsing 'last-week' as RFC3339 or 2006-01-02 time" }
        ],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2024-01-01T00:00:00Z&only_tasks=false&workflow_ids=abc`,
          400,
          { message: "Invalid format for parameter workflow_ids: invalid UUID length: 3" }
        ],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2024-01-01T00:00:00Z&only_tasks=maybe`,
          400,
          {
            message:
              "Invalid format for parameter only_tasks: error binding string parameter: strconv.ParseBool: parsing \"maybe\": invalid syntax"
          }
        ],
        [
          `/api/v1/tenants/${engine.tenantId}/workflows?limit=ten`,
          400,
          {
            message: "Invalid format for parameter limit: error binding string parameter: strconv.ParseInt: parsing \"ten\": invalid syntax"
          }
        ]
      ]
      for (const [path, status, body] of cases) {
        expect([path, yield* call(`${api}${path}`, { token })]).toEqual([path, { status, body }])
      }
      const { runId } = yield* seed(engine)
      const badOrder = yield* call(`${api}/api/v1/stable/tasks/${runId}/logs?order_by_direction=UP`, { token })
      expect(badOrder).toEqual({
        status: 400,
        body: { message: "Invalid format for parameter order_by_direction: must be one of ASC, DESC, got UP" }
      })
      // still serving
      expect((yield* call(`${api}/api/v1/stable/tasks/${runId}/logs`, { token })).status).toBe(200)
    }))

  it.scoped("a missing or bad token is 403; another tenant's runs, tasks, logs, workers and workflows are neither visible nor affected", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const api = engine.apiUrl
      const mine = yield* seed(engine)
      const other = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      const since = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())
      const tenantPaths = [
        `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=${since}&only_tasks=false`,
        `/api/v1/tenants/${engine.tenantId}/workflows`,
        `/api/v1/tenants/${engine.tenantId}/worker`
      ]
      const resourcePaths = [
        `/api/v1/stable/workflow-runs/${mine.runId}`,
        `/api/v1/stable/tasks/${mine.runId}`,
        `/api/v1/stable/tasks/${mine.runId}/logs`,
        `/api/v1/workers/${mine.workerId}`,
        `/api/v1/workflows/${mine.workflowId}`
      ]
      for (const token of [undefined, "Bearer garbage", `bearer ${Redacted.value(engine.token)}`, other]) {
        for (const path of [...tenantPaths, ...resourcePaths]) {
          expect([path, token, yield* call(`${api}${path}`, { token })]).toEqual([path, token, forbidden])
        }
        const cancel = yield* call(`${api}/api/v1/stable/tenants/${engine.tenantId}/tasks/cancel`, {
          token,
          body: { externalIds: [mine.runId] }
        })
        expect(cancel).toEqual(forbidden)
      }

      // the other tenant's own views hold nothing of ours
      const otherRuns = yield* call(`${api}/api/v1/stable/tenants/${otherTenant}/workflow-runs?since=${since}&only_tasks=true`, {
        token: other
      })
      expect(otherRuns).toEqual({ status: 200, body: { pagination: { current_page: 1, next_page: 2, num_pages: 0 }, rows: [] } })
      expect((yield* call(`${api}/api/v1/tenants/${otherTenant}/workflows`, { token: other })).body).toMatchObject({ rows: [] })
      expect((yield* call(`${api}/api/v1/tenants/${otherTenant}/worker`, { token: other })).body).toMatchObject({ rows: [] })
      // from the other tenant, cancel echoes the requested id (as upstream) and replay replays
      // nothing; neither touches our run
      const url = (operation: string) => `${api}/api/v1/stable/tenants/${otherTenant}/tasks/${operation}`
      expect(yield* call(url("cancel"), { token: other, body: { externalIds: [mine.runId] } })).toEqual({
        status: 200,
        body: { ids: [mine.runId] }
      })
      expect(yield* call(url("replay"), { token: other, body: { externalIds: [mine.runId] } })).toEqual({
        status: 200,
        body: { ids: [] }
      })
      const token = `Bearer ${Redacted.value(engine.token)}`
      expect(yield* call(`${api}/api/v1/stable/workflow-runs/${mine.runId}/status`, { token })).toEqual({ status: 200, body: "QUEUED" })
      const logs = yield* call(`${api}/api/v1/stable/tasks/${mine.runId}/logs`, { token })
      expect(logs.body).toMatchObject({ rows: [{ message: "a secret line", level: "INFO", taskExternalId: mine.runId }] })
    }))

  it.scoped("page sizes as upstream: limit and offset are int64, narrowed to int32; a negative page is 500, logs above 10,000 too", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = `Bearer ${Redacted.value(engine.token)}`
      const { name, runId, workflowId } = yield* seed(engine)
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      for (let i = 0; i < 3; i++) yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: "{}" }))
      const list = (query: string) =>
        call(
          `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2024-01-01T00:00:00Z&only_tasks=false&${query}`,
          { token }
        )
      const serverError = { status: 500, body: { message: "Internal Server Error" } }
      // 10^18 narrows to a negative int32 (the reported "return every run" page): the database refuses it
      expect(yield* list("limit=1000000000000000000")).toEqual(serverError)
      expect(yield* list("offset=-1")).toEqual(serverError)
      expect(yield* list("limit=-5&only_tasks=true")).toEqual(serverError)
      expect(yield* list("limit=99999999999999999999")).toEqual({
        status: 400,
        body: {
          message:
            "Invalid format for parameter limit: error binding string parameter: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        }
      })
      // 2^32 + 2 narrows to 2
      const narrowed = yield* list(`limit=4294967298&workflow_ids=${workflowId}`)
      expect(narrowed.status).toBe(200)
      expect((narrowed.body as { rows: Array<unknown> }).rows).toHaveLength(2)
      const page = yield* list(`limit=3&offset=3&workflow_ids=${workflowId}`)
      expect(page.body).toMatchObject({ pagination: { current_page: 2, next_page: 3, num_pages: 2 } })
      expect((page.body as { rows: Array<unknown> }).rows).toHaveLength(1)
      const logs = (limit: number) => call(`${engine.apiUrl}/api/v1/stable/tasks/${runId}/logs?limit=${limit}`, { token })
      expect((yield* logs(10_000)).status).toBe(200)
      expect(yield* logs(10_001)).toEqual(serverError)
      expect(yield* logs(0)).toEqual(serverError)
    }))
})
