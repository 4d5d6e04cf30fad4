import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { PutLogRequest } from "@effect-hatchet/proto/events/events"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import {
  Cause,
  Clock,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  Fiber,
  FiberId,
  FiberRef,
  FiberRefs,
  FiberSet,
  HashMap,
  HashSet,
  Metric,
  type MetricLabel,
  Option,
  Queue,
  Ref,
  Schedule,
  type Scope,
  Stream,
  SubscriptionRef,
  Tracer
} from "effect"
import { Status } from "nice-grpc-common"
import { Admin } from "../Admin.js"
import { Dispatcher } from "../Dispatcher.js"
import { DurableContext } from "../DurableContext.js"
import { Events } from "../Events.js"
import { GrpcTransport } from "../GrpcTransport.js"
import { HatchetConfig } from "../HatchetConfig.js"
import { GrpcError } from "../HatchetError.js"
import * as TaskContext from "../TaskContext.js"
import * as TaskExecution from "../TaskExecution.js"
import type { WorkerSettings, WorkerShape } from "../Worker.js"
import * as WorkerMetrics from "../WorkerMetrics.js"
import { Workers } from "../Workers.js"
import type { Definition } from "../Workflow.js"
import * as ActionEvents from "./actionEvents.js"
import * as Batches from "./batch.js"
import { effectiveSettings, type ImplementationShape, implementationTag, specOf, type TaskSpec } from "./definition.js"
import * as Durable from "./durable.js"
import { requirementsOf, tooOldMessage, unmet } from "./engineVersion.js"
import * as EventLoopLag from "./eventLoopLag.js"
import { encodedFailure } from "./failure.js"
import { bidiStream, methodPath } from "./grpc.js"
import { applyNamespace } from "./naming.js"
import { DEFAULT_MAX_MESSAGE_BYTES, ENVELOPE_BYTES, optional, parseMetadata } from "./payload.js"
import {
  checkWorkerOptions,
  compile,
  type Compiled,
  registerRequest,
  workerActions,
  workerLabelIssues,
  workerLabels
} from "./registration.js"
import { isTransient, reconnectBackoff, reportRetry } from "./retry.js"
import { type LogLine, metadataJson, taskLogger } from "./taskLogger.js"
import * as TraceContext from "./traceContext.js"

/** See `Worker.WorkerStatus`. */
export type WorkerStatus = Data.TaggedEnum<{
  Registering: {}
  Listening: { readonly workerId: string }
  Reconnecting: {
    readonly workerId: Option.Option<string>
    readonly attempt: number
    readonly reason: string
    readonly delay: Duration.Duration
  }
  Draining: {}
  Stopped: {}
}>

/** See `Worker.WorkerStatus`. */
export const WorkerStatus = Data.taggedEnum<WorkerStatus>()

/** See `Worker.WorkerError`. */
export class WorkerError extends Data.TaggedError("WorkerError")<{
  readonly reason: "InvalidOptions" | "InvalidWorkflow" | "EngineTooOld" | "Registration"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Why an attempt's fiber was interrupted from outside (or by itself). `evicted`: a durable
 * attempt handed back to the engine (by this worker, or told so by the engine), which restores it.
 */
type InterruptReason = "cancelled" | "superseded" | "self-cancel" | "shutdown" | "evicted"

/** One running attempt of a task run. */
interface Attempt {
  readonly retryCount: number
  /** A durable task's invocation (`durable_task_invocation_count`); 0 for other tasks. */
  readonly invocationCount: number
  /** Durable waits in progress (a durable attempt waiting for the engine may be evicted). */
  durableWaits: number
  /** The slot pool its permits come from. */
  pool: Effect.Semaphore | undefined
  reason: InterruptReason | undefined
  /** Semaphore permits held (0 once released). */
  permits: number
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /** When the assignment arrived (`Clock` nanoseconds), for the overhead metric. */
  readonly receivedAt: bigint
  /** The handler's run time, once it ran. */
  handlerTime: Duration.Duration | undefined
  /** The metric labels of the attempt's fiber (read once). */
  metricLabels: ReadonlyArray<MetricLabel.MetricLabel>
  /** The run's additional metadata, parsed once. */
  readonly metadata: Readonly<Record<string, unknown>>
}

/** What ended one connection (register + listen + heartbeats). */
interface ConnectionEnd {
  readonly reason: string
  /** The engine no longer knows the worker id: register again before listening. */
  readonly reregister: boolean
  /** Heartbeats hung: the connection looks dead, the next one must not reuse it. */
  readonly stalled?: boolean
  /** The engine refused the token (UNAUTHENTICATED): logged as an error that says what to do. */
  readonly unauthenticated?: boolean
}

/** What a worker whose token the engine refuses at runtime should do about it. */
const UNAUTHENTICATED_ADVICE = "the engine refuses this worker's token (HATCHET_CLIENT_TOKEN): it expired or was " +
  "revoked, or the engine now signs tokens with another key (hatchet-local started with another --state-dir). " +
  "The worker keeps retrying, in case the token is accepted again; to use a new token, restart the worker with it"

interface Route {
  readonly implementation: ImplementationShape
  readonly task: TaskSpec
  readonly slotCost: number
  readonly maxAttempts: number
  /** A durable task: on the durable pool, with a `DurableContext`. */
  readonly durable: boolean
  /** How long a durable attempt waits for the engine before it evicts itself (none: never). */
  readonly evictAfter: Duration.Duration | undefined
}

/** The span a run's `traceparent` metadata names. */
const traceParentOf = (metadata: Readonly<Record<string, unknown>>): Option.Option<Tracer.ExternalSpan> => {
  const value = metadata[TraceContext.TRACEPARENT]
  return typeof value === "string" ? TraceContext.parse(value) : Option.none()
}

const STARTED_PAYLOAD = JSON.stringify("")
const LOG_BATCH_SIZE = 100
const LOG_CONCURRENCY = 8
const CALL_TIMEOUT = Duration.seconds(10)
/** What a durable wait ends with when its attempt was evicted instead. */
const EVICTED: unique symbol = Symbol("evicted")
/** How long a durable attempt waits before its worker evicts it (upstream's eviction policy TTL). */
const DEFAULT_EVICT_AFTER = Duration.minutes(15)

export const make = (
  options: WorkerSettings & { readonly workflows: ReadonlyArray<Definition> }
): Effect.Effect<WorkerShape, WorkerError, Scope.Scope | Dispatcher | Admin | Events | Workers> =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    const admin = yield* Admin
    const events = yield* Events
    const workers = yield* Workers
    const config = yield* Effect.serviceOption(HatchetConfig)
    const transport = yield* Effect.serviceOption(GrpcTransport)

    // --- options -------------------------------------------------------------------------------
    const namespace = options.namespace ?? Option.match(config, { onNone: () => "", onSome: (c) => c.namespace })
    const maxMessageBytes = options.maxMessageBytes ??
      Option.match(config, { onNone: () => DEFAULT_MAX_MESSAGE_BYTES, onSome: (c) => c.grpcMaxSendMessageLength })
    const workerName = applyNamespace(options.name, namespace)
    const slots = options.slots ?? 100
    const durableSlots = options.durableSlots ?? 1000
    const labels = options.labels ?? {}
    const grace = Duration.decode(options.shutdownGracePeriod ?? "30 seconds")
    const heartbeatInterval = Duration.decode(options.heartbeatInterval ?? "4 seconds")
    const heartbeatTimeout = Duration.decode(options.heartbeatTimeout ?? heartbeatInterval)
    const maxHeartbeatFailures = options.maxHeartbeatFailures ?? 3
    const initialDelay = Duration.decode(options.reconnect?.initialDelay ?? "250 millis")
    const maxDelay = Duration.decode(options.reconnect?.maxDelay ?? "10 seconds")
    const resetAfter = Duration.decode(options.reconnect?.resetAfter ?? "30 seconds")
    const eventLoopBlockThreshold = Duration.decode(options.eventLoopBlockThreshold ?? "5 seconds")

    const optionIssues = checkWorkerOptions({ name: workerName, slots, labels, eventLoopBlockThreshold })
    if (optionIssues.length > 0) {
      return yield* new WorkerError({
        reason: "InvalidOptions",
        message: `Invalid worker options:\n${optionIssues.map((i) => `  - ${i}`).join("\n")}`
      })
    }

    // --- definitions -----------------------------------------------------------------------------
    const compiled: Array<Compiled> = []
    const routes = new Map<string, Route>()
    for (const definition of options.workflows) {
      const implementation = yield* implementationTag(specOf(definition).name)
      const result = compile(implementation.spec, namespace)
      if (Either.isLeft(result)) {
        return yield* new WorkerError({ reason: "InvalidWorkflow", message: result.left.message, cause: result.left })
      }
      if (compiled.some((c) => c.wireName === result.right.wireName)) {
        return yield* new WorkerError({
          reason: "InvalidWorkflow",
          message: `Workflow "${result.right.wireName}" is listed twice`
        })
      }
      compiled.push(result.right)
      for (const [action, task] of result.right.actions) {
        const settings = effectiveSettings(implementation.spec, task)
        routes.set(action, {
          implementation,
          task,
          slotCost: task.durable === true ? 1 : settings.slotCost ?? 1,
          maxAttempts: (settings.retries ?? 0) + 1,
          durable: task.durable === true,
          evictAfter: task.durable !== true || task.evictAfter === "never"
            ? undefined
            : Duration.decode(task.evictAfter ?? DEFAULT_EVICT_AFTER)
        })
      }
    }
    const hasDurable = [...routes.values()].some((route) => route.durable)
    if (hasDurable && (!Number.isInteger(durableSlots) || durableSlots < 1)) {
      return yield* new WorkerError({
        reason: "InvalidOptions",
        message: `Invalid worker options:\n  - durableSlots: must be a positive integer, got ${String(durableSlots)}`
      })
    }
    if (hasDurable && Option.isNone(transport)) {
      return yield* new WorkerError({
        reason: "InvalidOptions",
        message: "Durable tasks need the gRPC transport (GrpcTransport) for their V1Dispatcher/DurableTask stream"
      })
    }
    for (const [action, route] of routes) {
      if (!route.durable && route.slotCost > slots) {
        return yield* new WorkerError({
          reason: "InvalidOptions",
          message: `Task action "${action}" needs ${route.slotCost} slots but the worker has only ${slots}`
        })
      }
    }
    const actions = workerActions(compiled)
    /** The worker's labels: those it started with, as changed by `upsertLabels` since. */
    let currentLabels = labels

    // --- state ---------------------------------------------------------------------------------
    const status = yield* SubscriptionRef.make<WorkerStatus>(WorkerStatus.Registering())
    const workerIdRef = yield* Ref.make(Option.none<string>())
    /** The id of the latest registration (kept while the worker registers again), once there is one. */
    let registeredId = ""
    const registered = yield* Deferred.make<void>()
    const attempts = new Map<string, Attempt>()
    /**
     * `running`; `draining` once the scope closes (paused on the engine, still running what it
     * was given, including what the engine assigned before the pause took effect); `closing` once
     * the grace period is over (an assignment is handed back at once).
     */
    let phase: "running" | "draining" | "closing" = "running"
    const setStatus = (next: WorkerStatus) => SubscriptionRef.set(status, next)

    // --- log shipping (registered first: its finalizer runs last) ---------------------------------
    const logQueue = yield* Queue.dropping<PutLogRequest>(options.logBufferSize ?? 10_000)
    let droppedLogs = 0
    const sendLogs = (batch: Iterable<PutLogRequest>) =>
      Effect.forEach(
        batch,
        (request) =>
          events.putLog(request).pipe(
            Effect.timeout(CALL_TIMEOUT),
            Effect.catchAllCause((cause) => Effect.logDebug("PutLog failed; log line dropped", cause))
          ),
        { concurrency: LOG_CONCURRENCY, discard: true }
      )
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(logQueue).pipe(
        Effect.flatMap(sendLogs),
        Effect.interruptible,
        Effect.timeoutOption(Duration.seconds(5)),
        Effect.asVoid
      )
    )
    yield* Queue.takeBetween(logQueue, 1, LOG_BATCH_SIZE).pipe(
      Effect.flatMap((batch) => Effect.uninterruptible(sendLogs(batch))),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    const logSink = (action: Pick<DispatcherProto.AssignedAction, "taskRunExternalId" | "retryCount">) => (line: LogLine) => {
      const accepted = Queue.unsafeOffer(logQueue, {
        taskRunExternalId: action.taskRunExternalId,
        createdAt: line.createdAt,
        message: line.message,
        level: line.level,
        metadata: metadataJson(line.metadata),
        taskRetryCount: action.retryCount
      })
      if (!accepted) droppedLogs++
    }

    // --- step action events (before the task fibers: closed after them) --------------------------
    /** A call that reports to the engine: a timeout, and retries while the engine is unreachable. */
    const callEngine = <E extends GrpcError>(method: string, effect: Effect.Effect<void, E>) =>
      effect.pipe(
        Effect.timeoutFail({ duration: CALL_TIMEOUT, onTimeout: () => timeoutError(method) }),
        Effect.retry(reportRetry)
      )
    const actionEvents = yield* ActionEvents.make({
      dispatcher,
      maxBatchBytes: maxMessageBytes - ENVELOPE_BYTES,
      // the deadline is the call's own (a hung call fails DEADLINE_EXCEEDED, and is retried)
      timeout: CALL_TIMEOUT,
      call: (_method, effect) => Effect.retry(effect, reportRetry)
    })

    // --- task fibers ---------------------------------------------------------------------------
    // the attempts' fibers (keyed by task run in `attempts`)
    const tasks = yield* FiberSet.make<void, never>()
    const semaphore = yield* Effect.makeSemaphore(slots)
    const durableSemaphore = yield* Effect.makeSemaphore(durableSlots)
    // task fibers carry the task logger (it ships what a handler logs, through its TaskLogSink)
    const runFiber = yield* FiberSet.runtime(tasks)<never>().pipe(
      Effect.locallyWith(FiberRef.currentLoggers, HashSet.add(taskLogger))
    )

    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const clock = yield* Effect.clock

    // The hot path updates metrics synchronously with the labels its fiber had when it started
    // (what `Metric.update` would read on each call).

    /** A new attempt, received now, holding no slot yet. */
    const newAttempt = (retryCount: number, metadata: Readonly<Record<string, unknown>>, invocationCount = 0): Attempt => ({
      retryCount,
      invocationCount,
      durableWaits: 0,
      pool: undefined,
      reason: undefined,
      permits: 0,
      fiber: undefined,
      receivedAt: clock.unsafeCurrentTimeNanos(),
      handlerTime: undefined,
      metricLabels: [],
      metadata
    })

    /** Slots held by running attempts. */
    let slotsHeld = 0
    /** Takes an attempt's slots (and counts the attempt as started). */
    const takeSlots = (attempt: Attempt, permits: number, pool: Effect.Semaphore = semaphore) =>
      Effect.zipRight(
        pool.take(permits),
        Effect.sync(() => {
          attempt.pool = pool
          attempt.permits = permits
          slotsHeld += permits
          WorkerMetrics.slotsInUse.unsafeModify(permits, attempt.metricLabels)
          WorkerMetrics.tasksStarted.unsafeUpdate(1, attempt.metricLabels)
        })
      )
    /** Hands back the slots an attempt still holds. */
    const releaseSlots = (attempt: Attempt) =>
      Effect.suspend(() => {
        const permits = attempt.permits
        if (permits === 0) return Effect.void
        attempt.permits = 0
        slotsHeld -= permits
        WorkerMetrics.slotsInUse.unsafeModify(-permits, attempt.metricLabels)
        return (attempt.pool ?? semaphore).release(permits)
      })
    /** Records the handler's and the SDK's time for an attempt whose result is about to be sent. */
    const recordResult = (attempt: Attempt, counter: Metric.Metric.Counter<number>) =>
      Effect.sync(() => {
        const elapsed = Duration.nanos(clock.unsafeCurrentTimeNanos() - attempt.receivedAt)
        const handlerTime = attempt.handlerTime
        if (handlerTime !== undefined) WorkerMetrics.taskDuration.unsafeUpdate(handlerTime, attempt.metricLabels)
        WorkerMetrics.taskOverhead.unsafeUpdate(
          handlerTime === undefined ? elapsed : Duration.subtract(elapsed, handlerTime),
          attempt.metricLabels
        )
        counter.unsafeUpdate(1, attempt.metricLabels)
      })

    /**
     * Queues a step action event; the effect returned waits until the engine acknowledged it (a
     * failure, once retries are exhausted, is logged).
     */
    const submitEvent = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      eventType: StepActionEventType,
      eventPayload: string,
      shouldNotRetry?: boolean
    ): Effect.Effect<Effect.Effect<void>> =>
      Effect.suspend(() =>
        actionEvents.submit({
          workerId,
          jobId: action.jobId,
          jobRunId: action.jobRunId,
          taskId: action.taskId,
          taskRunExternalId: action.taskRunExternalId,
          actionId: action.actionId,
          eventTimestamp: new Date(clock.unsafeCurrentTimeMillis()),
          eventType,
          eventPayload,
          retryCount: action.retryCount,
          shouldNotRetry
        })
      ).pipe(
        Effect.map((acknowledged) =>
          acknowledged.pipe(
            Effect.tapError((error) => Effect.logError(`could not report ${StepActionEventType[eventType]} to the engine`, error)),
            Effect.ignore
          )
        )
      )
    const sendEvent = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      eventType: StepActionEventType,
      eventPayload: string,
      shouldNotRetry?: boolean
    ) => Effect.flatten(submitEvent(workerId, action, eventType, eventPayload, shouldNotRetry))

    /** Changes labels: kept for the next registration, and sent to the engine once registered. */
    const upsertLabels = (changed: Readonly<Record<string, string | number>>) =>
      Effect.suspend((): Effect.Effect<void, WorkerError | GrpcError> => {
        const issues = workerLabelIssues(changed)
        if (issues.length > 0) {
          return Effect.fail(new WorkerError({ reason: "InvalidOptions", message: `Invalid worker labels: ${issues.join("; ")}` }))
        }
        currentLabels = { ...currentLabels, ...changed }
        return Effect.flatMap(Ref.get(workerIdRef), (workerId) =>
          Option.isSome(workerId) ? dispatcher.upsertWorkerLabels(workerId.value, workerLabels(changed)) : Effect.void)
      })

    // --- durable tasks (internal/durable.ts): one DurableTask stream for the worker --------------
    /** Stops a durable attempt handed back to the engine (which restores it); nothing is reported. */
    const interruptEvicted = (attempt: Attempt) =>
      Effect.suspend(() => {
        attempt.reason = "evicted"
        return attempt.fiber === undefined ? Effect.void : Effect.asVoid(attempt.fiber.interruptAsFork(FiberId.none))
      })
    const durable = hasDurable && Option.isSome(transport)
      ? yield* Durable.makeListener({
        workerId: Effect.zipRight(
          Deferred.await(registered),
          Effect.sync(() =>
            registeredId
          )
        ),
        connect: (requests) =>
          bidiStream(
            methodPath(V1DispatcherDefinition, "durableTask"),
            requests,
            (iterable, callOptions) => transport.value.v1Dispatcher.durableTask(iterable, callOptions)
          ),
        onServerEvict: (taskId, invocation, reason) =>
          Effect.suspend(() => {
            const attempt = attempts.get(taskId)
            if (attempt === undefined || attempt.invocationCount !== invocation) return Effect.void
            return Effect.zipRight(
              Effect.logInfo(`the engine evicted durable task ${taskId} (invocation ${invocation}): ${reason}`),
              interruptEvicted(attempt)
            )
          })
      }).pipe(Effect.annotateLogs({ "hatchet.worker": workerName }))
      : undefined
    /** Hands a waiting durable attempt back to the engine (`evict_invocation`), then stops it here. */
    const evictAttempt = (key: string, attempt: Attempt, reason: string) =>
      durable === undefined ? Effect.void : durable.evict(key, attempt.invocationCount, reason).pipe(
        Effect.zipRight(interruptEvicted(attempt)),
        Effect.catchAll((error) => Effect.logWarning(`could not evict durable task ${key}: ${error.message}`))
      )
    /**
     * What a durable attempt's waits run in: counted while they wait; after `evictAfter` of waiting
     * the attempt is evicted (upstream's TTL eviction: the slot is freed, the engine restores it
     * when the wait ends); a wait that begins once the worker is draining evicts it at once.
     */
    const durableWaiting = (key: string, attempt: Attempt, evictAfter: Duration.Duration | undefined) =>
    <A, E>(
      effect: Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        if (phase !== "running" && durable !== undefined) {
          return durable.evict(key, attempt.invocationCount, "worker shutting down").pipe(
            Effect.matchEffect({
              onFailure: () => effect,
              onSuccess: () => Effect.zipRight(Effect.sync(() => attempt.reason = "evicted"), Effect.interrupt)
            })
          )
        }
        // after `evictAfter`, the engine is told; the attempt then stops itself (reported as nothing)
        const evictLater = evictAfter === undefined || durable === undefined ? Effect.never : Effect.sleep(evictAfter).pipe(
          Effect.zipRight(durable.evict(key, attempt.invocationCount, `waited ${Duration.format(evictAfter)} for the engine`)),
          Effect.matchEffect({
            // not evicted (the engine could not be told): the wait goes on
            onFailure: (error) => Effect.zipRight(Effect.logWarning(`could not evict durable task ${key}: ${error.message}`), Effect.never),
            onSuccess: () => Effect.succeed(EVICTED)
          })
        )
        return Effect.acquireUseRelease(
          Effect.sync(() => attempt.durableWaits++),
          () =>
            evictAfter === undefined ? effect : Effect.flatMap(Effect.raceFirst(effect, evictLater), (result) =>
              result === EVICTED
                ? Effect.zipRight(Effect.sync(() => attempt.reason = "evicted"), Effect.interrupt)
                : Effect.succeed(result as A)),
          () => Effect.sync(() => attempt.durableWaits--)
        )
      })

    const contextError = (operation: TaskContext.TaskContextError["operation"]) => (cause: GrpcError) =>
      new TaskContext.TaskContextError({ operation, message: `${operation} failed: ${cause.details}`, cause })
    /** An attempt's backend of `TaskContext`: each operation is made when a handler uses it. */
    class AttemptOperations implements TaskContext.TaskOperations {
      constructor(readonly id: string, readonly attempt: Attempt) {}
      get refreshTimeout() {
        const id = this.id
        return (incrementBy: string) =>
          Effect.mapError(Effect.asVoid(dispatcher.refreshTimeout(id, incrementBy)), contextError("refreshTimeout"))
      }
      get releaseSlot() {
        return dispatcher.releaseSlot(this.id).pipe(
          Effect.mapError(contextError("releaseSlot")),
          Effect.zipRight(releaseSlots(this.attempt))
        )
      }
      get putStream() {
        const id = this.id
        return (message: Uint8Array, eventIndex: number) =>
          Effect.flatMap(now, (createdAt) => events.putStreamEvent({ taskRunExternalId: id, createdAt, message, metadata: "", eventIndex }))
            .pipe(
              Effect.mapError(contextError("putStream"))
            )
      }
      get cancel() {
        const { attempt, id } = this
        return Effect.suspend(() => {
          attempt.reason = "self-cancel"
          return admin.cancelTasks({ externalIds: [id], filter: undefined })
        }).pipe(Effect.mapError(contextError("cancel")), Effect.asVoid)
      }
      get interruptedForRetry() {
        const attempt = this.attempt
        return Effect.sync(() => attempt.reason === "shutdown" || attempt.reason === "superseded")
      }
      get upsertLabels() {
        return (changed: Readonly<Record<string, string | number>>) =>
          upsertLabels(changed).pipe(
            Effect.mapError((cause) =>
              new TaskContext.TaskContextError({
                operation: "upsertLabels",
                message: `upsertLabels failed: ${cause._tag === "GrpcError" ? cause.details : cause.message}`,
                cause
              })
            )
          )
      }
    }

    const runAttempt = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      route: Route,
      attempt: Attempt,
      previous: Fiber.RuntimeFiber<void, never> | undefined
    ): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          // STARTED goes out while the task runs, and the result is queued right after it without
          // waiting for its acknowledgement; both acknowledgements are awaited at the end
          let started: Effect.Effect<void> | undefined
          const exit = yield* Effect.exit(restore(Effect.gen(function*() {
            // a superseded attempt of the same task run finishes (finalizers included) first
            if (previous !== undefined) yield* previous.await
            yield* takeSlots(attempt, route.slotCost, route.durable ? durableSemaphore : semaphore)
            started = yield* submitEvent(workerId, action, StepActionEventType.STEP_EVENT_TYPE_STARTED, STARTED_PAYLOAD)
            const context = yield* TaskContext.make({
              workflowName: route.implementation.spec.name,
              taskName: route.task.name,
              action: action.actionId,
              workflowRunId: action.workflowRunId,
              taskRunExternalId: action.taskRunExternalId,
              workerId,
              retryCount: action.retryCount,
              maxAttempts: route.maxAttempts,
              triggeringEvent: action.triggeringEventExternalId !== undefined && action.triggeringEventExternalId !== ""
                ? Option.some({ id: action.triggeringEventExternalId, key: action.triggeringEventKey ?? "" })
                : Option.none(),
              additionalMetadata: attempt.metadata,
              priority: action.priority,
              childIndex: optional(action.childWorkflowIndex),
              childKey: optional(action.childWorkflowKey),
              parentTaskRunExternalId: optional(action.parentWorkflowRunId)
            }, new AttemptOperations(action.taskRunExternalId, attempt))
            const durableContext = route.durable && durable !== undefined
              ? yield* Durable.makeContext({
                listener: durable,
                taskContext: context,
                invocationCount: attempt.invocationCount,
                namespace,
                waiting: durableWaiting(action.taskRunExternalId, attempt, route.evictAfter)
              })
              : undefined
            return yield* TaskExecution.execute(route.implementation, route.task.name, action.actionPayload, context, {
              services: durableContext === undefined ? undefined : Context.make(DurableContext, durableContext),
              maxMessageBytes,
              onLog: logSink(action),
              onHandlerDone: (elapsed) => {
                attempt.handlerTime = elapsed
              }
            })
          })))
          yield* releaseSlots(attempt)
          if (route.durable && durable !== undefined) yield* durable.forget(action.taskRunExternalId, attempt.invocationCount)
          yield* report(workerId, action, attempt, exit)
          if (started !== undefined) yield* started
        })
      ).pipe((effect) => inAttemptFiber(action, attempt, effect))

    /** Whether the worker's tracer records spans (Effect's built-in tracer does not). */
    const recordsSpans = (yield* Effect.tracer) !== TraceContext.builtInTracer

    /**
     * The refs of an attempt's fiber, set as it is forked (`runFiber`'s `updateRefs`, one copy of
     * the refs the fork makes anyway): its log annotations and, when given, its parent span. The
     * metric labels it starts with are read here once for the hot path's synchronous updates.
     */
    const attemptRefs =
      (action: DispatcherProto.AssignedAction, attempt: Attempt, parent: Tracer.AnySpan | undefined) =>
      (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime): FiberRefs.FiberRefs => {
        attempt.metricLabels = FiberRefs.getOrDefault(refs, FiberRef.currentMetricLabels)
        let annotations = FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)
        annotations = HashMap.set(annotations, "hatchet.action", action.actionId)
        annotations = HashMap.set(annotations, "hatchet.task_run_id", action.taskRunExternalId)
        annotations = HashMap.set(annotations, "hatchet.workflow_run_id", action.workflowRunId)
        annotations = HashMap.set(annotations, "hatchet.retry_count", action.retryCount)
        if (parent === undefined) {
          return FiberRefs.updateManyAs(refs, { entries: [[FiberRef.currentLogAnnotations, [[fiberId, annotations]]]] })
        }
        const context = Context.add(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Tracer.ParentSpan, parent)
        return FiberRefs.updateManyAs(refs, {
          entries: [[FiberRef.currentLogAnnotations, [[fiberId, annotations]]], [FiberRef.currentContext, [[fiberId, context]]]]
        })
      }

    /**
     * Runs an attempt with its span `hatchet.task`. The attempt has a fiber of its own
     * (`runFiber`, whose refs `attemptRefs` set), so the span is set on that fiber once, with
     * nothing to restore (as `Effect.withSpan` would); the span ends with the attempt. The span
     * continues the trace of the run's `traceparent` metadata, or starts one. Under Effect's
     * built-in tracer, whose spans go nowhere, no span is made: the run's `traceparent` is the
     * attempt's parent span (set by `attemptRefs`), so that spans the handler makes continue its
     * trace.
     */
    const inAttemptFiber = (
      action: DispatcherProto.AssignedAction,
      attempt: Attempt,
      effect: Effect.Effect<void>
    ): Effect.Effect<void> => {
      if (!recordsSpans) return effect
      const traceParent = traceParentOf(attempt.metadata)
      /** Sets the span as the parent span of what runs on the attempt's fiber. */
      const setParentSpan = (span: Tracer.AnySpan) =>
        Effect.updateFiberRefs((fiberId, refs) => {
          const context = Context.add(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Tracer.ParentSpan, span)
          return FiberRefs.updateAs(refs, { fiberId, fiberRef: FiberRef.currentContext, value: context })
        })
      return Effect.flatMap(
        Effect.makeSpan("hatchet.task", {
          kind: "consumer",
          ...Option.match(traceParent, {
            onNone: () => ({ root: true }),
            onSome: (parent) => ({ parent })
          }),
          captureStackTrace: false,
          attributes: {
            "hatchet.action": action.actionId,
            "hatchet.task_run_id": action.taskRunExternalId,
            "hatchet.workflow_run_id": action.workflowRunId,
            "hatchet.retry_count": action.retryCount
          }
        }),
        (span) =>
          Effect.zipRight(
            setParentSpan(span),
            Effect.onExit(effect, (exit) =>
              Effect.withFiberRuntime((fiber) => {
                span.end(fiber.getFiberRef(FiberRef.currentTracerTimingEnabled) ? clock.unsafeCurrentTimeNanos() : 0n, exit)
                return Effect.void
              }))
          )
      )
    }

    const report = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      attempt: Attempt,
      exit: import("effect").Exit.Exit<TaskExecution.Outcome>
    ): Effect.Effect<void> => {
      const failed = (payload: string, shouldNotRetry: boolean) =>
        Effect.zipRight(
          recordResult(attempt, WorkerMetrics.tasksFailed),
          sendEvent(workerId, action, StepActionEventType.STEP_EVENT_TYPE_FAILED, payload, shouldNotRetry)
        )
      const interrupted = (message: string) =>
        Effect.zipRight(
          Metric.increment(WorkerMetrics.tasksInterrupted),
          sendEvent(
            workerId,
            action,
            StepActionEventType.STEP_EVENT_TYPE_FAILED,
            encodedFailure("Interrupted", message).payload,
            false
          )
        )
      if (exit._tag === "Success") {
        const outcome = exit.value
        switch (outcome._tag) {
          case "Completed":
            return Effect.zipRight(
              recordResult(attempt, WorkerMetrics.tasksCompleted),
              sendEvent(workerId, action, StepActionEventType.STEP_EVENT_TYPE_COMPLETED, outcome.output)
            )
          case "Failed":
            return Effect.zipRight(
              Effect.logDebug(`task failed: ${outcome.message}`),
              failed(outcome.payload, outcome.shouldNotRetry)
            )
          case "Interrupted":
            // cancelled by itself, or a durable attempt evicted by itself: the engine knows
            return attempt.reason === "self-cancel" || attempt.reason === "evicted"
              ? Metric.increment(WorkerMetrics.tasksInterrupted)
              : interrupted("the task was interrupted before it finished")
        }
      }
      if (!Cause.isInterruptedOnly(exit.cause)) {
        return failed(encodedFailure("Defect", "the worker failed to run the task", { stack: Cause.pretty(exit.cause) }).payload, false)
      }
      switch (attempt.reason) {
        case "evicted":
          // handed back to the engine, which restores it from its log
          return Effect.zipRight(
            Metric.increment(WorkerMetrics.tasksInterrupted),
            Effect.logDebug("durable task attempt evicted")
          )
        case "cancelled":
        case "superseded":
        case "self-cancel":
          // the engine already knows: it cancelled this attempt, or moved on to a newer one
          return Effect.zipRight(
            Metric.increment(WorkerMetrics.tasksInterrupted),
            Effect.logDebug(`task attempt interrupted (${attempt.reason})`)
          )
        default:
          return interrupted(`worker "${workerName}" shut down before the task finished`)
      }
    }

    const startAttempt = (workerId: string, action: DispatcherProto.AssignedAction): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (phase === "closing") {
          // never silently: the engine retries it elsewhere, per its policy
          return sendEvent(
            workerId,
            action,
            StepActionEventType.STEP_EVENT_TYPE_FAILED,
            encodedFailure("Interrupted", `worker "${workerName}" was shutting down when the task was assigned`).payload,
            false
          )
        }
        const route = routes.get(action.actionId)
        if (route === undefined) {
          return Effect.zipRight(
            Metric.increment(WorkerMetrics.tasksFailed),
            sendEvent(
              workerId,
              action,
              StepActionEventType.STEP_EVENT_TYPE_FAILED,
              encodedFailure("Defect", `worker "${workerName}" has no handler for action "${action.actionId}"`).payload,
              true
            )
          )
        }
        const key = action.taskRunExternalId
        const existing = attempts.get(key)
        // a durable task restored (or replayed) comes again under the same retry count, with a new invocation
        const invocationCount = route.durable ? action.durableTaskInvocationCount ?? 1 : 0
        if (existing !== undefined) {
          if (
            action.retryCount < existing.retryCount ||
            (action.retryCount === existing.retryCount && invocationCount <= existing.invocationCount)
          ) {
            return Effect.logDebug(
              `ignoring a duplicate START for ${key} (retry ${action.retryCount}; retry ${existing.retryCount} is running)`
            )
          }
          existing.reason = "superseded"
          // the new attempt waits for the stale one to finish (finalizers included)
          existing.fiber?.unsafeInterruptAsFork(FiberId.none)
        }
        const attempt = newAttempt(action.retryCount, parseMetadata(action.additionalMetadata), invocationCount)
        attempts.set(key, attempt)
        const fiber = runFiber(runAttempt(workerId, action, route, attempt, existing?.fiber), {
          updateRefs: attemptRefs(action, attempt, recordsSpans ? undefined : Option.getOrUndefined(traceParentOf(attempt.metadata)))
        })
        attempt.fiber = fiber
        fiber.addObserver(() => {
          if (attempts.get(key) === attempt) attempts.delete(key)
        })
        return Effect.void
      })

    const cancelAttempt = (action: DispatcherProto.AssignedAction): Effect.Effect<void> =>
      Effect.suspend(() => {
        const attempt = attempts.get(action.taskRunExternalId)
        if (attempt === undefined || attempt.fiber === undefined || action.retryCount < attempt.retryCount) {
          return Effect.void
        }
        attempt.reason ??= "cancelled"
        return Effect.flatMap(Effect.fiberId, (id) => Effect.asVoid(attempt.fiber!.interruptAsFork(id)))
      })

    // --- batch tasks (internal/batch.ts): one fiber and one slot per batch ------------------------
    const batches = Batches.make({
      workerName,
      dispatcher,
      maxMessageBytes,
      envelopeBytes: ENVELOPE_BYTES,
      call: callEngine,
      route: (actionId) => routes.get(actionId),
      launch: (key, body) => {
        const attempt = newAttempt(0, {})
        attempts.set(key, attempt)
        attempt.fiber = runFiber(Effect.ensuring(Effect.zipRight(takeSlots(attempt, 1), body(attempt)), releaseSlots(attempt)))
        attempt.fiber.addObserver(() => {
          if (attempts.get(key) === attempt) attempts.delete(key)
        })
        return attempt
      },
      closing: () => phase === "closing",
      log: (taskRunExternalId) => logSink({ taskRunExternalId, retryCount: 0 })
    })

    const handleAction = (workerId: string, action: DispatcherProto.AssignedAction): Effect.Effect<void> => {
      switch (action.actionType) {
        case ActionType.START_STEP_RUN:
          return startAttempt(workerId, action)
        case ActionType.START_BATCH:
          return batches.start(workerId, action)
        case ActionType.CANCEL_STEP_RUN:
          return Effect.flatMap(batches.cancel(action), (handled) => handled ? Effect.void : cancelAttempt(action))
        default:
          return Effect.logWarning(`ignoring an unsupported assignment type ${action.actionType} for ${action.actionId}`)
      }
    }

    // --- pause ---------------------------------------------------------------------------------
    /**
     * Asks the engine to assign this worker nothing new. A failure is logged: whatever the engine
     * still assigns runs within the grace period.
     */
    const pauseIntake = (workerId: string) =>
      workers.pause(workerId).pipe(
        Effect.interruptible,
        Effect.timeoutFail({ duration: CALL_TIMEOUT, onTimeout: () => "the call timed out" }),
        Effect.zipRight(Effect.logInfo(`worker paused on the engine; draining ${attempts.size} running task(s)`)),
        Effect.catchAll((error) =>
          Effect.logWarning(
            `could not pause worker ${workerId} (${typeof error === "string" ? error : error.message}); ` +
              "the engine may still assign it tasks, which run within the grace period"
          )
        )
      )

    // --- registration --------------------------------------------------------------------------
    const register: Effect.Effect<string, GrpcError> = Effect.gen(function*() {
      yield* setStatus(WorkerStatus.Registering())
      for (const c of compiled) yield* admin.putWorkflow(c.request)
      const response = yield* dispatcher.register(
        registerRequest({ name: workerName, actions, slots, durableSlots: hasDurable ? durableSlots : undefined, labels: currentLabels })
      )
      yield* Ref.set(workerIdRef, Option.some(response.workerId))
      registeredId = response.workerId
      yield* Deferred.succeed(registered, undefined)
      yield* Effect.logInfo(`worker "${workerName}" registered as ${response.workerId}`)
      // registered again while draining (the engine forgot the worker): the new one takes no work either
      if (phase !== "running") yield* pauseIntake(response.workerId)
      return response.workerId
    })

    // --- heartbeats ----------------------------------------------------------------------------
    const heartbeatLoop = (workerId: string, end: Deferred.Deferred<ConnectionEnd>) =>
      Effect.gen(function*() {
        let beats = 0
        let failures = 0
        let hung = false
        while (true) {
          const started = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(
            dispatcher.heartbeat(workerId).pipe(
              Effect.timeoutFail({ duration: heartbeatTimeout, onTimeout: () => timeoutError("Heartbeat") })
            )
          )
          beats++
          if (Either.isRight(result)) {
            failures = 0
            hung = false
          } else {
            const error = result.left
            if (error.code === Status.UNAUTHENTICATED) {
              return yield* Deferred.succeed(end, {
                reason: `heartbeat: UNAUTHENTICATED (${error.details})`,
                reregister: false,
                unauthenticated: true
              })
            }
            if (error.code === Status.NOT_FOUND) {
              return yield* Deferred.succeed(end, {
                reason: `heartbeat: the engine no longer knows worker ${workerId} (NOT_FOUND)`,
                reregister: true
              })
            }
            // the first beat of a connection may race the new listener; a second rejection is real
            if (error.code === Status.FAILED_PRECONDITION && beats > 1) {
              return yield* Deferred.succeed(end, {
                reason: `heartbeat rejected: the engine has no active listener for this worker (${error.details})`,
                reregister: false
              })
            }
            failures++
            hung ||= error.code === Status.DEADLINE_EXCEEDED
            yield* Effect.logWarning(`heartbeat failed (${failures} in a row): ${error.details}`)
            if (failures >= maxHeartbeatFailures) {
              return yield* Deferred.succeed(end, {
                reason: `${failures} heartbeats in a row failed${hung ? " (hung: the connection stalled)" : ""}`,
                reregister: false,
                stalled: hung
              })
            }
          }
          const elapsed = (yield* Clock.currentTimeMillis) - started
          yield* Effect.sleep(Duration.millis(Math.max(0, Duration.toMillis(heartbeatInterval) - elapsed)))
        }
      })

    // --- connection loop -----------------------------------------------------------------------
    const connectOnce: Effect.Effect<ConnectionEnd & { readonly healthy: boolean }> = Effect.scoped(
      Effect.gen(function*() {
        let healthy = false
        const known = yield* Ref.get(workerIdRef)
        let workerId: string
        if (Option.isSome(known)) {
          workerId = known.value
        } else {
          const registered = yield* Effect.either(register)
          if (Either.isLeft(registered)) {
            return {
              reason: `registration failed: ${registered.left.details}`,
              reregister: true,
              unauthenticated: registered.left.code === Status.UNAUTHENTICATED,
              healthy
            }
          }
          workerId = registered.right
        }
        const end = yield* Deferred.make<ConnectionEnd>()
        yield* heartbeatLoop(workerId, end).pipe(Effect.interruptible, Effect.forkScoped)
        yield* setStatus(WorkerStatus.Listening({ workerId }))
        // what arrived together is handled together (one pull of the stream per chunk)
        const listen = dispatcher.listen(workerId).pipe(
          Stream.runForEachChunk((actions) => {
            healthy = true
            return Effect.forEach(actions, (action) => handleAction(workerId, action), { discard: true })
          }),
          Effect.as<ConnectionEnd>({ reason: "the assignment stream ended", reregister: false }),
          Effect.catchAll((error): Effect.Effect<ConnectionEnd> =>
            Effect.succeed({
              reason: `the assignment stream failed: ${error.details}`,
              reregister: error.code === Status.NOT_FOUND || error.code === Status.INVALID_ARGUMENT,
              unauthenticated: error.code === Status.UNAUTHENTICATED
            })
          )
        )
        const ended = yield* Effect.raceFirst(listen, Deferred.await(end))
        return { ...ended, healthy }
      })
    ).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logError("worker connection failed unexpectedly", cause), {
            reason: "unexpected error",
            reregister: false,
            healthy: false
          })
      )
    )

    /** One connection to its end; `fresh` when the backoff starts over (healthy, or it lived `resetAfter`). */
    const connectionOnce = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const ended = yield* connectOnce
      const lived = (yield* Clock.currentTimeMillis) - started
      if (ended.reregister) yield* Ref.set(workerIdRef, Option.none())
      // a silently dead connection would take the next calls too, until keepalive notices
      if (ended.stalled === true && Option.isSome(transport)) yield* transport.value.resetConnection
      return { ...ended, fresh: ended.healthy || lived >= Duration.toMillis(resetAfter) }
    })
    type Ended = Effect.Effect.Success<typeof connectionOnce>
    // reconnects for as long as the worker lives: jittered exponential from `initialDelay` up to
    // `maxDelay`, back to the start after a fresh connection; `attempt` counts since then, from 1
    const reconnect = Schedule.identity<Ended>().pipe(
      Schedule.intersect(reconnectBackoff(initialDelay, maxDelay)),
      Schedule.intersect(Schedule.count),
      Schedule.map(([[ended, delay], count]) => ({ ended, delay, attempt: count + 1 })),
      Schedule.resetWhen(({ ended }) => ended.fresh),
      Schedule.tapOutput(({ attempt, delay, ended }) =>
        Effect.gen(function*() {
          yield* setStatus(WorkerStatus.Reconnecting({
            workerId: yield* Ref.get(workerIdRef),
            attempt,
            reason: ended.reason,
            delay
          }))
          const retrying = `reconnecting in ${Duration.format(delay)} (attempt ${attempt})`
          yield* ended.unauthenticated === true
            ? Effect.logError(`${ended.reason}: ${UNAUTHENTICATED_ADVICE}; ${retrying}`)
            : Effect.logWarning(`${ended.reason}; ${retrying}`)
        })
      )
    )
    const connectionLoop = Effect.repeat(connectionOnce, reconnect).pipe(
      Effect.annotateLogs({ "hatchet.worker": workerName })
    )

    // --- start ---------------------------------------------------------------------------------
    // a definition that needs a newer engine than the one answering must not run differently
    const requirements = requirementsOf(compiled)
    const checkEngineVersion: Effect.Effect<void, GrpcError | WorkerError> = requirements.length === 0
      ? Effect.void
      : Effect.gen(function*() {
        const version = yield* dispatcher.getVersion.pipe(
          Effect.map((v): string | undefined => v),
          Effect.catchIf((error) => error.code === Status.UNIMPLEMENTED, () => Effect.succeed(undefined))
        )
        const missing = unmet(version, requirements)
        if (missing.length > 0) {
          return yield* new WorkerError({ reason: "EngineTooOld", message: tooOldMessage(version, missing) })
        }
      })
    yield* checkEngineVersion.pipe(
      Effect.zipRight(register),
      Effect.tapError((error) =>
        error._tag === "GrpcError" && isTransient(error)
          ? Effect.logWarning(`worker "${workerName}" could not register (${error.details}); retrying`)
          : Effect.void
      ),
      Effect.retry({
        while: (error) => error._tag === "GrpcError" && isTransient(error),
        schedule: reconnectBackoff(initialDelay, maxDelay)
      }),
      Effect.mapError((cause) =>
        cause._tag === "WorkerError"
          ? cause
          : new WorkerError({ reason: "Registration", message: `Could not register worker "${workerName}": ${cause.details}`, cause })
      )
    )
    const loop = yield* connectionLoop.pipe(Effect.interruptible, Effect.forkScoped)
    const eventLoop = yield* EventLoopLag.monitor({ threshold: eventLoopBlockThreshold }).pipe(
      Effect.annotateLogs({ "hatchet.worker": workerName })
    )

    // --- drain (registered last: runs first when the scope closes) --------------------------------
    // The worker stays a live worker (stream and heartbeats) until its tasks have reported: an
    // engine that lost the stream would refuse the heartbeats and, 30 s later, re-queue the tasks
    // still running here, which then run twice. New work is stopped by pausing the worker.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        phase = "draining"
        yield* setStatus(WorkerStatus.Draining())
        const workerId = yield* Ref.get(workerIdRef)
        if (Option.isSome(workerId)) yield* pauseIntake(workerId.value)
        // durable tasks waiting for the engine are handed back to it (upstream's evictAllWaiting)
        const waiting = [...attempts].filter(([, attempt]) => attempt.durableWaits > 0)
        if (waiting.length > 0) {
          yield* Effect.logInfo(`evicting ${waiting.length} waiting durable task(s)`)
          yield* Effect.forEach(waiting, ([key, attempt]) => evictAttempt(key, attempt, "worker shutting down"), {
            concurrency: "unbounded",
            discard: true
          }).pipe(Effect.interruptible, Effect.timeoutOption(CALL_TIMEOUT))
        }
        const drained = yield* FiberSet.awaitEmpty(tasks).pipe(Effect.interruptible, Effect.timeoutOption(grace))
        if (Option.isNone(drained)) {
          yield* Effect.logWarning(
            `${attempts.size} task(s) still running after the ${Duration.format(grace)} grace period; ` +
              "interrupting them (reported FAILED, so the engine retries them per their policy)"
          )
          phase = "closing"
          for (const attempt of attempts.values()) attempt.reason ??= "shutdown"
          // each interrupted attempt reports FAILED before its fiber ends
          yield* FiberSet.clear(tasks).pipe(Effect.interruptible, Effect.timeoutOption(Duration.seconds(15)))
        }
        phase = "closing"
        const current = yield* Ref.get(workerIdRef)
        if (Option.isSome(current)) {
          yield* dispatcher.unsubscribe(current.value).pipe(
            Effect.interruptible,
            Effect.timeoutOption(CALL_TIMEOUT),
            Effect.ignore
          )
        }
        yield* Fiber.interrupt(loop)
        if (droppedLogs > 0) yield* Effect.logWarning(`${droppedLogs} task log line(s) were dropped (buffer full)`)
        yield* setStatus(WorkerStatus.Stopped())
      }).pipe(Effect.annotateLogs({ "hatchet.worker": workerName }))
    )

    return {
      name: workerName,
      actions,
      slots,
      labels,
      currentLabels: Effect.sync(() => currentLabels),
      upsertLabels,
      slotsInUse: Effect.sync(() => slotsHeld),
      workerId: Ref.get(workerIdRef),
      status: SubscriptionRef.get(status),
      statusChanges: status.changes,
      runningTasks: Effect.sync(() => attempts.size),
      durableWaiting: Effect.sync(() => {
        let waiting = 0
        for (const attempt of attempts.values()) if (attempt.durableWaits > 0) waiting++
        return waiting
      }),
      eventLoop
    } satisfies WorkerShape
  })

/** A hung call, as the transport would report a deadline. */
const timeoutError = (method: string) =>
  new GrpcError({ method: `/Dispatcher/${method}`, code: Status.DEADLINE_EXCEEDED, details: `${method} timed out` })

/** A schedule that never gives up and waits `delay()` before each retry. */
