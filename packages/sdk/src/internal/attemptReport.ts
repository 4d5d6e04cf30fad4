/**
 * What the worker tells the engine about an attempt: its step action events (STARTED, and the
 * result an attempt's exit stands for), with the task metrics recorded as the result goes out.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { Clock, Exit } from "effect"
import { Cause, Duration, Effect, Metric } from "effect"
import type * as TaskExecution from "../TaskExecution.js"
import * as WorkerMetrics from "../WorkerMetrics.js"
import type { ActionEventSender } from "./actionEvents.js"
import type { Attempt } from "./attempt.js"
import { encodedFailure } from "./failure.js"

/** The worker's reports of its attempts. */
export interface AttemptReporter {
  /**
   * Queues a step action event as it is called (from within an effect); the effect returned waits
   * until the engine acknowledged it (a failure, once retries are exhausted, is logged).
   */
  readonly unsafeSubmit: (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    eventType: StepActionEventType,
    eventPayload: string,
    shouldNotRetry?: boolean
  ) => Effect.Effect<void>
  /** Sends a step action event and waits for its acknowledgement. */
  readonly send: AttemptReporter["unsafeSubmit"]
  /**
   * Reports how an attempt ended (COMPLETED, or FAILED for a failure, a defect, or an interruption
   * the engine does not know of) and records its metrics.
   */
  readonly report: (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    attempt: Attempt,
    exit: Exit.Exit<TaskExecution.Outcome>
  ) => Effect.Effect<void>
}

/** Reports through `actionEvents`, timestamped by `clock`. */
export const make = (options: {
  readonly actionEvents: ActionEventSender
  readonly clock: Clock.Clock
  readonly workerName: string
}): AttemptReporter => {
  const { actionEvents, clock, workerName } = options

  /** Records the handler's and the SDK's time for an attempt whose result is about to be sent. */
  const recordResult = (attempt: Attempt, counter: Metric.Metric.Counter<number>): void => {
    const elapsed = Duration.nanos(clock.unsafeCurrentTimeNanos() - attempt.receivedAt)
    const handlerTime = attempt.handlerTime
    if (handlerTime !== undefined) WorkerMetrics.taskDuration.unsafeUpdate(handlerTime, attempt.metricLabels)
    WorkerMetrics.taskOverhead.unsafeUpdate(
      handlerTime === undefined ? elapsed : Duration.subtract(elapsed, handlerTime),
      attempt.metricLabels
    )
    counter.unsafeUpdate(1, attempt.metricLabels)
  }

  /** Queues the event now; the effect returned waits for its acknowledgement, logging a failure. */
  const unsafeSubmit: AttemptReporter["unsafeSubmit"] = (workerId, action, eventType, eventPayload, shouldNotRetry) =>
    Effect.catchAll(
      actionEvents.unsafeSubmit({
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
      }),
      (error) => Effect.logError(`could not report ${StepActionEventType[eventType]} to the engine`, error)
    )
  const send: AttemptReporter["send"] = (workerId, action, eventType, eventPayload, shouldNotRetry) =>
    Effect.suspend(() => unsafeSubmit(workerId, action, eventType, eventPayload, shouldNotRetry))

  const report: AttemptReporter["report"] = (workerId, action, attempt, exit) => {
    const failed = (payload: string, shouldNotRetry: boolean) =>
      Effect.suspend(() => {
        recordResult(attempt, WorkerMetrics.tasksFailed)
        return unsafeSubmit(workerId, action, StepActionEventType.STEP_EVENT_TYPE_FAILED, payload, shouldNotRetry)
      })
    const interrupted = (message: string) =>
      Effect.zipRight(
        Metric.increment(WorkerMetrics.tasksInterrupted),
        send(
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
          return Effect.suspend(() => {
            recordResult(attempt, WorkerMetrics.tasksCompleted)
            return unsafeSubmit(workerId, action, StepActionEventType.STEP_EVENT_TYPE_COMPLETED, outcome.output)
          })
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

  return { unsafeSubmit, send, report }
}
