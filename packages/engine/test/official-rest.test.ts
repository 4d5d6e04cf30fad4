/**
 * The REST API through the official `@hatchet-dev/typescript-sdk` REST clients over loopback:
 * cancel and replay (`runs.cancel` / `runs.replay`, a run ref's `cancel()` / `replay()`), run
 * listing and details (`runs.list`, `runs.get`, `runs.get_status`), task logs (`logs.list`),
 * workers and workflows. One official worker serves every test.
 */
import { expect, layer } from "@effect/vitest"
import {
  V1LogLineLevel,
  V1LogLineOrderByDirection,
  V1TaskStatus
} from "@hatchet-dev/typescript-sdk/clients/rest/generated/data-contracts.js"
import { Context, Effect, Layer } from "effect"
import * as Engine from "../src/Engine.js"
import * as Official from "./support/official.js"

const prefix = Official.unique("rest")

const make = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const hatchet = Official.client(engine)
  const started = new Set<string>()
  const aborted = new Set<string>()

  /** Runs until cancelled. */
  const blocker = hatchet.task({
    name: `${prefix}-blocker`,
    fn: async (_input, ctx) => {
      started.add(ctx.workflowRunId())
      await new Promise<void>((resolve) =>
        ctx.abortController.signal.addEventListener("abort", () => {
          aborted.add(ctx.workflowRunId())
          resolve()
        })
      )
      return {}
    }
  })
  /** Fails its first attempt, succeeds on any later one. */
  const flaky = hatchet.task({
    name: `${prefix}-flaky`,
    fn: async (_input, ctx) => {
      if (ctx.retryCount() === 0) throw new Error("the first attempt fails")
      return { attempt: ctx.retryCount() + 1 }
    }
  })
  const chatty = hatchet.task({
    name: `${prefix}-chatty`,
    fn: async (_input, ctx) => {
      await ctx.logger.info("Hello from the task")
      await ctx.logger.warn("careful now")
      await ctx.logger.error("something went wrong")
      return { logged: 3 }
    }
  })
  const dag = hatchet.workflow<{ n: number }>({ name: `${prefix}-dag` })
  const first = dag.task({ name: "first", fn: async (input) => ({ doubled: input.n * 2 }) })
  dag.task({ name: "second", parents: [first], fn: async (_input, ctx) => ({ plusOne: (await ctx.parentOutput(first)).doubled + 1 }) })

  const workerName = `${prefix}-worker`
  yield* Official.worker(hatchet, workerName, { workflows: [blocker, flaky, chatty, dag], slots: 10 })
  return { engine, hatchet, blocker, flaky, chatty, dag, workerName, started, aborted }
})

class Fixture extends Context.Tag("official-rest/Fixture")<Fixture, Effect.Effect.Success<typeof make>>() {}

const fixture = Layer.scoped(Fixture, make).pipe(Layer.provideMerge(Engine.layer()))

layer(fixture, { timeout: 60_000, excludeTestServices: true })("REST through the official SDK", (it) => {
  it.effect("cancels running tasks by id (ref.cancel) and by filter (runs.cancel): the abort signal fires, the runs end CANCELLED", () =>
    Effect.gen(function*() {
      const { aborted, blocker, hatchet, started } = yield* Fixture
      const tag = Official.unique("cancel")
      const byId = yield* Effect.promise(() => blocker.runNoWait({}, { additionalMetadata: { case: "by-id" } }))
      const byFilter = yield* Effect.promise(() => blocker.runNoWait({}, { additionalMetadata: { tag } }))
      const byIdRun = yield* Effect.promise(() => byId.getWorkflowRunId())
      const byFilterRun = yield* Effect.promise(() => byFilter.getWorkflowRunId())
      yield* Official.eventually(() => (started.has(byIdRun) && started.has(byFilterRun) ? true : undefined))

      yield* Effect.promise(() => byId.cancel())
      yield* Official.eventually(() => (aborted.has(byIdRun) ? true : undefined))
      expect(aborted.has(byFilterRun)).toBe(false)

      const response = yield* Effect.promise(() =>
        hatchet.runs.cancel({ filters: { workflowNames: [blocker.name], additionalMetadata: { tag } } })
      )
      expect(response.data).toEqual({ ids: [byFilterRun] })
      yield* Official.eventually(() => (aborted.has(byFilterRun) ? true : undefined))
      for (const run of [byIdRun, byFilterRun]) {
        expect(yield* Effect.promise(() => hatchet.runs.get_status(run))).toBe("CANCELLED")
      }
      const details = yield* Effect.promise(() => hatchet.runs.get(byIdRun))
      expect(details.run.status).toBe("CANCELLED")
      expect(details.taskEvents.map((e) => e.eventType)).toContain("CANCELLED")
    }))

  it.effect("replays a failed run (ref.replay): it runs again with a higher retry count and completes", () =>
    Effect.gen(function*() {
      const { flaky, hatchet } = yield* Fixture
      const ref = yield* Effect.promise(() => flaky.runNoWait({}))
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      const failure = yield* Effect.promise(() => ref.output.then(() => undefined, (error: unknown) => error))
      expect(String(failure)).toContain("the first attempt fails")
      const failed = yield* Effect.promise(() => hatchet.runs.get(runId))
      expect(failed.run.status).toBe("FAILED")
      expect(failed.tasks[0]).toMatchObject({ status: "FAILED", retryCount: 0 })
      expect(failed.tasks[0]!.errorMessage).toContain("the first attempt fails")

      yield* Effect.promise(() => ref.replay())
      yield* Official.eventually(async () => ((await hatchet.runs.get_status(runId)) === "COMPLETED" ? true : undefined))
      const replayed = yield* Effect.promise(() => hatchet.runs.get(runId))
      expect(replayed.run).toMatchObject({ status: "COMPLETED", output: { attempt: 2 } })
      expect(replayed.tasks[0]).toMatchObject({ status: "COMPLETED", retryCount: 1, attempt: 2 })
      const task = yield* Effect.promise(() => hatchet.api.v1TaskGet(runId))
      expect(task.data).toMatchObject({ taskExternalId: runId, retryCount: 1, status: "COMPLETED", output: { attempt: 2 } })
      const events = yield* Effect.promise(() => hatchet.api.v1WorkflowRunTaskEventsList(runId))
      expect(events.data.rows!.map((e) => [e.eventType, e.attempt])).toEqual(
        expect.arrayContaining([["FAILED", 1], ["RETRIED_BY_USER", 2], ["FINISHED", 2]])
      )
      expect(events.data.rows!.find((e) => e.eventType === "RETRIED_BY_USER")!.message).toBe("Task was replayed, resetting task result.")
    }))

  it.effect("lists runs with filters and pages (runs.list), gets a run (runs.get) and its status", () =>
    Effect.gen(function*() {
      const { chatty, dag, hatchet } = yield* Fixture
      const tag = Official.unique("list")
      const dagRef = yield* Effect.promise(() => dag.runNoWait({ n: 4 }, { additionalMetadata: { tag, kind: "dag" } }))
      const taskRef = yield* Effect.promise(() => chatty.runNoWait({}, { additionalMetadata: { tag, kind: "task" } }))
      yield* Effect.promise(() => Promise.all([dagRef.output, taskRef.output]))
      const dagRun = yield* Effect.promise(() => dagRef.getWorkflowRunId())
      const taskRun = yield* Effect.promise(() => taskRef.getWorkflowRunId())

      const runs = yield* Effect.promise(() => hatchet.runs.list({ additionalMetadata: { tag }, onlyTasks: false }))
      expect(runs.rows.map((r) => r.metadata.id)).toEqual([taskRun, dagRun])
      expect(runs.rows[1]).toMatchObject({
        status: "COMPLETED",
        workflowName: dag.name,
        additionalMetadata: { tag, kind: "dag" },
        children: [{ displayName: expect.stringMatching(/^first-\d+$/) }, { displayName: expect.stringMatching(/^second-\d+$/) }]
      })
      const dagsOnly = yield* Effect.promise(() =>
        hatchet.runs.list({ workflowNames: [dag.name], additionalMetadata: { tag }, onlyTasks: false })
      )
      expect(dagsOnly.rows.map((r) => r.metadata.id)).toEqual([dagRun])
      const tasks = yield* Effect.promise(() => hatchet.runs.list({ additionalMetadata: { tag }, onlyTasks: true }))
      expect(tasks.rows.map((r) => r.workflowRunExternalId).sort()).toEqual([dagRun, dagRun, taskRun].sort())
      const failed = yield* Effect.promise(() =>
        hatchet.runs.list({ additionalMetadata: { tag }, statuses: [V1TaskStatus.FAILED], onlyTasks: false })
      )
      expect(failed.rows).toEqual([])
      const later = yield* Effect.promise(() =>
        hatchet.runs.list({ additionalMetadata: { tag }, since: new Date(Date.now() + 60_000), onlyTasks: false })
      )
      expect(later.rows).toEqual([])
      const paged = yield* Effect.promise(() => hatchet.runs.list({ additionalMetadata: { tag }, limit: 1, offset: 1, onlyTasks: false }))
      expect(paged.rows.map((r) => r.metadata.id)).toEqual([dagRun])
      expect(paged.pagination).toEqual({ current_page: 2, next_page: 3, num_pages: 2 })

      const details = yield* Effect.promise(() => hatchet.runs.get(dagRun))
      expect(details.run).toMatchObject({ metadata: { id: dagRun }, status: "COMPLETED", input: { n: 4 } })
      // a DAG's output is its latest finished task's (upstream reads the DAG's latest FINISHED
      // event); each task's is in `tasks`
      expect(details.run.output).toEqual({ plusOne: 9 })
      expect(details.tasks.map((t) => t.status)).toEqual(["COMPLETED", "COMPLETED"])
      expect(details.tasks.map((t) => t.output)).toEqual([{ doubled: 8 }, { plusOne: 9 }])
      expect(details.shape.map((s) => s.taskName)).toEqual(["first", "second"])
      expect(yield* Effect.promise(() => hatchet.runs.get_status(taskRun))).toBe("COMPLETED")
    }))

  it.effect("lists a task's log lines written with ctx.logger (logs.list), with filters", () =>
    Effect.gen(function*() {
      const { chatty, hatchet } = yield* Fixture
      const ref = yield* Effect.promise(() => chatty.runNoWait({}))
      yield* Effect.promise(() => ref.output)
      const taskId = yield* Effect.promise(() => ref.getWorkflowRunId())
      const all = yield* Official.eventually(async () => {
        const list = await hatchet.logs.list(taskId)
        return list.rows?.length === 3 ? list : undefined
      })
      expect(all.rows!.map((l) => [l.level, l.message])).toEqual([
        ["INFO", "Hello from the task"],
        ["WARN", "careful now"],
        ["ERROR", "something went wrong"]
      ])
      expect(all.rows![0]).toMatchObject({ taskExternalId: taskId, attempt: 1, retryCount: 0 })
      const messages = (list: typeof all) => list.rows!.map((l) => l.message)
      expect(messages(yield* Effect.promise(() => hatchet.logs.list(taskId, { levels: [V1LogLineLevel.WARN, V1LogLineLevel.ERROR] }))))
        .toEqual([
          "careful now",
          "something went wrong"
        ])
      expect(messages(yield* Effect.promise(() => hatchet.logs.list(taskId, { search: "HELLO" })))).toEqual(["Hello from the task"])
      expect(
        messages(yield* Effect.promise(() => hatchet.logs.list(taskId, { orderByDirection: V1LogLineOrderByDirection.DESC, limit: 2 })))
      )
        .toEqual([
          "something went wrong",
          "careful now"
        ])
      expect(messages(yield* Effect.promise(() => hatchet.logs.list(taskId, { attempt: 2 })))).toEqual([])
    }))

  it.effect("lists and gets workers (workers.list / get) and workflows (workflows.get / list, GET /workflows/{id})", () =>
    Effect.gen(function*() {
      const { blocker, dag, hatchet, workerName } = yield* Fixture
      const workers = yield* Effect.promise(() => hatchet.workers.list())
      const listed = workers.rows!.find((w) => w.name === workerName)
      expect(listed).toMatchObject({ status: "ACTIVE", slotConfig: { default: { limit: 10 } } })
      expect(listed!.actions).toContain(`${blocker.name}:${blocker.name}`)
      expect(listed!.labels).toEqual([])
      const worker = yield* Effect.promise(() => hatchet.workers.get(listed!.metadata.id))
      // workers.pause / isPaused / unpause (PATCH answers upstream's v0 view: no labels, actions null)
      expect(yield* Effect.promise(() => hatchet.workers.pause(listed!.metadata.id))).toMatchObject({ status: "PAUSED", actions: null })
      expect(yield* Effect.promise(() => hatchet.workers.isPaused(listed!.metadata.id))).toBe(true)
      expect(yield* Effect.promise(() => hatchet.workers.unpause(listed!.metadata.id))).toMatchObject({ status: "ACTIVE" })
      expect(worker.registeredWorkflows!.map((w) => w.name).sort()).toEqual(
        [blocker.name, `${prefix}-chatty`, dag.name, `${prefix}-flaky`].sort()
      )

      const workflow = yield* Effect.promise(() => hatchet.workflows.get(dag.name))
      expect(workflow).toMatchObject({ name: dag.name, isPaused: false })
      const list = yield* Effect.promise(() => hatchet.workflows.list({ name: prefix.toUpperCase() }))
      expect(list.rows!.map((w) => w.name).sort()).toEqual(worker.registeredWorkflows!.map((w) => w.name).sort())
      const byId = yield* Effect.promise(() => hatchet.api.workflowGet(workflow.metadata.id))
      expect(byId.data).toMatchObject({ name: dag.name, versions: [{ workflowId: workflow.metadata.id, order: 1 }] })
    }))
})
