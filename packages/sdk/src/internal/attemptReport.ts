/**
 * What the worker tells the engine about an attempt: its step action events (STARTED, and the
 * result an attempt's exit stands for), with the task metrics recorded as the result goes out.
 * An attempt's events are queued without its fiber waiting for their acknowledgements: the fiber
 * ends with its result queued (what it held is garbage at once, instead of living for a round trip
 * of the engine, long enough for V8 to move it to the old generation), the attempt stays in the
 * worker's attempts until they are answered, and the drain waits for them.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import type * as TaskExecution from "../TaskExecution.js"
import * as WorkerMetrics from "../WorkerMetrics.js"
import type { ActionEventSender } from "./actionEvents.js"
import * as Attempt from "./attempt.js"
import { attemptAnnotations } from "./attemptTracing.js"
import { encodedFailure } from "./failure.js"

/** The worker's reports of its attempts. */
export interface AttemptReporter {
  /**
   * Sends a step action event and waits for its acknowledgement (a failure, once retries are
   * exhausted, is logged).
   */
  readonly send: (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    eventType: StepActionEventType,
    eventPayload: string,
    shouldNotRetry?: boolean
  ) => Effect.Effect<void>
  /**
   * Queues a step action event of an attempt as it is called, counted by the attempt until the
   * engine acknowledged it (a failure, once retries are exhausted, is logged).
   */
  readonly unsafePost: (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    attempt: Attempt.Attempt,
    eventType: StepActionEventType,
    eventPayload: string,
    shouldNotRetry?: boolean
  ) => void
  /**
   * Queues how an attempt ended (COMPLETED, or FAILED for a failure, a defect, or an interruption
   * the engine does not know of), as `unsafePost`, and records its metrics.
   */
  readonly report: (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    attempt: Attempt.Attempt,
    exit: Exit.Exit<TaskExecution.Outcome>
  ) => Effect.Effect<void>
}

/**
 * A step action event of an attempt: a class rather than an object literal, made per attempt
 * and kept until the engine answers (see ./attempt.ts on V8's pretenuring).
 */
class ActionEvent implements DispatcherProto.StepActionEvent {
  readonly jobId: string
  readonly jobRunId: string
  readonly taskId: string
  readonly taskRunExternalId: string
  readonly actionId: string
  readonly retryCount: number | undefined
  constructor(
    readonly workerId: string,
    action: DispatcherProto.AssignedAction,
    readonly eventTimestamp: Date,
    readonly eventType: StepActionEventType,
    readonly eventPayload: string,
    readonly shouldNotRetry: boolean | undefined
  ) {
    this.jobId = action.jobId
    this.jobRunId = action.jobRunId
    this.taskId = action.taskId
    this.taskRunExternalId = action.taskRunExternalId
    this.actionId = action.actionId
    this.retryCount = action.retryCount
  }
}

/** Reports through `actionEvents`, timestamped by `clock`. */
export const make = (options: {
  readonly actionEvents: ActionEventSender
  readonly clock: Clock.Clock
  readonly workerName: string
}): AttemptReporter => {
  const { actionEvents, clock, workerName } = options

  /** Records the handler's and the SDK's time for an attempt whose result is about to be sent. */
  const recordResult = (attempt: Attempt.Attempt, counter: Metric.Metric.Counter<number>): void => {
    const elapsed = Duration.nanos(clock.unsafeCurrentTimeNanos() - attempt.receivedAt)
    const handlerTime = attempt.handlerTime
    if (handlerTime !== undefined) WorkerMetrics.taskDuration.unsafeUpdate(handlerTime, attempt.metricLabels)
    WorkerMetrics.taskOverhead.unsafeUpdate(
      handlerTime === undefined ? elapsed : Duration.subtract(elapsed, handlerTime),
      attempt.metricLabels
    )
    counter.unsafeUpdate(1, attempt.metricLabels)
  }

  const event = (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    eventType: StepActionEventType,
    eventPayload: string,
    shouldNotRetry: boolean | undefined
  ): DispatcherProto.StepActionEvent =>
    new ActionEvent(workerId, action, new Date(clock.unsafeCurrentTimeMillis()), eventType, eventPayload, shouldNotRetry)

  const notReported = (eventType: StepActionEventType) => `could not report ${StepActionEventType[eventType]} to the engine`

  const send: AttemptReporter["send"] = (workerId, action, eventType, eventPayload, shouldNotRetry) =>
    Effect.catchAll(
      actionEvents.send(event(workerId, action, eventType, eventPayload, shouldNotRetry)),
      (error) => Effect.logError(notReported(eventType), error)
    )

  const unsafePost: AttemptReporter["unsafePost"] = (workerId, action, attempt, eventType, eventPayload, shouldNotRetry) => {
    Attempt.queued(attempt)
    // only what a failure's log line needs is kept until the answer (not the assignment)
    const { actionId, retryCount, taskRunExternalId, workflowRunId } = action
    actionEvents.unsafePost(event(workerId, action, eventType, eventPayload, shouldNotRetry), (exit) => {
      Attempt.acknowledged(attempt)
      if (Exit.isSuccess(exit)) return undefined
      // logged on the round's fiber with the attempt's annotations (as its own fiber would)
      return Effect.logError(notReported(eventType), exit.cause).pipe(
        Effect.annotateLogs(attemptAnnotations({ actionId, retryCount, taskRunExternalId, workflowRunId }))
      )
    })
  }

  const report: AttemptReporter["report"] = (workerId, action, attempt, exit) => {
    const failed = (payload: string, shouldNotRetry: boolean) =>
      Effect.sync(() => {
        recordResult(attempt, WorkerMetrics.tasksFailed)
        unsafePost(workerId, action, attempt, StepActionEventType.STEP_EVENT_TYPE_FAILED, payload, shouldNotRetry)
      })
    const interrupted = (message: string) =>
      Effect.zipRight(
        Metric.increment(WorkerMetrics.tasksInterrupted),
        Effect.sync(() =>
          unsafePost(
            workerId,
            action,
            attempt,
            StepActionEventType.STEP_EVENT_TYPE_FAILED,
            encodedFailure("Interrupted", message).payload,
            false
          )
        )
      )
    if (exit._tag === "Success") {
      const outcome = exit.value
      switch (outcome._tag) {
        case "Completed":
          return Effect.sync(() => {
            recordResult(attempt, WorkerMetrics.tasksCompleted)
            unsafePost(workerId, action, attempt, StepActionEventType.STEP_EVENT_TYPE_COMPLETED, outcome.output)
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

  return { send, unsafePost, report }
}
