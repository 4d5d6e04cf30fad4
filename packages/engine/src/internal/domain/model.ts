/**
 * The engine's in-memory state: tenants, workers, workflows and their versions, runs and tasks,
 * and the indexes the scheduler and the subscriptions need.
 *
 * Everything here is plain mutable data owned by one `EngineState`. Domain operations are
 * synchronous functions over it (JavaScript runs them atomically), so a trigger, a dispatch or a
 * state transition is never interleaved with another. Runs, tasks and final task states are class
 * instances (`RunRecord`, `TaskRecord`, `completedState`...) so that a retained finished run is
 * small: what few records have sits in one shared extras object, times are kept as offsets, and
 * some fields are read from others; their fields are read and written as plain fields (a spread
 * copies none of the accessors: copy a record field by field).
 *
 * @internal
 */
import type { AssignedAction, WorkflowEvent, WorkflowRunEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { DurableTaskResponse } from "@effect-hatchet/proto/v1/dispatcher"
import type { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import type { CelProgram, Compiled } from "@effect-hatchet/shared/Cel"
import type { ChurningSet } from "@effect-hatchet/shared/Churning"
import { ChangeSet } from "./changes.js"
import type { CreationIndex } from "./creationIndex.js"
import type { EngineError } from "./errors.js"
import { emptyObject, type JsonObject, type JsonValue } from "./json.js"
import type { TimerQueue } from "./timers.js"
import type { IncomingWebhook } from "./webhooks.js"

// -----------------------------------------------------------------------------
// empty collections shared by records
// -----------------------------------------------------------------------------

/** A map that refuses writes: the one instance behind `noEntries`. */
class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error("noEntries is shared by every record: write to the map `writable` returns")
  }
  override delete(): boolean {
    throw new Error("noEntries is shared by every record: write to the map `writable` returns")
  }
  override clear(): void {
    throw new Error("noEntries is shared by every record: write to the map `writable` returns")
  }
}

/**
 * The map of every record whose map has no entries yet (most runs have no matches or
 * workflow-level concurrency slots, most tasks spawn nothing): one shared instance instead of a
 * map per record, as every map costs about 200 bytes that a retained finished run would hold until
 * it is pruned. A record writes through `writable`, which gives it a map of its own.
 */
export const noEntries: ReadonlyMap<never, never> = new SharedEmptyMap<never, never>()

/** `map` itself, or a new map in place of the shared `noEntries`: assign it back to the record. */
export const writable = <K, V>(map: ReadonlyMap<K, V>): Map<K, V> => map === noEntries ? new Map<K, V>() : map as Map<K, V>

/** The array of every record whose list is empty (frozen): `append` gives a record its own. */
export const noItems: ReadonlyArray<never> = Object.freeze([])

/** `array` with `item` pushed on it, or a new array in place of the shared `noItems`. */
export const append = <A>(array: ReadonlyArray<A>, item: A): ReadonlyArray<A> => {
  if (array === noItems) return [item]
  ;(array as Array<A>).push(item)
  return array
}

// -----------------------------------------------------------------------------
// tenants
// -----------------------------------------------------------------------------

export interface Tenant {
  readonly id: string
  readonly name: string
  readonly slug: string
  readonly createdAt: number
}

// -----------------------------------------------------------------------------
// workers
// -----------------------------------------------------------------------------

/** Where a worker's `AssignedAction`s go: one open ListenV2 (or Listen) stream. */
export interface Session {
  readonly id: string
  readonly workerId: string
  readonly establishedAt: number
  /** Pushes an action to the stream; false when the stream is gone. */
  readonly send: (action: AssignedAction) => boolean
  /** Ends the stream, cleanly or with an error status. */
  readonly close: (error?: EngineError) => void
  /** Legacy `Listen` streams refresh the worker's heartbeat themselves. */
  readonly legacy: boolean
}

export interface WorkerLabel {
  readonly strValue?: string | undefined
  readonly intValue?: number | undefined
}

export interface RuntimeInfo {
  readonly sdkVersion?: string | undefined
  readonly language?: number | undefined
  readonly languageVersion?: string | undefined
  readonly os?: string | undefined
  readonly extra?: string | undefined
}

export interface Worker {
  readonly id: string
  readonly tenantId: string
  readonly name: string
  /** Actions exactly as registered (no normalisation). */
  readonly actions: ReadonlySet<string>
  readonly services: ReadonlyArray<string>
  readonly slotConfig: ReadonlyMap<string, number>
  readonly slotsUsed: Map<string, number>
  readonly labels: Map<string, WorkerLabel>
  readonly runtimeInfo: RuntimeInfo | undefined
  readonly createdAt: number
  /** Open streams by session id; `Unsubscribe` empties this map without closing them. */
  readonly sessions: Map<string, Session>
  /** Set while a stream is open (upstream `isActive`). */
  isActive: boolean
  /** Since when it has had no open stream (from its registration until it first listens). */
  inactiveSince: number | undefined
  lastListenerEstablished: number | undefined
  lastHeartbeatAt: number | undefined
  isPaused: boolean
  /** Attempts holding a slot on this worker (they come and go with every task: `ChurningSet`). */
  readonly running: ChurningSet<Task>
  /** True while a liveness check is armed for this worker. */
  livenessArmed: boolean
}

// -----------------------------------------------------------------------------
// workflows
// -----------------------------------------------------------------------------

export type StepKind = "DEFAULT" | "ON_FAILURE"

export interface DesiredLabel {
  readonly strValue?: string | undefined
  readonly intValue?: number | undefined
  readonly required?: boolean | undefined
  readonly weight?: number | undefined
  readonly comparator?: number | undefined
}

export interface Step {
  readonly id: string
  readonly readableId: string
  /** Normalised action id (`ParseActionID`). */
  readonly action: string
  readonly kind: StepKind
  readonly parents: ReadonlyArray<string>
  /** Steps of the same version that list this one as a parent. */
  readonly children: Array<Step>
  readonly retries: number
  readonly backoffFactor: number | undefined
  readonly backoffMaxSeconds: number | undefined
  /** The timeout string as registered; undefined when none was given. */
  readonly timeout: string | undefined
  readonly timeoutMs: number
  readonly scheduleTimeout: string
  readonly scheduleTimeoutMs: number
  readonly isDurable: boolean
  readonly slotRequests: ReadonlyArray<readonly [slotType: string, units: number]>
  readonly desiredLabels: ReadonlyMap<string, DesiredLabel>
  /**
   * The step's concurrency strategies, applied in sequence: its shares of the workflow's, then
   * its own.
   */
  readonly concurrency: ReadonlyArray<StepConcurrency>
  /** The step's rate limits, in registration order. */
  readonly rateLimits: ReadonlyArray<StepRateLimit>
  /** Batch execution (`batch`): its tasks run together, one START_BATCH per flushed batch. */
  readonly batch: StepBatch | undefined
  /**
   * The step's conditions (`wait_for`, `skip_if`, `cancel_if`), as upstream stores them: user
   * events, then sleeps, then parent overrides (`matches.ts`).
   */
  readonly conditions: ReadonlyArray<StepCondition>
  /** Position in the version (on-failure last). */
  readonly index: number
}

/**
 * A step's batch settings as upstream stores them (`v1_step_batch_config`), defaults filled: a
 * flush interval of 1000 ms, the group key `'default'`, at most 100 batches running per key.
 */
export interface StepBatch {
  readonly maxSize: number
  /** 0 flushes at the next pass. */
  readonly maxIntervalMs: number
  /** The batch group key expression, evaluated for each task at its creation (`workflow` env). */
  readonly groupKey: StepExpression
  /** 0: no limit. */
  readonly groupMaxRuns: number
  readonly broadcastOutput: boolean
}

// -----------------------------------------------------------------------------
// conditions and matches
// -----------------------------------------------------------------------------

/** What a condition does when its groups hold (`Action`; CREATE is not a task condition). */
export type ConditionAction = "QUEUE" | "CANCEL" | "SKIP"

/** A step's condition (upstream `v1_step_match_condition`). */
export type StepCondition =
  | {
    readonly kind: "USER_EVENT"
    readonly action: ConditionAction
    readonly orGroupId: string
    readonly readableDataKey: string
    readonly eventKey: string
    /** A CEL expression over the event's payload (`input`); "" holds. */
    readonly expression: string
  }
  | {
    readonly kind: "SLEEP"
    readonly action: ConditionAction
    readonly orGroupId: string
    readonly readableDataKey: string
    /** The duration as registered (a Go duration). */
    readonly sleepFor: string
  }
  | {
    readonly kind: "PARENT_OVERRIDE"
    readonly action: ConditionAction
    readonly orGroupId: string
    /** The parent's readable id (also the key of its data). */
    readonly parent: string
    /** A CEL expression over the parent's output (`output`); "" holds. */
    readonly expression: string
  }

/**
 * What a satisfied match does: its task's creation, or (`CREATE_MATCH`) a second match; a
 * durable wait's match (`SIGNAL`) has only `CREATE`: its log entry is satisfied.
 */
export type MatchAction = ConditionAction | "CREATE_MATCH" | "CREATE"

/**
 * A condition of a match (upstream `v1_match_condition`): satisfied by the first event of its type
 * and key (and hint: a parent's task) whose expression holds; `data` is that event's.
 */
export interface MatchCondition {
  readonly eventType: "INTERNAL" | "USER"
  /** `COMPLETED` / `FAILED` / `CANCELLED` of a task, `sleep-<n>`, or a user event key. */
  readonly eventKey: string
  /** The task external id an internal event must come from. */
  readonly hint: string | undefined
  readonly readableDataKey: string
  readonly expression: string
  readonly action: MatchAction
  readonly orGroupId: string
  /** A sleep's duration and when it ends. */
  readonly sleep: { readonly sleepFor: string; readonly until: number } | undefined
  satisfied: boolean
  data: JsonValue | undefined
}

/** Data of satisfied conditions: action → readable data key → the events' data. */
export type MatchData = Record<string, Record<string, Array<JsonValue>>>

/**
 * The conditions a step's task waits on before it is created (upstream `v1_match` of kind
 * TRIGGER): its parents' events, its sleeps and user events. Each or-group (conditions sharing
 * an id) holds when one of its conditions does; an action holds when all its groups do.
 */
export interface Match {
  readonly kind: "TRIGGER"
  readonly run: Run
  readonly step: Step
  readonly conditions: ReadonlyArray<MatchCondition>
  /** The data a satisfied CREATE_MATCH carried over (`existing_data`). */
  readonly existing: MatchData | undefined
}

/**
 * The conditions a durable task's wait is satisfied by (upstream `v1_match` of kind SIGNAL): its
 * sleeps and user events, each with the action CREATE. When every or-group holds, its data is
 * `{"CREATE": {<readable data key>: [<data>, …]}}`: the result of the log entry it waits for
 * (`entry`), or, for a signal of the older protocol (`RegisterDurableEvent`, no entry), the
 * signal's completed data under `signalKey`.
 */
export interface SignalMatch {
  readonly kind: "SIGNAL"
  readonly task: Task
  readonly entry: { readonly branchId: number; readonly nodeId: number } | undefined
  readonly signalKey: string
  readonly conditions: ReadonlyArray<MatchCondition>
}

/**
 * A signal of the older durable protocol (`RegisterDurableEvent`): its match while it waits, then
 * its data (upstream's SIGNAL_COMPLETED task event), which `ListenForDurableEvent` sends.
 */
export interface LegacySignal {
  match: SignalMatch | undefined
  completed: Uint8Array | undefined
}

/** A `ListenForDurableEvent` stream: the signals it asked for, by `"<task>:<signal key>"`. */
export interface DurableEventListener {
  readonly tenantId: string
  readonly wanted: Map<string, { readonly taskId: string; readonly signalKey: string }>
  readonly send: (event: { readonly taskId: string; readonly signalKey: string; readonly data: Uint8Array }) => void
}

// -----------------------------------------------------------------------------
// rate limits
// -----------------------------------------------------------------------------

/** The windows of a rate limit (`RateLimitDuration` names). */
export type RateLimitWindow = "SECOND" | "MINUTE" | "HOUR" | "DAY" | "WEEK" | "MONTH" | "YEAR"

/**
 * A CEL expression of a step as upstream stores it (`StepExpression.expression`), compiled in the
 * environment it is evaluated in (`workflow`): it may not compile there (a `parents` reference,
 * which only validation declares, an empty units expression), and then fails each task.
 */
export interface StepExpression {
  readonly source: string
  readonly compiled: Compiled<"workflow">
}

/**
 * A rate limit of a step. `Static` (only a key and units were given) is a `StepRateLimit` row
 * upstream: its key must exist. Otherwise upstream stores `StepExpression` rows, evaluated when a
 * task is created: the key (the literal key as a CEL string when no `key_expr`), the limit (only
 * when `limit_values_expr` is set), the units and the window (a duration name as a CEL string).
 */
export type StepRateLimit =
  | { readonly _tag: "Static"; readonly key: string; readonly units: number }
  | {
    readonly _tag: "Expressions"
    /** The `key` field: it names the expressions (`StepExpression.key`). */
    readonly key: string
    readonly keyExpr: StepExpression
    readonly limitExpr: StepExpression | undefined
    readonly unitsExpr: StepExpression
    readonly windowExpr: StepExpression
  }

/** A task's evaluated rate-limit expressions (upstream `v1_task_expression_eval`). */
export interface TaskRateLimit {
  readonly key: string
  readonly units: number
  /** -1 (the official SDK's "keep the stored limit") or any other value; undefined without `limit_values_expr`. */
  readonly limit: number | undefined
  readonly window: string
}

/**
 * What the tasks waiting for their first assignment ask of one dynamic key: how many ask for each
 * limit and each window, and how many tasks they are.
 */
export interface DynamicKeyDemand {
  readonly limits: Map<number, number>
  readonly windows: Map<RateLimitWindow, number>
  tasks: number
}

/**
 * A tenant's rate limit (upstream `RateLimit`): a fixed window of `limitValue` units starting at
 * `lastRefill`; `value` is what is left of it.
 */
export interface RateLimit {
  readonly key: string
  limitValue: number
  value: number
  window: RateLimitWindow
  lastRefill: number
  /** Actions whose queues wait for this key's next refill. */
  readonly waiting: Set<string>
  /** When the armed wake-up fires, if one is armed. */
  wakeAt: number | undefined
}

// -----------------------------------------------------------------------------
// concurrency
// -----------------------------------------------------------------------------

/** A concurrency limit strategy (`v1_concurrency_strategy`). */
export type LimitStrategy =
  | "GROUP_ROUND_ROBIN"
  | "CANCEL_IN_PROGRESS"
  | "CANCEL_NEWEST"
  | "CANCEL_QUEUED_EXCEPT_NEWEST"
  | "CANCEL_QUEUED_EXCEPT_OLDEST"

/** The settings of a strategy, as registered (a tenant-scoped one is updated in place). */
export interface ConcurrencySettings {
  readonly expression: string
  readonly compiled: CelProgram<"workflow">
  readonly maxRuns: number
  readonly limitStrategy: LimitStrategy
  /**
   * `max_runs_expression`: each task evaluates it at creation, and a key's limit is the value of
   * its newest task (overriding `maxRuns`).
   */
  readonly maxRunsExpression: { readonly source: string; readonly compiled: CelProgram<"workflow"> } | undefined
}

/**
 * A step's concurrency strategy (upstream `v1_step_concurrency`) and its live slots, in creation
 * order. With a `parent`, it is the step's share of a workflow-level strategy: its tasks only
 * proceed once their run holds a filled slot of the parent. A tenant-scoped strategy (`name`) is
 * one object shared by every step that declares the name, across the tenant's workflows.
 */
export interface StepConcurrency {
  /** Replaced in place when a tenant-scoped strategy is registered again. */
  settings: ConcurrencySettings
  /** The name of a tenant-scoped strategy. */
  readonly name: string | undefined
  readonly parent: WorkflowConcurrency | undefined
  readonly slots: Array<ConcurrencySlot>
  /** Per key, the limit its newest task evaluated (`max_runs_expression`) and that task's id. */
  readonly observedMaxRuns: Map<string, { readonly maxRuns: number; readonly taskId: number }>
}

/**
 * A workflow-level strategy of a DAG workflow (upstream `v1_workflow_concurrency`): it gates whole
 * runs through run slots, in creation order; each DEFAULT step has a child strategy.
 */
export interface WorkflowConcurrency {
  readonly settings: ConcurrencySettings
  readonly slots: Array<RunSlot>
  readonly children: Array<StepConcurrency>
}

/** A task's place in one strategy of its step (upstream `v1_concurrency_slot`). */
export interface ConcurrencySlot {
  readonly task: Task
  readonly strategy: StepConcurrency
  /** Position of the strategy in the step's sequence. */
  readonly index: number
  readonly key: string
  /** Creation order; a retry keeps it. */
  readonly sortId: number
  /** A filled slot lets its task into the worker queue. */
  filled: boolean
  /** Bumped by every reset, so a stale schedule-timeout timer does nothing. */
  generation: number
}

/** A run's place in its workflow's strategy (upstream `v1_workflow_concurrency_slot`). */
export interface RunSlot {
  readonly run: Run
  readonly key: string
  readonly sortId: number
  readonly priority: number
  filled: boolean
}

export interface WorkflowVersion {
  readonly id: string
  readonly workflow: Workflow
  readonly order: number
  readonly checksum: string
  readonly createdAt: number
  readonly version: string
  readonly description: string
  readonly eventTriggers: ReadonlyArray<string>
  readonly cronTriggers: ReadonlyArray<string>
  readonly defaultPriority: number | undefined
  readonly sticky: number | undefined
  /** Regular steps, then the on-failure step if any. */
  readonly steps: ReadonlyArray<Step>
  readonly onFailure: Step | undefined
  readonly stepsByReadableId: ReadonlyMap<string, Step>
  readonly inputJsonSchema: JsonValue | undefined
  /** The workflow-level concurrency strategies of a DAG workflow (a single task holds them). */
  readonly concurrency: ReadonlyArray<WorkflowConcurrency>
  /** The registration request, kept for the REST workflow views. */
  readonly request: CreateWorkflowVersionRequest
}

export interface Workflow {
  readonly id: string
  readonly tenantId: string
  readonly name: string
  readonly createdAt: number
  updatedAt: number
  readonly versions: Array<WorkflowVersion>
  /** Set when the workflow was deleted (it is then in no index of its tenant). */
  deletedAt: number | undefined
  /** Set while the workflow is paused (`workflowPause.ts`). */
  paused: WorkflowPause | undefined
}

/** What a paused workflow's crons or scheduled runs do when due (upstream `WorkflowPauseQueueBehavior`). */
export type PausedRunQueueBehavior = "QUEUE" | "DROP"

/**
 * A paused workflow (upstream's `Workflow.isPaused` with its `pausedWorkflow*` columns): its
 * queued tasks are held out of their queues (upstream `v1_paused_workflow_queue_item`) until it is
 * unpaused, or cancelled once they are older than the TTL.
 */
export interface WorkflowPause {
  readonly cronRunQueueBehavior: PausedRunQueueBehavior
  readonly scheduledRunQueueBehavior: PausedRunQueueBehavior
  /** The TTL text as given (upstream `pausedWorkflowQueueTTL`, read by `convert_duration_to_interval`). */
  readonly queueTtl: string
  /** When a task created at `createdAt` expires. */
  readonly expiresAt: (createdAt: number) => number
  /** The held queue items, in the order they go back to their queues; dead ones are skipped. */
  readonly held: Array<QueueEntry>
}

/**
 * An event filter of a workflow (upstream `v1_filter`): a pushed event of one of the workflow's
 * keys with this `scope` runs the workflow once per filter whose CEL `expression` holds, with the
 * filter's `payload`. Created through REST, or declared (`default_filters`, replaced by each new
 * version that declares some). `workflowId` need not name a workflow, as upstream has no foreign
 * key there.
 */
export interface EventFilter {
  readonly id: string
  readonly tenantId: string
  readonly workflowId: string
  scope: string
  expression: string
  /** A JSON object (`{}` when none was given). */
  payload: JsonObject
  readonly isDeclarative: boolean
  readonly createdAt: number
  updatedAt: number
  /** The expression compiled in the `event` environment, once it was first evaluated. */
  compiled: Compiled<"event"> | undefined
}

export const latestVersion = (workflow: Workflow): WorkflowVersion => workflow.versions[workflow.versions.length - 1]!

/**
 * The workflow's own description (upstream's `Workflow.description`): what its first registration
 * gave, since upstream writes it once in `CreateWorkflow` and `PutWorkflowVersion` never updates it;
 * each version keeps its own in `workflowConfig`.
 */
export const workflowDescription = (workflow: Workflow): string => workflow.versions[0]?.description ?? ""

// -----------------------------------------------------------------------------
// runs and tasks
// -----------------------------------------------------------------------------

/** Task status as REST and the OLAP tables report it. */
export type TaskStatus = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED"

/** `V1TaskEventType` values recorded per task (REST `taskEvents`). */
export type TaskEventType =
  | "QUEUED"
  | "ASSIGNED"
  | "SENT_TO_WORKER"
  | "STARTED"
  | "FINISHED"
  | "FAILED"
  | "RETRYING"
  | "CANCELLED"
  | "TIMED_OUT"
  | "REASSIGNED"
  | "SLOT_RELEASED"
  | "TIMEOUT_REFRESHED"
  | "SCHEDULING_TIMED_OUT"
  | "SKIPPED"
  | "RETRIED_BY_USER"
  | "DURABLE_EVICTED"
  | "DURABLE_RESTORING"
  | "WAITING_FOR_BATCH"
  | "BATCH_FLUSHED"

/** An event of a task's timeline (`taskEvents.ts` makes them). */
export interface TaskEvent {
  readonly id: number
  readonly timestamp: number
  readonly eventType: TaskEventType
  readonly message: string
  readonly errorMessage: string | undefined
  readonly output: string | undefined
  readonly workerId: string | undefined
  readonly retryCount: number
}

/**
 * A finished task's timeline in two heap objects rather than one per event (`taskEvents.ts` packs
 * and reads it): the events' numbers in one string, and the texts they carry, each once.
 */
export interface PackedTimeline {
  /** Per event: its id (after the previous event's), time, type, attempt and the texts it names. */
  readonly numbers: string
  /** The first distinct text (reference 1), or undefined when there is none. */
  readonly first: string | undefined
  /** The second distinct text (reference 2), or undefined. */
  readonly second: string | undefined
  /** The third distinct text on (reference 3 is its first item), or undefined when there are two or fewer. */
  readonly rest: ReadonlyArray<string> | undefined
}

export interface LogLine {
  readonly createdAt: number
  readonly message: string
  readonly level: string
  readonly metadata: JsonObject | undefined
  readonly retryCount: number
}

/**
 * Where a task is in its life, each state with only the data it needs. A task's counters, its
 * history (events, logs) and what it holds across states (concurrency slots, dynamic rate-limit
 * keys) stay on the task.
 *
 * - `AwaitingSlot`: created, retried or replayed behind its step's concurrency strategies, it
 *   waits for a filled slot in each (upstream `v1_concurrency_slot`);
 * - `Queued`: in its action's queue (upstream `v1_queue_item`); a queue entry is live while it
 *   carries the state's `token` (a rate-limited entry taken out of the queue gets a new one);
 * - `Batching`: a batch step's task past its queue, in its batch group's buffer until a flush
 *   (upstream `v1_batched_queue_item`, `WAITING_FOR_BATCH`); its buffer item is live while it
 *   carries the state's `token`;
 * - `Backoff`: a retry waiting until `at` (upstream `v1_retry_queue_item`); `reacquire` when it
 *   gave its concurrency slots up and acquires new ones then; `internal` for an internal retry's
 *   redelivery delay (upstream's dispatcher sleeps before it fails the attempt);
 * - `Assigned`: the current attempt is on a worker (upstream `v1_task_runtime`), for a batch
 *   step's task as a member of a flushed batch;
 * - `Evicted`: a durable task's attempt given up by its worker while it waits (upstream
 *   `v1_task_runtime.evicted_at`): it holds no slot and no timeout; a satisfied wait or a restore
 *   queues it again (`durable.ts`);
 * - `Completed` / `Failed` / `Cancelled`: final.
 *
 * A task waiting on its step's conditions does not exist yet (as upstream, its match is kept on
 * the run until a condition decides how it is created).
 */
export type TaskState = AwaitingSlot | Queued | Batching | Backoff | Assigned | Evicted | Completed | Failed | Cancelled

export interface AwaitingSlot {
  readonly _tag: "AwaitingSlot"
}

/** The `AwaitingSlot` state, which carries nothing: one frozen instance for every task in it. */
export const awaitingSlot: AwaitingSlot = Object.freeze({ _tag: "AwaitingSlot" })

export interface Queued {
  readonly _tag: "Queued"
  readonly token: number
}

/** Waiting in the buffer of its batch group `key` of its step (`batches.ts`). */
export interface Batching {
  readonly _tag: "Batching"
  readonly token: number
  /** Its batch group key (upstream's trimmed `batch_key` of the batched queue item). */
  readonly key: string
}

export interface Backoff {
  readonly _tag: "Backoff"
  readonly at: number
  readonly reacquire: boolean
  /** An internal retry's redelivery: queued again at `at` with no QUEUED event, as upstream's internal retries. */
  readonly internal?: true
}

/** The attempt `task.retryCount` assigned to a worker. */
export interface Assigned {
  readonly _tag: "Assigned"
  /** Undefined once `ReleaseSlot` gave the slot back: the attempt runs on, holding none. */
  readonly worker: Worker | undefined
  readonly timeoutAt: number
  readonly assignedAt: number
  /** The batch the attempt runs in, for a batch task (its worker slot is the batch's). */
  readonly batch?: BatchMembership | undefined
}

/** A durable task evicted from its worker (reported RUNNING, with `isEvicted`). */
export interface Evicted {
  readonly _tag: "Evicted"
  readonly at: number
  /** The worker's reason, or upstream's default ("Task paused and evicted from worker"). */
  readonly reason: string
}

export interface Completed {
  readonly _tag: "Completed"
  /** The output JSON text (`{"skipped":true}` for a skipped task). */
  readonly output: string
  /** The worker whose attempt completed it. */
  readonly completedBy: string | undefined
  /** Created already final by a SKIP condition (its parents were skipped, or a `skip_if` held). */
  readonly skipped: boolean
  readonly at: number
}

export interface Failed {
  readonly _tag: "Failed"
  /** The error of the core's output event: what gRPC run details, run listeners and on-failure data carry. */
  readonly error: string
  readonly at: number
  /**
   * What REST reports as the task's (and its run's) error when it is not `error`: upstream's OLAP
   * reads it from the final attempt's FAILED-status event, and a timeout's TIMED_OUT event has
   * none, so a task that timed out shows "" there.
   */
  readonly restError?: string
}

export interface Cancelled {
  readonly _tag: "Cancelled"
  readonly at: number
}

/** Whether a task state is final. */
export const isFinalState = (state: TaskState): state is Completed | Failed | Cancelled =>
  state._tag === "Completed" || state._tag === "Failed" || state._tag === "Cancelled"

/** Whether a task is final. */
export const isFinal = (task: Task): boolean => isFinalState(task.state)

/** The status REST and the OLAP tables report for a task. */
export const taskStatus = (task: Task): TaskStatus => {
  switch (task.state._tag) {
    case "AwaitingSlot":
    case "Queued":
    case "Batching":
    case "Backoff":
      return "QUEUED"
    case "Assigned":
    case "Evicted":
      return "RUNNING"
    case "Completed":
      return "COMPLETED"
    case "Failed":
      return "FAILED"
    case "Cancelled":
      return "CANCELLED"
  }
}

/** The output JSON text of a completed task. */
export const taskOutput = (task: Task): string | undefined => task.state._tag === "Completed" ? task.state.output : undefined

/** The error of a failed task, "" for a cancelled one. */
export const taskError = (task: Task): string | undefined =>
  task.state._tag === "Failed" ? task.state.error : task.state._tag === "Cancelled" ? "" : undefined

/** A failed task's error as REST reports it (`Failed.restError`). */
export const restError = (state: Failed): string => state.restError ?? state.error

/** When a final task finished. */
export const taskFinishedAt = (task: Task): number | undefined => isFinalState(task.state) ? task.state.at : undefined

/** The current attempt's assignment, while it has one. */
export const assignmentOf = (task: Task): Assigned | undefined => task.state._tag === "Assigned" ? task.state : undefined

export interface Task {
  readonly id: number
  readonly externalId: string
  readonly tenantId: string
  readonly run: Run
  readonly step: Step
  /** Priority of the run (1..3); the retry queue priority 4 is not reflected here. */
  readonly priority: number
  readonly createdAt: number
  state: TaskState
  retryCount: number
  appRetryCount: number
  internalRetryCount: number
  /**
   * The worker a sticky workflow wants this task on: the trigger's for a root task, the worker
   * that ran a parent for a DAG child (as upstream reads it from the parent's output event).
   */
  readonly desiredWorkerId: string | undefined
  /** When its first attempt was assigned. */
  startedAt: number | undefined
  /** For the on-failure task: readable id → error of the task that fired it. */
  stepRunErrors: Record<string, string> | undefined
  /**
   * The data of the sleeps and user events that created it after its parents (`triggers` of its
   * payload, by readable data key), when it had such conditions.
   */
  readonly triggerData: Readonly<Record<string, JsonValue>>
  /**
   * Its timeline, oldest first: an array while its run is live, packed once the run finishes
   * (read it with `eventsOf`, write it with `recordEvent` or `openTimeline`, in `taskEvents.ts`).
   */
  timeline: Array<TaskEvent> | PackedTimeline
  /** Its log lines (`noItems` until the first; write with `append`). */
  logs: ReadonlyArray<LogLine>
  /** Child spawn key (`<parent>.0.<key|index>`) → child run id (`noEntries` until the first; write through `writable`). */
  spawned: ReadonlyMap<string, string>
  /** Signals of the older durable protocol (`RegisterDurableEvent`), by signal key (`noEntries` until the first; write through `writable`). */
  signals: ReadonlyMap<string, LegacySignal>
  /** Stream events waiting for a lower `event_index`. */
  stream: StreamOrder | undefined
  /** The keys (and max-runs values) of the step's strategies, evaluated at creation. */
  concurrencyKeys: ConcurrencyKeys | undefined
  /** The step's rate-limit expressions, evaluated at creation. */
  rateLimits: ReadonlyArray<TaskRateLimit>
  /** True from its creation until its first assignment (or final state) while it has dynamic keys. */
  waitingOnDynamicKeys: boolean
  /** Its batch group key, evaluated at creation (a batch step's tasks only). */
  batchKey: string | undefined
  /**
   * The slots the task holds, one per strategy it reached in sequence (a filled slot leads to the
   * next strategy's), from its creation until it is final (`noItems` while it holds none).
   */
  concurrencySlots: ReadonlyArray<ConcurrencySlot>
  /** A durable task's event log, from its first assignment (`durableLog.ts`). */
  durable: DurableLog | undefined
}

// -----------------------------------------------------------------------------
// durable tasks
// -----------------------------------------------------------------------------

/** The kinds of a durable event log entry (`v1_durable_event_log_kind`). */
export type DurableEntryKind = "RUN" | "WAIT_FOR" | "MEMO"

/**
 * One entry of a durable task's event log (upstream `v1_durable_event_log_entry`): a memoized
 * value, a wait, or a child run, at a node of a branch. It is recorded once, by the invocation
 * that first reached it, and answered from the log to every later invocation.
 */
export interface DurableEntry {
  readonly kind: DurableEntryKind
  readonly nodeId: number
  readonly branchId: number
  /** The invocation that created it. */
  readonly invocationCount: number
  /** What the invocation asked for, hashed (a memo's key as hex): a replay must ask the same. */
  readonly idempotencyKey: string
  readonly createdAt: number
  /** A wait's label, a child's workflow name. */
  readonly label: string | undefined
  /** A human-readable form of what was asked (for non-determinism errors and the REST log). */
  readonly describe: string
  /** What a RUN or WAIT_FOR entry waits for, as the REST log shows it (upstream `WaitData`). */
  readonly waitData: DurableWaitData | undefined
  /** RUN: the child run. */
  readonly childRunId: string | undefined
  /** WAIT_FOR: the match that satisfies it, while it is not satisfied. */
  match: SignalMatch | undefined
  satisfied: boolean
  /**
   * Its place among the log's satisfied RUN and WAIT_FOR entries (their completions reach an
   * invocation in this order); a memo has none.
   */
  satisfiedOrder: number | undefined
  satisfiedAt: number | undefined
  /** The result payload (JSON bytes). */
  result: Uint8Array | undefined
  /** RUN: the child failed or was cancelled. */
  isFailure: boolean
  errorMessage: string | undefined
}

/** One thing a durable entry waits for (upstream `DurableWaitCondition`). */
export interface DurableWaitCondition {
  readonly kind: "SLEEP" | "USER_EVENT" | "CHILD_WORKFLOW"
  readonly sleepDurationMs?: number | undefined
  readonly eventKey?: string | undefined
  readonly workflowName?: string | undefined
}

/**
 * What a durable entry waits for (upstream `WaitData`): its conditions alone in their or-group,
 * then the or-groups of several (any of them), in the order their groups were first named.
 */
export interface DurableWaitData {
  readonly conditions: ReadonlyArray<DurableWaitCondition>
  readonly orGroups: ReadonlyArray<ReadonlyArray<DurableWaitCondition>>
}

/** Where a branch starts: the node it forks at, and the branch it forks from. */
export interface DurableBranchPoint {
  readonly firstNodeIdInNewBranch: number
  readonly parentBranchId: number
}

/** A durable task's event log file (upstream `v1_durable_event_log_file`) and its entries. */
export interface DurableLog {
  /** Incremented at every assignment; requests of another invocation are stale. */
  invocationCount: number
  /** The last node the current invocation reached (reset to 0 at every assignment). */
  latestNodeId: number
  latestBranchId: number
  /** Entries by `"<branchId>:<nodeId>"`. */
  readonly entries: Map<string, DurableEntry>
  /** Branch points by the branch they start. */
  readonly branchPoints: Map<number, DurableBranchPoint>
  /** How many entries have been satisfied. */
  satisfiedCount: number
}

/** A task's evaluated concurrency keys, one per strategy of its step, with its max-runs values. */
export interface ConcurrencyKeys {
  readonly keys: ReadonlyArray<string>
  /** The value of each strategy's `max_runs_expression`; undefined without one. */
  readonly maxRuns: ReadonlyArray<number | undefined>
}

export interface StreamOrder {
  /** The attempt the indexes belong to: each attempt counts from 0 again. */
  readonly retryCount: number
  next: number
  readonly pending: Map<number, WorkflowEvent>
  flushArmed: boolean
}

// -----------------------------------------------------------------------------
// batches
// -----------------------------------------------------------------------------

/** A task's place in a flushed batch (upstream's `batch_id`, `batch_size`, `batch_index` of its runtime). */
export interface BatchMembership {
  readonly run: BatchRun
  readonly index: number
}

/**
 * A flushed batch (upstream `v1_batch_runtime`): one default slot on its worker, held while any
 * member holds its runtime's slot; it counts against its group's `groupMaxRuns` while any member
 * still runs.
 */
export interface BatchRun {
  readonly id: string
  readonly group: BatchGroup
  readonly worker: Worker
  readonly size: number
  /** Members with a live runtime. */
  readonly members: Set<Task>
  /** Members whose runtime still holds the slot (a `ReleaseSlot` gives a member's up). */
  readonly holders: Set<Task>
}

/** A task waiting in a batch group's buffer, live while the task is `Batching` with `token`. */
export interface BatchItem {
  readonly task: Task
  readonly token: number
  /** Bytes of its action payload (upstream's `payload_size`). */
  readonly payloadSize: number
}

/**
 * The buffer of one batch key of a step (upstream's in-memory `batchGroup`): items in arrival
 * order; `deadline` is set when the group is created and moved by each flush (now + interval).
 */
export interface BatchGroup {
  readonly id: string
  readonly tenantId: string
  readonly step: Step
  readonly key: string
  buffer: Array<BatchItem>
  deadline: number
  /** Batches of this group still running. */
  active: number
  /** A due flush found no worker or no free batch run: retried when capacity appears. */
  stalled: boolean
}

export interface Run {
  readonly id: string
  readonly tenantId: string
  readonly workflow: Workflow
  readonly version: WorkflowVersion
  readonly isDag: boolean
  /** Input JSON text as triggered, and its decoded value. */
  readonly inputRaw: string
  readonly input: JsonValue | undefined
  /**
   * Additional metadata after the engine's injections (its Go-marshalled text is not kept:
   * `goMarshal(run.metadata)` gives it, the text made at creation).
   */
  readonly metadata: JsonObject
  readonly priority: number
  readonly createdAt: number
  readonly parentTaskExternalId: string | undefined
  readonly childIndex: number | undefined
  readonly childKey: string | undefined
  readonly triggeringEvent: { readonly id: string; readonly key: string } | undefined
  readonly filterPayload: JsonValue | null
  readonly desiredWorkerId: string | undefined
  /** Run-level desired worker labels: they replace the steps' labels for this run's tasks. */
  readonly desiredLabels: ReadonlyMap<string, DesiredLabel> | undefined
  /**
   * A DAG's task external ids for every step, generated up front (`taskIdOf`); undefined for a
   * single-task run, whose task's external id is the run's id.
   */
  readonly taskIds: ReadonlyMap<string, string> | undefined
  /** Created tasks by step id, in the order they were set (a `Map`'s order). */
  readonly tasks: RunTasks
  finishedAt: number | undefined
  /** The matches of the steps whose tasks wait on conditions, by step id (`matches.ts`; `noEntries` until the first, write through `writable`). */
  matches: ReadonlyMap<string, Match>
  /** The run's slots in its workflow-level concurrency strategies (`noEntries` while it holds none; write through `writable`). */
  concurrencySlots: ReadonlyMap<WorkflowConcurrency, RunSlot>
  /** The idempotency key the run claimed, if its version has one. */
  readonly idempotencyKey: string | undefined
}

/** A run's created tasks by step id: the part of a `Map` the engine uses. */
export interface RunTasks {
  readonly size: number
  get(stepId: string): Task | undefined
  set(stepId: string, task: Task): this
  delete(stepId: string): boolean
  /**
   * The tasks in the order they were set, as a `Map` iterates; but with a single task it iterates a
   * snapshot: a task set during the loop is not visited.
   */
  values(): IterableIterator<Task>
  /** The first task set (the only one of a single-task run), without an iterator. */
  first(): Task | undefined
  /** Whether a task satisfies `predicate`, in the order they were set (a single task without an iterator). */
  some(predicate: (task: Task) => boolean): boolean
  /** Calls `f` on each task in the order they were set (without an iterator). */
  forEach(f: (task: Task) => void): void
}

/**
 * `RunTasks` that keep a single task in three fields and move to a `Map` at the second (a `Map`
 * of one entry is two objects and about 180 bytes): most runs have one task, and a retained run
 * is kept for a long time, so what it costs the collector to mark and move adds up. A run is one
 * (`RunRecord` extends it).
 */
export class TaskMap implements RunTasks {
  private stepId: string | undefined = undefined
  private task: Task | undefined = undefined
  private map: Map<string, Task> | undefined = undefined

  get size(): number {
    return this.map !== undefined ? this.map.size : this.task !== undefined ? 1 : 0
  }

  get(stepId: string): Task | undefined {
    if (this.map !== undefined) return this.map.get(stepId)
    return stepId === this.stepId ? this.task : undefined
  }

  set(stepId: string, task: Task): this {
    if (this.map !== undefined) this.map.set(stepId, task)
    else if (this.task === undefined || stepId === this.stepId) {
      this.stepId = stepId
      this.task = task
    } else {
      this.map = new Map([[this.stepId!, this.task], [stepId, task]])
      this.stepId = undefined
      this.task = undefined
    }
    return this
  }

  delete(stepId: string): boolean {
    if (this.map !== undefined) return this.map.delete(stepId)
    if (this.task === undefined || stepId !== this.stepId) return false
    this.stepId = undefined
    this.task = undefined
    return true
  }

  values(): IterableIterator<Task> {
    if (this.map !== undefined) return this.map.values()
    return (this.task === undefined ? [] : [this.task]).values()
  }

  first(): Task | undefined {
    return this.map !== undefined ? this.map.values().next().value : this.task
  }

  some(predicate: (task: Task) => boolean): boolean {
    if (this.map === undefined) return this.task !== undefined && predicate(this.task)
    for (const task of this.map.values()) {
      if (predicate(task)) return true
    }
    return false
  }

  forEach(f: (task: Task) => void): void {
    if (this.map !== undefined) this.map.forEach((task) => f(task))
    else if (this.task !== undefined) f(this.task)
  }
}

// -----------------------------------------------------------------------------
// retained records: runs and tasks as classes, what few of them have kept apart
// -----------------------------------------------------------------------------

/**
 * `at - base` when adding it to `base` gives `at` back exactly (always, for whole milliseconds),
 * else undefined. The records keep their times as such offsets: V8 keeps an integer below 2^30
 * (12 days in milliseconds) in the object itself, where a time since the epoch is a heap number
 * of its own (as a larger offset is again). A record whose offset would not give its time back
 * keeps the time in its extras.
 */
const offsetFrom = (base: number, at: number): number | undefined => {
  const offset = at - base
  return base + offset === at ? offset : undefined
}

/**
 * What few runs have (a parent, a triggering event or filter, a desired worker or labels, a DAG's
 * task ids, an idempotency key, matches, workflow-level slots, a creation or finish time no
 * offset holds): every run without any of it shares `noRunExtras`, so a retained run holds none
 * of these fields.
 */
class RunExtras {
  parentTaskExternalId: string | undefined = undefined
  childIndex: number | undefined = undefined
  childKey: string | undefined = undefined
  triggeringEvent: { readonly id: string; readonly key: string } | undefined = undefined
  filterPayload: JsonValue | null = null
  desiredWorkerId: string | undefined = undefined
  desiredLabels: ReadonlyMap<string, DesiredLabel> | undefined = undefined
  taskIds: ReadonlyMap<string, string> | undefined = undefined
  idempotencyKey: string | undefined = undefined
  matches: ReadonlyMap<string, Match> = noEntries
  concurrencySlots: ReadonlyMap<WorkflowConcurrency, RunSlot> = noEntries
  createdAt = 0
  finishedAt: number | undefined = undefined
}

const noRunExtras: RunExtras = Object.freeze(new RunExtras())

/** A run's fields as `RunRecord` is made from them (its tasks and finish come later). */
export type NewRunRecord = Pick<
  Run,
  | "id"
  | "workflow"
  | "version"
  | "inputRaw"
  | "input"
  | "metadata"
  | "priority"
  | "createdAt"
  | "parentTaskExternalId"
  | "childIndex"
  | "childKey"
  | "triggeringEvent"
  | "filterPayload"
  | "desiredWorkerId"
  | "desiredLabels"
  | "taskIds"
  | "idempotencyKey"
>

/**
 * The time run creations and final states keep their times from: the first run's creation in
 * this process, so that for the next 12 days a run's creation is a small integer in the record.
 */
let creationEpoch: number | undefined

/** `offsetFrom` the `creationEpoch` (set by the first call). */
const sinceEpoch = (at: number): number | undefined => {
  if (creationEpoch === undefined) creationEpoch = at
  return offsetFrom(creationEpoch, at)
}

class CompletedState implements Completed {
  readonly _tag = "Completed"
  constructor(
    readonly output: string,
    readonly completedBy: string | undefined,
    readonly skipped: boolean,
    private readonly offset: number
  ) {}
  get at(): number {
    return creationEpoch! + this.offset
  }
}

class FailedState implements Failed {
  readonly _tag = "Failed"
  constructor(readonly error: string, private readonly offset: number) {}
  get at(): number {
    return creationEpoch! + this.offset
  }
}

class CancelledState implements Cancelled {
  readonly _tag = "Cancelled"
  constructor(private readonly offset: number) {}
  get at(): number {
    return creationEpoch! + this.offset
  }
}

/**
 * A final state as a retained task keeps it: its time an offset from the first run's creation
 * (`offsetFrom`); a time the offset does not give back exactly is kept as it is.
 */
export const completedState = (output: string, completedBy: string | undefined, skipped: boolean, at: number): Completed => {
  const offset = sinceEpoch(at)
  return offset !== undefined
    ? new CompletedState(output, completedBy, skipped, offset)
    : { _tag: "Completed", output, completedBy, skipped, at }
}

/** A failed task's state (see `completedState`). */
export const failedState = (error: string, at: number, restError?: string): Failed => {
  // a REST error of its own is rare (a timeout's): kept on a plain object, not on every retained state
  if (restError !== undefined && restError !== error) return { _tag: "Failed", error, at, restError }
  const offset = sinceEpoch(at)
  return offset !== undefined ? new FailedState(error, offset) : { _tag: "Failed", error, at }
}

/** A cancelled task's state (see `completedState`). */
export const cancelledState = (at: number): Cancelled => {
  const offset = sinceEpoch(at)
  return offset !== undefined ? new CancelledState(offset) : { _tag: "Cancelled", at }
}

/**
 * A run as the engine keeps it, live and retained: the fields every run uses, its creation and
 * finish as offsets (no heap numbers of their own), its tenant and whether it is a DAG read from
 * its workflow and version, and what few runs have in one `RunExtras` shared by every run without
 * it (written through the setters, which give the run its own). It is its own `RunTasks` (a
 * `TaskMap`: one task inline, a `Map` from the second), so a retained one-task run is one object
 * of 13 fields rather than a run of 24 and a task map.
 */
export class RunRecord extends TaskMap implements Run {
  readonly id: string
  readonly workflow: Workflow
  readonly version: WorkflowVersion
  readonly inputRaw: string
  readonly input: JsonValue | undefined
  readonly metadata: JsonObject
  readonly priority: number
  /** Its creation's offset from `creationEpoch`; undefined: the time is in the extras. */
  private readonly created: number | undefined = undefined
  /** Its finish's offset from its creation; null: the time is in the extras. */
  private finished: number | null | undefined = undefined
  private extras: RunExtras

  constructor(init: NewRunRecord) {
    super()
    this.id = init.id
    this.workflow = init.workflow
    this.version = init.version
    this.inputRaw = init.inputRaw
    this.input = init.input
    this.metadata = init.metadata
    this.priority = init.priority
    const createdAt = init.createdAt
    this.created = sinceEpoch(createdAt)
    const rare = init.parentTaskExternalId !== undefined || init.childIndex !== undefined ||
      init.childKey !== undefined || init.triggeringEvent !== undefined || init.filterPayload !== null ||
      init.desiredWorkerId !== undefined || init.desiredLabels !== undefined || init.taskIds !== undefined ||
      init.idempotencyKey !== undefined || this.created === undefined
    this.extras = noRunExtras
    if (rare) {
      const extras = new RunExtras()
      extras.parentTaskExternalId = init.parentTaskExternalId
      extras.childIndex = init.childIndex
      extras.childKey = init.childKey
      extras.triggeringEvent = init.triggeringEvent
      extras.filterPayload = init.filterPayload
      extras.desiredWorkerId = init.desiredWorkerId
      extras.desiredLabels = init.desiredLabels
      extras.taskIds = init.taskIds
      extras.idempotencyKey = init.idempotencyKey
      extras.createdAt = createdAt
      this.extras = extras
    }
  }

  /** Its own extras (a copy of the shared ones on the first write). */
  private own(): RunExtras {
    if (this.extras === noRunExtras) this.extras = new RunExtras()
    return this.extras
  }

  get createdAt(): number {
    const created = this.created
    return created === undefined ? this.extras.createdAt : creationEpoch! + created
  }
  /** The run's tasks: the run itself. */
  get tasks(): RunTasks {
    return this
  }
  get tenantId(): string {
    return this.workflow.tenantId
  }
  get isDag(): boolean {
    return this.version.steps.length > 1
  }
  get parentTaskExternalId(): string | undefined {
    return this.extras.parentTaskExternalId
  }
  get childIndex(): number | undefined {
    return this.extras.childIndex
  }
  get childKey(): string | undefined {
    return this.extras.childKey
  }
  get triggeringEvent(): { readonly id: string; readonly key: string } | undefined {
    return this.extras.triggeringEvent
  }
  get filterPayload(): JsonValue | null {
    return this.extras.filterPayload
  }
  get desiredWorkerId(): string | undefined {
    return this.extras.desiredWorkerId
  }
  get desiredLabels(): ReadonlyMap<string, DesiredLabel> | undefined {
    return this.extras.desiredLabels
  }
  get taskIds(): ReadonlyMap<string, string> | undefined {
    return this.extras.taskIds
  }
  get idempotencyKey(): string | undefined {
    return this.extras.idempotencyKey
  }
  get matches(): ReadonlyMap<string, Match> {
    return this.extras.matches
  }
  set matches(matches: ReadonlyMap<string, Match>) {
    if (matches !== this.extras.matches) this.own().matches = matches
  }
  get concurrencySlots(): ReadonlyMap<WorkflowConcurrency, RunSlot> {
    return this.extras.concurrencySlots
  }
  set concurrencySlots(slots: ReadonlyMap<WorkflowConcurrency, RunSlot>) {
    if (slots !== this.extras.concurrencySlots) this.own().concurrencySlots = slots
  }
  get finishedAt(): number | undefined {
    const finished = this.finished
    return finished === undefined ? undefined : finished === null ? this.extras.finishedAt : this.createdAt + finished
  }
  set finishedAt(at: number | undefined) {
    if (at === undefined) {
      this.finished = undefined
      return
    }
    const offset = offsetFrom(this.createdAt, at)
    if (offset === undefined) this.own().finishedAt = at
    this.finished = offset ?? null
  }
}

/**
 * What few tasks have (app or internal retries, a desired worker, failed parents or trigger data,
 * logs, children, signals, stream events, concurrency keys and slots, rate limits, a batch key, a
 * durable log, times no offset holds): every task without any of it shares `noTaskExtras`.
 */
class TaskExtras {
  appRetryCount = 0
  internalRetryCount = 0
  desiredWorkerId: string | undefined = undefined
  stepRunErrors: Record<string, string> | undefined = undefined
  triggerData: Readonly<Record<string, JsonValue>> = emptyObject
  logs: ReadonlyArray<LogLine> = noItems
  spawned: ReadonlyMap<string, string> = noEntries
  signals: ReadonlyMap<string, LegacySignal> = noEntries
  stream: StreamOrder | undefined = undefined
  concurrencyKeys: ConcurrencyKeys | undefined = undefined
  rateLimits: ReadonlyArray<TaskRateLimit> = noItems
  waitingOnDynamicKeys = false
  batchKey: string | undefined = undefined
  concurrencySlots: ReadonlyArray<ConcurrencySlot> = noItems
  durable: DurableLog | undefined = undefined
  createdAt = 0
  startedAt: number | undefined = undefined
}

const noTaskExtras: TaskExtras = Object.freeze(new TaskExtras())

/** A task's fields as `TaskRecord` is made from them (a replay's task continues its predecessor's). */
export type NewTaskRecord = Pick<
  Task,
  | "id"
  | "externalId"
  | "run"
  | "step"
  | "createdAt"
  | "state"
  | "retryCount"
  | "desiredWorkerId"
  | "stepRunErrors"
  | "triggerData"
  | "timeline"
  | "logs"
  | "spawned"
  | "signals"
>

/**
 * A task as the engine keeps it, live and retained: the fields every task uses, its creation and
 * start as offsets from its run's creation (no heap numbers of their own), its tenant and priority
 * read from its run (a task's are its run's), and what few tasks have in one `TaskExtras` shared
 * by every task without it (written through the setters, which give the task its own). A retained
 * task is then 10 fields rather than 26.
 */
export class TaskRecord implements Task {
  readonly id: number
  readonly externalId: string
  readonly run: Run
  readonly step: Step
  state: TaskState
  retryCount: number
  timeline: Array<TaskEvent> | PackedTimeline
  /** Its creation's offset from its run's; undefined: the time is in the extras. */
  private readonly created: number | undefined = undefined
  /** Its first assignment's offset from its run's creation; null: the time is in the extras. */
  private started: number | null | undefined = undefined
  private extras: TaskExtras

  constructor(init: NewTaskRecord) {
    this.id = init.id
    this.externalId = init.externalId
    this.run = init.run
    this.step = init.step
    this.state = init.state
    this.retryCount = init.retryCount
    this.timeline = init.timeline
    this.extras = noTaskExtras
    this.created = offsetFrom(init.run.createdAt, init.createdAt)
    if (this.created === undefined) this.own().createdAt = init.createdAt
    if (init.desiredWorkerId !== undefined) this.own().desiredWorkerId = init.desiredWorkerId
    if (init.stepRunErrors !== undefined) this.own().stepRunErrors = init.stepRunErrors
    if (init.triggerData !== emptyObject) this.own().triggerData = init.triggerData
    this.logs = init.logs
    this.spawned = init.spawned
    this.signals = init.signals
  }

  /** Its own extras (a copy of the shared ones on the first write). */
  private own(): TaskExtras {
    if (this.extras === noTaskExtras) this.extras = new TaskExtras()
    return this.extras
  }

  get tenantId(): string {
    return this.run.tenantId
  }
  get priority(): number {
    return this.run.priority
  }
  get createdAt(): number {
    return this.created === undefined ? this.extras.createdAt : this.run.createdAt + this.created
  }
  get startedAt(): number | undefined {
    const started = this.started
    return started === undefined ? undefined : started === null ? this.extras.startedAt : this.run.createdAt + started
  }
  set startedAt(at: number | undefined) {
    if (at === undefined) {
      this.started = undefined
      return
    }
    const offset = offsetFrom(this.run.createdAt, at)
    if (offset === undefined) this.own().startedAt = at
    this.started = offset ?? null
  }
  get appRetryCount(): number {
    return this.extras.appRetryCount
  }
  set appRetryCount(count: number) {
    if (count !== this.extras.appRetryCount) this.own().appRetryCount = count
  }
  get internalRetryCount(): number {
    return this.extras.internalRetryCount
  }
  set internalRetryCount(count: number) {
    if (count !== this.extras.internalRetryCount) this.own().internalRetryCount = count
  }
  get desiredWorkerId(): string | undefined {
    return this.extras.desiredWorkerId
  }
  get stepRunErrors(): Record<string, string> | undefined {
    return this.extras.stepRunErrors
  }
  set stepRunErrors(errors: Record<string, string> | undefined) {
    if (errors !== this.extras.stepRunErrors) this.own().stepRunErrors = errors
  }
  get triggerData(): Readonly<Record<string, JsonValue>> {
    return this.extras.triggerData
  }
  get logs(): ReadonlyArray<LogLine> {
    return this.extras.logs
  }
  set logs(logs: ReadonlyArray<LogLine>) {
    if (logs !== this.extras.logs) this.own().logs = logs
  }
  get spawned(): ReadonlyMap<string, string> {
    return this.extras.spawned
  }
  set spawned(spawned: ReadonlyMap<string, string>) {
    if (spawned !== this.extras.spawned) this.own().spawned = spawned
  }
  get signals(): ReadonlyMap<string, LegacySignal> {
    return this.extras.signals
  }
  set signals(signals: ReadonlyMap<string, LegacySignal>) {
    if (signals !== this.extras.signals) this.own().signals = signals
  }
  get stream(): StreamOrder | undefined {
    return this.extras.stream
  }
  set stream(stream: StreamOrder | undefined) {
    if (stream !== this.extras.stream) this.own().stream = stream
  }
  get concurrencyKeys(): ConcurrencyKeys | undefined {
    return this.extras.concurrencyKeys
  }
  set concurrencyKeys(keys: ConcurrencyKeys | undefined) {
    if (keys !== this.extras.concurrencyKeys) this.own().concurrencyKeys = keys
  }
  get rateLimits(): ReadonlyArray<TaskRateLimit> {
    return this.extras.rateLimits
  }
  set rateLimits(limits: ReadonlyArray<TaskRateLimit>) {
    if (limits !== this.extras.rateLimits) this.own().rateLimits = limits
  }
  get waitingOnDynamicKeys(): boolean {
    return this.extras.waitingOnDynamicKeys
  }
  set waitingOnDynamicKeys(waiting: boolean) {
    if (waiting !== this.extras.waitingOnDynamicKeys) this.own().waitingOnDynamicKeys = waiting
  }
  get batchKey(): string | undefined {
    return this.extras.batchKey
  }
  set batchKey(key: string | undefined) {
    if (key !== this.extras.batchKey) this.own().batchKey = key
  }
  get concurrencySlots(): ReadonlyArray<ConcurrencySlot> {
    return this.extras.concurrencySlots
  }
  set concurrencySlots(slots: ReadonlyArray<ConcurrencySlot>) {
    if (slots !== this.extras.concurrencySlots) this.own().concurrencySlots = slots
  }
  get durable(): DurableLog | undefined {
    return this.extras.durable
  }
  set durable(log: DurableLog | undefined) {
    if (log !== this.extras.durable) this.own().durable = log
  }
}

/** The external id of the task of `step` in `run` (a single-task run's is the run's id). */
export const taskIdOf = (run: Run, step: Step): string => run.taskIds === undefined ? run.id : run.taskIds.get(step.id)!

/** The status REST reports for a run (`UpdateDAGStatuses` / the single task's status). */
export const runStatus = (run: Run): TaskStatus => {
  if (run.finishedAt !== undefined) {
    if (run.tasks.some(hasFailed)) return "FAILED"
    return run.tasks.some(wasCancelled) ? "CANCELLED" : "COMPLETED"
  }
  return run.tasks.some(hasRun) ? "RUNNING" : "QUEUED"
}

const hasFailed = (task: Task) => task.state._tag === "Failed"
const wasCancelled = (task: Task) => task.state._tag === "Cancelled"
const hasRun = (task: Task) => task.state._tag === "Assigned" || task.startedAt !== undefined || isFinal(task)

// -----------------------------------------------------------------------------
// scheduled runs
// -----------------------------------------------------------------------------

/**
 * A run scheduled for a given time (upstream `WorkflowTriggerScheduledRef`), created through REST
 * or `WorkflowService/ScheduleWorkflow`. It is deleted when it fires.
 */
export interface ScheduledRun {
  readonly id: string
  readonly tenantId: string
  readonly workflow: Workflow
  /** The workflow's latest version when the run was scheduled (upstream's `parentId`). */
  readonly version: WorkflowVersion
  /** When it fires, in milliseconds since the epoch (moved by a reschedule). */
  triggerAt: number
  /** Input JSON text; "" when none was given (upstream NULL). */
  readonly inputRaw: string
  /** Additional metadata JSON text; "" when none was given (upstream NULL). */
  readonly metadataRaw: string
  readonly priority: number
  /** `API` for every scheduled run this engine stores (upstream's `DEFAULT` ones come from code definitions). */
  readonly method: "DEFAULT" | "API"
  readonly createdAt: number
  /** Upstream's reschedule does not touch it: it stays the creation time. */
  readonly updatedAt: number
}

// -----------------------------------------------------------------------------
// cron triggers
// -----------------------------------------------------------------------------

/**
 * A cron trigger of a workflow (upstream `WorkflowTriggerCronRef`): declared on the workflow's
 * latest version (method `DEFAULT`, name "") or created through REST (method `API`). It always
 * belongs to the workflow's latest version: a new version replaces the `DEFAULT` ones and keeps
 * the `API` ones.
 */
export interface CronTrigger {
  readonly id: string
  readonly tenantId: string
  readonly workflow: Workflow
  /** The crontab as given. */
  readonly expression: string
  /** "" for the crons declared on the workflow. */
  readonly name: string
  /** Input JSON text; "" when none was given (upstream NULL). */
  readonly inputRaw: string
  /** Additional metadata JSON text; "" when none was given (upstream NULL). */
  readonly metadataRaw: string
  readonly priority: number
  /** A disabled cron does not fire (`PATCH {enabled}`). */
  enabled: boolean
  readonly method: "DEFAULT" | "API"
  readonly createdAt: number
  /** Upstream's update of `enabled` does not touch it: it stays the creation time. */
  readonly updatedAt: number
}

// -----------------------------------------------------------------------------
// events and subscriptions
// -----------------------------------------------------------------------------

export interface PushedEvent {
  readonly id: string
  readonly tenantId: string
  readonly key: string
  readonly payload: string
  readonly additionalMetadata: string | undefined
  readonly scope: string | undefined
  readonly priority: number | undefined
  readonly createdAt: number
  /** The incoming webhook that turned a request into this event, if one did. */
  readonly triggeringWebhookName: string | undefined
  /** The runs it triggered, in order, each with the filter that matched (when one did). */
  readonly triggeredRuns: Array<TriggeredRun>
}

/** A run an event triggered (upstream `v1_event_to_run`). */
export interface TriggeredRun {
  readonly runId: string
  readonly filterId: string | undefined
}

/** A `SubscribeToWorkflowEvents` stream. */
export interface EventSubscriber {
  readonly send: (event: WorkflowEvent) => void
  readonly close: () => void
}

/** A `SubscribeToWorkflowEvents` stream filtered by additional metadata. */
export interface MetadataSubscriber extends EventSubscriber {
  readonly key: string
  readonly value: string
  /** Runs this stream has seen that have not yet emitted WORKFLOW_RUN COMPLETED. */
  readonly active: Set<string>
}

/** A `V1Dispatcher/DurableTask` stream: where a durable task's log entries are reported. */
export interface DurableStream {
  readonly id: string
  readonly tenantId: string
  readonly send: (response: DurableTaskResponse) => void
  /**
   * Per task and invocation (`"<task>:<invocation>"`): the highest satisfied order sent, and the
   * completions held back until the orders before them are sent (`durableLog.deliverEntry`).
   */
  readonly releases: Map<string, DurableRelease>
}

/** The ordered release of one invocation's completions on a stream (upstream `orderedRelease`). */
export interface DurableRelease {
  maxSent: number
  readonly held: Map<number, DurableTaskResponse>
  /** When (engine clock) the oldest completion still held was held; undefined while none is. */
  oldestHeldAt: number | undefined
}

/** A `SubscribeToWorkflowRuns` stream. */
export interface RunSubscriber {
  readonly send: (event: WorkflowRunEvent) => void
}

// -----------------------------------------------------------------------------
// the state
// -----------------------------------------------------------------------------

/** Tasks waiting for a worker with a given action, FIFO within priority 4 > 3 > 2 > 1. */
export interface QueueEntry {
  readonly task: Task
  readonly token: number
  readonly priority: number
  /** The schedule timeout of the queue item. */
  readonly deadline: number
}

export interface TenantState {
  readonly tenant: Tenant
  readonly workers: Map<string, Worker>
  readonly workflowsByName: Map<string, Workflow>
  readonly workflowsById: Map<string, Workflow>
  /** action id → workers registered with it. */
  readonly actionWorkers: Map<string, Set<Worker>>
  /** action id → round-robin offset among its workers. */
  readonly roundRobin: Map<string, number>
  /** The tenant's runs in creation order (the run list's index). */
  readonly runs: CreationIndex<Run>
  /** Runs by workflow id, in creation order. */
  readonly runsByWorkflow: Map<string, CreationIndex<Run>>
  /** Child runs by their parent task's external id, in creation order. */
  readonly childRuns: Map<string, CreationIndex<Run>>
  /** Every current task incarnation in creation order (the task list's index). */
  readonly tasks: CreationIndex<Task>
  readonly events: CreationIndex<PushedEvent>
  /** Event filters by id. */
  readonly filters: Map<string, EventFilter>
  /** Event filters by workflow id, in creation order. */
  readonly filtersByWorkflow: Map<string, Array<EventFilter>>
  /** Incoming webhooks by name, in creation order (`webhooks.ts`). */
  readonly webhooks: Map<string, IncomingWebhook>
  /** Finished runs in the order they finished, for retention (`retention.ts`). */
  readonly finished: FinishedRuns
  /** Rate limits by key (`PutRateLimit`, or upserted from tasks' dynamic limits). */
  readonly rateLimits: Map<string, RateLimit>
  /** Dynamic rate-limit keys of the tasks not yet assigned, and what they ask for (`rateLimits.ts`). */
  readonly dynamicKeys: Map<string, DynamicKeyDemand>
  /** Claimed idempotency keys: the run holding each and when the claim expires (`idempotency.ts`). */
  readonly idempotencyKeys: Map<string, { readonly runId: string; readonly expiresAt: number }>
  /** Prometheus counters by metric name (`metrics.ts`); they only grow. */
  readonly counters: Map<string, number>
  /** Tenant-scoped concurrency strategies, by name, shared across the tenant's workflows. */
  readonly concurrencyStrategies: Map<string, StepConcurrency>
  /** Scheduled runs not yet fired, by id. */
  readonly scheduled: Map<string, ScheduledRun>
  /** Cron triggers (declared and created through REST), by id, in creation order. */
  readonly crons: Map<string, CronTrigger>
  /** The matches waiting on a user event, by event key. */
  readonly eventMatches: Map<string, Set<Match | SignalMatch>>
  /** Batch groups by id (`batches.ts`). */
  readonly batchGroups: Map<string, BatchGroup>
  /** OTLP traces by trace id (hex), in the order their first span was stored (`traces.ts`). */
  readonly traces: Map<string, StoredTrace>
  /** Task and workflow run external id → the trace the trace route answers for it (`traces.ts`). */
  readonly traceLookup: Map<string, TraceLookup>
}

/** A span an SDK exported to the engine's trace collector, as the trace route answers it (`traces.ts`). */
export interface StoredSpan {
  readonly spanId: string
  /** Hex; undefined for a root span. */
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER"
  readonly serviceName: string
  readonly statusCode: "UNSET" | "OK" | "ERROR"
  readonly statusMessage: string | undefined
  readonly durationNs: number
  /** Start time in microseconds since the epoch (upstream stores a `timestamptz`). */
  readonly startUs: bigint
  /** Attributes as the route answers them (strings, other values as their JSON); undefined for none. */
  readonly resourceAttributes: Readonly<Record<string, string>> | undefined
  readonly spanAttributes: Readonly<Record<string, string>> | undefined
  readonly scopeName: string | undefined
  readonly retryCount: number
}

/** One trace's spans in start order (ties in arrival order), deduplicated by start time and span id. */
export interface StoredTrace {
  readonly id: string
  /** When its first span was stored (retention's clock). */
  readonly storedAt: number
  readonly spans: Array<StoredSpan>
  /** `startUs/spanId` of every span held. */
  readonly keys: Set<string>
  /** The run external ids whose lookup entry names this trace. */
  readonly externalIds: Set<string>
}

/** The trace a run external id resolves to: its highest retry count's, then its latest start. */
export interface TraceLookup {
  readonly traceId: string
  readonly retryCount: number
  readonly startUs: bigint
}

/**
 * Finished runs in the order retention considers them: `runs[i]` finished at `finishedAt[i]` and
 * is kept from `since[i]` on (its finish, or later for a child kept for its running parent), from
 * `head` to `end` (slot arrays, compacted in place: see `creationIndex.ts` `putAt`). An entry is
 * stale once its run was pruned or replayed (its `finishedAt` changed); `count` is the number of
 * finished runs stored.
 */
export interface FinishedRuns {
  readonly runs: Array<Run>
  readonly finishedAt: Array<number>
  readonly since: Array<number>
  head: number
  end: number
  count: number
  /** While a sweep prunes in slices: where it stops (the end of `runs` when it started). */
  sweepEnd: number | undefined
}

/** What the engine keeps (see `EngineOptions.retention`); `Infinity` keeps everything. */
export interface RetentionPolicy {
  /** How long a finished run, or a pushed event, is kept (ms). */
  readonly maxAgeMs: number
  /** Finished runs (and pushed events) kept per tenant. */
  readonly maxRuns: number
  /** How long a worker is kept once it is inactive (ms). */
  readonly workerMaxAgeMs: number
  /** Inactive workers kept per tenant. */
  readonly maxInactiveWorkers: number
}

/** Fault injection knobs (see `Engine.FaultInjection`). */
export interface Faults {
  rejectHeartbeats: number
  readonly forgottenWorkers: Set<string>
}

/**
 * The engine's state. The records a durable store keeps (tenants, workflows and versions, runs and
 * their tasks, events, crons, scheduled runs, rate limits; see `changes.ts`) and the indexes over
 * them; then the live runtime: workers and their streams, subscribers, queues, timers and the
 * bookkeeping of the operation under way.
 */
export class EngineState {
  readonly tenants = new Map<string, TenantState>()
  readonly runsById = new Map<string, Run>()
  readonly tasksByExternalId = new Map<string, Task>()
  readonly workflowVersionsById = new Map<string, WorkflowVersion>()
  readonly eventsById = new Map<string, PushedEvent>()
  /** What the operation under way changed among the stored records. */
  changes = new ChangeSet()
  /**
   * Whether the domain marks what it changes in `changes`: false when no store keeps them (the
   * engine's default), so that no operation builds marks only to clear them.
   */
  recordsChanges = true
  readonly workersById = new Map<string, Worker>()
  readonly runSubscribers = new Map<string, Set<RunSubscriber>>()
  readonly eventSubscribers = new Map<string, Set<EventSubscriber>>()
  readonly metadataSubscribers = new Set<MetadataSubscriber>()
  /** The DurableTask stream a durable task last spoke on, by task external id. */
  readonly durableStreams = new Map<string, DurableStream>()
  /** The open `ListenForDurableEvent` streams. */
  readonly durableEventListeners = new Set<DurableEventListener>()
  /**
   * The SIGNAL matches of durable RUN entries waiting on a child run's tasks, by the external id
   * of each task they wait on (`matches.ts` `armChildSignal`).
   */
  readonly childRunMatches = new Map<string, Set<SignalMatch>>()
  readonly faults: Faults = { rejectHeartbeats: 0, forgottenWorkers: new Set() }
  /** tenant id → actions whose queue needs an assignment pass. */
  readonly dirty = new Map<string, Set<string>>()
  /** Concurrency strategies (a step's own, or a workflow's) waiting for a pass (`concurrency.ts`). */
  readonly concurrencyDirty = new Set<StepConcurrency | WorkflowConcurrency>()
  concurrencyDraining = false
  /** Slots whose tasks a strategy decided to cancel, for `tasks.ts` to cancel (`concurrency.ts`). */
  readonly strategyCancels: Array<ConcurrencySlot> = []
  /** True while `tasks.ts` cancels them. */
  settlingStrategies = false
  concurrencySeq = 0
  private taskSeq = 0
  private eventSeq = 0
  private sleepSeq = 0
  queueSeq = 0

  constructor(
    readonly timers: TimerQueue,
    readonly queues: QueueStore,
    readonly options: {
      readonly maxInternalRetries: number
      /** `"connection"`: an open stream is enough to be alive (tests under `TestClock`). */
      readonly workerLiveness: "heartbeat" | "connection"
      readonly retention: RetentionPolicy
      /** How long a finished run's event subscribers stay open (`EngineOptions.runEventsGrace`). */
      readonly runEventsGraceMs: number
    }
  ) {}

  /** The changes recorded since the last call (the same empty set when there are none). */
  takeChanges(): ChangeSet {
    const changes = this.changes
    if (!changes.isEmpty) this.changes = new ChangeSet()
    return changes
  }

  nextTaskId(): number {
    return ++this.taskSeq
  }

  nextEventId(): number {
    return ++this.eventSeq
  }

  nextSleepId(): number {
    return ++this.sleepSeq
  }
}

/** Per-action queues (implemented in `queue.ts`). */
export interface QueueStore {
  enqueue(tenantId: string, action: string, priority: number, entry: QueueEntry): void
  /**
   * The live entries in queue order. An entry dies when its task's token changes; entries added
   * during the iteration may or may not be visited.
   */
  live(tenantId: string, action: string): Iterable<QueueEntry>
  size(tenantId: string, action: string): number
}
