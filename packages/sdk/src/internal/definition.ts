import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { BatchContext } from "../BatchContext.js"
import type * as Condition from "../Condition.js"
import { ON_FAILURE_TASK, ON_SUCCESS_TASK } from "./naming.js"

// -----------------------------------------------------------------------------
// settings (what users write)
// -----------------------------------------------------------------------------

/** How a desired worker label is compared with the worker's label. */
export type WorkerLabelComparator =
  | "EQUAL"
  | "NOT_EQUAL"
  | "GREATER_THAN"
  | "GREATER_THAN_OR_EQUAL"
  | "LESS_THAN"
  | "LESS_THAN_OR_EQUAL"

/** A label a task wants on its worker: a value, or a value with matching rules. */
export type DesiredWorkerLabel =
  | string
  | number
  | {
    readonly value: string | number
    readonly required?: boolean | undefined
    readonly comparator?: WorkerLabelComparator | undefined
    readonly weight?: number | undefined
  }

/** Retry backoff: the engine waits `min(maxSeconds, factor ^ attempt)` seconds. */
export interface Backoff {
  /** 1..1000 */
  readonly factor: number
  /** 1..86400; the engine uses 86400 when unset. */
  readonly maxSeconds?: number | undefined
}

/**
 * What the engine does with runs over a concurrency key's limit:
 * - `GROUP_ROUND_ROBIN`: they wait, first in first out per key (keys take turns);
 * - `CANCEL_IN_PROGRESS`: the oldest are cancelled, running or not, so the newest run;
 * - `CANCEL_NEWEST`: the newest are cancelled, so the oldest run;
 * - `CANCEL_QUEUED_EXCEPT_NEWEST`: running ones are never cancelled; of those waiting, only the
 *   newest `maxRuns` stay (a debounce: the latest request runs next);
 * - `CANCEL_QUEUED_EXCEPT_OLDEST`: running ones are never cancelled; of those waiting, only the
 *   oldest `maxRuns` stay, newer arrivals are cancelled.
 *
 * The last two need Hatchet engine v0.105.16 or newer.
 */
export type ConcurrencyLimitStrategy =
  | "GROUP_ROUND_ROBIN"
  | "CANCEL_IN_PROGRESS"
  | "CANCEL_NEWEST"
  | "CANCEL_QUEUED_EXCEPT_NEWEST"
  | "CANCEL_QUEUED_EXCEPT_OLDEST"

/**
 * A concurrency limit: at most `maxRuns` runs (of the workflow, or of the task) at once per key,
 * the key being what the CEL `expression` gives for the run, e.g. `input.userId` or
 * `additional_metadata.tenant` (Hatchet also offers `workflow_run_id`, which is the task's own id
 * in a DAG; not `parents`). The engine evaluates it when a task is created; a key that is not a
 * string fails that task, and so the run.
 */
export interface Concurrency {
  /** A CEL expression that evaluates to a string. */
  readonly expression: string
  /**
   * Runs per key at once: 1 or more (default 1), or a CEL expression evaluated for each task when
   * it is created, e.g. `"input.tier == 'premium' ? 10 : 1"`; a key's limit is then the value of
   * its newest task (0 holds the key until a newer task raises it; a negative or non-integer value
   * fails the task). An expression needs Hatchet engine v0.106.5 or newer.
   */
  readonly maxRuns?: number | string | undefined
  /**
   * Required: the engine's default (`CANCEL_IN_PROGRESS`) cancels work, which should be a
   * choice rather than a surprise.
   */
  readonly limitStrategy: ConcurrencyLimitStrategy
  /**
   * A limit shared by the tenant: every task (in any workflow) that declares this `name` with
   * `isTenantScoped: true` counts against the same keys, and registering it again updates it in
   * place. Needs Hatchet engine v0.106.5 or newer.
   */
  readonly name?: string | undefined
  /** With `name`: the limit is shared across the tenant's workflows (see `name`). */
  readonly isTenantScoped?: boolean | undefined
}

/** The window of a rate limit: its units come back all at once when it has passed. */
export type RateLimitDuration = "SECOND" | "MINUTE" | "HOUR" | "DAY" | "WEEK" | "MONTH" | "YEAR"

/**
 * A rate limit a task consumes `units` of (default 1) when the engine assigns it to a worker;
 * while the key has too few units left in its window, the task waits. Either a static `key`,
 * created with `Hatchet.putRateLimit` (until it exists, its tasks wait, up to their schedule
 * timeout), or a `dynamicKey`: a CEL expression over the run (`input`, `additional_metadata`,
 * ...) giving one key per value, each with its own `limit` per `duration` window (default
 * `MINUTE`). `units` and `limit` may be CEL expressions too; one that does not give an integer
 * fails the task.
 */
export type RateLimit =
  | {
    readonly key: string
    readonly units?: number | string | undefined
  }
  | {
    readonly dynamicKey: string
    readonly units?: number | string | undefined
    readonly limit: number | string
    readonly duration?: RateLimitDuration | undefined
  }

/** Settings every task has (and `taskDefaults` of a workflow provides). */
export interface TaskSettings {
  /** Retries after the first attempt (so `retries: 2` allows 3 attempts). Default 0. */
  readonly retries?: number | undefined
  readonly backoff?: Backoff | undefined
  /** How long an attempt may run before the engine cancels it. Default 60 seconds. */
  readonly executionTimeout?: Duration.DurationInput | undefined
  /** How long the task may wait for a worker. Engine default 5 minutes. */
  readonly scheduleTimeout?: Duration.DurationInput | undefined
  readonly desiredWorkerLabels?: Readonly<Record<string, DesiredWorkerLabel>> | undefined
  /** Slots of the worker's `default` pool one attempt takes. Default 1. */
  readonly slotCost?: number | undefined
  /** Limits on how many runs of this task run at once, per key; several apply in order. */
  readonly concurrency?: Concurrency | ReadonlyArray<Concurrency> | undefined
  /** Rate limits an attempt consumes units of when it is assigned. */
  readonly rateLimits?: ReadonlyArray<RateLimit> | undefined
}

/** Settings of a workflow (and of a standalone task, which is a one-task workflow). */
export interface WorkflowSettings {
  readonly description?: string | undefined
  readonly version?: string | undefined
  /** Event keys that trigger a run (namespaced on the wire). */
  readonly onEvents?: ReadonlyArray<string> | undefined
  /** Cron expressions (5 fields, or 6 with seconds) that trigger a run. */
  readonly onCrons?: ReadonlyArray<string> | undefined
  /** Default priority of runs, 1 (lowest) to 3. */
  readonly defaultPriority?: 1 | 2 | 3 | undefined
  /** Settings every task of the workflow inherits unless it sets its own. */
  readonly taskDefaults?: TaskSettings | undefined
  /**
   * Limits on how many runs of the whole workflow run at once, per key (a run holds its place
   * until it finishes); several apply in order. On a standalone task, use the task's own
   * `concurrency`.
   */
  readonly concurrency?: Concurrency | ReadonlyArray<Concurrency> | undefined
  /**
   * Keep a run's tasks on one worker, as Hatchet's sticky assignment does: each task of the DAG
   * goes to the worker that ran its parent, and a child run spawned with `sticky: true` to its
   * parent task's worker. `SOFT` prefers that worker (another takes the task when it has no
   * slot); `HARD` waits for it. Worker labels are ignored while a desired worker is known.
   */
  readonly sticky?: "SOFT" | "HARD" | undefined
  /**
   * An idempotency key per run (beta in Hatchet): while a run holds its key, triggering another
   * with the same key makes no run and fails with `HatchetClientError` `IdempotencyCollision`
   * naming the run that holds it (an event or a cron tick then makes no run).
   */
  readonly idempotency?: Idempotency | undefined
  /**
   * Event filters registered with the workflow (Hatchet's `default_filters`): an event pushed
   * with one of their scopes runs the workflow once per filter whose expression holds, with that
   * filter's payload. Each new version of the workflow replaces its declared filters; filters
   * created with the `Filters` service stay.
   */
  readonly defaultFilters?: ReadonlyArray<DefaultFilter> | undefined
}

/** An event filter declared on a workflow (see `WorkflowSettings.defaultFilters`). */
export interface DefaultFilter {
  /** Events pushed with this scope are matched against it. */
  readonly scope: string
  /** CEL over `input` (the event's payload), `payload` (this filter's), `additional_metadata`, `event_id`, `event_key`. */
  readonly expression: string
  /** A JSON object handed to the runs the filter triggers (`TaskContext.filterPayload`). */
  readonly payload?: Readonly<Record<string, unknown>> | undefined
}

/**
 * An idempotency key: a CEL `expression` over the run (`input`, `additional_metadata`) that gives
 * a string, held for `ttl` from the trigger (`until: "ttl"`, the default), or until the run's
 * first task ends and at most `ttl` (`until: "finished"`, Hatchet's STATUS method).
 */
export interface Idempotency {
  readonly expression: string
  readonly ttl: Duration.DurationInput
  readonly until?: "ttl" | "finished" | undefined
}

// -----------------------------------------------------------------------------
// specs (the normalized runtime description)
// -----------------------------------------------------------------------------

/**
 * How the engine gathers the runs of a batch task into one handler call (Hatchet's
 * `TaskBatchConfig`, beta upstream).
 */
export interface BatchSettings {
  /** A batch is flushed once it holds this many items (a positive integer). */
  readonly maxSize: number
  /**
   * A batch that has not filled up is flushed this long after the previous flush of its key.
   * Default (the engine's) 1 second.
   */
  readonly maxInterval?: Duration.DurationInput | undefined
  /**
   * A CEL expression over the run (`input`, `additional_metadata`) giving each item's group: items
   * are only batched with items of the same key. A key that is not a string fails its run. Default:
   * one group.
   */
  readonly groupKey?: string | undefined
  /** At most this many batches of one key run at once (a positive integer). Engine default 100. */
  readonly groupMaxRuns?: number | undefined
  /**
   * The handler returns one output, which every item of the batch gets, instead of one output per
   * input.
   */
  readonly broadcastOutput?: boolean | undefined
}

/** A Schema for a task's typed errors. */
export type ErrorSchema = Schema.Schema.AnyNoContext | Schema.Schema<never, never, never>

/** The step conditions of a task (`waitFor`, `skipIf`, `cancelIf`), each as a list. */
export interface TaskConditions {
  readonly waitFor: ReadonlyArray<Condition.Condition>
  readonly skipIf: ReadonlyArray<Condition.Condition>
  readonly cancelIf: ReadonlyArray<Condition.Condition>
}

/** No conditions. */
export const noConditions: TaskConditions = { waitFor: [], skipIf: [], cancelIf: [] }

/** What a task is for. */
export type TaskRole = "task" | "on-failure" | "on-success"

/** One task of a definition, as stored in the definition value. */
export interface TaskSpec {
  readonly name: string
  readonly role: TaskRole
  readonly output: Schema.Schema.AnyNoContext
  /** The declared error schema, if any. */
  readonly error: ErrorSchema | undefined
  /** Declared parents (on-success: filled in by `parentsOf`). */
  readonly parents: ReadonlyArray<string>
  readonly settings: TaskSettings
  /** Set for a batch task: its runs are handled together (see `Task.batch`). */
  readonly batch?: BatchSettings | undefined
  /**
   * A durable task (`Task.durable`, `Workflow.durableTask`): registered with `is_durable`, on the
   * worker's durable slots, its handler given a `DurableContext`.
   */
  readonly durable?: boolean | undefined
  /**
   * A durable task waiting this long for the engine is evicted by its worker (its slot freed, the
   * engine restores it when the wait ends); `"never"` keeps it. Default 15 minutes (upstream's TTL).
   */
  readonly evictAfter?: Duration.DurationInput | "never" | undefined
  /**
   * A durable task may be evicted when every durable slot of its worker waits for the engine
   * (upstream's `allowCapacityEviction`). Default true.
   */
  readonly evictUnderPressure?: boolean | undefined
  /** Among durable tasks evicted for capacity, lower first (upstream's eviction `priority`). Default 0. */
  readonly evictionPriority?: number | undefined
  /** Step conditions (user tasks of a workflow only; none on hooks and standalone tasks). */
  readonly conditions?: TaskConditions | undefined
}

/** A workflow or a standalone task, as stored in the definition value. */
export interface WorkflowSpec {
  readonly kind: "workflow" | "task"
  readonly name: string
  readonly input: Schema.Schema.AnyNoContext
  readonly settings: WorkflowSettings
  /** User tasks, in definition order. A standalone task has exactly one, named like the workflow. */
  readonly tasks: ReadonlyArray<TaskSpec>
  readonly onFailure: TaskSpec | undefined
  readonly onSuccess: TaskSpec | undefined
}

/** Where every definition value keeps its spec. */
export const SpecId: unique symbol = Symbol.for("@effect-hatchet/sdk/Workflow/spec")

/** Anything that carries a spec: a `Workflow` or a `Task` value. */
export interface HasSpec {
  readonly [SpecId]: WorkflowSpec
}

/** The spec of a `Workflow` or `Task` value. */
export const specOf = (definition: HasSpec): WorkflowSpec => definition[SpecId]

/** Every task the worker may run: user tasks, then on-success, then on-failure. */
export const allTasks = (spec: WorkflowSpec): ReadonlyArray<TaskSpec> => {
  const tasks = [...spec.tasks]
  if (spec.onSuccess !== undefined) tasks.push(spec.onSuccess)
  if (spec.onFailure !== undefined) tasks.push(spec.onFailure)
  return tasks
}

/** Finds a task by readable id (user tasks and hooks). */
export const findTask = (spec: WorkflowSpec, name: string): TaskSpec | undefined => allTasks(spec).find((task) => task.name === name)

/** The user tasks no other user task depends on. */
export const leavesOf = (spec: WorkflowSpec): ReadonlyArray<string> => {
  const parents = new Set<string>()
  for (const task of spec.tasks) for (const parent of task.parents) parents.add(parent)
  return spec.tasks.filter((task) => !parents.has(task.name)).map((task) => task.name)
}

/** The parents a task waits for: declared ones, or the leaves for the on-success task. */
export const parentsOf = (spec: WorkflowSpec, task: TaskSpec): ReadonlyArray<string> =>
  task.role === "on-success" ? leavesOf(spec) : task.parents

/**
 * Whether the engine may skip the task, so that its children may see it without an output: it
 * declares `skipIf`, or it has parents and each of them may be skipped (Hatchet skips a task whose
 * parents were all skipped).
 */
export const isSkippable = (spec: WorkflowSpec, task: TaskSpec, visiting: ReadonlySet<string> = new Set()): boolean => {
  if ((task.conditions?.skipIf.length ?? 0) > 0) return true
  const parents = parentsOf(spec, task)
  if (parents.length === 0) return false
  const path = new Set([...visiting, task.name])
  return parents.every((name) => {
    const parent = spec.tasks.find((t) => t.name === name)
    // a name not found, or a cycle (refused by validation), is never skipped
    return parent !== undefined && !path.has(name) && isSkippable(spec, parent, path)
  })
}

/** Task settings with the workflow's `taskDefaults` applied. */
export const effectiveSettings = (spec: WorkflowSpec, task: TaskSpec): TaskSettings => {
  const defaults = spec.settings.taskDefaults ?? {}
  // a batch task runs each item once and takes one slot, whatever the workflow's defaults say (its
  // own settings may only say so again), as the official SDKs register it
  const batched = task.batch !== undefined
  return {
    retries: batched ? task.settings.retries : task.settings.retries ?? defaults.retries,
    backoff: task.settings.backoff ?? defaults.backoff,
    executionTimeout: task.settings.executionTimeout ?? defaults.executionTimeout,
    scheduleTimeout: task.settings.scheduleTimeout ?? defaults.scheduleTimeout,
    desiredWorkerLabels: task.settings.desiredWorkerLabels ?? defaults.desiredWorkerLabels,
    slotCost: batched ? task.settings.slotCost : task.settings.slotCost ?? defaults.slotCost,
    concurrency: task.settings.concurrency ?? defaults.concurrency,
    rateLimits: task.settings.rateLimits ?? defaults.rateLimits
  }
}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * A workflow or task definition is invalid. `issues` lists every problem found, each as
 * `"<where>: <what is wrong>"`; nothing was sent to the engine.
 */
export class WorkflowDefinitionError extends Data.TaggedError("WorkflowDefinitionError")<{
  readonly workflow: string
  readonly issues: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Invalid workflow "${this.workflow}":\n${this.issues.map((issue) => `  - ${issue}`).join("\n")}`
  }
}

// -----------------------------------------------------------------------------
// implementations (what `toLayer` provides and the worker consumes)
// -----------------------------------------------------------------------------

/**
 * A handler with its services already provided; the caller gives the per-task services
 * (`TaskContext` and `Scope`), which are added to the captured ones in one step.
 */
export interface ProvidedHandler {
  /** The handler's effect for one run; its services are `services`'s. */
  readonly run: (input: unknown, parents: unknown) => Effect.Effect<unknown, unknown, any>
  /**
   * The handler's services when it runs on a fiber whose context is `current`: those captured
   * when its layer was built, merged over `current`'s (a map of its own, to which the caller adds
   * the per-run services: `TaskContext`, the handler's `Scope`).
   */
  readonly services: (current: Context.Context<never>) => Map<string, unknown>
}

/**
 * A batch handler with its services provided: the decoded inputs (and, for a task of a DAG, each
 * run's decoded parent outputs, in the same order) in, the outputs (or, with `broadcastOutput`,
 * one output) out; the caller gives `BatchContext` and the handler's `Scope`.
 */
export type ProvidedBatchHandler = (
  inputs: ReadonlyArray<unknown>,
  parents: ReadonlyArray<unknown>,
  batchServices: Context.Context<BatchContext | Scope.Scope>
) => Effect.Effect<unknown, unknown>

/** The runtime value behind `Workflow.Implementation<Name>`. */
export interface ImplementationShape {
  readonly definition: HasSpec
  readonly spec: WorkflowSpec
  /** Keyed by task readable id (user tasks, `on-success-task`, `on-failure-task`), batch tasks aside. */
  readonly handlers: ReadonlyMap<string, ProvidedHandler>
  /** The handlers of batch tasks (a standalone one's, a DAG's), keyed by task readable id (they are not in `handlers`). */
  readonly batchHandlers?: ReadonlyMap<string, ProvidedBatchHandler> | undefined
}

const IMPLEMENTATION_KEY = "@effect-hatchet/sdk/Workflow/Implementation/"

/** The tag of a definition's implementation; keyed by the declared (not namespaced) name. */
export const implementationTag = (name: string): Context.Tag<any, ImplementationShape> =>
  Context.GenericTag<any, ImplementationShape>(`${IMPLEMENTATION_KEY}${name}`)

/**
 * The implementations a context holds under their tags, e.g. what the implementation layers given
 * to a worker built: the context is read, not changed.
 */
export const implementationsIn = (context: Context.Context<never>): Array<ImplementationShape> => {
  const found: Array<ImplementationShape> = []
  for (const [key, value] of context.unsafeMap) {
    if (key.startsWith(IMPLEMENTATION_KEY)) found.push(value as ImplementationShape)
  }
  return found
}

type AnyHandler = (input: any, parents: any) => Effect.Effect<unknown, unknown, any>

/**
 * The services of a handler whose layer captured `captured`, on a fiber whose context is `current`:
 * the captured services merged over the fiber's. The merge is made once for the fiber context
 * seen last (a worker's task fibers share theirs): a merge copies every service, and a worker runs
 * this once per task.
 */
const mergedServices = (captured: Context.Context<never>): (current: Context.Context<never>) => Context.Context<never> => {
  let lastCurrent: Context.Context<never> | undefined
  let lastMerged: Context.Context<never> = captured
  return (current) => {
    if (current !== lastCurrent) {
      lastMerged = Context.merge(captured, current)
      lastCurrent = current
    }
    return lastMerged
  }
}

/**
 * Runs a handler's effect with the services captured when its layer was built, those of the
 * running fiber and the per-run services, added in one step.
 */
const withServices = (
  captured: Context.Context<never>
): (effect: Effect.Effect<unknown, unknown, any>, perRun: Context.Context<any>) => Effect.Effect<unknown, unknown> => {
  const merged = mergedServices(captured)
  return (effect, perRun) => Effect.mapInputContext(effect, (current: Context.Context<never>) => Context.merge(merged(current), perRun))
}

/**
 * Builds the implementation layer: captures the handlers' services at build time (as
 * `RpcGroup.toLayer` does), so each task only needs `TaskContext` and a `Scope` (a batch task's
 * handler, `BatchContext` and a `Scope`: it goes to `batchHandlers`).
 */
export const implementationLayer = (
  definition: HasSpec,
  build: Record<string, AnyHandler> | Effect.Effect<Record<string, AnyHandler>, any, any>
): Layer.Layer<any, any, any> => {
  const spec = specOf(definition)
  return Layer.effect(
    implementationTag(spec.name),
    Effect.gen(function*() {
      const handlers = Effect.isEffect(build) ? yield* build : build
      const context = yield* Effect.context<never>()
      const merged = mergedServices(context)
      // copied with forEach: `new Map(map)` goes through the iterator protocol, an entry array and
      // a result object per service (this runs once per task)
      const services = (current: Context.Context<never>) => {
        const map = new Map<string, unknown>()
        merged(current).unsafeMap.forEach((service, key) => map.set(key, service))
        return map
      }
      const provided = new Map<string, ProvidedHandler>()
      const batchHandlers = new Map<string, ProvidedBatchHandler>()
      const provideBatch = withServices(context)
      for (const task of allTasks(spec)) {
        const handler = handlers[task.name]
        if (typeof handler !== "function") {
          return yield* Effect.dieMessage(
            spec.kind === "task" && task.batch !== undefined
              ? `batch task "${spec.name}": no handler`
              : `workflow "${spec.name}": no handler for task "${task.name}"`
          )
        }
        if (task.batch === undefined) {
          provided.set(task.name, { run: handler, services })
        } else {
          batchHandlers.set(task.name, (inputs, parents, batchServices) => provideBatch(handler(inputs, parents), batchServices))
        }
      }
      return batchHandlers.size === 0
        ? { definition, spec, handlers: provided }
        : { definition, spec, handlers: provided, batchHandlers } satisfies ImplementationShape
    })
  )
}

/** Builds the layer of a standalone task (a batch task's too) from its single handler. */
export const taskImplementationLayer = (
  definition: HasSpec,
  build: AnyHandler | Effect.Effect<AnyHandler, any, any>
): Layer.Layer<any, any, any> => {
  const name = specOf(definition).name
  const handlers = Effect.isEffect(build)
    ? Effect.map(build, (handler) => ({ [name]: handler }))
    : { [name]: build }
  return implementationLayer(definition, handlers)
}

// -----------------------------------------------------------------------------
// values
// -----------------------------------------------------------------------------

const makeProto = (layer: (definition: HasSpec, build: any) => Layer.Layer<any, any, any>) => ({
  pipe() {
    return pipeArguments(this, arguments)
  },
  toLayer(this: HasSpec, build: any) {
    return layer(this, build)
  }
})

const WorkflowProto = makeProto(implementationLayer)
const TaskProto = makeProto(taskImplementationLayer)

const taskRecord = (tasks: ReadonlyArray<TaskSpec>) => {
  const record: Record<string, unknown> = {}
  for (const task of tasks) {
    record[task.name] = {
      name: task.name,
      output: task.output,
      error: task.error ?? Schema.Never,
      parents: task.parents,
      settings: task.settings,
      ...(task.durable === true ? { durable: true } : {}),
      ...(task.batch !== undefined ? { batch: task.batch } : {})
    }
  }
  return record
}

/** Makes a `Workflow` value (public fields + spec) from a spec. */
export const makeWorkflowValue = (spec: WorkflowSpec, typeId: symbol): any => {
  const self = Object.create(WorkflowProto)
  self[typeId] = typeId
  self[SpecId] = spec
  self.kind = "workflow"
  self.name = spec.name
  self.input = spec.input
  self.settings = spec.settings
  self.tasks = taskRecord(spec.tasks)
  self.hooks = taskRecord([...(spec.onFailure ? [spec.onFailure] : []), ...(spec.onSuccess ? [spec.onSuccess] : [])])
  return self
}

/** Makes a standalone `Task` value (or a batch task's, when its task has `batch`) from a one-task spec. */
export const makeTaskValue = (spec: WorkflowSpec, typeId: symbol): any => {
  const task = spec.tasks[0]
  const self = Object.create(TaskProto)
  self[typeId] = typeId
  self[SpecId] = spec
  self.kind = "task"
  self.name = spec.name
  self.input = spec.input
  self.output = task.output
  self.error = task.error ?? Schema.Never
  self.settings = { ...spec.settings, ...task.settings }
  if (task.batch !== undefined) self.batch = task.batch
  if (task.durable === true) self.durable = true
  return self
}

/** Spec of a hook task. */
export const hookSpec = (
  role: "on-failure" | "on-success",
  options: TaskSettings & {
    readonly output?: Schema.Schema.AnyNoContext | undefined
    readonly error?: ErrorSchema | undefined
  }
): TaskSpec => ({
  name: role === "on-failure" ? ON_FAILURE_TASK : ON_SUCCESS_TASK,
  role,
  output: options.output ?? Schema.Void,
  error: options.error,
  parents: [],
  settings: pickTaskSettings(options)
})

/** Keeps only the `TaskSettings` keys of an options object. */
export const pickTaskSettings = (options: TaskSettings): TaskSettings => ({
  retries: options.retries,
  backoff: options.backoff,
  executionTimeout: options.executionTimeout,
  scheduleTimeout: options.scheduleTimeout,
  desiredWorkerLabels: options.desiredWorkerLabels,
  slotCost: options.slotCost,
  concurrency: options.concurrency,
  rateLimits: options.rateLimits
})

/** Keeps only the `WorkflowSettings` keys of an options object. */
export const pickWorkflowSettings = (options: WorkflowSettings): WorkflowSettings => ({
  description: options.description,
  version: options.version,
  onEvents: options.onEvents,
  onCrons: options.onCrons,
  defaultPriority: options.defaultPriority,
  taskDefaults: options.taskDefaults,
  concurrency: options.concurrency,
  sticky: options.sticky,
  defaultFilters: options.defaultFilters,
  idempotency: options.idempotency
})

/** A durable task's eviction settings, as `Task.durable` and `Workflow.durableTask` take them. */
export interface DurableEviction {
  readonly evictAfter?: Duration.DurationInput | "never" | undefined
  readonly evictUnderPressure?: boolean | undefined
  readonly evictionPriority?: number | undefined
}

/** How long a durable task waits before its worker evicts it (upstream's eviction policy TTL). */
const DEFAULT_EVICT_AFTER = Duration.minutes(15)

/**
 * How long an attempt of `task` waits for the engine before it is evicted: its `evictAfter`
 * (default 15 minutes); none for `"never"` or a task that is not durable.
 */
export const evictAfterOf = (task: TaskSpec): Duration.Duration | undefined =>
  task.durable !== true || task.evictAfter === "never" ? undefined : Duration.decode(task.evictAfter ?? DEFAULT_EVICT_AFTER)

/** What a durable task adds to its task spec: `durable` and its eviction settings. */
export const durableSpec = (options: DurableEviction | undefined) => ({
  durable: true,
  evictAfter: options?.evictAfter,
  evictUnderPressure: options?.evictUnderPressure,
  evictionPriority: options?.evictionPriority
} as const)
