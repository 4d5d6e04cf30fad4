/**
 * The official SDK's shipped `on_event` and `events` examples against the engine, with the
 * official worker and client, and the scenarios of upstream's own test of them
 * (`sdks/typescript/src/v1/examples/on_event/event.e2e.ts`): events push and bulk push, `lower`
 * and `upper` run for an event of their key, a filter created with `hatchet.filters` decides
 * which scoped events run `lower` and hands its payload to the task, `hatchet.events.list` finds
 * every event (with the runs each triggered, and the filter that matched), and the declared filter
 * of `lowerWithFilter` reaches `ctx.filterPayload()`.
 */
import { expect, layer } from "@effect/vitest"
import type * as OnEventModule from "@hatchet-dev/typescript-sdk/v1/examples/on_event/workflow.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type OnEvent = typeof OnEventModule
type Client = Official.Client

/** The event as `hatchet.events.list` shows it, once its runs are final. */
const settledEvent = (hatchet: Client, eventId: string, runs: number) =>
  Official.eventually(async () => {
    const listed = await hatchet.events.list({ eventIds: [eventId] })
    const event = listed.rows?.[0]
    if (event === undefined) return undefined
    const summary = event.workflowRunSummary
    return summary.succeeded + summary.failed + summary.cancelled === runs && (event.triggeredRuns?.length ?? 0) === runs
      ? event
      : undefined
  }, 10_000)

/** The workflow names of the runs an event triggered, from the runs list. */
const runWorkflows = (hatchet: Client, eventId: string) =>
  Effect.promise(async () => {
    const runs = await hatchet.runs.list({ triggeringEventExternalId: eventId })
    return (runs.rows ?? []).map((run) => run.workflowName ?? "").sort()
  })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: on_event and events examples", (it) => {
  it.scoped("event.js and filter.js with the example worker: pushes, filters by scope and expression, events listed with their runs", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<OnEvent>("on_event/workflow")
      const { engine, hatchet } = yield* Examples.worker("on-event-worker", [example.lower, example.upper], { slots: 10 })

      // event.js: a push runs both workflows listening to the key
      const pushed = yield* Effect.promise(() => hatchet.events.push("simple-event:create", { Message: "hello", ShouldSkip: false }))
      const first = yield* settledEvent(hatchet, pushed.eventId, 2)
      expect(first).toMatchObject({
        key: "simple-event:create",
        payload: { Message: "hello", ShouldSkip: false },
        workflowRunSummary: { succeeded: 2, failed: 0, cancelled: 0, queued: 0, running: 0 },
        tenantId: ""
      })
      expect(first!.scope).toBeUndefined()
      expect(first!.triggeredRuns!.every((run) => run.filterId === undefined)).toBe(true)
      expect(yield* runWorkflows(hatchet, pushed.eventId)).toEqual(["lower", "upper"])
      const outputs = yield* Effect.promise(() =>
        Promise.all(first!.triggeredRuns!.map(async (run) => (await hatchet.runs.get(run.workflowRunId)).run.output))
      )
      expect(outputs.map((o) => JSON.stringify(o)).sort()).toEqual([
        JSON.stringify({ TransformedMessage: "HELLO" }),
        JSON.stringify({ TransformedMessage: "hello" })
      ])
      // with metadata, and in bulk, to a key nothing listens to
      const withMetadata = yield* Effect.promise(() =>
        hatchet.events.push("user:create", { test: "test" }, { additionalMetadata: { source: "api" } })
      )
      const bulk = yield* Effect.promise(() =>
        hatchet.events.bulkPush("user:create", [
          { payload: { test: "test1" }, additionalMetadata: { user_id: "user1", source: "test" } },
          { payload: { test: "test2" }, additionalMetadata: { user_id: "user2", source: "test" } },
          { payload: { test: "test3" }, additionalMetadata: { user_id: "user3", source: "test" } }
        ])
      )
      const userEvents = yield* Effect.promise(() => hatchet.events.list({ keys: ["user:create"] }))
      expect(userEvents.rows?.map((e) => e.metadata.id).sort()).toEqual([...bulk.events.map((e) => e.eventId), withMetadata.eventId].sort())
      expect(userEvents.rows?.find((e) => e.metadata.id === withMetadata.eventId)).toMatchObject({
        additionalMetadata: { source: "api" },
        payload: { test: "test" },
        triggeredRuns: null
      })
      const bySource = yield* Effect.promise(() => hatchet.events.list({ additionalMetadata: ["source:test"] } as never))
      expect(bySource.rows?.map((e) => (e.additionalMetadata as Record<string, unknown> | undefined)?.user_id).sort()).toEqual([
        "user1",
        "user2",
        "user3"
      ])
      expect(userEvents.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })

      // filter.js passes the workflow's name (`lower.id`) as its id: a 400, as upstream
      expect(
        yield* Official.restError(() =>
          hatchet.filters.create({ workflowId: example.lower.id, expression: "input.ShouldSkip == false", scope: "foobarbaz" })
        )
      ).toEqual({ status: 400, data: { message: "invalid UUID length: 5" } })
      // with the workflow's id, as upstream's test does
      const workflowId = (yield* Effect.promise(() => hatchet.workflows.get(example.lower.name))).metadata.id
      const filter = yield* Effect.promise(() =>
        hatchet.filters.create({
          workflowId,
          expression: "input.ShouldSkip == false",
          scope: "foobarbaz",
          payload: { main_character: "Anna", supporting_character: "Stiva", location: "Moscow" }
        })
      )
      expect(filter).toMatchObject({
        workflowId,
        scope: "foobarbaz",
        expression: "input.ShouldSkip == false",
        payload: { main_character: "Anna", supporting_character: "Stiva", location: "Moscow" },
        isDeclarative: false,
        tenantId: engine.tenantId
      })
      // the same filter again: upstream's unique index, a 500
      expect(
        (yield* Official.restError(() =>
          hatchet.filters.create({
            workflowId,
            expression: "input.ShouldSkip == false",
            scope: "foobarbaz",
            payload: { location: "Moscow", main_character: "Anna", supporting_character: "Stiva" }
          })
        ))?.status
      ).toBe(500)

      // Skip a run: the filter does not hold, `lower` does not run; `upper` has no filter and does
      const skipped = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "hello", ShouldSkip: true }, { scope: "foobarbaz" })
      )
      const skippedEvent = yield* settledEvent(hatchet, skipped.eventId, 1)
      expect(skippedEvent!.scope).toBe("foobarbaz")
      expect(yield* runWorkflows(hatchet, skipped.eventId)).toEqual(["upper"])
      // Trigger a run: it holds, `lower` runs with the filter's id recorded on the event
      const triggered = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "hello", ShouldSkip: false }, { scope: "foobarbaz" })
      )
      const triggeredEvent = yield* settledEvent(hatchet, triggered.eventId, 2)
      expect(yield* runWorkflows(hatchet, triggered.eventId)).toEqual(["lower", "upper"])
      expect(triggeredEvent!.triggeredRuns!.map((run) => run.filterId ?? null).sort()).toEqual([filter.metadata.id, null].sort())
      // an event without a scope no longer runs `lower`: it has filters now
      const unscoped = yield* Effect.promise(() => hatchet.events.push(example.SIMPLE_EVENT, { Message: "x", ShouldSkip: false }))
      yield* settledEvent(hatchet, unscoped.eventId, 1)
      expect(yield* runWorkflows(hatchet, unscoped.eventId)).toEqual(["upper"])
      // events by scope and by workflow
      const scoped = yield* Effect.promise(() => hatchet.events.list({ scopes: ["foobarbaz"] }))
      expect(scoped.rows?.map((e) => e.metadata.id)).toEqual([triggered.eventId, skipped.eventId])
      const ofLower = yield* Effect.promise(() => hatchet.events.list({ workflowIds: [workflowId] }))
      expect(ofLower.rows?.map((e) => e.metadata.id)).toEqual([triggered.eventId, pushed.eventId])

      // the filters client: list, get, update, delete
      const listed = yield* Effect.promise(() => hatchet.filters.list({ workflowIds: [workflowId], scopes: ["foobarbaz"] }))
      expect(listed.rows?.map((f) => f.metadata.id)).toEqual([filter.metadata.id])
      expect(listed.pagination).toEqual({ current_page: 0, next_page: 1, num_pages: 1 })
      expect(yield* Effect.promise(() => hatchet.filters.get(filter.metadata.id))).toEqual(filter)
      const updated = yield* Effect.promise(() => hatchet.filters.update(filter.metadata.id, { expression: "input.ShouldSkip == true" }))
      expect(updated).toMatchObject({ expression: "input.ShouldSkip == true", payload: filter.payload, scope: "foobarbaz" })
      const nowSkipped = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "y", ShouldSkip: true }, { scope: "foobarbaz" })
      )
      yield* settledEvent(hatchet, nowSkipped.eventId, 2)
      expect(yield* runWorkflows(hatchet, nowSkipped.eventId)).toEqual(["lower", "upper"])
      const deleted = yield* Effect.promise(() => hatchet.filters.delete(filter.metadata.id))
      expect(deleted.metadata.id).toBe(filter.metadata.id)
      expect(yield* Official.restError(() => hatchet.filters.get(filter.metadata.id))).toEqual({
        status: 404,
        data: { message: "not found" }
      })
      // without filters, every event of the key runs `lower` again
      const again = yield* Effect.promise(() => hatchet.events.push(example.SIMPLE_EVENT, { Message: "z", ShouldSkip: true }))
      yield* settledEvent(hatchet, again.eventId, 2)
      expect(yield* runWorkflows(hatchet, again.eventId)).toEqual(["lower", "upper"])
    }))

  it.scoped("lowerWithFilter: the declared filter runs it for its scope, and the task reads the payload with ctx.filterPayload()", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<OnEvent>("on_event/workflow")
      const { hatchet } = yield* Examples.worker("on-event-filter-worker", [example.lowerWithFilter], { slots: 10 })
      const workflowId = (yield* Effect.promise(() => hatchet.workflows.get("lower"))).metadata.id
      const declared = yield* Effect.promise(() => hatchet.filters.list({ workflowIds: [workflowId] }))
      expect(declared.rows?.map((f) => [f.scope, f.expression, f.payload, f.isDeclarative])).toEqual([
        ["example-scope", "true", { mainCharacter: "Anna", supportingCharacter: "Stiva", location: "Moscow" }, true]
      ])
      const event = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "hello", ShouldSkip: false }, { scope: "example-scope" })
      )
      // `upper` of the test before still listens to the key (with no worker now): the run of
      // `lower` is the one the declared filter triggered
      const filtered = yield* Official.eventually(async () => {
        const listed = await hatchet.events.list({ eventIds: [event.eventId] })
        return listed.rows?.[0]?.triggeredRuns?.find((run) => run.filterId !== undefined)
      }, 10_000)
      expect(filtered!.filterId).toBe(declared.rows![0]!.metadata.id)
      // the task logged ctx.filterPayload() as its log line's metadata
      const runId = filtered!.workflowRunId
      const logged = yield* Official.eventually(async () => {
        const lines = await hatchet.logs.list(runId)
        return lines.rows?.find((line) => line.message === "filterPayload")
      }, 10_000)
      expect(logged!.metadata).toMatchObject({
        filterPayload: { mainCharacter: "Anna", supportingCharacter: "Stiva", location: "Moscow" }
      })
      // another scope, or none: the declared filter is the workflow's only one, so nothing runs
      const other = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "x", ShouldSkip: false }, { scope: "x" })
      )
      const none = yield* Effect.promise(() => hatchet.events.push(example.SIMPLE_EVENT, { Message: "x", ShouldSkip: false }))
      const got = yield* Effect.promise(() => Promise.all([hatchet.events.list({ eventIds: [other.eventId, none.eventId] })]))
      expect(got[0].rows?.map((e) => e.triggeredRuns?.filter((run) => run.filterId !== undefined))).toEqual([[], []])
    }))
})
