/**
 * Conformance with the official `@hatchet-dev/typescript-sdk` (worker and client) over loopback
 * gRPC: what a Hatchet user's code observes must be what it observes against Hatchet.
 */
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import { NonRetryableError } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"
import { createChannel, createClient, Metadata } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import { taskStatus } from "../src/internal/domain/model.js"
import * as Queries from "../src/internal/domain/queries.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

const rejection = (promise: Promise<unknown>) => Effect.promise(() => promise.then(() => undefined, (error: unknown) => error))

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official TypeScript SDK", (it) => {
  it.scoped("runs a simple task and returns its output through run / runNoWait / result", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("simple")
      const simple = hatchet.task({
        name,
        fn: async (input: { message: string }, ctx) => ({
          upper: input.message.toUpperCase(),
          runId: ctx.workflowRunId(),
          taskId: ctx.taskRunExternalId(),
          retry: ctx.retryCount()
        })
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [simple], slots: 5 })
      const result = yield* Effect.promise(() => simple.run({ message: "hello" }))
      expect(result).toMatchObject({ upper: "HELLO", retry: 0 })
      expect(result.runId).toBe(result.taskId)
      const ref = yield* Effect.promise(() => simple.runNoWait({ message: "again" }))
      const output = yield* Effect.promise(() => ref.output)
      expect(output).toMatchObject({ upper: "AGAIN", runId: yield* Effect.promise(() => ref.getWorkflowRunId()) })
    }))

  it.scoped("runs a DAG whose tasks read their parents' outputs", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("dag")
      const wf = hatchet.workflow<{ n: number }>({ name })
      const first = wf.task({ name: "first", fn: async (input) => ({ doubled: input.n * 2 }) })
      const second = wf.task({
        name: "second",
        parents: [first],
        fn: async (input, ctx) => {
          const parent = await ctx.parentOutput(first)
          return { plusOne: parent.doubled + 1, input: input.n }
        }
      })
      wf.task({
        name: "third",
        parents: [first, second],
        fn: async (_input, ctx) => ({ sum: (await ctx.parentOutput(first)).doubled + (await ctx.parentOutput(second)).plusOne })
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 5 })
      const result = yield* Effect.promise(() => wf.run({ n: 5 }))
      expect(result).toEqual({ first: { doubled: 10 }, second: { plusOne: 11, input: 5 }, third: { sum: 21 } })
    }))

  it.scoped("retries a failing task with backoff, then succeeds", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("retry")
      const attempts: Array<{ retry: number; at: number }> = []
      const flaky = hatchet.task({
        name,
        retries: 3,
        backoff: { factor: 2, maxSeconds: 1 },
        fn: async (_input, ctx) => {
          attempts.push({ retry: ctx.retryCount(), at: Date.now() })
          if (ctx.retryCount() < 2) throw new Error(`attempt ${ctx.retryCount()} failed`)
          return { ok: true }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [flaky], slots: 5 })
      const result = yield* Effect.promise(() => flaky.run({}))
      expect(result).toEqual({ ok: true })
      expect(attempts.map((a) => a.retry)).toEqual([0, 1, 2])
      // min(1, 2^n) s = 1 s before each retry
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900)
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(900)
    }))

  it.scoped("does not retry a NonRetryableError", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("nonretry")
      let calls = 0
      const fatal = hatchet.task({
        name,
        retries: 3,
        fn: async () => {
          calls++
          throw new NonRetryableError("permanent failure")
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [fatal], slots: 5 })
      const error = yield* rejection(fatal.run({}))
      expect(JSON.stringify(error)).toContain("permanent failure")
      expect(calls).toBe(1)
    }))

  it.scoped("times out a task: the run fails with the timeout error and the task's signal aborts", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("timeout")
      let aborted = false
      const slow = hatchet.task({
        name,
        executionTimeout: "1s",
        fn: async (_input, ctx) => {
          await new Promise<void>((resolve) => {
            ctx.abortController.signal.addEventListener("abort", () => {
              aborted = true
              resolve()
            })
          })
          return { never: true }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [slow], slots: 5 })
      const error = yield* rejection(slow.run({}))
      expect(error).toEqual(["Task exceeded timeout of 1s"])
      yield* Official.eventually(() => (aborted ? true : undefined))
    }))

  it.scoped("cancelling a running task over v1.AdminService/CancelTasks fires its abort signal", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("cancel")
      let started = false
      let aborted = false
      const longRunning = hatchet.task({
        name,
        fn: async (_input, ctx) => {
          started = true
          await new Promise<void>((resolve) =>
            ctx.abortController.signal.addEventListener("abort", () => {
              aborted = true
              resolve()
            })
          )
          return {}
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [longRunning], slots: 5 })
      const ref = yield* Effect.promise(() => longRunning.runNoWait({}))
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      yield* Official.eventually(() => (started ? true : undefined))
      const channel = createChannel(engine.grpcAddress)
      yield* Effect.addFinalizer(() => Effect.sync(() => channel.close()))
      const admin = createClient(AdminServiceDefinition, channel, {
        "*": { metadata: Metadata({ authorization: `bearer ${Redacted.value(engine.token)}` }) }
      })
      const response = yield* Effect.promise(() => admin.cancelTasks({ externalIds: [runId] }))
      expect(response.cancelledTasks).toEqual([runId])
      yield* Official.eventually(() => (aborted ? true : undefined))
      // a cancelled run resolves with an empty result in the official SDK
      const core = yield* EngineCore
      expect(taskStatus(core.state.tasksByExternalId.get(runId)!)).toBe("CANCELLED")
    }))

  it.scoped("runs the on-failure task with the failed task's error", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("onfailure")
      let seenErrors: Record<string, string> | undefined
      const wf = hatchet.workflow({ name })
      wf.task({
        name: "explode",
        fn: async () => {
          throw new Error("kaboom")
        }
      })
      wf.onFailure({
        name: "cleanup",
        fn: async (_input, ctx) => {
          seenErrors = ctx.errors()
          return { cleaned: true }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 5 })
      const error = yield* rejection(wf.run({}))
      expect(JSON.stringify(error)).toContain("kaboom")
      const errors = yield* Official.eventually(() => seenErrors)
      expect(Object.keys(errors)).toEqual(["explode"])
      expect(errors.explode).toContain("kaboom")
    }))

  it.scoped("spawns child workflows; a retrying parent gets its existing children back", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("parent")
      const childRuns: Array<number> = []
      const child = hatchet.task({
        name: `${name}-child`,
        fn: async (input: { i: number }, ctx) => {
          childRuns.push(input.i)
          return { value: input.i * 10, parent: ctx.parentWorkflowRunId() ?? null }
        }
      })
      const childIds: Array<Array<string>> = []
      const parent = hatchet.task({
        name,
        retries: 1,
        fn: async (_input, ctx) => {
          const refs = await Promise.all([0, 1].map((i) => ctx.runNoWaitChild(child, { i })))
          childIds.push(await Promise.all(refs.map((r) => r.getWorkflowRunId())))
          const outputs = await Promise.all(refs.map((r) => r.output))
          if (ctx.retryCount() === 0) throw new Error("retry the parent")
          return { outputs: outputs.map((o) => o.value), parent: outputs[0]!.parent }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [parent, child], slots: 10 })
      const ref = yield* Effect.promise(() => parent.runNoWait({}))
      const result = yield* Effect.promise(() => ref.output)
      expect(result.outputs).toEqual([0, 10])
      expect(childIds).toHaveLength(2)
      expect(childIds[1]).toEqual(childIds[0])
      expect(childRuns.sort()).toEqual([0, 1])
      expect(result.parent).toBe(yield* Effect.promise(() => ref.getWorkflowRunId()))
    }))

  it.scoped("runs the workflows whose event triggers match a pushed event", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("onevent")
      const seen: Array<{ input: unknown; meta: Record<string, string> }> = []
      const onEvent = hatchet.task({
        name,
        onEvents: [`${name}:created`, `${name}:wild*`],
        fn: async (input, ctx) => {
          seen.push({ input, meta: ctx.additionalMetadata() })
          return {}
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [onEvent], slots: 5 })
      const event = yield* Effect.promise(() =>
        hatchet.events.push(`${name}:created`, { user: "ada" }, { additionalMetadata: { source: "test" } })
      )
      yield* Effect.promise(() => hatchet.events.push(`${name}:wildcard`, { user: "bob" }))
      yield* Effect.promise(() => hatchet.events.push(`${name}:other`, { user: "eve" }))
      yield* Official.eventually(() => (seen.length >= 2 ? true : undefined))
      expect(seen.map((s) => s.input).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)).toEqual([
        { user: "ada" },
        { user: "bob" }
      ])
      const ada = seen.find((s) => (s.input as { user: string }).user === "ada")!
      expect(ada.meta).toMatchObject({
        source: "test",
        hatchet__event_id: event.eventId,
        hatchet__event_key: `${name}:created`
      })
    }))

  it.scoped("bulk-triggers runs and returns their results in order", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("bulk")
      const square = hatchet.task({ name, fn: async (input: { n: number }) => ({ sq: input.n * input.n }) })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [square], slots: 20 })
      const inputs = Array.from({ length: 25 }, (_, n) => ({ n }))
      const results = yield* Effect.promise(() => square.run(inputs))
      expect(results.map((r) => r.sq)).toEqual(inputs.map(({ n }) => n * n))
    }))

  it.scoped("streams putStream chunks to a subscriber, and stores task logs", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("stream")
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const streamer = hatchet.task({
        name,
        fn: async (_input, ctx) => {
          await gate
          for (const chunk of ["a", "b", "c", "d"]) await ctx.putStream(chunk)
          await ctx.logger.info("streamed four chunks")
          return { done: true }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [streamer], slots: 5 })
      const ref = yield* Effect.promise(() => streamer.runNoWait({}))
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      const chunks: Array<string> = []
      const reading = Effect.promise(async () => {
        for await (const chunk of hatchet.runs.subscribeToStream(runId)) chunks.push(chunk)
      })
      const fiber = yield* Effect.fork(reading)
      yield* Effect.sleep("200 millis")
      release()
      yield* Effect.promise(() => ref.output)
      yield* Official.eventually(() => (chunks.length >= 4 ? true : undefined))
      expect(chunks).toEqual(["a", "b", "c", "d"])
      yield* Effect.ignore(Effect.timeout(fiber.await, "2 seconds"))
      const core = yield* EngineCore
      const task = Queries.findTask(core.state, engine.tenantId, runId)!
      yield* Official.eventually(() => (task.logs.length > 0 ? true : undefined))
      expect(Queries.listLogs(task).map((l) => [l.level, l.message])).toEqual([["INFO", "streamed four chunks"]])
    }))
})
