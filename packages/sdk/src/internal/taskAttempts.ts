/**
 * The worker's task attempts: each assignment run on a fiber of its own (in the worker's
 * `TaskFibers`, with the task logger), holding its slots while it runs, superseded by a newer attempt
 * of the same task run, cancelled on the engine's word, and reported when it ends.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type { AdminShape } from "../Admin.js"
import type { DispatcherShape } from "../Dispatcher.js"
import { DurableContext } from "../DurableContext.js"
import type { EventsShape } from "../Events.js"
import type { GrpcError } from "../HatchetError.js"
import * as TaskContext from "../TaskContext.js"
import * as TaskExecution from "../TaskExecution.js"
import * as WorkerMetrics from "../WorkerMetrics.js"
import * as Attempt from "./attempt.js"
import type { AttemptReporter } from "./attemptReport.js"
import { attemptRefs, inTaskSpan, traceParentOf } from "./attemptTracing.js"
import type { BatchAttempt } from "./batch.js"
import * as Durable from "./durable.js"
import type { DurableAttempts } from "./durableAttempts.js"
import { encodedFailure } from "./failure.js"
import type { LogShipper } from "./logShipping.js"
import { optional, parseMetadata } from "./payload.js"
import type { SlotPools } from "./slotPools.js"
import type { TaskFibers } from "./taskFibers.js"
import { taskLogger } from "./taskLogger.js"
import type { Route } from "./taskRoutes.js"
import * as TraceContext from "./traceContext.js"
import type { WorkerError } from "./workerError.js"
import type { WorkerState } from "./workerState.js"

const STARTED_PAYLOAD = JSON.stringify("")

/** The worker's side of task assignments. */
export interface TaskAttempts {
  /** Handles a `START_STEP_RUN`: runs the attempt (or hands it back, or ignores a duplicate). */
  readonly start: (workerId: string, action: DispatcherProto.AssignedAction) => Effect.Effect<void>
  /** Handles a `CANCEL_STEP_RUN` of a running attempt. */
  readonly cancel: (action: DispatcherProto.AssignedAction) => Effect.Effect<void>
  /**
   * Runs `body` as one of the worker's task fibers under `key`, holding one slot while it runs
   * (for a batch: drained and interrupted with the other tasks at shutdown).
   */
  readonly launch: (key: string, body: (attempt: BatchAttempt) => Effect.Effect<void>) => BatchAttempt
}

/** What the attempts need of their worker. */
export interface TaskAttemptsOptions {
  readonly state: WorkerState
  /** The attempts' fibers (keyed by task run in `state.attempts`). */
  readonly tasks: TaskFibers
  readonly routes: ReadonlyMap<string, Route>
  readonly slots: SlotPools
  readonly reporter: AttemptReporter
  readonly logs: LogShipper
  /** The durable stream, when the worker runs durable tasks. */
  readonly durable: DurableAttempts | undefined
  readonly dispatcher: DispatcherShape
  readonly admin: AdminShape
  readonly events: EventsShape
  readonly upsertLabels: (changed: Readonly<Record<string, string | number>>) => Effect.Effect<void, WorkerError | GrpcError>
  readonly workerName: string
  readonly namespace: string
  readonly maxMessageBytes: number
}

/**
 * An attempt's `TaskExecution` options: a class rather than an object literal, made per attempt
 * (see ./attempt.ts on V8's pretenuring).
 */
class AttemptExecution implements TaskExecution.ExecuteOptions {
  constructor(
    readonly services: Context.Context<DurableContext> | undefined,
    readonly parentSpan: Tracer.AnySpan | undefined,
    readonly maxMessageBytes: number,
    readonly onLog: (line: TaskExecution.LogLine) => void,
    private readonly attempt: Attempt.Attempt
  ) {}
  readonly onHandlerDone = (elapsed: Duration.Duration): void => {
    this.attempt.handlerTime = elapsed
  }
}

const contextError = (operation: TaskContext.TaskContextError["operation"]) => (cause: GrpcError) =>
  new TaskContext.TaskContextError({ operation, message: `${operation} failed: ${cause.details}`, cause })

/** Runs the worker's task attempts on fibers of `tasks`. */
export const make = (options: TaskAttemptsOptions): Effect.Effect<TaskAttempts> =>
  Effect.gen(function*() {
    const { admin, dispatcher, durable, events, logs, reporter, routes, slots, state, workerName } = options
    const { attempts } = state
    // task fibers carry the task logger (it ships what a handler logs, through its TaskLogSink)
    const runFiber = yield* options.tasks.runtime().pipe(
      Effect.locallyWith(FiberRef.currentLoggers, HashSet.add(taskLogger))
    )
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const clock = yield* Effect.clock
    /** Whether the worker's tracer records spans (Effect's built-in tracer does not). */
    const recordsSpans = (yield* Effect.tracer) !== TraceContext.builtInTracer

    /** An attempt's backend of `TaskContext`: each operation is made when a handler uses it. */
    class AttemptOperations implements TaskContext.TaskOperations {
      constructor(readonly id: string, readonly attempt: Attempt.Attempt) {}
      get refreshTimeout() {
        const id = this.id
        return (incrementBy: string) =>
          Effect.mapError(Effect.asVoid(dispatcher.refreshTimeout(id, incrementBy)), contextError("refreshTimeout"))
      }
      get releaseSlot() {
        return dispatcher.releaseSlot(this.id).pipe(
          Effect.mapError(contextError("releaseSlot")),
          Effect.zipRight(slots.release(this.attempt))
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
          options.upsertLabels(changed).pipe(
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

    /** The attempt's `TaskContext`, and for a durable task its `DurableContext`, then its handler. */
    const execute = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      route: Route,
      attempt: Attempt.Attempt
    ): Effect.Effect<TaskExecution.Outcome> => {
      const context = TaskContext.unsafeMake({
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
      const run = (services: Context.Context<DurableContext> | undefined) =>
        TaskExecution.execute(
          route.implementation,
          route.task.name,
          action.actionPayload,
          context,
          new AttemptExecution(
            services,
            // under a tracer that records spans, the attempt's span (set on its fiber) is the parent
            recordsSpans ? undefined : Option.getOrUndefined(traceParentOf(attempt.metadata)),
            options.maxMessageBytes,
            logs.sink(action),
            attempt
          )
        )
      if (!route.durable || durable === undefined) return run(undefined)
      return Effect.flatMap(
        Durable.makeContext({
          listener: durable.listener,
          taskContext: context,
          invocationCount: attempt.invocationCount,
          namespace: options.namespace,
          waiting: durable.waiting(action.taskRunExternalId, attempt, route)
        }),
        (durableContext) => run(Context.make(DurableContext, durableContext))
      )
    }

    // (combinators rather than generators: this runs once per task)
    const runAttempt = (
      workerId: string,
      action: DispatcherProto.AssignedAction,
      route: Route,
      attempt: Attempt.Attempt,
      previous: Fiber.RuntimeFiber<void, never> | undefined
    ): Effect.Effect<void> => {
      // STARTED goes out while the task runs, and the result is queued right after it without
      // waiting for its acknowledgement; the fiber ends there (the attempt stays in `attempts`
      // until both are acknowledged, see attemptReport.ts)
      const pool = route.durable ? slots.durable : slots.default
      const run = (): Effect.Effect<TaskExecution.Outcome> => {
        reporter.unsafePost(workerId, action, attempt, StepActionEventType.STEP_EVENT_TYPE_STARTED, STARTED_PAYLOAD)
        return execute(workerId, action, route, attempt)
      }
      // the slots are taken as the fiber starts when they are free (no effect), else waited for
      let body = Effect.suspend(() =>
        slots.unsafeTryTake(attempt, route.slotCost, pool)
          ? run()
          : Effect.zipRight(slots.take(attempt, route.slotCost, pool), Effect.suspend(run))
      )
      // a superseded attempt of the same task run finishes (finalizers included) first
      if (previous !== undefined) body = Effect.zipRight(previous.await, body)
      const finish = (exit: Exit.Exit<TaskExecution.Outcome>): Effect.Effect<void> => {
        slots.unsafeRelease(attempt)
        const after = reporter.report(workerId, action, attempt, exit)
        return route.durable && durable !== undefined
          ? Effect.zipRight(durable.listener.forget(action.taskRunExternalId, attempt.invocationCount), after)
          : after
      }
      const effect = Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.exit(restore(body)), finish))
      return recordsSpans ? inTaskSpan(clock, action, attempt, effect) : effect
    }

    const start = (workerId: string, action: DispatcherProto.AssignedAction): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (state.phase === "closing") {
          // never silently: the engine retries it elsewhere, per its policy
          return reporter.send(
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
            reporter.send(
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
        const attempt = Attempt.make(clock, action.retryCount, parseMetadata(action.additionalMetadata), invocationCount)
        Attempt.track(attempts, key, attempt, () =>
          runFiber(runAttempt(workerId, action, route, attempt, existing?.fiber), {
            updateRefs: attemptRefs(action, attempt)
          }))
        return Effect.void
      })

    const cancel = (action: DispatcherProto.AssignedAction): Effect.Effect<void> =>
      Effect.suspend(() => {
        const attempt = attempts.get(action.taskRunExternalId)
        if (attempt === undefined || attempt.fiber === undefined || action.retryCount < attempt.retryCount) {
          return Effect.void
        }
        attempt.reason ??= "cancelled"
        return Effect.flatMap(Effect.fiberId, (id) => Effect.asVoid(attempt.fiber!.interruptAsFork(id)))
      })

    const launch = (key: string, body: (attempt: BatchAttempt) => Effect.Effect<void>): BatchAttempt => {
      const attempt = Attempt.make(clock, 0, {})
      Attempt.track(
        attempts,
        key,
        attempt,
        () => runFiber(Effect.ensuring(Effect.zipRight(slots.take(attempt, 1), body(attempt)), slots.release(attempt)))
      )
      return attempt
    }

    return { start, cancel, launch }
  })
