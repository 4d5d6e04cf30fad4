/**
 * The task state machine and the DAG rules.
 *
 * - creation (`createTask`): QUEUED (through its concurrency strategies, if any), created FAILED
 *   when a concurrency key, a rate-limit expression or a batch group key cannot be evaluated, or
 *   created already final as SKIPPED or CANCELLED by its match;
 * - completion, application failure with retries and backoff, internal failure (dead worker,
 *   undeliverable assignment), cancellation, execution and schedule timeouts;
 * - DAG progression: a DAG run's steps that do not start at once wait on matches (`matches.ts`);
 *   the final event of each task, each sleep that ends and each pushed event may satisfy them,
 *   and what they decide creates the task: QUEUED (a child whose parents completed, a step whose
 *   sleep or event came), SKIPPED (a child whose parents were all skipped, a `skip_if` that held:
 *   COMPLETED with `{"skipped":true}`) or CANCELLED (a parent failed or was cancelled, a
 *   `cancel_if` held); the on-failure task is queued at the first final failure and skipped when
 *   everything else completed or was cancelled. A run is finalised when every step has a final
 *   task.
 *
 * `docs/engine.md` §3 and §4; upstream `pkg/repository/task.go`, `trigger.go`, `match.go`.
 *
 * @internal
 */
import { ResourceEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { evaluateBatchKey } from "./batches.js"
import { setTaskState, touchRun } from "./changes.js"
import {
  acquireSlots,
  cancelledByStrategy,
  evaluateKeys,
  isLive,
  releaseForBackoff,
  releaseRunSlots,
  releaseSlots,
  requeue,
  slotTimedOut
} from "./concurrency.js"
import { armTimeout, enqueue, releaseRuntime, sendCancel } from "./dispatch.js"
import { onDurableTaskFinal, onSignal } from "./durableLog.js"
import { formatGoDuration } from "./duration.js"
import { releaseOnFinal } from "./idempotency.js"
import type { JsonValue } from "./json.js"
import { emptyObject, sharedJson } from "./json.js"
import * as Matches from "./matches.js"
import { countCreated, countFinal } from "./metrics.js"
import type { BatchRun, EngineState, PushedEvent, Run, Step, Task, TaskEventType, TenantState } from "./model.js"
import {
  assignmentOf,
  awaitingSlot,
  cancelledState,
  completedState,
  failedState,
  isFinal,
  noEntries,
  noItems,
  taskIdOf,
  TaskRecord
} from "./model.js"
import { publishRunFinished, publishStepEvent } from "./publish.js"
import { evaluateRateLimits, hasExpressions, registerDynamicKeys, releaseDynamicKeys } from "./rateLimits.js"
import { onRunFinished } from "./retention.js"
import { packTimeline, recordEvent } from "./taskEvents.js"
import { tenantOf } from "./tenants.js"
import type { Timer } from "./timers.js"
import { taskTimerKinds } from "./timers.js"

/** The output a skipped task completes with. */
export const skippedOutput = "{\"skipped\":true}"

/** The message of a task's first QUEUED event when it has concurrency keys (upstream `signal.go`). */
const keysEvaluatedMessage = (keys: ReadonlyArray<string>): string =>
  `concurrency keys evaluated as:${keys.map((key) => ` ${key}`).join("")}`

/**
 * Cancels the tasks the concurrency strategies decided to cancel (`state.strategyCancels`), the
 * ones their cancellations lead to included; called after every call that may run a strategy.
 */
const settleStrategies = (state: EngineState, now: number): void => {
  const cancels = state.strategyCancels
  if (state.settlingStrategies) return
  state.settlingStrategies = true
  try {
    for (let i = 0; i < cancels.length; i++) {
      const slot = cancels[i]!
      if (isLive(slot)) cancelTask(state, slot.task, now, { notifyWorker: true, message: cancelledByStrategy })
    }
  } finally {
    cancels.length = 0
    state.settlingStrategies = false
  }
}

export type CreateAs =
  | {
    readonly _tag: "Queued"
    readonly stepRunErrors?: Record<string, string> | undefined
    readonly triggerData?: Record<string, JsonValue> | undefined
  }
  | { readonly _tag: "Skipped" }
  | { readonly _tag: "Cancelled" }

/**
 * The desired worker of a new task: the trigger's for a root task; for a DAG child, the worker
 * that completed its first parent (or that parent's own desired worker when it was skipped), as
 * upstream takes the worker id of a parent's output event (the first it finds). None for the
 * on-failure task, whose trigger is a failure.
 */
const desiredWorkerOf = (run: Run, step: Step): string | undefined => {
  if (step.kind === "ON_FAILURE") return undefined
  if (step.parents.length === 0) return run.desiredWorkerId
  for (const parentId of step.parents) {
    const parent = run.tasks.get(run.version.stepsByReadableId.get(parentId)!.id)
    if (parent?.state._tag !== "Completed") continue
    const worker = parent.state.completedBy ?? (parent.state.skipped ? parent.desiredWorkerId : undefined)
    if (worker !== undefined) return worker
  }
  return undefined
}

/** Creates the task of `step` in `run`, queued or already final. */
export const createTask = (state: EngineState, run: Run, step: Step, now: number, as: CreateAs): Task => {
  const externalId = taskIdOf(run, step)
  // a replayed DAG re-creates descendants under their ids: they continue the earlier attempts
  const previous = state.tasksByExternalId.get(externalId)
  const task: Task = new TaskRecord({
    id: previous?.id ?? state.nextTaskId(),
    externalId,
    run,
    step,
    createdAt: now,
    state: awaitingSlot,
    retryCount: previous !== undefined ? previous.retryCount + 1 : 0,
    desiredWorkerId: desiredWorkerOf(run, step),
    stepRunErrors: as._tag === "Queued" ? as.stepRunErrors : undefined,
    triggerData: (as._tag === "Queued" ? as.triggerData : undefined) ?? emptyObject,
    timeline: previous?.timeline ?? [],
    logs: previous?.logs ?? noItems,
    spawned: previous?.spawned ?? noEntries,
    signals: previous?.signals ?? noEntries
  })
  run.tasks.set(step.id, task)
  touchRun(state, run)
  state.tasksByExternalId.set(task.externalId, task)
  const tasks = tenantOf(state, run.tenantId).tasks
  if (previous !== undefined) tasks.remove(previous)
  tasks.add(task)
  countCreated(state, task)
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_STARTED, now)
  switch (as._tag) {
    case "Queued": {
      // concurrency keys, rate-limit expressions and the batch group key are evaluated at
      // creation; a task whose expression fails is created FAILED (a rate-limit failure is
      // reported over a concurrency key's, that over a batch key's)
      const keys = step.concurrency.length > 0 ? evaluateKeys(step.concurrency, run, externalId) : undefined
      const limits = hasExpressions(step) ? evaluateRateLimits(step, run, externalId) : undefined
      const batchKey = step.batch !== undefined ? evaluateBatchKey(step.batch, run, externalId) : undefined
      const failure = limits?._tag === "Failed"
        ? limits.message
        : keys?._tag === "Failed"
        ? keys.message
        : batchKey?._tag === "Failed"
        ? batchKey.message
        : undefined
      if (failure !== undefined) {
        failAtCreation(state, task, failure, now)
        break
      }
      if (batchKey?._tag === "Key") task.batchKey = batchKey.key
      if (limits?._tag === "Limits") {
        task.rateLimits = limits.limits
        registerDynamicKeys(state, task, now)
      }
      // upstream's signal controller words the task's evaluated concurrency keys on its QUEUED event
      recordEvent(state, task, "QUEUED", now, keys?._tag === "Keys" ? { message: keysEvaluatedMessage(keys.keys.keys) } : {})
      if (keys?._tag === "Keys") {
        acquireSlots(state, task, keys.keys, now)
        settleStrategies(state, now)
      } else {
        enqueue(state, task, now, run.priority)
      }
      break
    }
    case "Skipped":
      setTaskState(state, task, completedState(skippedOutput, undefined, true, now))
      recordEvent(state, task, "SKIPPED", now, { output: skippedOutput })
      onTaskFinal(state, task, now)
      break
    case "Cancelled":
      setTaskState(state, task, cancelledState(now))
      recordEvent(state, task, "CANCELLED", now)
      onTaskFinal(state, task, now)
      break
  }
  return task
}

/** A task created FAILED (a step expression failed): final at once, with the error. */
const failAtCreation = (state: EngineState, task: Task, message: string, now: number) => {
  setTaskState(state, task, failedState(message, now))
  recordEvent(state, task, "FAILED", now, { errorMessage: message })
  onTaskFinal(state, task, now)
}

/**
 * Queues a replayed task again: through its concurrency strategies with freshly evaluated keys
 * (failing it when a key fails, as upstream re-evaluates them), or straight to its action's queue.
 */
export const requeueReplayed = (state: EngineState, task: Task, now: number): void => {
  const strategies = task.step.concurrency
  if (strategies.length === 0) {
    enqueue(state, task, now, task.priority)
    return
  }
  const keys = evaluateKeys(strategies, task.run, task.externalId)
  if (keys._tag === "Failed") failAtCreation(state, task, keys.message, now)
  else {
    acquireSlots(state, task, keys.keys, now)
    settleStrategies(state, now)
  }
}

/**
 * Starts a freshly triggered run: a DAG's matches are armed, then the tasks that wait on nothing
 * are created; a single task is created at once.
 */
export const startRun = (state: EngineState, run: Run, now: number): void => {
  const steps = run.isDag ? Matches.armRun(state, run, now) : run.version.steps
  for (const step of steps) createTask(state, run, step, now, { _tag: "Queued" })
}

/** Creates the tasks that satisfied matches decided, and satisfies the durable waits that held. */
const carryOut = (state: EngineState, decisions: ReadonlyArray<Matches.Decision>, now: number): void => {
  for (const decision of decisions) {
    if (decision._tag === "Signal") {
      onSignal(state, decision, now)
      continue
    }
    const as: CreateAs = decision.action === "QUEUE"
      ? { _tag: "Queued", stepRunErrors: decision.stepRunErrors, triggerData: decision.triggerData }
      : decision.action === "SKIP"
      ? { _tag: "Skipped" }
      : { _tag: "Cancelled" }
    createTask(state, decision.run, decision.step, now, as)
  }
}

/** A pushed event: the matches waiting on its key may create their tasks or satisfy durable waits. */
export const onUserEvent = (state: EngineState, tenant: TenantState, event: PushedEvent, now: number): void =>
  carryOut(state, Matches.deliverUserEvent(state, tenant, event, now), now)

/** A sleep condition ended. */
export const onSleep = (state: EngineState, timer: Extract<Timer, { kind: "Sleep" }>, now: number): void =>
  carryOut(state, Matches.onSleep(state, timer, now), now)

/**
 * Arms the matches of replayed steps again; the final events of the run's other tasks satisfy
 * what they can at once.
 */
export const rearmSteps = (
  state: EngineState,
  run: Run,
  steps: ReadonlyArray<Step>,
  replayed: ReadonlySet<Task>,
  now: number
): void => carryOut(state, Matches.rearm(state, run, steps, replayed, now), now)

/** A worker reported the attempt's output. Events for another attempt are ignored. */
export const completeTask = (state: EngineState, task: Task, retryCount: number, text: string, now: number): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined || task.retryCount !== retryCount) return
  const output = sharedJson(text)
  const workerId = assigned.worker?.id
  releaseRuntime(state, task)
  setTaskState(state, task, completedState(output, workerId, false, now))
  recordEvent(state, task, "FINISHED", now, { output, workerId })
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, now, { payload: output })
  onTaskFinal(state, task, now)
}

export interface AppFailure {
  readonly message: string
  readonly shouldNotRetry: boolean
  /** Worker-reported failures appear on the event stream; timeouts do not. */
  readonly source: "worker" | "timeout"
  /**
   * A timeout's TIMED_OUT event message (upstream's timeout controller: "Task exceeded timeout
   * of <timeout>") when it is not `message` (a batch's timeout); the event has no error message,
   * unlike a FAILED event.
   */
  readonly timedOut?: string
}

/**
 * An application failure of the current attempt (`FailTaskAppFailure`): retried while
 * `retries > app_retry_count` unless non-retryable, after `min(max, factor^n)` seconds when the
 * step has a backoff factor, otherwise immediately; final otherwise.
 */
export const failTaskApp = (
  state: EngineState,
  task: Task,
  retryCount: number,
  failure: AppFailure,
  now: number
): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined || task.retryCount !== retryCount) return
  const workerId = assigned.worker?.id
  releaseRuntime(state, task)
  if (failure.source === "worker") {
    publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_FAILED, now, {
      payload: failure.message,
      retryCount
    })
  }
  recordEvent(
    state,
    task,
    failure.source === "timeout" ? "TIMED_OUT" : "FAILED",
    now,
    failure.source === "timeout"
      ? { message: failure.timedOut ?? failure.message, workerId }
      : { errorMessage: failure.message, workerId }
  )
  const step = task.step
  if (!failure.shouldNotRetry && step.retries > task.appRetryCount) {
    task.retryCount++
    task.appRetryCount++
    const delayMs = step.backoffFactor !== undefined
      ? Math.min(step.backoffMaxSeconds ?? 86_400, Math.pow(step.backoffFactor, task.appRetryCount)) * 1000
      : undefined
    recordEvent(state, task, "RETRYING", now, { message: retryMessage(task, delayMs, now) })
    if (delayMs !== undefined) retryLater(state, task, now, now + delayMs, true)
    else {
      // queued again at once (with a backoff, when it ends: `onRetryBackoff`)
      recordEvent(state, task, "QUEUED", now)
      requeue(state, task, now)
      settleStrategies(state, now)
    }
    return
  }
  // REST shows a timed-out task's error as upstream's OLAP does: "" (its TIMED_OUT event has none)
  finalizeFailed(state, task, failure.message, now, failure.source === "timeout" ? "" : undefined)
}

/**
 * A RETRYING event's message, as upstream's task controller words it: which retry this is and,
 * when the step has a backoff factor and maximum, how long it waits (a Go duration) and until when
 * (RFC 3339, UTC).
 */
const retryMessage = (task: Task, delayMs: number | undefined, now: number): string => {
  const retry = `This is retry number ${task.appRetryCount}.`
  if (delayMs === undefined || task.step.backoffMaxSeconds === undefined) return retry
  const until = new Date(now + delayMs).toISOString().replace(/\.\d{3}Z$/, "Z")
  return `${retry} Retrying in ${formatGoDuration(delayMs)} (${until}).`
}

/**
 * An internal failure of the current attempt (`FailTaskInternalFailure`): retried without
 * consuming `retries` while `internal_retry_count < max`, optionally after `delayMs`; the retry
 * records no RETRYING or QUEUED event (upstream's task controller publishes those for application
 * retries only), so its next event is its ASSIGNED.
 */
export const failTaskInternal = (
  state: EngineState,
  task: Task,
  message: string,
  now: number,
  options: {
    readonly delayMs?: number
    readonly publish?: boolean
    /** The event recorded instead of a FAILED with `message` as its error (upstream's reassignment: REASSIGNED). */
    readonly event?: { readonly eventType: TaskEventType; readonly message: string }
    /** When no retry is left: the FAILED event's text, and the error REST shows (upstream's reassignment controller). */
    readonly exhausted?: string
  } = {}
): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined) return
  const workerId = assigned.worker?.id
  releaseRuntime(state, task)
  if (options.publish === true) {
    publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_FAILED, now, { payload: message })
  }
  if (options.event !== undefined) recordEvent(state, task, options.event.eventType, now, { message: options.event.message, workerId })
  else recordEvent(state, task, "FAILED", now, { errorMessage: message, workerId })
  if (task.internalRetryCount < state.options.maxInternalRetries) {
    task.retryCount++
    task.internalRetryCount++
    if (options.delayMs !== undefined && options.delayMs > 0) retryLater(state, task, now, now + options.delayMs, false)
    else {
      requeue(state, task, now)
      settleStrategies(state, now)
    }
    return
  }
  if (options.exhausted !== undefined) {
    recordEvent(state, task, "FAILED", now, { message: options.exhausted, errorMessage: options.exhausted, workerId })
  }
  finalizeFailed(state, task, message, now, options.exhausted)
}

/**
 * Queues the retry at `at`. During a backoff the attempt's concurrency slots are given up and new
 * ones (with the same keys) are acquired when the retry is queued; a delayed internal retry keeps
 * its first slot and acquires it again.
 */
const retryLater = (state: EngineState, task: Task, now: number, at: number, backoff: boolean) => {
  const reacquire = backoff && releaseForBackoff(state, task, now)
  setTaskState(state, task, backoff ? { _tag: "Backoff", at, reacquire } : { _tag: "Backoff", at, reacquire, internal: true })
  settleStrategies(state, now)
  state.timers.set({ kind: "RetryBackoff", id: task.externalId, token: task.retryCount, at })
}

/**
 * The backoff of the retry `retryCount` elapsed: it is queued, through new slots if it gave its own
 * up. An application retry's QUEUED event is recorded then (upstream's retry queue); an internal
 * retry gets none, queued or redelivered (upstream's task controller words application retries only).
 */
export const onRetryBackoff = (state: EngineState, task: Task, retryCount: number, now: number): void => {
  if (task.state._tag !== "Backoff" || task.retryCount !== retryCount) return
  if (task.state.internal !== true) recordEvent(state, task, "QUEUED", now)
  if (task.state.reacquire && task.concurrencyKeys !== undefined) acquireSlots(state, task, task.concurrencyKeys, now)
  else requeue(state, task, now)
  settleStrategies(state, now)
}

const finalizeFailed = (state: EngineState, task: Task, message: string, now: number, restError?: string) => {
  setTaskState(state, task, failedState(message, now, restError))
  onTaskFinal(state, task, now)
}

export interface CancelOptions {
  /** Send `CANCEL_STEP_RUN` to the worker holding the attempt. */
  readonly notifyWorker: boolean
  readonly eventType?: TaskEventType
  readonly message?: string
}

/** Cancels a task that is not final yet; returns whether it changed. */
export const cancelTask = (state: EngineState, task: Task, now: number, options: CancelOptions): boolean => {
  if (isFinal(task)) return false
  const assigned = assignmentOf(task)
  if (assigned !== undefined) {
    if (options.notifyWorker && assigned.worker !== undefined) sendCancel(assigned.worker, task, task.retryCount)
    releaseRuntime(state, task)
  }
  setTaskState(state, task, cancelledState(now))
  recordEvent(state, task, options.eventType ?? "CANCELLED", now, { message: options.message ?? "" })
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED, now)
  onTaskFinal(state, task, now)
  return true
}

/** The execution deadline passed: fail the attempt (retryable) and tell the worker to stop. */
export const timeOutTask = (state: EngineState, task: Task, now: number): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined) return
  if (assigned.worker !== undefined) sendCancel(assigned.worker, task, task.retryCount)
  failTaskApp(state, task, task.retryCount, {
    message: `Task exceeded timeout of ${task.step.timeout ?? ""}`,
    shouldNotRetry: false,
    source: "timeout"
  }, now)
}

// -----------------------------------------------------------------------------
// DAG rules
// -----------------------------------------------------------------------------

/**
 * Applies the DAG rules after `task` reached a final state (its concurrency slots released first),
 * then checks the run.
 */
export const onTaskFinal = (state: EngineState, task: Task, now: number): void => {
  const run = task.run
  for (const kind of taskTimerKinds) state.timers.cancel(kind, task.externalId)
  onDurableTaskFinal(state, task)
  releaseDynamicKeys(state, task)
  countFinal(state, task)
  releaseOnFinal(state, task)
  releaseSlots(state, task, now)
  settleStrategies(state, now)
  if (run.isDag) {
    const event = Matches.taskEvent(task)
    if (event !== undefined) carryOut(state, Matches.deliver(state, run, event, now), now)
  }
  // the durable tasks that spawned its run and wait on it
  carryOut(state, Matches.deliverToParents(state, task, now), now)
  releaseRunSlots(state, run, now)
  settleStrategies(state, now)
  maybeFinalize(state, run, now)
}

const isNotFinal = (task: Task) => !isFinal(task)

/** A run is final when every step has a task in a final state. */
export const maybeFinalize = (state: EngineState, run: Run, now: number): void => {
  if (run.finishedAt !== undefined) return
  if (run.tasks.size < run.version.steps.length) return
  if (run.tasks.some(isNotFinal)) return
  run.finishedAt = now
  // a retained run's timelines packed (`packTimeline`: two heap objects a task instead of one an event)
  run.tasks.forEach(packTimeline)
  touchRun(state, run)
  publishRunFinished(state, run, now)
  onRunFinished(state, run, now)
}

// -----------------------------------------------------------------------------
// deadlines
// -----------------------------------------------------------------------------

/**
 * The schedule timeout of a task still queued (or waiting in its batch buffer) under the timer's
 * token: it is cancelled.
 */
export const onScheduleTimeout = (state: EngineState, task: Task, token: number, now: number): void => {
  if ((task.state._tag === "Queued" || task.state._tag === "Batching") && task.state.token === token) {
    cancelTask(state, task, now, { notifyWorker: false, eventType: "SCHEDULING_TIMED_OUT" })
  }
}

/** The execution timeout of the attempt `retryCount`: it fails if it is still running. */
export const onExecutionTimeout = (state: EngineState, task: Task, retryCount: number, now: number): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined || task.retryCount !== retryCount) return
  if (assigned.timeoutAt > now) armTimeout(state, task)
  else if (assigned.batch !== undefined) timeOutBatch(state, assigned.batch.run, now)
  else timeOutTask(state, task, now)
}

/**
 * The execution timeout of a batch member: every member still running fails (upstream fails the
 * whole batch), each with the batch timeout message naming its own timeout when it passed too.
 */
const timeOutBatch = (state: EngineState, run: BatchRun, now: number): void => {
  for (const task of [...run.members]) {
    const assigned = assignmentOf(task)
    if (assigned === undefined) continue
    const timeout = assigned.timeoutAt <= now ? (task.step.timeout ?? "") : "batch timeout"
    if (assigned.worker !== undefined) sendCancel(assigned.worker, task, task.retryCount)
    failTaskApp(state, task, task.retryCount, {
      message: `Task failed due to batch timeout, exceeded timeout of ${timeout}`,
      shouldNotRetry: false,
      source: "timeout",
      timedOut: `Task exceeded timeout of ${timeout}`
    }, now)
  }
}

/** The schedule timeout of a concurrency slot still unfilled: its task is cancelled. */
export const onSlotScheduleTimeout = (
  state: EngineState,
  task: Task,
  timer: Extract<Timer, { kind: "SlotScheduleTimeout" }>,
  now: number
): void => {
  if (slotTimedOut(task, timer)) cancelTask(state, task, now, { notifyWorker: false, eventType: "SCHEDULING_TIMED_OUT" })
}
