/**
 * Our client and our worker, end to end over loopback gRPC and REST against the local engine.
 */
import { expect, layer } from "@effect/vitest"
import { Engine } from "@effect-hatchet/engine"
import { ConfigProvider, Deferred, Effect, Layer, Ref, Schema, Stream } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as TaskContext from "../src/TaskContext.js"
import { TaskFailed } from "../src/TaskError.js"
import * as Task from "../src/Task.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, pollUntil, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}

const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })

const orderFlow = () =>
  Workflow.make(unique("order"), { input: Order }).pipe(
    Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
    Workflow.task("charge", {
      parents: ["validate"],
      output: Schema.Struct({ chargeId: Schema.String, at: Schema.DateFromString }),
      error: CardDeclined
    })
  )

layer(engineWithClient(), { timeout: 120_000, excludeTestServices: true })("client + worker end to end", (it) => {
  it.scoped("a DAG with typed parent outputs: typed result; a declared error comes back typed in RunFailed", () =>
    Effect.gen(function*() {
      const OrderFlow = orderFlow()
      yield* startWorker([OrderFlow], OrderFlow.toLayer({
        validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
        charge: (input, parents) =>
          parents.validate.valid
            ? Effect.succeed({ chargeId: `ch-${input.orderId}`, at: new Date(Date.UTC(2030, 0, 1)) })
            : Effect.fail(new CardDeclined({ reason: "invalid amount" }))
      }))
      const result = yield* Hatchet.run(OrderFlow, { orderId: "o-1", amount: 42 })
      expect(result.validate).toEqual({ valid: true })
      expect(result.charge.chargeId).toBe("ch-o-1")
      expect(result.charge.at).toBeInstanceOf(Date)
      expect(result.charge.at.toISOString()).toBe("2030-01-01T00:00:00.000Z")

      const failed = yield* Effect.flip(Hatchet.run(OrderFlow, { orderId: "o-2", amount: 0 }))
      expect(failed._tag).toBe("RunFailed")
      if (failed._tag !== "RunFailed") return
      expect(failed.status).toBe("FAILED")
      expect(failed.failures).toHaveLength(1)
      expect(failed.failures[0]!.taskName).toBe("charge")
      const error = failed.failures[0]!.error
      expect(error).toBeInstanceOf(CardDeclined)
      expect(error).toMatchObject({ _tag: "CardDeclined", reason: "invalid amount" })
    }))

  it.scoped("child runs from a task: typed child results, and a retried parent gets its existing children back", () =>
    Effect.gen(function*() {
      const Child = Task.make(unique("child"), {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Struct({ square: Schema.Number })
      })
      const Parent = Task.make(unique("parent"), {
        output: Schema.Struct({ total: Schema.Number, children: Schema.Array(Schema.String) }),
        retries: 1
      })
      const childExecutions = yield* Ref.make(0)
      const spawnedPerAttempt = yield* Ref.make<Array<Array<string>>>([])
      const metadataSeen = yield* Ref.make<Array<unknown>>([])
      yield* startWorker([Child, Parent], Layer.mergeAll(
        Child.toLayer((input) =>
          Effect.gen(function*() {
            yield* Ref.update(childExecutions, (n) => n + 1)
            const ctx = yield* TaskContext.TaskContext
            yield* Ref.update(metadataSeen, (all) => [...all, ctx.additionalMetadata.hatchet__parent_step_run_id])
            return { square: input.n * input.n }
          })
        ),
        Parent.toLayer(() =>
          Effect.gen(function*() {
            const ctx = yield* TaskContext.TaskContext
            const first = yield* Hatchet.runNoWait(Child, { n: 2 })
            const second = yield* Hatchet.runNoWait(Child, { n: 3 })
            const keyed = yield* Hatchet.runNoWait(Child, { n: 4 }, { key: "four" })
            const ids = [first.runId, second.runId, keyed.runId]
            yield* Ref.update(spawnedPerAttempt, (all) => [...all, ids])
            const results = yield* Effect.all([first.result, second.result, keyed.result])
            if (ctx.retryCount === 0) return yield* Effect.fail("first attempt fails after spawning")
            return { total: results.reduce((sum, r) => sum + r.square, 0), children: ids }
          })
        )
      ))
      const handle = yield* Hatchet.runNoWait(Parent, {})
      const result = yield* handle.result
      expect(result.total).toBe(4 + 9 + 16)
      const attempts = yield* Ref.get(spawnedPerAttempt)
      expect(attempts).toHaveLength(2)
      expect(new Set(attempts[0]).size).toBe(3)
      expect(attempts[1]).toEqual(attempts[0]) // deduped: the same three children
      expect(result.children).toEqual(attempts[0])
      expect(yield* Ref.get(childExecutions)).toBe(3) // each child ran once
      const details = yield* handle.details
      const parentTask = details.tasks[0]!.taskExternalId
      expect(yield* Ref.get(metadataSeen)).toEqual([parentTask, parentTask, parentTask])
    }))

  it.scoped("runMany: 1,000 runs in batches, every output right and in order", () =>
    Effect.gen(function*() {
      const Double = Task.make(unique("double"), {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Struct({ doubled: Schema.Number })
      })
      yield* startWorker([Double], Double.toLayer((input) => Effect.succeed({ doubled: input.n * 2 })))
      const inputs = Array.from({ length: 1000 }, (_, n) => ({ n }))
      const results = yield* Hatchet.runMany(Double, inputs)
      expect(results).toHaveLength(1000)
      expect(results.every((r, n) => r.doubled === n * 2)).toBe(true)
    }), 120_000)

  it.scoped("runMany fails with the first failed run; every run's outcome from runManyNoWait's handles", () =>
    Effect.gen(function*() {
      const Half = Task.make(unique("half"), {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Struct({ half: Schema.Number }),
        error: CardDeclined
      })
      yield* startWorker([Half], Half.toLayer(({ n }) =>
        n % 2 === 0 ? Effect.succeed({ half: n / 2 }) : Effect.fail(new CardDeclined({ reason: `${n} is odd` }))
      ))
      const inputs = Array.from({ length: 10 }, (_, n) => ({ n }))
      const first = yield* Effect.flip(Hatchet.runMany(Half, inputs))
      expect(first).toMatchObject({ _tag: "RunFailed", status: "FAILED" })

      const handles = yield* Hatchet.runManyNoWait(Half, inputs)
      const outcomes = yield* Effect.forEach(handles, (h) => Effect.either(h.result), { concurrency: "unbounded" })
      expect(outcomes.map((o) => o._tag)).toEqual(inputs.map(({ n }) => n % 2 === 0 ? "Right" : "Left"))
      for (const [n, outcome] of outcomes.entries()) {
        if (outcome._tag === "Right") {
          expect(outcome.right).toEqual({ half: n / 2 })
        } else {
          expect(outcome.left._tag).toBe("RunFailed")
          if (outcome.left._tag !== "RunFailed") continue
          expect(outcome.left.failures[0]!.error).toEqual(new CardDeclined({ reason: `${n} is odd` }))
        }
      }
    }))

  it.scoped("streaming: chunks a task sends with putStream reach the handle's stream, in order, and it ends with the run", () =>
    Effect.gen(function*() {
      const subscribed = yield* Deferred.make<void>()
      const Streamer = Task.make(unique("streamer"), { output: Schema.Struct({ chunks: Schema.Number }) })
      yield* startWorker([Streamer], Streamer.toLayer(() =>
        Effect.gen(function*() {
          // "ready" until the client is surely subscribed (the engine keeps no stream history)
          while (!(yield* Deferred.isDone(subscribed))) {
            yield* TaskContext.putStream("ready")
            yield* Effect.sleep("20 millis")
          }
          for (const chunk of ["a", "b", "c"]) yield* TaskContext.putStream(chunk)
          return { chunks: 3 }
        })
      ))
      const handle = yield* Hatchet.runNoWait(Streamer, {})
      const chunks = yield* handle.stream.pipe(
        Stream.tap((chunk) => chunk === "ready" ? Deferred.succeed(subscribed, undefined) : Effect.void),
        Stream.runCollect
      )
      const all = Array.from(chunks)
      const data = all.filter((chunk) => chunk !== "ready")
      expect(data).toEqual(["a", "b", "c"])
      expect(all.slice(all.length - 3)).toEqual(["a", "b", "c"])
      expect((yield* handle.result).chunks).toBe(3)
    }))

  it.scoped("cancel through the handle interrupts the running task (finalizer runs); the run fails as CANCELLED", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<void>()
      const Sleeper = Task.make(unique("sleeper"), { executionTimeout: "5 minutes" })
      yield* startWorker([Sleeper], Sleeper.toLayer(() =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => Deferred.succeed(finalized, undefined))
          yield* Deferred.succeed(started, undefined)
          return yield* Effect.never
        })
      ))
      const handle = yield* Hatchet.runNoWait(Sleeper, {})
      yield* Deferred.await(started)
      yield* handle.cancel
      const failure = yield* Effect.flip(handle.result)
      expect(failure._tag).toBe("RunFailed")
      if (failure._tag !== "RunFailed") return
      expect(failure.status).toBe("CANCELLED")
      expect(failure.failures[0]!.error).toBeInstanceOf(TaskFailed)
      expect((failure.failures[0]!.error as TaskFailed).kind).toBe("Cancelled")
      yield* Deferred.await(finalized)
    }))

  it.scoped("an event pushed with push triggers the workflow listening for its key", () =>
    Effect.gen(function*() {
      const key = unique("user:signed-up")
      const received = yield* Deferred.make<{ readonly email: string }>()
      const Welcome = Task.make(unique("welcome"), { input: Schema.Struct({ email: Schema.String }), onEvents: [key] })
      yield* startWorker([Welcome], Welcome.toLayer((input) => Deferred.succeed(received, input)))
      const event = yield* Hatchet.push(key, { email: "ada@example.com" }, { additionalMetadata: { source: "test" } })
      expect(event.key).toBe(key)
      expect(event.eventId).not.toBe("")
      expect(yield* Deferred.await(received)).toEqual({ email: "ada@example.com" })
    }))

  it.scoped("logs written with Effect's logger inside a task are visible through the REST logs endpoint", () =>
    Effect.gen(function*() {
      const Logger = Task.make(unique("logger"))
      yield* startWorker([Logger], Logger.toLayer(() => Effect.logInfo("hello from the task")))
      const handle = yield* Hatchet.runNoWait(Logger, {})
      yield* handle.result
      const taskId = (yield* handle.details).tasks[0]!.taskExternalId
      const hatchet = yield* Hatchet.Hatchet
      const lines = yield* pollUntil(Effect.map(hatchet.runs.logs(taskId), (list) => list.rows), (rows) => rows.length > 0)
      expect(lines.map((line) => line.message)).toContain("hello from the task")
    }))

  it.scoped("REST: get, status, list; cancel and replay by id", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const Counter = Task.make(unique("counter"), { output: Schema.Struct({ n: Schema.Number }) })
      const Forever = Task.make(unique("forever"), { executionTimeout: "5 minutes" })
      yield* startWorker([Counter, Forever], Layer.merge(
        Counter.toLayer(() => Ref.updateAndGet(executions, (n) => n + 1).pipe(Effect.map((n) => ({ n })))),
        Forever.toLayer(() => Effect.never)
      ))
      const { runs } = yield* Hatchet.Hatchet
      const handle = yield* Hatchet.runNoWait(Counter, {}, { additionalMetadata: { team: "payments" } })
      expect(yield* handle.result).toEqual({ n: 1 })
      const details = yield* runs.get(handle.runId)
      expect(details.run.metadata.id).toBe(handle.runId)
      expect(details.run.status).toBe("COMPLETED")
      expect(details.run.additionalMetadata?.team).toBe("payments")
      expect(details.tasks[0]!.output).toEqual({ n: 1 })
      expect(yield* runs.status(handle.runId)).toBe("COMPLETED")
      const listed = yield* runs.list({ workflowIds: [details.run.workflowId], additionalMetadata: { team: "payments" } })
      expect(listed.rows.map((row) => row.metadata.id)).toEqual([handle.runId])

      const replayed = yield* runs.replay({ ids: [handle.runId] })
      expect(replayed.length).toBeGreaterThan(0)
      yield* pollUntil(Ref.get(executions), (n) => n === 2)
      expect(yield* handle.result).toEqual({ n: 2 })

      const stuck = yield* Hatchet.runNoWait(Forever, {})
      yield* pollUntil(runs.status(stuck.runId), (status) => status === "RUNNING")
      const cancelled = yield* runs.cancel({ ids: [stuck.runId] })
      expect(cancelled.length).toBeGreaterThan(0)
      const failure = yield* Effect.flip(stuck.result)
      expect(failure).toMatchObject({ _tag: "RunFailed", status: "CANCELLED" })
      expect(yield* runs.cancel({ ids: [] })).toEqual([])
    }))

  it.scoped("bad input is refused before anything is sent, with a message naming the field", () =>
    Effect.gen(function*() {
      const Positive = Task.make(unique("positive"), { input: Schema.Struct({ amount: Schema.Number.pipe(Schema.positive()) }) })
      const error = yield* Effect.flip(Hatchet.runNoWait(Positive, { amount: -1 }))
      expect(error).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      expect(error.message).toContain("amount")
      // the workflow was never registered nor triggered: the engine knows no such run
      const { runs } = yield* Hatchet.Hatchet
      const listed = yield* runs.list({})
      expect(listed.rows.some((row) => row.workflowName === Positive.name)).toBe(false)
    }))

  it.scoped("runNoWait for a workflow nobody registered fails with the engine's typed gRPC error", () =>
    Effect.gen(function*() {
      const Unknown = Task.make(unique("unregistered"))
      const error = yield* Effect.flip(Hatchet.runNoWait(Unknown, {}))
      expect(error._tag).toBe("GrpcError")
      expect(error).toMatchObject({ code: 3 }) // INVALID_ARGUMENT "workflow names not found"
    }))

  it.scoped("handle of a run id: the result of a known run; RunNotFound for an id the engine does not know", () =>
    Effect.gen(function*() {
      const Double = Task.make(unique("double"), { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number })
      yield* startWorker([Double], Double.toLayer((input) => Effect.succeed(input.n * 2)))
      const triggered = yield* Hatchet.runNoWait(Double, { n: 21 })
      const byId = yield* Hatchet.handle(Double, triggered.runId)
      expect(yield* byId.result).toBe(42)

      // a well-formed id nobody triggered: asked three times over 3 s, then a typed refusal
      const unknown = yield* Hatchet.handle(Double, "00000000-0000-4000-8000-000000000000")
      const notFound = yield* Effect.flip(unknown.result)
      expect(notFound).toMatchObject({ _tag: "HatchetClientError", reason: "RunNotFound" })
      expect(notFound.message).toContain("00000000-0000-4000-8000-000000000000")
      // not a UUID at all: refused at once
      const garbled = yield* Hatchet.handle(Double, "not-a-run-id")
      expect(yield* Effect.flip(garbled.result)).toMatchObject({ _tag: "HatchetClientError", reason: "RunNotFound" })
    }))

  it.scoped("layerFromEnv: a client configured from HATCHET_CLIENT_* reaches the engine", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const Greet = Task.make(unique("greet"), { input: Schema.Struct({ name: Schema.String }), output: Schema.String })
      yield* startWorker([Greet], Greet.toLayer((input) => Effect.succeed(`hello ${input.name}`)))
      const fromEnv = Hatchet.layerFromEnv.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(engine.env)), { pathDelim: "_" })))
      )
      const greeting = yield* Hatchet.run(Greet, { name: "ada" }).pipe(Effect.provide(fromEnv))
      expect(greeting).toBe("hello ada")
    }))
})
