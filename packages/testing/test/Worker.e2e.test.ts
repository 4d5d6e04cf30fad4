/**
 * The worker over loopback gRPC against the local engine: real transport, real wire.
 * Runs are triggered and read with the low-level Admin calls (the typed client comes later).
 */
import { Engine } from "@effect-hatchet/engine"
import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import {
  Admin,
  Dispatcher,
  Events,
  GrpcTransport,
  HatchetConfig,
  RestClient,
  Task,
  TaskExecution,
  Worker,
  Workers
} from "@effect-hatchet/sdk"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Deferred, type Duration, Effect, Layer, Option, Ref, Schedule, Schema, Stream } from "effect"
import { CardDeclined, JobsLive, OrderFlow, OrderFlowLive, Script, ScriptLive } from "./fixtures.js"

/** Dispatcher, Admin, Events over one transport pointed at the engine (no real environment read). */
const ServicesLive = Layer.unwrapEffect(
  Effect.map(Engine.Engine, (engine) =>
    Layer.mergeAll(Dispatcher.layer, Admin.layer, Events.layer, Workers.layer).pipe(
      Layer.provide(RestClient.layer),
      Layer.provide(FetchHttpClient.layer),
      Layer.provideMerge(GrpcTransport.layer),
      Layer.provideMerge(HatchetConfig.layer({
        token: engine.token,
        hostPort: engine.grpcAddress,
        apiUrl: engine.apiUrl,
        tlsStrategy: "none"
      })),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
    ))
)

const TestLive = ServicesLive.pipe(Layer.provideMerge(Engine.layer()))

const trigger = (name: string, input: unknown) =>
  Effect.flatMap(Admin.Admin, (admin) => admin.triggerWorkflow({ name, input: JSON.stringify(input), desiredWorkerLabels: {} }))

/** Polls GetRunDetails until the run is done. */
const awaitRun = (runId: string) =>
  Effect.flatMap(Admin.Admin, (admin) =>
    admin.getRunDetails(runId).pipe(
      Effect.filterOrFail((details) => details.done),
      Effect.retry(Schedule.spaced("50 millis")),
      Effect.timeout("20 seconds")
    ))

/** A task that never finishes by itself; counts its interruptions. */
const Sleepy = Task.make("sleepy", { input: Schema.Struct({ id: Schema.String }), executionTimeout: "1 second" })
const interruptions = Ref.unsafeMake(0)
const SleepyLive = Sleepy.toLayer(() => Effect.never.pipe(Effect.onInterrupt(() => Ref.update(interruptions, (n) => n + 1))))

const startWorker = (options: { readonly heartbeatInterval?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const script = yield* ScriptLive
    const context = yield* Layer.build(
      Worker.layer({ name: "e2e-worker", workflows: [OrderFlowLive, JobsLive, SleepyLive], slots: 10, ...options }).pipe(
        Layer.provide(Layer.succeed(Script, script))
      )
    )
    return { script, worker: Context.get(context, Worker.Worker) }
  })

layer(TestLive, { timeout: 60_000, excludeTestServices: true })("Worker over loopback gRPC (local engine)", (it) => {
  it.scoped("runs a DAG with typed parent outputs and a typed failure", () =>
    Effect.gen(function*() {
      const { worker } = yield* startWorker()
      expect(Option.isSome(yield* worker.workerId)).toBe(true)

      const ok = yield* trigger("order-processing", { orderId: "o-1", amount: 42 })
      const details = yield* awaitRun(ok)
      expect(details.status).toBe(RunStatus.COMPLETED)
      const outputs = Object.values(details.taskRuns).map((t) => [t.readableId, new TextDecoder().decode(t.output)])
      expect(Object.fromEntries(outputs)).toEqual({
        validate: `{"valid":true}`,
        charge: `{"chargeId":"ch-o-1","at":"1970-01-01T00:00:00.000Z"}`
      })

      const declined = yield* trigger("order-processing", { orderId: "o-2", amount: -1 })
      const failedDetails = yield* awaitRun(declined)
      expect(failedDetails.status).toBe(RunStatus.FAILED)
      const charge = Object.values(failedDetails.taskRuns).find((t) => t.readableId === "charge")!
      expect(yield* TaskExecution.decodeFailure(OrderFlow, "charge", charge.error ?? "")).toEqual(
        new CardDeclined({ reason: "invalid order" })
      )
    }))

  it.scoped("fails invalid input non-retryably and keeps serving", () =>
    Effect.gen(function*() {
      const { script } = yield* startWorker()
      const bad = yield* trigger("jobs", { mode: 1 })
      const badDetails = yield* awaitRun(bad)
      expect(badDetails.status).toBe(RunStatus.FAILED)
      const error = Object.values(badDetails.taskRuns)[0].error ?? ""
      expect(JSON.parse(error).message).toBe(
        `Invalid input for task "work" of workflow "jobs": mode: Expected string, actual 1`
      )
      const good = yield* trigger("jobs", { mode: "quick" })
      expect((yield* awaitRun(good)).status).toBe(RunStatus.COMPLETED)
      expect(yield* Ref.get(script.runs)).toBe(1)
    }))

  it.scoped("recovers when the engine drops the listen stream, then when it rejects heartbeats", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const { script, worker } = yield* startWorker({ heartbeatInterval: "200 millis" })
      const reconnects = yield* Ref.make<Array<string>>([])
      yield* worker.statusChanges.pipe(
        Stream.runForEach((s) => s._tag === "Reconnecting" ? Ref.update(reconnects, (all) => [...all, s.reason]) : Effect.void),
        Effect.forkScoped
      )
      const reconnected = (n: number) =>
        Effect.gen(function*() {
          yield* Ref.get(reconnects).pipe(Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (all) => all.length >= n }))
          yield* worker.status.pipe(Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (s) => s._tag === "Listening" }))
        }).pipe(Effect.timeout("10 seconds"))

      // the engine ends the stream (once the worker's stream is open on the engine side)
      yield* engine.faults.dropListenStreams().pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (dropped) => dropped > 0 })
      )
      yield* reconnected(1)
      // the engine loses the listener: heartbeats are rejected with FAILED_PRECONDITION
      yield* engine.faults.rejectHeartbeats(2)
      yield* reconnected(2)
      expect(yield* Ref.get(reconnects)).toEqual([
        "the assignment stream ended",
        expect.stringContaining("heartbeat rejected: the engine has no active listener for this worker")
      ])
      // still serving
      const run = yield* trigger("jobs", { mode: "wait" })
      yield* Deferred.succeed(script.gate, void 0)
      expect((yield* awaitRun(run)).status).toBe(RunStatus.COMPLETED)
    }))

  it.scoped("interrupts a task's fiber when the engine times it out, and when a client cancels it", () =>
    Effect.gen(function*() {
      const admin = yield* Admin.Admin
      yield* startWorker()
      const before = yield* Ref.get(interruptions)
      const timedOut = yield* trigger("sleepy", { id: "t" })
      const details = yield* awaitRun(timedOut)
      expect(details.status).toBe(RunStatus.FAILED)
      expect(Object.values(details.taskRuns)[0].error).toBe("Task exceeded timeout of 1s")
      yield* Ref.get(interruptions).pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (n) => n === before + 1 }),
        Effect.timeout("5 seconds")
      )

      const cancelled = yield* trigger("sleepy", { id: "c" })
      yield* admin.getRunDetails(cancelled).pipe(
        Effect.filterOrFail((d) => Object.values(d.taskRuns).some((t) => t.status === RunStatus.RUNNING)),
        Effect.retry(Schedule.spaced("20 millis")),
        Effect.timeout("5 seconds")
      )
      yield* admin.cancelTasks({ externalIds: [cancelled], filter: undefined })
      expect((yield* awaitRun(cancelled)).status).toBe(RunStatus.CANCELLED)
      yield* Ref.get(interruptions).pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (n) => n === before + 2 }),
        Effect.timeout("5 seconds")
      )
    }))

  it.scoped("registers again when the engine forgets the worker", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const { worker } = yield* startWorker({ heartbeatInterval: "200 millis" })
      const first = Option.getOrThrow(yield* worker.workerId)
      expect(yield* engine.faults.forgetWorker(first)).toBe(true)
      const second = yield* worker.workerId.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (id) => Option.isSome(id) && id.value !== first }),
        Effect.timeout("10 seconds")
      )
      expect(second).not.toEqual(Option.some(first))
      const run = yield* trigger("order-processing", { orderId: "o-9", amount: 1 })
      expect((yield* awaitRun(run)).status).toBe(RunStatus.COMPLETED)
    }))
})
