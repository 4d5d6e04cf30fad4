/**
 * Cron triggers created through Hatchet's REST API: the engine runs the workflow (its latest
 * version) on every tick of the crontab (UTC), with the cron's input, metadata (plus
 * `hatchet__cron_name`, `hatchet__cron_expression` and `hatchet__cron_scheduled_at`) and priority.
 * Crons declared on a definition (`cron` in its options) are registered with the workflow and
 * listed here too (method `DEFAULT`). To create a typed cron of a definition, use `Hatchet.cron`;
 * this service works with workflow names and JSON.
 *
 * | operation | route |
 * |---|---|
 * | `create` | `POST /api/v1/tenants/{tenant}/workflows/{workflow}/crons` |
 * | `get` | `GET /api/v1/tenants/{tenant}/workflows/crons/{id}` |
 * | `list` | `GET /api/v1/tenants/{tenant}/workflows/crons` |
 * | `setEnabled` | `PATCH /api/v1/tenants/{tenant}/workflows/crons/{id}` |
 * | `delete` | `DELETE /api/v1/tenants/{tenant}/workflows/crons/{id}` |
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
 * `CronWorkflows` (the fields this SDK reads).
 *
 * @since 0.1.0
 * @category models
 */
export const Cron = Schema.Struct({
  metadata: ResourceMeta,
  workflowId: Schema.String,
  /** The workflow's (namespaced) name. */
  workflowName: Schema.String,
  /** The crontab expression. */
  cron: Schema.String,
  name: optional(Schema.String),
  input: optional(Schema.NullOr(Schema.Unknown)),
  additionalMetadata: optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
  enabled: Schema.Boolean,
  /** `API` for crons created through the API, `DEFAULT` for those declared on the workflow. */
  method: Schema.String,
  priority: optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Cron extends Schema.Schema.Type<typeof Cron> {}

/**
 * `CronWorkflowsList`.
 *
 * @since 0.1.0
 * @category models
 */
export const CronList = Schema.Struct({
  rows: optional(Schema.Array(Cron)),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface CronList extends Schema.Schema.Type<typeof CronList> {}

/**
 * What `create` sends (`CreateCronWorkflowTriggerRequest`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  /** Unique per workflow together with the expression. */
  readonly name: string
  /** A crontab of 5 fields, or 6 with seconds first; UTC. */
  readonly expression: string
  /** The runs' input, a JSON object. */
  readonly input: Readonly<Record<string, unknown>>
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  /** 1 (lowest) to 3. */
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
  readonly workflowName?: string | undefined
  readonly name?: string | undefined
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  readonly orderByField?: "name" | "createdAt" | undefined
  readonly orderByDirection?: "ASC" | "DESC" | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CronsShape {
  /** Creates a cron of the workflow named `workflowName` (namespaced, as registered). */
  readonly create: (workflowName: string, request: CreateRequest) => Effect.Effect<Cron, RestError>
  readonly get: (id: string) => Effect.Effect<Cron, RestError>
  readonly list: (options?: ListOptions) => Effect.Effect<CronList, RestError>
  /** Pauses (false) or resumes (true) a cron. */
  readonly setEnabled: (id: string, enabled: boolean) => Effect.Effect<void, RestError>
  /** Deletes a cron: it fires no more. */
  readonly delete: (id: string) => Effect.Effect<void, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Crons extends Context.Tag("@effect-hatchet/sdk/Crons")<Crons, CronsShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CronsShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const base = `/api/v1/tenants/${encodeURIComponent(rest.tenantId)}/workflows`
  const one = (id: string) => `${base}/crons/${encodeURIComponent(id)}`
  return {
    create: (workflowName, request) =>
      rest.post(`${base}/${encodeURIComponent(workflowName)}/crons`, Cron, {
        body: {
          cronName: request.name,
          cronExpression: request.expression,
          input: request.input,
          additionalMetadata: request.additionalMetadata ?? {},
          ...(request.priority !== undefined ? { priority: request.priority } : {})
        }
      }),
    get: (id) => rest.get(one(id), Cron),
    list: (options = {}) =>
      rest.get(`${base}/crons`, CronList, {
        query: {
          workflowId: options.workflowId,
          workflowName: options.workflowName,
          cronName: options.name,
          additionalMetadata: metadataPairs(options.additionalMetadata),
          orderByField: options.orderByField,
          orderByDirection: options.orderByDirection,
          offset: options.offset,
          limit: options.limit
        }
      }),
    setEnabled: (id, enabled) => Effect.asVoid(rest.text("PATCH", one(id), { body: { enabled } })),
    delete: (id) => Effect.asVoid(rest.text("DELETE", one(id)))
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Crons, never, RestClient> = Layer.effect(Crons, make)
