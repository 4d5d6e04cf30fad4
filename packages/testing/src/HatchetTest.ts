/**
 * The local engine in-process, a worker running the given implementations and the `Hatchet`
 * client pointed at it, as one Layer for `@effect/vitest`: a test triggers with `Hatchet.run`
 * and asserts the typed result, with no server to install.
 *
 * - `workflows` takes implementation layers (each definition's `toLayer`). What their handlers
 *   need and this layer does not provide stays a requirement of the layer, so `it.layer(...)`
 *   rejects it at compile time until it is provided. The services those layers provide are
 *   outputs too, so a test can reach a test double it passed in with `Layer.provideMerge`.
 * - The layer also provides `Engine` (fault injection, tokens, addresses), the `Worker` and
 *   everything `Hatchet.layer` does (`Runs`, `Workers`, ..., and the channel another
 *   `Worker.layer` on the same engine runs on).
 * - Like any Layer it is built once per `MemoMap`: keep it in a `const` and every test of a
 *   `layer(...)` block shares one engine and one worker. Closing the scope stops the worker
 *   (tasks still running are interrupted at once), closes the client's channel and both servers.
 * - The machine's `HATCHET_CLIENT_*` variables are ignored.
 * - The layer is built once the engine can dispatch to the worker (the engine reports it ACTIVE:
 *   it has the worker's assignment stream), so a run triggered first thing is not left QUEUED.
 *
 * Time. Every timer of the engine (retry backoff, timeouts), the worker and the client goes
 * through Effect's `Clock`, so under `TestClock` (`it.effect`, or `it.layer(...)` without
 * `excludeTestServices`) the test drives it. Two defaults make that safe, and only here:
 * the engine runs with `workerLiveness: "connection"` (an open stream keeps the worker alive: a
 * jump of the clock is not silence, and a frozen clock needs no heartbeats), and the worker's
 * `heartbeatTimeout` is infinite (a jump during an in-flight heartbeat is not a hang). The engine
 * also keeps every run and worker (`retention: false`): a jump of a day would otherwise age out
 * the runs a test still inspects; and a run's event stream (`handle.events`, `handle.stream`)
 * ends with the run (`runEventsGrace: 0`) rather than a second of the engine's clock later. All
 * can be overridden through `engine` and `worker`. Before moving the clock, `settle` waits (in
 * real time) until the work the test started has reached the engine; `adjust` is settle + move +
 * settle.
 * Backoffs on the SDK side follow the same clock: after a fault that makes the worker reconnect
 * (`engine.faults`), its reconnect delay passes only when the test moves the clock (or use the
 * live clock for such tests: `it.live`, or `excludeTestServices: true`).
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
 * import { Hatchet, Task, TaskContext, Workflow } from "@effect-hatchet/sdk"
 * import { HatchetTest } from "@effect-hatchet/testing"
 *
 * class Payments extends Context.Tag("Payments")<Payments, { readonly charge: (orderId: string) => Effect.Effect<string> }>() {}
 * const PaymentsTest = Layer.succeed(Payments, { charge: (orderId) => Effect.succeed(`ch-${orderId}`) })
 *
 * const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
 * const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
 *   Workflow.task("charge", { output: Schema.Struct({ chargeId: Schema.String }) })
 * )
 * const OrderFlowLive = OrderFlow.toLayer({
 *   charge: (input) => Effect.map(Effect.flatMap(Payments, (payments) => payments.charge(input.orderId)), (chargeId) => ({ chargeId }))
 * })
 *
 * // fails its first attempt; the engine retries it after the backoff (60 s)
 * const Flaky = Task.make("flaky", {
 *   input: Schema.Struct({ id: Schema.String }),
 *   output: Schema.Struct({ ok: Schema.Boolean }),
 *   retries: 1,
 *   backoff: { factor: 60 }
 * })
 * const FlakyLive = Flaky.toLayer(() =>
 *   Effect.flatMap(TaskContext.TaskContext, (ctx) => ctx.retryCount === 0 ? Effect.die("flaky") : Effect.succeed({ ok: true }))
 * )
 *
 * const TestLive = HatchetTest.layer({ workflows: [OrderFlowLive.pipe(Layer.provide(PaymentsTest)), FlakyLive] })
 *
 * it.layer(TestLive)("orders", (it) => {
 *   it.effect("charges a valid order", () =>
 *     Effect.gen(function*() {
 *       const result = yield* Hatchet.run(OrderFlow, { orderId: "o-1", amount: 42 })
 *       expect(result.charge.chargeId).toBe("ch-o-1")
 *     }))
 *
 *   it.effect("retries a flaky task after its backoff", () =>
 *     Effect.gen(function*() {
 *       const handle = yield* Hatchet.runNoWait(Flaky, { id: "f-1" })
 *       yield* HatchetTest.adjust("1 hour")
 *       expect(yield* handle.result).toEqual({ ok: true })
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Engine } from "@effect-hatchet/engine"
import { Engine as EngineModule } from "@effect-hatchet/engine"
import type * as Hatchet from "@effect-hatchet/sdk/Hatchet"
import type * as HatchetConfig from "@effect-hatchet/sdk/HatchetConfig"
import type { RestError } from "@effect-hatchet/sdk/HatchetError"
import type * as Runs from "@effect-hatchet/sdk/Runs"
import type * as Worker from "@effect-hatchet/sdk/Worker"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as internal from "./internal/hatchetTest.js"

/**
 * What may go in `workflows`: a definition's `toLayer` layer (possibly with more provided or
 * merged into it).
 *
 * @since 0.1.0
 * @category models
 */
export type ImplementationLayer = Workflow.ImplementationLayer

/**
 * The client settings a test may choose; the address, token and TLS are the engine's.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientOptions = Pick<
  HatchetConfig.Options,
  "namespace" | "grpcMaxRecvMessageLength" | "grpcMaxSendMessageLength" | "logLevel"
>

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<Layers extends ReadonlyArray<ImplementationLayer>> {
  /** The implementations the worker runs: each definition's `toLayer` layer. */
  readonly workflows: Layers
  /**
   * Worker options. Defaults: name `test-worker`, 100 slots, `heartbeatTimeout` infinite,
   * `shutdownGracePeriod` zero.
   */
  readonly worker?: Partial<Worker.WorkerSettings> | undefined
  /**
   * Engine options. Default `workerLiveness: "connection"`, `retention: false` (the engine keeps
   * every run and worker for as long as the layer lives, so a test can inspect anything it made,
   * however far it moves the clock), `runEventsGrace: 0` (a run's event stream ends with the run,
   * without waiting for the clock to move), free ports on 127.0.0.1.
   */
  readonly engine?: Engine.EngineOptions | undefined
  readonly client?: ClientOptions | undefined
}

/**
 * What the layer provides besides the outputs of the `workflows` layers.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Engine.Engine | Worker.Worker | Hatchet.Services

type SuccessOf<L> = L extends Layer.Layer<infer A, infer _E, infer _R> ? A : never
type ErrorOf<L> = L extends Layer.Layer<infer _A, infer E, infer _R> ? E : never
type ContextOf<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never

/**
 * The engine, a worker running `workflows`, and the client, in one scoped Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Layers extends ReadonlyArray<ImplementationLayer>>(
  options: Options<Layers>
): Layer.Layer<
  Services | SuccessOf<Layers[number]>,
  | ErrorOf<Layers[number]>
  | Engine.EngineStartError
  | Engine.EngineOptionsError
  | Worker.WorkerError
  | HatchetConfig.HatchetConfigError,
  Exclude<ContextOf<Layers[number]>, Services>
> => {
  const engine = EngineModule.layer({ workerLiveness: "connection", retention: false, runEventsGrace: 0, ...options.engine })
  const implementations: ImplementationLayer = options.workflows.length === 0
    ? Layer.empty as any
    : Layer.mergeAll(...(options.workflows as unknown as [ImplementationLayer, ...Array<ImplementationLayer>]))
  return internal.workerLayer(options.worker ?? {}, options.workflows).pipe(
    Layer.provideMerge(implementations),
    Layer.provideMerge(internal.clientLayer(options.client ?? {})),
    Layer.provideMerge(engine)
  ) as any
}

/**
 * `settle` gave up: work was still running after its timeout (real time). A task that waits on
 * the clock itself (`Effect.sleep` in a handler, under `TestClock`) never settles: move the
 * clock with `TestClock.adjust` instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSettled extends Data.TaggedError("NotSettled")<{
  /** Task attempts the engine has handed out and not seen finish. */
  readonly runningOnEngine: number
  /** Task attempts running on this layer's worker. */
  readonly runningOnWorker: number
  readonly timeout: Duration.Duration
}> {
  override get message(): string {
    return `HatchetTest.settle: after ${Duration.format(this.timeout)} (real time), ${this.runningOnEngine} task attempt(s) ` +
      `are still running on the engine and ${this.runningOnWorker} on the worker. A task that waits on the clock ` +
      `(Effect.sleep under TestClock) only moves on with TestClock.adjust.`
  }
}

/**
 * Waits, in real time (also under `TestClock`), until no task attempt is running: every run the
 * test started is finished, or waits for the clock (a retry backoff, a timeout) or for a worker,
 * or is a durable task waiting for the engine (a `DurableContext` sleep, event or child).
 * Call it before `TestClock.adjust`, so that what the engine schedules from the work done so far
 * is scheduled from the current time. Fails with `NotSettled` after `timeout` (default 10 s).
 *
 * @since 0.1.0
 * @category time
 */
export const settle = (
  options: { readonly timeout?: Duration.DurationInput | undefined } = {}
): Effect.Effect<void, NotSettled | RestError, Worker.Worker | Runs.Runs> => {
  const timeout = Duration.decode(options.timeout ?? "10 seconds")
  return Effect.flatMap(
    internal.awaitIdle(timeout),
    (busy) => busy === undefined ? Effect.void : Effect.fail(new NotSettled({ ...busy, timeout }))
  )
}

/**
 * `settle`, then `TestClock.adjust(duration)`, then `settle` again: what the jump made due (a
 * retry, a timeout) has run when it returns. Settling first also means no task event is on its
 * way to the engine while the clock jumps, so no call's timeout fires only because of the jump.
 *
 * @since 0.1.0
 * @category time
 */
export const adjust = (
  duration: Duration.DurationInput,
  options: { readonly timeout?: Duration.DurationInput | undefined } = {}
): Effect.Effect<void, NotSettled | RestError, Worker.Worker | Runs.Runs> =>
  settle(options).pipe(
    Effect.zipRight(TestClock.adjust(duration)),
    Effect.zipRight(settle(options))
  )

/**
 * What `awaitTask` waits for: `"started"`, the worker has begun the task's current attempt (it
 * reported STARTED: the handler is running), or a status the engine reports for the task.
 *
 * @since 0.1.0
 * @category models
 */
export type TaskMilestone = "started" | Runs.TaskStatus

/**
 * `awaitTask` gave up: the task did not reach `milestone` within `timeout` (real time).
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskNotReached extends Data.TaggedError("TaskNotReached")<{
  readonly runId: string
  readonly task: string | undefined
  readonly milestone: TaskMilestone
  /** The task's status when the wait ended, if the engine had the task. */
  readonly status: string | undefined
  readonly timeout: Duration.Duration
}> {
  override get message(): string {
    return `HatchetTest.awaitTask: after ${Duration.format(this.timeout)} (real time), task ` +
      `${this.task === undefined ? "" : `"${this.task}" `}of run ${this.runId} has not reached "${this.milestone}" ` +
      `(status: ${this.status ?? "not created yet"})`
  }
}

/**
 * Waits, in real time (also under `TestClock`), until a task of a run reaches `until` (default
 * `"started"`: its handler is running on a worker), and returns the task as the engine reports it.
 * A handler that sleeps on the clock never settles, so `settle` cannot tell a test when to cancel
 * it or time it out; this can. `task` names the task of a workflow (default: the run's only task,
 * or its first). Fails with `TaskNotReached` after `timeout` (default 10 s).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { Hatchet, Task } from "@effect-hatchet/sdk"
 * import { HatchetTest } from "@effect-hatchet/testing"
 *
 * const SlowTask = Task.make("slow", { input: Schema.Struct({ id: Schema.String }) })
 * const SlowTaskLive = SlowTask.toLayer(() => Effect.sleep("1 hour"))
 *
 * const cancelWhileAsleep = Effect.gen(function*() {
 *   const handle = yield* Hatchet.runNoWait(SlowTask, { id: "s-1" })
 *   yield* HatchetTest.awaitTask(handle) // the handler is asleep on the TestClock
 *   yield* handle.cancel
 * }).pipe(Effect.provide(HatchetTest.layer({ workflows: [SlowTaskLive] })))
 * ```
 *
 * @since 0.1.0
 * @category time
 */
export const awaitTask = (
  run: string | { readonly runId: string },
  options: {
    readonly task?: string | undefined
    readonly until?: TaskMilestone | undefined
    readonly timeout?: Duration.DurationInput | undefined
  } = {}
): Effect.Effect<Runs.TaskSummary, TaskNotReached | RestError, Runs.Runs> => {
  const runId = typeof run === "string" ? run : run.runId
  const milestone = options.until ?? "started"
  const timeout = Duration.decode(options.timeout ?? "10 seconds")
  return Effect.flatMap(internal.awaitTaskMilestone(runId, options.task, milestone, timeout), (reached) =>
    reached._tag === "Right"
      ? Effect.succeed(reached.right)
      : Effect.fail(new TaskNotReached({ runId, task: options.task, milestone, status: reached.left, timeout })))
}
