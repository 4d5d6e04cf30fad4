/**
 * Event filters through Hatchet's REST API. A filter belongs to a workflow and a scope: once a
 * workflow has any filter, an event pushed with a `scope` runs it once for each of its filters of
 * that scope whose CEL `expression` holds, and the task reads that filter's `payload`
 * (`TaskContext.filterPayload`); an event without a scope, or of a scope it has no filter for,
 * no longer runs it. A workflow without filters runs for every event of its keys.
 *
 * Expressions see `input` (the event's payload), `payload` (the filter's), `additional_metadata`,
 * `event_id` and `event_key`, e.g. `input.amount > payload.threshold`. An expression that is
 * empty, invalid, fails or gives anything but a bool never holds; the engine does not check it
 * when the filter is created.
 *
 * Filters can also be declared on a definition (`defaultFilters`), which registration replaces
 * with each new version; `create` and `update` manage the others.
 *
 * | operation | route |
 * |---|---|
 * | `create` | `POST /api/v1/stable/tenants/{tenant}/filters` |
 * | `list` | `GET /api/v1/stable/tenants/{tenant}/filters` |
 * | `get`, `update`, `delete` | `GET`, `PATCH`, `DELETE /api/v1/stable/tenants/{tenant}/filters/{filter}` |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { HatchetConfig } from "./HatchetConfig.js"
import type { RestError } from "./HatchetError.js"
import { specOf } from "./internal/definition.js"
import { workflowWireName } from "./internal/naming.js"
import { optionalField as optional, ResourceMetadata } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"
import { Pagination } from "./Runs.js"
import type { Definition } from "./Workflow.js"
import { Workflows } from "./Workflows.js"

/**
 * A JSON object, as filter payloads are.
 *
 * @since 0.1.0
 * @category models
 */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * `V1Filter`.
 *
 * @since 0.1.0
 * @category models
 */
export const Filter = Schema.Struct({
  metadata: ResourceMetadata,
  tenantId: Schema.String,
  workflowId: Schema.String,
  scope: Schema.String,
  expression: Schema.String,
  payload: Schema.NullOr(JsonObject),
  /** Declared by a workflow version (`defaultFilters`) rather than created through the API. */
  isDeclarative: optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Filter extends Schema.Schema.Type<typeof Filter> {}

/**
 * `V1FilterList`.
 *
 * @since 0.1.0
 * @category models
 */
export const FilterList = Schema.Struct({
  rows: optional(Schema.Array(Filter)),
  /** `current_page` counts from 0 on this list, as Hatchet reports it. */
  pagination: optional(Pagination)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface FilterList extends Schema.Schema.Type<typeof FilterList> {}

/**
 * The workflow a filter belongs to: a definition (its id is looked up by its registered name) or
 * the workflow's id.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkflowRef = Definition | { readonly workflowId: string }

/**
 * What `create` sends (`V1CreateFilterRequest`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  readonly workflow: WorkflowRef
  /** Events pushed with this scope are matched against the filter. */
  readonly scope: string
  /** A CEL expression over `input`, `payload`, `additional_metadata`, `event_id`, `event_key`. */
  readonly expression: string
  /** Handed to each run the filter triggers; `{}` when absent. */
  readonly payload?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What `update` changes (`V1UpdateFilterRequest`): each field given.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateRequest {
  readonly scope?: string | undefined
  readonly expression?: string | undefined
  readonly payload?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Filters of `list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly workflows?: ReadonlyArray<WorkflowRef> | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly offset?: number | undefined
  /** Hatchet's default is 20,000. */
  readonly limit?: number | undefined
}

/**
 * A definition's workflow is not registered on the engine (no worker registered it yet), so it
 * has no id to attach a filter to.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowNotRegistered extends Schema.TaggedError<WorkflowNotRegistered>()("WorkflowNotRegistered", {
  workflowName: Schema.String
}) {
  override get message(): string {
    return `workflow "${this.workflowName}" is not registered on the engine: start a worker that serves it first`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FiltersShape {
  readonly create: (request: CreateRequest) => Effect.Effect<Filter, RestError | WorkflowNotRegistered>
  /** Ordered by id, newest id first (ids are random: not by creation time), as Hatchet lists them. */
  readonly list: (options?: ListOptions) => Effect.Effect<FilterList, RestError | WorkflowNotRegistered>
  readonly get: (filterId: string) => Effect.Effect<Filter, RestError>
  readonly update: (filterId: string, request: UpdateRequest) => Effect.Effect<Filter, RestError>
  /** Deletes the filter and returns it. */
  readonly delete: (filterId: string) => Effect.Effect<Filter, RestError>
  /** The registered workflow's id for a definition (what filters are keyed by). */
  readonly workflowId: (workflow: WorkflowRef) => Effect.Effect<string, RestError | WorkflowNotRegistered>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Filters extends Context.Tag("@effect-hatchet/sdk/Filters")<Filters, FiltersShape>() {}

const segment = (value: string) => encodeURIComponent(value)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<FiltersShape, never, RestClient | HatchetConfig | Workflows> = Effect.gen(function*() {
  const rest = yield* RestClient
  const config = yield* HatchetConfig
  const workflows = yield* Workflows
  const base = `/api/v1/stable/tenants/${segment(rest.tenantId)}/filters`
  const workflowId = (workflow: WorkflowRef): Effect.Effect<string, RestError | WorkflowNotRegistered> => {
    if ("workflowId" in workflow) return Effect.succeed(workflow.workflowId)
    const name = workflowWireName(specOf(workflow).name, config.namespace)
    return Effect.flatMap(
      workflows.findByName(name),
      Option.match({
        onNone: () => Effect.fail(new WorkflowNotRegistered({ workflowName: name })),
        onSome: (found) => Effect.succeed(found.metadata.id)
      })
    )
  }
  return {
    workflowId,
    create: (request) =>
      Effect.flatMap(workflowId(request.workflow), (id) =>
        rest.post(base, Filter, {
          body: {
            workflowId: id,
            scope: request.scope,
            expression: request.expression,
            ...(request.payload !== undefined ? { payload: request.payload } : {})
          }
        })),
    list: (options = {}) =>
      Effect.flatMap(Effect.forEach(options.workflows ?? [], workflowId), (workflowIds) =>
        rest.get(base, FilterList, {
          query: { workflowIds, scopes: options.scopes, offset: options.offset, limit: options.limit }
        })),
    get: (filterId) => rest.get(`${base}/${segment(filterId)}`, Filter),
    update: (filterId, request) => rest.patch(`${base}/${segment(filterId)}`, Filter, { body: request }),
    delete: (filterId) => rest.del(`${base}/${segment(filterId)}`, Filter)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Filters, never, RestClient | HatchetConfig | Workflows> = Layer.effect(Filters, make)
