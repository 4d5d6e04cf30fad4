/**
 * Hostile input over loopback gRPC and REST, with raw nice-grpc clients and the official SDK's
 * client:
 *
 * - JSON nested deeper than Go's `encoding/json` accepts (10,000 levels) is refused on every path
 *   that takes JSON, naming the problem; 10,000 levels go through the engine (assignment, REST
 *   reads, outputs) untouched.
 * - `v1.AdminService/TriggerWorkflowRun` checks its bytes as the v0 trigger checks its strings.
 * - An assignment that cannot be sent fails its own task; the worker's stream and the rest of the
 *   batch carry on.
 * - An error that echoes a long input is bounded, and the connection (shared by every channel of
 *   the process) keeps answering.
 */
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import * as InternalEngine from "../src/internal/engine.js"
import { maxStatusMessageBytes } from "../src/internal/grpc/bridge.js"
import * as Grpc from "./support/grpc.js"
import * as Official from "./support/official.js"

/** JSON text of objects nested `depth` levels: `{"a":{"a":…{}…}}`. */
const nested = (depth: number) => `${"{\"a\":".repeat(depth - 1)}{}${"}".repeat(depth - 1)}`

/** How deep a parsed value nests (iterative). */
const depthOf = (value: unknown): number => {
  let depth = 0
  let current = value
  while (typeof current === "object" && current !== null) {
    depth++
    current = (current as { a?: unknown }).a
  }
  return depth
}

const tooDeep = "nested deeper than 10000 levels"
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"))

/** One REST call with the engine's token. */
const rest = (engine: Engine.EngineService, method: string, path: string, body?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${engine.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${Redacted.value(engine.token)}`, "content-type": "application/json" },
      ...(body !== undefined ? { body } : {})
    })
    const text = await response.text()
    return { status: response.status, text, body: text === "" ? undefined : (JSON.parse(text) as unknown) }
  })

/** A call that must answer in a few seconds (on a wedged connection it would hang). */
const within = <A>(promise: Promise<A>, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in 3 s`)), 3_000).unref())
  ])

/** A call on `c` that must answer: the connection still works. */
const stillAnswers = (c: Grpc.Clients) => Effect.promise(() => within(c.dispatcher.getVersion({}), "GetVersion"))

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("hostile input", (it) => {
  it.scoped("JSON nested deeper than 10,000 levels is INVALID_ARGUMENT on every gRPC path that takes JSON, naming the problem", () =>
    Effect.gen(function*() {
      const { c } = yield* Grpc.rawWorker(Official.unique("deep-paths"), [])
      const name = Official.unique("deep")
      yield* Grpc.putWorkflow(c, name)
      const deep = nested(10_001)
      const refused = (field: string) => ({
        code: Status.INVALID_ARGUMENT,
        details: `Invalid request: invalid json in field \`${field}\`: ${tooDeep}`
      })

      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: deep }))).toEqual(refused("payload"))
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{}", additionalMetadata: deep }))).toEqual(
        refused("additionalMetadata")
      )
      // one poisoned item refuses the whole bulk: nothing of it is created
      const core = yield* EngineCore
      const runsBefore = core.state.runsById.size
      expect(
        yield* Grpc.statusOf(() =>
          c.workflows.bulkTriggerWorkflow({ workflows: [{ name, input: "{}" }, { name, input: deep }, { name, input: "{}" }] })
        )
      ).toEqual(refused("payload"))
      expect(core.state.runsById.size).toBe(runsBefore)
      expect(yield* Grpc.statusOf(() => c.admin.triggerWorkflowRun({ workflowName: name, input: utf8(deep) }))).toEqual(refused("payload"))
      expect(yield* Grpc.statusOf(() => c.admin.triggerWorkflowRun({ workflowName: name, additionalMetadata: utf8(deep) }))).toEqual(
        refused("additionalMetadata")
      )
      expect(yield* Grpc.statusOf(() => c.workflows.scheduleWorkflow({ name, input: deep, schedules: [new Date(Date.now() + 60_000)] })))
        .toEqual(refused("payload"))
      expect(yield* Grpc.statusOf(() => c.events.push({ key: "deep", payload: deep }))).toEqual(refused("payload"))
      expect(yield* Grpc.statusOf(() => c.events.push({ key: "deep", payload: "{}", additionalMetadata: deep }))).toEqual(
        refused("additionalMetadata")
      )
      expect(yield* Grpc.statusOf(() => c.events.bulkPush({ events: [{ key: "ok", payload: "{}" }, { key: "deep", payload: deep }] })))
        .toEqual(refused("payload"))
      // PutLog reports Go's json.Unmarshal error
      const queued = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: "{}" }))
      expect(yield* Grpc.statusOf(() => c.events.putLog({ taskRunExternalId: queued.workflowRunId, message: "m", metadata: deep })))
        .toEqual({ code: Status.INVALID_ARGUMENT, details: "Invalid metadata JSON: invalid character '{' exceeded max depth" })
      // a default filter payload upstream cannot unmarshal fails the registration (INTERNAL, as for any invalid JSON)
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({
            name: Official.unique("deep-filter"),
            tasks: [{ readableId: "t", action: "x:t", timeout: "60s", inputs: "{}" }],
            defaultFilters: [{ expression: "true", scope: "s", payload: utf8(deep) }]
          })
        )
      ).toMatchObject({ code: Status.INTERNAL })
      // arrays count as much as objects; brackets inside strings do not
      const arrays = `${"[".repeat(10_001)}${"]".repeat(10_001)}`
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: arrays }))).toEqual(refused("payload"))
      const inString = JSON.stringify({ text: "[".repeat(20_000) })
      yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: inString }))
      yield* stillAnswers(c)
    }))

  it.scoped("REST bodies nested deeper than 10,000 levels are 400 naming the problem", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const { c } = yield* Grpc.rawWorker(Official.unique("deep-rest"), [])
      const name = Official.unique("deep-rest-wf")
      yield* Grpc.putWorkflow(c, name)
      const tenantPath = `/api/v1/tenants/${engine.tenantId}/workflows/${name}`
      // Go's scanner refuses the container that opens the 10,001st level
      const refused = {
        status: 400,
        body: { message: expect.stringMatching(/^Syntax error: offset=\d+, error=invalid character '\{' exceeded max depth$/) }
      }
      expect(yield* rest(engine, "POST", `${tenantPath}/crons`, `{"cronName":"c","cronExpression":"* * * * *","input":${nested(10_001)}}`))
        .toMatchObject(refused)
      expect(
        yield* rest(
          engine,
          "POST",
          `${tenantPath}/scheduled`,
          `{"triggerAt":"2099-01-01T00:00:00Z","additionalMetadata":${nested(10_001)}}`
        )
      )
        .toMatchObject(refused)
      const cancel = `/api/v1/stable/tenants/${engine.tenantId}/tasks/cancel`
      expect(yield* rest(engine, "POST", cancel, nested(20_000))).toMatchObject({
        status: 400,
        body: { message: "Syntax error: offset=50001, error=invalid character '{' exceeded max depth" }
      })
      // 10,000 levels are stored and read back whole
      const created = yield* rest(
        engine,
        "POST",
        `${tenantPath}/scheduled`,
        `{"triggerAt":"2099-01-01T00:00:00Z","input":${nested(9_999)}}`
      )
      expect(created.status).toBe(200)
      expect(depthOf((created.body as { input: unknown }).input)).toBe(9_999)
    }))

  it.scoped("10,000 levels go through: the assignment, the REST reads and the output carry them whole; 10,001 in an output fails that task", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const name = Official.unique("deep-ok")
      const w = yield* Grpc.rawWorker(name)
      yield* Grpc.putWorkflow(w.c, name)
      const input = nested(10_000)
      const first = yield* Effect.promise(() => w.c.workflows.triggerWorkflow({ name, input }))
      const second = yield* Effect.promise(() => w.c.workflows.triggerWorkflow({ name, input: "{}" }))
      const starts = yield* Official.eventually(() => {
        const s = w.received.filter((a) => a.actionType === ActionType.START_STEP_RUN)
        return s.length === 2 ? s : undefined
      })
      const start = starts.find((a) => a.workflowRunId === first.workflowRunId)!
      expect(depthOf((JSON.parse(start.actionPayload) as { input: unknown }).input)).toBe(10_000)
      const details = yield* Effect.promise(() => w.c.admin.getRunDetails({ externalId: first.workflowRunId }))
      expect(Buffer.from(details.input).toString()).toBe(input)

      const startOf = (runId: string) => starts.find((a) => a.workflowRunId === runId)!
      yield* w.complete(startOf(first.workflowRunId), nested(10_000))
      yield* w.complete(startOf(second.workflowRunId), nested(10_001))
      const done = (runId: string) =>
        Official.eventually(() => w.c.admin.getRunDetails({ externalId: runId }).then((d) => (d.done ? d : undefined)))
      const completed = yield* done(first.workflowRunId)
      expect(completed.status).toBe(RunStatus.COMPLETED)
      const failed = yield* done(second.workflowRunId)
      expect(failed.status).toBe(RunStatus.FAILED)
      expect(Object.values(failed.taskRuns)[0]!.error).toBe(`invalid json in field \`taskOutput\`: ${tooDeep}`)

      // REST: the run, its list and its task answer 200 with the data, never a 500 with an empty body
      const run = yield* rest(engine, "GET", `/api/v1/stable/workflow-runs/${first.workflowRunId}`)
      expect(run.status).toBe(200)
      const runBody = run.body as { run: { input: unknown; output: unknown } }
      expect(depthOf(runBody.run.input)).toBe(10_000)
      expect(depthOf(runBody.run.output)).toBe(10_000)
      const since = new Date(Date.now() - 60_000).toISOString()
      const list = yield* rest(engine, "GET", `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs?since=${since}&only_tasks=false`)
      expect(list.status).toBe(200)
      const task = yield* rest(engine, "GET", `/api/v1/stable/tasks/${start.taskRunExternalId}`)
      expect(task.status).toBe(200)
      expect(depthOf((task.body as { input: unknown }).input)).toBe(10_000)
    }))

  it.scoped("an assignment that cannot be sent fails its own task; the worker's stream and the 20 runs triggered with it carry on", () =>
    Effect.gen(function*() {
      const name = Official.unique("poisoned")
      const w = yield* Grpc.rawWorker(name)
      yield* Grpc.putWorkflow(w.c, name)
      // 700 KB of "<" in the request: Go escapes each as \u003c, 4.2 MB in the assignment
      const poisoned = JSON.stringify({ html: "<".repeat(700_000) })
      const workflows = Array.from({ length: 21 }, (_, i) => ({ name, input: i === 10 ? poisoned : JSON.stringify({ i }) }))
      const { workflowRunIds } = yield* Effect.promise(() => w.c.workflows.bulkTriggerWorkflow({ workflows }))
      const starts = yield* Official.eventually(() => {
        const s = w.received.filter((a) => a.actionType === ActionType.START_STEP_RUN)
        return s.length >= 20 ? s : undefined
      })
      expect(starts.map((a) => a.workflowRunId).sort()).toEqual(workflowRunIds.filter((_, i) => i !== 10).sort())
      const details = yield* Effect.promise(() => w.c.admin.getRunDetails({ externalId: workflowRunIds[10]! }))
      expect(details.status).toBe(RunStatus.FAILED)
      expect(Object.values(details.taskRuns)[0]!.error).toMatch(
        /^Could not send task to worker: trying to send message larger than max \(\d+ vs\. 4194304\)\. /
      )
      for (const start of starts) yield* w.complete(start)
      for (const id of workflowRunIds.filter((_, i) => i !== 10)) {
        const d = yield* Effect.promise(() => w.c.admin.getRunDetails({ externalId: id }))
        expect(d.status).toBe(RunStatus.COMPLETED)
      }
      // the stream never ended
      expect(w.outcome.unsafePoll()).toBeNull()
    }))

  it.scoped("a DAG chain of 12,000 tasks registers, runs and replays (its walks keep their own stack)", () =>
    Effect.gen(function*() {
      const name = Official.unique("chain")
      const w = yield* Grpc.rawWorker(name)
      const length = 12_000
      const tasks = Array.from({ length }, (_, i) => ({
        readableId: `s${i}`,
        action: `${name}:t`,
        timeout: "60s",
        inputs: "{}",
        parents: i === 0 ? [] : [`s${i - 1}`]
      }))
      // the leaf first: a walk up the parents goes the whole length at once
      yield* Effect.promise(() => w.c.admin.putWorkflow({ name, tasks: [...tasks].reverse() }))
      // a cycle is still found
      const cyclic = tasks.map((t, i) => (i === 0 ? { ...t, parents: [`s${length - 1}`] } : t))
      expect(yield* Grpc.statusOf(() => w.c.admin.putWorkflow({ name: `${name}-cyclic`, tasks: cyclic }))).toMatchObject({
        code: Status.INTERNAL
      })
      // heartbeat: registering took a while, and a worker silent for 5 s is not assigned work
      yield* Effect.promise(() => w.c.dispatcher.heartbeat({ workerId: w.workerId, heartbeatAt: new Date() }))
      const { workflowRunId } = yield* Effect.promise(() => w.c.workflows.triggerWorkflow({ name, input: "{}" }))
      const first = yield* Official.eventually(() => w.received.find((a) => a.workflowRunId === workflowRunId))
      yield* w.complete(first)
      yield* Official.eventually(() => (w.received.length >= 2 ? true : undefined))
      // replaying the first task re-arms its 11,999 descendants
      const replayed = yield* Effect.promise(() => w.c.admin.replayTasks({ externalIds: [first.taskRunExternalId] }))
      expect(replayed.replayedTasks).toEqual([first.taskRunExternalId])
    }))

  it.scoped("v1 TriggerWorkflowRun checks its bytes as the v0 trigger checks its strings", () =>
    Effect.gen(function*() {
      const { c } = yield* Grpc.rawWorker(Official.unique("v1-bytes"), [])
      const name = Official.unique("v1")
      yield* Grpc.putWorkflow(c, name)
      const trigger = (input: Uint8Array) => c.admin.triggerWorkflowRun({ workflowName: name, input })
      const invalid = { code: Status.INVALID_ARGUMENT, details: "Invalid request: invalid json in field `payload`" }
      // what the v0 trigger refuses (upstream's v1 handler answers OK and loses the input)
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{" }))).toEqual(invalid)
      expect(yield* Grpc.statusOf(() => trigger(utf8("{")))).toEqual(invalid)
      expect(yield* Grpc.statusOf(() => trigger(utf8("\uFEFF{}")))).toEqual(invalid)
      expect(yield* Grpc.statusOf(() => trigger(utf8("{\"a\":\"\\u0000\"}")))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: encoded jsonb contains invalid null character \\u0000 in field `payload`"
      })
      expect(yield* Grpc.statusOf(() => trigger(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `payload`: not valid UTF-8"
      })
      expect(yield* Grpc.statusOf(() => c.admin.triggerWorkflowRun({ workflowName: name, additionalMetadata: utf8("[") }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `additionalMetadata`"
      })
      // JSON that is not an object is accepted by both triggers upstream, and kept as sent
      for (const text of ["null", "[]", "1", ""]) {
        const { externalId } = yield* Effect.promise(() => trigger(utf8(text)))
        const details = yield* Effect.promise(() => c.admin.getRunDetails({ externalId }))
        expect(Buffer.from(details.input).toString()).toBe(text)
        yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: text }))
      }
    }))

  it.scoped("an error that echoes a 100 KB name or id is bounded, and the connection keeps answering", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const { c } = yield* Grpc.rawWorker(Official.unique("echo"), [])
      // a second channel of the process: grpc-js shares the connection with the first
      const other = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const long = "x".repeat(100_000)
      const bounded = (prefix: string) => ({
        code: Status.INVALID_ARGUMENT,
        details: expect.stringMatching(new RegExp(`^${prefix}x{1000,} \\.\\.\\. \\(\\d+ more characters\\)$`))
      })
      const calls: ReadonlyArray<readonly [() => Promise<unknown>, string]> = [
        [() => c.admin.triggerWorkflowRun({ workflowName: long }), "workflow names not found: "],
        [
          () => c.workflows.triggerWorkflow({ name: long, input: "{}" }),
          "could not trigger workflow: rpc error: code = InvalidArgument desc = workflow names not found: "
        ],
        [() => c.workflows.bulkTriggerWorkflow({ workflows: [{ name: long, input: "{}" }] }), "workflow names not found: "],
        [() => c.dispatcher.heartbeat({ workerId: long, heartbeatAt: new Date() }), "invalid worker ID format: "],
        [
          () => c.dispatcher.sendStepActionEvent({ taskRunExternalId: long, eventType: StepActionEventType.STEP_EVENT_TYPE_STARTED }),
          "invalid task external run id "
        ]
      ]
      for (const [call, prefix] of calls) {
        const status = yield* Grpc.statusOf(() => within(call(), prefix))
        expect(status).toEqual(bounded(prefix))
        expect(encodeURI(status.details).length).toBeLessThanOrEqual(maxStatusMessageBytes)
        yield* stillAnswers(c)
        yield* stillAnswers(other)
      }
      // a stream that fails with an echo
      const outcome = Grpc.streamOutcome(c.dispatcher.subscribeToWorkflowEvents({ workflowRunId: long }))
      expect(yield* Effect.timeout(outcome, "3 seconds")).toEqual(bounded("invalid workflow run id "))
      yield* stillAnswers(other)
    }))

  it.scoped("the official SDK's client keeps working after a trigger with a 100 KB workflow name", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("official-echo")
      const { c } = yield* Grpc.rawWorker(Official.unique("official-echo-w"), [])
      yield* Grpc.putWorkflow(c, name)
      const failure = yield* Effect.promise(() =>
        within(hatchet.runNoWait("x".repeat(100_000), {}), "the long trigger").then(() => undefined, (error: Error) => error)
      )
      expect(failure?.message).toMatch(/workflow names not found: x+ \.\.\. \(\d+ more characters\)/)
      const ref = yield* Effect.promise(() => within(hatchet.runNoWait(name, { after: "the long name" }), "the next trigger"))
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      const details = yield* Effect.promise(() => c.admin.getRunDetails({ externalId: runId }))
      expect(JSON.parse(Buffer.from(details.input).toString())).toEqual({ after: "the long name" })
    }))
})
