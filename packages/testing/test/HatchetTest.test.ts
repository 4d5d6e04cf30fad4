/**
 * HatchetTest.layer: engine + worker + client as one layer, under TestClock (shared by a block,
 * or built inside one `it.effect`) and under the live clock; what closing its scope leaves.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, HatchetConfig, Runs, Task, TaskContext, TaskError, Worker, Workers, Workflow } from "@effect-hatchet/sdk"
import { describe, expect, expectTypeOf, it, layer } from "@effect/vitest"
import { Clock, Context, Deferred, Effect, Exit, Layer, Option, Ref, Schema, Scope, TestClock } from "effect"
import * as Net from "node:net"
import * as HatchetTest from "../src/HatchetTest.js"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}

/** A test double the handlers use; merged into the layer so tests can read it. */
class Payments extends Context.Tag("test/Payments")<Payments, {
  readonly charges: Ref.Ref<ReadonlyArray<string>>
  readonly charge: (orderId: string, amount: number) => Effect.Effect<string, CardDeclined>
}>() {}

const PaymentsTest = Layer.effect(
  Payments,
  Effect.gen(function*() {
    const charges = yield* Ref.make<ReadonlyArray<string>>([])
    return {
      charges,
      charge: (orderId, amount) =>
        amount <= 0
          ? Effect.fail(new CardDeclined({ reason: `cannot charge ${amount}` }))
          : Effect.as(Ref.update(charges, (all) => [...all, orderId]), `ch-${orderId}`)
    }
  })
)

const OrderFlow = Workflow.make("order-processing", { input: Schema.Struct({ orderId: Schema.String, amount: Schema.Number }) })
  .pipe(
    Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
    Workflow.task("charge", { parents: ["validate"], output: Schema.Struct({ chargeId: Schema.String }), error: CardDeclined })
  )

const OrderFlowLive = OrderFlow.toLayer({
  validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
  charge: (input) => Effect.flatMap(Payments, (p) => Effect.map(p.charge(input.orderId, input.amount), (chargeId) => ({ chargeId })))
})

/** Fails its first two attempts; the engine waits 60^1 s, then 60^2 s = one hour. */
const Flaky = Task.make("flaky", {
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.Struct({ attempt: Schema.Number, at: Schema.Number }),
  retries: 2,
  backoff: { factor: 60, maxSeconds: 3600 }
})

class Attempts extends Context.Tag("test/Attempts")<Attempts, Ref.Ref<ReadonlyArray<number>>>() {}
const AttemptsLive = Layer.effect(Attempts, Ref.make<ReadonlyArray<number>>([]))

const FlakyLive = Flaky.toLayer(() =>
  Effect.gen(function*() {
    const ctx = yield* TaskContext.TaskContext
    const attempts = yield* Attempts
    const now = yield* Clock.currentTimeMillis
    yield* Ref.update(attempts, (all) => [...all, now])
    if (ctx.retryCount < 2) return yield* TaskError.undeclared(Effect.fail(`attempt ${ctx.retryCount} fails`))
    return { attempt: ctx.retryCount, at: now }
  })
)

/** A task that runs a child workflow through the client: its layer needs `Hatchet`, which the test layer provides. */
const Parent = Task.make("parent", {
  input: Schema.Struct({ orderId: Schema.String }),
  output: Schema.Struct({ chargeId: Schema.String })
})
const ParentLive = Parent.toLayer((input) =>
  Hatchet.run(OrderFlow, { orderId: input.orderId, amount: 5 }).pipe(
    Effect.map((result) => ({ chargeId: result.charge.chargeId })),
    TaskError.undeclared
  )
)

const TestLive = HatchetTest.layer({
  workflows: [
    OrderFlowLive.pipe(Layer.provideMerge(PaymentsTest)),
    FlakyLive.pipe(Layer.provideMerge(AttemptsLive)),
    ParentLive
  ]
})

let firstEngine: string | undefined

// the default: the layer is built with the test services, so its clock is the block's TestClock
layer(TestLive, { timeout: 60_000 })("HatchetTest.layer under the block's TestClock", (it) => {
  it.effect("a DAG: typed result, a declared error typed; the test reaches the double it merged", () =>
    Effect.gen(function*() {
      const result = yield* Hatchet.run(OrderFlow, { orderId: "o-1", amount: 42 })
      expect(result).toEqual({ validate: { valid: true }, charge: { chargeId: "ch-o-1" } })
      expectTypeOf(result).toEqualTypeOf<
        { readonly validate: { readonly valid: boolean }; readonly charge: { readonly chargeId: string } }
      >()

      const failed = yield* Effect.flip(Hatchet.run(OrderFlow, { orderId: "o-2", amount: 0 }))
      expect(failed).toEqual(new CardDeclined({ reason: "cannot charge 0" }))

      expect(yield* Ref.get((yield* Payments).charges)).toEqual(["o-1"])
      firstEngine = (yield* Engine.Engine).grpcAddress
    }))

  it.effect("a task can run a child workflow with the client the layer provides", () =>
    Effect.gen(function*() {
      expect(yield* Hatchet.run(Parent, { orderId: "o-child" })).toEqual({ chargeId: "ch-o-child" })
    }))

  it.effect("exposes the engine the client and the worker use; tests of a block share them", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const config = yield* HatchetConfig.HatchetConfig
      const worker = yield* Worker.Worker
      expect(config.hostPort).toBe(engine.grpcAddress)
      expect(engine.grpcAddress).toBe(firstEngine)
      expect((yield* worker.status)._tag).toBe("Listening")
      expect([...worker.actions].sort()).toEqual([
        "flaky:flaky",
        "order-processing:charge",
        "order-processing:validate",
        "parent:parent"
      ])
      // a token for another tenant, e.g. for an isolation test
      const other = yield* engine.mintToken({ tenantId: "6f0f1b1c-1111-4111-8111-111111111111" })
      expect(typeof other).toBe("object")
    }))

  it.effect("a retry after a one-hour backoff runs when the test moves the TestClock", () =>
    Effect.gen(function*() {
      const attempts = yield* Attempts
      const start = yield* Clock.currentTimeMillis
      const handle = yield* Hatchet.runNoWait(Flaky, { id: "f-1" })
      yield* HatchetTest.settle()
      expect(yield* Ref.get(attempts)).toEqual([start])
      yield* HatchetTest.adjust("59 seconds")
      expect(yield* Ref.get(attempts)).toHaveLength(1)
      yield* HatchetTest.adjust("1 second")
      expect(yield* Ref.get(attempts)).toEqual([start, start + 60_000])
      yield* HatchetTest.adjust("59 minutes")
      expect(yield* Ref.get(attempts)).toHaveLength(2)
      yield* HatchetTest.adjust("1 minute")
      expect(yield* handle.result).toEqual({ attempt: 2, at: start + 60_000 + 3_600_000 })
    }))
})

describe("HatchetTest.layer built inside one test", () => {
  it.effect("under that test's TestClock: the engine, the worker and the client follow TestClock.adjust", () =>
    Effect.gen(function*() {
      const attempts = yield* Attempts
      const start = yield* Clock.currentTimeMillis
      const handle = yield* Hatchet.runNoWait(Flaky, { id: "f-2" })
      yield* HatchetTest.adjust("1 minute")
      yield* HatchetTest.adjust("1 hour")
      expect(yield* handle.result).toEqual({ attempt: 2, at: start + 3_660_000 })
      expect(yield* Ref.get(attempts)).toEqual([start, start + 60_000, start + 3_660_000])
    }).pipe(Effect.provide(HatchetTest.layer({ workflows: [FlakyLive.pipe(Layer.provideMerge(AttemptsLive))] }))), 30_000)

  it.effect(
    "is ready once the engine can dispatch to its worker: a settle right after the first trigger waits for that run",
    () =>
      Effect.gen(function*() {
        const Napper = Task.make("napper", { output: Schema.Struct({ ok: Schema.Boolean }) })
        yield* Effect.gen(function*() {
          const worker = yield* Worker.Worker
          const workers = yield* Workers.Workers
          const workerId = Option.getOrThrow(yield* worker.workerId)
          const view = yield* workers.get(workerId)
          expect(view.status).toBe("ACTIVE")
          const handle = yield* Hatchet.runNoWait(Napper, {})
          yield* HatchetTest.settle()
          expect((yield* handle.details).run.status).toBe("COMPLETED")
        }).pipe(Effect.provide(HatchetTest.layer({
          // 50 ms of real time: settle has to wait for it, whatever the TestClock does
          workflows: [Napper.toLayer(() => Effect.as(Effect.sleep("50 millis").pipe(Effect.withClock(Clock.make())), { ok: true }))]
        })))
      }),
    30_000
  )

  it.effect("settle fails with NotSettled, saying why, when a task waits on the clock", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const Sleeper = Task.make("sleeper", { output: Schema.Struct({ woke: Schema.Boolean }) })
      yield* Effect.gen(function*() {
        const handle = yield* Hatchet.runNoWait(Sleeper, {})
        // the task is asleep on the worker
        yield* Deferred.await(started)
        const error = yield* Effect.flip(HatchetTest.settle({ timeout: "300 millis" }))
        expect(error._tag).toBe("NotSettled")
        if (error._tag !== "NotSettled") return
        expect(error.runningOnWorker).toBe(1)
        expect(error.runningOnEngine).toBe(1)
        expect(error.message).toContain("TestClock.adjust")
        // HatchetTest.adjust would settle first, and fail the same way: move the clock directly
        yield* TestClock.adjust("30 seconds")
        expect(yield* handle.result).toEqual({ woke: true })
      }).pipe(Effect.provide(HatchetTest.layer({
        workflows: [
          Sleeper.toLayer(() =>
            Effect.zipRight(Deferred.succeed(started, undefined), Effect.as(Effect.sleep("30 seconds"), { woke: true }))
          )
        ]
      })))
    }), 30_000)

  it.effect("keeps every run however far the test moves the clock; the engine's retention can be turned on", () =>
    Effect.gen(function*() {
      const Quick = Task.make("quick", { output: Schema.Struct({ ok: Schema.Boolean }) })
      const QuickLive = Quick.toLayer(() => Effect.succeed({ ok: true }))
      const all = { since: new Date(0), limit: 100 }
      yield* Effect.gen(function*() {
        const handle = yield* Hatchet.runNoWait(Quick, {})
        expect(yield* handle.result).toEqual({ ok: true })
        yield* HatchetTest.adjust("3 days")
        expect((yield* Runs.Runs.pipe(Effect.flatMap((runs) => runs.get(handle.runId)))).run.status).toBe("COMPLETED")
      }).pipe(Effect.provide(HatchetTest.layer({ workflows: [QuickLive] })))
      // with `retention`, the engine keeps the newest two finished runs
      yield* Effect.gen(function*() {
        const runs = yield* Runs.Runs
        const handles = yield* Effect.forEach([1, 2, 3, 4], () => Hatchet.runNoWait(Quick, {}))
        for (const handle of handles) yield* handle.result
        expect((yield* runs.list(all)).rows).toHaveLength(4)
        yield* HatchetTest.adjust("1 second")
        expect((yield* runs.list(all)).rows.map((row) => row.metadata.id).sort()).toEqual(
          handles.slice(2).map((handle) => handle.runId).sort()
        )
        expect((yield* Effect.flip(runs.get(handles[0]!.runId))).status).toBe(404)
      }).pipe(Effect.provide(HatchetTest.layer({ workflows: [QuickLive], engine: { retention: { maxRuns: 2 } } })))
    }), 30_000)

  it.live("under the live clock, with heartbeat liveness as in production", () =>
    Effect.gen(function*() {
      const result = yield* Hatchet.run(OrderFlow, { orderId: "o-3", amount: 3 })
      expect(result.charge.chargeId).toBe("ch-o-3")
    }).pipe(Effect.provide(HatchetTest.layer({
      workflows: [OrderFlowLive.pipe(Layer.provide(PaymentsTest))],
      engine: { workerLiveness: "heartbeat" },
      client: { namespace: "live" }
    }))), 30_000)
})

/** Sockets and servers of this process on one of `ports` (either end). */
const handlesOn = (ports: ReadonlyArray<number>): number =>
  (process as unknown as { _getActiveHandles(): Array<unknown> })._getActiveHandles().filter((handle) => {
    if (handle instanceof Net.Socket) return ports.includes(handle.remotePort ?? -1) || ports.includes(handle.localPort ?? -1)
    if (handle instanceof Net.Server) {
      const address = handle.address()
      return typeof address === "object" && address !== null && ports.includes(address.port)
    }
    return false
  }).length

const refused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", () => resume(Effect.succeed(true)))
    return Effect.sync(() => socket.destroy())
  })

describe("closing the scope", () => {
  it.live("interrupts a running task, stops the worker, and leaves no socket or server behind", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const Forever = Task.make("forever", {})
      const ForeverLive = Forever.toLayer(() =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )
      )
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(HatchetTest.layer({ workflows: [ForeverLive] }), scope)
      const engine = Context.get(context, Engine.Engine)
      const worker = Context.get(context, Worker.Worker)
      yield* Hatchet.runNoWait(Forever, {}).pipe(Effect.provide(context))
      yield* Deferred.await(started)
      const ports = [engine.grpcPort, engine.httpPort]
      expect(handlesOn(ports)).toBeGreaterThan(2) // both servers, the client's and the worker's connections

      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      expect((yield* worker.status)._tag).toBe("Stopped")
      // every socket and server on the engine's ports is gone (a peer's socket may take a turn
      // of the event loop to see its close)
      for (let i = 0; i < 100 && handlesOn(ports) > 0; i++) yield* Effect.sleep("20 millis")
      expect(handlesOn(ports)).toBe(0)
      expect(yield* refused(engine.grpcPort)).toBe(true)
      expect(yield* refused(engine.httpPort)).toBe(true)
    }), 30_000)
})

// type-level: what `workflows` accepts and what the layer still requires
const _types = () => {
  // @ts-expect-error a definition is not an implementation: pass OrderFlow.toLayer(...)
  HatchetTest.layer({ workflows: [OrderFlow] })

  const needsPayments = HatchetTest.layer({ workflows: [OrderFlowLive] })
  expectTypeOf<Layer.Layer.Context<typeof needsPayments>>().toEqualTypeOf<Payments>()
  // @ts-expect-error the handlers need Payments: it.layer refuses a layer with requirements left
  layer(needsPayments)((_it) => {})
  layer(needsPayments.pipe(Layer.provide(PaymentsTest)))((_it) => {})

  expectTypeOf<Layer.Layer.Success<typeof TestLive>>().toEqualTypeOf<
    | HatchetTest.Services
    | Workflow.Implementation<"order-processing">
    | Payments
    | Workflow.Implementation<"flaky">
    | Attempts
    | Workflow.Implementation<"parent">
  >()
  // the client a handler uses is provided by the test layer, not left as a requirement
  expectTypeOf<Layer.Layer.Context<typeof ParentLive>>().toEqualTypeOf<Hatchet.Hatchet>()
  expectTypeOf<Layer.Layer.Context<typeof TestLive>>().toEqualTypeOf<never>()
}
void _types
