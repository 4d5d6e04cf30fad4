/**
 * What a finished run holds, in process under TestClock: the maps and lists it has nothing in are
 * the shared empty ones (`noEntries`, `noItems`), its `{}` input is the shared empty object, a
 * single-task run keeps no map of task ids; a run that writes into one of them gets its own and
 * the shared ones stay empty (and refuse writes). Its timeline keeps the times it was given.
 */
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { emptyObject } from "../src/internal/domain/json.js"
import { noEntries, noItems, taskIdOf } from "../src/internal/domain/model.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

describe("a finished run's records", () => {
  it.scoped("share the empty maps, lists and {} payload; its timeline keeps its times", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("single", [task("only")])
      const w = yield* h.worker(["single:only"])
      const first = yield* h.trigger("single")
      const second = yield* h.trigger("single")
      yield* h.advance(1_234, [w], 1_234)
      for (const start of w.starts()) yield* h.complete(start, "{}")
      const [a, b] = [yield* h.getRun(first), yield* h.getRun(second)]
      expect(a.finishedAt).toBeDefined()
      expect(a.taskIds).toBeUndefined()
      expect(a.input).toBe(emptyObject)
      expect(b.input).toBe(a.input)
      expect(a.matches).toBe(noEntries)
      expect(a.concurrencySlots).toBe(noEntries)
      const t = [...a.tasks.values()][0]!
      expect(t.externalId).toBe(a.id)
      expect(taskIdOf(a, t.step)).toBe(a.id)
      expect([t.spawned, t.signals]).toEqual([noEntries, noEntries])
      expect(t.spawned).toBe(noEntries)
      expect(t.logs).toBe(noItems)
      expect(t.rateLimits).toBe(noItems)
      expect(t.concurrencySlots).toBe(noItems)
      expect(t.triggerData).toBe(emptyObject)
      // times as recorded: queued at the trigger, finished after the clock moved
      const queued = t.events.find((e) => e.eventType === "QUEUED")!
      const finished = t.events.find((e) => e.eventType === "FINISHED")!
      expect(queued.timestamp).toBe(a.createdAt)
      expect(finished.timestamp - queued.timestamp).toBe(1_234)
      expect(finished.timestamp).toBe(t.state._tag === "Completed" ? t.state.at : -1)
    }))

  it.scoped("a run that writes gets a map of its own; the shared ones stay empty and refuse writes", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("parent", [task("p")])
      yield* h.putWorkflow("child", [task("c")])
      yield* h.putWorkflow("dag", [task("a"), task("b", { parents: ["a"] })])
      yield* h.worker(["parent:p"])
      const parentRun = yield* h.trigger("parent")
      const child = yield* h.runEither((state, now) =>
        Either.map(
          Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({
            name: "child",
            input: "{\"n\":1}",
            parentId: parentRun,
            parentTaskRunExternalId: parentRun,
            childIndex: 0,
            childKey: "k"
          })], now)),
          (ids) => ids[0]!
        )
      )
      const parent = yield* h.getRun(parentRun)
      const spawner = [...parent.tasks.values()][0]!
      expect(spawner.spawned).not.toBe(noEntries)
      expect([...spawner.spawned.values()]).toEqual([child])
      expect((yield* h.getRun(child)).input).toEqual({ n: 1 })
      const dag = yield* h.getRun(yield* h.trigger("dag"))
      expect(dag.taskIds?.size).toBe(2)
      expect(new Set(dag.version.steps.map((step) => taskIdOf(dag, step))).size).toBe(2)
      expect(noEntries.size).toBe(0)
      expect(noItems).toHaveLength(0)
      expect(() => (noEntries as unknown as Map<string, string>).set("k", "v")).toThrow(/shared/)
      expect(() => (noItems as unknown as Array<number>).push(1)).toThrow(TypeError)
      expect(Object.isFrozen(emptyObject)).toBe(true)
    }))
})
