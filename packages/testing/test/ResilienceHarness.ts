/**
 * The resilience harness: a local engine, a `TcpProxy` in front of its gRPC port, our worker
 * connected THROUGH the proxy (so faults hit its channel only), and our client connected to the
 * engine directly (it triggers runs and awaits their results while the worker is in trouble).
 *
 * The task is instrumented: a per-task-run-id in-flight set records any overlap (the same task
 * run executing twice at once on this worker), and every execution is counted.
 */
import { Engine } from "@effect-hatchet/engine"
import {
  Admin,
  GrpcTransport,
  Hatchet,
  HatchetConfig,
  RestClient,
  RunListener,
  Task,
  TaskContext,
  Worker,
  Workers
} from "@effect-hatchet/sdk"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { ConfigProvider, Context, Duration, Effect, Fiber, Layer, Option, Random, Ref, Schedule, Schema, type Scope, Stream } from "effect"
import * as TcpProxy from "../src/TcpProxy.js"

/** What the handler saw. */
export interface Probe {
  /** Task run ids executing now. */
  readonly inFlight: Set<string>
  /** Task run ids that started while already executing (must stay empty). */
  readonly overlaps: Array<string>
  /** Executions per task run id (retries and re-deliveries count). */
  readonly executions: Map<string, number>
  /** Executions started, in total. */
  started: number
}

export class ProbeService extends Context.Tag("test/ResilienceProbe")<ProbeService, Probe>() {}

const makeProbe = (): Probe => ({ inFlight: new Set(), overlaps: [], executions: new Map(), started: 0 })

/**
 * The task under load: a short handler (10–60 ms). A short execution timeout and generous retries
 * let the engine recover an assignment lost in a dead stream (see the suite's notes).
 */
export const Square = Task.make("resilience-square", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number, square: Schema.Number }),
  retries: 30,
  executionTimeout: "2 seconds"
})

export const SquareLive = Square.toLayer(Effect.gen(function*() {
  const probe = yield* ProbeService
  return (input) =>
    Effect.gen(function*() {
      const { taskRunExternalId: id } = yield* TaskContext.TaskContext
      if (probe.inFlight.has(id)) probe.overlaps.push(id)
      probe.inFlight.add(id)
      probe.started++
      probe.executions.set(id, (probe.executions.get(id) ?? 0) + 1)
      yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(10, 60)))
      return { n: input.n, square: input.n * input.n }
    }).pipe(
      Effect.ensuring(Effect.flatMap(TaskContext.TaskContext, (ctx) => Effect.sync(() => probe.inFlight.delete(ctx.taskRunExternalId))))
    )
}))

const isolated = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

/**
 * A client, with its own run listener in reach: built with the client in one layer build,
 * `RunListener.layer` is the very listener the client awaits results on (layers are memoized).
 */
const clientLayer = (options: HatchetConfig.Options) =>
  RunListener.layer.pipe(
    Layer.provide(Admin.layer),
    Layer.provideMerge(Hatchet.layer(options)),
    Layer.provide(isolated)
  )

export interface HarnessOptions {
  /** HatchetConfig options of the worker's channel (keepalive, …). */
  readonly workerConfig?: HatchetConfig.Options | undefined
  readonly worker?: Partial<Worker.WorkerSettings> | undefined
  /**
   * The client shares the worker's channel (one `Hatchet.layer` for both, through the proxy), as
   * an application would; by default it talks to the engine directly.
   */
  readonly sharedChannel?: boolean | undefined
}

export interface Harness {
  readonly engine: Engine.EngineService
  readonly proxy: TcpProxy.TcpProxyShape
  readonly worker: Worker.WorkerShape
  readonly probe: Probe
  readonly client: Context.Context<Hatchet.Services | RunListener.RunListener>
  /** Every status the worker went through, with the time it was entered. */
  readonly statuses: Ref.Ref<ReadonlyArray<{ readonly at: number; readonly status: Worker.WorkerStatus }>>
}

/** Starts the engine, the proxy, the worker (through the proxy) and the client. */
export const start = (options: HarnessOptions = {}): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const engine = yield* Engine.make()
    const proxy = yield* TcpProxy.make({ target: engine.grpcAddress })
    const probe = makeProbe()
    const direct = { token: engine.token, apiUrl: engine.apiUrl, tlsStrategy: "none" } as const
    const throughProxy = { ...direct, hostPort: proxy.address, ...options.workerConfig }
    const shared = options.sharedChannel === true
      ? Option.some(yield* Layer.build(clientLayer(throughProxy)))
      : Option.none()
    const services = Option.match(shared, {
      onNone: () =>
        Workers.layer.pipe(
          Layer.provide(RestClient.layer),
          Layer.provideMerge(GrpcTransport.layer),
          Layer.provideMerge(HatchetConfig.layer(throughProxy)),
          Layer.provide([isolated, FetchHttpClient.layer])
        ),
      onSome: (context) => Layer.succeedContext(context)
    })
    const workerContext = yield* Layer.build(
      Worker.layer({
        name: "resilience",
        slots: 20,
        heartbeatInterval: "500 millis",
        heartbeatTimeout: "1 second",
        ...options.worker,
        workflows: [SquareLive]
      }).pipe(
        Layer.provide(Layer.succeed(ProbeService, probe)),
        Layer.provide(services)
      )
    )
    const worker = Context.get(workerContext, Worker.Worker)
    const statuses = yield* Ref.make<ReadonlyArray<{ readonly at: number; readonly status: Worker.WorkerStatus }>>([])
    yield* worker.statusChanges.pipe(
      Stream.runForEach((status) => Ref.update(statuses, (all) => [...all, { at: Date.now(), status }])),
      Effect.forkScoped
    )
    const client = Option.isSome(shared) ? shared.value : yield* Layer.build(
      clientLayer({ ...direct, hostPort: engine.grpcAddress })
    )
    return { engine, proxy, worker, probe, client, statuses }
  })

/** Triggers run `n` (retrying while the engine is unreachable) and returns its handle. */
export const trigger = (harness: Harness, n: number) =>
  Hatchet.runNoWait(Square, { n }).pipe(
    Effect.retry({ times: 50, schedule: Schedule.spaced("100 millis") }),
    Effect.provide(harness.client)
  )

/** Polls `self` every 20 ms until `until` holds, and returns that value; dies after `timeout`. */
export const waitFor = <A, E, R>(self: Effect.Effect<A, E, R>, until: (a: A) => boolean, timeout: Duration.DurationInput) =>
  self.pipe(
    Effect.filterOrFail(until, () => "not yet" as const),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), while: (e) => e === "not yet" }),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`condition not met within ${Duration.format(timeout)}`) }),
    Effect.orDie
  )

export interface ScenarioOptions {
  /** Runs in total: half before the fault, half while it lasts. Default 200. */
  readonly total?: number | undefined
  /** Injects the fault (once some runs are executing). */
  readonly fault: (harness: Harness) => Effect.Effect<void, unknown>
  /** Ends the fault, if it needs ending (after the second half was triggered). */
  readonly heal?: ((harness: Harness) => Effect.Effect<void, unknown>) | undefined
  /** How long the fault lasts before `heal`. Default 0. */
  readonly faultFor?: Duration.DurationInput | undefined
}

export interface ScenarioReport {
  readonly outputs: ReadonlyArray<{ readonly n: number; readonly square: number }>
  /** Milliseconds from the fault to the first Reconnecting status (undefined: none). */
  readonly detectedAfter: number | undefined
  /** Milliseconds from the fault to the first Listening status after that (undefined: none). */
  readonly listeningAfter: number | undefined
  /** Milliseconds from the fault until every run had completed. */
  readonly completedAfter: number
  /** The Reconnecting reasons, in order. */
  readonly reconnects: ReadonlyArray<string>
  /** Executions beyond one per run (re-deliveries after a lost assignment or result). */
  readonly reExecutions: number
}

/** How long the runs may take to complete after a fault before the scenario fails. */
const RECOVERY_GUARD = Duration.seconds(40)

/** Triggers `total` runs around a fault and awaits every result. */
export const scenario = (harness: Harness, options: ScenarioOptions): Effect.Effect<ScenarioReport, unknown> =>
  Effect.gen(function*() {
    const total = options.total ?? 200
    const half = Math.floor(total / 2)
    const triggerRange = (from: number, to: number) =>
      Effect.forEach(Array.from({ length: to - from }, (_, i) => from + i), (n) => trigger(harness, n), { concurrency: 4 })
    let completed = 0
    const awaitAll = (handles: ReadonlyArray<Hatchet.RunHandle<typeof Square>>) =>
      Effect.forEach(handles, (handle) => Effect.tap(handle.result, () => Effect.sync(() => completed++)), {
        concurrency: "unbounded"
      })
    // the first half is awaited from the start: the client's result stream is open across the fault
    const before = yield* Effect.fork(awaitAll(yield* triggerRange(0, half)))
    yield* waitFor(
      Effect.flatMap(RunListener.RunListener, (listener) => listener.connections).pipe(Effect.provide(harness.client)),
      (n) => n > 0,
      "20 seconds"
    )
    // some runs are executing when the fault hits
    yield* waitFor(Effect.sync(() => harness.probe.started), (n) => n >= Math.min(10, half), "20 seconds")
    const faultAt = Date.now()
    yield* options.fault(harness)
    const during = yield* triggerRange(half, total)
    if (options.faultFor !== undefined) yield* Effect.sleep(options.faultFor)
    if (options.heal !== undefined) yield* options.heal(harness)
    // a liveness guard, not a speed assertion: a broken recovery leaves runs pending for good
    const outputs = yield* Effect.zipWith(Fiber.join(before), awaitAll(during), (a, b) => [...a, ...b], {
      concurrent: true
    }).pipe(
      Effect.timeoutFail({
        duration: RECOVERY_GUARD,
        onTimeout: () => new Error(`${total - completed} of ${total} runs still pending ${Duration.format(RECOVERY_GUARD)} after the fault`)
      })
    )
    const completedAfter = Date.now() - faultAt
    const statuses = yield* Ref.get(harness.statuses)
    const reconnecting = statuses.filter((s) => s.at >= faultAt && s.status._tag === "Reconnecting")
    const listening = reconnecting.length === 0
      ? undefined
      : statuses.find((s) => s.at >= reconnecting[0]!.at && s.status._tag === "Listening")
    const executions = [...harness.probe.executions.values()].reduce((a, b) => a + b, 0)
    return {
      outputs,
      detectedAfter: reconnecting.length > 0 ? reconnecting[0]!.at - faultAt : undefined,
      listeningAfter: listening !== undefined ? listening.at - faultAt : undefined,
      completedAfter,
      reconnects: reconnecting.map((s) => (s.status as Extract<Worker.WorkerStatus, { _tag: "Reconnecting" }>).reason),
      reExecutions: executions - total
    }
  })
