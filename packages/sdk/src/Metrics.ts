/**
 * The tenant's metrics through Hatchet's REST API: runs by status, what waits in each queue,
 * per task what waits and what runs (what an autoscaler reads), and the tenant's Prometheus
 * metrics.
 *
 * | operation | route |
 * |---|---|
 * | `runCounts` | `GET /api/v1/stable/tenants/{tenant}/task-metrics` |
 * | `queues` | `GET /api/v1/tenants/{tenant}/step-run-queue-metrics` |
 * | `taskStats` | `GET /api/v1/tenants/{tenant}/task-stats` |
 * | `prometheus` | `GET /api/v1/tenants/{tenant}/prometheus-metrics` |
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Metrics } from "@effect-hatchet/sdk"
 *
 * // how many `charge` tasks wait for a worker, and since when
 * const backlog = Effect.gen(function*() {
 *   const metrics = yield* Metrics.Metrics
 *   const stats = yield* metrics.taskStats(["charge"])
 *   return stats.charge?.queued?.total ?? 0
 * })
 * ```
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
import { TaskStatus } from "./Runs.js"

/**
 * `V1TaskRunMetric`: how many runs have one status (a DAG counts once).
 *
 * @since 0.1.0
 * @category models
 */
export const RunCount = Schema.Struct({
  status: TaskStatus,
  count: Schema.Number,
  runningDetailCount: optional(Schema.Struct({ evicted: Schema.Number, onWorker: Schema.Number }))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RunCount extends Schema.Schema.Type<typeof RunCount> {}

/**
 * `ConcurrencyStat`: per concurrency strategy of a task, the count for each key.
 *
 * @since 0.1.0
 * @category models
 */
export const ConcurrencyStat = Schema.Struct({
  expression: optional(Schema.String),
  /** The strategy, e.g. `GROUP_ROUND_ROBIN`. */
  type: optional(Schema.String),
  keys: optional(Schema.Record({ key: Schema.String, value: Schema.Number }))
})

/**
 * `TaskStatusStat`: how many tasks, the oldest's creation time (with and without retries), per
 * queue and per concurrency key.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskStatusStat = Schema.Struct({
  total: Schema.optionalWith(Schema.Number, { exact: true, default: () => 0 }),
  oldest: optional(Schema.DateFromString),
  oldestExcludingRetries: optional(Schema.DateFromString),
  queues: optional(Schema.Record({ key: Schema.String, value: Schema.Number })),
  concurrency: optional(Schema.Array(ConcurrencyStat))
})

/**
 * `TaskStats`: per task name, what waits for a worker and what runs.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskStats = Schema.Record({
  key: Schema.String,
  value: Schema.Struct({ queued: optional(TaskStatusStat), running: optional(TaskStatusStat) })
})

/**
 * @since 0.1.0
 * @category models
 */
export type TaskStats = typeof TaskStats.Type

/**
 * `TenantStepRunQueueMetrics.queues`: per queue (`<workflow>:<task>`) the tasks waiting in it, and
 * per workflow name the runs waiting on each key of a workflow-level concurrency limit.
 *
 * @since 0.1.0
 * @category models
 */
export const QueueCounts = Schema.Record({
  key: Schema.String,
  value: Schema.Union(Schema.Number, Schema.Record({ key: Schema.String, value: Schema.Number }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type QueueCounts = typeof QueueCounts.Type

/**
 * Which runs `runCounts` counts: created since `since` (and up to `until`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunCountsOptions {
  readonly since: Date
  readonly until?: Date | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  readonly parentTaskExternalId?: string | undefined
  readonly triggeringEventExternalId?: string | undefined
  /** Runs with any one of these pairs. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MetricsShape {
  /** Runs by status, each status present (0 when none). */
  readonly runCounts: (options: RunCountsOptions) => Effect.Effect<Readonly<Record<TaskStatus, number>>, RestError>
  /** What waits in each queue. */
  readonly queues: () => Effect.Effect<QueueCounts, RestError>
  /** Per task name what waits and what runs; every name in `taskNames` is present. */
  readonly taskStats: (taskNames?: ReadonlyArray<string>) => Effect.Effect<TaskStats, RestError>
  /** The tenant's metrics in Prometheus' text format (Hatchet answers 400 unless it has them enabled). */
  readonly prometheus: () => Effect.Effect<string, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Metrics extends Context.Tag("@effect-hatchet/sdk/Metrics")<Metrics, MetricsShape>() {}

const RunCounts = Schema.Array(RunCount)
const QueueMetrics = Schema.Struct({ queues: Schema.optionalWith(QueueCounts, { exact: true, default: () => ({}) }) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<MetricsShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const tenant = encodeURIComponent(rest.tenantId)
  return {
    runCounts: (options) =>
      Effect.map(
        rest.get(`/api/v1/stable/tenants/${tenant}/task-metrics`, RunCounts, {
          query: {
            since: options.since,
            until: options.until,
            workflow_ids: options.workflowIds,
            parent_task_external_id: options.parentTaskExternalId,
            triggering_event_external_id: options.triggeringEventExternalId,
            additional_metadata: metadataPairs(options.additionalMetadata)
          }
        }),
        (rows) => {
          const counts: Record<TaskStatus, number> = { QUEUED: 0, RUNNING: 0, COMPLETED: 0, CANCELLED: 0, FAILED: 0 }
          for (const row of rows) counts[row.status] = row.count
          return counts
        }
      ),
    queues: () => Effect.map(rest.get(`/api/v1/tenants/${tenant}/step-run-queue-metrics`, QueueMetrics), (m) => m.queues),
    taskStats: (taskNames) =>
      rest.get(`/api/v1/tenants/${tenant}/task-stats`, TaskStats, {
        query: { taskNames: taskNames === undefined || taskNames.length === 0 ? undefined : taskNames.join(",") }
      }),
    prometheus: () => rest.text("GET", `/api/v1/tenants/${tenant}/prometheus-metrics`)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Metrics, never, RestClient> = Layer.effect(Metrics, make)
