/**
 * Our client and our worker, end to end over loopback gRPC and REST against the local engine.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Cause, Chunk, ConfigProvider, Deferred, Effect, Layer, Option, Queue, Ref, Schema, Stream } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Runs from "../src/Runs.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskError from "../src/TaskError.js"
import { TaskFailed } from "../src/TaskError.js"
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
  it.scoped("a DAG with typed parent outputs: typed result; a declared error comes back typed, caught by its tag", () =>
    Effect.gen(function*() {
      const OrderFlow = orderFlow()
      yield* startWorker(OrderFlow.toLayer({
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

      const recovered = yield* Hatchet.run(OrderFlow, { orderId: "o-2", amount: 0 }).pipe(
        Effect.map(() => "charged"),
        Effect.catchTag("CardDeclined", (declined) => Effect.succeed(`declined: ${declined.reason}`))
      )
      expect(recovered).toBe("declined: invalid amount")
      const error = yield* Effect.flip(Hatchet.run(OrderFlow, { orderId: "o-3", amount: 0 }))
      expect(error).toBeInstanceOf(CardDeclined)
      expect(error).toEqual(new CardDeclined({ reason: "invalid amount" }))
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
      yield* startWorker(Layer.mergeAll(
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
          }).pipe(TaskError.undeclared)
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
      yield* startWorker(Double.toLayer((input) => Effect.succeed({ doubled: input.n * 2 })))
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
      yield* startWorker(
        Half.toLayer(({ n }) => n % 2 === 0 ? Effect.succeed({ half: n / 2 }) : Effect.fail(new CardDeclined({ reason: `${n} is odd` })))
      )
      const inputs = Array.from({ length: 10 }, (_, n) => ({ n }))
      // every run finishes; the failures of the odd ones are all in the cause, the first one first
      const cause = yield* Effect.flip(Effect.sandbox(Hatchet.runMany(Half, inputs)))
      expect(Chunk.toArray(Cause.failures(cause))).toEqual(
        [1, 3, 5, 7, 9].map((n) => new CardDeclined({ reason: `${n} is odd` }))
      )

      const handles = yield* Hatchet.runManyNoWait(Half, inputs)
      const outcomes = yield* Effect.forEach(handles, (h) => Effect.either(h.result), { concurrency: "unbounded" })
      expect(outcomes.map((o) => o._tag)).toEqual(inputs.map(({ n }) => n % 2 === 0 ? "Right" : "Left"))
      for (const [n, outcome] of outcomes.entries()) {
        if (outcome._tag === "Right") {
          expect(outcome.right).toEqual({ half: n / 2 })
        } else {
          expect(outcome.left).toEqual(new CardDeclined({ reason: `${n} is odd` }))
        }
      }
    }))

  it.scoped("streaming: chunks a task sends with putStream reach the handle's stream, in order, and it ends with the run", () =>
    Effect.gen(function*() {
      const subscribed = yield* Deferred.make<void>()
      const Streamer = Task.make(unique("streamer"), { output: Schema.Struct({ chunks: Schema.Number }) })
      yield* startWorker(Streamer.toLayer(() =>
        Effect.gen(function*() {
          // "ready" until the client is surely subscribed (the engine keeps no stream history)
          while (!(yield* Deferred.isDone(subscribed))) {
            yield* TaskContext.putStream("ready")
            yield* Effect.sleep("20 millis")
          }
          for (const chunk of ["a", "b", "c"]) yield* TaskContext.putStream(chunk)
          return { chunks: 3 }
        }).pipe(Effect.orDie)
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
      yield* startWorker(Sleeper.toLayer(() =>
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
      expect(failure).toBeInstanceOf(TaskFailed)
      expect(failure).toMatchObject({ _tag: "TaskFailed", taskName: Sleeper.name, kind: "Cancelled" })
      yield* Deferred.await(finalized)
    }))

  it.scoped("interruption is cancellation: Effect.timeout around run leaves the run CANCELLED, its finalizer run; retried timeouts leave no run behind", () =>
    Effect.gen(function*() {
      const started = yield* Queue.unbounded<string>()
      const finalized = yield* Queue.unbounded<string>()
      const Slow = Task.make(unique("slow"), { executionTimeout: "5 minutes" })
      yield* startWorker(Slow.toLayer(() =>
        Effect.gen(function*() {
          const ctx = yield* TaskContext.TaskContext
          yield* Effect.addFinalizer(() => Queue.offer(finalized, ctx.workflowRunId))
          yield* Queue.offer(started, ctx.workflowRunId)
          return yield* Effect.never
        })
      ))
      const runs = yield* Runs.Runs
      const tag = { test: unique("timeout") }
      const timedOut = yield* Effect.flip(Hatchet.run(Slow, {}, { additionalMetadata: tag }).pipe(Effect.timeout("1 second")))
      expect(timedOut._tag).toBe("TimeoutException")
      const runId = yield* Queue.take(started)
      expect(yield* Queue.take(finalized)).toBe(runId)
      expect(yield* runs.status(runId)).toBe("CANCELLED")

      // the scenario: a retry around a timeout; every attempt's run is cancelled
      const attempts = Hatchet.run(Slow, {}, { additionalMetadata: tag }).pipe(
        Effect.timeoutFail({ duration: "300 millis", onTimeout: () => "too slow" as const }),
        Effect.retry({ times: 2 }),
        Effect.flip
      )
      expect(yield* attempts).toBe("too slow")
      const listed = yield* pollUntil(
        runs.list({ additionalMetadata: tag }),
        (list) => list.rows.length === 4 && list.rows.every((row) => row.status === "CANCELLED")
      )
      expect(listed.rows.map((row) => row.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED"])
    }))

  it.scoped("cancelOnInterrupt: false: the run goes on after its awaiter gave up", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const Gated = Task.make(unique("gated"), { output: Schema.String })
      yield* startWorker(Gated.toLayer(() => Effect.as(Deferred.await(release), "done")))
      const handle = yield* Hatchet.runNoWait(Gated, {}, { cancelOnInterrupt: false })
      expect(yield* Effect.timeout(handle.result, "300 millis").pipe(Effect.option)).toEqual(Option.none())
      yield* Deferred.succeed(release, undefined)
      expect(yield* handle.result).toBe("done")
    }))

  it.scoped("a task cancelled while it awaits a child cancels the child (its finalizer runs); a detached run goes on", () =>
    Effect.gen(function*() {
      const childStarted = yield* Deferred.make<void>()
      const childFinalized = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const Child = Task.make(unique("awaited-child"), { executionTimeout: "5 minutes" })
      const Independent = Task.make(unique("detached"), { output: Schema.String })
      const Parent = Task.make(unique("parent"), { executionTimeout: "5 minutes" })
      const ids = yield* Ref.make<{ child?: string; detached?: string }>({})
      yield* startWorker(Layer.mergeAll(
        Child.toLayer(() =>
          Effect.gen(function*() {
            yield* Effect.addFinalizer(() => Deferred.succeed(childFinalized, undefined))
            yield* Deferred.succeed(childStarted, undefined)
            return yield* Effect.never
          })
        ),
        Independent.toLayer(() => Effect.as(Deferred.await(release), "independent")),
        Parent.toLayer(() =>
          Effect.gen(function*() {
            const detached = yield* Hatchet.runNoWait(Independent, {}, { detached: true })
            const child = yield* Hatchet.runNoWait(Child, {})
            yield* Ref.set(ids, { child: child.runId, detached: detached.runId })
            yield* Effect.all([child.result, detached.result], { concurrency: "unbounded" })
          }).pipe(TaskError.undeclared)
        )
      ))
      const parent = yield* Hatchet.runNoWait(Parent, {})
      yield* Deferred.await(childStarted)
      yield* parent.cancel
      yield* Deferred.await(childFinalized)
      const runs = yield* Runs.Runs
      const { child, detached } = yield* Ref.get(ids)
      expect(yield* pollUntil(runs.status(child!), (status) => status === "CANCELLED")).toBe("CANCELLED")
      expect(yield* Effect.flip(parent.result)).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled" })
      // the detached run was left going
      yield* Deferred.succeed(release, undefined)
      expect(yield* Hatchet.handle(Independent, detached!).pipe(Effect.flatMap((h) => h.result))).toBe("independent")
    }))

  it.scoped("a run that failed in several tasks: the declared errors and the TaskFailed are all in the cause", () =>
    Effect.gen(function*() {
      const Fanout = Workflow.make(unique("fanout")).pipe(
        Workflow.task("declined", { error: CardDeclined }),
        Workflow.task("crashed"),
        Workflow.task("fine", { output: Schema.Struct({ n: Schema.Number }) }),
        Workflow.task("after", { parents: ["declined", "fine"] })
      )
      yield* startWorker(Fanout.toLayer({
        declined: () => Effect.fail(new CardDeclined({ reason: "expired" })),
        crashed: () => Effect.dieMessage("boom"),
        fine: () => Effect.succeed({ n: 1 }),
        after: () => Effect.void
      }))
      const cause = yield* Effect.flip(Effect.sandbox(Hatchet.run(Fanout, {})))
      const failures = Chunk.toArray(Cause.failures(cause))
      expect(failures[0]).toEqual(new CardDeclined({ reason: "expired" }))
      expect(failures[1]).toMatchObject({ _tag: "TaskFailed", taskName: "crashed", kind: "Defect", message: "RuntimeException: boom" })
      // the task that never ran, since a parent failed, comes last
      expect(failures[2]).toMatchObject({ _tag: "TaskFailed", taskName: "after", kind: "Cancelled" })
      expect(failures).toHaveLength(3)
      // catchTag sees the declared error first
      const caught = yield* Hatchet.run(Fanout, {}).pipe(
        Effect.as("ok"),
        Effect.catchTag("CardDeclined", (declined) => Effect.succeed(declined.reason))
      )
      expect(caught).toBe("expired")
    }))

  it.scoped("a schedule timeout is told apart from a cancel: TaskFailed of kind ScheduleTimeout", () =>
    Effect.gen(function*() {
      const holding = yield* Deferred.make<void>()
      const Hog = Task.make(unique("hog"), { executionTimeout: "5 minutes" })
      const Starved = Task.make(unique("starved"), { scheduleTimeout: "1 second" })
      // one slot, held by the hog: the starved task waits for a worker, then times out
      yield* startWorker(
        Layer.merge(
          Hog.toLayer(() => Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)),
          Starved.toLayer(() => Effect.void)
        ),
        { slots: 1 }
      )
      const hog = yield* Hatchet.runNoWait(Hog, {})
      yield* Deferred.await(holding)
      const starved = yield* Effect.flip(Hatchet.run(Starved, {}))
      expect(starved).toMatchObject({
        _tag: "TaskFailed",
        taskName: Starved.name,
        kind: "ScheduleTimeout",
        message: "no worker took the task within its schedule timeout (SCHEDULING_TIMED_OUT)"
      })
      // a cancel stays a cancel
      yield* hog.cancel
      expect(yield* Effect.flip(hog.result)).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled", message: "the task was cancelled" })
    }))

  it.scoped("an event pushed with push triggers the workflow listening for its key", () =>
    Effect.gen(function*() {
      const key = unique("user:signed-up")
      const received = yield* Deferred.make<{ readonly email: string }>()
      const Welcome = Task.make(unique("welcome"), { input: Schema.Struct({ email: Schema.String }), onEvents: [key] })
      yield* startWorker(Welcome.toLayer((input) => Deferred.succeed(received, input)))
      const event = yield* Hatchet.push(key, { email: "ada@example.com" }, { additionalMetadata: { source: "test" } })
      expect(event.key).toBe(key)
      expect(event.eventId).not.toBe("")
      expect(yield* Deferred.await(received)).toEqual({ email: "ada@example.com" })
    }))

  it.scoped("logs written with Effect's logger inside a task are visible through the REST logs endpoint", () =>
    Effect.gen(function*() {
      const Logger = Task.make(unique("logger"))
      yield* startWorker(Logger.toLayer(() => Effect.logInfo("hello from the task")))
      const handle = yield* Hatchet.runNoWait(Logger, {})
      yield* handle.result
      const taskId = (yield* handle.details).tasks[0]!.taskExternalId
      const runs = yield* Runs.Runs
      const lines = yield* pollUntil(Effect.map(runs.logs(taskId), (list) => list.rows), (rows) => rows.length > 0)
      expect(lines.map((line) => line.message)).toContain("hello from the task")
    }))

  it.scoped("REST: get, status, list; cancel and replay by id", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const Counter = Task.make(unique("counter"), { output: Schema.Struct({ n: Schema.Number }) })
      const Forever = Task.make(unique("forever"), { executionTimeout: "5 minutes" })
      yield* startWorker(Layer.merge(
        Counter.toLayer(() => Ref.updateAndGet(executions, (n) => n + 1).pipe(Effect.map((n) => ({ n })))),
        Forever.toLayer(() => Effect.never)
      ))
      const runs = yield* Runs.Runs
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
      expect(failure).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled" })
      expect(yield* runs.cancel({ ids: [] })).toEqual([])
    }))

  it.scoped("bad input is refused before anything is sent, with a message naming the field", () =>
    Effect.gen(function*() {
      const Positive = Task.make(unique("positive"), { input: Schema.Struct({ amount: Schema.Number.pipe(Schema.positive()) }) })
      const error = yield* Effect.flip(Hatchet.runNoWait(Positive, { amount: -1 }))
      expect(error).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      expect(error.message).toContain("amount")
      // the workflow was never registered nor triggered: the engine knows no such run
      const runs = yield* Runs.Runs
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
      yield* startWorker(Double.toLayer((input) => Effect.succeed(input.n * 2)))
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

  it.scoped("layer(): a client configured from HATCHET_CLIENT_* alone reaches the engine", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const Greet = Task.make(unique("greet"), { input: Schema.Struct({ name: Schema.String }), output: Schema.String })
      yield* startWorker(Greet.toLayer((input) => Effect.succeed(`hello ${input.name}`)))
      const fromEnv = Hatchet.layer().pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(engine.env)), { pathDelim: "_" })))
      )
      const greeting = yield* Hatchet.run(Greet, { name: "ada" }).pipe(Effect.provide(fromEnv))
      expect(greeting).toBe("hello ada")
    }))
})
