/**
 * Scheduled runs (`docs/engine.md` §6.3, §10) under TestClock: the domain rules with the
 * in-process harness (firing exactly at `triggerAt`, with the stored input, metadata and priority;
 * rescheduling, deleting, past times, validation, listing), then the REST routes and
 * `WorkflowService/ScheduleWorkflow` of a whole engine whose clock is the test's.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import { grpcStatusOf } from "../src/internal/domain/errors.js"
import type { EngineState, Run } from "../src/internal/domain/model.js"
import * as Schedules from "../src/internal/domain/schedules.js"
import { advance, call, engineUnderTestClock } from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"
import { makeHarness, payloadOf, task, tenantId } from "./support/harness.js"

const iso = (ms: number) => new Date(ms).toISOString()

const runsOf = (state: EngineState, tenant: string, name: string): Array<Run> =>
  state.tenants.get(tenant)!.runs.all().filter((r) => r.workflow.name === name)

const scheduledIds = (state: EngineState, tenant: string) => [...state.tenants.get(tenant)!.scheduled.keys()]

const newScheduled = (triggerAt: number, extra: Partial<Schedules.NewScheduled> = {}): Schedules.NewScheduled => ({
  triggerAt,
  inputRaw: "{}",
  metadataRaw: "{}",
  priority: undefined,
  ...extra
})

describe("scheduled runs: rules", () => {
  it.scoped("fire exactly at triggerAt (not before) with the stored input, metadata and priority; the row is then gone", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("later", [task("t")], { defaultPriority: 3 })
      const w = yield* h.worker(["later:t"])
      const scheduled = yield* h.runEither((state, now) =>
        Schedules.createScheduled(
          state,
          tenantId,
          "later",
          newScheduled(60_000, {
            inputRaw: "{\"n\":1}",
            metadataRaw: "{\"k\":\"v\"}",
            priority: 2
          }),
          now
        )
      )
      // without a priority: 1, not the workflow's default priority (upstream stores 1)
      const plain = yield* h.runEither((state, now) => Schedules.createScheduled(state, tenantId, "later", newScheduled(60_000), now))
      expect(scheduled).toMatchObject({ method: "API", priority: 2, triggerAt: 60_000, createdAt: 0, version: { id: version.id } })
      expect(plain.priority).toBe(1)

      yield* h.advance(59_999, [w], 59_999)
      expect(runsOf(h.state, tenantId, "later")).toEqual([])
      expect(scheduledIds(h.state, tenantId)).toEqual([scheduled.id, plain.id])
      yield* h.advance(1, [w])
      const runs = runsOf(h.state, tenantId, "later")
      expect(runs.map((r) => [r.createdAt, r.priority])).toEqual([[60_000, 2], [60_000, 1]])
      expect(runs[0]!.metadata).toEqual({ k: "v", traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) })
      const [start] = w.starts()
      expect(payloadOf(start!).input).toEqual({ n: 1 })
      expect(start!.priority).toBe(2)
      expect(scheduledIds(h.state, tenantId)).toEqual([])
      // fired once
      yield* h.advance(120_000, [w])
      expect(runsOf(h.state, tenantId, "later")).toHaveLength(2)
    }))

  it.scoped("a run triggers the workflow's latest version, not the one it was scheduled on", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const v1 = yield* h.putWorkflow("versioned", [task("t")])
      const scheduled = yield* h.runEither((state, now) =>
        Schedules.createScheduled(state, tenantId, "versioned", newScheduled(10_000), now)
      )
      const v2 = yield* h.putWorkflow("versioned", [task("t"), task("u", { parents: ["t"] })])
      expect(scheduled.version.id).toBe(v1.id)
      yield* h.advance(10_000)
      expect(runsOf(h.state, tenantId, "versioned").map((r) => r.version.id)).toEqual([v2.id])
    }))

  it.scoped("a rescheduled run fires only at its new time (later or earlier); a deleted one never", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("moved", [task("t")])
      const create = (at: number, n: number) =>
        h.runEither((state, now) => Schedules.createScheduled(state, tenantId, "moved", newScheduled(at, { inputRaw: `{"n":${n}}` }), now))
      const later = yield* create(10_000, 1)
      const earlier = yield* create(30_000, 2)
      const deleted = yield* create(5_000, 3)
      yield* h.run((state) => Schedules.reschedule(state, later, 40_000))
      yield* h.run((state) => Schedules.reschedule(state, earlier, 20_000))
      expect(yield* h.run((state) => Schedules.deleteScheduled(state, tenantId, deleted.id))).toBe(true)
      expect(yield* h.run((state) => Schedules.deleteScheduled(state, tenantId, deleted.id))).toBe(false)
      const fired = () => runsOf(h.state, tenantId, "moved").map((r) => [r.createdAt, r.input])

      yield* h.advance(19_999)
      expect(fired()).toEqual([])
      yield* h.advance(1)
      expect(fired()).toEqual([[20_000, { n: 2 }]])
      yield* h.advance(19_999)
      expect(fired()).toEqual([[20_000, { n: 2 }]])
      yield* h.advance(1)
      expect(fired()).toEqual([[20_000, { n: 2 }], [40_000, { n: 1 }]])
      yield* h.advance(60_000)
      expect(fired()).toHaveLength(2)
      // moved away and back: still one run
      const back = yield* create(100_000, 4)
      yield* h.run((state) => Schedules.reschedule(state, back, 200_000))
      yield* h.run((state) => Schedules.reschedule(state, back, 100_000))
      yield* h.advance(200_000, [], 50_000)
      expect(fired()).toHaveLength(3)
    }))

  it.scoped("a past triggerAt (Go's zero time included) fires at once", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("past", [task("t")])
      yield* TestClock.adjust(50_000)
      yield* h.runEither((state, now) => Schedules.createScheduled(state, tenantId, "past", newScheduled(1_000), now))
      yield* h.runEither((state, now) => Schedules.createScheduled(state, tenantId, "past", newScheduled(Schedules.zeroTime), now))
      yield* h.advance(0)
      expect(runsOf(h.state, tenantId, "past").map((r) => r.createdAt)).toEqual([50_000, 50_000])
      expect(scheduledIds(h.state, tenantId)).toEqual([])
    }))

  it.scoped("create: an unknown workflow and a priority outside 1..3 are refused as upstream", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("valid", [task("t")])
      const failure = (name: string, opts: Schedules.NewScheduled) =>
        Effect.map(
          Effect.flip(h.runEither((state, now) => Schedules.createScheduled(state, tenantId, name, opts, now))),
          (e) => ({ code: grpcStatusOf(e), message: e.message })
        )
      expect(yield* failure("missing", newScheduled(1))).toEqual({ code: Status.INVALID_ARGUMENT, message: "workflow not found" })
      // names are exact
      expect(yield* failure("VALID", newScheduled(1))).toEqual({ code: Status.INVALID_ARGUMENT, message: "workflow not found" })
      const detailed = (condition: string) =>
        `error 400: 1 error occurred:\n\t* validation failed on field 'CreateScheduledWorkflowRunForWorkflowOpts.Priority': on condition ${condition}: got invalid type\n\n`
      expect(yield* failure("valid", newScheduled(1, { priority: 0 }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: detailed("'min' [ 1 ]")
      })
      expect(yield* failure("valid", newScheduled(1, { priority: 4 }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: detailed("'max' [ 3 ]")
      })
      expect(h.state.tenants.get(tenantId)!.scheduled.size).toBe(0)
    }))

  it.scoped("list: filters, order (triggerAt DESC by default, then id) and pages", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const a = yield* h.putWorkflow("list-a", [task("t")])
      yield* h.putWorkflow("list-b", [task("t")])
      const make = (name: string, at: number, metadataRaw = "") =>
        Effect.zipLeft(
          h.runEither((state, now) => Schedules.createScheduled(state, tenantId, name, newScheduled(at, { metadataRaw }), now)),
          TestClock.adjust(1)
        )
      const s1 = yield* make("list-a", 1_000_000, "{\"team\":\"x\",\"n\":1}")
      const s2 = yield* make("list-b", 3_000_000, "{\"team\":\"y\"}")
      const s3 = yield* make("list-a", 2_000_000)
      const ids = (filter: Schedules.ScheduledFilter) => Schedules.listScheduled(h.state, tenantId, filter).rows.map((s) => s.id)
      expect(ids({})).toEqual([s2.id, s3.id, s1.id])
      expect(ids({ orderDirection: "ASC" })).toEqual([s1.id, s3.id, s2.id])
      expect(ids({ orderBy: "createdAt" })).toEqual([s3.id, s2.id, s1.id])
      expect(ids({ workflowId: a.workflow.id })).toEqual([s3.id, s1.id])
      expect(ids({ additionalMetadata: { team: "x" } })).toEqual([s1.id])
      expect(ids({ additionalMetadata: { n: "1" } })).toEqual([])
      // upstream compares the "parent workflow run id" with the scheduled run's own id
      expect(ids({ parentWorkflowRunId: s2.id })).toEqual([s2.id])
      expect(ids({ parentStepRunId: s2.id })).toEqual([])
      expect(ids({ statuses: ["SCHEDULED", "RUNNING"] })).toEqual([s2.id, s3.id, s1.id])
      expect(ids({ statuses: ["RUNNING"] })).toEqual([])
      const page = Schedules.listScheduled(h.state, tenantId, { offset: 1, limit: 1 })
      expect({ total: page.total, rows: page.rows.map((s) => s.id) }).toEqual({ total: 3, rows: [s3.id] })
      // another tenant sees none of them
      expect(Schedules.listScheduled(h.state, "9f9f9f9f-1111-4111-8111-111111111111", {}).rows).toEqual([])
      expect(Schedules.getScheduled(h.state, "9f9f9f9f-1111-4111-8111-111111111111", s1.id)).toBeUndefined()
    }))
})

// -----------------------------------------------------------------------------
// REST and gRPC on an engine under TestClock
// -----------------------------------------------------------------------------

const otherTenant = "3c3c3c3c-8888-4888-8888-888888888888"

describe("scheduled runs: REST and gRPC", () => {
  it.scoped("create, get, list, reschedule, delete and trigger over REST; runs fire at their time", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      const version = yield* t.register("rest-scheduled")
      const created = yield* t.rest("POST", "/rest-scheduled/scheduled", {
        input: { city: "Paris" },
        additionalMetadata: { origin: "test" },
        triggerAt: iso(60_000),
        priority: 3
      })
      expect(created.status).toBe(200)
      const id = (created.body as { metadata: { id: string } }).metadata.id
      expect(created.body).toEqual({
        metadata: { id, createdAt: iso(0), updatedAt: iso(0) },
        tenantId: t.engine.tenantId,
        workflowVersionId: version.id,
        workflowId: version.workflowId,
        workflowName: "rest-scheduled",
        triggerAt: iso(60_000),
        input: { city: "Paris" },
        additionalMetadata: { origin: "test" },
        workflowRunCreatedAt: "0001-01-01T00:00:00Z",
        workflowRunName: "",
        method: "API",
        priority: 3
      })
      expect(yield* t.rest("GET", `/scheduled/${id}`)).toEqual({ status: 200, body: created.body })

      // defaults: priority 1, no metadata is null; no triggerAt is Go's zero time (fires at once)
      const bare = yield* t.rest("POST", "/rest-scheduled/scheduled", { input: {}, triggerAt: iso(120_000) })
      expect(bare.body).toMatchObject({ priority: 1, additionalMetadata: null, input: {} })
      const bareId = (bare.body as { metadata: { id: string } }).metadata.id

      const list = yield* t.rest("GET", "/scheduled")
      expect(list.status).toBe(200)
      expect(list.body).toMatchObject({
        rows: [{ metadata: { id: bareId } }, { metadata: { id } }],
        pagination: { num_pages: 1, current_page: 1, next_page: 1 }
      })
      const filtered = yield* t.rest("GET", "/scheduled?additionalMetadata=origin:test&orderByDirection=ASC&limit=5")
      expect((filtered.body as { rows: Array<unknown> }).rows).toHaveLength(1)

      // PATCH moves it; updatedAt stays the creation time as upstream
      yield* advance(1_000)
      const patched = yield* t.rest("PATCH", `/scheduled/${id}`, { triggerAt: iso(90_000) })
      expect(patched).toMatchObject({ status: 200, body: { triggerAt: iso(90_000), metadata: { id, updatedAt: iso(0) } } })

      yield* advance(59_000)
      expect(t.runs("rest-scheduled")).toEqual([])
      yield* advance(30_000)
      const [run] = t.runs("rest-scheduled")
      expect(run).toMatchObject({ createdAt: 90_000, priority: 3, input: { city: "Paris" }, metadata: { origin: "test" } })
      expect(yield* t.rest("GET", `/scheduled/${id}`)).toEqual({
        status: 404,
        body: { message: "scheduled workflow run not found" }
      })

      // DELETE: 204 and it never fires
      expect(yield* t.rest("DELETE", `/scheduled/${bareId}`)).toEqual({ status: 204, body: undefined })
      yield* advance(60_000)
      expect(t.runs("rest-scheduled")).toHaveLength(1)

      // POST on the scheduled run triggers it now
      const now = yield* t.rest("POST", "/rest-scheduled/scheduled", {
        input: { n: 2 },
        additionalMetadata: {},
        triggerAt: iso(10_000_000)
      })
      const nowId = (now.body as { metadata: { id: string } }).metadata.id
      const triggered = yield* t.rest("POST", `/scheduled/${nowId}`)
      expect(triggered.status).toBe(200)
      const externalId = (triggered.body as { externalId: string }).externalId
      expect(t.core.state.runsById.get(externalId)?.input).toEqual({ n: 2 })
      expect((yield* t.rest("GET", "/scheduled")).body).toMatchObject({ rows: [] })

      // a missing triggerAt is Go's zero time: the run fires at once
      yield* t.rest("POST", "/rest-scheduled/scheduled", { input: { n: 3 } })
      yield* advance(0)
      expect(t.runs("rest-scheduled").map((r) => r.input)).toEqual([{ city: "Paris" }, { n: 2 }, { n: 3 }])
    }))

  it.scoped("bulk delete and bulk update", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      yield* t.register("bulk-a")
      const b = yield* t.register("bulk-b")
      const create = (name: string, at: number, metadata: Record<string, string> = {}) =>
        Effect.map(
          t.rest("POST", `/${name}/scheduled`, { input: {}, additionalMetadata: metadata, triggerAt: iso(at) }),
          (r) => (r.body as { metadata: { id: string } }).metadata.id
        )
      const a1 = yield* create("bulk-a", 100_000, { k: "1" })
      const a2 = yield* create("bulk-a", 200_000, { k: "2" })
      const b1 = yield* create("bulk-b", 300_000)
      const b2 = yield* create("bulk-b", 400_000)
      const missing = "7e7e7e7e-9999-4999-8999-999999999999"

      expect(yield* t.rest("POST", "/scheduled/bulk-delete", {})).toEqual({
        status: 400,
        body: { errors: [{ description: "Provide scheduledWorkflowRunIds or filter." }] }
      })
      expect(yield* t.rest("POST", "/scheduled/bulk-delete", { scheduledWorkflowRunIds: [a1], filter: {} })).toEqual({
        status: 400,
        body: { errors: [{ description: "Provide either scheduledWorkflowRunIds or filter, not both." }] }
      })
      expect(yield* t.rest("POST", "/scheduled/bulk-delete", { filter: { additionalMetadata: ["nope"] } })).toEqual({
        status: 400,
        body: { errors: [{ description: "Additional metadata filters must be in the format key:value." }] }
      })
      expect(yield* t.rest("POST", "/scheduled/bulk-delete", { scheduledWorkflowRunIds: [a1, missing] })).toEqual({
        status: 200,
        body: { deletedIds: [a1], errors: [{ id: missing, error: "Failed to delete scheduled workflow." }] }
      })
      expect(yield* t.rest("POST", "/scheduled/bulk-delete", { filter: { workflowId: b.workflowId, additionalMetadata: ["k:9"] } }))
        .toEqual({ status: 200, body: { deletedIds: [], errors: [] } })
      expect(yield* t.rest("POST", "/scheduled/bulk-delete", { filter: { workflowId: b.workflowId } })).toEqual({
        status: 200,
        body: { deletedIds: [b2, b1], errors: [] }
      })

      expect(
        yield* t.rest("POST", "/scheduled/bulk-update", {
          updates: [{ id: a2, triggerAt: iso(50_000) }, { id: missing, triggerAt: iso(1) }]
        })
      )
        .toEqual({ status: 200, body: { updatedIds: [a2], errors: [{ id: missing, error: "Scheduled workflow not found." }] } })
      yield* advance(49_999)
      expect(t.runs("bulk-a")).toEqual([])
      yield* advance(1)
      expect(t.runs("bulk-a").map((r) => r.metadata.k)).toEqual(["2"])
      yield* advance(400_000)
      expect(t.runs("bulk-a")).toHaveLength(1)
      expect(t.runs("bulk-b")).toEqual([])
    }))

  it.scoped("REST errors: unknown workflow, priority, bodies, ids, list parameters; tenants are isolated", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      yield* t.register("errors")
      const body = { input: {}, additionalMetadata: {}, triggerAt: iso(1_000_000) }
      expect(yield* t.rest("POST", "/missing/scheduled", body)).toEqual({
        status: 400,
        body: { errors: [{ description: "workflow not found" }] }
      })
      expect(yield* t.rest("POST", "/errors/scheduled", { ...body, priority: 4 })).toEqual({
        status: 400,
        body: {
          errors: [{
            description: "error 400: 1 error occurred:\n\t* validation failed on field " +
              "'CreateScheduledWorkflowRunForWorkflowOpts.Priority': on condition 'max' [ 3 ]: got invalid type\n\n"
          }]
        }
      })
      expect((yield* t.rest("POST", "/errors/scheduled", { ...body, triggerAt: "tomorrow" })).status).toBe(400)
      expect((yield* t.rest("POST", "/errors/scheduled", { ...body, input: [1] })).status).toBe(400)
      expect((yield* t.rest("POST", "/errors/scheduled", "{oops")).status).toBe(400)
      expect(yield* t.rest("GET", "/scheduled/not-a-uuid")).toEqual({
        status: 400,
        body: { message: "invalid scheduled workflow run id" }
      })
      expect(yield* t.rest("GET", "/scheduled?additionalMetadata=a:b:c")).toEqual({
        status: 400,
        body: { errors: [{ description: "Additional metadata filters must be in the format key:value." }] }
      })
      for (const query of ["orderByField=name", "orderByDirection=UP", "statuses=DONE", "limit=-1"]) {
        expect(yield* t.rest("GET", `/scheduled?${query}`), query).toEqual({
          status: 500,
          body: { message: "Internal Server Error" }
        })
      }
      expect((yield* t.rest("GET", "/scheduled?workflowId=nope")).status).toBe(400)
      expect(t.core.state.tenants.get(t.engine.tenantId)!.scheduled.size).toBe(0)

      // tenant isolation
      const created = yield* t.rest("POST", "/errors/scheduled", body)
      const id = (created.body as { metadata: { id: string } }).metadata.id
      const other = Redacted.value(yield* t.engine.mintToken({ tenantId: otherTenant }))
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      // another tenant's token on this tenant's routes
      expect(yield* t.rest("GET", `/scheduled/${id}`, undefined, other)).toEqual(forbidden)
      expect(yield* t.rest("GET", "/scheduled", undefined, other)).toEqual(forbidden)
      expect(yield* t.rest("POST", "/errors/scheduled", body, other)).toEqual(forbidden)
      expect(yield* call("GET", `${t.tenantUrl}/scheduled/${id}`, undefined)).toEqual(forbidden)
      // the other tenant's own routes: its workflows, its (empty) schedules, not this run
      const otherUrl = `${t.engine.apiUrl}/api/v1/tenants/${otherTenant}/workflows`
      expect(yield* call("POST", `${otherUrl}/errors/scheduled`, other, body)).toEqual({
        status: 400,
        body: { errors: [{ description: "workflow not found" }] }
      })
      expect((yield* call("GET", `${otherUrl}/scheduled`, other)).body).toMatchObject({ rows: [] })
      for (const method of ["GET", "DELETE", "PATCH"]) {
        expect(yield* call(method, `${otherUrl}/scheduled/${id}`, other, method === "PATCH" ? { triggerAt: iso(1) } : undefined))
          .toEqual({ status: 404, body: { message: "scheduled workflow run not found" } })
      }
      expect(yield* call("POST", `${otherUrl}/scheduled/bulk-delete`, other, { scheduledWorkflowRunIds: [id] })).toEqual({
        status: 200,
        body: { deletedIds: [], errors: [{ id, error: "Failed to delete scheduled workflow." }] }
      })
      expect(yield* t.rest("GET", `/scheduled/${id}`)).toMatchObject({ status: 200, body: { triggerAt: iso(1_000_000) } })
    }))

  it.scoped("WorkflowService/ScheduleWorkflow: errors as upstream; one scheduled run per timestamp, fired at its time", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      const version = yield* t.register("grpc-scheduled")
      const schedule = (request: Partial<Parameters<typeof t.c.workflows.scheduleWorkflow>[0]>) =>
        Grpc.statusOf(() =>
          t.c.workflows.scheduleWorkflow({ name: "grpc-scheduled", input: "{}", schedules: [new Date(1_000)], ...request })
        )
      expect(yield* schedule({ name: "missing" })).toEqual({ code: Status.NOT_FOUND, details: "workflow not found" })
      expect(yield* schedule({ parentId: "p" })).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "parent task run id is required when parent id is provided"
      })
      expect(yield* schedule({ parentId: "p", parentTaskRunExternalId: "t" })).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "child index is required when parent id is provided"
      })
      expect(yield* schedule({ additionalMetadata: "{", input: "{" })).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `additionalMetadata`"
      })
      expect(yield* schedule({ input: "{" })).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `payload`"
      })
      expect(yield* schedule({ priority: 0 })).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "priority must be between 1 and 3, got 0"
      })
      expect(t.core.state.tenants.get(t.engine.tenantId)!.scheduled.size).toBe(0)

      const reply = yield* Effect.promise(() =>
        t.c.workflows.scheduleWorkflow({
          name: "grpc-scheduled",
          input: "{\"via\":\"grpc\"}",
          schedules: [new Date(30_000), new Date(10_000)],
          priority: 2,
          // checked, not stored
          parentId: "p",
          parentTaskRunExternalId: "t",
          childIndex: 0
        })
      )
      expect(reply).toMatchObject({ id: version.id, workflowId: version.workflowId, order: 1 })
      expect(reply.scheduledWorkflows.map((s) => s.triggerAt)).toEqual([new Date(30_000), new Date(10_000)])
      const listed = yield* t.rest("GET", "/scheduled?orderByDirection=ASC")
      expect(listed.body).toMatchObject({
        rows: [
          {
            metadata: { id: reply.scheduledWorkflows[1]!.id },
            triggerAt: iso(10_000),
            input: { via: "grpc" },
            additionalMetadata: null,
            priority: 2,
            method: "API"
          },
          { metadata: { id: reply.scheduledWorkflows[0]!.id }, triggerAt: iso(30_000) }
        ]
      })
      yield* advance(9_999)
      expect(t.runs("grpc-scheduled")).toEqual([])
      yield* advance(1)
      yield* advance(20_000)
      expect(t.runs("grpc-scheduled").map((r) => [r.createdAt, r.priority, r.input, r.parentTaskExternalId])).toEqual([
        [10_000, 2, { via: "grpc" }, undefined],
        [30_000, 2, { via: "grpc" }, undefined]
      ])
      expect((yield* t.rest("GET", "/scheduled")).body).toMatchObject({ rows: [] })
    }))
})
