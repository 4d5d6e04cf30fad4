/**
 * The worker-facing side of a Hatchet engine (`Dispatcher` gRPC service): registration, the
 * assignment stream, heartbeats and task lifecycle reports.
 *
 * This is a thin, low-level service: messages are the generated protobuf types. The Worker is
 * built on it, and tests replace it with a fake.
 *
 * @since 0.1.0
 */
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import { GrpcTransport } from "./GrpcTransport.js"
import type { GrpcError } from "./HatchetError.js"
import * as internal from "./internal/dispatcher.js"

/**
 * Per-call settings of the step action event calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** The call's deadline from now, in real time: past it the call fails with DEADLINE_EXCEEDED. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DispatcherShape {
  /** `Dispatcher/Register`: a new worker id per call. */
  readonly register: (request: Proto.WorkerRegisterRequest) => Effect.Effect<Proto.WorkerRegisterResponse, GrpcError>
  /**
   * `Dispatcher/ListenV2`: one assignment stream. It ends when the server ends the call and fails
   * on any transport error; interrupting the consumer cancels the call. Reconnecting is the
   * caller's job (the Worker's).
   */
  readonly listen: (workerId: string) => Stream.Stream<Proto.AssignedAction, GrpcError>
  /**
   * `listen` consumed in place, as the Worker consumes it: `f` runs on each assignment in the
   * order they arrive, in the caller's fiber, each once the previous one's effect is done (what
   * arrived meanwhile is handled without waiting in between). It ends and fails as `listen`
   * does, after every assignment that came before the end; interrupting it cancels the call.
   * Optional: without it, the Worker runs `f` on each element of `listen`, so a fake need only
   * provide `listen`.
   */
  readonly listenForEach?: (
    workerId: string,
    f: (action: Proto.AssignedAction) => Effect.Effect<void>
  ) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/Heartbeat` with `heartbeat_at` = now. */
  readonly heartbeat: (workerId: string) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/SendStepActionEvent`; `timeout` is the call's deadline (real time). */
  readonly sendStepActionEvent: (event: Proto.StepActionEvent, options?: CallOptions) => Effect.Effect<void, GrpcError>
  /**
   * `Dispatcher/SendBatchActionEvent`: one event type (STARTED, COMPLETED, FAILED or CANCELLED)
   * for many tasks in one call. Engines before v0.98 answer `UNIMPLEMENTED`.
   */
  readonly sendBatchActionEvent: (event: Proto.BatchActionEvent, options?: CallOptions) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/RefreshTimeout`: `incrementBy` is a Go-style duration string; returns the new deadline. */
  readonly refreshTimeout: (taskRunExternalId: string, incrementBy: string) => Effect.Effect<Date | undefined, GrpcError>
  /** `Dispatcher/ReleaseSlot`. */
  readonly releaseSlot: (taskRunExternalId: string) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/Unsubscribe`. */
  readonly unsubscribe: (workerId: string) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/UpsertWorkerLabels`. */
  readonly upsertWorkerLabels: (
    workerId: string,
    labels: Record<string, Proto.WorkerLabels>
  ) => Effect.Effect<void, GrpcError>
  /** `Dispatcher/GetVersion`: the engine's version string, e.g. `v0.106.5`. */
  readonly getVersion: Effect.Effect<string, GrpcError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Dispatcher extends Context.Tag("@effect-hatchet/sdk/Dispatcher")<Dispatcher, DispatcherShape>() {}

/**
 * `Dispatcher` over the shared gRPC channel of `GrpcTransport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<DispatcherShape, never, GrpcTransport> = Effect.map(GrpcTransport, internal.make)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Dispatcher, never, GrpcTransport> = Layer.effect(Dispatcher, make)
