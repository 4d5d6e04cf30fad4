/**
 * Workflow runs through Hatchet's REST API: details, status, listing, cancel, replay, task
 * logs and OpenTelemetry traces. Responses are decoded with Schemas written from the OpenAPI spec (only the fields this SDK
 * reads; unknown fields are ignored, so newer engines keep working).
 *
 * | operation | route |
 * |---|---|
 * | `get` | `GET /api/v1/stable/workflow-runs/{run}` |
 * | `status` | `GET /api/v1/stable/workflow-runs/{run}/status` |
 * | `list` | `GET /api/v1/stable/tenants/{tenant}/workflow-runs` |
 * | `listIds` | `GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids` |
 * | `trigger` | `POST /api/v1/stable/tenants/{tenant}/workflow-runs/trigger` |
 * | `cancel` | `POST /api/v1/stable/tenants/{tenant}/tasks/cancel` |
 * | `replay` | `POST /api/v1/stable/tenants/{tenant}/tasks/replay` |
 * | `logs` | `GET /api/v1/stable/tasks/{task}/logs` |
 * | `trace` | `GET /api/v1/stable/tenants/{tenant}/traces` |
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Runs } from "@effect-hatchet/sdk"
 *
 * const failedLastHour = Effect.gen(function*() {
 *   const runs = yield* Runs.Runs
 *   const page = yield* runs.list({ statuses: ["FAILED"] })
 *   yield* runs.replay({ ids: page.rows.map((row) => row.metadata.id) })
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { metadataPairs, optionalField as optional } from "./internal/rest.js"
import { RestClient, type RestClientShape } from "./RestClient.js"

// -----------------------------------------------------------------------------
// models (OpenAPI `components/schemas/v1`)
// -----------------------------------------------------------------------------

/**
 * `V1TaskStatus`.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskStatus = Schema.Literal("QUEUED", "RUNNING", "COMPLETED", "CANCELLED", "FAILED")

/**
 * @since 0.1.0
 * @category models
 */
export type TaskStatus = typeof TaskStatus.Type

const Json = Schema.Unknown
const Metadata = Schema.Record({ key: Schema.String, value: Json })

/**
 * `APIResourceMeta` (the id, and when it was created).
 *
 * @since 0.1.0
 * @category models
 */
export const ResourceMeta = Schema.Struct({ id: Schema.String, createdAt: optional(Schema.Date) })

/** The fields `V1WorkflowRun` and `V1TaskSummary` share. */
const runFields = {
  metadata: ResourceMeta,
  status: TaskStatus,
  input: Json,
  output: Json,
  errorMessage: optional(Schema.String),
  additionalMetadata: optional(Metadata),
  startedAt: optional(Schema.Date),
  finishedAt: optional(Schema.Date),
  /** Milliseconds. */
  duration: optional(Schema.Number),
  parentTaskExternalId: optional(Schema.String),
  tenantId: Schema.String,
  displayName: Schema.String,
  workflowId: Schema.String,
  workflowVersionId: optional(Schema.String)
}

/**
 * `V1WorkflowRun`.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowRun = Schema.Struct({
  ...runFields,
  createdAt: optional(Schema.Date)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowRun extends Schema.Schema.Type<typeof WorkflowRun> {}

/**
 * `V1TaskSummary`: a task, or in a run list with `onlyTasks: false`, a run.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskSummary = Schema.Struct({
  ...runFields,
  taskExternalId: Schema.String,
  taskId: Schema.Number,
  type: Schema.Literal("DAG", "TASK"),
  workflowName: optional(Schema.String),
  workflowRunExternalId: Schema.String,
  actionId: optional(Schema.String),
  retryCount: optional(Schema.Number),
  attempt: optional(Schema.Number),
  numSpawnedChildren: Schema.Number,
  createdAt: Schema.Date,
  /** A durable task evicted from its worker, waiting on the engine (its status stays RUNNING). */
  isEvicted: optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskSummary extends Schema.Schema.Type<typeof TaskSummary> {}

/**
 * `V1TaskEvent`. `eventType` is a `V1TaskEventType` (`QUEUED`, `STARTED`, `FINISHED`, `FAILED`,
 * `RETRYING`, `CANCELLED`, `TIMED_OUT`, ...), kept as a string so new types do not break decoding.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskEvent = Schema.Struct({
  id: Schema.Number,
  taskId: Schema.String,
  timestamp: Schema.Date,
  eventType: Schema.String,
  message: Schema.String,
  errorMessage: optional(Schema.String),
  output: optional(Schema.String),
  workerId: optional(Schema.String),
  taskDisplayName: optional(Schema.String),
  retryCount: optional(Schema.Number),
  attempt: optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskEvent extends Schema.Schema.Type<typeof TaskEvent> {}

/**
 * `V1WorkflowRunDetails`.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkflowRunDetails = Schema.Struct({
  run: WorkflowRun,
  tasks: Schema.Array(TaskSummary),
  taskEvents: Schema.Array(TaskEvent),
  shape: Schema.Array(Schema.Struct({
    taskExternalId: Schema.String,
    stepId: Schema.String,
    childrenStepIds: Schema.Array(Schema.String),
    taskName: Schema.String
  }))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkflowRunDetails extends Schema.Schema.Type<typeof WorkflowRunDetails> {}

/**
 * `PaginationResponse`.
 *
 * @since 0.1.0
 * @category models
 */
export const Pagination = Schema.Struct({
  current_page: optional(Schema.Number),
  next_page: optional(Schema.Number),
  num_pages: optional(Schema.Number)
})

/**
 * `V1TaskSummaryList`.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskSummaryList = Schema.Struct({
  pagination: Pagination,
  rows: Schema.Array(TaskSummary)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface TaskSummaryList extends Schema.Schema.Type<typeof TaskSummaryList> {}

/**
 * `V1LogLine`.
 *
 * @since 0.1.0
 * @category models
 */
export const LogLine = Schema.Struct({
  createdAt: Schema.Date,
  message: Schema.String,
  metadata: Json,
  level: optional(Schema.String),
  taskExternalId: optional(Schema.String),
  taskDisplayName: optional(Schema.String),
  retryCount: optional(Schema.Number),
  attempt: optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface LogLine extends Schema.Schema.Type<typeof LogLine> {}

/**
 * `V1LogLineList`.
 *
 * @since 0.1.0
 * @category models
 */
export const LogLineList = Schema.Struct({
  pagination: optional(Pagination),
  rows: Schema.optionalWith(Schema.Array(LogLine), { exact: true, default: () => [] })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface LogLineList extends Schema.Schema.Type<typeof LogLineList> {}

/**
 * `OtelSpanKind`.
 *
 * @since 0.1.0
 * @category models
 */
export const OtelSpanKind = Schema.Literal("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")

/**
 * `OtelStatusCode`.
 *
 * @since 0.1.0
 * @category models
 */
export const OtelStatusCode = Schema.Literal("UNSET", "OK", "ERROR")

/** Attributes as Hatchet answers them: strings, other values as their JSON text; null as none. */
const OtelAttributes = Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
  exact: true,
  nullable: true,
  default: () => ({})
})

/**
 * `OtelSpan`: a span an SDK exported to the engine's OTLP collector. Ids are hex; `createdAt` is
 * the span's start.
 *
 * @since 0.1.0
 * @category models
 */
export const OtelSpan = Schema.Struct({
  traceId: Schema.String,
  spanId: Schema.String,
  /** Absent for a root span; a task's step-run span hangs under its workflow run's derived span id. */
  parentSpanId: optional(Schema.String),
  spanName: Schema.String,
  spanKind: OtelSpanKind,
  serviceName: Schema.String,
  statusCode: OtelStatusCode,
  statusMessage: optional(Schema.String),
  durationNs: Schema.Number,
  createdAt: Schema.Date,
  resourceAttributes: OtelAttributes,
  spanAttributes: OtelAttributes,
  scopeName: optional(Schema.String),
  scopeVersion: optional(Schema.String),
  retryCount: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export interface OtelSpan extends Schema.Schema.Type<typeof OtelSpan> {}

/**
 * `OtelSpanList`: a page of a trace's spans in start order (`{}`, no rows, past its end).
 *
 * @since 0.1.0
 * @category models
 */
export const OtelSpanList = Schema.Struct({
  pagination: optional(Pagination),
  rows: Schema.optionalWith(Schema.Array(OtelSpan), { exact: true, default: () => [] })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface OtelSpanList extends Schema.Schema.Type<typeof OtelSpanList> {}

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

/**
 * `V1TaskFilter`: which runs a bulk cancel or replay selects.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskFilter {
  readonly since: Date
  readonly until?: Date | undefined
  readonly statuses?: ReadonlyArray<TaskStatus> | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  /** Matched as `key:value` pairs. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
}

/**
 * What to cancel or replay: run (or task) ids, or a filter.
 *
 * @since 0.1.0
 * @category models
 */
export type Selection =
  | { readonly ids: ReadonlyArray<string> }
  | { readonly filter: TaskFilter }

/**
 * Options of `list` (the `v1-workflow-run:list` query).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Default: an hour ago (as the official SDKs). */
  readonly since?: Date | undefined
  readonly until?: Date | undefined
  readonly statuses?: ReadonlyArray<TaskStatus> | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  readonly workerId?: string | undefined
  /** Matched as `key:value` pairs, combined with `additionalMetadataOperator` (default OR). */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  readonly additionalMetadataOperator?: "AND" | "OR" | undefined
  /** List tasks instead of runs. Default false. */
  readonly onlyTasks?: boolean | undefined
  readonly parentTaskExternalId?: string | undefined
  readonly triggeringEventExternalId?: string | undefined
  /** Default true. */
  readonly includePayloads?: boolean | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/**
 * Options of `listIds`: runs created after `since` (default an hour ago) and up to `until`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListIdsOptions {
  readonly since?: Date | undefined
  readonly until?: Date | undefined
  readonly statuses?: ReadonlyArray<TaskStatus> | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  /** Runs with any one of these pairs. */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
}

/**
 * Options of `trigger`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TriggerOptions {
  readonly additionalMetadata?: Readonly<Record<string, unknown>> | undefined
  /** 1 (lowest) to 3. */
  readonly priority?: 1 | 2 | 3 | undefined
}

/**
 * Options of `logs`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LogsOptions {
  readonly limit?: number | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
  readonly search?: string | undefined
  readonly levels?: ReadonlyArray<"DEBUG" | "INFO" | "WARN" | "ERROR"> | undefined
  readonly orderByDirection?: "ASC" | "DESC" | undefined
  /** 1 for the first attempt. */
  readonly attempt?: number | undefined
}

/**
 * Options of `trace`: a page of spans (Hatchet answers 1,000 from the first by default).
 *
 * @since 0.1.0
 * @category models
 */
export interface TraceOptions {
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface RunsShape {
  /** A run's details: the run, its tasks, their events, the DAG shape. */
  readonly get: (runId: string) => Effect.Effect<WorkflowRunDetails, RestError>
  readonly status: (runId: string) => Effect.Effect<TaskStatus, RestError>
  readonly list: (options?: ListOptions) => Effect.Effect<TaskSummaryList, RestError>
  /** The ids of the runs matching `options`, without their rows. */
  readonly listIds: (options?: ListIdsOptions) => Effect.Effect<ReadonlyArray<string>, RestError>
  /**
   * Triggers a run of the workflow named `workflowName` over REST and returns its details (for a
   * typed run of a definition, over gRPC, use `Hatchet.run` / `Hatchet.runNoWait`).
   */
  readonly trigger: (
    workflowName: string,
    input: Readonly<Record<string, unknown>>,
    options?: TriggerOptions
  ) => Effect.Effect<WorkflowRunDetails, RestError>
  /** Cancels runs or tasks; returns the ids of the cancelled tasks. An empty id list sends nothing. */
  readonly cancel: (selection: Selection) => Effect.Effect<ReadonlyArray<string>, RestError>
  /** Replays runs or tasks; returns the ids of the replayed tasks. An empty id list sends nothing. */
  readonly replay: (selection: Selection) => Effect.Effect<ReadonlyArray<string>, RestError>
  /** A task run's log lines (`taskRunId` is a task external id). */
  readonly logs: (taskRunId: string, options?: LogsOptions) => Effect.Effect<LogLineList, RestError>
  /**
   * The OpenTelemetry trace of a run (`runId` is a workflow run or task external id): the spans
   * its workers exported to the engine's collector (the official SDKs' `HatchetInstrumentor`).
   * Fails with a 404 `RestError` when no span names the run.
   */
  readonly trace: (runId: string, options?: TraceOptions) => Effect.Effect<OtelSpanList, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Runs extends Context.Tag("@effect-hatchet/sdk/Runs")<Runs, RunsShape>() {}

// -----------------------------------------------------------------------------
// implementation
// -----------------------------------------------------------------------------

/** How far back `list` looks when `since` is not given (as the official SDKs). */
const DEFAULT_LIST_WINDOW = Duration.hours(1)

const Ids = Schema.Struct({ ids: Schema.optionalWith(Schema.Array(Schema.String), { exact: true, default: () => [] }) })

/** The JSON body of `V1CancelTaskRequest` / `V1ReplayTaskRequest`. */
const selectionBody = (selection: Selection) =>
  "ids" in selection
    ? { externalIds: [...selection.ids] }
    : {
      filter: {
        since: selection.filter.since.toISOString(),
        ...(selection.filter.until !== undefined ? { until: selection.filter.until.toISOString() } : {}),
        ...(selection.filter.statuses !== undefined ? { statuses: [...selection.filter.statuses] } : {}),
        ...(selection.filter.workflowIds !== undefined ? { workflowIds: [...selection.filter.workflowIds] } : {}),
        ...(selection.filter.additionalMetadata !== undefined
          ? { additionalMetadata: metadataPairs(selection.filter.additionalMetadata) }
          : {})
      }
    }

const path = (id: string) => encodeURIComponent(id)

/** `V1WorkflowRunExternalIdList`. */
const RunIds = Schema.Array(Schema.String)

const makeWith = (rest: RestClientShape): RunsShape => {
  const tasksOperation = (operation: "cancel" | "replay") => (selection: Selection) =>
    "ids" in selection && selection.ids.length === 0
      ? Effect.succeed([])
      : rest.post(`/api/v1/stable/tenants/${path(rest.tenantId)}/tasks/${operation}`, Ids, {
        body: selectionBody(selection)
      }).pipe(Effect.map((response) => response.ids))

  return {
    get: (runId) => rest.get(`/api/v1/stable/workflow-runs/${path(runId)}`, WorkflowRunDetails),
    status: (runId) => rest.get(`/api/v1/stable/workflow-runs/${path(runId)}/status`, TaskStatus),
    list: (options = {}) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          rest.get(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs`, TaskSummaryList, {
            query: {
              since: options.since ?? new Date(now - Duration.toMillis(DEFAULT_LIST_WINDOW)),
              until: options.until,
              statuses: options.statuses,
              workflow_ids: options.workflowIds,
              worker_id: options.workerId,
              additional_metadata: metadataPairs(options.additionalMetadata),
              additional_metadata_operator: options.additionalMetadataOperator,
              only_tasks: options.onlyTasks ?? false,
              parent_task_external_id: options.parentTaskExternalId,
              triggering_event_external_id: options.triggeringEventExternalId,
              include_payloads: options.includePayloads,
              offset: options.offset,
              limit: options.limit
            }
          })
      ),
    trigger: (workflowName, input, options = {}) =>
      rest.post(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs/trigger`, WorkflowRunDetails, {
        body: {
          workflowName,
          input,
          ...(options.additionalMetadata !== undefined ? { additionalMetadata: options.additionalMetadata } : {}),
          ...(options.priority !== undefined ? { priority: options.priority } : {})
        }
      }),
    listIds: (options = {}) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          rest.get(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs/external-ids`, RunIds, {
            query: {
              since: options.since ?? new Date(now - Duration.toMillis(DEFAULT_LIST_WINDOW)),
              until: options.until,
              statuses: options.statuses,
              workflow_ids: options.workflowIds,
              additional_metadata: metadataPairs(options.additionalMetadata)
            }
          })
      ),
    cancel: tasksOperation("cancel"),
    replay: tasksOperation("replay"),
    logs: (taskRunId, options = {}) =>
      rest.get(`/api/v1/stable/tasks/${path(taskRunId)}/logs`, LogLineList, {
        query: {
          limit: options.limit,
          since: options.since,
          until: options.until,
          search: options.search,
          levels: options.levels,
          order_by_direction: options.orderByDirection,
          attempt: options.attempt
        }
      }),
    trace: (runId, options = {}) =>
      rest.get(`/api/v1/stable/tenants/${path(rest.tenantId)}/traces`, OtelSpanList, {
        query: { run_external_id: runId, offset: options.offset, limit: options.limit }
      })
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<RunsShape, never, RestClient> = Effect.map(RestClient, makeWith)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Runs, never, RestClient> = Layer.effect(Runs, make)
