/**
 * Our worker's own CPU per task, without gRPC: the worker (Worker.make) on an in-memory Dispatcher
 * that answers every call at once and keeps `BENCH_SLOTS` (100) tasks assigned, assigning the next
 * task when one's result arrives. Prints CPU microseconds per task over BENCH_TASKS (20,000) tasks
 * after a warm-up, and the event calls it received. What it measures is the SDK's part of the
 * worker's CPU in `pnpm bench` (which adds the gRPC calls and the protobuf codecs).
 */
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Admin, Dispatcher, Events, Task, Worker, Workers } from "@effect-hatchet/sdk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Mailbox from "effect/Mailbox"
import * as Schema from "effect/Schema"
import { mailboxForEach } from "../src/internal/mailboxForEach.js"
import { startHeapSampling } from "./heapSampling.js"

const total = Number(process.env.BENCH_TASKS ?? 20_000)
const warmup = Number(process.env.BENCH_WARMUP ?? 5_000)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

const Noop = Task.make("bench-noop", { output: Schema.Struct({}) })
const NoopLive = Noop.toLayer(() => Effect.succeed({}))

const payload = JSON.stringify({
  input: {},
  triggered_by: "manual",
  parents: {},
  triggers: { filter_payload: null },
  user_data: null,
  overrides: null
})

const program = Effect.gen(function*() {
  const mailbox = yield* Mailbox.make<Proto.AssignedAction>()
  let assigned = 0
  let completed = 0
  let target = 0
  let calls = 0
  let done = yield* Deferred.make<void>()
  const assign = () => {
    const n = assigned++
    mailbox.unsafeOffer({
      tenantId: "t",
      workflowRunId: `wr-${n}`,
      getGroupKeyRunId: "",
      jobId: "job",
      jobName: "bench-noop",
      jobRunId: `jr-${n}`,
      taskId: "step",
      taskRunExternalId: `task-${n}`,
      actionId: "bench-noop:bench-noop",
      actionType: ActionType.START_STEP_RUN,
      actionPayload: payload,
      taskName: "bench-noop",
      retryCount: 0,
      additionalMetadata: "{}",
      childWorkflowIndex: undefined,
      childWorkflowKey: undefined,
      parentWorkflowRunId: undefined,
      priority: 1,
      workflowId: "wf",
      workflowVersionId: "wv",
      batchId: undefined,
      batchSize: undefined,
      batchIndex: undefined,
      batchKey: undefined
    } as unknown as Proto.AssignedAction)
  }
  const onResult = (n: number) => {
    for (let i = 0; i < n; i++) {
      completed++
      if (assigned < target) assign()
    }
    if (completed === target) Deferred.unsafeDone(done, Effect.void)
  }
  const dispatcher: Dispatcher.DispatcherShape = {
    register: () => Effect.succeed({ tenantId: "t", workerId: "w", workerName: "bench-worker" }),
    listen: () => Mailbox.toStream(mailbox),
    // the worker's own way in (without it, it would run over `listen`'s Stream)
    listenForEach: (_workerId, f) => mailboxForEach(mailbox, f),
    heartbeat: () => Effect.void,
    sendStepActionEvent: (event) =>
      Effect.sync(() => {
        calls++
        if (event.eventType === StepActionEventType.STEP_EVENT_TYPE_COMPLETED) onResult(1)
      }),
    sendBatchActionEvent: (event) =>
      Effect.sync(() => {
        calls++
        if (event.eventType === StepActionEventType.STEP_EVENT_TYPE_COMPLETED) onResult(event.items.length)
      }),
    refreshTimeout: () => Effect.succeed(undefined),
    releaseSlot: () => Effect.void,
    unsubscribe: () => Effect.void,
    upsertWorkerLabels: () => Effect.void,
    getVersion: Effect.succeed("v0.106.5")
  }
  const services = Layer.mergeAll(
    Layer.succeed(Dispatcher.Dispatcher, dispatcher),
    Layer.succeed(Admin.Admin, {
      putWorkflow: () => Effect.succeed({ id: "v", workflowId: "w" })
    } as unknown as Admin.AdminShape),
    Layer.succeed(Events.Events, {} as Events.EventsShape),
    Layer.succeed(Workers.Workers, {
      pause: () => Effect.succeed({})
    } as unknown as Workers.WorkersShape)
  )
  const run = (n: number) =>
    Effect.gen(function*() {
      done = yield* Deferred.make<void>()
      target = completed + n
      calls = 0
      const cpu = process.cpuUsage()
      const started = performance.now()
      while (assigned < target && assigned - completed < slots) assign()
      yield* Deferred.await(done)
      const used = process.cpuUsage(cpu)
      return { micros: (used.user + used.system) / n, wall: (performance.now() - started) / n, calls }
    })
  yield* Effect.gen(function*() {
    yield* Worker.Worker
    yield* run(warmup)
    // BENCH_ALLOC_PROMOTED=1: only what no scavenge freed (what was promoted, or lives)
    const stopSampling = process.env.BENCH_ALLOC === undefined
      ? undefined
      : yield* Effect.promise(() => startHeapSampling(process.env.BENCH_ALLOC_PROMOTED === undefined))
    for (let i = 0; i < rounds; i++) {
      const r = yield* run(total)
      console.log(
        `worker CPU per task ${r.micros.toFixed(1)} µs (wall ${(r.wall * 1000).toFixed(1)} µs), ${
          (total / r.calls).toFixed(1)
        } tasks per event call`
      )
    }
    if (stopSampling !== undefined) yield* Effect.promise(() => stopSampling(process.env.BENCH_ALLOC!))
  }).pipe(
    Effect.provide(Layer.scoped(Worker.Worker, Worker.make({ name: "bench-worker", workflows: [NoopLive], slots }))),
    Effect.provide(services),
    Effect.scoped
  )
})

Effect.runPromise(program.pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning)))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
