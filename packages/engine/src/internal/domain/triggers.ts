/**
 * Triggering runs: `WorkflowService/TriggerWorkflow` and `BulkTriggerWorkflow`,
 * `v1.AdminService/TriggerWorkflowRun`, and runs started by pushed events.
 *
 * - JSON validation of input and metadata, priority 1..3 (default: the workflow's default
 *   priority, else 1);
 * - children: parent task lookup, metadata inheritance, spawn-key dedupe
 *   `"<parent>.0.<child_key ?? child_index>"` returning the existing child;
 * - metadata injection: parent ids, event ids, a deterministic W3C `traceparent`;
 * - an unknown workflow name is INVALID_ARGUMENT "workflow names not found: …" (prefixed by
 *   "could not trigger workflow: …" on the single `TriggerWorkflow`, as upstream wraps it; on
 *   `v1.AdminService/TriggerWorkflowRun` upstream answers with the id of a run that never
 *   exists, where this engine keeps the INVALID_ARGUMENT; likewise for invalid JSON there);
 * - cron ticks (`triggerFromCron`) with the `hatchet__cron_*` metadata;
 * - scheduled runs (`triggerFromScheduled`) with their stored input, metadata and priority.
 *
 * `docs/engine.md` §6; upstream `internal/services/admin/server_v1.go`,
 * `pkg/repository/trigger.go`, `pkg/repository/ids.go`,
 * `internal/services/ticker/schedule_workflow_v1.go`.
 *
 * @internal
 */
import type { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import * as Either from "effect/Either"
import { hash } from "node:crypto"
import { touchRun } from "./changes.js"
import { CreationIndex } from "./creationIndex.js"
import { type AlreadyExists, type InvalidArgument, invalidArgument, isEngineError, type NotFound, notFound } from "./errors.js"
import * as Idempotency from "./idempotency.js"
import { newId, parseUuid } from "./ids.js"
import type { JsonObject, JsonValue } from "./json.js"
import { decodeUtf8, emptyObject, isJsonObject, parseJson, parseJsonObject, readJsonb, sharedJson } from "./json.js"
import type { CronTrigger, DesiredLabel, EngineState, Run, ScheduledRun, Task, TenantState, WorkflowVersion } from "./model.js"
import { latestVersion, RunRecord, writable } from "./model.js"
import { startRun } from "./tasks.js"
import { tenantOf } from "./tenants.js"
import { priorityProblem } from "./validation.js"

// -----------------------------------------------------------------------------
// metadata
// -----------------------------------------------------------------------------

const traceIdPrefix = Buffer.from("hatchet-engine-wf-trace:")
const spanIdPrefix = Buffer.from("hatchet-engine-wf-span:")

/** Each prefix followed by room for a UUID's 16 bytes, reused by every `derive` (hashing is synchronous). */
const hashInputs = new Map<Buffer, Buffer>([traceIdPrefix, spanIdPrefix].map((prefix) => {
  const input = Buffer.alloc(prefix.length + 16)
  prefix.copy(input)
  return [prefix, input] as const
}))

/** The value of a lowercase or uppercase hex digit's char code. */
const hexDigit = (code: number): number => code <= 57 ? code - 48 : (code | 32) - 87

/**
 * The first `size` bytes (hex) of SHA-256 over `prefix` and the id's 16 bytes (its hex digits,
 * dashes skipped, read straight into the reused input: no strings or buffers per call).
 */
const derive = (size: number, prefix: Buffer, id: string) => {
  const input = hashInputs.get(prefix)!
  let at = prefix.length
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i)
    if (code === 45) continue
    input[at++] = hexDigit(code) * 16 + hexDigit(id.charCodeAt(++i))
  }
  return hash("sha256", input, "hex").slice(0, size * 2)
}

const isTraceparent = (value: JsonValue | undefined) => {
  if (typeof value !== "string") return false
  const parts = value.split("-")
  return parts.length === 4 && parts[1]!.length === 32 && parts[2]!.length === 16
}

/** `ensureTraceparent`: keeps a valid traceparent, else derives one from the run (or its parent/source). */
export const ensureTraceparent = (metadata: Record<string, JsonValue>, runId: string): void => {
  if (isTraceparent(metadata.traceparent)) return
  let owner = runId
  const parentId = metadata.hatchet__parent_workflow_run_id
  const sourceId = metadata.hatchet__source_workflow_run_id
  if (typeof parentId === "string") {
    const parsed = parseUuid(parentId)
    if (parsed.ok) owner = parsed.value
  } else if (typeof sourceId === "string") {
    const parsed = parseUuid(sourceId)
    if (parsed.ok) owner = parsed.value
  }
  metadata.traceparent = `00-${derive(16, traceIdPrefix, owner)}-${derive(8, spanIdPrefix, runId)}-01`
}

/** `injectParentIDs`: the parent's metadata minus `hatchet__*`, the child's own on top, plus parent ids. */
const injectParentIds = (own: JsonObject | undefined, parentTask: Task): Record<string, JsonValue> => {
  const metadata: Record<string, JsonValue> = {}
  for (const [key, value] of Object.entries(parentTask.run.metadata)) {
    if (!key.startsWith("hatchet__")) metadata[key] = value
  }
  Object.assign(metadata, own ?? {})
  metadata.hatchet__parent_workflow_run_id = parentTask.run.id
  metadata.hatchet__parent_step_run_id = parentTask.externalId
  return metadata
}

/** `TriggeredByEvent.ToMetadata`: user `hatchet__*` keys dropped except the source ids; event ids added. */
const eventMetadata = (own: JsonObject | undefined, eventId: string, eventKey: string) => {
  const metadata: Record<string, JsonValue> = {}
  for (const [key, value] of Object.entries(own ?? {})) {
    if (!key.startsWith("hatchet__")) metadata[key] = value
  }
  metadata.hatchet__event_id = eventId
  metadata.hatchet__event_key = eventKey
  for (const key of ["hatchet__source_workflow_run_id", "hatchet__source_step_run_id"]) {
    if (own !== undefined && key in own) metadata[key] = own[key]!
  }
  return metadata
}

// -----------------------------------------------------------------------------
// creating runs
// -----------------------------------------------------------------------------

export interface NewRun {
  readonly runId: string
  readonly version: WorkflowVersion
  readonly inputRaw: string
  /** `inputRaw` parsed, when the caller already has it (else it is parsed here). */
  readonly input?: JsonValue | undefined
  readonly metadata: Record<string, JsonValue>
  readonly priority: number | undefined
  readonly parentTask?: Task | undefined
  readonly childIndex?: number | undefined
  readonly childKey?: string | undefined
  readonly triggeringEvent?: { readonly id: string; readonly key: string } | undefined
  readonly filterPayload?: JsonValue | null | undefined
  readonly desiredWorkerId?: string | undefined
  readonly desiredLabels?: Readonly<Record<string, DesiredLabel>> | undefined
}

const indexOf = (indexes: Map<string, CreationIndex<Run>>, key: string): CreationIndex<Run> => {
  let index = indexes.get(key)
  if (index === undefined) {
    index = new CreationIndex()
    indexes.set(key, index)
  }
  return index
}

/** Stores a run (in the tenant's run indexes), creates its root tasks and queues them. */
export const createRun = (state: EngineState, tenant: TenantState, opts: NewRun, now: number): Run | Refused => {
  const version = opts.version
  const claimed = Idempotency.claim(tenant, version, opts.inputRaw, opts.metadata, opts.runId, now)
  if (claimed._tag === "Collision" || claimed._tag === "Failed") return claimed
  const isDag = version.steps.length > 1
  ensureTraceparent(opts.metadata, opts.runId)
  const taskIds = isDag ? new Map(version.steps.map((step) => [step.id, newId()])) : undefined
  const run: Run = new RunRecord({
    id: opts.runId,
    workflow: version.workflow,
    version,
    inputRaw: sharedJson(opts.inputRaw),
    input: opts.inputRaw === "{}" ? emptyObject : "input" in opts ? opts.input : parseJson(opts.inputRaw),
    metadata: opts.metadata,
    priority: opts.priority ?? version.defaultPriority ?? 1,
    createdAt: now,
    parentTaskExternalId: opts.parentTask?.externalId,
    childIndex: opts.childIndex,
    childKey: opts.childKey,
    triggeringEvent: opts.triggeringEvent,
    filterPayload: opts.filterPayload ?? null,
    desiredWorkerId: opts.desiredWorkerId,
    desiredLabels: opts.desiredLabels !== undefined && Object.keys(opts.desiredLabels).length > 0
      ? new Map(Object.entries(opts.desiredLabels))
      : undefined,
    taskIds,
    idempotencyKey: claimed._tag === "Claimed" ? claimed.key : undefined
  })
  state.runsById.set(run.id, run)
  touchRun(state, run)
  tenant.runs.add(run)
  indexOf(tenant.runsByWorkflow, run.workflow.id).add(run)
  if (run.parentTaskExternalId !== undefined) indexOf(tenant.childRuns, run.parentTaskExternalId).add(run)
  startRun(state, run, now)
  return run
}

/** A run its version's idempotency key kept from being made (another run holds the key, or it failed). */
export type Refused = Extract<Idempotency.Claim, { readonly _tag: "Collision" | "Failed" }>

const isRefused = (created: Run | Refused): created is Refused => "_tag" in created

/**
 * Deliberate difference: upstream skips a run whose idempotency key cannot be evaluated and still
 * answers the trigger with its id (a run that never exists); here the trigger is refused with
 * INVALID_ARGUMENT naming the expression, before any run of it is made.
 */
const keyProblem = (version: WorkflowVersion, inputRaw: string, metadata: JsonObject): InvalidArgument | undefined => {
  const evaluated = Idempotency.evaluateKey(version, inputRaw, metadata)
  return evaluated !== undefined && "failed" in evaluated ? invalidArgument(`Invalid request: ${evaluated.failed}`) : undefined
}

/**
 * Why a trigger is refused (returned, not thrown: the unary trigger is the hot path, so these are
 * plain unions with the result, told apart by the result's type, with no wrapper per call).
 */
export type TriggerRefusal = InvalidArgument | NotFound | AlreadyExists

/** Whether a result of this module is a refusal (every refusal is a tagged error; no result has `_tag`). */
const isRefusal = <A extends object>(result: A | TriggerRefusal): result is TriggerRefusal => "_tag" in result

/** A trigger's result as an `Either`, for callers off the hot path (`EngineCore.runEither`). */
export const toEither = <A>(result: A | TriggerRefusal): Either.Either<Exclude<A, TriggerRefusal>, TriggerRefusal> =>
  isEngineError(result) ? Either.left(result as TriggerRefusal) : Either.right(result as Exclude<A, TriggerRefusal>)

// -----------------------------------------------------------------------------
// trigger requests
// -----------------------------------------------------------------------------

/** A validated trigger, before its run id is resolved. */
export interface TriggerOpt {
  readonly name: string
  readonly inputRaw: string
  /** `inputRaw` parsed (undefined for the empty string). */
  readonly input: JsonValue | undefined
  /** The additional metadata as an object (of its own: the run's metadata is made from it). */
  readonly metadata: Record<string, JsonValue>
  readonly priority: number | undefined
  readonly parentTask: Task | undefined
  readonly childIndex: number | undefined
  readonly childKey: string | undefined
  readonly desiredWorkerId: string | undefined
  readonly desiredLabels: Readonly<Record<string, DesiredLabel>>
}

/** `newTriggerOpt` + `NewTriggerTaskData` + the JSON checks of `triggerWorkflowV1`. */
const triggerOpt = (
  state: EngineState,
  tenantId: string,
  request: TriggerWorkflowRequest
): TriggerOpt | InvalidArgument | NotFound => {
  let parentTask: Task | undefined
  if (request.parentTaskRunExternalId !== undefined) {
    const parsed = parseUuid(request.parentTaskRunExternalId)
    if (!parsed.ok) {
      return invalidArgument(
        `could not create trigger opt: rpc error: code = InvalidArgument desc = parentStepRunId must be a valid UUID: ${parsed.error}`
      )
    }
    parentTask = state.tasksByExternalId.get(parsed.value)
    if (parentTask === undefined || parentTask.tenantId !== tenantId) return notFound("not found")
  }
  let desiredWorkerId: string | undefined
  if (request.desiredWorkerId !== undefined && request.desiredWorkerId !== "") {
    const parsed = parseUuid(request.desiredWorkerId)
    if (!parsed.ok) return invalidArgument(`Invalid request: desiredWorkerId must be a valid UUID: ${parsed.error}`)
    desiredWorkerId = parsed.value
  }
  const problem = priorityProblem(request.priority)
  if (problem !== undefined) return invalidArgument(`Invalid request: ${problem}`)
  const input = readJsonb(request.input, "payload")
  if ("error" in input) return invalidArgument(`Invalid request: ${input.error}`)
  const metadata = readJsonb(request.additionalMetadata ?? "", "additionalMetadata")
  if ("error" in metadata) return invalidArgument(`Invalid request: ${metadata.error}`)
  const own = isJsonObject(metadata.value) ? metadata.value : undefined
  return {
    name: request.name,
    inputRaw: request.input,
    input: input.value,
    metadata: parentTask !== undefined ? injectParentIds(own, parentTask) : { ...own },
    priority: request.priority,
    parentTask,
    childIndex: parentTask !== undefined ? request.childIndex : undefined,
    childKey: parentTask !== undefined ? request.childKey : undefined,
    desiredWorkerId,
    desiredLabels: request.desiredWorkerLabels
  }
}

/**
 * `PreflightVerifyWorkflowNameOpts`: every name must be registered in the tenant. `wrap` prefixes
 * the message where upstream wraps the status error (`TriggerWorkflow`: "could not trigger
 * workflow: %w", which grpc-go reports with the wrapped error's text).
 */
const resolveVersions = (
  tenant: TenantState,
  names: ReadonlyArray<string>,
  wrap = ""
): Map<string, WorkflowVersion> | InvalidArgument => {
  const versions = new Map<string, WorkflowVersion>()
  const missing: Array<string> = []
  for (const name of names) {
    if (versions.has(name) || missing.includes(name)) continue
    const workflow = tenant.workflowsByName.get(name)
    if (workflow === undefined) missing.push(name)
    else versions.set(name, latestVersion(workflow))
  }
  if (missing.length > 0) return invalidArgument(`${wrap}workflow names not found: ${missing.join(", ")}`)
  return versions
}

/** The spawn key of a child trigger, when it dedupes (`childSpawnKey`). */
export const spawnKey = (opt: TriggerOpt): string | undefined =>
  opt.parentTask !== undefined && opt.childIndex !== undefined
    ? `${opt.parentTask.externalId}.0.${opt.childKey ?? `${opt.childIndex}`}`
    : undefined

/**
 * `WorkflowService/BulkTriggerWorkflow`: triggers a batch of runs; returns their ids in request
 * order (deduped children included), or why the batch is refused (an idempotency collision after
 * the other runs are made).
 */
export const triggerWorkflows = (
  state: EngineState,
  tenantId: string,
  requests: ReadonlyArray<TriggerWorkflowRequest>,
  now: number
): Array<string> | TriggerRefusal => triggerBatch(state, tenantId, requests, now, "", "bulk")

/**
 * `WorkflowService/TriggerWorkflow`: as one item of a bulk trigger, except that an unknown name
 * reads "could not trigger workflow: rpc error: code = InvalidArgument desc = workflow names not
 * found: …".
 */
export const triggerWorkflow = (
  state: EngineState,
  tenantId: string,
  request: TriggerWorkflowRequest,
  now: number
): string | TriggerRefusal => {
  const ids = triggerBatch(state, tenantId, [request], now, unknownNameWrap, "single")
  return isRefusal(ids) ? ids : ids[0]!
}

const unknownNameWrap = "could not trigger workflow: rpc error: code = InvalidArgument desc = "

const triggerBatch = (
  state: EngineState,
  tenantId: string,
  requests: ReadonlyArray<TriggerWorkflowRequest>,
  now: number,
  wrapUnknownNames: string,
  collisions: "single" | "bulk"
): Array<string> | TriggerRefusal => {
  const tenant = tenantOf(state, tenantId)
  const checked = checkTriggers(state, tenantId, requests, wrapUnknownNames)
  if (isRefusal(checked)) return checked
  const { opts, versions } = checked
  for (const opt of opts) {
    const problem = keyProblem(versions.get(opt.name)!, opt.inputRaw, opt.metadata)
    if (problem !== undefined) return problem
  }
  const collided: Array<{ readonly existingRunId: string; readonly collidingRunId: string }> = []
  const ids = opts.map((opt) => {
    const key = spawnKey(opt)
    if (key !== undefined) {
      const existing = opt.parentTask!.spawned.get(key)
      if (existing !== undefined) return existing
    }
    const runId = newId()
    const created = createRun(state, tenant, newRunOf(opt, versions.get(opt.name)!, runId), now)
    if (isRefused(created)) {
      if (created._tag === "Collision") collided.push({ existingRunId: created.existingRunId, collidingRunId: runId })
    } else if (key !== undefined) {
      opt.parentTask!.spawned = writable(opt.parentTask!.spawned).set(key, runId)
      touchRun(state, opt.parentTask!.run)
    }
    return runId
  })
  if (collided.length > 0) {
    if (collisions === "single") return Idempotency.collisionError(collided[0]!.existingRunId)
    const failed = new Set(collided.map((c) => c.collidingRunId))
    return Idempotency.bulkCollisionError(ids.filter((id) => !failed.has(id)), collided)
  }
  return ids
}

/** The run a checked trigger creates under `runId` (its metadata names a child's parent already). */
const newRunOf = (opt: TriggerOpt, version: WorkflowVersion, runId: string): NewRun => ({
  runId,
  version,
  inputRaw: opt.inputRaw,
  input: opt.input,
  metadata: opt.metadata,
  priority: opt.priority,
  parentTask: opt.parentTask,
  childIndex: opt.childIndex,
  childKey: opt.childKey,
  desiredWorkerId: opt.desiredWorkerId,
  desiredLabels: opt.desiredLabels
})

/** A batch's checked trigger options and the versions they run. */
export interface CheckedTriggers {
  readonly opts: ReadonlyArray<TriggerOpt>
  readonly versions: ReadonlyMap<string, WorkflowVersion>
}

/** The checked trigger options of a batch and the versions they run (nothing is created yet), or the first refusal. */
export const checkTriggers = (
  state: EngineState,
  tenantId: string,
  requests: ReadonlyArray<TriggerWorkflowRequest>,
  wrapUnknownNames = ""
): CheckedTriggers | InvalidArgument | NotFound => {
  const tenant = tenantOf(state, tenantId)
  const opts: Array<TriggerOpt> = []
  for (const request of requests) {
    const opt = triggerOpt(state, tenantId, request)
    if (isRefusal(opt)) return opt
    opts.push(opt)
  }
  const versions = resolveVersions(tenant, opts.map((o) => o.name), wrapUnknownNames)
  return isRefusal(versions) ? versions : { opts, versions }
}

/**
 * Creates the run of a checked trigger under `runId` (a durable task's child: its id is in the
 * parent's log first), recording a child's spawn key on its parent; false when an idempotency key
 * refused it.
 */
export const startTriggered = (
  state: EngineState,
  tenantId: string,
  opt: TriggerOpt,
  version: WorkflowVersion,
  runId: string,
  now: number
): boolean => {
  const created = createRun(state, tenantOf(state, tenantId), newRunOf(opt, version, runId), now)
  if (isRefused(created)) return false
  const key = spawnKey(opt)
  if (key !== undefined) {
    opt.parentTask!.spawned = writable(opt.parentTask!.spawned).set(key, runId)
    touchRun(state, opt.parentTask!.run)
  }
  return true
}

/**
 * The JSON text of a `bytes` field, checked as the v0 trigger checks its strings
 * (`ValidateJSONB`), and as UTF-8 (which a `string` field, and a jsonb column, require).
 */
const jsonBytes = (
  bytes: Uint8Array,
  field: string
): { readonly text: string; readonly value: JsonValue | undefined } | InvalidArgument => {
  const text = decodeUtf8(bytes)
  if (text === undefined) return invalidArgument(`Invalid request: invalid json in field \`${field}\`: not valid UTF-8`)
  const read = readJsonb(text, field)
  if ("error" in read) return invalidArgument(`Invalid request: ${read.error}`)
  return { text, value: read.value }
}

/**
 * `v1.AdminService/TriggerWorkflowRun` (no parent). Upstream's handler checks only the priority
 * and hands the bytes on unchecked: invalid JSON then answers OK with the id of a run whose input
 * is lost (`null` for a single task; a DAG's payload is refused by its jsonb column). This
 * engine refuses what the v0 trigger refuses, with its message: invalid JSON, a NUL character,
 * nesting deeper than Go's 10,000 levels, and (the field being bytes) text that is not UTF-8.
 * JSON that is not an object (`null`, `[]`, `1`) is accepted, as by both upstream triggers.
 */
export const triggerWorkflowRun = (
  state: EngineState,
  tenantId: string,
  request: {
    readonly workflowName: string
    readonly input: Uint8Array
    readonly additionalMetadata: Uint8Array
    readonly priority?: number | undefined
    readonly desiredLabels?: Readonly<Record<string, DesiredLabel>> | undefined
  },
  now: number
): string | TriggerRefusal => {
  const tenant = tenantOf(state, tenantId)
  const problem = priorityProblem(request.priority)
  if (problem !== undefined) {
    return invalidArgument(`could not create trigger opt: rpc error: code = InvalidArgument desc = ${problem}`)
  }
  const input = jsonBytes(request.input, "payload")
  if (isRefusal(input)) return input
  const metadataJson = jsonBytes(request.additionalMetadata, "additionalMetadata")
  if (isRefusal(metadataJson)) return metadataJson
  const versions = resolveVersions(tenant, [request.workflowName])
  if (isRefusal(versions)) return versions
  const version = versions.get(request.workflowName)!
  const metadata = { ...(isJsonObject(metadataJson.value) ? metadataJson.value : undefined) }
  const keyRefused = keyProblem(version, input.text, metadata)
  if (keyRefused !== undefined) return keyRefused
  const runId = newId()
  const created = createRun(state, tenant, {
    runId,
    version,
    inputRaw: input.text,
    input: input.value,
    metadata,
    priority: request.priority,
    desiredLabels: request.desiredLabels
  }, now)
  if (isRefused(created) && created._tag === "Collision") return Idempotency.collisionError(created.existingRunId)
  return runId
}

/** RFC 3339 in UTC without fractions, as Go's `time.RFC3339` prints a whole-second UTC time. */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * Starts the run of a cron tick (`RunCronWorkflow`): the workflow by name (its latest version),
 * the cron's input and priority, and its additional metadata with `hatchet__cron_expression`,
 * `hatchet__cron_scheduled_at` (the tick, RFC 3339 in whole seconds) and `hatchet__cron_name`
 * (the cron's name, "" for crons declared on the workflow) copied over it.
 */
export const triggerFromCron = (state: EngineState, cron: CronTrigger, scheduledAt: number, now: number): string => {
  const tenant = tenantOf(state, cron.tenantId)
  const runId = newId()
  createRun(state, tenant, {
    runId,
    version: latestVersion(tenant.workflowsByName.get(cron.workflow.name) ?? cron.workflow),
    inputRaw: cron.inputRaw,
    metadata: {
      ...parseJsonObject(cron.metadataRaw),
      hatchet__cron_expression: cron.expression,
      hatchet__cron_name: cron.name,
      hatchet__cron_scheduled_at: rfc3339(scheduledAt)
    },
    priority: cron.priority
  }, now)
  // a run its idempotency key refuses is not made; upstream still answers with the requested id
  return runId
}

/**
 * Starts the run of a scheduled run (`RunScheduledWorkflow`): the workflow by name, i.e. its
 * latest version (not the version the run was scheduled on), with the stored input, additional
 * metadata (no `hatchet__*` keys added) and priority (1 unless one was given).
 */
export const triggerFromScheduled = (state: EngineState, tenant: TenantState, scheduled: ScheduledRun, now: number): string => {
  const runId = newId()
  createRun(state, tenant, {
    runId,
    version: latestVersion(tenant.workflowsByName.get(scheduled.workflow.name) ?? scheduled.workflow),
    inputRaw: scheduled.inputRaw,
    metadata: { ...parseJsonObject(scheduled.metadataRaw) },
    priority: scheduled.priority
  }, now)
  return runId
}

/** Starts the run of an event-triggered workflow. */
export const triggerFromEvent = (
  state: EngineState,
  tenant: TenantState,
  version: WorkflowVersion,
  event: {
    readonly id: string
    readonly key: string
    readonly payload: string
    readonly metadataRaw: string | undefined
    readonly priority: number | undefined
  },
  filterPayload: JsonValue | null,
  now: number
): Run | Refused =>
  createRun(state, tenant, {
    runId: newId(),
    version,
    inputRaw: event.payload,
    metadata: eventMetadata(parseJsonObject(event.metadataRaw), event.id, event.key),
    priority: event.priority,
    triggeringEvent: { id: event.id, key: event.key },
    filterPayload
  }, now)
