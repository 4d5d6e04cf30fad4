/**
 * The Hatchet client: trigger workflows and standalone tasks, await their typed results, stream
 * their output, cancel and replay them, push events. One layer gives an application everything,
 * the Worker included, over ONE gRPC channel.
 *
 * - `run` triggers and waits: the result is `Workflow.Result<D>` (each task's output decoded with
 *   its Schema), or the output itself for a standalone `Task`. A failed run fails with the
 *   declared error of the task that failed (decoded with the task's `error` Schema, so
 *   `Effect.catchTag` catches it) or a `TaskFailed` (undeclared failure, defect, cancellation,
 *   timeout); several failed tasks are all in the cause (see `RunError`).
 * - Interruption is cancellation: interrupting the fiber that awaits a run cancels the run on the
 *   engine (`cancelOnInterrupt: false` to opt out).
 * - The input is encoded with the definition's Schema before anything is sent: an input that does
 *   not encode, a definition that is invalid, options out of range or a request above the gRPC
 *   send limit fail with `HatchetClientError` and nothing is sent.
 * - Inside a task handler (when `TaskContext` is in the context), `run` and friends spawn CHILD
 *   runs: `parent_id` is the task's run, `parent_task_run_external_id` the task run, and the
 *   `child_index` comes from the task attempt's own counter (a retried parent spawning the same
 *   children in the same order gets its existing children back, as the engine dedupes on it), or
 *   give a `key`. Pass `detached: true` for an independent run.
 * - Results arrive through the `RunListener`: one shared stream, however many runs are awaited.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
 * import { Hatchet, Worker, Workflow } from "@effect-hatchet/sdk"
 *
 * const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
 * const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
 *   Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
 *   Workflow.task("charge", { parents: ["validate"], output: Schema.Struct({ chargeId: Schema.String }) })
 * )
 * const OrderFlowLive = OrderFlow.toLayer({
 *   validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
 *   charge: (input) => Effect.succeed({ chargeId: `charge-${input.orderId}` })
 * })
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Hatchet.run(OrderFlow, { orderId: "o-1", amount: 42 })
 *   //    ^? { validate: { valid: boolean }, charge: { chargeId: string } }
 *   const handle = yield* Hatchet.runNoWait(OrderFlow, { orderId: "o-2", amount: 7 })
 *   yield* handle.stream.pipe(Stream.runForEach((chunk) => Effect.log(chunk)))
 *   yield* Hatchet.push("order:created", { orderId: "o-3" })
 * })
 *
 * // one layer for the client and the worker (configured by HATCHET_CLIENT_*): one gRPC channel
 * const HatchetLive = Hatchet.layer()
 * const WorkerLive = Worker.layer({ name: "orders", workflows: [OrderFlowLive] }).pipe(Layer.provide(HatchetLive))
 * program.pipe(Effect.provide(Layer.merge(WorkerLive, HatchetLive)))
 * ```
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as Admin from "./Admin.js"
import * as Alerting from "./Alerting.js"
import * as ApiTokens from "./ApiTokens.js"
import * as Cel from "./Cel.js"
import * as Crons from "./Crons.js"
import * as Dispatcher from "./Dispatcher.js"
import * as EventHistory from "./EventHistory.js"
import * as Events from "./Events.js"
import * as Filters from "./Filters.js"
import * as GrpcTransport from "./GrpcTransport.js"
import * as HatchetConfig from "./HatchetConfig.js"
import type { GrpcError, RestError } from "./HatchetError.js"
import * as Integrations from "./Integrations.js"
import * as internal from "./internal/client.js"
import * as Metrics from "./Metrics.js"
import * as RateLimits from "./RateLimits.js"
import * as RestClient from "./RestClient.js"
import * as RunListener from "./RunListener.js"
import * as Runs from "./Runs.js"
import * as Schedules from "./Schedules.js"
import * as Tenants from "./Tenants.js"
import * as Webhooks from "./Webhooks.js"
import * as Workers from "./Workers.js"
import type { Definition, DesiredWorkerLabel, Failure, Input, RateLimitDuration, Result } from "./Workflow.js"
import * as Workflows from "./Workflows.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * The client refused a request or could not make sense of an answer. Nothing was sent for the
 * `Invalid*` and `PayloadTooLarge` reasons.
 *
 * - `InvalidDefinition`: the workflow or task definition is invalid (every problem is listed)
 * - `InvalidInput`: the input does not encode with the definition's input Schema (the message
 *   names the field), or an event payload is not JSON-serializable
 * - `InvalidOptions`: an option is out of range or used where it means nothing
 * - `PayloadTooLarge`: the request is larger than the gRPC send limit
 * - `InvalidOutput`: a task's output does not decode with its output Schema (names task and field)
 * - `MissingResult`: the run finished but a task's result is missing
 * - `PartiallyTriggered`: a bulk trigger failed after earlier batches were accepted; `runIds`
 *   holds the runs that exist (in input order, a prefix of the inputs), `cause` the failure
 * - `RunNotFound`: the engine does not know the run id given to `handle` (or it is not a UUID)
 *
 * @since 0.1.0
 * @category errors
 */
export const HatchetClientError: typeof internal.HatchetClientError = internal.HatchetClientError

/**
 * @since 0.1.0
 * @category errors
 */
export type HatchetClientError = internal.HatchetClientError

/**
 * How awaiting a run of `D` can fail: with the declared error of a task that failed (catch it by
 * its tag), a `TaskFailed` (an undeclared failure or a defect, a cancellation, a timeout, kind
 * telling which), or the client's own `HatchetClientError` or `GrpcError`.
 *
 * When several tasks failed, the cause holds one failure per task (`Cause.parallel`), the
 * failures before the cancellations and each in definition order: `Effect.catchTag` and
 * `Effect.either` see the first; `Effect.catchAllCause` with `Cause.failures` sees them all.
 *
 * @since 0.1.0
 * @category models
 */
export type RunError<D> = Failure<D> | HatchetClientError | GrpcError

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Key-value pairs attached to the run (visible to tasks, filterable in REST). */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3; overrides the workflow's default priority. */
  readonly priority?: 1 | 2 | 3 | undefined
  /**
   * Inside a task only: the child's identity among the parent task's children, instead of its
   * position. Re-spawning the same key from a retried parent returns the existing child.
   */
  readonly key?: string | undefined
  /**
   * Inside a task only: run the child on the parent task's worker, as the child's `sticky`
   * strategy says (`SOFT` prefers it, `HARD` waits for it). Refused for a workflow without one.
   */
  readonly sticky?: boolean | undefined
  /** Run on this worker (by id), as the workflow's `sticky` strategy says; refused without one. */
  readonly desiredWorkerId?: string | undefined
  /**
   * Labels the run's tasks want on their worker; they replace the tasks' own
   * `desiredWorkerLabels` for this run (ignored while a sticky desired worker is known).
   */
  readonly desiredWorkerLabels?: Readonly<Record<string, DesiredWorkerLabel>> | undefined
  /** Inside a task: trigger an independent run instead of a child. */
  readonly detached?: boolean | undefined
  /**
   * Cancel the run on the engine (`CancelTasks`) when the fiber awaiting its result is
   * interrupted: an `Effect.timeout` or a `race` lost, a closed scope, an interrupted parent
   * fiber, the spawning task cancelled. Default `true`, except for a `detached` run, which
   * outlives the task that triggered it. Pass `false` for runs that must go on when their
   * awaiter gives up (e.g. `Effect.timeout` to stop waiting, not to stop the run). A child awaited
   * by a task that times out is cancelled too, and a retry of that task, spawning the same child,
   * gets the cancelled child back (the engine dedupes children by index or key): pass `false` for
   * a child that should outlive its parent's timeout.
   */
  readonly cancelOnInterrupt?: boolean | undefined
}

/**
 * Options of `handle`.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandleOptions {
  /**
   * Cancel the run on the engine when the fiber awaiting the handle's `result` is interrupted.
   * Default `false`: the run was triggered elsewhere, and awaiting it does not make it ours.
   */
  readonly cancelOnInterrupt?: boolean | undefined
}

/**
 * Options of `schedule`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScheduleOptions {
  /** When the engine triggers the run. */
  readonly at: Date
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3; the engine's default is 1. */
  readonly priority?: 1 | 2 | 3 | undefined
}

/**
 * Options of `cron`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CronOptions {
  /** Unique per workflow together with the expression. */
  readonly name: string
  /** A crontab of 5 fields, or 6 with seconds first; UTC. */
  readonly expression: string
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3. */
  readonly priority?: 1 | 2 | 3 | undefined
}

/**
 * A rate limit to create or update with `putRateLimit`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitOptions {
  /** The key tasks name in their `rateLimits` (`{ key }`); not namespaced, as upstream. */
  readonly key: string
  /** Units per window, 0 or more. */
  readonly limit: number
  /** The window; default `SECOND`, the engine's. */
  readonly duration?: RateLimitDuration | undefined
}

/**
 * Options shared by every run of a bulk trigger (keys would collide, so there is none).
 *
 * @since 0.1.0
 * @category models
 */
export type BulkRunOptions = Omit<RunOptions, "key">

/**
 * An event of a run, from `SubscribeToWorkflowEvents`: task events (`resource: "TASK"`: created
 * as `STARTED`, `COMPLETED` with the output, `FAILED` with the error, `CANCELLED`, `STREAM` with a
 * chunk) and the final run event (`resource: "RUN"`, `hangup`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunEvent {
  readonly type: "STARTED" | "COMPLETED" | "FAILED" | "CANCELLED" | "TIMED_OUT" | "STREAM" | "UNKNOWN"
  readonly resource: "TASK" | "RUN" | "UNKNOWN"
  readonly runId: string
  /** The task (or run) external id, when the engine sends it. */
  readonly resourceId: string
  readonly payload: string
  readonly timestamp: Date | undefined
  readonly retryCount: number | undefined
  readonly eventIndex: number | undefined
  /** The last event: the engine closes the stream after it. */
  readonly hangup: boolean
}

/**
 * A triggered run.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunHandle<D extends Definition> {
  readonly runId: string
  readonly definition: D
  /**
   * Waits for the run to finish: the decoded result, or why it failed (a declared error,
   * `TaskFailed`, ...; see `RunError`). Can be awaited many times. Interrupting the fiber that
   * awaits it cancels the run on the engine, unless the run was triggered with
   * `cancelOnInterrupt: false` (or is `detached`, or the handle comes from `handle`).
   */
  readonly result: Effect.Effect<Result<D>, RunError<D>>
  /** Cancels the run (`v1.AdminService/CancelTasks`); its running tasks are interrupted. */
  readonly cancel: Effect.Effect<void, GrpcError>
  /** Replays the run (`v1.AdminService/ReplayTasks`). */
  readonly replay: Effect.Effect<void, GrpcError>
  /**
   * The run's events from now on (there is no history: events before the subscription are not
   * sent); ends after the final run event. Interrupting the consumer cancels the subscription.
   */
  readonly events: Stream.Stream<RunEvent, GrpcError>
  /**
   * The chunks tasks of the run send with `putStream`, from now on: Hatchet stores no stream
   * chunks, so one sent before the subscription is not seen. Ends when the run ends.
   */
  readonly stream: Stream.Stream<string, GrpcError>
  /** The run's details through REST. */
  readonly details: Effect.Effect<Runs.WorkflowRunDetails, RestError>
  /**
   * The run's progress from its start, whenever it is subscribed: every task event the engine
   * records (QUEUED, STARTED, FINISHED, FAILED, RETRYING, CANCELLED, TIMED_OUT, ...), each once,
   * in order, with its task's name; it ends once the run has ended and its last events are in.
   * It reads the run's details through REST, woken by the run's live events, so an event shows
   * as soon as the engine has recorded it. An attempt's result waits for that attempt's STARTED,
   * which a worker may deliver after it (for at most `settleAfterEnd`, 1 s, once the run ended).
   * Pacing is in real time, also under `TestClock`.
   */
  readonly progress: (options?: RunProgressOptions) => Stream.Stream<RunProgress, RestError>
}

/**
 * One step of `RunHandle.progress`: a task event the engine recorded, with its task's name.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunProgress {
  readonly task: string
  readonly event: Runs.TaskEvent
}

/**
 * How `RunHandle.progress` paces itself (real time).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunProgressOptions {
  /** Between polls while the live stream is quiet. Default 500 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long a result may wait for its attempt's STARTED once the run ended. Default 1 s. */
  readonly settleAfterEnd?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PushOptions {
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3: the priority of the runs it triggers. */
  readonly priority?: 1 | 2 | 3 | undefined
  /** Filters of that scope decide which runs it triggers. */
  readonly scope?: string | undefined
}

/**
 * One event of a bulk push.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventToPush extends PushOptions {
  readonly key: string
  /** Any JSON-serializable value. */
  readonly payload: unknown
}

/**
 * An event as the engine stored it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushedEvent {
  readonly eventId: string
  /** The key as sent (namespaced). */
  readonly key: string
  /** The JSON payload text. */
  readonly payload: string
  readonly timestamp: Date | undefined
  readonly additionalMetadata: Readonly<Record<string, unknown>>
}

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface HatchetShape {
  /**
   * Triggers a run and waits for its typed result. Fails with the declared error of the task
   * that failed (`Effect.catchTag` on it), `TaskFailed`, or a client error (`RunError`).
   * Interruption is cancellation: interrupting the fiber that awaits the run (`Effect.timeout`,
   * `race`, a closed scope) cancels it on the engine, its running tasks interrupted, unless
   * `cancelOnInterrupt: false`. Inside a task, the children a task awaits are cancelled with it
   * (`detached` runs are not; nor are children of an attempt stopped to be retried, which the
   * next attempt gets back).
   */
  readonly run: <D extends Definition>(
    definition: D,
    input: Input<D>,
    options?: RunOptions
  ) => Effect.Effect<Result<D>, RunError<D>>
  /** Triggers a run and returns its handle. */
  readonly runNoWait: <D extends Definition>(
    definition: D,
    input: Input<D>,
    options?: RunOptions
  ) => Effect.Effect<RunHandle<D>, HatchetClientError | GrpcError>
  /**
   * Triggers one run per input with `BulkTriggerWorkflow` (batches of at most 500 runs and at
   * most the gRPC send limit, sent in order) and waits for all; results in input order. A failed
   * run does not cancel the others: once all have finished, it fails with every failed run's
   * failures (in input order; `Effect.catchTag` and `Effect.either` see the first). For every
   * run's outcome, await the handles of `runManyNoWait`, e.g.
   * `Effect.forEach(handles, (h) => Effect.either(h.result), { concurrency: "unbounded" })`.
   * Interrupting it cancels every run (one `CancelTasks` call), unless `cancelOnInterrupt: false`.
   */
  readonly runMany: <D extends Definition>(
    definition: D,
    inputs: Iterable<Input<D>>,
    options?: BulkRunOptions
  ) => Effect.Effect<Array<Result<D>>, RunError<D>>
  /** Like `runMany` without waiting: the handles, in input order. */
  readonly runManyNoWait: <D extends Definition>(
    definition: D,
    inputs: Iterable<Input<D>>,
    options?: BulkRunOptions
  ) => Effect.Effect<Array<RunHandle<D>>, HatchetClientError | GrpcError>
  /**
   * The handle of an existing run, e.g. one triggered elsewhere. Its `result` first asks the
   * engine for the run (`GetRunDetails`, asked again after 1 s and 2 s, as a run triggered a
   * moment ago may not be visible yet) and fails with `RunNotFound` when it does not know it.
   * Interrupting its `result` leaves the run going, unless `cancelOnInterrupt: true`.
   */
  readonly handle: <D extends Definition>(definition: D, runId: string, options?: HandleOptions) => RunHandle<D>
  /**
   * Pushes an event (key namespaced, payload as JSON). Inside a task, the source run and task
   * are added to its metadata (`hatchet__source_workflow_run_id`, `hatchet__source_step_run_id`).
   */
  readonly push: (key: string, payload: unknown, options?: PushOptions) => Effect.Effect<PushedEvent, HatchetClientError | GrpcError>
  /** Pushes events in order (batches of at most 1000, the engine's limit). */
  readonly bulkPush: (events: Iterable<EventToPush>) => Effect.Effect<Array<PushedEvent>, HatchetClientError | GrpcError>
  /**
   * Schedules a run for `options.at`: the input is encoded with the workflow's Schema (it must
   * encode to a JSON object), then stored by the engine, which triggers the run at that time.
   */
  readonly schedule: <D extends Definition>(
    definition: D,
    input: Input<D>,
    options: ScheduleOptions
  ) => Effect.Effect<Schedules.ScheduledRun, HatchetClientError | RestError>
  /**
   * The run a scheduled run (made by `schedule`) started, once it fired: `None` before. Hatchet
   * deletes a scheduled run when it fires and keeps no link to the run; `schedule` gives each
   * scheduled run a metadata key (`effect_hatchet__schedule`) its run carries, found here with
   * the runs list. The handle does not cancel the run on interruption unless asked.
   */
  readonly scheduledRun: <D extends Definition>(
    definition: D,
    scheduled: Schedules.ScheduledRun,
    options?: HandleOptions
  ) => Effect.Effect<Option.Option<RunHandle<D>>, HatchetClientError | RestError>
  /**
   * Creates a cron trigger: the engine runs the workflow on every tick of `options.expression`
   * (UTC) with this input (encoded with the workflow's Schema; it must encode to a JSON object).
   */
  readonly cron: <D extends Definition>(
    definition: D,
    input: Input<D>,
    options: CronOptions
  ) => Effect.Effect<Crons.Cron, HatchetClientError | RestError>
  /**
   * Creates or updates a rate limit (`WorkflowService/PutRateLimit`). Lowering a limit also
   * lowers what is left of the current window.
   */
  readonly putRateLimit: (options: RateLimitOptions) => Effect.Effect<void, HatchetClientError | GrpcError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Hatchet extends Context.Tag("@effect-hatchet/sdk/Hatchet")<Hatchet, HatchetShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  HatchetShape,
  never,
  | HatchetConfig.HatchetConfig
  | GrpcTransport.GrpcTransport
  | Admin.Admin
  | Events.Events
  | RunListener.RunListener
  | Runs.Runs
  | Schedules.Schedules
  | Crons.Crons
> = Effect.gen(function*() {
  return internal.make({
    config: yield* HatchetConfig.HatchetConfig,
    transport: yield* GrpcTransport.GrpcTransport,
    admin: yield* Admin.Admin,
    events: yield* Events.Events,
    listener: yield* RunListener.RunListener,
    runs: yield* Runs.Runs,
    schedules: yield* Schedules.Schedules,
    crons: yield* Crons.Crons
  })
})

// -----------------------------------------------------------------------------
// accessors
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category accessors
 */
export const run = <D extends Definition>(
  definition: D,
  input: Input<D>,
  options?: RunOptions
): Effect.Effect<Result<D>, RunError<D>, Hatchet> => Effect.flatMap(Hatchet, (h) => h.run(definition, input, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runNoWait = <D extends Definition>(
  definition: D,
  input: Input<D>,
  options?: RunOptions
): Effect.Effect<RunHandle<D>, HatchetClientError | GrpcError, Hatchet> =>
  Effect.flatMap(Hatchet, (h) => h.runNoWait(definition, input, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runMany = <D extends Definition>(
  definition: D,
  inputs: Iterable<Input<D>>,
  options?: BulkRunOptions
): Effect.Effect<Array<Result<D>>, RunError<D>, Hatchet> => Effect.flatMap(Hatchet, (h) => h.runMany(definition, inputs, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const runManyNoWait = <D extends Definition>(
  definition: D,
  inputs: Iterable<Input<D>>,
  options?: BulkRunOptions
): Effect.Effect<Array<RunHandle<D>>, HatchetClientError | GrpcError, Hatchet> =>
  Effect.flatMap(Hatchet, (h) => h.runManyNoWait(definition, inputs, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const handle = <D extends Definition>(
  definition: D,
  runId: string,
  options?: HandleOptions
): Effect.Effect<RunHandle<D>, never, Hatchet> => Effect.map(Hatchet, (h) => h.handle(definition, runId, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const schedule = <D extends Definition>(
  definition: D,
  input: Input<D>,
  options: ScheduleOptions
): Effect.Effect<Schedules.ScheduledRun, HatchetClientError | RestError, Hatchet> =>
  Effect.flatMap(Hatchet, (h) => h.schedule(definition, input, options))

/**
 * The run a scheduled run started, once it fired (see `HatchetShape.scheduledRun`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const scheduledRun = <D extends Definition>(
  definition: D,
  scheduled: Schedules.ScheduledRun,
  options?: HandleOptions
): Effect.Effect<Option.Option<RunHandle<D>>, HatchetClientError | RestError, Hatchet> =>
  Effect.flatMap(Hatchet, (h) => h.scheduledRun(definition, scheduled, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const cron = <D extends Definition>(
  definition: D,
  input: Input<D>,
  options: CronOptions
): Effect.Effect<Crons.Cron, HatchetClientError | RestError, Hatchet> => Effect.flatMap(Hatchet, (h) => h.cron(definition, input, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const putRateLimit = (options: RateLimitOptions): Effect.Effect<void, HatchetClientError | GrpcError, Hatchet> =>
  Effect.flatMap(Hatchet, (h) => h.putRateLimit(options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const push = (
  key: string,
  payload: unknown,
  options?: PushOptions
): Effect.Effect<PushedEvent, HatchetClientError | GrpcError, Hatchet> => Effect.flatMap(Hatchet, (h) => h.push(key, payload, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const bulkPush = (
  events: Iterable<EventToPush>
): Effect.Effect<Array<PushedEvent>, HatchetClientError | GrpcError, Hatchet> => Effect.flatMap(Hatchet, (h) => h.bulkPush(events))

// -----------------------------------------------------------------------------
// layers
// -----------------------------------------------------------------------------

/**
 * Everything `layer` provides: the client, the REST services (runs, schedules, crons, workers,
 * workflows, metrics, tenant, API tokens, alerting, rate limits, CEL, filters, event history,
 * webhooks), the config, and the one gRPC channel (`GrpcTransport`) that `Worker.layer` runs on.
 *
 * The low-level gRPC services are not in it: `GrpcServices` (`layerGrpcServices`) puts them over
 * the same channel for the few who call Hatchet's gRPC methods themselves.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | Hatchet
  | Runs.Runs
  | Schedules.Schedules
  | Crons.Crons
  | Workers.Workers
  | Workflows.Workflows
  | Metrics.Metrics
  | Tenants.Tenants
  | ApiTokens.ApiTokens
  | Alerting.Alerting
  | Integrations.Integrations
  | RateLimits.RateLimits
  | Cel.Cel
  | Filters.Filters
  | EventHistory.EventHistory
  | Webhooks.Webhooks
  | GrpcTransport.GrpcTransport
  | HatchetConfig.HatchetConfig

/**
 * The low-level gRPC services under the client and the worker: `Dispatcher` (workers' side),
 * `Admin` (triggers, run details) and `Events` (push, logs, stream chunks).
 *
 * @since 0.1.0
 * @category models
 */
export type GrpcServices = Dispatcher.Dispatcher | Admin.Admin | Events.Events

/**
 * The low-level gRPC services over the `GrpcTransport` in context, e.g. the one `layer` provides:
 * `layerGrpcServices.pipe(Layer.provide(HatchetLive))` shares its channel. `Worker.layer` uses
 * it; an application rarely needs it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerGrpcServices: Layer.Layer<GrpcServices, never, GrpcTransport.GrpcTransport> = Layer.mergeAll(
  Dispatcher.layer,
  Admin.layer,
  Events.layer
)

/**
 * The client over a given `HatchetConfig` and `HttpClient`: one gRPC channel shared by every
 * service it provides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutConfig: Layer.Layer<
  Exclude<Services, HatchetConfig.HatchetConfig>,
  HatchetConfig.HatchetConfigError,
  HatchetConfig.HatchetConfig | HttpClient.HttpClient
> = Layer.effect(Hatchet, make).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      Runs.layer,
      Schedules.layer,
      Crons.layer,
      Workers.layer,
      Filters.layer,
      EventHistory.layer,
      Webhooks.layer
    )
  ),
  Layer.provide(RunListener.layer),
  // Filters reads workflow ids through Workflows
  Layer.provideMerge(
    Layer.mergeAll(
      Workflows.layer,
      Metrics.layer,
      Tenants.layer,
      ApiTokens.layer,
      Alerting.layer,
      Integrations.layer,
      RateLimits.layer,
      Cel.layer
    )
  ),
  Layer.provide(Layer.mergeAll(RestClient.layer, Admin.layer, Events.layer)),
  Layer.provideMerge(GrpcTransport.layer)
)

const withConfig = <E>(config: Layer.Layer<HatchetConfig.HatchetConfig, E>) =>
  layerWithoutConfig.pipe(Layer.provideMerge(config), Layer.provide(FetchHttpClient.layer))

/**
 * The client, from options over the `HATCHET_CLIENT_*` environment (read through the current
 * `ConfigProvider` when the layer is built), the token's claims and the defaults; `fetch` for
 * REST. With no options it is configured by the environment alone, as the official SDKs are.
 * Build it once and share it: `Worker.layer` runs on the same layer, so the process has one gRPC
 * channel.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: HatchetConfig.Options = {}): Layer.Layer<Services, HatchetConfig.HatchetConfigError> =>
  withConfig(HatchetConfig.layer(options))

/**
 * Like `layer`, with options read from `Config`s (e.g. a token under another variable name).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<HatchetConfig.Options>
): Layer.Layer<Services, HatchetConfig.HatchetConfigError> => withConfig(HatchetConfig.layerConfig(config))
