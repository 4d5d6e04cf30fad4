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
          body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
        })
        expect(yield* call(url, { token, body: { externalIds: "abc" } })).toEqual({
          status: 400,
          body: { message: "Unmarshal type error: expected=[]uuid.UUID, got=string, field=externalIds, offset=20" }
        })
        expect(yield* call(url, { token, body: { externalIds: ["abc"] } })).toEqual({
          status: 400,
          body: { message: "invalid UUID length: 3" }
        })
        expect(yield* call(url, { token, body: { filter: { since: "yesterday" } } })).toEqual({
          status: 400,
          body: { message: "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"" }
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

  it.scoped("trigger and cancel bodies as upstream's echo binds them: a media type other than JSON 415, not JSON a Go syntax error, a field of the wrong type a Go type error, keys as Go matches them", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const { name } = yield* seed(engine)
      const trigger = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/workflow-runs/trigger`
      const cancel = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/tasks/cancel`
      const post = (url: string, body: string, contentType?: string) =>
        Effect.promise(async () => {
          const response = await fetch(url, {
            method: "POST",
            headers: {
              authorization: `Bearer ${Redacted.value(engine.token)}`,
              ...(contentType !== undefined ? { "content-type": contentType } : {})
            },
            body
          })
          return { status: response.status, body: (await response.json()) as any }
        })
      const message = (status: number, text: string) => ({ status, body: { message: text } })
      const valid = JSON.stringify({ workflowName: name, input: {} })
      for (const url of [trigger, cancel]) {
        // the media type: only application/json (parameters aside) is read
        expect(yield* post(url, valid, "text/plain")).toEqual(message(415, "Unsupported Media Type"))
        expect(yield* post(url, valid)).toEqual(message(415, "Unsupported Media Type"))
        expect(yield* post(url, valid, "application/JSON")).toEqual(message(415, "Unsupported Media Type"))
        // not JSON: Go's scanner, at the byte at fault; blank or cut short: io.EOF, io.ErrUnexpectedEOF
        expect(yield* post(url, "not json", "application/json"))
          .toEqual(message(400, "Syntax error: offset=2, error=invalid character 'o' in literal null (expecting 'u')"))
        expect(yield* post(url, "{\"externalIds\": [1,]}", "application/json"))
          .toEqual(message(400, "Syntax error: offset=20, error=invalid character ']' looking for beginning of value"))
        expect(yield* post(url, " ", "application/json")).toEqual(message(400, "EOF"))
        expect(yield* post(url, "{\"workflowName\":", "application/json")).toEqual(message(400, "unexpected EOF"))
      }
      // a field of the wrong type: Go's UnmarshalTypeError as echo prints it
      expect(yield* post(trigger, "{\"workflowName\":5}", "application/json"))
        .toEqual(message(400, "Unmarshal type error: expected=string, got=number, field=workflowName, offset=17"))
      expect(yield* post(trigger, "[]", "application/json"))
        .toEqual(message(400, "Unmarshal type error: expected=gen.V1TriggerWorkflowRunRequest, got=array, field=, offset=1"))
      expect(yield* post(trigger, JSON.stringify({ workflowName: name, priority: 1.5 }), "application/json.x"))
        .toEqual(message(415, "Unsupported Media Type"))
      expect(
        yield* post(trigger, JSON.stringify({ workflowName: name, input: { a: 1 }, priority: 1.5 }), "application/json; charset=utf-8")
      )
        .toEqual(message(400, `Unmarshal type error: expected=int, got=number 1.5, field=priority, offset=${49 + name.length}`))
      expect(yield* post(cancel, "{\"filter\":{\"statuses\":[1]}}", "application/json"))
        .toEqual(message(400, "Unmarshal type error: expected=gen.V1TaskStatus, got=number, field=filter.statuses, offset=24"))
      expect(yield* post(cancel, "{\"filter\":{\"since\":5}}", "application/json"))
        .toEqual(message(400, "Time.UnmarshalJSON: input is not a JSON string"))

      // the other routes' bodies, decoded as their Go structs
      const t = `${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`
      const st = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}`
      const typeErrors: ReadonlyArray<readonly [string, string, string]> = [
        [
          `${t}/workflows/${name}/crons`,
          "{\"cronName\":\"c\",\"priority\":3000000000}",
          "Unmarshal type error: expected=int32, got=number 3000000000, field=priority, offset=37"
        ],
        [`${t}/workflows/${name}/scheduled`, "{\"triggerAt\":5}", "Time.UnmarshalJSON: input is not a JSON string"],
        [`${t}/workflows/scheduled/bulk-delete`, "{\"filter\":{\"workflowId\":\"x\"}}", "invalid UUID length: 1"],
        [
          `${t}/workflows/scheduled/bulk-update`,
          "{\"updates\":{}}",
          "Unmarshal type error: expected=[]gen.ScheduledWorkflowsBulkUpdateItem, got=object, field=updates, offset=12"
        ],
        [`${st}/filters`, "{\"workflowId\":7}", "Unmarshal type error: expected=uuid.UUID, got=number, field=workflowId, offset=15"],
        [
          `${st}/cel/debug`,
          "{\"expression\":\"true\",\"input\":\"x\"}",
          "Unmarshal type error: expected=map[string]interface {}, got=string, field=input, offset=32"
        ],
        [`${st}/durable-tasks/branch`, "{\"taskExternalId\":\"abc\"}", "invalid UUID length: 3"],
        [`${st}/durable-tasks/branch`, "{\"nodeId\":\"1\"}", "Unmarshal type error: expected=int64, got=string, field=nodeId, offset=13"],
        // what JSON.parse would let through: a whole number with a fraction, a repeated key's earlier value
        [`${st}/durable-tasks/branch`, "{\"nodeId\":1.0}", "Unmarshal type error: expected=int64, got=number 1.0, field=nodeId, offset=13"],
        [
          `${t}/workflows/${name}/crons`,
          "{\"cronName\":\"c\",\"priority\":\"1\",\"priority\":1}",
          "Unmarshal type error: expected=int32, got=string, field=priority, offset=30"
        ]
      ]
      for (const [url, body, text] of typeErrors) {
        expect([url, yield* post(url, body, "application/json")]).toEqual([url, message(400, text)])
      }

      // what Go decodes: keys case-insensitively, the first value (what follows is not read), the
      // schema's `return_only_id` (as the official client sends it): only the run's id
      const loose = yield* post(trigger, `{"WORKFLOWNAME":${JSON.stringify(name)},"Input":{"n":1}} and more`, "application/json")
      expect(loose.status).toBe(200)
      expect(loose.body.run).toMatchObject({ displayName: expect.stringContaining(name), input: { n: 1 } })
      const onlyId = yield* Effect.promise(() =>
        hatchet.api.v1WorkflowRunCreate(engine.tenantId, { workflowName: name, input: {}, return_only_id: true })
      )
      expect(Object.keys(onlyId.data)).toEqual(["run"])
      expect(Object.keys(onlyId.data.run)).toEqual(["metadata"])
      // no body: nothing bound, the cancel selects nothing
      expect(yield* Effect.promise(() => hatchet.api.v1TaskCancel(engine.tenantId, {}).then((r) => r.data)))
        .toEqual({ ids: [] })
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
          {
            message:
              "Invalid format for parameter since: error parsing 'last-week' as RFC3339 or 2006-01-02 time: parsing time \"last-week\" as \"2006-01-02\": cannot parse \"last-week\" as \"2006\""
          }
        ],
        [
          // no offset: not RFC 3339, and a date followed by more
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2022-12-21T15:04:05&only_tasks=false`,
          400,
          {
            message:
              "Invalid format for parameter since: error parsing '2022-12-21T15:04:05' as RFC3339 or 2006-01-02 time: parsing time \"2022-12-21T15:04:05\": extra text: \"T15:04:05\""
          }
        ],
        [
          `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=2024-13-01&only_tasks=false`,
          400,
          {
            message:
              "Invalid format for parameter since: error parsing '2024-13-01' as RFC3339 or 2006-01-02 time: parsing time \"2024-13-01\": month out of range"
          }
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
      // a date alone is midnight UTC of that day, as oapi-codegen's runtime reads it
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
      const listedSince = (since: string) =>
        Effect.map(
          call(`${api}/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=${since}&only_tasks=false`, { token }),
          (answer) => {
            expect(answer.status).toBe(200)
            return (answer.body as { rows: Array<{ metadata: { id: string } }> }).rows.map((row) => row.metadata.id)
          }
        )
      expect(yield* listedSince(day(-1))).toContain(runId)
      expect(yield* listedSince(day(2))).toEqual([])
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

  it.scoped("another tenant's resource under one's own tenant path, as upstream's populator answers before the token: 403 where its getter finds the resource by id alone, 404 where it looks in the path's tenant; a tenant the engine does not have 404", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const api = engine.apiUrl
      const mine = yield* seed(engine)
      const hatchet = Official.client(engine)
      // our tenant's crons, scheduled runs, filters, events and webhooks
      const cron = yield* Effect.promise(() => hatchet.crons.create(mine.name, { name: "nightly", expression: "0 0 * * *" }))
      const scheduled = yield* Effect.promise(() =>
        hatchet.scheduled.create(mine.name, { triggerAt: new Date(Date.now() + 3_600_000), input: {} })
      )
      const filter = yield* Effect.promise(() => hatchet.filters.create({ workflowId: mine.workflowId, expression: "true", scope: "s" }))
      const event = yield* Effect.promise(() => hatchet.events.push(`${mine.name}:event`, {}))
      yield* Effect.promise(() =>
        hatchet.webhooks.create({
          sourceName: "GENERIC" as never,
          name: `${mine.name}-hook`,
          eventKeyExpression: "'k'",
          auth: { headerName: "X-API-Key", apiKey: "key" }
        })
      )
      const otherToken = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const theirs = (path: string) => `${api}/api/v1${path.replace("{tenant}", otherTenant)}`
      const notAuthorized = { status: 403, body: { message: "not authorized to access this resource" } }
      // found by its id alone: the task of a durable-task route (and a member, tenant-members-official.test.ts)
      for (const token of [otherToken, undefined, `Bearer ${Redacted.value(engine.token)}`]) {
        expect(yield* call(theirs(`/stable/tenants/{tenant}/durable-tasks/${mine.runId}`), { token })).toEqual(notAuthorized)
      }
      expect(yield* call(theirs(`/stable/tenants/{tenant}/durable-tasks/${unknownId}`), { token: otherToken })).toEqual({
        status: 404,
        body: { message: "durable task not found" }
      })
      // looked up in the path's tenant: answered as an id that tenant does not have (404 "not found",
      // the getter's own 404, or for a cron the getter's plain error, echo's 500)
      for (
        const [path, id] of [
          ["/tenants/{tenant}/workflows/crons/{id}", cron.metadata.id],
          ["/tenants/{tenant}/workflows/scheduled/{id}", scheduled.metadata.id],
          ["/stable/tenants/{tenant}/filters/{id}", filter.metadata.id],
          ["/stable/tenants/{tenant}/events/{id}", event.eventId],
          ["/tenants/{tenant}/events/{id}/data", event.eventId],
          ["/stable/tenants/{tenant}/webhooks/{id}", `${mine.name}-hook`]
        ] as const
      ) {
        const answer = yield* call(theirs(path.replace("{id}", id)), { token: otherToken })
        expect([path, answer]).toEqual([path, yield* call(theirs(path.replace("{id}", unknownId)), { token: otherToken })])
        expect([path, answer.status === 404 || answer.status === 500]).toEqual([path, true])
      }
      const notFound = { status: 404, body: { message: "not found" } }
      // found by its id alone, with no tenant in the path: the resource's tenant is not the token's
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      for (const path of [`/workflows/${mine.workflowId}`, `/workers/${mine.workerId}`, `/events/${event.eventId}`]) {
        expect([path, yield* call(`${api}/api/v1${path}`, { token: otherToken })]).toEqual([path, forbidden])
      }
      // a tenant the engine does not have: the populator's `tenant` getter finds none, before the token
      const unknownTenant = (path: string) => `${api}/api/v1${path.replace("{tenant}", unknownId)}`
      for (const token of [`Bearer ${Redacted.value(engine.token)}`, undefined]) {
        for (
          const path of [
            "/tenants/{tenant}/workflows",
            "/stable/tenants/{tenant}/workflow-runs?since=2026-01-01T00:00:00Z",
            `/stable/tenants/{tenant}/filters/${filter.metadata.id}`,
            `/stable/tenants/{tenant}/durable-tasks/${mine.runId}`,
            `/tenants/{tenant}/workflow-runs/${mine.runId}/shape`
          ]
        ) {
          expect([path, yield* call(unknownTenant(path), { token })]).toEqual([path, notFound])
        }
      }
      // the deprecated v0 shape route: the tenant found, then upstream's `workflow-run` getter refuses it
      expect(yield* call(`${api}/api/v1/tenants/${engine.tenantId}/workflow-runs/${mine.runId}/shape`)).toEqual({
        status: 400,
        body: { message: "This endpoint is deprecated." }
      })
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
