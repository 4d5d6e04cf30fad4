/**
 * The client: checks of definitions, inputs and options, triggering (one, bulk, children),
 * awaiting and interrupting runs, run events, event pushes. Requests and their batching are
 * `triggerBatching.ts`; decoding what comes back is `runResult.ts`.
 *
 * @internal
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { PushEventRequest } from "@effect-hatchet/proto/events/events"
import type { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { RateLimitDuration, rateLimitDurationFromJSON } from "@effect-hatchet/proto/workflows/workflows"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Status } from "nice-grpc-common"
import type { AdminShape } from "../Admin.js"
import type { CronsShape } from "../Crons.js"
import type { EventsShape } from "../Events.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type {
  BulkRunOptions,
  EventToPush,
  HatchetShape,
  PushedEvent,
  PushOptions,
  RunError,
  RunEvent,
  RunHandle,
  RunOptions
} from "../Hatchet.js"
import type { HatchetConfigShape } from "../HatchetConfig.js"
import type { GrpcError } from "../HatchetError.js"
import type { RunListenerShape } from "../RunListener.js"
import type { RunsShape } from "../Runs.js"
import type { SchedulesShape } from "../Schedules.js"
import { TaskContext, type TaskContextShape } from "../TaskContext.js"
import { TaskFailed } from "../TaskError.js"
import type { Definition, Result } from "../Workflow.js"
import type { HatchetClientError } from "./clientError.js"
import { clientError } from "./clientError.js"
import { type HasSpec, specOf, type WorkflowSpec } from "./definition.js"
import { formatParseError } from "./failure.js"
import { methodPath, serverStream } from "./grpc.js"
import { applyNamespace, workflowWireName } from "./naming.js"
import { encodeInput } from "./payload.js"
import { checkCron, desiredLabels, validate } from "./registration.js"
import * as RunProgress from "./runProgress.js"
import { decodeResult, explainCancellation, toPushedEvent, toRunEvent } from "./runResult.js"
import { idempotencyCollision as idempotencyCollisionOf } from "./statusDetails.js"
import * as TraceContext from "./traceContext.js"
import {
  type ChildOf,
  itemBytes,
  MAX_BULK_PUSH,
  MAX_BULK_TRIGGER,
  planBatches,
  requestBytes,
  tooLarge,
  triggerRequest
} from "./triggerBatching.js"

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

export { HatchetClientError } from "./clientError.js"

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

/** Problems with run options, given the workflow and whether the run is spawned from a task. */
export const optionIssues = (options: RunOptions, isChild: boolean, spec: WorkflowSpec): Array<string> => {
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
  if ((options.sticky === true || options.desiredWorkerId !== undefined) && spec.settings.sticky === undefined) {
    issues.push(
      `${
        options.sticky === true ? "sticky" : "desiredWorkerId"
      } has no effect: workflow "${spec.name}" declares no sticky strategy (sticky: "SOFT" or "HARD")`
    )
  }
  if (options.desiredWorkerLabels !== undefined) desiredLabels(issues, "desiredWorkerLabels", options.desiredWorkerLabels)
  return issues
}

const checkOptions = (options: RunOptions, isChild: boolean, spec: WorkflowSpec) => {
  const issues = optionIssues(options, isChild, spec)
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
// interruption
// -----------------------------------------------------------------------------

/** Most run ids per `CancelTasks` call made on interruption. */
export const MAX_CANCEL = 1000

/** How long an interrupted awaiter waits for a trigger in flight, and for its cancel call. */
const INTERRUPT_CALL_TIMEOUT = Duration.seconds(10)

/** The metadata key `schedule` gives a scheduled run, which the run it starts carries. */
export const SCHEDULE_KEY = "effect_hatchet__schedule"

/** What interrupting the awaiter of a run does. */
export interface InterruptPolicy {
  /** Cancel the run on the engine. */
  readonly cancel: boolean
  /** The task the run is a child of: its children are left running when it is retried. */
  readonly parent: Option.Option<Pick<TaskContextShape, "interruptedForRetry">>
}

/** The policy of a run triggered with these options, from this task (if any). */
export const interruptPolicy = (options: RunOptions, parent: Option.Option<TaskContextShape>): InterruptPolicy => ({
  cancel: options.cancelOnInterrupt ?? options.detached !== true,
  parent
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

  /**
   * Cancels runs because the fiber awaiting them was interrupted: one `CancelTasks` call per
   * 1,000 ids, bounded in time; a failure is logged, never raised (the awaiter is gone).
   */
  const cancelAbandoned = (runIds: ReadonlyArray<string>): Effect.Effect<void> =>
    Effect.forEach(
      Chunk.chunksOf(Chunk.unsafeFromArray(runIds), MAX_CANCEL),
      (chunk) => admin.cancelTasks({ externalIds: Chunk.toArray(chunk), filter: undefined }),
      { discard: true }
    ).pipe(
      Effect.timeout(INTERRUPT_CALL_TIMEOUT),
      Effect.catchAllCause((cause) => Effect.logWarning(`could not cancel ${runIds.length} run(s) whose awaiter was interrupted`, cause)),
      Effect.withSpan("hatchet.cancelOnInterrupt", { attributes: { "hatchet.runs": runIds.length } })
    )

  /**
   * Whether interrupting the awaiter cancels the run(s): asked when the interruption happens, as
   * a child of a task attempt stopped to be retried is left for the next attempt.
   */
  const cancelsOnInterrupt = (policy: InterruptPolicy): Effect.Effect<boolean> =>
    !policy.cancel ? Effect.succeed(false) : Option.match(policy.parent, {
      onNone: () => Effect.succeed(true),
      onSome: (parent) => Effect.map(parent.interruptedForRetry, (retried) => !retried)
    })

  /** Cancels the runs when `self` is interrupted, as `policy` says. */
  const cancellingOnInterrupt = <A, E>(
    self: Effect.Effect<A, E>,
    runIds: ReadonlyArray<string>,
    policy: InterruptPolicy
  ): Effect.Effect<A, E> =>
    policy.cancel
      ? Effect.onInterrupt(
        self,
        () => Effect.flatMap(cancelsOnInterrupt(policy), (cancel) => cancel ? cancelAbandoned(runIds) : Effect.void)
      )
      : self

  /**
   * Runs a trigger whose runs are cancelled if the caller is interrupted: interrupted while the
   * trigger call is in flight, it waits (a bounded time) for the engine's answer, then cancels
   * what it created, as its policy says.
   */
  const triggerCancellable = <A extends { readonly policy: InterruptPolicy }, E>(
    trigger: Effect.Effect<A, E>,
    runIdsOf: (triggered: A) => ReadonlyArray<string>
  ): Effect.Effect<A, E> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        // the call runs in a scope of its own, not as a child fiber: interrupting the caller does
        // not abort it, so the run it creates can be cancelled; closing the scope ends it
        const scope = yield* Scope.make()
        const call = yield* Effect.forkIn(restore(trigger), scope)
        return yield* restore(Fiber.join(call)).pipe(
          Effect.onInterrupt(() =>
            Fiber.await(call).pipe(
              Effect.timeout(INTERRUPT_CALL_TIMEOUT),
              Effect.flatMap((exit) =>
                Exit.isSuccess(exit)
                  ? Effect.flatMap(
                    cancelsOnInterrupt(exit.value.policy),
                    (cancel) => cancel ? cancelAbandoned(runIdsOf(exit.value)) : Effect.void
                  )
                  : Effect.void
              ),
              Effect.ignore
            )
          ),
          Effect.ensuring(Scope.close(scope, Exit.void))
        )
      })
    )

  /**
   * Says why the cancelled tasks of a failed run were cancelled, as the engine recorded it (its
   * task events, over REST: the run result only has an empty error): a schedule timeout becomes
   * kind `ScheduleTimeout`, a cancel with a message (a concurrency strategy's) keeps its message.
   * Without an answer from REST, the cancellations stay as they are.
   */
  const explainCancellations = (runId: string) => <A>(self: Effect.Effect<A, unknown>): Effect.Effect<A, unknown> =>
    Effect.catchAllCause(self, (cause) => {
      const isCancelled = (error: unknown): error is TaskFailed => error instanceof TaskFailed && error.kind === "Cancelled"
      if (!Chunk.some(Cause.failures(cause), isCancelled)) return Effect.failCause(cause)
      return runs.get(runId).pipe(
        Effect.map((details) => Cause.map(cause, (error) => isCancelled(error) ? explainCancellation(details, error) : error)),
        Effect.catchAll((error) => Effect.as(Effect.logDebug(`could not read why run ${runId} was cancelled`, error), cause)),
        Effect.flatMap(Effect.failCause)
      )
    })

  /** Waits for the run and decodes its result or failure. */
  const resultOf = (definition: HasSpec, runId: string, triggeredHere: boolean) =>
    Effect.suspend(() => awaitRun(runId, triggeredHere)).pipe(
      Effect.flatMap((event) => decodeResult(definition, runId, event.results)),
      explainCancellations(runId),
      Effect.withSpan("hatchet.result", { attributes: { "hatchet.workflow_run_id": runId } })
    )

  const handle = <D extends Definition>(
    definition: D,
    runId: string,
    triggeredHere: boolean,
    policy: InterruptPolicy
  ): RunHandle<D> => {
    const events = Stream.suspend(() => runEvents(runId))
    return {
      runId,
      definition,
      result: cancellingOnInterrupt(resultOf(definition, runId, triggeredHere), [runId], policy) as RunHandle<D>["result"],
      cancel: Effect.suspend(() => Effect.asVoid(admin.cancelTasks({ externalIds: [runId], filter: undefined }))),
      replay: Effect.suspend(() => Effect.asVoid(admin.replayTasks({ externalIds: [runId], filter: undefined }))),
      events,
      stream: events.pipe(
        Stream.filter((event) => event.type === "STREAM"),
        Stream.map((event) => event.payload)
      ),
      details: Effect.suspend(() => runs.get(runId)),
      progress: (options) => RunProgress.make(Effect.suspend(() => runs.get(runId)), events, options)
    }
  }

  /** The checks every trigger makes first: the definition, the spawning task, the options. */
  const prepare = (definition: Definition, options: RunOptions) =>
    Effect.gen(function*() {
      const spec = specOf(definition)
      yield* checkDefinition(spec)
      const parent = yield* parentOf(options)
      yield* checkOptions(options, Option.isSome(parent), spec)
      return { spec, parent, policy: interruptPolicy(options, parent) }
    })

  const triggerOne = (definition: Definition, input: unknown, options: RunOptions) =>
    Effect.gen(function*() {
      const { parent, policy, spec } = yield* prepare(definition, options)
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
      return { runId: yield* admin.triggerWorkflow(request).pipe(Effect.catchTag("GrpcError", idempotencyCollision(spec.name))), policy }
    }).pipe(Effect.withSpan("hatchet.trigger", { attributes: { "hatchet.workflow": definition.name } }))

  const runNoWait: HatchetShape["runNoWait"] = (definition, input, options = {}) =>
    Effect.map(triggerOne(definition, input, options), ({ policy, runId }) => handle(definition, runId, true, policy))

  const run: HatchetShape["run"] = (definition, input, options = {}) =>
    triggerCancellable(triggerOne(definition, input, options), ({ runId }) => [runId]).pipe(
      Effect.flatMap(({ policy, runId }) =>
        cancellingOnInterrupt(resultOf(definition, runId, true), [runId], policy) as Effect.Effect<
          Result<typeof definition>,
          RunError<typeof definition>
        >
      )
    )

  const triggerMany = (definition: Definition, inputs: Iterable<unknown>, options: BulkRunOptions) =>
    Effect.gen(function*() {
      const { parent, policy, spec } = yield* prepare(definition, options)
      const items = Array.from(inputs)
      if (items.length === 0) return { runIds: [], policy }
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
        for (const runId of batch) runIds.push(runId)
      }
      return { runIds, policy }
    }).pipe(Effect.withSpan("hatchet.bulkTrigger", { attributes: { "hatchet.workflow": definition.name } }))

  const runManyNoWait: HatchetShape["runManyNoWait"] = (definition, inputs, options = {}) =>
    Effect.map(
      triggerMany(definition, inputs, options),
      ({ policy, runIds }) => runIds.map((runId) => handle(definition, runId, true, policy))
    )

  /** Every run's result; once all have finished, every failure (input order) in one cause. */
  const awaitAll = (definition: HasSpec, runIds: ReadonlyArray<string>) =>
    Effect.flatMap(
      Effect.forEach(runIds, (runId) => Effect.exit(resultOf(definition, runId, true)), { concurrency: "unbounded" }),
      (exits) => {
        const failures = exits.flatMap((exit) => Exit.isFailure(exit) ? [exit.cause] : [])
        return failures.length > 0
          ? Effect.failCause(failures.reduce(Cause.parallel))
          : Effect.succeed(exits.map((exit) => (exit as Exit.Success<unknown, never>).value))
      }
    )

  const runMany: HatchetShape["runMany"] = (definition, inputs, options = {}) =>
    triggerCancellable(triggerMany(definition, inputs, options), ({ runIds }) => runIds).pipe(
      Effect.flatMap(({ policy, runIds }) =>
        cancellingOnInterrupt(awaitAll(definition, runIds), runIds, policy) as Effect.Effect<
          Array<Result<typeof definition>>,
          RunError<typeof definition>
        >
      )
    )

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
        for (const event of yield* events.bulkPush(Chunk.toReadonlyArray(chunk))) pushed.push(toPushedEvent(event))
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
        // the run the engine starts carries the scheduled run's metadata: this finds it again
        additionalMetadata: { ...options.additionalMetadata, [SCHEDULE_KEY]: crypto.randomUUID() },
        priority: options.priority
      })
    }).pipe(Effect.withSpan("hatchet.schedule", { attributes: { "hatchet.workflow": definition.name } }))

  const scheduledRun: HatchetShape["scheduledRun"] = (definition, scheduled, options) =>
    Effect.gen(function*() {
      const key = scheduled.additionalMetadata?.[SCHEDULE_KEY]
      if (typeof key !== "string") {
        return yield* clientError(
          "InvalidOptions",
          `Scheduled run ${scheduled.metadata.id} was not made by Hatchet.schedule: its metadata has no ${SCHEDULE_KEY}`
        )
      }
      // the run starts at the earliest when the scheduled run was made, a minute allowed for clock skew
      const since = new Date(Math.min(scheduled.metadata.createdAt?.getTime() ?? 0, scheduled.triggerAt.getTime()) - 60_000)
      const found = yield* runs.list({ since, additionalMetadata: { [SCHEDULE_KEY]: key }, onlyTasks: false, limit: 1 })
      return Option.map(
        Option.fromNullable(found.rows[0]),
        (row) =>
          handle(definition, row.workflowRunExternalId, false, {
            cancel: options?.cancelOnInterrupt === true,
            parent: Option.none()
          })
      )
    })

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
    run,
    runNoWait,
    runMany,
    runManyNoWait,
    handle: (definition, runId, options) =>
      handle(definition, runId, false, { cancel: options?.cancelOnInterrupt === true, parent: Option.none() }),
    push,
    bulkPush,
    schedule,
    scheduledRun,
    cron,
    putRateLimit
  }
}
