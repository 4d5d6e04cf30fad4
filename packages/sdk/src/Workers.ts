/**
 * The tenant's workers through Hatchet's REST API: list them, read one (its status, slots,
 * labels and the workflows it serves), and pause or resume assignments to one.
 *
 * A paused worker keeps its stream and heartbeats and finishes what it is running, but the
 * engine assigns it nothing new until it is resumed. `Worker.layer` pauses its own worker when
 * its scope closes, so that it can drain without taking new work.
 *
 * | operation | route |
 * |---|---|
 * | `list` | `GET /api/v1/tenants/{tenant}/worker` (`statuses`, `labels`, `offset`, `limit`) |
 * | `get` | `GET /api/v1/workers/{worker}` |
 * | `pause`, `unpause` | `PATCH /api/v1/workers/{worker}` (`{isPaused}`) |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { optionalField as optional } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"
import { Pagination, ResourceMeta } from "./Runs.js"

/**
 * `WorkerStatus`: `ACTIVE` (schedulable), `INACTIVE` (no stream or no recent heartbeat), `PAUSED`.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkerStatus = Schema.Literal("ACTIVE", "INACTIVE", "PAUSED")

/**
 * @since 0.1.0
 * @category models
 */
export type WorkerStatus = typeof WorkerStatus.Type

/**
 * `WorkerRuntimeInfo`: what the worker said of itself when it registered.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkerRuntimeInfo = Schema.Struct({
  sdkVersion: optional(Schema.String),
  /** `GOLANG`, `PYTHON`, `TYPESCRIPT` or `RUBY`. */
  language: optional(Schema.String),
  languageVersion: optional(Schema.String),
  os: optional(Schema.String),
  runtimeExtra: optional(Schema.String)
})

/**
 * `WorkerLabel`: a label's value is always a string on the REST API (an integer label is printed).
 *
 * @since 0.1.0
 * @category models
 */
export const WorkerLabel = Schema.Struct({
  key: Schema.String,
  value: optional(Schema.String)
})

/**
 * `WorkerSlotConfig`: the units of one slot type.
 *
 * @since 0.1.0
 * @category models
 */
export const SlotConfig = Schema.Struct({
  limit: Schema.Number,
  available: optional(Schema.Number)
})

/**
 * `Worker` (the fields this SDK reads).
 *
 * @since 0.1.0
 * @category models
 */
export const WorkerInfo = Schema.Struct({
  metadata: ResourceMeta,
  name: Schema.String,
  type: Schema.String,
  status: optional(WorkerStatus),
  lastHeartbeatAt: optional(Schema.DateFromString),
  /** The actions it serves, `<workflow>:<task>` (null in the answer to a pause or resume). */
  actions: optional(Schema.NullOr(Schema.Array(Schema.String))),
  /** Per slot type (`default`, `durable`): the units and how many are free now. */
  slotConfig: optional(Schema.Record({ key: Schema.String, value: SlotConfig })),
  /** On `list` and `get`. */
  labels: optional(Schema.Array(WorkerLabel)),
  runtimeInfo: optional(WorkerRuntimeInfo),
  /** On `get` only. */
  registeredWorkflows: optional(Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String })))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerInfo extends Schema.Schema.Type<typeof WorkerInfo> {}

/**
 * `WorkerList`.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkerList = Schema.Struct({
  rows: optional(Schema.Array(WorkerInfo)),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerList extends Schema.Schema.Type<typeof WorkerList> {}

/**
 * What `list` selects (Hatchet's `worker:list` query).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListWorkersOptions {
  /** Only workers in one of these states. */
  readonly statuses?: ReadonlyArray<WorkerStatus> | undefined
  /** Only workers with every one of these labels (an integer label matches its decimal text). */
  readonly labels?: Readonly<Record<string, string | number>> | undefined
  /** Rows to skip (default 0). */
  readonly offset?: number | undefined
  /** Rows per page (Hatchet's default is 10,000). */
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkersShape {
  /**
   * The tenant's workers that sent a heartbeat within the last day, newest first (Hatchet keeps
   * longer-gone ones, but does not list them).
   */
  readonly list: (options?: ListWorkersOptions) => Effect.Effect<WorkerList, RestError>
  readonly get: (workerId: string) => Effect.Effect<WorkerInfo, RestError>
  /** The engine assigns the worker nothing new; what it runs goes on and reports as usual. */
  readonly pause: (workerId: string) => Effect.Effect<WorkerInfo, RestError>
  /** Assignments to the worker resume. */
  readonly unpause: (workerId: string) => Effect.Effect<WorkerInfo, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Workers extends Context.Tag("@effect-hatchet/sdk/Workers")<Workers, WorkersShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<WorkersShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const path = (workerId: string) => `/api/v1/workers/${encodeURIComponent(workerId)}`
  const setPaused = (workerId: string, isPaused: boolean) => rest.patch(path(workerId), WorkerInfo, { body: { isPaused } })
  return {
    list: (options = {}) =>
      rest.get(`/api/v1/tenants/${encodeURIComponent(rest.tenantId)}/worker`, WorkerList, {
        query: {
          statuses: options.statuses,
          labels: options.labels === undefined ? undefined : Object.entries(options.labels).map(([key, value]) => `${key}:${value}`),
          offset: options.offset,
          limit: options.limit
        }
      }),
    get: (workerId) => rest.get(path(workerId), WorkerInfo),
    pause: (workerId) => setPaused(workerId, true),
    unpause: (workerId) => setPaused(workerId, false)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Workers, never, RestClient> = Layer.effect(Workers, make)
