/**
 * The client: trigger requests (child fields from the TaskContext), size checks and bulk
 * batching, result decoding into typed outputs and typed failures, run events, event pushes.
 *
 * @internal
 */
import { idempotencyCollision as idempotencyCollisionOf } from "./statusDetails.js"
import {
  DispatcherDefinition,
  ResourceEventType,
  ResourceType,
  type StepRunResult,
  type WorkflowEvent
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { Event as ProtoEvent, PushEventRequest } from "@effect-hatchet/proto/events/events"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { RateLimitDuration, rateLimitDurationFromJSON } from "@effect-hatchet/proto/workflows/workflows"
import { Chunk, Clock, Effect, Either, Option, Schedule, Stream } from "effect"
import { Status } from "nice-grpc-common"
import type { AdminShape } from "../Admin.js"
import type { EventsShape } from "../Events.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type {
  EventToPush,
  HatchetShape,
  PushedEvent,
  PushOptions,
  RunEvent,
  RunHandle,
  RunOptions,
  TaskFailure
} from "../Hatchet.js"
import { HatchetClientError, RunFailed } from "../Hatchet.js"
import type { HatchetConfigShape } from "../HatchetConfig.js"
import type { GrpcError } from "../HatchetError.js"
import type { RunListenerShape } from "../RunListener.js"
import type { RunsShape } from "../Runs.js"
import type { SchedulesShape } from "../Schedules.js"
import type { CronsShape } from "../Crons.js"
import { TaskContext, type TaskContextShape } from "../TaskContext.js"
import { TaskFailed } from "../TaskError.js"
import type { Definition } from "../Workflow.js"
import { findTask, type HasSpec, specOf, type TaskSpec, type WorkflowSpec } from "./definition.js"
import { decodeFailure, describe, formatParseError } from "./failure.js"
import { methodPath, serverStream } from "./grpc.js"
import { applyNamespace, ON_FAILURE_TASK, workflowWireName } from "./naming.js"
import { decodeOutput, encodeInput, parseMetadata } from "./payload.js"
import { checkCron, validate } from "./registration.js"
import * as TraceContext from "./traceContext.js"

/** The services the client is built on. */
export interface ClientServices {
  readonly config: HatchetConfigShape
  readonly transport: GrpcTransportShape
  readonly admin: AdminShape
  readonly events: EventsShape
  readonly listener: RunListenerShape
  readonly runs: RunsShape
  readonly schedules: SchedulesShape
  readonly crons: CronsShape
}

/** Most runs per `BulkTriggerWorkflow` call (as the official SDKs). */
export const MAX_BULK_TRIGGER = 500

/** Most events per `BulkPush` call (the engine rejects more). */
export const MAX_BULK_PUSH = 1000

/** A one-line description of a task failure value. */
export const describeFailure = (error: unknown): string =>
  error instanceof TaskFailed ? (error.kind === "Cancelled" ? "cancelled" : `${error.kind}: ${error.message}`) : describe(error)

const clientError = (
  reason: HatchetClientError["reason"],
  message: string,
  extra?: {
    readonly runId?: string | undefined
    readonly runIds?: ReadonlyArray<string>
    readonly existingRunIds?: ReadonlyArray<string>
    readonly cause?: unknown
  }
) => new HatchetClientError({ reason, message, ...extra })

/**
 * A trigger the engine refused with an idempotency collision (ALREADY_EXISTS with Hatchet's
 * details): `IdempotencyCollision`, naming the runs that hold the keys and, in bulk, the runs made.
 */
const idempotencyCollision = (workflow: string) => (error: GrpcError): Effect.Effect<never, GrpcError | HatchetClientError> => {
  const collision = error.code === Status.ALREADY_EXISTS ? idempotencyCollisionOf(error.statusDetails) : undefined
  if (collision === undefined) return Effect.fail(error)
  const made = collision.triggeredRunIds
  return Effect.fail(clientError(
    "IdempotencyCollision",
    `An idempotency key of "${workflow}" is held by run ${collision.existingRunIds.join(", ")}` +
      (made.length > 0 ? `; ${made.length} other run(s) were triggered` : ""),
    { runId: collision.existingRunIds[0], runIds: made, existingRunIds: collision.existingRunIds, cause: error }
  ))
}

// -----------------------------------------------------------------------------
// checks
// -----------------------------------------------------------------------------

const validity = new WeakMap<WorkflowSpec, Either.Either<void, HatchetClientError>>()

/** Validates a definition once (the result is cached per definition). */
export const checkDefinition = (spec: WorkflowSpec): Effect.Effect<void, HatchetClientError> => {
  let result = validity.get(spec)
  if (result === undefined) {
    result = Either.mapLeft(validate(spec), (error) => clientError("InvalidDefinition", error.message, { cause: error }))
    validity.set(spec, result)
  }
  return result
}

/** Problems with run options, given whether the run is spawned from a task. */
export const optionIssues = (options: RunOptions, isChild: boolean): Array<string> => {
  const issues: Array<string> = []
  const { priority } = options
  if (priority !== undefined && !(priority === 1 || priority === 2 || priority === 3)) {
    issues.push(`priority must be 1, 2 or 3, got ${String(priority)}`)
  }
  if (options.key !== undefined) {
    if (options.key === "") issues.push("key must not be empty")
    if (!isChild) issues.push("key only applies to a child run spawned inside a task (and not detached)")
  }
  if (options.sticky === true) {
    if (!isChild) issues.push("sticky only applies to a child run spawned inside a task (and not detached)")
    if (options.desiredWorkerId !== undefined) issues.push("give either sticky or desiredWorkerId, not both")
  }
  return issues
}

const checkOptions = (options: RunOptions, isChild: boolean) => {
  const issues = optionIssues(options, isChild)
  return issues.length === 0
    ? Effect.void
    : Effect.fail(clientError("InvalidOptions", `Invalid run options: ${issues.join("; ")}`))
}

const encodeRunInput = (spec: WorkflowSpec, input: unknown, where = "") =>
  Effect.mapError(
    encodeInput(spec, input),
    (error) =>
      clientError("InvalidInput", `Invalid input${where} for workflow "${spec.name}": ${formatParseError(error)}`, {
        cause: error
      })
  )

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

/** Where a child run hangs: the spawning task attempt and the child's index. */
export interface ChildOf {
  readonly parent: Pick<TaskContextShape, "workflowRunId" | "taskRunExternalId" | "workerId">
  readonly childIndex: number
}

/** A `v1.TriggerWorkflowRequest`, as the official SDKs fill it. */
export const triggerRequest = (
  wireName: string,
  input: string,
  options: RunOptions,
  child: ChildOf | undefined,
  traceparent: Option.Option<string> = Option.none()
): TriggerWorkflowRequest => {
  const metadata = TraceContext.inject(options.additionalMetadata, traceparent) ?? {}
  const desiredWorkerId = options.sticky === true && child !== undefined ? child.parent.workerId : options.desiredWorkerId
  return {
    name: wireName,
    input,
    ...(child !== undefined
      ? {
        parentId: child.parent.workflowRunId,
        parentTaskRunExternalId: child.parent.taskRunExternalId,
        childIndex: child.childIndex,
        ...(options.key !== undefined ? { childKey: options.key } : {})
      }
      : {}),
    ...(Object.keys(metadata).length > 0 ? { additionalMetadata: JSON.stringify(metadata) } : {}),
    ...(desiredWorkerId !== undefined && desiredWorkerId !== "" ? { desiredWorkerId } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    desiredWorkerLabels: {}
  }
}

/** The encoded size of a trigger request. */
export const requestBytes = (request: TriggerWorkflowRequest): number =>
  TriggerWorkflowRequest.encode(request).finish().length

const varintBytes = (n: number): number => {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/** What one item adds to a repeated message field: tag, length, bytes. */
export const itemBytes = (size: number): number => 1 + varintBytes(size) + size

/**
 * Splits items (by encoded size) into consecutive batches of at most `maxItems` items whose
 * repeated-field encoding fits in `maxBytes`. An item that alone does not fit gets its own batch
 * (callers refuse those before planning).
 */
export const planBatches = (
  sizes: ReadonlyArray<number>,
  maxItems: number,
  maxBytes: number
): Array<{ readonly start: number; readonly end: number }> => {
  const batches: Array<{ start: number; end: number }> = []
  let start = 0
  let bytes = 0
  for (let i = 0; i < sizes.length; i++) {
    const cost = itemBytes(sizes[i]!)
    if (i > start && (i - start >= maxItems || bytes + cost > maxBytes)) {
      batches.push({ start, end: i })
      start = i
      bytes = 0
    }
    bytes += cost
  }
  if (sizes.length > start) batches.push({ start, end: sizes.length })
  return batches
}

const tooLarge = (what: string, bytes: number, limit: number) =>
  clientError(
    "PayloadTooLarge",
    `${what} is ${bytes} bytes once encoded, more than the ${limit}-byte gRPC send limit ` +
      `(HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH); store large data elsewhere and pass a reference`
  )

// -----------------------------------------------------------------------------
// results
// -----------------------------------------------------------------------------

/**
 * A finished run's results as the definition's result: each task's output decoded with its
 * Schema (the output itself for a standalone task), or `RunFailed` with every failed or
 * cancelled task's typed error.
 */
export const decodeResult = (
  definition: HasSpec,
  runId: string,
  results: ReadonlyArray<StepRunResult>
): Effect.Effect<unknown, RunFailed<unknown> | HatchetClientError> =>
  Effect.gen(function*() {
    const spec = specOf(definition)
    const failures: Array<TaskFailure<unknown>> = []
    for (const result of results) {
      if (result.error === undefined) continue
      // a run that did not fail has its on-failure task skipped, reported as cancelled
      if (result.error === "" && result.taskName === ON_FAILURE_TASK) continue
      const error = yield* decodeFailure(findTask(spec, result.taskName), result.taskName, result.error)
      failures.push({ taskName: result.taskName, error })
    }
    if (failures.length > 0) {
      const cancelled = failures.every((f) => f.error instanceof TaskFailed && f.error.kind === "Cancelled")
      return yield* new RunFailed({ runId, workflowName: spec.name, status: cancelled ? "CANCELLED" : "FAILED", failures })
    }
    if (results.length === 0) {
      return yield* clientError("MissingResult", `Run ${runId} of "${spec.name}" finished without any task result`, { runId })
    }
    const byName = new Map(results.map((result) => [result.taskName, result]))
    const decodeTask = (task: TaskSpec) => {
      const result = byName.get(task.name)
      if (result === undefined || result.output === undefined) {
        return Effect.fail(
          clientError("MissingResult", `Run ${runId} of "${spec.name}" finished without a result for task "${task.name}"`, {
            runId
          })
        )
      }
      return Effect.mapError(
        decodeOutput(task, result.output),
        (error) =>
          clientError(
            "InvalidOutput",
            `Invalid output of task "${task.name}" in run ${runId} of "${spec.name}": ${formatParseError(error)}`,
            { runId, cause: error }
          )
      )
    }
    if (spec.kind === "task") return yield* decodeTask(spec.tasks[0]!)
    const output: Record<string, unknown> = {}
    for (const task of spec.onSuccess === undefined ? spec.tasks : [...spec.tasks, spec.onSuccess]) {
      output[task.name] = yield* decodeTask(task)
    }
    return output
  })

// -----------------------------------------------------------------------------
// run events
// -----------------------------------------------------------------------------

const eventTypes: Partial<Record<ResourceEventType, RunEvent["type"]>> = {
  [ResourceEventType.RESOURCE_EVENT_TYPE_STARTED]: "STARTED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED]: "COMPLETED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_FAILED]: "FAILED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED]: "CANCELLED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_TIMED_OUT]: "TIMED_OUT",
  [ResourceEventType.RESOURCE_EVENT_TYPE_STREAM]: "STREAM"
}

/** Our model of a `WorkflowEvent`. */
export const toRunEvent = (event: WorkflowEvent): RunEvent => ({
  type: eventTypes[event.eventType] ?? "UNKNOWN",
  resource: event.resourceType === ResourceType.RESOURCE_TYPE_STEP_RUN
    ? "TASK"
    : event.resourceType === ResourceType.RESOURCE_TYPE_WORKFLOW_RUN
    ? "RUN"
    : "UNKNOWN",
  runId: event.workflowRunId,
  resourceId: event.resourceId,
  payload: event.eventPayload,
  timestamp: event.eventTimestamp,
  retryCount: event.retryCount,
  eventIndex: event.eventIndex,
  hangup: event.hangup
})

/** Resubscribes a few times when the engine is unavailable (as the official SDKs). */
const eventsRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(5)),
  Schedule.whileInput((error: GrpcError) => error.code === Status.UNAVAILABLE)
)

/** The existence check of a handle's run: asked again after 1 s and 2 s. */
const knownRetry = Schedule.intersect(Schedule.exponential("1 second"), Schedule.recurs(2))

// -----------------------------------------------------------------------------
// events
// -----------------------------------------------------------------------------

const toPushedEvent = (event: ProtoEvent): PushedEvent => ({
  eventId: event.eventId,
  key: event.key,
  payload: event.payload,
  timestamp: event.eventTimestamp,
  additionalMetadata: parseMetadata(event.additionalMetadata)
})

const stringify = (value: unknown): Either.Either<string, string> => {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? Either.left("it has no JSON representation") : Either.right(text)
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

// -----------------------------------------------------------------------------
// client
// -----------------------------------------------------------------------------

/** @internal */
export const make = (services: ClientServices): HatchetShape => {
  const { admin, config, crons, events, listener, runs, schedules, transport } = services
  const namespace = config.namespace
  const maxSend = config.grpcMaxSendMessageLength

  /** The spawning task, unless the run is detached. */
  const parentOf = (options: RunOptions) =>
    options.detached === true ? Effect.succeed(Option.none<TaskContextShape>()) : Effect.serviceOption(TaskContext)

  const childOf = (parent: Option.Option<TaskContextShape>): Effect.Effect<ChildOf | undefined> =>
    Option.match(parent, {
      onNone: () => Effect.succeed(undefined),
      onSome: (ctx) => Effect.map(ctx.nextChildIndex, (childIndex) => ({ parent: ctx, childIndex }))
    })

  const runEvents = (runId: string): Stream.Stream<RunEvent, GrpcError> =>
    serverStream(
      methodPath(DispatcherDefinition, "subscribeToWorkflowEvents"),
      (callOptions) => transport.dispatcher.subscribeToWorkflowEvents({ workflowRunId: runId }, callOptions)
    ).pipe(
      Stream.map(toRunEvent),
      Stream.takeUntil((event) => event.hangup),
      Stream.retry(eventsRetry)
    )

  /**
   * Fails with `RunNotFound` when the engine does not know the run (asked again after 1 s and
   * 2 s: a run triggered elsewhere a moment ago may not be visible yet). Any other failure to
   * ask is not a verdict: the result is awaited all the same.
   */
  const ensureKnown = (runId: string): Effect.Effect<void, HatchetClientError> =>
    admin.getRunDetails(runId).pipe(
      Effect.retry({ schedule: knownRetry, while: (error) => error.code === Status.NOT_FOUND }),
      Effect.asVoid,
      Effect.catchAll((error) =>
        error.code === Status.NOT_FOUND || error.code === Status.INVALID_ARGUMENT
          ? Effect.fail(clientError("RunNotFound", `The engine does not know run ${runId}: ${error.details}`, {
            runId,
            cause: error
          }))
          : Effect.logDebug(`could not check that run ${runId} exists; awaiting its result anyway`, error)
      )
    )

  /** Waits for the run's FINISHED event; for a run not triggered here, checks first that it exists. */
  const awaitRun = (runId: string, triggeredHere: boolean) =>
    triggeredHere
      ? listener.await(runId)
      : Effect.scoped(Effect.gen(function*() {
        const finished = yield* listener.subscribe(runId)
        yield* ensureKnown(runId)
        return yield* finished
      }))

  const handle = <D extends Definition>(definition: D, runId: string, triggeredHere = false): RunHandle<D> => {
    const events = Stream.suspend(() => runEvents(runId))
    return {
      runId,
      definition,
      result: Effect.suspend(() => awaitRun(runId, triggeredHere)).pipe(
        Effect.flatMap((event) => decodeResult(definition, runId, event.results)),
        Effect.withSpan("hatchet.result", { attributes: { "hatchet.workflow_run_id": runId } })
      ) as RunHandle<D>["result"],
      cancel: Effect.suspend(() => Effect.asVoid(admin.cancelTasks({ externalIds: [runId], filter: undefined }))),
      replay: Effect.suspend(() => Effect.asVoid(admin.replayTasks({ externalIds: [runId], filter: undefined }))),
      events,
      stream: events.pipe(
        Stream.filter((event) => event.type === "STREAM"),
        Stream.map((event) => event.payload)
      ),
      details: Effect.suspend(() => runs.get(runId))
    }
  }

  /** The checks every trigger makes first: the definition, the spawning task, the options. */
  const prepare = (definition: Definition, options: RunOptions) =>
    Effect.gen(function*() {
      const spec = specOf(definition)
      yield* checkDefinition(spec)
      const parent = yield* parentOf(options)
      yield* checkOptions(options, Option.isSome(parent))
      return { spec, parent }
    })

  const runNoWait: HatchetShape["runNoWait"] = (definition, input, options = {}) =>
    Effect.gen(function*() {
      const { parent, spec } = yield* prepare(definition, options)
      const json = yield* encodeRunInput(spec, input)
      const request = triggerRequest(
        workflowWireName(spec.name, namespace),
        json,
        options,
        yield* childOf(parent),
        yield* TraceContext.current
      )
      const bytes = requestBytes(request)
      if (bytes > maxSend) return yield* tooLarge(`The trigger of "${spec.name}"`, bytes, maxSend)
      const runId = yield* admin.triggerWorkflow(request).pipe(Effect.catchTag("GrpcError", idempotencyCollision(spec.name)))
      return handle(definition, runId, true)
    }).pipe(Effect.withSpan("hatchet.trigger", { attributes: { "hatchet.workflow": definition.name } }))

  const runManyNoWait: HatchetShape["runManyNoWait"] = (definition, inputs, options = {}) =>
    Effect.gen(function*() {
      const { parent, spec } = yield* prepare(definition, options)
      const items = Array.from(inputs)
      if (items.length === 0) return []
      const wireName = workflowWireName(spec.name, namespace)
      const jsons = yield* Effect.forEach(items, (input, i) => encodeRunInput(spec, input, ` [${i}]`))
      const traceparent = yield* TraceContext.current
      const requests: Array<TriggerWorkflowRequest> = []
      for (const json of jsons) requests.push(triggerRequest(wireName, json, options, yield* childOf(parent), traceparent))
      const sizes = requests.map(requestBytes)
      const oversized = sizes.findIndex((size) => itemBytes(size) > maxSend)
      if (oversized >= 0) {
        return yield* tooLarge(`The trigger of "${spec.name}" for input [${oversized}]`, sizes[oversized]!, maxSend)
      }
      const runIds: Array<string> = []
      for (const { end, start } of planBatches(sizes, MAX_BULK_TRIGGER, maxSend)) {
        const batch = yield* admin.bulkTriggerWorkflow(requests.slice(start, end)).pipe(
          Effect.catchTag("GrpcError", idempotencyCollision(spec.name)),
          Effect.mapError((error) =>
            runIds.length === 0 ? error : clientError(
              "PartiallyTriggered",
              `${runIds.length} of ${requests.length} runs of "${spec.name}" were triggered, then a batch failed: ${error.message}`,
              { runIds: [...runIds], cause: error }
            )
          )
        )
        runIds.push(...batch)
      }
      return runIds.map((runId) => handle(definition, runId, true))
    }).pipe(Effect.withSpan("hatchet.bulkTrigger", { attributes: { "hatchet.workflow": definition.name } }))

  const pushRequest = (
    event: EventToPush,
    where: string,
    source: Option.Option<TaskContextShape>,
    now: Date,
    traceparent: Option.Option<string>
  ): Either.Either<PushEventRequest, HatchetClientError> => {
    const issues: Array<string> = []
    if (event.key === "") issues.push("the key must not be empty")
    const { priority } = event
    if (priority !== undefined && !(priority === 1 || priority === 2 || priority === 3)) {
      issues.push(`priority must be 1, 2 or 3, got ${String(priority)}`)
    }
    if (issues.length > 0) return Either.left(clientError("InvalidOptions", `Invalid event${where}: ${issues.join("; ")}`))
    const payload = stringify(event.payload)
    if (Either.isLeft(payload)) {
      return Either.left(clientError("InvalidInput", `The payload of event${where} "${event.key}" is not JSON: ${payload.left}`))
    }
    const metadata: Record<string, string> = { ...TraceContext.inject(event.additionalMetadata, traceparent) }
    if (Option.isSome(source)) {
      metadata.hatchet__source_workflow_run_id = source.value.workflowRunId
      metadata.hatchet__source_step_run_id = source.value.taskRunExternalId
    }
    return Either.right({
      key: applyNamespace(event.key, namespace),
      payload: payload.right,
      eventTimestamp: now,
      ...(Object.keys(metadata).length > 0 ? { additionalMetadata: JSON.stringify(metadata) } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(event.scope !== undefined ? { scope: event.scope } : {})
    })
  }

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const push = (key: string, payload: unknown, options: PushOptions = {}) =>
    Effect.gen(function*() {
      const source = yield* Effect.serviceOption(TaskContext)
      const request = yield* pushRequest({ ...options, key, payload }, "", source, yield* now, yield* TraceContext.current)
      return toPushedEvent(yield* events.push(request))
    }).pipe(Effect.withSpan("hatchet.push", { attributes: { "hatchet.event_key": key } }))

  const bulkPush = (toPush: Iterable<EventToPush>) =>
    Effect.gen(function*() {
      const source = yield* Effect.serviceOption(TaskContext)
      const timestamp = yield* now
      const traceparent = yield* TraceContext.current
      const requests = yield* Effect.forEach(
        Array.from(toPush),
        (event, i) => pushRequest(event, ` [${i}]`, source, timestamp, traceparent)
      )
      const pushed: Array<PushedEvent> = []
      for (const chunk of Chunk.chunksOf(Chunk.unsafeFromArray(requests), MAX_BULK_PUSH)) {
        pushed.push(...(yield* events.bulkPush(Chunk.toReadonlyArray(chunk))).map(toPushedEvent))
      }
      return pushed
    }).pipe(Effect.withSpan("hatchet.bulkPush"))

  /** The checks of a run stored by the engine (scheduled, cron), and its input as a JSON object. */
  const prepareStored = (definition: Definition, input: unknown, priority: RunOptions["priority"], what: string) =>
    Effect.gen(function*() {
      const { spec } = yield* prepare(definition, { priority, detached: true })
      const json = JSON.parse(yield* encodeRunInput(spec, input)) as unknown
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return yield* clientError(
          "InvalidInput",
          `Invalid input for workflow "${spec.name}": ${what} input must encode to a JSON object`
        )
      }
      return { spec, wireName: workflowWireName(spec.name, namespace), input: json as Record<string, unknown> }
    })

  const schedule: HatchetShape["schedule"] = (definition, input, options) =>
    Effect.gen(function*() {
      const stored = yield* prepareStored(definition, input, options.priority, "a scheduled run's")
      if (!(options.at instanceof Date) || Number.isNaN(options.at.getTime())) {
        return yield* clientError("InvalidOptions", `Invalid schedule of "${stored.spec.name}": at must be a valid Date`)
      }
      return yield* schedules.create(stored.wireName, {
        input: stored.input,
        triggerAt: options.at,
        additionalMetadata: options.additionalMetadata,
        priority: options.priority
      })
    }).pipe(Effect.withSpan("hatchet.schedule", { attributes: { "hatchet.workflow": definition.name } }))

  const cron: HatchetShape["cron"] = (definition, input, options) =>
    Effect.gen(function*() {
      const stored = yield* prepareStored(definition, input, options.priority, "a cron's")
      const issues: Array<string> = []
      if (options.name.trim() === "") issues.push("name must not be empty")
      checkCron(issues, "expression", options.expression)
      if (issues.length > 0) {
        return yield* clientError("InvalidOptions", `Invalid cron of "${stored.spec.name}": ${issues.join("; ")}`)
      }
      return yield* crons.create(stored.wireName, {
        name: options.name,
        expression: options.expression,
        input: stored.input,
        additionalMetadata: options.additionalMetadata,
        priority: options.priority
      })
    }).pipe(Effect.withSpan("hatchet.cron", { attributes: { "hatchet.workflow": definition.name } }))

  const putRateLimit: HatchetShape["putRateLimit"] = (options) =>
    Effect.suspend((): Effect.Effect<void, HatchetClientError | GrpcError> => {
      const issues: Array<string> = []
      if (typeof options.key !== "string" || options.key.trim() === "") issues.push("key must be a non-empty string")
      if (!Number.isInteger(options.limit) || options.limit < 0 || options.limit > 2_147_483_647) {
        issues.push(`limit must be an integer of 0 or more, got ${String(options.limit)}`)
      }
      const duration = rateLimitDurationFromJSON(options.duration ?? "SECOND")
      if (duration === RateLimitDuration.UNRECOGNIZED) issues.push(`unknown duration ${String(options.duration)}`)
      if (issues.length > 0) {
        return Effect.fail(clientError("InvalidOptions", `Invalid rate limit: ${issues.join("; ")}`))
      }
      return admin.putRateLimit({ key: options.key, limit: options.limit, duration })
    }).pipe(Effect.withSpan("hatchet.putRateLimit", { attributes: { "hatchet.rate_limit": options.key } }))

  return {
    run: (definition, input, options) => Effect.flatMap(runNoWait(definition, input, options), (h) => h.result),
    runNoWait,
    runMany: (definition, inputs, options) =>
      Effect.flatMap(
        runManyNoWait(definition, inputs, options),
        (handles) => Effect.forEach(handles, (h) => h.result, { concurrency: "unbounded" })
      ),
    runManyNoWait,
    handle: (definition, runId) => handle(definition, runId),
    push,
    bulkPush,
    runs,
    schedule,
    schedules,
    cron,
    crons,
    putRateLimit
  }
}
