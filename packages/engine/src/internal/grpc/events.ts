/**
 * The `EventsService` gRPC service: Push / BulkPush (which trigger workflows), PutLog and
 * PutStreamEvent.
 *
 * @internal
 */
import type { Event, EventsServiceImplementation } from "@effect-hatchet/proto/events/events"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { EngineCoreService } from "../core.js"
import { unimplemented } from "../domain/errors.js"
import * as Ingest from "../domain/ingest.js"
import type { PushedEvent } from "../domain/model.js"
import type { EffectService } from "./bridge.js"

const toEvent = (event: PushedEvent): Event => ({
  tenantId: event.tenantId,
  eventId: event.id,
  key: event.key,
  payload: event.payload,
  eventTimestamp: new Date(event.createdAt),
  additionalMetadata: event.additionalMetadata
})

export const make = (core: EngineCoreService): EffectService<EventsServiceImplementation> => ({
  push: (request, context) => core.runEither((state, now) => Either.map(Ingest.pushEvent(state, context.tenantId, request, now), toEvent)),

  bulkPush: (request, context) =>
    core.runEither((state, now) =>
      Either.map(Ingest.bulkPushEvents(state, context.tenantId, request.events, now), (events) => ({ events: events.map(toEvent) }))
    ),

  replaySingleEvent: () => Effect.fail(unimplemented("ReplaySingleEvent is not implemented")),

  putLog: (request, context) =>
    core.runEither((state, now) =>
      Either.map(
        Ingest.putLog(state, context.tenantId, {
          taskRunExternalId: request.taskRunExternalId,
          createdAt: request.createdAt?.getTime(),
          message: request.message,
          level: request.level,
          metadata: request.metadata,
          taskRetryCount: request.taskRetryCount
        }, now),
        () => ({})
      )
    ),

  putStreamEvent: (request, context) =>
    core.runEither((state, now) =>
      Either.map(
        Ingest.putStreamEvent(state, context.tenantId, {
          taskRunExternalId: request.taskRunExternalId,
          createdAt: request.createdAt?.getTime(),
          message: request.message,
          eventIndex: request.eventIndex
        }, now),
        () => ({})
      )
    )
})
