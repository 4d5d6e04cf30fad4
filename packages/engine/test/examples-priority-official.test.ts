/**
 * The official SDK's shipped `priority` example, unchanged, on an official worker of one slot
 * against this engine, with the fact upstream's own test of it checks and the two its comments
 * state: a task sees, in `ctx.priority()`, the default priority it declares (MEDIUM) unless the
 * run asks for another (HIGH); the tasks of a workflow that declares a default (LOW) see it.
 */
import { expect, layer } from "@effect/vitest"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/priority/workflow.js"
import { Priority } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

type Example = typeof ExampleModule

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

layer(InternalEngine.layer(), { timeout: 30_000, excludeTestServices: true })("official SDK example: priority", (it) => {
  it.scoped("ctx.priority(): the task's default, the run's override, the workflow's default in each of its tasks", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const { hatchet } = yield* Official.importExample<{ readonly hatchet: Official.Client }>(engine, "hatchet-client.js")
      const { priority, priorityWf } = yield* Official.importExample<Example>(engine, "priority/workflow.js")
      yield* Official.worker(hatchet, "priority-worker", { workflows: [priority, priorityWf], slots: 1 })
      expect(yield* promise(() => priority.run({}))).toEqual({ priority: Priority.MEDIUM })
      expect(yield* promise(() => priority.run({}, { priority: Priority.HIGH }))).toEqual({ priority: Priority.HIGH })
      expect(yield* promise(() => priorityWf.run({}))).toEqual({
        "child-medium": { priority: Priority.LOW },
        "child-high": { priority: Priority.LOW }
      })
    }))
})
