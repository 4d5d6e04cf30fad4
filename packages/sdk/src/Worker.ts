/**
 * A supervised Hatchet worker as a scoped Layer.
 *
 * Building the layer validates the definitions, registers them (`PutWorkflow`) and the worker
 * (`Register`), and starts listening; the layer is ready once the worker is registered. Then:
 *
 * - the assignment stream (`ListenV2`) reconnects after any drop or clean end, with jittered
 *   exponential backoff and no give-up cap; when the engine no longer knows the worker
 *   (`NOT_FOUND`) it registers again (workflows included) and gets a new worker id;
 * - heartbeats run every 4 s in a fiber of their own; a `NOT_FOUND` answer, a `FAILED_PRECONDITION`
 *   (the engine lost the listener) on any but the first beat of a connection (which may race the
 *   new stream), or 3 failed or hung (timed out) heartbeats in a row force a reconnect. Hung
 *   heartbeats mean the connection died silently (a stale NAT or load-balancer flow, a half-open
 *   TCP connection: the stream stays open and delivers nothing): the worker then moves the shared
 *   channel to a fresh connection (`GrpcTransport.resetConnection`, when the transport is in
 *   context) instead of opening the new stream on the dead one;
 * - each task attempt runs in its own fiber (one of the worker's task fibers, tracked by task run id): a duplicate START
 *   is ignored, a START for a newer retry supersedes the stale attempt, `CANCEL_STEP_RUN`
 *   interrupts the fiber (finalizers run, nothing is reported);
 * - a pool of `slots` permits bounds the running attempts (`slotCost` permits each);
 * - STARTED is sent while the handler runs, and the result queued right after it, without
 *   waiting for STARTED's acknowledgement (one round trip per task; as from the official SDK,
 *   STARTED may reach the engine after the result); events that queue up while
 *   calls are in flight go out together in `SendBatchActionEvent` (engines before v0.98 get them
 *   one by one);
 * - Effect logs inside tasks are shipped to Hatchet with `PutLog` in batches;
 * - `WorkerMetrics` counts attempts and slots in use and times handlers and the SDK's overhead;
 * - the event loop is sampled every 500 ms (real time): a timer running `eventLoopBlockThreshold`
 *   (5 s) late means CPU-bound work held the loop, and heartbeats with it; the worker logs a
 *   warning, and `eventLoop` (read by `WorkerHealth`) reports it.
 *
 * Recovery, with the defaults (heartbeat every 4 s, 4 s timeout, 3 failures; reconnect backoff
 * from 250 ms, jittered, capped at 10 s):
 *
 * | the engine … | the worker | back to `Listening` |
 * |---|---|---|
 * | ends the stream, cleanly or with an error | reconnects | after the backoff (250 ms ± 20 % the first time) |
 * | rejects heartbeats (FAILED_PRECONDITION) | reconnects on the 2nd rejection | within ~8 s |
 * | forgot the worker (NOT_FOUND) | registers again (new worker id) | within ~4 s |
 * | restarts, or the connection is reset | reconnects with backoff while it is down | once it listens again, plus the backoff (the channel's own grows from 250 ms to 10 s while the engine is down) |
 * | stalls silently | fresh connection after 3 hung beats | within ~17 s (without `GrpcTransport` in context: when keepalive closes the dead connection, up to 70 s with `HatchetConfig`'s defaults) |
 * | refuses the token (`UNAUTHENTICATED`) once the worker runs | logs an error saying what to do, reconnects with the backoff, never gives up | once an engine accepts the token again |
 *
 * A refused token is handled in two ways, on purpose. At start, registration fails fast: the layer
 * fails with `WorkerError` (`Registration`), since a token the engine has never accepted is a
 * configuration error that retrying cannot fix, and a deployment should see it at once. Once the
 * worker runs, the same answer means the engine changed under it (restarted with another signing
 * key, such as `hatchet-local` with another `--state-dir`; a token revoked, or expired): that can
 * come back (the engine restarted with its identity, the key restored), so the worker stays up
 * and retries with its usual backoff, logging each refusal as an error. It never picks up a new
 * token by itself: to use one, restart the worker with it.
 *
 * A task the engine assigned into a stream that died silently never reaches the worker; Hatchet
 * has no acknowledgement of assignments, so the engine recovers it only when the attempt times
 * out (`executionTimeout`) and is retried (`retries`), or, if the worker stops heartbeating for
 * 30 s, by re-assigning it. A task's result sent while the connection was dead is retried on the
 * new connection. The same task run never executes twice at once on one worker: a newer attempt
 * waits for the older one to finish.
 *
 * Closing the layer's scope drains, in this order:
 *
 * 1. the worker pauses itself on the engine (`Workers.pause`, as the official SDKs do): the
 *    engine assigns it nothing new; what it assigned just before runs as usual;
 * 2. it stays a live worker, its stream open and heartbeating, while in-flight tasks finish, for
 *    at most `shutdownGracePeriod`: each result is recorded once, by the engine that assigned it
 *    (a worker that stopped listening first would have its heartbeats refused, and 30 s later the
 *    engine would re-queue its running tasks, which would then run twice);
 * 3. after the grace period it interrupts what is left (finalizers run); those attempts are
 *    reported FAILED (retryable, kind `Interrupted`) before it leaves, so the engine retries them
 *    per their policy (a task with `retries: 0` fails), never silently;
 * 4. only then does it unsubscribe and close its stream.
 *
 * The library never exits the process and installs no signal handlers.
 *
 * @example
 * ```ts
 * import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
 * import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
 *
 * class Payments extends Context.Tag("Payments")<Payments, { readonly charge: (amount: number) => Effect.Effect<string> }>() {}
 * const PaymentsLive = Layer.succeed(Payments, { charge: (amount) => Effect.succeed(`charge of ${amount}`) })
 *
 * const Charge = Task.make("charge", { input: Schema.Struct({ amount: Schema.Number }), output: Schema.Struct({ chargeId: Schema.String }) })
 * const ChargeLive = Charge.toLayer((input) =>
 *   Effect.map(Effect.flatMap(Payments, (payments) => payments.charge(input.amount)), (chargeId) => ({ chargeId }))
 * )
 * const HatchetLive = Hatchet.layer()
 *
 * // the worker runs the implementations it is given, on the client's channel
 * const WorkerLive = Worker.layer({ name: "orders", slots: 50, workflows: [ChargeLive] }).pipe(
 *   Layer.provide(PaymentsLive), // what the handlers need
 *   Layer.provide(HatchetLive) // Hatchet.layer(): the channel and `Workers`
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { GrpcTransport } from "./GrpcTransport.js"
import * as Hatchet from "./Hatchet.js"
import type { GrpcError } from "./HatchetError.js"
import { implementationsIn } from "./internal/definition.js"
import * as internal from "./internal/worker.js"
import type { Workers } from "./Workers.js"
import type { ImplementationLayer } from "./Workflow.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerOptions<Layers extends ReadonlyArray<ImplementationLayer>> extends WorkerSettings {
  /**
   * The workflows and standalone tasks this worker runs, as their implementations: each
   * definition's `toLayer` layer (what its handlers need and is not provided stays a requirement
   * of the worker's layer). The worker registers exactly the definitions these layers implement.
   */
  readonly workflows: Layers
}

/**
 * A worker's settings: everything in `WorkerOptions` but the workflows.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerSettings {
  /** The worker's name (namespaced on the wire). */
  readonly name: string
  /** Slots of the `default` pool: how many task attempts run at once. Default 100. */
  readonly slots?: number | undefined
  /**
   * Slots of the `durable` pool: how many durable task attempts run (or wait) at once. Registered
   * only when the worker runs durable tasks. Default 1000, as the official SDKs.
   */
  readonly durableSlots?: number | undefined
  /** Worker labels (string or integer values) for `desiredWorkerLabels` matching. */
  readonly labels?: Readonly<Record<string, string | number>> | undefined
  /** Namespace prefix. Default: `HatchetConfig`'s namespace when provided, else none. */
  readonly namespace?: string | undefined
  /** Outputs larger than this fail their task. Default: `HatchetConfig`'s send limit, else 4 MiB. */
  readonly maxMessageBytes?: number | undefined
  /** How long a closing worker waits for in-flight tasks before interrupting them. Default 30 s. */
  readonly shutdownGracePeriod?: Duration.DurationInput | undefined
  /** Default 4 s, as the official SDKs. */
  readonly heartbeatInterval?: Duration.DurationInput | undefined
  /** A heartbeat taking longer than this counts as failed. Default: the interval. */
  readonly heartbeatTimeout?: Duration.DurationInput | undefined
  /** Failed heartbeats in a row that force a reconnect. Default 3. */
  readonly maxHeartbeatFailures?: number | undefined
  /** Reconnect backoff: first delay (default 250 ms), cap (default 10 s), and how long a connection must last to reset it (default 30 s). */
  readonly reconnect?: {
    readonly initialDelay?: Duration.DurationInput | undefined
    readonly maxDelay?: Duration.DurationInput | undefined
    readonly resetAfter?: Duration.DurationInput | undefined
  } | undefined
  /** Log lines waiting to be shipped beyond this are dropped (with a warning). Default 10 000. */
  readonly logBufferSize?: number | undefined
  /**
   * The event loop counts as blocked when a timer runs this much late: the worker logs a warning
   * and its health turns `UNHEALTHY` until the loop runs on time again. Default 5 s, as the
   * official Python SDK's `HATCHET_CLIENT_WORKER_HEALTHCHECK_EVENT_LOOP_BLOCK_THRESHOLD_SECONDS`.
   */
  readonly eventLoopBlockThreshold?: Duration.DurationInput | undefined
}

/**
 * How late the event loop runs timers, sampled every 500 ms in real time.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLoopLag {
  /** The lag of the latest sample. */
  readonly latest: Duration.Duration
  /** The largest lag sampled over the last 10 s. */
  readonly recentMax: Duration.Duration
  /** The latest sample was `eventLoopBlockThreshold` or more late. */
  readonly blocked: boolean
}

/**
 * Where the worker is in its life:
 * `Registering` → `Listening` ⇄ `Reconnecting` → `Draining` → `Stopped`.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerStatus = internal.WorkerStatus

/**
 * @since 0.1.0
 * @category constructors
 */
export const WorkerStatus: typeof internal.WorkerStatus = internal.WorkerStatus

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerShape {
  /** The registered (namespaced) worker name. */
  readonly name: string
  /** The actions the worker registered, `"<workflow>:<task>"`. */
  readonly actions: ReadonlyArray<string>
  /** The slots the worker registered (tasks it runs at once, counting each task's slot cost). */
  readonly slots: number
  /** The labels the worker started with. */
  readonly labels: Readonly<Record<string, string | number>>
  /** The worker's labels now: those it started with, as changed by `upsertLabels`. */
  readonly currentLabels: Effect.Effect<Readonly<Record<string, string | number>>>
  /**
   * Adds or changes labels (`UpsertWorkerLabels`), so that tasks wanting them
   * (`desiredWorkerLabels`) come to this worker; kept when the worker registers again.
   * Fails with `InvalidOptions` for a value that is neither a string nor an integer.
   */
  readonly upsertLabels: (labels: Readonly<Record<string, string | number>>) => Effect.Effect<void, WorkerError | GrpcError>
  /** Slots held by running attempts. */
  readonly slotsInUse: Effect.Effect<number>
  /** The engine's id for this worker; it changes when the worker registers again. */
  readonly workerId: Effect.Effect<Option.Option<string>>
  readonly status: Effect.Effect<WorkerStatus>
  readonly statusChanges: Stream.Stream<WorkerStatus>
  /** Task attempts currently running (or waiting for a slot). */
  readonly runningTasks: Effect.Effect<number>
  /**
   * Durable task attempts waiting for the engine (a durable sleep, event or child): running, but
   * with nothing to do until the engine answers (`HatchetTest.settle` counts them as settled).
   */
  readonly durableWaiting: Effect.Effect<number>
  /** How late the event loop runs; see `eventLoopBlockThreshold`. */
  readonly eventLoop: Effect.Effect<EventLoopLag>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Worker extends Context.Tag("@effect-hatchet/sdk/Worker")<Worker, WorkerShape>() {}

/**
 * The worker could not start: its options or a definition are invalid, the engine is older than
 * a feature its definitions use needs (`EngineTooOld`, naming each feature and the version it
 * needs), or registration failed with a non-transient error. `cause` keeps the underlying error.
 *
 * @since 0.1.0
 * @category errors
 */
export const WorkerError: typeof internal.WorkerError = internal.WorkerError

/**
 * @since 0.1.0
 * @category errors
 */
export type WorkerError = internal.WorkerError

type ErrorOf<L> = L extends Layer.Layer<infer _A, infer E, infer _R> ? E : never
type ContextOf<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never

/**
 * Starts a worker in the current scope over the low-level gRPC services in context
 * (`Hatchet.GrpcServices`, e.g. `FakeDispatcher`'s for a unit test with no engine); see the
 * module docs for its behaviour. The implementation layers are built in the current scope (and
 * memoized with the layer being built, when called from one). `layer` is the usual way.
 *
 * Two services are used when the context has them and are not required (so they are not in the
 * requirements): `HatchetConfig` gives the default `namespace` and `maxMessageBytes` (without it:
 * none and 4 MiB), and `GrpcTransport` lets a worker whose heartbeats hang move the channel to a
 * fresh connection (without it, the dead connection is left to gRPC keepalive). `layer`, over
 * `Hatchet.layer`, always has both.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Layers extends ReadonlyArray<ImplementationLayer>>(
  options: WorkerOptions<Layers>
): Effect.Effect<
  WorkerShape,
  WorkerError | ErrorOf<Layers[number]>,
  Scope.Scope | Hatchet.GrpcServices | Workers | ContextOf<Layers[number]>
> =>
  Effect.gen(function*() {
    const { workflows, ...settings } = options
    const implementations = workflows.length === 0
      ? Context.empty()
      : yield* Layer.buildWithMemoMap(
        Layer.mergeAll(...(workflows as unknown as [ImplementationLayer, ...Array<ImplementationLayer>])),
        yield* Layer.CurrentMemoMap,
        yield* Effect.scope
      )
    const definitions = implementationsIn(implementations).map((implementation) => implementation.definition as any)
    return yield* internal.make({ ...settings, workflows: definitions }).pipe(Effect.provide(implementations))
  })

/**
 * The worker as a scoped Layer, on the `GrpcTransport` (and `Workers`) of `Hatchet.layer`: the
 * worker and the client share one gRPC channel. It runs the implementations in `workflows`; what
 * their handlers need stays a requirement of the layer.
 *
 * Building it fails fast with `WorkerError` when the engine refuses the token (`UNAUTHENTICATED`)
 * or the registration itself (transient errors such as `UNAVAILABLE` are retried); once built, a
 * refused token is logged as an error and retried with the reconnect backoff (see the module docs).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Layers extends ReadonlyArray<ImplementationLayer>>(
  options: WorkerOptions<Layers>
): Layer.Layer<
  Worker,
  WorkerError | ErrorOf<Layers[number]>,
  GrpcTransport | Workers | ContextOf<Layers[number]>
> => Layer.scoped(Worker, make(options)).pipe(Layer.provide(Hatchet.layerGrpcServices))
