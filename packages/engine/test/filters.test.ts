/**
 * Event filters in process under TestClock, as upstream's `makeTriggerDecisions`: a workflow
 * without filters runs for every event of its key; with filters, only an event of a filter's
 * scope whose expression holds runs it, once per such filter, with that filter's payload in
 * `triggers.filter_payload`; declared filters (`default_filters`) are replaced by a new version
 * and sit beside REST ones; the event records which filter triggered which run.
 */
import type { PushEventRequest } from "@effect-hatchet/proto/events/events"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import { type EngineError, grpcStatusOf } from "../src/internal/domain/errors.js"
import * as Filters from "../src/internal/domain/filters.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import type { JsonObject } from "../src/internal/domain/json.js"
import * as Queries from "../src/internal/domain/queries.js"
import { tenantOf } from "../src/internal/domain/tenants.js"
import { makeHarness, payloadOf, task, tenantId } from "./support/harness.js"

type Harness = Effect.Effect.Success<typeof makeHarness>

const push = (h: Harness, request: Partial<PushEventRequest> & { readonly key: string }) =>
  h.runEither((state, now) =>
    Ingest.pushEvent(state, tenantId, { payload: "{}", eventTimestamp: undefined, ...request } as PushEventRequest, now)
  )

const workflowId = (h: Harness, name: string) => h.state.tenants.get(tenantId)!.workflowsByName.get(name)!.id

const addFilter = (h: Harness, workflow: string, scope: string, expression: string, payload: JsonObject = {}) =>
  h.run((state, now) => {
    const created = Filters.createFilter(state, tenantOf(state, tenantId), workflowId(h, workflow), { scope, expression, payload }, now)
    if ("_tag" in created) throw new Error("duplicate")
    return created
  })

/** The filter payloads of the runs started so far, in order. */
const filterPayloads = (w: { readonly starts: () => ReadonlyArray<{ readonly actionPayload: string }> }) =>
  w.starts().map((action) => payloadOf(action as never).triggers.filter_payload)

describe("event filters", () => {
  it.scoped("no filter: every event of the key runs the workflow once, filter_payload null", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("plain", [task("t")], { eventTriggers: ["order:*"] })
      const w = yield* h.worker(["plain:t"])
      const event = yield* push(h, { key: "order:created", payload: "{\"n\":1}", scope: "any" })
      yield* push(h, { key: "other" })
      expect(filterPayloads(w)).toEqual([null])
      expect(event.triggeredRuns).toHaveLength(1)
      expect(event.triggeredRuns[0]!.filterId).toBeUndefined()
    }))

  it.scoped("with filters: only the event's scope counts, each holding filter runs once with its payload", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("scoped", [task("t")], { eventTriggers: ["user:signup"] })
      const w = yield* h.worker(["scoped:t"])
      const gold = yield* addFilter(h, "scoped", "tenant-a", "input.plan == 'gold' && payload.region == additional_metadata.region", {
        region: "eu",
        tier: 1
      })
      const any = yield* addFilter(h, "scoped", "tenant-a", "event_key.startsWith('user:') && size(event_id) == 36", { any: true })
      yield* addFilter(h, "scoped", "tenant-b", "true", { b: true })

      // no scope, or a scope without filters: nothing runs
      expect((yield* push(h, { key: "user:signup", payload: "{\"plan\":\"gold\"}" })).triggeredRuns).toEqual([])
      expect((yield* push(h, { key: "user:signup", scope: "tenant-c" })).triggeredRuns).toEqual([])
      expect(w.starts()).toHaveLength(0)

      // two filters of the scope hold: two runs, each with its filter's payload
      const both = yield* push(h, {
        key: "user:signup",
        payload: "{\"plan\":\"gold\"}",
        additionalMetadata: "{\"region\":\"eu\"}",
        scope: "tenant-a"
      })
      expect(both.triggeredRuns.map((r) => r.filterId).sort()).toEqual([gold.id, any.id].sort())
      expect(filterPayloads(w).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        { any: true },
        { region: "eu", tier: 1 }
      ])
      // one holds
      const one = yield* push(h, { key: "user:signup", payload: "{\"plan\":\"free\"}", scope: "tenant-a" })
      expect(one.triggeredRuns.map((r) => r.filterId)).toEqual([any.id])
      // the runs keep the event's ids in their metadata, and are found from the event
      const runs = yield* h.run((state) => Queries.listRuns(state, tenantId, { triggeringEventExternalId: both.id }))
      expect(runs.rows.map((run) => run.id).sort()).toEqual(both.triggeredRuns.map((r) => r.runId).sort())
      expect(runs.rows[0]!.metadata).toMatchObject({ hatchet__event_id: both.id, hatchet__event_key: "user:signup" })
    }))

  it.scoped("an expression that is empty, does not compile, fails or is not a bool never holds", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("strict", [task("t")], { eventTriggers: ["k"] })
      const w = yield* h.worker(["strict:t"])
      yield* addFilter(h, "strict", "s", "")
      yield* addFilter(h, "strict", "s", "input.")
      yield* addFilter(h, "strict", "s", "input.missing == 1")
      yield* addFilter(h, "strict", "s", "'yes'")
      yield* addFilter(h, "strict", "s", "nope == 1")
      // the event's payload is not an object: no expression sees it
      yield* addFilter(h, "strict", "s", "true", { kept: 1 })
      expect((yield* push(h, { key: "k", payload: "[1,2]", scope: "s" })).triggeredRuns).toEqual([])
      const ok = yield* push(h, { key: "k", payload: "{\"a\":1}", scope: "s" })
      expect(ok.triggeredRuns).toHaveLength(1)
      expect(filterPayloads(w)).toEqual([{ kept: 1 }])
    }))

  it.scoped("declared filters: stored with the version, replaced by a new version that declares some, beside REST ones", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const declare = (filters: ReadonlyArray<{ scope: string; expression: string; payload?: string }>, description = "") =>
        h.putWorkflow("declared", [task("t")], {
          eventTriggers: ["d"],
          description,
          defaultFilters: filters.map((f) => ({
            scope: f.scope,
            expression: f.expression,
            ...(f.payload !== undefined ? { payload: Buffer.from(f.payload) } : {})
          }))
        })
      yield* declare([{ scope: "s", expression: "input.n > 1", payload: "{\"p\":1}" }, { scope: "t", expression: "true" }])
      const w = yield* h.worker(["declared:t"])
      const list = () =>
        h.run((state) =>
          Filters.listFilters(state, tenantId, { workflowIds: [workflowId(h, "declared")], scopes: [], offset: 0, limit: 100 }).rows
            .map((f) => [f.scope, f.expression, f.payload, f.isDeclarative])
            .sort()
        )
      expect(yield* list()).toEqual([["s", "input.n > 1", { p: 1 }, true], ["t", "true", {}, true]])
      yield* push(h, { key: "d", payload: "{\"n\":2}", scope: "s" })
      yield* push(h, { key: "d", payload: "{\"n\":1}", scope: "s" })
      expect(filterPayloads(w)).toEqual([{ p: 1 }])

      const rest = yield* addFilter(h, "declared", "s", "input.n == 1", { rest: true })
      // the same request again makes no new version: nothing changes
      yield* declare([{ scope: "s", expression: "input.n > 1", payload: "{\"p\":1}" }, { scope: "t", expression: "true" }])
      expect(yield* list()).toHaveLength(3)
      // a new version declaring others replaces the declared ones, and keeps the REST one
      yield* declare([{ scope: "s", expression: "input.n > 5" }], "v2")
      expect(yield* list()).toEqual([["s", "input.n == 1", { rest: true }, false], ["s", "input.n > 5", {}, true]])
      // a new version declaring none keeps them
      yield* declare([], "v3")
      expect(yield* list()).toHaveLength(2)
      yield* push(h, { key: "d", payload: "{\"n\":1}", scope: "s" })
      expect(filterPayloads(w)).toEqual([{ p: 1 }, { rest: true }])
      expect(rest.isDeclarative).toBe(false)
    }))

  it.scoped("a declared filter that repeats another, or a null payload, fails the registration (INTERNAL) and stores nothing", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const internal = { code: Status.INTERNAL, message: "An internal error occurred." }
      const refused = (name: string, defaultFilters: ReadonlyArray<{ scope: string; expression: string; payload?: Uint8Array }>) =>
        Effect.map(
          Effect.flip(h.putWorkflow(name, [task("t")], { eventTriggers: ["x"], defaultFilters: [...defaultFilters] })),
          (error: EngineError) => ({ code: grpcStatusOf(error), message: error.message })
        )
      expect(yield* refused("twice", [{ scope: "s", expression: "true" }, { scope: "s", expression: "true" }])).toEqual(internal)
      expect(yield* refused("null", [{ scope: "s", expression: "true", payload: Buffer.from("null") }])).toEqual(internal)
      expect(h.state.tenants.get(tenantId)!.workflowsByName.has("twice")).toBe(false)
      // the same filter with another payload is another filter
      yield* h.putWorkflow("payloads", [task("t")], {
        defaultFilters: [
          { scope: "s", expression: "true", payload: Buffer.from("{\"a\":1,\"b\":2}") },
          { scope: "s", expression: "true", payload: Buffer.from("{\"a\":2}") }
        ]
      })
      // a REST filter equal to a declared one (keys in another order) is a duplicate
      const clash = yield* h.run((state, now) =>
        Filters.createFilter(state, tenantOf(state, tenantId), workflowId(h, "payloads"), {
          scope: "s",
          expression: "true",
          payload: { b: 2, a: 1 }
        }, now)
      )
      expect(clash).toEqual({ _tag: "Duplicate" })
    }))
})
