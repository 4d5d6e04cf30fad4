/**
 * Batch tasks over loopback gRPC with a raw worker: the START_BATCH a flush sends (its payload
 * keyed by task, its reason), the 4 MB payload cut, one slot per batch, `groupMaxRuns` per key,
 * a flush that waits for a worker, a batch that times out as a whole, and a task cancelled while
 * it runs in a batch; a batch step of a DAG (its items' parents, its children).
 */
import { ActionType, type AssignedAction, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { TaskBatchConfig } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { call } from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"

let counter = 0

/** A batch workflow (one task `t`) and a client. */
const batchWorkflow = (batch: TaskBatchConfig, timeout = "60s") =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
    const name = `batch-${process.pid}-${++counter}`
    yield* Effect.promise(() =>
      c.admin.putWorkflow({ name, tasks: [{ readableId: "t", action: `${name}:t`, timeout, inputs: "{}", batch }] })
    )
    const trigger = (inputs: ReadonlyArray<unknown>) =>
      Effect.promise(() =>
        c.workflows.bulkTriggerWorkflow({
          workflows: inputs.map((input) => ({ name, input: JSON.stringify(input), desiredWorkerLabels: {} }))
        })
      ).pipe(Effect.map((r) => r.workflowRunIds))
    return { engine, c, name, trigger }
  })

/** A listening worker with `slots` default slots, recording what it receives. */
const worker = (c: Grpc.Clients, name: string, slots: number) =>
  Effect.gen(function*() {
    const { workerId } = yield* Effect.promise(() =>
      c.dispatcher.register({ workerName: "batch", actions: [`${name}:t`], slotConfig: { default: slots } })
    )
    const received: Array<AssignedAction> = []
    yield* Effect.fork(Grpc.streamOutcome(c.dispatcher.listenV2({ workerId }), (a) => received.push(a)))
    yield* Grpc.eventually(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }).then(() => true, () => undefined))
    const batches = () => received.filter((a) => a.actionType === ActionType.START_BATCH)
    /** Completes every task of a START_BATCH with `{ n: <its index> }`. */
    const complete = (action: AssignedAction) =>
      Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent({
          workerId,
          jobId: "",
          actionId: action.actionId,
          eventTimestamp: new Date(),
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          items: Object.keys(JSON.parse(action.actionPayload)).map((id, n) => ({
            taskRunExternalId: id,
            eventPayload: JSON.stringify({ n })
          }))
        })
      )
    return { workerId, received, batches, complete }
  })

const statusOf = (engine: Engine.EngineService, runId: string) =>
  call("GET", `${engine.apiUrl}/api/v1/stable/workflow-runs/${runId}`, Redacted.value(engine.token)).pipe(
    Effect.map((reply) => (reply.body as { run: { status: string } }).run.status)
  )

layer(InternalEngine.layer(), { timeout: 30_000, excludeTestServices: true })("batch tasks", (it) => {
  it.scoped("a full batch is one START_BATCH: tasks keyed by external id, one slot until every task ends", () =>
    Effect.gen(function*() {
      const { c, engine, name, trigger } = yield* batchWorkflow({
        batchMaxSize: 2,
        batchMaxIntervalMs: 60_000,
        batchGroupKey: "input.group"
      })
      const w = yield* worker(c, name, 1)
      const runIds = yield* trigger([{ group: "g", i: 0 }, { group: "g", i: 1 }, { group: "g", i: 2 }, { group: "g", i: 3 }])
      const [first] = yield* Grpc.eventually(() => (w.batches().length === 1 ? w.batches() : undefined))
      expect(first!.batchKey).toBe("g")
      expect(first!.batchStartPayload).toMatchObject({ triggerReason: "batch size threshold 2 reached", expectedSize: 2 })
      const payload = JSON.parse(first!.actionPayload) as Record<string, { workflow_run_id: string; payload: { input: unknown } }>
      const ids = Object.keys(payload)
      expect(ids).toEqual([...ids].sort())
      expect(Object.values(payload).map((item) => item.payload.input)).toEqual(
        expect.arrayContaining([{ group: "g", i: 0 }, { group: "g", i: 1 }])
      )
      expect(Object.values(payload).map((item) => item.workflow_run_id).sort()).toEqual([runIds[0], runIds[1]].sort())
      // the second full batch waits for the worker's only slot
      yield* Effect.sleep("150 millis")
      expect(w.batches()).toHaveLength(1)
      yield* w.complete(first!)
      const second = yield* Grpc.eventually(() => w.batches()[1])
      yield* w.complete(second)
      for (const id of runIds) {
        yield* Grpc.eventually(() => Effect.runPromise(statusOf(engine, id)).then((s) => (s === "COMPLETED" ? s : undefined)))
      }
    }))

  it.scoped("payloads past 4 MB flush the tasks before the one that crosses it", () =>
    Effect.gen(function*() {
      const { c, name, trigger } = yield* batchWorkflow({ batchMaxSize: 100, batchMaxIntervalMs: 60_000 })
      const w = yield* worker(c, name, 5)
      const data = "x".repeat(1_500_000)
      yield* trigger([{ data }])
      yield* trigger([{ data }])
      yield* trigger([{ data }])
      const byMemory = yield* Grpc.eventually(() => w.batches()[0])
      expect(byMemory.batchStartPayload).toMatchObject({ triggerReason: "batch max memory size reached", expectedSize: 2 })
      // the third waits for the interval
      yield* Effect.sleep("100 millis")
      expect(w.batches()).toHaveLength(1)
    }))

  it.scoped("at most groupMaxRuns batches of a key run at once; other keys go ahead", () =>
    Effect.gen(function*() {
      const { c, name, trigger } = yield* batchWorkflow({
        batchMaxSize: 1,
        batchMaxIntervalMs: 60_000,
        batchGroupKey: "input.k",
        batchGroupMaxRuns: 1
      })
      const w = yield* worker(c, name, 10)
      yield* trigger([{ k: "a" }, { k: "a" }, { k: "b" }])
      yield* Grpc.eventually(() => (w.batches().length === 2 ? true : undefined))
      yield* Effect.sleep("150 millis")
      expect(w.batches().map((a) => a.batchKey)).toEqual(["a", "b"])
      yield* w.complete(w.batches()[0]!)
      const third = yield* Grpc.eventually(() => w.batches()[2])
      expect(third.batchKey).toBe("a")
    }))

  it.scoped("a due batch waits for a worker; an execution timeout fails the whole batch", () =>
    Effect.gen(function*() {
      const { c, engine, name, trigger } = yield* batchWorkflow({ batchMaxSize: 2, batchMaxIntervalMs: 50 }, "1s")
      const runIds = yield* trigger([{}, {}])
      yield* Effect.sleep("200 millis")
      expect(yield* statusOf(engine, runIds[0]!)).toBe("QUEUED")
      const w = yield* worker(c, name, 1)
      const [batch] = yield* Grpc.eventually(() => (w.batches().length === 1 ? w.batches() : undefined))
      expect(batch!.batchStartPayload!.expectedSize).toBe(2)
      const cancels = yield* Grpc.eventually(() => {
        const found = w.received.filter((a) => a.actionType === ActionType.CANCEL_STEP_RUN)
        return found.length === 2 ? found : undefined
      }, 5_000)
      expect(cancels.map((a) => a.batchId)).toEqual([batch!.batchId, batch!.batchId])
      const reply = yield* call("GET", `${engine.apiUrl}/api/v1/stable/workflow-runs/${runIds[0]}`, Redacted.value(engine.token))
      const details = reply.body as {
        run: { status: string }
        tasks: Array<{ errorMessage?: string }>
        taskEvents: Array<{ eventType: string; message: string }>
      }
      expect(details.run.status).toBe("FAILED")
      // REST's error is the final attempt's FAILED-status event's, as upstream's OLAP reads it: a
      // TIMED_OUT event has none (the core's error, for gRPC and listeners, keeps the batch text)
      expect(details.tasks[0]!.errorMessage).toBe("")
      // its event, as upstream's timeout controller words it
      expect(details.taskEvents.filter((e) => e.eventType === "TIMED_OUT").map((e) => e.message)).toEqual([
        "Task exceeded timeout of 1s"
      ])
    }))

  it.scoped("a batch step of a DAG: its tasks wait for their parent, each item's payload has its run's parent outputs, the children follow", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const name = `batch-dag-${process.pid}-${++counter}`
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      yield* Effect.promise(() =>
        c.admin.putWorkflow({
          name,
          tasks: [
            { readableId: "p", action: `${name}:p`, timeout: "60s", inputs: "{}" },
            {
              readableId: "t",
              action: `${name}:t`,
              timeout: "60s",
              inputs: "{}",
              parents: ["p"],
              batch: { batchMaxSize: 2, batchMaxIntervalMs: 60_000 }
            },
            { readableId: "c", action: `${name}:c`, timeout: "60s", inputs: "{}", parents: ["t"] }
          ]
        })
      )
      const w = yield* Grpc.rawWorker(name, [`${name}:p`, `${name}:t`, `${name}:c`])
      const ofAction = (action: string, type: ActionType) => () =>
        w.received.filter((a) => a.actionId === `${name}:${action}` && a.actionType === type)
      const { workflowRunIds: runIds } = yield* Effect.promise(() =>
        c.workflows.bulkTriggerWorkflow({
          workflows: [0, 1].map((i) => ({ name, input: JSON.stringify({ i }), desiredWorkerLabels: {} }))
        })
      )
      const parents = yield* Grpc.eventually(() => {
        const found = ofAction("p", ActionType.START_STEP_RUN)()
        return found.length === 2 ? found : undefined
      })
      // one parent done: its run's batch task waits in the buffer (1 of 2)
      const first = parents.find((a) => a.workflowRunId === runIds[0])!
      yield* w.complete(first, JSON.stringify({ v: "p0" }))
      yield* Effect.sleep("150 millis")
      expect(ofAction("t", ActionType.START_BATCH)()).toHaveLength(0)
      yield* w.complete(parents.find((a) => a.workflowRunId === runIds[1])!, JSON.stringify({ v: "p1" }))
      const [batch] = yield* Grpc.eventually(() => {
        const found = ofAction("t", ActionType.START_BATCH)()
        return found.length === 1 ? found : undefined
      })
      expect(batch!.batchStartPayload).toMatchObject({ triggerReason: "batch size threshold 2 reached", expectedSize: 2 })
      // each item's payload is the task's START payload: the run's input and its parents' outputs
      const items = JSON.parse(batch!.actionPayload) as Record<
        string,
        { workflow_run_id: string; payload: { input: unknown; parents: unknown; triggered_by: string } }
      >
      const byRun = new Map(Object.values(items).map((item) => [item.workflow_run_id, item.payload]))
      expect(byRun.get(runIds[0]!)).toMatchObject({ input: { i: 0 }, parents: { p: { v: "p0" } }, triggered_by: "manual" })
      expect(byRun.get(runIds[1]!)).toMatchObject({ input: { i: 1 }, parents: { p: { v: "p1" } } })
      yield* Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent({
          workerId: w.workerId,
          jobId: "",
          actionId: batch!.actionId,
          batchId: batch!.batchId,
          eventTimestamp: new Date(),
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          items: Object.entries(items).map(([id, item]) => ({
            taskRunExternalId: id,
            eventPayload: JSON.stringify({ from: item.workflow_run_id })
          }))
        })
      )
      // each child gets its own run's item output as its parent's
      const children = yield* Grpc.eventually(() => {
        const found = ofAction("c", ActionType.START_STEP_RUN)()
        return found.length === 2 ? found : undefined
      })
      for (const child of children) {
        expect(JSON.parse(child.actionPayload).parents).toMatchObject({ t: { from: child.workflowRunId } })
      }
      expect(yield* statusOf(engine, runIds[0]!)).toBe("RUNNING")
      for (const child of children) yield* w.complete(child)
      for (const id of runIds) {
        yield* Grpc.eventually(() => Effect.runPromise(statusOf(engine, id)).then((s) => (s === "COMPLETED" ? s : undefined)))
      }
    }))
})
