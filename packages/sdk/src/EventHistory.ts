/**
 * The events pushed to the tenant, through Hatchet's REST API: list them (by key, scope,
 * metadata, time, the workflows or run statuses they led to) and read one, with the runs it
 * triggered (and the filter that matched each) and how many of them are queued, running,
 * succeeded, failed or cancelled.
 *
 * Pushing goes through gRPC: `Hatchet.push` / `Hatchet.bulkPush` (the low-level `Events` service
 * is that gRPC client). This service only reads what was pushed, hence its name.
 *
 * | operation | route |
 * |---|---|
 * | `list` | `GET /api/v1/stable/tenants/{tenant}/events` |
 * | `get` | `GET /api/v1/stable/tenants/{tenant}/events/{event}` |
 * | `keys` | `GET /api/v1/stable/tenants/{tenant}/events/keys` |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { metadataPairs, optionalField as optional } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"
import { Pagination, ResourceMeta, type TaskStatus } from "./Runs.js"

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * `V1EventTriggeredRun`: a run the event triggered, and the filter that matched when one did.
 *
 * @since 0.1.0
 * @category models
 */
export const TriggeredRun = Schema.Struct({
  workflowRunId: Schema.String,
  filterId: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TriggeredRun extends Schema.Schema.Type<typeof TriggeredRun> {}

/**
 * `V1EventWorkflowRunSummary`: the runs the event triggered, by status.
 *
 * @since 0.1.0
 * @category models
 */
export const RunSummary = Schema.Struct({
  queued: Schema.Number,
  running: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  cancelled: Schema.Number
})

/**
 * `V1Event`.
 *
 * @since 0.1.0
 * @category models
 */
export const PushedEvent = Schema.Struct({
  metadata: Schema.Struct({ ...ResourceMeta.fields, createdAt: Schema.DateFromString }),
  key: Schema.String,
  seenAt: optional(Schema.DateFromString),
  /** The event's payload (`{}` when it was not a JSON object). */
  payload: optional(JsonObject),
  additionalMetadata: optional(JsonObject),
  scope: optional(Schema.String),
  /** Empty when no run was triggered (Hatchet sends `null`). */
  triggeredRuns: Schema.optionalWith(Schema.Array(TriggeredRun), { nullable: true, default: () => [] }),
  workflowRunSummary: RunSummary,
  /** The incoming webhook that made the event, if one did. */
  triggeringWebhookName: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface PushedEvent extends Schema.Schema.Type<typeof PushedEvent> {}

/**
 * `V1EventList`.
 *
 * @since 0.1.0
 * @category models
 */
export const PushedEventList = Schema.Struct({
  rows: optional(Schema.Array(PushedEvent)),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface PushedEventList extends Schema.Schema.Type<typeof PushedEventList> {}

/**
 * Filters of `list`; every one given must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Hatchet's default is a day ago. */
  readonly since?: Date | undefined
  readonly until?: Date | undefined
  readonly keys?: ReadonlyArray<string> | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly eventIds?: ReadonlyArray<string> | undefined
  /** Events whose own metadata holds each of these strings. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** Events that triggered a run of one of these workflows (by id). */
  readonly workflowIds?: ReadonlyArray<string> | undefined
  /** Events that triggered a run now in one of these statuses. */
  readonly runStatuses?: ReadonlyArray<TaskStatus> | undefined
  readonly offset?: number | undefined
  /** Hatchet's default is 50. */
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EventHistoryShape {
  /** Newest first. */
  readonly list: (options?: ListOptions) => Effect.Effect<PushedEventList, RestError>
  /** One event by the id `Hatchet.push` returned. */
  readonly get: (eventId: string) => Effect.Effect<PushedEvent, RestError>
  /** The keys of the events pushed in the last day. */
  readonly keys: Effect.Effect<ReadonlyArray<string>, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventHistory extends Context.Tag("@effect-hatchet/sdk/EventHistory")<EventHistory, EventHistoryShape>() {}

const EventKeys = Schema.Struct({ rows: optional(Schema.Array(Schema.String)) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<EventHistoryShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const base = `/api/v1/stable/tenants/${encodeURIComponent(rest.tenantId)}/events`
  return {
    list: (options = {}) =>
      rest.get(base, PushedEventList, {
        query: {
          offset: options.offset,
          limit: options.limit,
          keys: options.keys,
          since: options.since,
          until: options.until,
          workflowIds: options.workflowIds,
          workflowRunStatuses: options.runStatuses,
          eventIds: options.eventIds,
          additionalMetadata: metadataPairs(options.additionalMetadata),
          scopes: options.scopes
        }
      }),
    get: (eventId) => rest.get(`${base}/${encodeURIComponent(eventId)}`, PushedEvent),
    keys: Effect.map(rest.get(`${base}/keys`, EventKeys), (list) => list.rows ?? [])
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventHistory, never, RestClient> = Layer.effect(EventHistory, make)
