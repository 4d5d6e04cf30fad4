/**
 * The `Workflows` service against the local engine: the tenant's workflows as upstream lists them,
 * one by id or by name, its registered version (what this SDK sent, as Hatchet stores it), a pause that holds new runs until unpaused (or their TTL passes, under the
 * TestClock), and a delete after which the workflow can no longer be triggered.
 */
import { Hatchet, Runs, Task, Workflows } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

const Greet = Task.make("workflows-greet", { input: Schema.Struct({ name: Schema.String }), output: Schema.String })
const Doomed = Task.make("workflows-doomed", { output: Schema.String })
const Pausable = Task.make("workflows-pausable", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number })

const GreetLive = Greet.toLayer(({ name }) => Effect.succeed(`hi ${name}`))
const DoomedLive = Doomed.toLayer(() => Effect.succeed("still here"))
const PausableLive = Pausable.toLayer(({ n }) => Effect.succeed(n * 2))

const TestLive = HatchetTest.layer({ workflows: [GreetLive, DoomedLive, PausableLive] })

layer(TestLive)("Workflows on the local engine", (it) => {
  it.effect("lists by a part of the name, finds one by its exact name, reads it by id with its latest version", () =>
    Effect.gen(function*() {
      const workflows = yield* Workflows.Workflows
      const listed = yield* workflows.list({ name: "WORKFLOWS-" })
      expect(listed.rows?.map((w) => w.name).sort()).toEqual(["workflows-doomed", "workflows-greet", "workflows-pausable"])
      expect(listed.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })
      expect((yield* workflows.list({ name: "workflows-", limit: 1, offset: 1 })).rows).toHaveLength(1)
      const greet = Option.getOrThrow(yield* workflows.findByName("workflows-greet"))
      expect(Option.isNone(yield* workflows.findByName("workflows"))).toBe(true)
      const one = yield* workflows.get(greet.metadata.id)
      expect(one).toMatchObject({ name: "workflows-greet", isPaused: false, versions: [{ order: 1, workflowId: greet.metadata.id }] })
      const missing = yield* Effect.flip(workflows.get("2f2f2f2f-5555-4555-8555-555555555555"))
      expect(missing).toMatchObject({ _tag: "RestError", status: 404 })
      const invalid = yield* Effect.flip(workflows.get("not-a-uuid"))
      expect(invalid).toMatchObject({ _tag: "RestError", status: 400 })
    }))

  it.effect("version: the latest version of a workflow or one by id, with the registration as Hatchet stores it", () =>
    Effect.gen(function*() {
      const workflows = yield* Workflows.Workflows
      const greet = Option.getOrThrow(yield* workflows.findByName("workflows-greet"))
      const versionId = (yield* workflows.get(greet.metadata.id)).versions![0]!.metadata.id
      const latest = yield* workflows.version(greet.metadata.id)
      expect(latest).toMatchObject({
        metadata: { id: versionId },
        order: 1,
        defaultPriority: 0,
        scheduleTimeout: "5m",
        workflow: { metadata: { id: greet.metadata.id }, name: "workflows-greet", isPaused: false },
        triggers: {},
        v1Concurrency: [],
        // the input schema this SDK registers, from the task's Schema
        inputJsonSchema: { type: "object", required: ["name"], properties: { name: { type: "string" } } }
      })
      expect(latest.workflowConfig).toMatchObject({
        Name: "workflows-greet",
        Tasks: [{ ReadableId: "workflows-greet", Action: "workflows-greet:workflows-greet", Parents: [], TriggerConditions: [] }]
      })
      expect(yield* workflows.version(greet.metadata.id, versionId)).toEqual(latest)
      const unknown = yield* Effect.flip(workflows.version(greet.metadata.id, "2f2f2f2f-5555-4555-8555-555555555555"))
      expect(unknown).toMatchObject({ _tag: "RestError", status: 404 })
    }))

  it.effect("a paused workflow's run stays QUEUED while the worker serves others, runs once unpaused; past the TTL a held run is cancelled", () =>
    Effect.gen(function*() {
      const workflows = yield* Workflows.Workflows
      const runs = yield* Runs.Runs
      const { metadata } = Option.getOrThrow(yield* workflows.findByName("workflows-pausable"))
      const paused = yield* workflows.pause(metadata.id, { queueTtl: "1 hour", scheduledRuns: "DROP" })
      expect(paused).toMatchObject({
        isPaused: true,
        pausedWorkflowCronRunQueueBehavior: "QUEUE",
        pausedWorkflowScheduledRunQueueBehavior: "DROP"
      })
      expect((yield* workflows.get(metadata.id)).isPaused).toBe(true)

      const held = yield* Hatchet.runNoWait(Pausable, { n: 21 })
      // the worker is serving: another workflow's run completes meanwhile
      expect(yield* Hatchet.run(Greet, { name: "Bo" })).toBe("hi Bo")
      yield* HatchetTest.adjust("10 minutes")
      expect(yield* runs.status(held.runId)).toBe("QUEUED")
      const unpaused = yield* workflows.unpause(metadata.id)
      expect(unpaused.isPaused).toBe(false)
      expect(unpaused.pausedWorkflowCronRunQueueBehavior).toBeUndefined()
      expect(yield* held.result).toBe(42)

      yield* workflows.pause(metadata.id, { queueTtl: "1 hour" })
      const expiring = yield* Hatchet.runNoWait(Pausable, { n: 1 })
      yield* HatchetTest.adjust("1 hour")
      expect(yield* runs.status(expiring.runId)).toBe("CANCELLED")
      const details = yield* runs.get(expiring.runId)
      expect(details.taskEvents?.map((e) => [e.eventType, e.message])).toContainEqual([
        "CANCELLED",
        "paused workflow queue item TTL expired."
      ])
      yield* workflows.unpause(metadata.id)
      expect(yield* Hatchet.run(Pausable, { n: 2 })).toBe(4)

      // a TTL Hatchet cannot carry is refused before anything is sent
      const refused = yield* Effect.flip(workflows.pause(metadata.id, { queueTtl: "1.5 millis" }))
      expect(refused).toMatchObject({ _tag: "RestError", reason: "Encode", method: "PATCH" })
      expect(refused.message).toContain("queueTtl")
      expect((yield* workflows.get(metadata.id)).isPaused).toBe(false)
    }))

  it.effect("a deleted workflow leaves the list and can no longer be triggered; the others still run", () =>
    Effect.gen(function*() {
      const workflows = yield* Workflows.Workflows
      expect(yield* Hatchet.run(Doomed, {})).toBe("still here")
      const doomed = Option.getOrThrow(yield* workflows.findByName("workflows-doomed"))
      yield* workflows.delete(doomed.metadata.id)
      expect(Option.isNone(yield* workflows.findByName("workflows-doomed"))).toBe(true)
      const refused = yield* Effect.flip(Hatchet.run(Doomed, {}))
      expect(String(refused)).toContain("workflows-doomed")
      expect(yield* Effect.flip(workflows.delete(doomed.metadata.id))).toMatchObject({ status: 404 })
      expect(yield* Hatchet.run(Greet, { name: "Ada" })).toBe("hi Ada")
    }))
})
