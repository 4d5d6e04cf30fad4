/**
 * The task state machine and the DAG rules.
 *
 * - creation (`createTask`): QUEUED (through its concurrency strategies, if any), created FAILED
 *   when a concurrency key or a rate-limit expression cannot be evaluated, or created already
 *   final as SKIPPED or CANCELLED by the DAG rules;
 * - completion, application failure with retries and backoff, internal failure (dead worker,
 *   undeliverable assignment), cancellation, execution and schedule timeouts;
 * - DAG progression (`onTaskFinal`): a child is created when all its parents completed, skipped
 *   when all were skipped, cancelled when any failed or was cancelled; the on-failure task is
 *   queued at the first final failure and skipped when everything else completed or was
 *   cancelled; a run is finalised when every step has a final task.
 *
 * Engine semantics §3 and §4; upstream `pkg/repository/task.go`, `trigger.go`, `match.go`.
 *
 * @internal
 */
import { evaluateBatchKey } from "./batches.js"
import { releaseOnFinal } from "./idempotency.js"
import { countCreated, countEvent, countFinal } from "./metrics.js"
import { ResourceEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { acquireSlots, evaluateKeys, releaseForBackoff, releaseRunSlots, releaseSlots, requeue } from "./concurrency.js"
import { enqueue, releaseRuntime, sendCancel } from "./dispatch.js"
import { evaluateRateLimits, hasExpressions, registerDynamicKeys, releaseDynamicKeys } from "./rateLimits.js"
import type { EngineState, Run, Step, Task, TaskEvent, TaskEventType } from "./model.js"
import { isTerminal } from "./model.js"
import { publishRunFinished, publishStepEvent } from "./publish.js"
import { onRunFinished } from "./retention.js"
import { tenantOf } from "./tenants.js"
import { taskTimerKinds } from "./timers.js"

/** The output a skipped task completes with. */
export const skippedOutput = "{\"skipped\":true}"

/** Priority of the retry queue: retries run ahead of all new work. */
export const retryPriority = 4

export interface TaskEventDetails {
  readonly message?: string
  readonly errorMessage?: string
  readonly output?: string
  readonly workerId?: string | undefined
  readonly retryCount?: number
}

/** A new event of `task`'s timeline (not yet in it). */
export const makeEvent = (
  state: EngineState,
  task: Task,
  eventType: TaskEventType,
  now: number,
  details: TaskEventDetails = {}
): TaskEvent => ({
  id: state.nextEventId(),
  taskId: task.id,
  timestamp: now,
  eventType,
  message: details.message ?? "",
  errorMessage: details.errorMessage,
  output: details.output,
  workerId: details.workerId,
  retryCount: details.retryCount ?? task.retryCount
})

/** Appends an event to `task`'s timeline. */
export const recordEvent = (
  state: EngineState,
  task: Task,
  eventType: TaskEventType,
  now: number,
  details: TaskEventDetails = {}
): void => {
  task.events.push(makeEvent(state, task, eventType, now, details))
  countEvent(state, task, eventType)
}

export type CreateAs =
  | { readonly _tag: "Queued"; readonly stepRunErrors?: Record<string, string> }
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
    const worker = parent?.completedBy ?? (parent?.skipped === true ? parent.desiredWorkerId : undefined)
    if (worker !== undefined) return worker
  }
  return undefined
}

/** Creates the task of `step` in `run`, queued or already final. */
export const createTask = (state: EngineState, run: Run, step: Step, now: number, as: CreateAs): Task => {
  const externalId = run.taskIds.get(step.id)!
  // a replayed DAG re-creates descendants under their ids: they continue the earlier attempts
  const previous = state.tasksByExternalId.get(externalId)
  const task: Task = {
    id: previous?.id ?? state.nextTaskId(),
    externalId,
    tenantId: run.tenantId,
    run,
    step,
    priority: run.priority,
    createdAt: now,
    status: "QUEUED",
    retryCount: previous !== undefined ? previous.retryCount + 1 : 0,
    appRetryCount: 0,
    internalRetryCount: 0,
    queueToken: 0,
    retryPending: false,
    runtime: undefined,
    desiredWorkerId: desiredWorkerOf(run, step),
    completedBy: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    output: undefined,
    error: undefined,
    skipped: false,
    stepRunErrors: as._tag === "Queued" ? as.stepRunErrors : undefined,
    events: previous?.events ?? [],
    logs: previous?.logs ?? [],
    spawned: previous?.spawned ?? new Map(),
    stream: undefined,
    concurrencyKeys: undefined,
    concurrencySlots: [],
    rateLimits: [],
    waitingOnDynamicKeys: false,
    batchKey: undefined
  }
  run.tasks.set(step.id, task)
  state.tasksByExternalId.set(task.externalId, task)
  const tasks = tenantOf(state, run.tenantId).tasks
  if (previous !== undefined) tasks.remove(previous)
  tasks.add(task)
  countCreated(state, task)
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_STARTED, now)
  switch (as._tag) {
    case "Queued": {
      // concurrency keys and rate-limit expressions are evaluated at creation; a task whose
      // expression fails is created FAILED (a rate-limit failure is reported over a key's)
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
      recordEvent(state, task, "QUEUED", now)
      if (keys?._tag === "Keys") acquireSlots(state, task, keys.keys, now)
      else enqueue(state, task, now, run.priority)
      break
    }
    case "Skipped":
      task.status = "COMPLETED"
      task.skipped = true
      task.output = skippedOutput
      task.finishedAt = now
      recordEvent(state, task, "SKIPPED", now, { output: skippedOutput })
      onTaskFinal(state, task, now)
      break
    case "Cancelled":
      task.status = "CANCELLED"
      task.error = ""
      task.finishedAt = now
      recordEvent(state, task, "CANCELLED", now)
      onTaskFinal(state, task, now)
      break
  }
  return task
}

/** A task created FAILED (a step expression failed): final at once, with the error. */
const failAtCreation = (state: EngineState, task: Task, message: string, now: number) => {
  task.status = "FAILED"
  task.error = message
  task.finishedAt = now
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
  else acquireSlots(state, task, keys.keys, now)
}

/** Creates the root tasks of a freshly triggered run. */
export const startRun = (state: EngineState, run: Run, now: number): void => {
  for (const step of run.version.steps) {
    if (step.kind === "DEFAULT" && step.parents.length === 0) createTask(state, run, step, now, { _tag: "Queued" })
  }
}

/** A worker reported the attempt's output. Events for another attempt are ignored. */
export const completeTask = (state: EngineState, task: Task, retryCount: number, output: string, now: number): void => {
  if (task.status !== "RUNNING" || task.retryCount !== retryCount) return
  const workerId = task.runtime?.worker?.id
  releaseRuntime(state, task)
  task.status = "COMPLETED"
  task.output = output
  task.error = undefined
  task.completedBy = workerId
  task.finishedAt = now
  recordEvent(state, task, "FINISHED", now, { output, workerId })
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED, now, { payload: output })
  onTaskFinal(state, task, now)
}

export interface AppFailure {
  readonly message: string
  readonly shouldNotRetry: boolean
  /** Worker-reported failures appear on the event stream; timeouts do not. */
  readonly source: "worker" | "timeout"
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
  if (task.status !== "RUNNING" || task.retryCount !== retryCount || task.runtime === undefined) return
  const workerId = task.runtime.worker?.id
  releaseRuntime(state, task)
  if (failure.source === "worker") {
    publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_FAILED, now, {
      payload: failure.message,
      retryCount
    })
  }
  recordEvent(state, task, failure.source === "timeout" ? "TIMED_OUT" : "FAILED", now, {
    errorMessage: failure.message,
    workerId
  })
  const step = task.step
  if (!failure.shouldNotRetry && step.retries > task.appRetryCount) {
    task.retryCount++
    task.appRetryCount++
    recordEvent(state, task, "RETRYING", now)
    if (step.backoffFactor !== undefined) {
      const maxSeconds = step.backoffMaxSeconds ?? 86_400
      const delayMs = Math.min(maxSeconds, Math.pow(step.backoffFactor, task.appRetryCount)) * 1000
      retryLater(state, task, now, now + delayMs, true)
    } else {
      requeue(state, task, now)
    }
    return
  }
  finalizeFailed(state, task, failure.message, now)
}

/**
 * An internal failure of the current attempt (`FailTaskInternalFailure`): retried without
 * consuming `retries` while `internal_retry_count < max`, optionally after `delayMs`.
 */
export const failTaskInternal = (
  state: EngineState,
  task: Task,
  message: string,
  now: number,
  options: { readonly delayMs?: number; readonly publish?: boolean; readonly eventType?: TaskEventType } = {}
): void => {
  if (task.status !== "RUNNING" || task.runtime === undefined) return
  const workerId = task.runtime.worker?.id
  releaseRuntime(state, task)
  if (options.publish === true) {
    publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_FAILED, now, { payload: message })
  }
  recordEvent(state, task, options.eventType ?? "FAILED", now, { errorMessage: message, workerId })
  if (task.internalRetryCount < state.options.maxInternalRetries) {
    task.retryCount++
    task.internalRetryCount++
    if (options.delayMs !== undefined && options.delayMs > 0) retryLater(state, task, now, now + options.delayMs, false)
    else requeue(state, task, now)
    return
  }
  finalizeFailed(state, task, message, now)
}

/**
 * Queues the retry at `at`. During a backoff the attempt's concurrency slots are given up and new
 * ones (with the same keys) are acquired when the retry is queued; a delayed internal retry keeps
 * its first slot and acquires it again.
 */
const retryLater = (state: EngineState, task: Task, now: number, at: number, backoff: boolean) => {
  task.status = "QUEUED"
  task.retryPending = true
  const reacquire = backoff && releaseForBackoff(state, task, now)
  state.timers.set({ kind: "RetryBackoff", id: task.externalId, token: task.retryCount, reacquire, at })
}

/** The backoff of the retry `retryCount` elapsed: it is queued, through new slots if it gave its own up. */
export const onRetryBackoff = (state: EngineState, task: Task, retryCount: number, reacquire: boolean, now: number): void => {
  if (!task.retryPending || task.retryCount !== retryCount || task.status !== "QUEUED") return
  if (reacquire && task.concurrencyKeys !== undefined) acquireSlots(state, task, task.concurrencyKeys, now)
  else requeue(state, task, now)
}

const finalizeFailed = (state: EngineState, task: Task, message: string, now: number) => {
  task.status = "FAILED"
  task.error = message
  task.finishedAt = now
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
  if (isTerminal(task.status)) return false
  const runtime = task.runtime
  if (runtime !== undefined) {
    if (options.notifyWorker && runtime.worker !== undefined) sendCancel(runtime.worker, task, runtime.retryCount)
    releaseRuntime(state, task)
  }
  task.queueToken = 0
  task.retryPending = false
  task.status = "CANCELLED"
  task.error = ""
  task.finishedAt = now
  recordEvent(state, task, options.eventType ?? "CANCELLED", now, { message: options.message ?? "" })
  publishStepEvent(state, task, ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED, now)
  onTaskFinal(state, task, now)
  return true
}

/** The execution deadline passed: fail the attempt (retryable) and tell the worker to stop. */
export const timeOutTask = (state: EngineState, task: Task, now: number): void => {
  const runtime = task.runtime
  if (runtime === undefined) return
  if (runtime.worker !== undefined) sendCancel(runtime.worker, task, runtime.retryCount)
  failTaskApp(state, task, runtime.retryCount, {
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
  releaseDynamicKeys(state, task)
  countFinal(state, task)
  releaseOnFinal(state, task)
  releaseSlots(state, task, now)
  if (run.isDag && task.step.kind === "DEFAULT") {
    for (const child of task.step.children) evaluateChild(state, run, child, now)
    evaluateOnFailure(state, run, task, now)
  }
  releaseRunSlots(state, run, now)
  maybeFinalize(state, run, now)
}

const evaluateChild = (state: EngineState, run: Run, child: Step, now: number) => {
  if (run.tasks.has(child.id)) return
  let allCompleted = true
  let allSkipped = true
  for (const parentId of child.parents) {
    const parentStep = run.version.stepsByReadableId.get(parentId)!
    const parent = run.tasks.get(parentStep.id)
    if (parent === undefined) {
      allCompleted = false
      continue
    }
    if (parent.status === "FAILED" || parent.status === "CANCELLED") {
      createTask(state, run, child, now, { _tag: "Cancelled" })
      return
    }
    if (parent.status !== "COMPLETED") allCompleted = false
    else if (!parent.skipped) allSkipped = false
  }
  if (!allCompleted) return
  createTask(state, run, child, now, allSkipped ? { _tag: "Skipped" } : { _tag: "Queued" })
}

const evaluateOnFailure = (state: EngineState, run: Run, task: Task, now: number) => {
  const onFailure = run.version.onFailure
  if (onFailure === undefined || run.onFailureFired) return
  if (task.status === "FAILED") {
    run.onFailureFired = true
    createTask(state, run, onFailure, now, {
      _tag: "Queued",
      stepRunErrors: { [task.step.readableId]: task.error ?? "" }
    })
    return
  }
  for (const step of run.version.steps) {
    if (step.kind !== "DEFAULT") continue
    const other = run.tasks.get(step.id)
    if (other === undefined || (other.status !== "COMPLETED" && other.status !== "CANCELLED")) return
  }
  run.onFailureFired = true
  createTask(state, run, onFailure, now, { _tag: "Skipped" })
}

/** A run is final when every step has a task in a final state. */
export const maybeFinalize = (state: EngineState, run: Run, now: number): void => {
  if (run.finishedAt !== undefined) return
  if (run.tasks.size < run.version.steps.length) return
  for (const task of run.tasks.values()) {
    if (!isTerminal(task.status)) return
  }
  run.finishedAt = now
  publishRunFinished(state, run, now)
  onRunFinished(state, run, now)
}
