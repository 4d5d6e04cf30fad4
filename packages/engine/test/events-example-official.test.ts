/**
 * The official SDK's shipped `events` example (its workflows and worker) against the engine, with
 * the scenarios of upstream's test of it (`event.e2e.ts`): a filter per test run, whose expression
 * reads the event (`input`) and the filter's own payload (`payload`), decides which of six events
 * pushed with and without its scope, of the key and of another, run `lower`; `upper`, without
 * filters, runs for every event of its key; a bulk push returns its events with their keys.
 */
import { expect, layer } from "@effect/vitest"
import type * as EventsModule from "@hatchet-dev/typescript-sdk/v1/examples/events/workflow.js"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Events = typeof EventsModule
type Client = Official.Client

/** The workflows each event ran, once every run of every event is final. */
const runsByEvent = (hatchet: Client, eventIds: ReadonlyArray<string>) =>
  Official.eventually(async () => {
    const listed = await hatchet.events.list({ eventIds: [...eventIds], limit: 100 })
    const rows = listed.rows ?? []
    if (rows.length !== eventIds.length) return undefined
    const settled = rows.every((e) => e.workflowRunSummary.queued + e.workflowRunSummary.running === 0)
    if (!settled) return undefined
    const out: Record<string, Array<string>> = {}
    for (const id of eventIds) {
      const runs = await hatchet.runs.list({ additionalMetadata: { hatchet__event_id: id } })
      out[id] = (runs.rows ?? []).map((run) => run.workflowName ?? "").sort()
    }
    return out
  }, 10_000)

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: the events example", (it) => {
  it.scoped("a filter on the test run's scope: only the scoped events that pass its expression run `lower`", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<Events>("events/workflow")
      const { hatchet } = yield* Examples.worker("events-worker", [example.lower, example.upper], { slots: 20 })
      const workflowId = (yield* Effect.promise(() => hatchet.workflows.get(example.lower.name))).metadata.id

      const testRunId = randomUUID()
      const filter = yield* Effect.promise(() =>
        hatchet.filters.create({
          workflowId,
          expression: `input.should_skip == false && payload.test_run_id == '${testRunId}'`,
          scope: testRunId,
          payload: { test_run_id: testRunId }
        })
      )
      const cases = [
        { scope: undefined, skip: false, key: example.SIMPLE_EVENT, lower: false, upper: true },
        { scope: undefined, skip: true, key: example.SIMPLE_EVENT, lower: false, upper: true },
        { scope: testRunId, skip: false, key: example.SIMPLE_EVENT, lower: true, upper: true },
        { scope: testRunId, skip: true, key: example.SIMPLE_EVENT, lower: false, upper: true },
        { scope: testRunId, skip: true, key: "thisisafakeeventfoobarbaz", lower: false, upper: false },
        { scope: testRunId, skip: false, key: "thisisafakeeventfoobarbaz", lower: false, upper: false }
      ]
      const pushed = yield* Effect.promise(() =>
        Promise.all(cases.map((c, index) =>
          hatchet.events.push(c.key, { should_skip: c.skip, Message: `This is event ${index + 1}` }, {
            ...(c.scope !== undefined ? { scope: c.scope } : {}),
            additionalMetadata: { test_run_id: testRunId, index: String(index + 1) }
          })
        ))
      )
      const runs = yield* runsByEvent(hatchet, pushed.map((e) => e.eventId))
      expect(pushed.map((e) => runs![e.eventId])).toEqual(
        cases.map((c) => [...(c.lower ? ["lower"] : []), ...(c.upper ? ["upper"] : [])])
      )

      // the filter's payload decides too: another test run's filter never holds for these events
      yield* Effect.promise(() => hatchet.filters.delete(filter.metadata.id))
      const other = yield* Effect.promise(() =>
        hatchet.filters.create({
          workflowId,
          expression: "input.should_skip == false && payload.foobar == 'baz'",
          scope: testRunId,
          payload: { test_run_id: testRunId, foobar: "qux" }
        })
      )
      const notMatching = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "This is event 1", should_skip: false }, { scope: testRunId })
      )
      yield* Effect.promise(() => hatchet.filters.update(other.metadata.id, { payload: { test_run_id: testRunId, foobar: "baz" } }))
      const matching = yield* Effect.promise(() =>
        hatchet.events.push(example.SIMPLE_EVENT, { Message: "This is event 1", should_skip: false }, { scope: testRunId })
      )
      const second = yield* runsByEvent(hatchet, [notMatching.eventId, matching.eventId])
      expect(second![notMatching.eventId]).toEqual(["upper"])
      expect(second![matching.eventId]).toEqual(["lower", "upper"])
    }))

  it.scoped("bulk push: the events come back in order with their keys, each run as a single push would", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<Events>("events/workflow")
      const { hatchet } = yield* Examples.worker("events-bulk-worker", [example.upper], { slots: 20 })
      const result = yield* Effect.promise(() =>
        hatchet.events.bulkPush(example.SIMPLE_EVENT, [
          { payload: { Message: "This is event 1", ShouldSkip: false }, additionalMetadata: { source: "test", user_id: "user123" } },
          { payload: { Message: "This is event 2", ShouldSkip: false }, additionalMetadata: { source: "test", user_id: "user456" } },
          { payload: { Message: "This is event 3", ShouldSkip: false }, additionalMetadata: { source: "test", user_id: "user789" } }
        ])
      )
      expect(result.events.map((e) => e.key)).toEqual([example.SIMPLE_EVENT, example.SIMPLE_EVENT, example.SIMPLE_EVENT])
      const runs = yield* runsByEvent(hatchet, result.events.map((e) => e.eventId))
      expect(result.events.map((e) => runs![e.eventId]!.includes("upper"))).toEqual([true, true, true])
      const listed = yield* Effect.promise(() => hatchet.events.list({ eventIds: result.events.map((e) => e.eventId) }))
      expect(listed.rows?.map((e) => (e.additionalMetadata as Record<string, unknown> | undefined)?.user_id).sort()).toEqual([
        "user123",
        "user456",
        "user789"
      ])
    }))
})
