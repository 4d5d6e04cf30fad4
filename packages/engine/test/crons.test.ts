/**
 * Cron triggers created through REST (`docs/engine.md` §10) under TestClock: the domain rules with
 * the in-process harness (firing on each tick with the cron's input, metadata and priority;
 * disabling, re-enabling, deleting; validation as upstream; declared crons listed with them), then
 * the REST routes of a whole engine whose clock is the test's.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import * as Crons from "../src/internal/domain/cron.js"
import { grpcStatusOf } from "../src/internal/domain/errors.js"
import type { CronTrigger, EngineState, Run } from "../src/internal/domain/model.js"
import { advance, call, engineUnderTestClock } from "./support/clocked.js"
import { makeHarness, payloadOf, task, tenantId } from "./support/harness.js"

const iso = (ms: number) => new Date(ms).toISOString()

const runsOf = (state: EngineState, name: string): Array<Run> =>
  state.tenants.get(tenantId)!.runs.all().filter((r) => r.workflow.name === name)

const ticksOf = (runs: ReadonlyArray<Run>) => runs.map((r) => r.metadata.hatchet__cron_scheduled_at)

const newCron = (name: string, expression: string, extra: Partial<Crons.NewCron> = {}): Crons.NewCron => ({
  name,
  expression,
  inputRaw: "{}",
  metadataRaw: "{}",
  priority: undefined,
  ...extra
})

const otherTenant = "3c3c3c3c-8888-4888-8888-888888888888"

describe("REST crons: rules", () => {
  it.scoped("fire on each tick with the cron's input, metadata (plus the hatchet__cron_* keys) and priority", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const v1 = yield* h.putWorkflow("api-cron", [task("t")], { defaultPriority: 3 })
      const w = yield* h.worker(["api-cron:t"])
      const cron = yield* h.runEither((state, now) =>
        Crons.createCron(
          state,
          tenantId,
          "api-cron",
          newCron("nightly", "* * * * *", {
            inputRaw: "{\"from\":\"cron\"}",
            // the engine's keys are copied over the cron's own
            metadataRaw: "{\"team\":\"x\",\"hatchet__cron_name\":\"mine\"}",
            priority: 2
          }),
          now
        )
      )
      // without a priority: 1, not the workflow's default priority (upstream stores 1)
      const plain = yield* h.runEither((state, now) => Crons.createCron(state, tenantId, "api-cron", newCron("plain", "30 * * * * *"), now))
      expect(cron).toMatchObject({ method: "API", enabled: true, priority: 2, name: "nightly", createdAt: 0 })
      expect(plain.priority).toBe(1)

      yield* h.advance(59_000, [w])
      expect(runsOf(h.state, "api-cron").map((r) => r.metadata.hatchet__cron_name)).toEqual(["plain"])
      yield* h.advance(1_000, [w])
      const run = runsOf(h.state, "api-cron").find((r) => r.metadata.hatchet__cron_name === "nightly")!
      expect(run).toMatchObject({ createdAt: 60_000, priority: 2, version: { id: v1.id }, input: { from: "cron" } })
      expect(run.metadata).toEqual({
        team: "x",
        hatchet__cron_expression: "* * * * *",
        hatchet__cron_name: "nightly",
        hatchet__cron_scheduled_at: "1970-01-01T00:01:00Z",
        traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      })
      const start = w.starts().find((a) => JSON.parse(a.additionalMetadata!).hatchet__cron_name === "nightly")!
      expect(payloadOf(start).input).toEqual({ from: "cron" })
      expect(start.priority).toBe(2)
      expect(runsOf(h.state, "api-cron").find((r) => r.metadata.hatchet__cron_name === "plain")!.priority).toBe(1)

      // a new version keeps the REST crons: the next ticks run the new version
      const v2 = yield* h.putWorkflow("api-cron", [task("t"), task("u", { parents: ["t"] })])
      yield* h.advance(60_000, [w])
      const nightly = runsOf(h.state, "api-cron").filter((r) => r.metadata.hatchet__cron_name === "nightly")
      expect(nightly.map((r) => [r.version.id, r.metadata.hatchet__cron_scheduled_at])).toEqual([
        [v1.id, "1970-01-01T00:01:00Z"],
        [v2.id, "1970-01-01T00:02:00Z"]
      ])
    }))

  it.scoped("a disabled cron does not fire, re-enabled it fires from its next tick; a deleted one never again", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("toggled", [task("t")])
      const cron = yield* h.runEither((state, now) =>
        Crons.createCron(state, tenantId, "toggled", newCron("every-10s", "*/10 * * * * *"), now)
      )
      const ticks = () => ticksOf(runsOf(h.state, "toggled"))
      yield* h.advance(10_000, [], 10_000)
      expect(ticks()).toEqual(["1970-01-01T00:00:10Z"])

      yield* h.run((state) => Crons.setCronEnabled(state, cron, false))
      yield* h.advance(30_000, [], 5_000)
      expect(ticks()).toHaveLength(1)
      // no `enabled` changes nothing
      yield* h.run((state) => Crons.setCronEnabled(state, cron, undefined))
      expect(cron.enabled).toBe(false)

      yield* TestClock.adjust(5_000)
      yield* h.run((state) => Crons.setCronEnabled(state, cron, true))
      yield* h.advance(5_000, [], 5_000)
      expect(ticks()).toEqual(["1970-01-01T00:00:10Z", "1970-01-01T00:00:50Z"])

      expect(yield* h.run((state) => Crons.deleteCron(state, tenantId, cron.id))).toBe(true)
      expect(yield* h.run((state) => Crons.deleteCron(state, tenantId, cron.id))).toBe(false)
      yield* h.advance(60_000, [], 10_000)
      expect(ticks()).toHaveLength(2)
      expect(Crons.getCron(h.state, tenantId, cron.id)).toBeUndefined()
    }))

  it.scoped("create: errors as upstream, in upstream's order; the pair is unique per workflow", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("valid", [task("t")])
      yield* h.putWorkflow("other", [task("t")])
      const failure = (workflow: string, opts: Crons.NewCron) =>
        Effect.map(
          Effect.flip(h.runEither((state, now) => Crons.createCron(state, tenantId, workflow, opts, now))),
          (e) => ({ code: grpcStatusOf(e), message: e.message })
        )
      const invalid = (message: string) => ({ code: Status.INVALID_ARGUMENT, message })
      // the name is checked before the workflow
      expect(yield* failure("missing", newCron("", "* * * * *"))).toEqual(invalid("cron name is required"))
      expect(yield* failure("missing", newCron("n", "* * * * *"))).toEqual(invalid("workflow not found"))
      // names are exact
      expect(yield* failure("VALID", newCron("n", "* * * * *"))).toEqual(invalid("workflow not found"))
      expect(yield* failure("valid", newCron("n", "* * * * *", { inputRaw: "{\"a\":\"\\u0000\"}" })))
        .toEqual(invalid("encoded jsonb contains invalid null character \\u0000 in field `input`"))
      expect(yield* failure("valid", newCron("n", "* * * * *", { metadataRaw: "{\"a\":\"\\u0000\"}" })))
        .toEqual(invalid("encoded jsonb contains invalid null character \\u0000 in field `additionalMetadata`"))
      // the table's check allows 1..4
      expect(yield* failure("valid", newCron("n", "* * * * *", { priority: 0 }))).toEqual(invalid("error creating cron trigger"))
      expect(yield* failure("valid", newCron("n", "* * * * *", { priority: 5 }))).toEqual(invalid("error creating cron trigger"))
      expect(h.state.tenants.get(tenantId)!.crons.size).toBe(0)

      const create = (workflow: string, opts: Crons.NewCron) =>
        h.runEither((state, now) => Crons.createCron(state, tenantId, workflow, opts, now))
      expect((yield* create("valid", newCron("n", "* * * * *", { priority: 4 }))).priority).toBe(4)
      expect(yield* failure("valid", newCron("n", "* * * * *", { inputRaw: "{\"other\":1}" })))
        .toEqual(invalid("cron trigger with that name-expression pair already exists"))
      // another expression, another name, another workflow: distinct pairs
      yield* create("valid", newCron("n", "0 * * * *"))
      yield* create("valid", newCron("m", "* * * * *"))
      yield* create("other", newCron("n", "* * * * *"))
      expect(h.state.tenants.get(tenantId)!.crons.size).toBe(4)

      // what this engine cannot follow is refused
      expect(yield* failure("valid", newCron("zoned", "CRON_TZ=Europe/Paris 0 9 * * *"))).toEqual({
        code: Status.UNIMPLEMENTED,
        message: "cron trigger 'zoned' uses a feature the local engine does not support yet: " +
          "the cron expression 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC"
      })
      expect((yield* failure("valid", newCron("daily", "@daily"))).code).toBe(Status.UNIMPLEMENTED)
      expect((yield* create("valid", newCron("utc", "TZ=UTC 0 9 * * *"))).expression).toBe("TZ=UTC 0 9 * * *")

      // upstream stores an invalid crontab, then its ticker deletes it: created, then gone
      for (const expression of ["61 * * * *", "", "TZ=UTC"]) {
        const bad = yield* create("valid", newCron("bad", expression))
        expect(bad).toMatchObject({ expression, method: "API" })
        expect(Crons.getCron(h.state, tenantId, bad.id)).toBeUndefined()
      }
      yield* h.advance(120_000, [], 60_000)
      expect(runsOf(h.state, "valid").map((r) => r.metadata.hatchet__cron_expression)).not.toContain("61 * * * *")
    }))

  it.scoped("declared crons are listed (DEFAULT, name \"\"), keep their enabled across versions, come back on a new version once deleted", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("declared", [task("t")], {
        cronTriggers: ["0 * * * * *", "30 * * * * *"],
        cronInput: "{\"d\":1}",
        defaultPriority: 2
      })
      // same creation time: ordered by id, so picked by expression here
      const byExpression = () => {
        const rows = Crons.listCrons(h.state, tenantId, {}).rows
        return ["0 * * * * *", "30 * * * * *"].map((expression) => rows.find((c) => c.expression === expression))
      }
      const [first, second] = byExpression()
      expect(first).toMatchObject({
        method: "DEFAULT",
        name: "",
        expression: "0 * * * * *",
        inputRaw: "{\"d\":1}",
        metadataRaw: "",
        priority: 2,
        enabled: true
      })
      expect(second!.expression).toBe("30 * * * * *")

      // disabled and deleted through the API, like any cron
      yield* h.run((state) => Crons.setCronEnabled(state, first!, false))
      yield* h.run((state) => Crons.deleteCron(state, tenantId, second!.id))
      yield* h.advance(120_000, [], 30_000)
      expect(runsOf(h.state, "declared")).toEqual([])

      // a new version: new rows; the same expression keeps enabled=false, the deleted one is back
      yield* h.putWorkflow("declared", [task("t"), task("u", { parents: ["t"] })], { cronTriggers: ["0 * * * * *", "30 * * * * *"] })
      const [again, back] = byExpression()
      expect(again).toMatchObject({ expression: "0 * * * * *", enabled: false, createdAt: 120_000, inputRaw: "", priority: 1 })
      expect(again!.id).not.toBe(first!.id)
      expect(back).toMatchObject({ expression: "30 * * * * *", enabled: true })
      expect(Crons.getCron(h.state, tenantId, first!.id)).toBeUndefined()
      yield* h.advance(60_000, [], 30_000)
      expect(runsOf(h.state, "declared").map((r) => [r.metadata.hatchet__cron_expression, r.metadata.hatchet__cron_name]))
        .toEqual([["30 * * * * *", ""]])
    }))

  it.scoped("list: filters, order (createdAt DESC by default, `name` is the workflow's), pages; tenants are isolated", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const b = yield* h.putWorkflow("list-b", [task("t")])
      yield* h.putWorkflow("list-a", [task("t")], { cronTriggers: ["0 0 * * *"] })
      const make = (workflow: string, name: string, metadataRaw = "") =>
        Effect.zipLeft(
          h.runEither((state, now) => Crons.createCron(state, tenantId, workflow, newCron(name, "0 * * * *", { metadataRaw }), now)),
          TestClock.adjust(1)
        )
      yield* TestClock.adjust(1)
      const c1 = yield* make("list-b", "one", "{\"team\":\"x\",\"n\":1}")
      const c2 = yield* make("list-a", "two", "{\"team\":\"y\"}")
      const c3 = yield* make("list-b", "three")
      const declared = Crons.listCrons(h.state, tenantId, { cronName: "" }).rows[0]!
      const ids = (filter: Crons.CronFilter) => Crons.listCrons(h.state, tenantId, filter).rows.map((c: CronTrigger) => c.id)
      expect(ids({})).toEqual([c3.id, c2.id, c1.id, declared.id])
      expect(ids({ orderDirection: "ASC" })).toEqual([declared.id, c1.id, c2.id, c3.id])
      expect(ids({ orderBy: "name", orderDirection: "ASC" }).slice(0, 2).sort()).toEqual([declared.id, c2.id].sort())
      expect(ids({ orderBy: "name" }).slice(0, 2).sort()).toEqual([c1.id, c3.id].sort())
      expect(ids({ workflowId: b.workflow.id })).toEqual([c3.id, c1.id])
      expect(ids({ workflowName: "list-a" })).toEqual([c2.id, declared.id])
      expect(ids({ workflowName: "LIST-A" })).toEqual([])
      expect(ids({ cronName: "two" })).toEqual([c2.id])
      expect(ids({ additionalMetadata: { team: "x" } })).toEqual([c1.id])
      expect(ids({ additionalMetadata: { n: "1" } })).toEqual([])
      const page = Crons.listCrons(h.state, tenantId, { offset: 1, limit: 2 })
      expect({ total: page.total, rows: page.rows.map((c) => c.id) }).toEqual({ total: 4, rows: [c2.id, c1.id] })
      // another tenant sees none of them
      expect(Crons.listCrons(h.state, otherTenant, {}).rows).toEqual([])
      expect(Crons.getCron(h.state, otherTenant, c1.id)).toBeUndefined()
      expect(Crons.deleteCron(h.state, otherTenant, c1.id)).toBe(false)
    }))
})

// -----------------------------------------------------------------------------
// REST on an engine under TestClock
// -----------------------------------------------------------------------------

const idOf = (reply: { readonly body: unknown }) => (reply.body as { metadata: { id: string } }).metadata.id

describe("REST crons: routes", () => {
  it.scoped("create, get, list, disable, enable, trigger and delete over REST; crons fire on their ticks", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      const version = yield* t.register("rest-cron", { cronTriggers: ["0 0 * * *"] })
      // distinct creation times (the list orders by them, then by id)
      yield* advance(1)
      const created = yield* t.rest("POST", "/rest-cron/crons", {
        cronName: "every-minute",
        cronExpression: "* * * * *",
        input: { city: "Paris" },
        additionalMetadata: { origin: "test" },
        priority: 3
      })
      expect(created.status).toBe(200)
      const id = idOf(created)
      expect(created.body).toEqual({
        metadata: { id, createdAt: iso(1), updatedAt: iso(1) },
        tenantId: t.engine.tenantId,
        workflowVersionId: version.id,
        workflowId: version.workflowId,
        workflowName: "rest-cron",
        cron: "* * * * *",
        name: "every-minute",
        input: { city: "Paris" },
        additionalMetadata: { origin: "test" },
        enabled: true,
        method: "API",
        priority: 3
      })
      expect(yield* t.rest("GET", `/crons/${id}`)).toEqual({ status: 200, body: created.body })

      // defaults: priority 1, no metadata is null, no input is {}
      yield* advance(1)
      const bare = yield* t.rest("POST", "/rest-cron/crons", { cronName: "bare", cronExpression: "0 0 1 1 *" })
      expect(bare).toMatchObject({ status: 200, body: { priority: 1, additionalMetadata: null, input: {} } })

      // the declared cron is listed too, with method DEFAULT and name ""
      const list = yield* t.rest("GET", "/crons?orderByDirection=ASC")
      expect(list.status).toBe(200)
      expect(list.body).toMatchObject({
        rows: [
          {
            cron: "0 0 * * *",
            name: "",
            method: "DEFAULT",
            enabled: true,
            priority: 1,
            input: {},
            additionalMetadata: null,
            workflowVersionId: version.id
          },
          { metadata: { id } },
          { metadata: { id: idOf(bare) } }
        ],
        pagination: { num_pages: 1, current_page: 1, next_page: 1 }
      })
      expect((yield* t.rest("GET", "/crons?additionalMetadata=origin:test&cronName=every-minute&workflowName=rest-cron")).body)
        .toMatchObject({ rows: [{ metadata: { id } }] })
      expect((yield* t.rest("GET", "/crons?limit=1&offset=1")).body).toMatchObject({
        rows: [{ metadata: { id } }],
        pagination: { num_pages: 3, current_page: 2, next_page: 3 }
      })

      yield* advance(60_000)
      expect(t.runs("rest-cron").map((r) => [r.createdAt, r.priority, r.input, r.metadata.origin, r.metadata.hatchet__cron_name])).toEqual([
        [60_000, 3, { city: "Paris" }, "test", "every-minute"]
      ])

      // PATCH {enabled: false}: 204, listed disabled (updatedAt unchanged), no tick fires
      expect(yield* t.rest("PATCH", `/crons/${id}`, { enabled: false })).toEqual({ status: 204, body: undefined })
      expect(yield* t.rest("GET", `/crons/${id}`)).toMatchObject({ status: 200, body: { enabled: false, metadata: { updatedAt: iso(1) } } })
      yield* advance(60_000)
      yield* advance(60_000)
      expect(t.runs("rest-cron")).toHaveLength(1)
      expect(yield* t.rest("PATCH", `/crons/${id}`, {})).toEqual({ status: 204, body: undefined })
      expect(yield* t.rest("PATCH", `/crons/${id}`, { enabled: true })).toEqual({ status: 204, body: undefined })
      yield* advance(60_000)
      expect(t.runs("rest-cron").map((r) => r.metadata.hatchet__cron_scheduled_at)).toEqual([
        "1970-01-01T00:01:00Z",
        "1970-01-01T00:04:00Z"
      ])

      // POST on the cron runs it now, enabled or not, with the current time as its tick
      yield* t.rest("PATCH", `/crons/${id}`, { enabled: false })
      yield* advance(1_500)
      const triggered = yield* t.rest("POST", `/crons/${id}`)
      expect(triggered.status).toBe(200)
      const externalId = (triggered.body as { externalId: string }).externalId
      expect(t.core.state.runsById.get(externalId)).toMatchObject({
        input: { city: "Paris" },
        priority: 3,
        metadata: {
          origin: "test",
          hatchet__cron_name: "every-minute",
          hatchet__cron_expression: "* * * * *",
          hatchet__cron_scheduled_at: "1970-01-01T00:04:01Z"
        }
      })

      // DELETE: 204, then the cron is gone (upstream's getter fails: 500) and never fires
      yield* t.rest("PATCH", `/crons/${id}`, { enabled: true })
      expect(yield* t.rest("DELETE", `/crons/${id}`)).toEqual({ status: 204, body: undefined })
      const gone = { status: 500, body: { message: "Internal Server Error" } }
      for (const method of ["GET", "DELETE", "PATCH", "POST"]) {
        expect(yield* t.rest(method, `/crons/${id}`, method === "PATCH" ? { enabled: true } : undefined), method).toEqual(gone)
      }
      yield* advance(60_000)
      yield* advance(60_000)
      expect(t.runs("rest-cron")).toHaveLength(3)
      // the declared cron can be deleted too
      const declaredId = (list.body as { rows: Array<{ metadata: { id: string } }> }).rows[0]!.metadata.id
      expect(yield* t.rest("DELETE", `/crons/${declaredId}`)).toEqual({ status: 204, body: undefined })
      expect((yield* t.rest("GET", "/crons")).body).toMatchObject({ rows: [{ metadata: { id: idOf(bare) } }] })
    }))

  it.scoped("REST errors: bodies, names, duplicates, ids, list parameters; tenants are isolated", () =>
    Effect.gen(function*() {
      const t = yield* engineUnderTestClock
      yield* t.register("errors")
      const body = { cronName: "c", cronExpression: "0 0 * * *", input: {}, additionalMetadata: {} }
      const apiErrors = (description: string) => ({ status: 400, body: { errors: [{ description }] } })
      expect(yield* t.rest("POST", "/missing/crons", { ...body, cronName: "" })).toEqual(apiErrors("cron name is required"))
      expect(yield* t.rest("POST", "/errors/crons", { ...body, cronName: undefined })).toEqual(apiErrors("cron name is required"))
      expect(yield* t.rest("POST", "/missing/crons", body)).toEqual(apiErrors("workflow not found"))
      expect(yield* t.rest("POST", "/errors/crons", { ...body, priority: 0 })).toEqual(apiErrors("error creating cron trigger"))
      expect(yield* t.rest("POST", "/errors/crons", { ...body, input: { a: "\u0000" } }))
        .toEqual(apiErrors("encoded jsonb contains invalid null character \\u0000 in field `input`"))
      expect((yield* t.rest("POST", "/errors/crons", { ...body, input: [1] })).status).toBe(400)
      expect((yield* t.rest("POST", "/errors/crons", { ...body, priority: 1.5 })).status).toBe(400)
      expect((yield* t.rest("POST", "/errors/crons", "{oops")).status).toBe(400)
      expect(yield* t.rest("POST", "/errors/crons", { ...body, cronExpression: "CRON_TZ=Asia/Tokyo 0 0 * * *" })).toEqual({
        status: 501,
        body: {
          errors: [{
            description: "cron trigger 'c' uses a feature the local engine does not support yet: " +
              "the cron expression 'CRON_TZ=Asia/Tokyo 0 0 * * *' with a time zone other than UTC"
          }]
        }
      })
      expect(t.core.state.tenants.get(t.engine.tenantId)!.crons.size).toBe(0)

      const created = yield* t.rest("POST", "/errors/crons", body)
      expect(created.status).toBe(200)
      expect(yield* t.rest("POST", "/errors/crons", { ...body, input: { other: true } }))
        .toEqual(apiErrors("cron trigger with that name-expression pair already exists"))
      // an invalid crontab: accepted, then deleted (upstream's ticker deletes it)
      const invalid = yield* t.rest("POST", "/errors/crons", { ...body, cronExpression: "not a cron" })
      expect(invalid).toMatchObject({ status: 200, body: { cron: "not a cron" } })
      expect((yield* t.rest("GET", `/crons/${idOf(invalid)}`)).status).toBe(500)

      expect(yield* t.rest("GET", "/crons/not-a-uuid")).toEqual({ status: 400, body: { message: "invalid cron workflow id" } })
      expect((yield* t.rest("PATCH", `/crons/${idOf(created)}`, { enabled: "no" })).status).toBe(400)
      expect(yield* t.rest("GET", "/crons?additionalMetadata=a:b:c"))
        .toEqual(apiErrors("Additional metadata filters must be in the format key:value."))
      for (const query of ["orderByField=triggerAt", "orderByDirection=UP", "limit=-1", "offset=-1"]) {
        expect(yield* t.rest("GET", `/crons?${query}`), query).toEqual({ status: 500, body: { message: "Internal Server Error" } })
      }
      expect((yield* t.rest("GET", "/crons?workflowId=nope")).status).toBe(400)
      expect((yield* t.rest("GET", "/crons?limit=ten")).status).toBe(400)

      // tenant isolation
      const id = idOf(created)
      const other = Redacted.value(yield* t.engine.mintToken({ tenantId: otherTenant }))
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      expect(yield* t.rest("GET", `/crons/${id}`, undefined, other)).toEqual(forbidden)
      expect(yield* t.rest("GET", "/crons", undefined, other)).toEqual(forbidden)
      expect(yield* t.rest("POST", "/errors/crons", body, other)).toEqual(forbidden)
      expect(yield* call("GET", `${t.tenantUrl}/crons/${id}`, undefined)).toEqual(forbidden)
      const otherUrl = `${t.engine.apiUrl}/api/v1/tenants/${otherTenant}/workflows`
      expect(yield* call("POST", `${otherUrl}/errors/crons`, other, body)).toEqual(apiErrors("workflow not found"))
      expect((yield* call("GET", `${otherUrl}/crons`, other)).body).toMatchObject({ rows: [] })
      for (const method of ["GET", "DELETE", "PATCH", "POST"]) {
        expect(yield* call(method, `${otherUrl}/crons/${id}`, other, method === "PATCH" ? { enabled: false } : undefined), method)
          .toEqual({ status: 500, body: { message: "Internal Server Error" } })
      }
      expect(yield* t.rest("GET", `/crons/${id}`)).toMatchObject({ status: 200, body: { enabled: true } })
      expect(t.runs("errors")).toEqual([])
    }))
})
