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
import {
  cancelledState,
  completedState,
  failedState,
  latestVersion,
  type Match,
  noEntries,
  noItems,
  RunRecord,
  type Task,
  type TaskEvent,
  taskIdOf,
  TaskMap,
  TaskRecord
} from "../src/internal/domain/model.js"
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
      const timeline = t.timeline as Array<TaskEvent>
      yield* h.advance(250, [w])
      yield* h.fail(w.starts()[0]!, "first \"attempt\", failed")
      yield* h.advance(1_000, [w])
      const beforeResult = [...timeline]
      yield* h.complete(w.starts()[1]!, "{\"n\":1}")
      // finished: packed, and read back event for event (ids, times, texts, attempts); the array it
      // replaced let go of its events
      const finished = (yield* h.getRun(runId)).finishedAt
      expect(finished).toBeDefined()
      expect(Array.isArray(t.timeline)).toBe(false)
      expect(timeline).toEqual([])
      const live = eventsOf(t)
      expect(live.map((e) => e.eventType)).toContain("FAILED")
      expect(fields(live.slice(0, -1))).toEqual(fields(beforeResult))
      expect(fields(live.slice(-1))).toEqual([{
        id: beforeResult.at(-1)!.id + 1,
        timestamp: finished,
        eventType: "FINISHED",
        message: "",
        errorMessage: undefined,
        output: "{\"n\":1}",
        workerId: beforeResult.at(-1)!.workerId,
        retryCount: 1
      }])
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

  it("a run's tasks keep a Map's answers and order (some, forEach included), one task inline, more in a Map", () => {
    const tasks = new TaskMap()
    const map = new Map<string, Task>()
    const task = (name: string) => ({ externalId: name }) as unknown as Task
    const same = () => {
      expect(tasks.size).toBe(map.size)
      expect([...tasks.values()]).toEqual([...map.values()])
      for (const key of ["a", "b", "c", "x"]) expect(tasks.get(key)).toBe(map.get(key))
      expect(tasks.first()).toBe(map.values().next().value)
      const visited: Array<Task> = []
      tasks.forEach((t) => visited.push(t))
      expect(visited).toEqual([...map.values()])
      for (const key of ["a", "b", "c", "x"]) {
        const named = (t: Task) => t.externalId.startsWith(key)
        expect(tasks.some(named)).toBe([...map.values()].some(named))
      }
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

  it.scoped("a run and a task give back what they were made with; what few have is not written into the shared extras", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("single", [task("only")])
      const version = latestVersion(h.state.tenants.get(tenantId)!.workflowsByName.get("single")!)
      const at = 1_765_000_000_000
      const plain = {
        id: "0b9a4c5e-5a43-4c31-9d6c-2f1c7d3c9d01",
        workflow: version.workflow,
        version,
        inputRaw: "{}",
        input: emptyObject,
        metadata: { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" },
        priority: 2,
        createdAt: at,
        parentTaskExternalId: undefined,
        childIndex: undefined,
        childKey: undefined,
        triggeringEvent: undefined,
        filterPayload: null,
        desiredWorkerId: undefined,
        desiredLabels: undefined,
        taskIds: undefined,
        idempotencyKey: undefined
      }
      const rare = {
        ...plain,
        id: "0b9a4c5e-5a43-4c31-9d6c-2f1c7d3c9d02",
        parentTaskExternalId: "p",
        childIndex: 3,
        childKey: "k",
        triggeringEvent: { id: "e", key: "user:created" },
        filterPayload: { f: 1 },
        desiredWorkerId: "w",
        desiredLabels: new Map([["gpu", { strValue: "a100" }]]),
        taskIds: new Map([["s", "t"]]),
        idempotencyKey: "key"
      }
      const fields = Object.keys(plain) as Array<keyof typeof plain>
      // times: whole milliseconds, a fraction, and further from the first run than an offset holds
      for (const createdAt of [at, at + 0.25, at + 2 ** 31, 7]) {
        for (const init of [plain, rare]) {
          const run = new RunRecord({ ...init, createdAt })
          for (const field of fields) expect(run[field]).toBe({ ...init, createdAt }[field])
          expect([run.tenantId, run.isDag, run.tasks]).toEqual([version.workflow.tenantId, false, run])
          expect([run.matches, run.concurrencySlots, run.finishedAt]).toEqual([noEntries, noEntries, undefined])
          for (const finishedAt of [createdAt + 5, createdAt + 0.1, createdAt + 2 ** 40, undefined, createdAt]) {
            run.finishedAt = finishedAt
            expect(run.finishedAt).toBe(finishedAt)
          }
          const match = {} as Match
          run.matches = new Map([["s", match]])
          expect(run.matches.get("s")).toBe(match)
          expect(new RunRecord(plain).matches).toBe(noEntries)

          const taskInit = {
            id: 1,
            externalId: run.id,
            run,
            step: version.steps[0]!,
            createdAt: createdAt + 3,
            state: { _tag: "Queued", token: 1 } as const,
            retryCount: 0,
            desiredWorkerId: init.desiredWorkerId,
            stepRunErrors: undefined,
            triggerData: emptyObject,
            timeline: [],
            logs: noItems,
            spawned: noEntries,
            signals: noEntries
          }
          const t = new TaskRecord(taskInit)
          const defaults = {
            appRetryCount: 0,
            internalRetryCount: 0,
            stepRunErrors: undefined,
            triggerData: emptyObject,
            logs: noItems,
            spawned: noEntries,
            signals: noEntries,
            stream: undefined,
            concurrencyKeys: undefined,
            rateLimits: noItems,
            waitingOnDynamicKeys: false,
            batchKey: undefined,
            concurrencySlots: noItems,
            durable: undefined,
            startedAt: undefined
          }
          const keys = Object.keys(defaults) as Array<keyof typeof defaults>
          for (const key of keys) expect(t[key]).toBe(defaults[key])
          expect([t.createdAt, t.tenantId, t.priority, t.desiredWorkerId]).toEqual([
            createdAt + 3,
            run.tenantId,
            run.priority,
            init.desiredWorkerId
          ])
          const written = {
            appRetryCount: 2,
            internalRetryCount: 1,
            stepRunErrors: { a: "boom" },
            logs: [{ createdAt, message: "m", level: "INFO", metadata: undefined, retryCount: 0 }],
            spawned: new Map([["k", "child"]]),
            signals: new Map(),
            stream: { retryCount: 0, next: 0, pending: new Map(), flushArmed: false },
            concurrencyKeys: { keys: ["k"], maxRuns: [undefined] },
            rateLimits: [{ key: "k", units: 1, limit: undefined, window: "MINUTE" }],
            waitingOnDynamicKeys: true,
            batchKey: "b",
            concurrencySlots: [],
            durable: undefined,
            startedAt: createdAt + 0.5
          }
          const other = new TaskRecord(taskInit)
          for (const key of Object.keys(written) as Array<keyof typeof written>) {
            ;(t as unknown as Record<string, unknown>)[key] = written[key]
            expect(t[key]).toBe(written[key])
          }
          // the other task, made before the writes, and a new one still read the defaults
          for (const key of keys) expect([other[key], new TaskRecord(taskInit)[key]]).toEqual([defaults[key], defaults[key]])
          for (const startedAt of [createdAt + 9, createdAt + 2 ** 35, undefined]) {
            t.startedAt = startedAt
            expect(t.startedAt).toBe(startedAt)
          }
          // final states keep their time exactly
          for (const final of [createdAt, createdAt + 0.1, createdAt + 2 ** 40]) {
            expect(completedState("{}", "w", false, final)).toMatchObject({
              _tag: "Completed",
              output: "{}",
              completedBy: "w",
              skipped: false,
              at: final
            })
            expect(failedState("boom", final)).toMatchObject({ _tag: "Failed", error: "boom", at: final })
            expect(cancelledState(final)).toMatchObject({ _tag: "Cancelled", at: final })
          }
        }
      }
    }))

  it.scoped("a finished run's details give the metadata text its task was sent with (Go's marshalling, made again)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("single", [task("only")])
      yield* h.putWorkflow("child", [task("c")])
      const w = yield* h.worker(["single:only", "child:c"])
      const runId = yield* h.trigger("single", {}, { additionalMetadata: JSON.stringify({ z: "é", k: "<v&>" }) })
      const start = w.starts()[0]!
      const childId = yield* h.runEither((state, now) =>
        Either.map(
          Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [TriggerWorkflowRequest.fromPartial({
            name: "child",
            input: "{}",
            parentId: runId,
            parentTaskRunExternalId: runId,
            childIndex: 0
          })], now)),
          (ids) => ids[0]!
        )
      )
      const childStart = w.starts().find((a) => a.workflowRunId === childId)!
      yield* h.complete(childStart, "{}")
      yield* h.complete(start, "{}")
      for (const [id, action] of [[runId, start], [childId, childStart]] as const) {
        const run = yield* h.getRun(id)
        expect(run.finishedAt).toBeDefined()
        const details = yield* h.runEither((state) => Queries.getRunDetails(state, tenantId, id))
        expect(details.metadataRaw).toBe(action.additionalMetadata)
      }
      const traceparent = (yield* h.getRun(runId)).metadata.traceparent
      expect(start.additionalMetadata).toBe(`{"k":"\\u003cv\\u0026\\u003e","traceparent":"${traceparent}","z":"é"}`)
      expect(JSON.parse(childStart.additionalMetadata!)).toMatchObject({
        k: "<v&>",
        z: "é",
        hatchet__parent_workflow_run_id: runId,
        hatchet__parent_step_run_id: runId
      })
    }))
})
