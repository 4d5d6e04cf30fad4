/**
 * Cron triggers created through REST with the official TypeScript SDK over loopback:
 * `hatchet.crons.create` / `get` / `list` / `delete`; the official worker runs a cron of every
 * second with its input and the cron metadata (its name included), and never after its deletion.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: REST crons", (it) => {
  it.scoped("create, get, list, delete: the worker runs the cron every second with its input and metadata, never after its deletion", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("api-cron")
      const fired: Array<{ readonly input: { readonly n: number }; readonly metadata: Record<string, string> }> = []
      const wf = hatchet.workflow<{ n: number }>({ name, onCrons: ["0 0 1 1 *"] })
      wf.task({
        name: "tick",
        fn: async (input, ctx) => {
          fired.push({ input, metadata: ctx.additionalMetadata() })
          return {}
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 5 })

      const created = yield* Effect.promise(() =>
        hatchet.crons.create(name, {
          name: "every-second",
          expression: "* * * * * *",
          input: { n: 7 },
          additionalMetadata: { team: "crons" },
          priority: 2
        })
      )
      expect(created).toMatchObject({
        workflowName: name,
        cron: "* * * * * *",
        name: "every-second",
        input: { n: 7 },
        additionalMetadata: { team: "crons" },
        enabled: true,
        method: "API",
        priority: 2
      })
      const got = yield* Effect.promise(() => hatchet.crons.get(created.metadata.id))
      expect(got).toEqual(created)
      // the same name-expression pair again: upstream's 400, as the SDK reports it
      const duplicate = yield* Effect.promise(() =>
        hatchet.crons.create(name, { name: "every-second", expression: "* * * * * *" }).then(
          () => undefined,
          (error: Error) => error.message
        )
      )
      expect(duplicate).toBe(JSON.stringify([{ description: "cron trigger with that name-expression pair already exists" }]))

      // the list shows the declared cron too
      const listed = yield* Effect.promise(() => hatchet.crons.list({ workflow: name }))
      expect(listed.rows?.map((row) => [row.method, row.name, row.cron]).sort()).toEqual([
        ["API", "every-second", "* * * * * *"],
        ["DEFAULT", "", "0 0 1 1 *"]
      ])
      expect((yield* Effect.promise(() => hatchet.crons.list({ cronName: "every-second" }))).rows?.map((row) => row.metadata.id))
        .toEqual([created.metadata.id])

      yield* Official.eventually(() => (fired.length >= 1 ? true : undefined), 10_000)
      const [first] = fired
      expect(first!.input).toEqual({ n: 7 })
      expect(first!.metadata).toMatchObject({
        team: "crons",
        hatchet__cron_name: "every-second",
        hatchet__cron_expression: "* * * * * *"
      })
      expect(first!.metadata.hatchet__cron_scheduled_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

      yield* Effect.promise(() => hatchet.crons.delete(created))
      const deletedAt = Date.now()
      const remaining = yield* Effect.promise(() => hatchet.crons.list({ workflow: name }))
      expect(remaining.rows?.map((row) => row.method)).toEqual(["DEFAULT"])
      // no tick after the deletion ever runs (a tick is only scheduled after the previous one)
      yield* Effect.sleep("1500 millis")
      const late = fired.filter((f) => Date.parse(f.metadata.hatchet__cron_scheduled_at!) > deletedAt)
      expect(late).toEqual([])
    }))
})
