/**
 * The tenant's workflows through Hatchet's REST API: list them (by a part of their name), read
 * one, find one by its exact name, read one of its versions (what was registered, its triggers and
 * concurrency settings), pause or unpause one, and delete one.
 *
 * Pausing a workflow holds its new work: runs are still created (triggered by name, by event, as
 * children, by its crons and scheduled runs unless told to drop those) and show `QUEUED`, but no
 * task of the workflow is assigned to a worker until it is unpaused; tasks already running go on.
 * A queued task still waiting when its age passes `queueTtl` (counted from its creation) is
 * cancelled ("paused workflow queue item TTL expired."). Unpausing sends the held tasks to the
 * workers in the order they were created. With `cronRuns: "DROP"` a cron does not fire while the
 * workflow is paused; with `scheduledRuns: "DROP"` a scheduled run that comes due waits and fires
 * when the workflow is unpaused (as Hatchet's ticker does).
 *
 * Deleting a workflow is Hatchet's soft delete: it leaves the lists and can no longer be
 * triggered (by name, event, cron or schedule; its crons and scheduled runs go with it), runs
 * already started go on, and a worker registering the same name later makes a new workflow.
 *
 * | operation | route |
 * |---|---|
 * | `list`, `findByName` | `GET /api/v1/tenants/{tenant}/workflows` (`name`, `offset`, `limit`) |
 * | `get` | `GET /api/v1/workflows/{workflow}` |
 * | `version` | `GET /api/v1/workflows/{workflow}/versions` (`version`) |
 * | `pause`, `unpause` | `PATCH /api/v1/workflows/{workflow}` (`{pause: {action, ...}}`) |
 * | `delete` | `DELETE /api/v1/workflows/{workflow}` |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { RestError } from "./HatchetError.js"
import { toGoDuration } from "./internal/duration.js"
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
 * `WorkflowPauseScheduledCronRunQueueBehavior`: what a paused workflow's crons or scheduled runs
 * do when due. `QUEUE` creates the run (held like the others), `DROP` does not create it then.
 *
 * @since 0.1.0
 * @category models
 */
export const PausedRunBehavior = Schema.Literal("QUEUE", "DROP")

/**
 * @since 0.1.0
 * @category models
 */
export type PausedRunBehavior = typeof PausedRunBehavior.Type

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
  /** While paused, in lists and in the answer to `pause`. */
  pausedWorkflowCronRunQueueBehavior: optional(PausedRunBehavior),
  /** While paused, in lists and in the answer to `pause`. */
  pausedWorkflowScheduledRunQueueBehavior: optional(PausedRunBehavior),
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
 * `ConcurrencySetting`: a concurrency strategy of a version, of one task (`TASK`, with the task's
 * name) or of the whole workflow (`WORKFLOW`).
 *
 * @since 0.1.0
 * @category models
 */
export const ConcurrencySetting = Schema.Struct({
  expression: Schema.String,
  maxRuns: Schema.Number,
  limitStrategy: Schema.String,
  scope: Schema.Literal("WORKFLOW", "TASK"),
  stepReadableId: optional(Schema.String)
})

/**
 * `WorkflowTriggers`: the crons and event keys that trigger a version (a list with none is left
 * out). A workflow's crons, declared or created through `Crons`, follow its latest version.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowTriggers = Schema.Struct({
  crons: optional(Schema.Array(Schema.Struct({ cron: optional(Schema.String), parent_id: optional(Schema.String) }))),
  events: optional(Schema.Array(Schema.Struct({ event_key: optional(Schema.String), parent_id: optional(Schema.String) })))
})

/**
 * `WorkflowVersion` (the fields this SDK reads): a registered version of a workflow.
 * `workflowConfig` is the registration as Hatchet stores it (its own Go field names: `Name`,
 * `Tasks`, `ReadableId`…; tasks in dependency order); `workflow` is the workflow the version was
 * asked of.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowVersion = Schema.Struct({
  metadata: ResourceMeta,
  version: Schema.String,
  order: Schema.Number,
  sticky: optional(Schema.Literal("soft", "hard")),
  defaultPriority: optional(Schema.Number),
  workflow: optional(WorkflowInfo),
  triggers: optional(WorkflowTriggers),
  scheduleTimeout: optional(Schema.String),
  workflowConfig: optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  v1Concurrency: optional(Schema.Array(ConcurrencySetting)),
  inputJsonSchema: optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

/**
 * A registered version of a workflow, with the registration as Hatchet stores it.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowVersion extends Schema.Schema.Type<typeof WorkflowVersion> {}

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
 * How `pause` pauses a workflow.
 *
 * @since 0.1.0
 * @category models
 */
export interface PauseWorkflowOptions {
  /**
   * How long a task of the workflow may wait, from its creation, while the workflow is paused;
   * then it is cancelled. A whole number of milliseconds, sent as Hatchet's `ms` / `s` / `m` / `h`
   * duration.
   */
  readonly queueTtl: Duration.DurationInput
  /** What the workflow's crons do while it is paused (default `QUEUE`). */
  readonly cronRuns?: PausedRunBehavior | undefined
  /** What the workflow's scheduled runs do while it is paused (default `QUEUE`). */
  readonly scheduledRuns?: PausedRunBehavior | undefined
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
  /**
   * A version of a workflow by the workflow's id: the latest, or the one whose id is given (the
   * ids are in `get`'s `versions` and in runs). An unknown version fails with `RestError` 404.
   */
  readonly version: (workflowId: string, versionId?: string) => Effect.Effect<WorkflowVersion, RestError>
  /** The workflow with exactly this name (as registered, namespace included), if any. */
  readonly findByName: (name: string) => Effect.Effect<Option.Option<WorkflowInfo>, RestError>
  /**
   * Pauses a workflow by id, or changes how it is paused (see the module's description): the
   * workflow as the lists show it. A `queueTtl` that is not a positive whole number of
   * milliseconds fails with `RestError` `Encode` before anything is sent.
   */
  readonly pause: (workflowId: string, options: PauseWorkflowOptions) => Effect.Effect<WorkflowInfo, RestError>
  /** Unpauses a workflow by id: its held tasks go to the workers. Unpausing a running workflow changes nothing. */
  readonly unpause: (workflowId: string) => Effect.Effect<WorkflowInfo, RestError>
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
    version: (workflowId, versionId) => rest.get(`${path(workflowId)}/versions`, WorkflowVersion, { query: { version: versionId } }),
    // the name filter matches parts of names: take the exact one among the first page
    findByName: (name) =>
      Effect.map(list({ name, limit: 1_000 }), (page) => Option.fromNullable(page.rows?.find((row) => row.name === name))),
    pause: (workflowId, options) =>
      Either.match(toGoDuration(options.queueTtl), {
        onLeft: (problem) =>
          Effect.fail(
            new RestError({ reason: "Encode", method: "PATCH", url: path(workflowId), cause: new Error(`queueTtl: ${problem}`) })
          ),
        onRight: (ttl) =>
          rest.patch(path(workflowId), WorkflowInfo, {
            body: {
              pause: {
                action: "pause",
                pausedWorkflowCronRunQueueBehavior: options.cronRuns ?? "QUEUE",
                pausedWorkflowScheduledRunQueueBehavior: options.scheduledRuns ?? "QUEUE",
                pausedWorkflowQueueTTL: ttl
              }
            }
          })
      }),
    unpause: (workflowId) => rest.patch(path(workflowId), WorkflowInfo, { body: { pause: { action: "unpause" } } }),
    delete: (workflowId) => rest.del(path(workflowId), Schema.Void)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Workflows, never, RestClient> = Layer.effect(Workflows, make)
