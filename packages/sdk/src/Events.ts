/**
 * Events, task logs and task stream chunks (`EventsService`).
 *
 * A thin, low-level service over the generated protobuf types.
 *
 * @since 0.1.0
 */
import type * as Proto from "@effect-hatchet/proto/events/events"
import type { Effect } from "effect"
import { Context } from "effect"
import type { GrpcError } from "./HatchetError.js"

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
