/**
 * A local, in-memory, Hatchet-compatible engine: Hatchet's gRPC contract and the REST routes
 * SDKs call, on loopback, with every timer on Effect's `Clock`.
 *
 * @example
 * ```ts
 * import { Engine } from "@effect-hatchet/engine"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const engine = yield* Engine.Engine
 *   // point any Hatchet SDK at it
 *   console.log(engine.env)
 * }).pipe(Effect.provide(Engine.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Status } from "nice-grpc-common"
import * as Internal from "./internal/engine.js"
import * as service from "./internal/service.js"

/**
 * The engine version `Dispatcher/GetVersion` reports: the upstream release whose features it has
 * (the queue-depth concurrency strategies, shared limits, max runs as an expression). SDKs gate
 * features on it: the official TypeScript SDK registers workers with `slot_config` and would use
 * the `V1Dispatcher/DurableTask` stream for durable tasks; our worker refuses to start on an
 * engine older than what its definitions use.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVersion: typeof service.defaultVersion = service.defaultVersion

/**
 * The tenant id the engine creates at start when none is given (the id of Hatchet's quickstart
 * tenant).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTenantId: typeof service.defaultTenantId = service.defaultTenantId

/**
 * How to run the engine. Every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineOptions {
  /** Interface both servers bind to. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** gRPC port; 0 (the default) picks a free port. */
  readonly grpcPort?: number | undefined
  /** REST port; 0 (the default) picks a free port. */
  readonly httpPort?: number | undefined
  /** The tenant created at start (a UUID), whose token `Engine.token` is. Default `defaultTenantId`. */
  readonly tenantId?: string | undefined
  /** HMAC secret for tokens; random per engine by default. */
  readonly tokenSecret?: Redacted.Redacted<string> | undefined
  /** What `GetVersion` reports. Default `defaultVersion`. */
  readonly version?: string | undefined
  /** Internal retries (dead worker, undeliverable task) before a task fails. Default 10. */
  readonly maxInternalRetries?: number | undefined
  /**
   * How the engine decides that a worker is alive.
   *
   * - `"heartbeat"` (the default, as Hatchet): a worker receives tasks only with a heartbeat in
   *   the last 5 s, and a worker silent for 30 s has its running tasks re-queued.
   * - `"connection"`: a worker with an open listen stream is alive however long ago it last
   *   beat, and silence re-queues nothing. For in-process tests that drive the engine's `Clock`
   *   with `TestClock`: there, a jump of the clock is not silence, and a frozen clock must not
   *   need heartbeats to keep a worker schedulable. Heartbeats are still accepted (and rejected
   *   with FAILED_PRECONDITION when the stream is gone); a closed stream still makes the worker
   *   unschedulable.
   */
  readonly workerLiveness?: WorkerLiveness | undefined
  /**
   * What the engine keeps of finished runs, pushed events, OTLP traces and inactive workers, so
   * that its memory stays flat however long it runs (`defaultRetention` unless given; each field
   * falls back to its default). `false` keeps everything, as `HatchetTest` does.
   */
  readonly retention?: RetentionOptions | false | undefined
  /**
   * How long `SubscribeToWorkflowEvents` stays open after its run finished before the run's event
   * with `hangup` ends it, so that stream chunks put late still reach it (the official SDK does not
   * wait for its `putStream` calls; Hatchet hears of a run's end from a status poll every 2 s).
   * Default 1 second; `HatchetTest` uses 0 (our SDK's chunks precede the result, and a stream read
   * to its end under `TestClock` should not wait for the clock to move).
   */
  readonly runEventsGrace?: Duration.DurationInput | undefined
}

/**
 * What the engine keeps. A finished run (its tasks, their events, logs and outputs) is deleted
 * once it is older than `maxAge` or once its tenant has more than `maxRuns` finished runs, the
 * oldest finished first; a child run stays while its parent task runs. Pushed events follow the
 * same two bounds, and so do the traces its OTLP collector received (a trace counted from its
 * first span). A worker with no open stream and no running task is deleted once it has been
 * inactive for `workerMaxAge`, or beyond `maxInactiveWorkers`, the longest inactive first; it must
 * then register again (its heartbeats answer NOT_FOUND). `Duration.infinity` and `Infinity` keep
 * everything. The engine prunes at the oldest item's deadline, and a second after a count is
 * exceeded.
 *
 * Upstream Hatchet keeps a tenant's data for its `dataRetentionPeriod` (720h by default) and only
 * deletes workers when `SERVER_ENABLE_WORKER_RETENTION` is set; a development engine keeps what a
 * session of work needs in memory instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetentionOptions {
  /** How long a finished run (or a pushed event, or a trace) is kept. Default 1 day. */
  readonly maxAge?: Duration.DurationInput | undefined
  /** Finished runs (and pushed events, and traces) kept per tenant. Default 10,000. */
  readonly maxRuns?: number | undefined
  /** How long a worker is kept once it has no stream. Default 1 hour. */
  readonly workerMaxAge?: Duration.DurationInput | undefined
  /** Inactive workers kept per tenant. Default 100. */
  readonly maxInactiveWorkers?: number | undefined
}

/**
 * The retention of an engine started without `retention`: a day of work, at most 10,000 finished
 * runs per tenant (tens of MB), inactive workers for an hour, at most 100.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetention: typeof service.defaultRetention = service.defaultRetention

/**
 * See `EngineOptions.workerLiveness`.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerLiveness = "heartbeat" | "connection"

/**
 * A gRPC status for fault injection (`code` is a `nice-grpc` `Status`).
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultStatus {
  readonly code: Status
  readonly message: string
}

/**
 * Failures to inject into the engine, for resilience tests of workers and clients.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultInjection {
  /**
   * Ends the open `ListenV2` / `Listen` streams of every worker, or of one worker: cleanly by
   * default, or with the given status. The workers become inactive, so their next heartbeat is
   * rejected with FAILED_PRECONDITION until they listen again. Returns how many streams ended.
   *
   * With `silent: true` the engine loses the streams without telling the workers (as when the
   * dispatcher holding them went away): it stops sending on them and rejects heartbeats, but the
   * streams stay open on the worker's side and deliver nothing (hatchet#4824).
   */
  readonly dropListenStreams: (options?: {
    readonly workerId?: string | undefined
    readonly status?: FaultStatus | undefined
    readonly silent?: boolean | undefined
  }) => Effect.Effect<number>
  /** Rejects the next `count` heartbeats (of any worker) with FAILED_PRECONDITION. */
  readonly rejectHeartbeats: (count: number) => Effect.Effect<void>
  /**
   * Forgets a worker: its streams end, and Heartbeat / ListenV2 answer NOT_FOUND, so it has to
   * register again. Returns false for an unknown worker.
   */
  readonly forgetWorker: (workerId: string) => Effect.Effect<boolean>
  /**
   * Closes both servers, dropping every connection, then listens again on the same ports.
   * State (workflows, runs, workers, tokens) is kept.
   */
  readonly restart: Effect.Effect<void, EngineStartError>
}

/**
 * A server could not listen (port taken, bad host).
 *
 * @since 0.1.0
 * @category errors
 */
export const EngineStartError: typeof service.EngineStartError = service.EngineStartError

/**
 * @since 0.1.0
 * @category errors
 */
export type EngineStartError = service.EngineStartError

/**
 * An option given to `make` (or `mintToken`) is invalid: a tenant id that is not a UUID, a
 * retention setting out of range. `message` says which and why.
 *
 * @since 0.1.0
 * @category errors
 */
export const EngineOptionsError: typeof service.EngineOptionsError = service.EngineOptionsError

/**
 * @since 0.1.0
 * @category errors
 */
export type EngineOptionsError = service.EngineOptionsError

/**
 * A running engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineService {
  /** The engine's gRPC `host:port`. */
  readonly grpcAddress: string
  readonly grpcPort: number
  /** The REST base URL, `http://host:port`. */
  readonly apiUrl: string
  readonly httpPort: number
  /** The tenant created at start. */
  readonly tenantId: string
  /**
   * A token for `tenantId`, valid for 90 days. It is the engine's own (internal) token: it stands
   * for the dashboard user Hatchet would have, so it may create, list and revoke the tenant's API
   * tokens over REST, and it is neither listed nor revocable there.
   */
  readonly token: Redacted.Redacted<string>
  /**
   * Mints a token for a tenant (a UUID; created if new); `expiresIn` defaults to 90 days. Internal,
   * as `token`.
   */
  readonly mintToken: (options?: {
    readonly tenantId?: string | undefined
    readonly expiresIn?: Duration.DurationInput | undefined
  }) => Effect.Effect<Redacted.Redacted<string>, EngineOptionsError>
  /**
   * What an SDK needs to reach this engine: `HATCHET_CLIENT_TOKEN`, `HATCHET_CLIENT_HOST_PORT`,
   * `HATCHET_CLIENT_API_URL`, `HATCHET_CLIENT_TLS_STRATEGY=none`.
   */
  readonly env: Readonly<
    Record<"HATCHET_CLIENT_TOKEN" | "HATCHET_CLIENT_HOST_PORT" | "HATCHET_CLIENT_API_URL" | "HATCHET_CLIENT_TLS_STRATEGY", string>
  >
  /** Failures to inject. */
  readonly faults: FaultInjection
}

/**
 * The engine service.
 *
 * @since 0.1.0
 * @category tags
 */
export const Engine: typeof service.Engine = service.Engine

/**
 * @since 0.1.0
 * @category tags
 */
export type Engine = service.Engine

/**
 * Starts an engine in the current scope; closing the scope stops both servers and every fiber.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EngineOptions = {}): Effect.Effect<EngineService, EngineStartError | EngineOptionsError, Scope.Scope> =>
  Effect.map(Internal.make(options), ({ engine }) => engine)

/**
 * A layer running the engine in-process for as long as the layer lives.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: EngineOptions = {}): Layer.Layer<Engine, EngineStartError | EngineOptionsError> =>
  Layer.scoped(Engine, make(options))

/**
 * Like `layer`, reading the options from `Config`, e.g.
 * `Engine.layerConfig({ grpcPort: Config.integer("GRPC_PORT").pipe(Config.withDefault(0)) })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<EngineOptions>
): Layer.Layer<Engine, EngineStartError | EngineOptionsError | ConfigError.ConfigError> =>
  Layer.scoped(Engine, Effect.flatMap(Config.unwrap(options), make))
