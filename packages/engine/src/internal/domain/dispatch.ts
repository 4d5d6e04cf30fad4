/**
 * The queue and the worker side of a task: putting it in its action's queue (with its schedule
 * timeout), parking a rate-limited entry until its key refills, the slots an attempt holds on its
 * worker and its execution deadline, `CANCEL_STEP_RUN`, and the wire shape of an
 * `AssignedAction`. Choosing a worker for a queued task is `assignment.ts`; what happens to a
 * task when a deadline passes is `tasks.ts`.
 *
 * `docs/engine.md` §2; upstream `pkg/scheduling/v1`, `internal/services/dispatcher`.
 *
 * @internal
 */
import { ActionType, type AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { setTaskState } from "./changes.js"
import type { JsonObject, JsonValue } from "./json.js"
import { emptyObject, goMarshal, isJsonObject, parseJson } from "./json.js"
import type { EngineState, QueueEntry, Task, Worker } from "./model.js"
import { assignmentOf } from "./model.js"
import { markDirty, markWorkerDirty, wakeBatchGroup } from "./queue.js"
import { TaskTimeout, type Timer } from "./timers.js"

/** Priority of the retry queue: retries run ahead of all new work. */
export const retryPriority = 4

/** A worker is schedulable only with a heartbeat in the last 5 s. */
export const schedulableWindowMs = 5_000

/**
 * Puts `task` in its action's queue and arms its schedule timeout; while its workflow is paused,
 * holds it instead (`hold`).
 */
export const enqueue = (state: EngineState, task: Task, now: number, priority: number): void => {
  const token = ++state.queueSeq
  setTaskState(state, task, { _tag: "Queued", token })
  if (task.run.workflow.paused !== undefined) return hold(state, task, token, priority)
  const deadline = now + task.step.scheduleTimeoutMs
  state.queues.enqueue(task.tenantId, task.step.action, priority, { task, token, priority, deadline })
  markDirty(state, task.tenantId, task.step.action)
  armScheduleTimeout(state, task, token, deadline)
}

/** Cancels the task at `deadline` if it is still queued under `token` (`tasks.ts onScheduleTimeout`). */
const armScheduleTimeout = (state: EngineState, task: Task, token: number, deadline: number) =>
  state.timers.set(new TaskTimeout("ScheduleTimeout", task.externalId, token, deadline))

/**
 * Takes a rate-limited entry out of its queue until `until`, when it re-enters last at its
 * priority (upstream's rate-limited queue items, requeued with new ids). Its schedule timeout
 * stays.
 */
export const park = (state: EngineState, entry: QueueEntry, until: number) => {
  const task = entry.task
  const token = ++state.queueSeq
  setTaskState(state, task, { _tag: "Queued", token })
  armScheduleTimeout(state, task, token, entry.deadline)
  state.timers.set({ kind: "Unpark", id: task.externalId, token, priority: entry.priority, deadline: entry.deadline, at: until })
}

/**
 * A parked task still under the timer's token re-enters its queue, last at its priority (or is
 * held, when its workflow was paused meanwhile).
 */
export const onUnpark = (state: EngineState, task: Task, timer: Extract<Timer, { kind: "Unpark" }>): void => {
  if (task.state._tag !== "Queued" || task.state.token !== timer.token) return
  if (task.run.workflow.paused !== undefined) return hold(state, task, timer.token, timer.priority)
  state.queues.enqueue(task.tenantId, task.step.action, timer.priority, {
    task,
    token: timer.token,
    priority: timer.priority,
    deadline: timer.deadline
  })
  markDirty(state, task.tenantId, task.step.action)
}

/**
 * Holds a queued task of a paused workflow out of its queue (upstream moves its queue item to
 * `v1_paused_workflow_queue_item`): no worker gets it and its schedule timeout does not run; it
 * is cancelled once older than the pause's TTL (`workflowPause.ts onPausedQueueTtl`), and goes
 * back to its queue, with a new schedule timeout, when the workflow is unpaused.
 */
export const hold = (state: EngineState, task: Task, token: number, priority: number): void => {
  const pause = task.run.workflow.paused!
  pause.held.push({ task, token, priority, deadline: 0 })
  state.timers.cancel("ScheduleTimeout", task.externalId)
  state.timers.set({ kind: "PausedQueueTtl", id: task.externalId, token, at: pause.expiresAt(task.createdAt) })
}

/**
 * Whether `worker` may receive new tasks now. With `workerLiveness: "connection"` an open stream
 * is enough; otherwise it also needs a heartbeat within `schedulableWindowMs`.
 */
export const isSchedulable = (state: EngineState, worker: Worker, now: number): boolean =>
  worker.isActive && !worker.isPaused && (
    state.options.workerLiveness === "connection" ||
    (worker.lastHeartbeatAt !== undefined && now - worker.lastHeartbeatAt < schedulableWindowMs)
  )

/**
 * The largest message the engine sends or accepts: upstream's `SERVER_GRPC_MAX_MSG_SIZE` default,
 * the gRPC server's limit in both directions.
 */
export const maxMessageBytes = 4 * 1024 * 1024

/** Takes (`1`) or gives back (`-1`) the slots an attempt of `task` holds on `worker`. */
export const takeSlots = (worker: Worker, task: Task, sign: 1 | -1) => {
  for (const [slotType, units] of task.step.slotRequests) {
    worker.slotsUsed.set(slotType, (worker.slotsUsed.get(slotType) ?? 0) + sign * units)
  }
}

/** Arms (or moves, after a refresh) the execution timeout of the current attempt. */
export const armTimeout = (state: EngineState, task: Task): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined) return
  state.timers.set(new TaskTimeout("ExecutionTimeout", task.externalId, task.retryCount, assigned.timeoutAt))
}

/**
 * Ends the current attempt's hold on its worker: slots freed, timeout cancelled; a batch member
 * leaves its batch (the last one to leave frees a run of its group). The caller moves the task to
 * its next state.
 */
export const releaseRuntime = (state: EngineState, task: Task): void => {
  const assigned = assignmentOf(task)
  if (assigned === undefined) return
  state.timers.cancel("ExecutionTimeout", task.externalId)
  if (assigned.worker !== undefined) releaseSlot(state, task, assigned.worker)
  const batch = assigned.batch?.run
  if (batch !== undefined && batch.members.delete(task) && batch.members.size === 0) {
    batch.group.active--
    if (batch.group.stalled) wakeBatchGroup(state, batch.group)
  }
}

/**
 * Frees the slots `task` holds on `worker` (attempt end or `ReleaseSlot`). A batch member holds
 * its batch's one default slot: the slot is freed with the last member holding it.
 */
export const releaseSlot = (state: EngineState, task: Task, worker: Worker): void => {
  if (!worker.running.delete(task)) return
  const batch = assignmentOf(task)?.batch?.run
  if (batch !== undefined) {
    if (!batch.holders.delete(task) || batch.holders.size > 0) return
    worker.slotsUsed.set("default", (worker.slotsUsed.get("default") ?? 0) - 1)
  } else {
    takeSlots(worker, task, -1)
  }
  markWorkerDirty(state, worker)
}

/** Sends `CANCEL_STEP_RUN` for an attempt to every stream of `worker`. */
export const sendCancel = (worker: Worker, task: Task, retryCount: number): void => {
  const action = assignedAction(task, ActionType.CANCEL_STEP_RUN, retryCount)
  for (const session of worker.sessions.values()) session.send(action)
}

// -----------------------------------------------------------------------------
// the wire shape of an assignment
// -----------------------------------------------------------------------------

/** Outputs of the run's COMPLETED tasks as `parents` (`ListTaskParentOutputs`). */
const completedOutputs = (task: Task): JsonObject => {
  const parents: Record<string, JsonValue> = {}
  for (const other of task.run.tasks.values()) {
    if (other.state._tag !== "Completed") continue
    const output = parseJson(other.state.output)
    if (output === null || output === undefined) parents[other.step.readableId] = {}
    else if (isJsonObject(output)) parents[other.step.readableId] = output
  }
  return parents
}

/** The `triggers` of a run with no trigger data and no filter payload (a manual run's). */
const noTriggersJson = goMarshal({ filter_payload: null })

/** The `triggers` JSON of a START: the task's trigger data and its run's filter payload. */
const triggersJson = (task: Task): string => {
  const run = task.run
  if (run.filterPayload === null && task.triggerData === emptyObject) return noTriggersJson
  return goMarshal(
    run.filterPayload === undefined && task.triggerData.filter_payload === undefined
      ? task.triggerData
      : { ...task.triggerData, filter_payload: run.filterPayload }
  )
}

/** The `action_payload` JSON of a START (`V1StepRunData`, field order as Go marshals it). */
export const actionPayload = (task: Task): string => {
  const run = task.run
  const input = isJsonObject(run.input) ? run.input : null
  const parents = run.isDag ? completedOutputs(task) : {}
  let payload = `{"input":${goMarshal(input)},"triggered_by":"manual","parents":${goMarshal(parents)},` +
    `"triggers":${triggersJson(task)},"user_data":null,"overrides":null`
  if (task.stepRunErrors !== undefined && Object.keys(task.stepRunErrors).length > 0) {
    payload += `,"step_run_errors":${goMarshal(task.stepRunErrors)}`
  }
  return `${payload}}`
}

/** `populateAssignedAction`: the fields as upstream fills them. */
export const assignedAction = (task: Task, actionType: ActionType, retryCount: number): AssignedAction => {
  const run = task.run
  const step = task.step
  const action: AssignedAction = {
    tenantId: task.tenantId,
    workflowRunId: run.id,
    getGroupKeyRunId: "",
    jobId: step.id,
    jobName: step.readableId,
    jobRunId: task.externalId,
    taskId: step.id,
    taskRunExternalId: task.externalId,
    actionId: step.action,
    actionType,
    actionPayload: actionType === ActionType.START_STEP_RUN ? actionPayload(task) : "",
    taskName: step.readableId,
    retryCount,
    additionalMetadata: goMarshal(run.metadata),
    priority: task.priority,
    workflowId: run.workflow.id,
    workflowVersionId: run.version.id
  }
  if (run.childIndex !== undefined) action.childWorkflowIndex = run.childIndex
  if (run.childKey !== undefined) action.childWorkflowKey = run.childKey
  if (run.parentTaskExternalId !== undefined) action.parentWorkflowRunId = run.parentTaskExternalId
  if (step.isDurable) action.durableTaskInvocationCount = task.durable?.invocationCount ?? 1
  if (run.triggeringEvent !== undefined) {
    action.triggeringEventExternalId = run.triggeringEvent.id
    action.triggeringEventKey = run.triggeringEvent.key
  }
  const batch = assignmentOf(task)?.batch
  if (batch !== undefined) {
    action.batchId = batch.run.id
    action.batchSize = batch.run.size
    action.batchIndex = batch.index
    if (batch.run.group.key !== "") action.batchKey = batch.run.group.key
  } else if (task.batchKey !== undefined && task.batchKey !== "") {
    action.batchKey = task.batchKey
  }
  return action
}
