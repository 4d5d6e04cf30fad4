/**
 * Scheduled runs through Hatchet's REST API: a run of a workflow at a given time. The engine
 * triggers the workflow (its latest version) with the stored input, metadata and priority at
 * `triggerAt`, then deletes the scheduled run. To schedule a typed run of a definition, use
 * `Hatchet.schedule`; this service works with workflow names and JSON.
 *
 * | operation | route |
 * |---|---|
 * | `create` | `POST /api/v1/tenants/{tenant}/workflows/{workflow}/scheduled` |
 * | `get` | `GET /api/v1/tenants/{tenant}/workflows/scheduled/{id}` |
 * | `list` | `GET /api/v1/tenants/{tenant}/workflows/scheduled` |
 * | `reschedule` | `PATCH /api/v1/tenants/{tenant}/workflows/scheduled/{id}` |
 * | `delete` | `DELETE /api/v1/tenants/{tenant}/workflows/scheduled/{id}` |
 * | `bulkDelete` | `POST /api/v1/tenants/{tenant}/workflows/scheduled/bulk-delete` |
 * | `bulkReschedule` | `POST /api/v1/tenants/{tenant}/workflows/scheduled/bulk-update` |
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
import { Pagination, ResourceMeta } from "./Runs.js"

/**
 * `ScheduledWorkflows` (the fields this SDK reads).
 *
 * @since 0.1.0
 * @category models
 */
export const ScheduledRun = Schema.Struct({
  metadata: ResourceMeta,
  workflowId: Schema.String,
  /** The workflow's (namespaced) name. */
  workflowName: Schema.String,
  triggerAt: Schema.DateFromString,
  input: optional(Schema.Unknown),
  additionalMetadata: optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
  /** `API` for runs scheduled through the API. */
  method: Schema.String,
  priority: optional(Schema.Number),
  /** Once triggered, if the engine still shows it. */
  workflowRunId: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ScheduledRun extends Schema.Schema.Type<typeof ScheduledRun> {}

/**
 * `ScheduledWorkflowsList`.
 *
 * @since 0.1.0
 * @category models
 */
export const ScheduledRunList = Schema.Struct({
  rows: optional(Schema.Array(ScheduledRun)),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ScheduledRunList extends Schema.Schema.Type<typeof ScheduledRunList> {}

/**
 * What `create` sends (`ScheduleWorkflowRunRequest`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  /** The run's input, a JSON object. */
  readonly input: Readonly<Record<string, unknown>>
  readonly triggerAt: Date
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3; the engine's default is 1. */
  readonly priority?: 1 | 2 | 3 | undefined
}

/**
 * Filters of `list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly workflowId?: string | undefined
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  readonly orderByField?: "triggerAt" | "createdAt" | undefined
  readonly orderByDirection?: "ASC" | "DESC" | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/**
 * The ids a bulk operation applied to, and one error per id it did not
 * (`ScheduledWorkflowsBulkDeleteResponse` / `ScheduledWorkflowsBulkUpdateResponse`).
 *
 * @since 0.1.0
 * @category models
 */
export const BulkResult = Schema.Struct({
  deletedIds: optional(Schema.Array(Schema.String)),
  updatedIds: optional(Schema.Array(Schema.String)),
  errors: Schema.optionalWith(Schema.Array(Schema.Struct({ id: optional(Schema.String), error: Schema.String })), {
    exact: true,
    default: () => []
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface BulkResult extends Schema.Schema.Type<typeof BulkResult> {}

/**
 * Which scheduled runs `bulkDelete` deletes: these ids, or every one matching a filter.
 *
 * @since 0.1.0
 * @category models
 */
export type BulkDeleteSelection =
  | { readonly ids: ReadonlyArray<string> }
  | {
    readonly filter: {
      readonly workflowId?: string | undefined
      readonly parentWorkflowRunId?: string | undefined
      readonly parentStepRunId?: string | undefined
      readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
    }
  }

/**
 * @since 0.1.0
 * @category models
 */
export interface SchedulesShape {
  /** Schedules a run of the workflow named `workflowName` (namespaced, as registered). */
  readonly create: (workflowName: string, request: CreateRequest) => Effect.Effect<ScheduledRun, RestError>
  readonly get: (id: string) => Effect.Effect<ScheduledRun, RestError>
  /** Scheduled runs not yet triggered. */
  readonly list: (options?: ListOptions) => Effect.Effect<ScheduledRunList, RestError>
  /** Moves a scheduled run to another time. */
  readonly reschedule: (id: string, triggerAt: Date) => Effect.Effect<ScheduledRun, RestError>
  /** Deletes a scheduled run: it will not be triggered. */
  readonly delete: (id: string) => Effect.Effect<void, RestError>
  /**
   * Deletes scheduled runs by id, or all those matching a filter; `deletedIds` lists what was
   * deleted, `errors` an entry per id that was not (not found). An empty id list sends nothing.
   */
  readonly bulkDelete: (selection: BulkDeleteSelection) => Effect.Effect<BulkResult, RestError>
  /** Moves several scheduled runs at once; `updatedIds` lists what moved, `errors` what did not. */
  readonly bulkReschedule: (
    updates: ReadonlyArray<{ readonly id: string; readonly triggerAt: Date }>
  ) => Effect.Effect<BulkResult, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Schedules extends Context.Tag("@effect-hatchet/sdk/Schedules")<Schedules, SchedulesShape>() {}

const segment = (value: string) => encodeURIComponent(value)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<SchedulesShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const base = `/api/v1/tenants/${segment(rest.tenantId)}/workflows`
  return {
    create: (workflowName, request) =>
      rest.post(`${base}/${segment(workflowName)}/scheduled`, ScheduledRun, {
        body: {
          input: request.input,
          additionalMetadata: request.additionalMetadata ?? {},
          triggerAt: request.triggerAt.toISOString(),
          ...(request.priority !== undefined ? { priority: request.priority } : {})
        }
      }),
    get: (id) => rest.get(`${base}/scheduled/${segment(id)}`, ScheduledRun),
    list: (options = {}) =>
      rest.get(`${base}/scheduled`, ScheduledRunList, {
        query: {
          workflowId: options.workflowId,
          additionalMetadata: metadataPairs(options.additionalMetadata),
          orderByField: options.orderByField,
          orderByDirection: options.orderByDirection,
          offset: options.offset,
          limit: options.limit
        }
      }),
    reschedule: (id, triggerAt) =>
      rest.patch(`${base}/scheduled/${segment(id)}`, ScheduledRun, { body: { triggerAt: triggerAt.toISOString() } }),
    delete: (id) => Effect.asVoid(rest.text("DELETE", `${base}/scheduled/${segment(id)}`)),
    bulkDelete: (selection) =>
      "ids" in selection && selection.ids.length === 0
        ? Effect.succeed({ deletedIds: [], errors: [] })
        : rest.post(`${base}/scheduled/bulk-delete`, BulkResult, {
          body: "ids" in selection
            ? { scheduledWorkflowRunIds: selection.ids }
            : { filter: { ...selection.filter, additionalMetadata: metadataPairs(selection.filter.additionalMetadata) } }
        }),
    bulkReschedule: (updates) =>
      rest.post(`${base}/scheduled/bulk-update`, BulkResult, {
        body: { updates: updates.map((update) => ({ id: update.id, triggerAt: update.triggerAt.toISOString() })) }
      })
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Schedules, never, RestClient> = Layer.effect(Schedules, make)
