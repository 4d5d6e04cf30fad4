/**
 * The records a durable store keeps, as encoded rows: JSON values only, records referring to each
 * other by id, no proto types (a workflow version keeps its registration as the proto3 JSON the
 * SDK's request maps to, the source it is rebuilt from). Each row has a Schema, so a store that
 * reads rows back (a SQLite layer) decodes and checks them.
 *
 * A run is one document with its tasks (their states, timelines and logs): a DAG's tasks change
 * together and are pruned together. The live runtime (workers, streams, subscribers, queues,
 * timers, a queued task's queue token, concurrency slots) is not stored: it is rebuilt from these.
 *
 * @internal
 */
import { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import * as Schema from "effect/Schema"
import type { JsonValue } from "../domain/json.js"
import { base64, goMarshal } from "../domain/json.js"
import type {
  CronTrigger,
  DurableLog,
  EventFilter,
  MatchCondition,
  PushedEvent,
  RateLimit,
  Run,
  ScheduledRun,
  Task,
  TaskState,
  Tenant,
  Workflow,
  WorkflowVersion
} from "../domain/model.js"
import { taskIdOf } from "../domain/model.js"
import { eventsOf } from "../domain/taskEvents.js"

const Json: Schema.Schema<JsonValue> = Schema.Unknown as unknown as Schema.Schema<JsonValue>
const Millis = Schema.Number

/** A tenant. */
export const StoredTenant = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  createdAt: Millis
})
export type StoredTenant = typeof StoredTenant.Type

/** A version of a workflow: its registration, and the ids the engine gave it and its steps. */
export const StoredVersion = Schema.Struct({
  id: Schema.String,
  order: Schema.Number,
  checksum: Schema.String,
  createdAt: Millis,
  /** Step ids by readable id. */
  stepIds: Schema.Record({ key: Schema.String, value: Schema.String }),
  /** The `CreateWorkflowVersionRequest` as proto3 JSON. */
  registration: Json
})
export type StoredVersion = typeof StoredVersion.Type

/** An event filter of a workflow (declared by a version, or created through REST). */
const StoredFilter = Schema.Struct({
  id: Schema.String,
  scope: Schema.String,
  expression: Schema.String,
  payload: Json,
  isDeclarative: Schema.Boolean,
  createdAt: Millis,
  updatedAt: Millis
})

/** A workflow, with its versions (oldest first) and its event filters (in creation order). */
export const StoredWorkflow = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  name: Schema.String,
  createdAt: Millis,
  updatedAt: Millis,
  /** While paused: the pause's behaviors and TTL text (its held tasks are queued tasks of its runs). */
  paused: Schema.optional(Schema.Struct({
    cronRunQueueBehavior: Schema.Literal("QUEUE", "DROP"),
    scheduledRunQueueBehavior: Schema.Literal("QUEUE", "DROP"),
    queueTtl: Schema.String
  })),
  filters: Schema.Array(StoredFilter),
  versions: Schema.Array(StoredVersion)
})
export type StoredWorkflow = typeof StoredWorkflow.Type

/** A task's state; a queued task's queue token and an attempt's worker object are runtime. */
export const StoredTaskState = Schema.Union(
  Schema.TaggedStruct("AwaitingSlot", {}),
  Schema.TaggedStruct("Queued", {}),
  /** In the buffer of its batch group `key`. */
  Schema.TaggedStruct("Batching", { key: Schema.String }),
  Schema.TaggedStruct("Backoff", { at: Millis, reacquire: Schema.Boolean, internal: Schema.optional(Schema.Literal(true)) }),
  Schema.TaggedStruct("Assigned", {
    workerId: Schema.optional(Schema.String),
    timeoutAt: Millis,
    assignedAt: Millis,
    /** A batch member's batch: its id, size and the task's index in it. */
    batch: Schema.optional(Schema.Struct({ id: Schema.String, size: Schema.Number, index: Schema.Number }))
  }),
  Schema.TaggedStruct("Evicted", { at: Millis, reason: Schema.String }),
  Schema.TaggedStruct("Completed", {
    output: Schema.String,
    completedBy: Schema.optional(Schema.String),
    skipped: Schema.Boolean,
    at: Millis
  }),
  Schema.TaggedStruct("Failed", { error: Schema.String, at: Millis, restError: Schema.optional(Schema.String) }),
  Schema.TaggedStruct("Cancelled", { at: Millis })
)
export type StoredTaskState = typeof StoredTaskState.Type

const StoredTaskEvent = Schema.Struct({
  id: Schema.Number,
  timestamp: Millis,
  eventType: Schema.String,
  message: Schema.String,
  errorMessage: Schema.optional(Schema.String),
  output: Schema.optional(Schema.String),
  workerId: Schema.optional(Schema.String),
  retryCount: Schema.Number
})

const StoredLogLine = Schema.Struct({
  createdAt: Millis,
  message: Schema.String,
  level: Schema.String,
  metadata: Schema.optional(Json),
  retryCount: Schema.Number
})

const StoredCondition = Schema.Struct({
  eventType: Schema.Literal("INTERNAL", "USER"),
  eventKey: Schema.String,
  hint: Schema.optional(Schema.String),
  readableDataKey: Schema.String,
  expression: Schema.String,
  action: Schema.Literal("QUEUE", "CANCEL", "SKIP", "CREATE_MATCH", "CREATE"),
  orGroupId: Schema.String,
  sleep: Schema.optional(Schema.Struct({ sleepFor: Schema.String, until: Millis })),
  satisfied: Schema.Boolean,
  data: Schema.optional(Json)
})

/** Bytes (a durable entry's result, a signal's data) as base64. */
const Base64 = Schema.String

/** An entry of a durable task's event log; a waiting WAIT_FOR keeps its match's conditions. */
const StoredDurableEntry = Schema.Struct({
  kind: Schema.Literal("RUN", "WAIT_FOR", "MEMO"),
  nodeId: Schema.Number,
  branchId: Schema.Number,
  invocationCount: Schema.Number,
  idempotencyKey: Schema.String,
  createdAt: Millis,
  label: Schema.optional(Schema.String),
  describe: Schema.String,
  waitData: Schema.optional(Json),
  childRunId: Schema.optional(Schema.String),
  match: Schema.optional(Schema.Array(StoredCondition)),
  satisfied: Schema.Boolean,
  satisfiedOrder: Schema.optional(Schema.Number),
  satisfiedAt: Schema.optional(Millis),
  result: Schema.optional(Base64),
  isFailure: Schema.Boolean,
  errorMessage: Schema.optional(Schema.String)
})

/** A durable task's event log file, its branch points and entries. */
const StoredDurableLog = Schema.Struct({
  invocationCount: Schema.Number,
  latestNodeId: Schema.Number,
  latestBranchId: Schema.Number,
  satisfiedCount: Schema.Number,
  branchPoints: Schema.Array(Schema.Struct({
    branchId: Schema.Number,
    firstNodeIdInNewBranch: Schema.Number,
    parentBranchId: Schema.Number
  })),
  entries: Schema.Array(StoredDurableEntry)
})

/** A signal of the older durable protocol: its waiting match's conditions, or its data. */
const StoredSignal = Schema.Struct({
  signalKey: Schema.String,
  match: Schema.optional(Schema.Array(StoredCondition)),
  completed: Schema.optional(Base64)
})

/** A task of a run (its current incarnation). */
export const StoredTask = Schema.Struct({
  id: Schema.Number,
  externalId: Schema.String,
  stepId: Schema.String,
  priority: Schema.Number,
  createdAt: Millis,
  state: StoredTaskState,
  retryCount: Schema.Number,
  appRetryCount: Schema.Number,
  internalRetryCount: Schema.Number,
  desiredWorkerId: Schema.optional(Schema.String),
  startedAt: Schema.optional(Millis),
  stepRunErrors: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** Child runs by spawn key. */
  spawned: Schema.Record({ key: Schema.String, value: Schema.String }),
  /** Its concurrency keys, and each strategy's evaluated `max_runs_expression` (null: none). */
  concurrencyKeys: Schema.optional(Schema.Struct({
    keys: Schema.Array(Schema.String),
    maxRuns: Schema.Array(Schema.NullOr(Schema.Number))
  })),
  rateLimits: Schema.Array(Schema.Struct({
    key: Schema.String,
    units: Schema.Number,
    limit: Schema.optional(Schema.Number),
    window: Schema.String
  })),
  /** Its batch group key, a batch step's task. */
  batchKey: Schema.optional(Schema.String),
  /** The `triggers` of its payload besides the filter payload. */
  triggerData: Schema.Record({ key: Schema.String, value: Json }),
  events: Schema.Array(StoredTaskEvent),
  logs: Schema.Array(StoredLogLine),
  /** A durable task's event log, from its first assignment. */
  durable: Schema.optional(StoredDurableLog),
  /** Signals of the older durable protocol. */
  signals: Schema.Array(StoredSignal)
})
export type StoredTask = typeof StoredTask.Type

/** The match a step's task waits on (its sleeps' deadlines included, to arm them again). */
export const StoredMatch = Schema.Struct({
  stepId: Schema.String,
  conditions: Schema.Array(StoredCondition),
  existing: Schema.optional(Json)
})
export type StoredMatch = typeof StoredMatch.Type

/** A run with its tasks. */
export const StoredRun = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  workflowId: Schema.String,
  versionId: Schema.String,
  inputRaw: Schema.String,
  metadataRaw: Schema.String,
  priority: Schema.Number,
  createdAt: Millis,
  parentTaskExternalId: Schema.optional(Schema.String),
  childIndex: Schema.optional(Schema.Number),
  childKey: Schema.optional(Schema.String),
  triggeringEvent: Schema.optional(Schema.Struct({ id: Schema.String, key: Schema.String })),
  filterPayload: Json,
  desiredWorkerId: Schema.optional(Schema.String),
  desiredLabels: Schema.optional(Schema.Record({ key: Schema.String, value: Json })),
  /** Task external ids by step id, generated when the run was created. */
  taskIds: Schema.Record({ key: Schema.String, value: Schema.String }),
  finishedAt: Schema.optional(Millis),
  tasks: Schema.Array(StoredTask),
  /** The matches of the steps still waiting on conditions. */
  matches: Schema.Array(StoredMatch)
})
export type StoredRun = typeof StoredRun.Type

/** A pushed event. */
export const StoredEvent = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  key: Schema.String,
  payload: Schema.String,
  additionalMetadata: Schema.optional(Schema.String),
  scope: Schema.optional(Schema.String),
  priority: Schema.optional(Schema.Number),
  createdAt: Millis,
  /** The incoming webhook that made it, if one did. */
  triggeringWebhookName: Schema.optional(Schema.String),
  /** The runs it triggered, each with the filter that matched. */
  triggeredRuns: Schema.Array(Schema.Struct({ runId: Schema.String, filterId: Schema.optional(Schema.String) }))
})
export type StoredEvent = typeof StoredEvent.Type

/** A cron trigger. */
export const StoredCron = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  workflowId: Schema.String,
  expression: Schema.String,
  name: Schema.String,
  inputRaw: Schema.String,
  metadataRaw: Schema.String,
  priority: Schema.Number,
  enabled: Schema.Boolean,
  method: Schema.Literal("DEFAULT", "API"),
  createdAt: Millis,
  updatedAt: Millis
})
export type StoredCron = typeof StoredCron.Type

/** A scheduled run not yet fired. */
export const StoredScheduled = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  workflowId: Schema.String,
  versionId: Schema.String,
  triggerAt: Millis,
  inputRaw: Schema.String,
  metadataRaw: Schema.String,
  priority: Schema.Number,
  method: Schema.Literal("DEFAULT", "API"),
  createdAt: Millis,
  updatedAt: Millis
})
export type StoredScheduled = typeof StoredScheduled.Type

/** A rate limit key of a tenant. */
export const StoredRateLimit = Schema.Struct({
  tenantId: Schema.String,
  key: Schema.String,
  limitValue: Schema.Number,
  value: Schema.Number,
  window: Schema.String,
  lastRefill: Millis
})
export type StoredRateLimit = typeof StoredRateLimit.Type

/** A stored record that is gone. */
export const StoredRemoval = Schema.Struct({
  kind: Schema.Literal("run", "event", "cron", "scheduled"),
  tenantId: Schema.String,
  id: Schema.String
})
export type StoredRemoval = typeof StoredRemoval.Type

/** What one operation changed, as rows: written together (one transaction in a SQL store). */
export const StoredChanges = Schema.Struct({
  tenants: Schema.Array(StoredTenant),
  workflows: Schema.Array(StoredWorkflow),
  runs: Schema.Array(StoredRun),
  events: Schema.Array(StoredEvent),
  crons: Schema.Array(StoredCron),
  scheduled: Schema.Array(StoredScheduled),
  rateLimits: Schema.Array(StoredRateLimit),
  removed: Schema.Array(StoredRemoval)
})
export type StoredChanges = typeof StoredChanges.Type

// -----------------------------------------------------------------------------
// encoding live records
// -----------------------------------------------------------------------------

/** Copies the defined fields of `fields` (a row has no `undefined` values, as JSON has none). */
const defined = <A extends Record<string, unknown>>(fields: A): A => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value
  return out as A
}

export const tenantRow = (tenant: Tenant): StoredTenant => ({ ...tenant })

const versionRow = (version: WorkflowVersion): StoredVersion => ({
  id: version.id,
  order: version.order,
  checksum: version.checksum,
  createdAt: version.createdAt,
  stepIds: Object.fromEntries(version.steps.map((step) => [step.readableId, step.id])),
  registration: CreateWorkflowVersionRequest.toJSON(version.request) as JsonValue
})

export const workflowRow = (workflow: Workflow, filters: ReadonlyArray<EventFilter>): StoredWorkflow => ({
  id: workflow.id,
  tenantId: workflow.tenantId,
  name: workflow.name,
  createdAt: workflow.createdAt,
  updatedAt: workflow.updatedAt,
  ...(workflow.paused !== undefined ?
    {
      paused: {
        cronRunQueueBehavior: workflow.paused.cronRunQueueBehavior,
        scheduledRunQueueBehavior: workflow.paused.scheduledRunQueueBehavior,
        queueTtl: workflow.paused.queueTtl
      }
    } :
    {}),
  filters: filters.map((filter) => ({
    id: filter.id,
    scope: filter.scope,
    expression: filter.expression,
    payload: filter.payload,
    isDeclarative: filter.isDeclarative,
    createdAt: filter.createdAt,
    updatedAt: filter.updatedAt
  })),
  versions: workflow.versions.map(versionRow)
})

const taskStateRow = (state: TaskState): StoredTaskState => {
  switch (state._tag) {
    case "Queued":
      return { _tag: "Queued" }
    case "Batching":
      return { _tag: "Batching", key: state.key }
    case "Assigned":
      return defined({
        _tag: "Assigned",
        workerId: state.worker?.id,
        timeoutAt: state.timeoutAt,
        assignedAt: state.assignedAt,
        batch: state.batch !== undefined
          ? { id: state.batch.run.id, size: state.batch.run.size, index: state.batch.index }
          : undefined
      })
    // the final states are written field by field: a retained task's keep their time behind a getter
    case "Completed":
      return defined({
        _tag: "Completed",
        output: state.output,
        completedBy: state.completedBy,
        skipped: state.skipped,
        at: state.at
      })
    case "Failed":
      return defined({ _tag: "Failed", error: state.error, at: state.at, restError: state.restError })
    case "Cancelled":
      return { _tag: "Cancelled", at: state.at }
    default:
      return defined({ ...state })
  }
}

const conditionRows = (conditions: ReadonlyArray<MatchCondition>) =>
  conditions.map((condition) => defined({ ...condition, sleep: condition.sleep && { ...condition.sleep } }))

const durableRow = (log: DurableLog) => ({
  invocationCount: log.invocationCount,
  latestNodeId: log.latestNodeId,
  latestBranchId: log.latestBranchId,
  satisfiedCount: log.satisfiedCount,
  branchPoints: [...log.branchPoints].map(([branchId, point]) => ({ branchId, ...point })),
  entries: [...log.entries.values()].map((entry) =>
    defined({
      kind: entry.kind,
      nodeId: entry.nodeId,
      branchId: entry.branchId,
      invocationCount: entry.invocationCount,
      idempotencyKey: entry.idempotencyKey,
      createdAt: entry.createdAt,
      label: entry.label,
      describe: entry.describe,
      waitData: entry.waitData as JsonValue | undefined,
      childRunId: entry.childRunId,
      match: entry.match && conditionRows(entry.match.conditions),
      satisfied: entry.satisfied,
      satisfiedOrder: entry.satisfiedOrder,
      satisfiedAt: entry.satisfiedAt,
      result: entry.result && base64(entry.result),
      isFailure: entry.isFailure,
      errorMessage: entry.errorMessage
    })
  )
})

const taskRow = (task: Task): StoredTask =>
  defined({
    id: task.id,
    externalId: task.externalId,
    stepId: task.step.id,
    priority: task.priority,
    createdAt: task.createdAt,
    state: taskStateRow(task.state),
    retryCount: task.retryCount,
    appRetryCount: task.appRetryCount,
    internalRetryCount: task.internalRetryCount,
    desiredWorkerId: task.desiredWorkerId,
    startedAt: task.startedAt,
    stepRunErrors: task.stepRunErrors,
    spawned: Object.fromEntries(task.spawned),
    concurrencyKeys: task.concurrencyKeys && {
      keys: [...task.concurrencyKeys.keys],
      maxRuns: task.concurrencyKeys.maxRuns.map((n) => n ?? null)
    },
    rateLimits: task.rateLimits.map((limit) => defined({ ...limit })),
    batchKey: task.batchKey,
    triggerData: { ...task.triggerData },
    events: eventsOf(task).map((event) =>
      defined({
        id: event.id,
        timestamp: event.timestamp,
        eventType: event.eventType,
        message: event.message,
        errorMessage: event.errorMessage,
        output: event.output,
        workerId: event.workerId,
        retryCount: event.retryCount
      })
    ),
    logs: task.logs.map((line) => defined({ ...line })),
    durable: task.durable && durableRow(task.durable),
    signals: [...task.signals].map(([signalKey, signal]) =>
      defined({
        signalKey,
        match: signal.match && conditionRows(signal.match.conditions),
        completed: signal.completed && base64(signal.completed)
      })
    )
  })

export const runRow = (run: Run): StoredRun =>
  defined({
    id: run.id,
    tenantId: run.tenantId,
    workflowId: run.workflow.id,
    versionId: run.version.id,
    inputRaw: run.inputRaw,
    metadataRaw: goMarshal(run.metadata),
    priority: run.priority,
    createdAt: run.createdAt,
    parentTaskExternalId: run.parentTaskExternalId,
    childIndex: run.childIndex,
    childKey: run.childKey,
    triggeringEvent: run.triggeringEvent !== undefined ? { ...run.triggeringEvent } : undefined,
    filterPayload: run.filterPayload,
    desiredWorkerId: run.desiredWorkerId,
    desiredLabels: run.desiredLabels !== undefined
      ? Object.fromEntries([...run.desiredLabels].map(([key, label]) => [key, defined({ ...label }) as JsonValue]))
      : undefined,
    taskIds: Object.fromEntries(run.version.steps.map((step) => [step.id, taskIdOf(run, step)])),
    finishedAt: run.finishedAt,
    tasks: [...run.tasks.values()].map(taskRow),
    matches: [...run.matches.values()].map((match) =>
      defined({
        stepId: match.step.id,
        conditions: conditionRows(match.conditions),
        existing: match.existing as JsonValue | undefined
      })
    )
  })

export const eventRow = (event: PushedEvent): StoredEvent =>
  defined({ ...event, triggeredRuns: event.triggeredRuns.map((run) => defined({ ...run })) })

export const cronRow = (cron: CronTrigger): StoredCron =>
  defined({
    id: cron.id,
    tenantId: cron.tenantId,
    workflowId: cron.workflow.id,
    expression: cron.expression,
    name: cron.name,
    inputRaw: cron.inputRaw,
    metadataRaw: cron.metadataRaw,
    priority: cron.priority,
    enabled: cron.enabled,
    method: cron.method,
    createdAt: cron.createdAt,
    updatedAt: cron.updatedAt
  })

export const scheduledRow = (scheduled: ScheduledRun): StoredScheduled => ({
  id: scheduled.id,
  tenantId: scheduled.tenantId,
  workflowId: scheduled.workflow.id,
  versionId: scheduled.version.id,
  triggerAt: scheduled.triggerAt,
  inputRaw: scheduled.inputRaw,
  metadataRaw: scheduled.metadataRaw,
  priority: scheduled.priority,
  method: scheduled.method,
  createdAt: scheduled.createdAt,
  updatedAt: scheduled.updatedAt
})

export const rateLimitRow = (tenantId: string, limit: RateLimit): StoredRateLimit => ({
  tenantId,
  key: limit.key,
  limitValue: limit.limitValue,
  value: limit.value,
  window: limit.window,
  lastRefill: limit.lastRefill
})
