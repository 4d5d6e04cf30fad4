/**
 * Event filters end to end with our worker and client on the local engine: a workflow without
 * filters runs for every event of its key; `defaultFilters` and filters made with the `Filters`
 * service decide which scoped events run it, and the task reads the matching filter's payload
 * (typed with `TaskContext.decodeFilterPayload`); `EventHistory` finds each event with the runs it
 * triggered; bad filter definitions are refused before anything is sent.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Either, Layer, Option, Schema } from "effect"
import * as EventHistory from "../src/EventHistory.js"
import * as Filters from "../src/Filters.js"
import * as Hatchet from "../src/Hatchet.js"
import * as Runs from "../src/Runs.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, pollUntil, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const Payment = Schema.Struct({ amount: Schema.Number, currency: Schema.String })
const Threshold = Schema.Struct({ threshold: Schema.Number, team: Schema.String })
const Seen = Schema.Struct({ amount: Schema.Number, filter: Schema.NullOr(Threshold) })

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("event filters end to end", (it) => {
  it.scoped("declared and API filters decide which scoped events run the task, each run with its filter's payload", () =>
    Effect.gen(function*() {
      const key = unique("payment:received")
      const seen: Array<Schema.Schema.Type<typeof Seen>> = []
      const Notify = Task.make(unique("notify"), {
        input: Payment,
        output: Seen,
        onEvents: [key],
        defaultFilters: [
          { scope: "acme", expression: "input.amount >= payload.threshold", payload: { threshold: 100, team: "big" } }
        ]
      })
      const Audit = Task.make(unique("audit"), { input: Payment, output: Seen, onEvents: [key] })
      const record = (input: Schema.Schema.Type<typeof Payment>) =>
        Effect.gen(function*() {
          const filter = yield* Effect.orDie(TaskContext.decodeFilterPayload(Threshold))
          const out = { amount: input.amount, filter: Option.getOrNull(filter) }
          seen.push(out)
          return out
        })
      yield* startWorker(Layer.mergeAll(Notify.toLayer(record), Audit.toLayer(record)))
      const history = yield* EventHistory.EventHistory
      const filters = yield* Filters.Filters

      // the declared filter is registered with the task
      const declared = yield* filters.list({ workflows: [Notify] })
      expect(declared.rows?.map((f) => [f.scope, f.expression, f.payload, f.isDeclarative])).toEqual([
        ["acme", "input.amount >= payload.threshold", { threshold: 100, team: "big" }, true]
      ])

      const settle = (eventId: string, runs: number) =>
        pollUntil(history.get(eventId), (e) => e.workflowRunSummary.succeeded === runs && e.triggeredRuns.length === runs)

      // in scope and over the threshold: Notify runs with the payload; Audit (no filters) runs too
      const big = yield* Hatchet.push(key, { amount: 250, currency: "EUR" }, { scope: "acme" })
      const bigEvent = yield* settle(big.eventId, 2)
      expect(bigEvent.scope).toBe("acme")
      const notifyId = yield* filters.workflowId(Notify)
      const byFilter = bigEvent.triggeredRuns.filter((run) => run.filterId !== undefined)
      expect(byFilter).toHaveLength(1)
      expect(byFilter[0]!.filterId).toBe(declared.rows![0]!.metadata.id)
      expect(seen.filter((s) => s.amount === 250).map((s) => s.filter).sort((a) => (a === null ? 1 : -1))).toEqual([
        { threshold: 100, team: "big" },
        null
      ])
      // the runs are found from the event, and the event by its id
      const runs = yield* Effect.flatMap(
        Runs.Runs,
        (r) => r.list({ since: new Date(Date.now() - 60_000), triggeringEventExternalId: big.eventId })
      )
      expect(runs.rows.map((run) => run.metadata.id).sort()).toEqual(bigEvent.triggeredRuns.map((r) => r.workflowRunId).sort())
      expect((yield* history.list({ eventIds: [big.eventId] })).rows?.map((e) => e.metadata.id)).toEqual([big.eventId])

      // under the threshold, or another scope, or no scope: only Audit runs
      const small = yield* Hatchet.push(key, { amount: 5, currency: "EUR" }, { scope: "acme" })
      const other = yield* Hatchet.push(key, { amount: 500, currency: "EUR" }, { scope: "globex" })
      const none = yield* Hatchet.push(key, { amount: 500, currency: "EUR" })
      for (const event of [small, other, none]) {
        const settled = yield* settle(event.eventId, 1)
        expect(settled.triggeredRuns[0]!.filterId).toBeUndefined()
      }

      // a filter made through the API for another scope, with its own payload
      const globex = yield* filters.create({
        workflow: Notify,
        scope: "globex",
        expression: "input.currency == 'USD' && additional_metadata.channel == 'web'",
        payload: { threshold: 0, team: "us" }
      })
      expect(globex).toMatchObject({ workflowId: notifyId, scope: "globex", isDeclarative: false })
      const usd = yield* Hatchet.push(key, { amount: 7, currency: "USD" }, { scope: "globex", additionalMetadata: { channel: "web" } })
      const usdEvent = yield* settle(usd.eventId, 2)
      expect(usdEvent.triggeredRuns.map((r) => r.filterId).filter((id) => id !== undefined)).toEqual([globex.metadata.id])
      expect(seen.find((s) => s.amount === 7 && s.filter !== null)?.filter).toEqual({ threshold: 0, team: "us" })

      // updated and deleted
      const updated = yield* filters.update(globex.metadata.id, { expression: "false" })
      expect(updated.expression).toBe("false")
      const blocked = yield* Hatchet.push(key, { amount: 8, currency: "USD" }, { scope: "globex", additionalMetadata: { channel: "web" } })
      yield* settle(blocked.eventId, 1)
      expect((yield* filters.delete(globex.metadata.id)).metadata.id).toBe(globex.metadata.id)
      const gone = yield* Effect.either(filters.get(globex.metadata.id))
      expect(Either.isLeft(gone) && gone.left.status).toBe(404)

      // the history lists by key and scope, newest first
      const scoped = yield* history.list({ keys: [key], scopes: ["acme"] })
      expect(scoped.rows?.map((e) => e.metadata.id)).toEqual([small.eventId, big.eventId])
      expect(yield* history.keys).toContain(key)
    }))

  it.scoped("a workflow not registered yet has no id to attach a filter to; bad declared filters are refused before sending", () =>
    Effect.gen(function*() {
      const filters = yield* Filters.Filters
      const Unregistered = Task.make(unique("never-registered"), { onEvents: ["x"] })
      const error = yield* Effect.flip(filters.create({ workflow: Unregistered, scope: "s", expression: "true" }))
      expect(error._tag).toBe("WorkflowNotRegistered")
      const bad = Workflow.make(unique("bad-filters"), {
        onEvents: ["x"],
        defaultFilters: [
          { scope: "", expression: "true" },
          { scope: "s", expression: " " },
          { scope: "s", expression: "true", payload: [] as never },
          { scope: "t", expression: "true", payload: { a: 1 } },
          { scope: "t", expression: "true", payload: { a: 1 } }
        ]
      }).pipe(Workflow.task("t"))
      const refused = yield* Effect.flip(Workflow.validate(bad))
      expect(refused.issues).toEqual([
        "defaultFilters[0].scope: must be a non-empty string",
        "defaultFilters[1].expression: must be a CEL expression (an empty one never matches)",
        "defaultFilters[2].payload: must be a JSON object",
        "defaultFilters[4]: repeats defaultFilters[3]"
      ])
    }))
})
