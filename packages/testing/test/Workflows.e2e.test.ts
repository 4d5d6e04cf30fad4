/**
 * The `Workflows` service against the local engine: the tenant's workflows as upstream lists them,
 * one by id or by name, and a delete after which the workflow can no longer be triggered.
 */
import { Hatchet, Task, Workflows } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

const Greet = Task.make("workflows-greet", { input: Schema.Struct({ name: Schema.String }), output: Schema.String })
const Doomed = Task.make("workflows-doomed", { output: Schema.String })

const GreetLive = Greet.toLayer(({ name }) => Effect.succeed(`hi ${name}`))
const DoomedLive = Doomed.toLayer(() => Effect.succeed("still here"))

const TestLive = HatchetTest.layer({ workflows: [GreetLive, DoomedLive] })

layer(TestLive)("Workflows on the local engine", (it) => {
  it.effect("lists by a part of the name, finds one by its exact name, reads it by id with its latest version", () =>
    Effect.gen(function*() {
      const workflows = yield* Workflows.Workflows
      const listed = yield* workflows.list({ name: "WORKFLOWS-" })
      expect(listed.rows?.map((w) => w.name).sort()).toEqual(["workflows-doomed", "workflows-greet"])
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
