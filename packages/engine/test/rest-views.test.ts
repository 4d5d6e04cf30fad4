/**
 * The run and task views of the REST API (`workflow-runs` lists, run details, task summary) are
 * written straight into bytes (`JsonBytes`). Here, for runs of every shape (single tasks and DAGs,
 * queued, running, completed, failed, cancelled, children, payloads with escapes, non-ASCII,
 * integer-like keys and a lone surrogate), they are checked byte for byte against what
 * `JSON.stringify` writes of the same views built as objects, as the engine built them before.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Admin from "../src/internal/domain/admin.js"
import { isJsonObject, type JsonValue, parseJson } from "../src/internal/domain/json.js"
import {
  restError,
  type Run,
  runStatus,
  type Task,
  taskFinishedAt,
  taskIdOf,
  taskOutput,
  taskStatus
} from "../src/internal/domain/model.js"
import * as Queries from "../src/internal/domain/queries.js"
import { runTasks } from "../src/internal/domain/queries.js"
import { JsonBytes } from "../src/internal/http/jsonBytes.js"
import * as Views from "../src/internal/http/views.js"
import { makeHarnessWith, task, tenantId } from "./support/harness.js"

// -----------------------------------------------------------------------------
// the views as objects: the reference the written views must match byte for byte
// -----------------------------------------------------------------------------

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())
const objectOr = (value: JsonValue | undefined): JsonValue => (isJsonObject(value) ? value : {})

const taskSummary = (t: Task) => {
  const run = t.run
  const finishedAt = taskFinishedAt(t)
  const duration = t.startedAt !== undefined && finishedAt !== undefined ? finishedAt - t.startedAt : undefined
  return {
    metadata: Views.resourceMeta(t.externalId, t.createdAt, finishedAt ?? t.startedAt ?? t.createdAt),
    actionId: t.step.action,
    retryCount: t.retryCount,
    attempt: t.retryCount + 1,
    additionalMetadata: run.metadata,
    createdAt: iso(t.createdAt)!,
    displayName: Views.taskDisplayName(t),
    ...(duration !== undefined ? { duration } : {}),
    isDurable: t.step.isDurable,
    errorMessage: t.state._tag === "Failed" ? restError(t.state) : "",
    ...(finishedAt !== undefined ? { finishedAt: iso(finishedAt) } : {}),
    input: objectOr(run.input),
    numSpawnedChildren: t.spawned.size,
    output: t.state._tag === "Completed" ? objectOr(parseJson(t.state.output)) : {},
    status: taskStatus(t),
    isEvicted: t.state._tag === "Evicted",
    ...(t.startedAt !== undefined ? { startedAt: iso(t.startedAt) } : {}),
    stepId: t.step.id,
    taskExternalId: t.externalId,
    taskId: t.id,
    taskInsertedAt: iso(t.createdAt)!,
    tenantId: t.tenantId,
    type: "TASK" as const,
    workflowId: run.workflow.id,
    workflowName: run.workflow.name,
    workflowRunExternalId: run.id,
    workflowVersionId: run.version.id,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

const runOutput = (run: Run): JsonValue => {
  const tasks = runTasks(run)
  if (!run.isDag) return objectOr(parseJson(tasks[0] !== undefined ? taskOutput(tasks[0]) : undefined))
  // a DAG's: the output of the task that completed last (the later in step order on a tie)
  const completed = tasks.flatMap((t) => (t.state._tag === "Completed" ? [{ t, at: t.state.at }] : []))
  const last = completed.sort((a, b) => a.at - b.at).at(-1)
  return objectOr(parseJson(last !== undefined ? taskOutput(last.t) : undefined))
}

const workflowRun = (run: Run) => {
  const tasks = runTasks(run)
  const started = tasks.map((t) => t.startedAt).filter((t): t is number => t !== undefined)
  const startedAt = started.length > 0 ? Math.min(...started) : undefined
  const failed = tasks.find((t) => t.state._tag === "Failed")
  const single = run.isDag ? undefined : tasks[0]
  return {
    metadata: Views.resourceMeta(run.id, run.createdAt, run.finishedAt ?? run.createdAt),
    status: runStatus(run),
    ...(startedAt !== undefined ? { startedAt: iso(startedAt) } : {}),
    ...(run.finishedAt !== undefined ? { finishedAt: iso(run.finishedAt) } : {}),
    ...(startedAt !== undefined && run.finishedAt !== undefined ? { duration: run.finishedAt - startedAt } : {}),
    tenantId: run.tenantId,
    additionalMetadata: run.metadata,
    displayName: single !== undefined ? Views.taskDisplayName(single) : `${run.workflow.name}-${run.createdAt}`,
    workflowId: run.workflow.id,
    output: runOutput(run),
    errorMessage: failed !== undefined && failed.state._tag === "Failed" ? restError(failed.state) : "",
    workflowVersionId: run.version.id,
    input: objectOr(run.input),
    createdAt: iso(run.createdAt)!,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

const withoutPayloads = <A extends { readonly input: JsonValue; readonly output: JsonValue }>(row: A, include: boolean): A =>
  include ? row : { ...row, input: {}, output: {} }

const runListRow = (run: Run, include: boolean) => {
  const tasks = runTasks(run)
  const single = run.isDag ? undefined : tasks[0]
  const summary = workflowRun(run)
  return {
    ...withoutPayloads(summary, include),
    taskExternalId: run.id,
    taskId: single?.id ?? 0,
    taskInsertedAt: summary.createdAt,
    type: "DAG" as const,
    workflowName: run.workflow.name,
    stepId: single?.step.id ?? "00000000-0000-0000-0000-000000000000",
    actionId: single?.step.action ?? "",
    workflowRunExternalId: run.id,
    retryCount: single?.retryCount ?? 0,
    attempt: (single?.retryCount ?? 0) + 1,
    numSpawnedChildren: 0,
    ...(run.isDag ? { children: tasks.map((t) => withoutPayloads(taskSummary(t), include)) } : {})
  }
}

const workflowRunDetails = (run: Run) => ({
  run: workflowRun(run),
  taskEvents: Views.runTaskEvents(run),
  shape: run.version.steps.map((step) => ({
    taskExternalId: taskIdOf(run, step),
    stepId: step.id,
    childrenStepIds: step.children.map((child) => child.id),
    taskName: step.readableId
  })),
  tasks: runTasks(run).map(taskSummary),
  workflowConfig: {}
})

// -----------------------------------------------------------------------------

const writer = new JsonBytes()
const written = (write: (w: JsonBytes) => unknown) => new TextDecoder().decode(writer.encode(write))

describe("JsonBytes", () => {
  it("writes values, strings, numbers and times as JSON.stringify and toISOString do", () => {
    const samples: Array<unknown> = [
      null,
      true,
      0,
      -0,
      1e21,
      123456789012345,
      -2.5e-7,
      Number.NaN,
      "plain",
      "q\"b\\s/\n\t\u0001\u007f é 日本 😀 \ud800 <&> \u2028",
      [],
      {},
      [1, undefined, () => 1, "x", { a: undefined }],
      { "10": 1, "2": 2, b: 3, a: { "é": [null, { z: "<>" }] }, u: undefined },
      { d: new Date(1_700_000_000_123) },
      { "7": -0, s: "é\"", n: null, b: false, f: 1.5e300, i: -3 }
    ]
    for (const sample of samples) expect(written((w) => w.value(sample))).toBe(JSON.stringify(sample))
    for (const n of [0, 7, 10, 99, 1000, 2 ** 31, 1e15 - 1, 1e15, 2.5, -1]) {
      expect(written((w) => w.number(n))).toBe(JSON.stringify(n))
    }
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
    const times = [
      0,
      1,
      86_399_999,
      86_400_000,
      951_782_400_000,
      4_107_542_399_999,
      253_402_300_799_999,
      253_402_300_800_000,
      -1,
      -62_167_219_200_001
    ]
    for (let i = 0; i < 2_000; i++) times.push(Math.floor((random() - 0.2) * 300_000_000_000_000) % 8_640_000_000_000_000)
    for (const ms of times) expect(written((w) => w.iso(ms))).toBe(JSON.stringify(new Date(ms).toISOString()))
  })

  it("grows past its buffer and starts empty after a write that failed half way", () => {
    const big = "x".repeat(200_000)
    expect(written((w) => w.value({ big, other: [big] }))).toBe(JSON.stringify({ big, other: [big] }))
    expect(() =>
      writer.encode((w) => {
        w.raw("{\"broken\":")
        throw new Error("boom")
      })
    ).toThrow("boom")
    expect(written((w) => w.value({ ok: 1 }))).toBe("{\"ok\":1}")
  })
})

describe("REST run views", () => {
  it.scoped("lists, details and task summaries are what JSON.stringify writes of the views as objects", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("single", [task("only")])
      yield* h.putWorkflow("dag", [task("first"), task("second", { parents: ["first"] }), task("third", { parents: ["first"] })])
      const w = yield* h.worker(["single:only", "dag:first", "dag:second", "dag:third"], 1_000)
      const startOf = (runId: string, readableId?: string) =>
        w.starts().find((s) => s.workflowRunId === runId && (readableId === undefined || s.taskName === readableId))!
      const metadata = { "10": "ten", "2": "two", key: "välue <&> \u2028", nested: { deep: [1, { x: null }] } }
      const inputs: Array<unknown> = [{}, { a: 1, s: "q\"uote\\ \ud800 日本" }, { "1": [], z: { y: -0.5 } }]
      const runIds: Array<string> = []
      for (let i = 0; i < 8; i++) {
        const id = yield* h.trigger("single", inputs[i % inputs.length], {
          additionalMetadata: JSON.stringify(i % 2 === 0 ? metadata : {})
        })
        runIds.push(id)
        yield* h.advance(1_234, [w], 1_234)
      }
      const started = (runId: string) => h.report(startOf(runId), StepActionEventType.STEP_EVENT_TYPE_STARTED, "")
      yield* started(runIds[0]!)
      yield* h.advance(77, [w], 77)
      yield* h.complete(startOf(runIds[0]!), JSON.stringify({ out: "é", list: [1, 2.5, { "<": ">" }] }))
      yield* h.complete(startOf(runIds[1]!), "[1,2]")
      yield* h.complete(startOf(runIds[2]!), "{}")
      yield* started(runIds[3]!)
      yield* h.fail(startOf(runIds[3]!), "it \"broke\" ☹", true)
      yield* started(runIds[4]!)
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [runIds[5]!] }, now))
      const child = yield* h.trigger("single", { child: true }, {
        parentTaskRunExternalId: startOf(runIds[0]!).taskRunExternalId,
        childIndex: 0
      })
      runIds.push(child)
      const dagDone = yield* h.trigger("dag", { d: 1 }, { additionalMetadata: JSON.stringify(metadata) })
      yield* h.complete(startOf(dagDone, "first"), "{\"f\":1}")
      yield* h.advance(500, [w], 500)
      yield* h.complete(startOf(dagDone, "second"), "{\"s\":\"日本\"}")
      yield* h.fail(startOf(dagDone, "third"), "third failed", true)
      const dagRunning = yield* h.trigger("dag", {})
      yield* h.report(startOf(dagRunning, "first"), StepActionEventType.STEP_EVENT_TYPE_STARTED, "")
      // no worker serves it: it stays QUEUED
      yield* h.putWorkflow("idle", [task("waits")])
      runIds.push(dagDone, dagRunning, yield* h.trigger("idle", { q: 1 }))

      const runs = runIds.map((id) => h.state.runsById.get(id)!)
      expect(new Set(runs.map(runStatus))).toEqual(new Set(["COMPLETED", "FAILED", "RUNNING", "QUEUED", "CANCELLED"]))
      for (const run of runs) {
        expect(written((w) => Views.writeWorkflowRunDetails(w, run))).toBe(JSON.stringify(workflowRunDetails(run)))
        for (const t of run.tasks.values()) {
          expect(written((w) => Views.writeTaskSummary(w, t))).toBe(JSON.stringify(taskSummary(t)))
        }
      }
      for (const include of [true, false]) {
        for (const [offset, limit] of [[0, 50], [2, 3], [0, 0], [40, 5]] as const) {
          const page = Queries.listRuns(h.state, tenantId, { offset, limit })
          expect(written((w) => Views.writeRunList(w, { total: page.total, runs: page.rows }, limit, offset, include))).toBe(
            JSON.stringify({
              pagination: Views.pagination(page.total, limit, offset),
              rows: page.rows.map((run) => runListRow(run, include))
            })
          )
          const tasks = Queries.listTasks(h.state, tenantId, { offset, limit })
          expect(written((w) => Views.writeRunList(w, { total: tasks.total, tasks: tasks.rows }, limit, offset, include))).toBe(
            JSON.stringify({
              pagination: Views.pagination(tasks.total, limit, offset),
              rows: tasks.rows.map((t) => withoutPayloads(taskSummary(t), include))
            })
          )
        }
      }
    }))
})
