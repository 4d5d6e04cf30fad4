/**
 * Awaiting run results: ONE shared `Dispatcher/SubscribeToWorkflowRuns` bidi stream per client.
 *
 * - The stream is opened lazily, by the first subscription, and only while runs are awaited.
 * - Each awaited run id is sent once per stream (`{workflow_run_id}`); the engine answers each
 *   with one FINISHED `WorkflowRunEvent` (also for runs that had finished before).
 * - When the stream drops or ends, it reconnects with jittered exponential backoff and no
 *   give-up cap, and sends every pending run id again on the new stream. Invariant (ported from
 *   Hatchet's Go listener tests): every subscription that has returned has its run id sent on the
 *   current stream, across any number of stream breaks.
 * - Interrupting a waiter (or closing the scope of a `subscribe`) unsubscribes it locally (the
 *   protocol has no server-side unsubscribe; a late event is ignored).
 * - When a FINISHED event carries no results (the engine drops results of 3 MiB or more, and
 *   runs that fail before dispatch have none), the results are read from the run's details
 *   (`v1.AdminService/GetRunDetails`); never from the deprecated `/shape` REST route.
 * - Closing the listener's scope ends the stream; waiters still pending are interrupted.
 *
 * @since 0.1.0
 */
import type { SubscribeToWorkflowRunsRequest, WorkflowRunEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { Admin } from "./Admin.js"
import { GrpcTransport } from "./GrpcTransport.js"
import type { GrpcError } from "./HatchetError.js"
import * as internal from "./internal/runListener.js"

/**
 * Opens one `SubscribeToWorkflowRuns` call: the requests are sent as they come from `requests`;
 * the Stream is the server's events. The real one is `GrpcTransport.bidiStream`; tests pass fakes.
 *
 * @since 0.1.0
 * @category models
 */
export type Connect = (
  requests: Stream.Stream<SubscribeToWorkflowRunsRequest>
) => Stream.Stream<WorkflowRunEvent, GrpcError>

/**
 * @since 0.1.0
 * @category models
 */
export interface RunListenerOptions {
  /** Opens the stream. */
  readonly connect: Connect
  /**
   * Reads a finished run's results when its event came without any (the task outputs and
   * errors, as `StepRunResult`s keyed by readable id).
   */
  readonly details: (runId: string) => Effect.Effect<WorkflowRunEvent["results"], GrpcError>
  /** Reconnect backoff: first delay (default 100 ms) and cap (default 5 s), jittered. */
  readonly reconnect?: {
    readonly initialDelay?: Duration.DurationInput | undefined
    readonly maxDelay?: Duration.DurationInput | undefined
  } | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunListenerShape {
  /**
   * Registers interest in a run for the lifetime of the current scope and returns the Effect
   * that waits for its FINISHED event. When `subscribe` returns, the run id is on its way to the
   * engine on the current stream (or will be replayed on the next one).
   */
  readonly subscribe: (runId: string) => Effect.Effect<Effect.Effect<WorkflowRunEvent, GrpcError>, never, Scope.Scope>
  /**
   * Waits for a run to finish and returns its FINISHED event, with results read from the run's
   * details when the stream sent none. Fails only when those details cannot be read.
   */
  readonly await: (runId: string) => Effect.Effect<WorkflowRunEvent, GrpcError>
  /** How many distinct runs are awaited right now. */
  readonly pending: Effect.Effect<number>
  /** How many streams were opened so far (1 + reconnects). */
  readonly connections: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RunListener extends Context.Tag("@effect-hatchet/sdk/RunListener")<RunListener, RunListenerShape>() {}

/**
 * A listener over `options.connect`, living in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: RunListenerOptions) => Effect.Effect<RunListenerShape, never, Scope.Scope> = internal.make

/**
 * The `connect` and `details` of a real engine, over the shared gRPC channel.
 *
 * @since 0.1.0
 * @category constructors
 */
export const grpcOptions: Effect.Effect<
  Pick<RunListenerOptions, "connect" | "details">,
  never,
  GrpcTransport | Admin
> = Effect.gen(function*() {
  return internal.grpcOptions(yield* GrpcTransport, yield* Admin)
})

/**
 * The listener over the shared gRPC channel of `GrpcTransport`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<RunListener, never, GrpcTransport | Admin> = Layer.scoped(
  RunListener,
  Effect.flatMap(grpcOptions, make)
)
