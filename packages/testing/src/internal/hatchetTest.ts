/**
 * The pieces of `HatchetTest.layer`: the client of an in-process engine, the worker over whatever
 * implementations its context holds, and the idle check behind `settle`.
 *
 * @internal
 */
import { Engine } from "@effect-hatchet/engine"
import type * as GrpcTransport from "@effect-hatchet/sdk/GrpcTransport"
import * as Hatchet from "@effect-hatchet/sdk/Hatchet"
import * as HatchetConfig from "@effect-hatchet/sdk/HatchetConfig"
import * as Runs from "@effect-hatchet/sdk/Runs"
import * as Worker from "@effect-hatchet/sdk/Worker"
import * as Workers from "@effect-hatchet/sdk/Workers"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

/** Long enough that no `TestClock.adjust` of a test outlives the client's token. */
const TOKEN_LIFETIME = Duration.days(365 * 100)

/** No `HATCHET_CLIENT_*` of the machine may leak into a test. */
const noEnvironment = ConfigProvider.fromMap(new Map())

/** The client (and the gRPC services a worker needs) of the `Engine` in context. */
/** The client's services on an engine (typed here so that its declaration names public modules only). */
export const clientLayer = (
  options: HatchetConfig.Options
): Layer.Layer<
  Layer.Layer.Success<typeof Hatchet.layerWithoutConfig> | HatchetConfig.HatchetConfig,
  HatchetConfig.HatchetConfigError | Engine.EngineOptionsError,
  Engine.Engine
> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const token = yield* engine.mintToken({ expiresIn: TOKEN_LIFETIME })
    const config = Layer.effect(
      HatchetConfig.HatchetConfig,
      HatchetConfig.make({
        ...options,
        token,
        hostPort: engine.grpcAddress,
        apiUrl: engine.apiUrl,
        tlsStrategy: "none"
      }).pipe(Effect.withConfigProvider(noEnvironment))
    )
    return Hatchet.layerWithoutConfig.pipe(Layer.provideMerge(config), Layer.provide(FetchHttpClient.layer))
  }))

/** The real clock, for waiting while the test's clock is a frozen `TestClock`. */
const liveClock = Clock.make()

/**
 * Runs `poll` every `interval` of real time until it gives a `Right`, for at most `timeout` of
 * real time (the test's clock may be a frozen `TestClock`); then the last `Left`. `poll` itself
 * runs with the test's clock.
 */
const pollLive = <A, L, E, R>(
  poll: Effect.Effect<Either.Either<A, L>, E, R>,
  interval: Duration.DurationInput,
  timeout: Duration.DurationInput
): Effect.Effect<Either.Either<A, L>, E, R> =>
  Effect.flatMap(Effect.clock, (testClock) =>
    Effect.repeat(
      Effect.withClock(poll, testClock),
      Schedule.spaced(interval).pipe(
        Schedule.upTo(timeout),
        Schedule.whileInput(Either.isLeft<A, L>),
        Schedule.passthrough
      )
    ).pipe(Effect.withClock(liveClock)))

/** How long the layer waits, in real time, for the engine to have the worker's assignment stream. */
const READY_TIMEOUT = Duration.seconds(30)

/**
 * Waits, in real time, until the engine reports the worker `ACTIVE`: it has the worker's
 * assignment stream, so a run triggered from now on is dispatched (a `settle` right after the
 * first trigger would otherwise see a QUEUED run, waiting for the worker, as settled).
 */
const awaitDispatchable = (worker: Worker.WorkerShape, workers: Workers.WorkersShape) =>
  Effect.gen(function*() {
    const active = Effect.gen(function*() {
      const workerId = yield* worker.workerId
      if (Option.isNone(workerId)) return Either.left("not registered")
      const view = yield* workers.get(workerId.value).pipe(Effect.either)
      if (view._tag === "Right" && view.right.status === "ACTIVE") return Either.right(undefined)
      return Either.left(view._tag === "Right" ? `status ${view.right.status ?? "unknown"}` : view.left.message)
    })
    const ready = yield* pollLive(active, "5 millis", READY_TIMEOUT)
    if (Either.isLeft(ready)) {
      return yield* new Worker.WorkerError({
        reason: "Registration",
        message: `the engine did not get worker "${worker.name}"'s assignment stream within ` +
          `${Duration.format(READY_TIMEOUT)} (${ready.left})`
      })
    }
  })

/**
 * A worker running `workflows` on the client's channel, ready once the engine can dispatch to it.
 * The implementation layers are memoized with the ones `HatchetTest.layer` merges into its output.
 */
export const workerLayer = (
  options: Partial<Worker.WorkerSettings>,
  workflows: ReadonlyArray<Workflow.ImplementationLayer>
): Layer.Layer<Worker.Worker, Worker.WorkerError, GrpcTransport.GrpcTransport | Workers.Workers> =>
  Layer.scoped(
    Worker.Worker,
    Effect.gen(function*() {
      const worker = yield* Worker.make({
        name: "test-worker",
        // a jump of TestClock would look like a hung heartbeat: in process, nothing hangs
        heartbeatTimeout: Duration.infinity,
        // a test's scope closes at once: tasks still running are interrupted, not awaited
        shutdownGracePeriod: Duration.zero,
        ...options,
        workflows
      })
      yield* awaitDispatchable(worker, yield* Workers.Workers)
      return worker
    }) as Effect.Effect<Worker.WorkerShape, Worker.WorkerError, Scope.Scope | Hatchet.GrpcServices | Workers.Workers>
  ).pipe(Layer.provide(Hatchet.layerGrpcServices))

/** How a `settle` that gave up describes what is still busy. */
export interface Busy {
  readonly runningOnEngine: number
  readonly runningOnWorker: number
}

const busy = Effect.gen(function*() {
  const runs = yield* Runs.Runs
  const worker = yield* Worker.Worker
  const running = yield* runs.list({ since: new Date(0), statuses: ["RUNNING"], onlyTasks: true, limit: 100 })
  // a durable task waiting for the engine (a durable sleep, event or child), on the worker or
  // evicted from it, has nothing to do until the engine answers: it counts as settled, so that the
  // test can move the clock past its sleep
  const waiting = yield* worker.durableWaiting
  const attempts = running.rows.filter((row) => row.isEvicted !== true).length
  return {
    runningOnEngine: Math.max(0, attempts - waiting),
    runningOnWorker: (yield* worker.runningTasks) - waiting
  } satisfies Busy
})

/**
 * Polls (every 10 ms of real time) until neither the engine nor the worker holds a task attempt:
 * undefined then, or what is still busy after `timeout` of real time.
 */
export const awaitIdle = (timeout: Duration.Duration) =>
  pollLive(
    Effect.map(busy, (state) => state.runningOnEngine === 0 && state.runningOnWorker === 0 ? Either.right(undefined) : Either.left(state)),
    "10 millis",
    timeout
  ).pipe(Effect.map((idle) => Either.isLeft(idle) ? idle.left : undefined))

/**
 * Polls (every 10 ms of real time) the run's details until its task `task` (or its first) reaches
 * `milestone`: `"started"` is a STARTED event of the task's current attempt, anything else its
 * status. `Left(status)` after `timeout` of real time.
 */
export const awaitTaskMilestone = (
  runId: string,
  task: string | undefined,
  milestone: string,
  timeout: Duration.Duration
) =>
  Effect.gen(function*() {
    const runs = yield* Runs.Runs
    const check = Effect.gen(function*() {
      const details = yield* runs.get(runId).pipe(
        Effect.map(Option.some),
        // the run may not be created yet just after a trigger
        Effect.catchIf((error) => error.status === 404, () => Effect.succeed(Option.none()))
      )
      let status: string | undefined
      if (Option.isSome(details)) {
        const { shape, taskEvents, tasks } = details.value
        const externalId = task === undefined ? shape[0]?.taskExternalId : shape.find((s) => s.taskName === task)?.taskExternalId
        const summary = tasks.find((t) => t.taskExternalId === externalId)
        if (summary !== undefined) {
          status = summary.status
          const reached = milestone === "started"
            ? taskEvents.some((e) =>
              e.taskId === summary.taskExternalId && e.eventType === "STARTED" &&
              (e.retryCount === undefined || e.retryCount === (summary.retryCount ?? 0))
            )
            : summary.status === milestone
          if (reached) return Either.right(summary)
        }
      }
      return Either.left(status)
    })
    return yield* pollLive(check, "10 millis", timeout)
  })
