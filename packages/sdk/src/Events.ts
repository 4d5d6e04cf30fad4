/**
 * Events, task logs and task stream chunks (`EventsService`).
 *
 * A thin, low-level service over the generated protobuf types.
 *
 * @since 0.1.0
 */
import type * as Proto from "@effect-hatchet/proto/events/events"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GrpcTransport } from "./GrpcTransport.js"
import type { GrpcError } from "./HatchetError.js"
import * as internal from "./internal/events.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface EventsShape {
  /** `EventsService/Push`: payload and additional metadata are JSON strings. */
  readonly push: (request: Proto.PushEventRequest) => Effect.Effect<Proto.Event, GrpcError>
  /** `EventsService/BulkPush`. */
  readonly bulkPush: (requests: ReadonlyArray<Proto.PushEventRequest>) => Effect.Effect<ReadonlyArray<Proto.Event>, GrpcError>
  /** `EventsService/PutLog`. */
  readonly putLog: (request: Proto.PutLogRequest) => Effect.Effect<void, GrpcError>
  /** `EventsService/PutStreamEvent`. */
  readonly putStreamEvent: (request: Proto.PutStreamEventRequest) => Effect.Effect<void, GrpcError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Events extends Context.Tag("@effect-hatchet/sdk/Events")<Events, EventsShape>() {}

/**
 * `Events` over the shared gRPC channel of `GrpcTransport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<EventsShape, never, GrpcTransport> = Effect.map(GrpcTransport, internal.make)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Events, never, GrpcTransport> = Layer.effect(Events, make)
