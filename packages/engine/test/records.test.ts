/**
 * What a finished run holds, in process under TestClock: the maps and lists it has nothing in are
 * the shared empty ones (`noEntries`, `noItems`), its `{}` input is the shared empty object, a
 * single-task run keeps no map of task ids; a run that writes into one of them gets its own and
 * the shared ones stay empty (and refuse writes). Its timeline keeps the times it was given.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Admin from "../src/internal/domain/admin.js"
import { emptyObject } from "../src/internal/domain/json.js"
import { noEntries, noItems, type Task, type TaskEvent, taskIdOf, TaskMap } from "../src/internal/domain/model.js"
import * as Queries from "../src/internal/domain/queries.js"
import { eventsOf, packTimeline, ranOn, recordEvent } from "../src/internal/domain/taskEvents.js"
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
      expect(a.tasks).toBeInstanceOf(TaskMap)
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
      const queued = eventsOf(t).find((e) => e.eventType === "QUEUED")!
      const finished = eventsOf(t).find((e) => e.eventType === "FINISHED")!
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

  it.scoped("its timeline is packed and reads back as recorded; a late STARTED and a replay write to it again", () =>
    Effect.gen(function*() {
      const fields = (events: ReadonlyArray<TaskEvent>) =>
        events.map(({ errorMessage, eventType, id, message, output, retryCount, timestamp, workerId }) => ({
          id,
          timestamp,
          eventType,
          message,
          errorMessage,
          output,
          workerId,
          retryCount
        }))
      const h = yield* makeHarness
      yield* h.putWorkflow("packed", [task("t", { retries: 1 })])
      const w = yield* h.worker(["packed:t"])
      const runId = yield* h.trigger("packed")
      const t = h.state.tasksByExternalId.get(runId)!
      const live = t.timeline as Array<TaskEvent>
      yield* h.advance(250, [w])
      yield* h.fail(w.starts()[0]!, "first \"attempt\", failed")
      yield* h.advance(1_000, [w])
      yield* h.complete(w.starts()[1]!, "{\"n\":1}")
      // finished: packed, and read back event for event (ids, times, texts, attempts)
      expect((yield* h.getRun(runId)).finishedAt).toBeDefined()
      expect(Array.isArray(t.timeline)).toBe(false)
      expect(live.map((e) => e.eventType)).toContain("FAILED")
      expect(fields(eventsOf(t))).toEqual(fields(live))
      expect(new Set(live.map((e) => e.errorMessage ?? e.output ?? e.workerId)).size).toBeGreaterThan(2)
      // the worker filter reads the packed timeline: its worker, not its other texts
      const workerId = live.find((e) => e.workerId !== undefined)!.workerId!
      expect([workerId, "{\"n\":1}", "first \"attempt\", failed", "other"].map((id) => ranOn(t, id))).toEqual([true, false, false, false])
      expect(Queries.listRuns(h.state, tenantId, { workerId }).rows.map((run) => run.id)).toEqual([runId])
      // a STARTED that arrives after the result goes before it, and the timeline is packed again
      yield* h.report(w.starts()[1]!, StepActionEventType.STEP_EVENT_TYPE_STARTED, "")
      expect(Array.isArray(t.timeline)).toBe(false)
      expect(eventsOf(t).map((e) => `${e.retryCount}:${e.eventType}`).slice(-2)).toEqual(["1:STARTED", "1:FINISHED"])
      expect(fields(eventsOf(t)).filter((e) => e.eventType !== "STARTED" || e.retryCount !== 1)).toEqual(fields(live))
      // added to the packed timeline as it is, it is what packing its events again gives
      const late = eventsOf(t).at(-2)!
      expect([late.message, late.workerId, late.errorMessage, late.output]).toEqual(["", workerId, undefined, undefined])
      const repacked = { run: t.run, timeline: [...eventsOf(t)] } as Task
      packTimeline(repacked)
      expect(repacked.timeline).toEqual(t.timeline)
      // a second late STARTED finds the attempt's STARTED: the packed timeline is kept as it was
      const packed = t.timeline
      yield* h.report(w.starts()[1]!, StepActionEventType.STEP_EVENT_TYPE_STARTED, "")
      expect(t.timeline).toBe(packed)
      // an event recorded on the finished run's task joins the packed timeline, which stays packed
      const finishedAt = (yield* h.getRun(runId)).finishedAt!
      recordEvent(h.state, t, "SLOT_RELEASED", finishedAt + 10, { message: "after the run" })
      expect(Array.isArray(t.timeline)).toBe(false)
      expect(eventsOf(t).at(-1)).toMatchObject({ eventType: "SLOT_RELEASED", message: "after the run", retryCount: 1 })
      expect(eventsOf(t).at(-1)!.timestamp).toBe(finishedAt + 10)
      // a replay adds to the timeline of the run that is live again
      const before = fields(eventsOf(t))
      yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [runId] }, now))
      const replayed = yield* h.taskOf(runId, "t")
      expect(fields(eventsOf(replayed)).slice(0, before.length)).toEqual(before)
      expect(eventsOf(replayed).slice(before.length).map((e) => e.eventType)).toContain("RETRIED_BY_USER")
    }))

  it("a run's tasks keep a Map's answers and order, one task inline, more in a Map", () => {
    const tasks = new TaskMap()
    const map = new Map<string, Task>()
    const task = (name: string) => ({ externalId: name }) as unknown as Task
    const same = () => {
      expect(tasks.size).toBe(map.size)
      expect([...tasks.values()]).toEqual([...map.values()])
      for (const key of ["a", "b", "c", "x"]) expect(tasks.get(key)).toBe(map.get(key))
      expect(tasks.first()).toBe(map.values().next().value)
    }
    const steps: Array<readonly ["set" | "delete", string]> = [
      ["delete", "a"],
      ["set", "a"],
      ["set", "a"],
      ["delete", "x"],
      ["delete", "a"],
      ["set", "b"],
      ["set", "a"],
      ["set", "b"],
      ["set", "c"],
      ["delete", "a"],
      ["set", "a"],
      ["delete", "b"],
      ["delete", "c"]
    ]
    same()
    steps.forEach(([op, key], i) => {
      if (op === "set") {
        const t = task(`${key}${i}`)
        expect(tasks.set(key, t)).toBe(tasks)
        map.set(key, t)
      } else expect(tasks.delete(key)).toBe(map.delete(key))
      same()
    })
  })
})
