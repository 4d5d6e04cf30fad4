/**
 * The tenant's workflows through Hatchet's REST API: list them (by a part of their name), read
 * one, find one by its exact name, and delete one.
 *
 * Deleting a workflow is Hatchet's soft delete: it leaves the lists and can no longer be
 * triggered (by name, event, cron or schedule; its crons and scheduled runs go with it), runs
 * already started go on, and a worker registering the same name later makes a new workflow.
 *
 * | operation | route |
 * |---|---|
 * | `list`, `findByName` | `GET /api/v1/tenants/{tenant}/workflows` (`name`, `offset`, `limit`) |
 * | `get` | `GET /api/v1/workflows/{workflow}` |
 * | `delete` | `DELETE /api/v1/workflows/{workflow}` |
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { RestError } from "./HatchetError.js"
import { optionalField as optional } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"
import { Pagination, ResourceMeta } from "./Runs.js"

/**
 * `WorkflowVersionMeta`: a registered version (`get` shows the latest).
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowVersionMeta = Schema.Struct({
  metadata: ResourceMeta,
  version: Schema.String,
  order: Schema.Number,
  workflowId: Schema.String
})

/**
 * `Workflow` (the fields this SDK reads).
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowInfo = Schema.Struct({
  metadata: ResourceMeta,
  name: Schema.String,
  description: optional(Schema.String),
  isPaused: optional(Schema.Boolean),
  /** On `get` only: the latest version. */
  versions: optional(Schema.Array(WorkflowVersionMeta)),
  /** On `get` only. */
  tenantId: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowInfo extends Schema.Schema.Type<typeof WorkflowInfo> {}

/**
 * `WorkflowList`.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowList = Schema.Struct({
  rows: optional(Schema.Array(WorkflowInfo)),
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowList extends Schema.Schema.Type<typeof WorkflowList> {}

/**
 * What `list` selects.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListWorkflowsOptions {
  /** Workflows whose name contains this, ignoring case. */
  readonly name?: string | undefined
  /** Rows to skip (default 0). */
  readonly offset?: number | undefined
  /** Rows per page (default 50). */
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowsShape {
  /** The tenant's workflows, newest first. */
  readonly list: (options?: ListWorkflowsOptions) => Effect.Effect<WorkflowList, RestError>
  /** One workflow by id, with its latest version. */
  readonly get: (workflowId: string) => Effect.Effect<WorkflowInfo, RestError>
  /** The workflow with exactly this name (as registered, namespace included), if any. */
  readonly findByName: (name: string) => Effect.Effect<Option.Option<WorkflowInfo>, RestError>
  /** Deletes a workflow by id (Hatchet's soft delete; see the module's description). */
  readonly delete: (workflowId: string) => Effect.Effect<void, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Workflows extends Context.Tag("@effect-hatchet/sdk/Workflows")<Workflows, WorkflowsShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<WorkflowsShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const path = (workflowId: string) => `/api/v1/workflows/${encodeURIComponent(workflowId)}`
  const list = (options: ListWorkflowsOptions = {}) =>
    rest.get(`/api/v1/tenants/${encodeURIComponent(rest.tenantId)}/workflows`, WorkflowList, {
      query: { name: options.name, offset: options.offset, limit: options.limit }
    })
  return {
    list,
    get: (workflowId) => rest.get(path(workflowId), WorkflowInfo),
    // the name filter matches parts of names: take the exact one among the first page
    findByName: (name) =>
      Effect.map(list({ name, limit: 1_000 }), (page) => Option.fromNullable(page.rows?.find((row) => row.name === name))),
    delete: (workflowId) => rest.del(path(workflowId), Schema.Void)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Workflows, never, RestClient> = Layer.effect(Workflows, make)
