/**
 * Queueing, worker selection, slot accounting and delivery of `AssignedAction`s.
 *
 * A queued task waits in the queue of its step's action. Whenever work or capacity appears the
 * `(tenant, action)` pair is marked dirty; `assignDirty` (run at the end of every domain
 * operation) hands the tasks of each dirty queue, in order, to eligible workers: registered with
 * exactly that action, an open stream, a heartbeat within the last 5 s, not paused, and free
 * units for every slot type the step requests. The best-ranked candidate wins (sticky strategy,
 * then desired worker labels); equal ranks are taken round-robin per action. A task short of
 * rate-limit units (`rateLimits.ts`) is passed over until its key refills.
 *
 * Engine semantics §2; upstream `pkg/scheduling/v1`, `internal/services/dispatcher`.
 *
 * @internal
 */
import { ActionType, AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { WorkerLabelComparator } from "@effect-hatchet/proto/v1/shared/trigger"
import { StickyStrategy } from "@effect-hatchet/proto/v1/workflows"
import type { JsonObject, JsonValue } from "./json.js"
import { goMarshal, isJsonObject, parseJson } from "./json.js"
import { bufferTask, kickStalled, leaveBatch, releaseBatchSlot, timeOutBatch } from "./batches.js"
import type { DesiredLabel, EngineState, QueueEntry, Runtime, Task, TenantState, Worker, WorkerLabel } from "./model.js"
import * as RateLimits from "./rateLimits.js"
import { cancelTask, failTaskApp, failTaskInternal, recordEvent, timeOutTask } from "./tasks.js"
import type { Timer } from "./timers.js"

/** A worker is schedulable only with a heartbeat in the last 5 s. */
export const schedulableWindowMs = 5_000

/** Marks the queue of `action` for an assignment pass. */
export const markDirty = (state: EngineState, tenantId: string, action: string): void => {
  const map = state.dirty
  let actions = map.get(tenantId)
  if (actions === undefined) {
    actions = new Set()
    map.set(tenantId, actions)
  }
  actions.add(action)
}

/** Marks every queue `worker` could serve (it gained capacity or became schedulable). */
export const markWorkerDirty = (state: EngineState, worker: Worker): void => {
  for (const action of worker.actions) {
    if (state.queues.size(worker.tenantId, action) > 0) markDirty(state, worker.tenantId, action)
  }
  kickStalled(state, worker)
}

/** Runs assignment passes until no queue is dirty. */
export const assignDirty = (state: EngineState, now: number): void => {
  const map = state.dirty
  while (map.size > 0) {
    const [tenantId, actions] = map.entries().next().value as [string, Set<string>]
    const action = actions.values().next().value as string
    actions.delete(action)
    if (actions.size === 0) map.delete(tenantId)
    tryAssign(state, tenantId, action, now)
  }
}

/** Puts `task` in its action's queue and arms its schedule timeout. */
export const enqueue = (state: EngineState, task: Task, now: number, priority: number): void => {
  task.status = "QUEUED"
  task.retryPending = false
  const token = ++state.queueSeq
  task.queueToken = token
  const deadline = now + task.step.scheduleTimeoutMs
  state.queues.enqueue(task.tenantId, task.step.action, priority, { task, token, priority, deadline })
  markDirty(state, task.tenantId, task.step.action)
  armScheduleTimeout(state, task, token, deadline)
}

/** Cancels the task at `deadline` if it is still queued under `token`. */
const armScheduleTimeout = (state: EngineState, task: Task, token: number, deadline: number) =>
  state.timers.set({ kind: "ScheduleTimeout", id: task.externalId, token, at: deadline })

/** The schedule timeout of a task still queued under the timer's token: it is cancelled. */
export const onScheduleTimeout = (state: EngineState, task: Task, token: number, now: number): void => {
  if (task.queueToken === token && task.status === "QUEUED") {
    cancelTask(state, task, now, { notifyWorker: false, eventType: "SCHEDULING_TIMED_OUT" })
  }
}

/**
 * A rate-limited item whose key refills more than this much later leaves the queue until the
 * refill (upstream `rateLimitedRequeueAfterThreshold`); a nearer refill keeps it in place.
 */
const rateLimitedRequeueAfterMs = 2_000

/**
 * Takes a rate-limited entry out of its queue until `until`, when it re-enters last at its
 * priority (upstream's rate-limited queue items, requeued with new ids). Its schedule timeout
 * stays.
 */
const park = (state: EngineState, entry: QueueEntry, until: number) => {
  const task = entry.task
  const token = ++state.queueSeq
  task.queueToken = token
  armScheduleTimeout(state, task, token, entry.deadline)
  state.timers.set({ kind: "Unpark", id: task.externalId, token, priority: entry.priority, deadline: entry.deadline, at: until })
}

/** A parked task still under the timer's token re-enters its queue, last at its priority. */
export const onUnpark = (state: EngineState, task: Task, timer: Extract<Timer, { kind: "Unpark" }>): void => {
  if (task.queueToken !== timer.token || task.status !== "QUEUED") return
  state.queues.enqueue(task.tenantId, task.step.action, timer.priority, {
    task,
    token: timer.token,
    priority: timer.priority,
    deadline: timer.deadline
  })
  markDirty(state, task.tenantId, task.step.action)
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

const hasCapacity = (worker: Worker, task: Task): boolean => {
  for (const [slotType, units] of task.step.slotRequests) {
    const max = worker.slotConfig.get(slotType) ?? 0
    const used = worker.slotsUsed.get(slotType) ?? 0
    if (max - used < units) return false
  }
  return true
}

/** Whether a worker label meets a desired label (`computeWeight` comparisons: worker op desired). */
const labelMet = (worker: WorkerLabel, desired: DesiredLabel): boolean => {
  const ints = desired.intValue !== undefined && worker.intValue !== undefined
  switch (desired.comparator ?? WorkerLabelComparator.EQUAL) {
    case WorkerLabelComparator.EQUAL:
      return (desired.strValue !== undefined && worker.strValue !== undefined && desired.strValue === worker.strValue) ||
        (ints && desired.intValue === worker.intValue)
    case WorkerLabelComparator.NOT_EQUAL:
      return (desired.strValue !== undefined && worker.strValue !== undefined && desired.strValue !== worker.strValue) ||
        (ints && desired.intValue !== worker.intValue)
    case WorkerLabelComparator.GREATER_THAN:
      return ints && worker.intValue! > desired.intValue!
    case WorkerLabelComparator.GREATER_THAN_OR_EQUAL:
      return ints && worker.intValue! >= desired.intValue!
    case WorkerLabelComparator.LESS_THAN:
      return ints && worker.intValue! < desired.intValue!
    case WorkerLabelComparator.LESS_THAN_OR_EQUAL:
      return ints && worker.intValue! <= desired.intValue!
    default:
      return false
  }
}

/**
 * A worker's rank for a task (`rankWorkerIds`), or -1 when it may not take it: sticky HARD only
 * admits the desired worker, SOFT prefers it; otherwise the summed weights of the desired labels
 * it meets, excluding workers that miss a required one. Labels are ignored under sticky.
 */
const rank = (worker: Worker, task: Task): number => {
  const run = task.run
  const sticky = run.version.sticky
  const desired = task.desiredWorkerId
  if (sticky === StickyStrategy.HARD) return desired === undefined || worker.id === desired ? 0 : -1
  if (sticky === StickyStrategy.SOFT) return desired !== undefined && worker.id === desired ? 1 : 0
  const labels = run.desiredLabels ?? task.step.desiredLabels
  if (labels.size === 0) return 0
  let weight = 0
  for (const [key, desired] of labels) {
    const label = worker.labels.get(key)
    if (label !== undefined && labelMet(label, desired)) weight += desired.weight ?? 100
    else if (desired.required === true) return -1
  }
  return weight
}

/**
 * One assignment pass over a queue, in queue order: a task short of rate-limit units is passed
 * over (and waits for the refill), a task of a batch step goes to its batch buffer (it needs no
 * worker yet), the first other task no worker can take ends the pass.
 */
const tryAssign = (state: EngineState, tenantId: string, action: string, now: number) => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return
  const candidates = tenant.actionWorkers.get(action)
  const workers = candidates !== undefined ? [...candidates] : []
  for (const entry of state.queues.live(tenantId, action)) {
    const units = RateLimits.unitsOf(entry.task)
    if (units !== undefined) {
      const short = RateLimits.shortage(tenant, units, now)
      if (short !== undefined) {
        if (short.refillAt !== undefined && short.refillAt - now > rateLimitedRequeueAfterMs) park(state, entry, short.refillAt)
        else if (short.limit !== undefined) RateLimits.wakeOnRefill(state, tenantId, short.limit, action)
        continue
      }
    }
    if (entry.task.step.batch !== undefined) {
      if (units !== undefined) RateLimits.consume(tenant, units, now)
      bufferTask(state, tenant, entry, now)
      continue
    }
    const chosen = chooseWorker(state, tenant, action, workers, entry.task, now, hasCapacity)
    if (chosen === undefined) return
    if (units !== undefined) RateLimits.consume(tenant, units, now)
    assign(state, entry.task, chosen, now)
  }
}

/**
 * The schedulable worker that fits `task` with the best rank, round-robin per action among equal
 * ranks (the action's offset moves past the one chosen).
 */
export const chooseWorker = (
  state: EngineState,
  tenant: TenantState,
  action: string,
  workers: ReadonlyArray<Worker>,
  task: Task,
  now: number,
  fits: (worker: Worker, task: Task) => boolean
): Worker | undefined => {
  const offset = tenant.roundRobin.get(action) ?? 0
  let chosen: Worker | undefined
  let chosenRank = -1
  let chosenIndex = 0
  for (let i = 0; i < workers.length; i++) {
    const index = (offset + i) % workers.length
    const worker = workers[index]!
    if (!isSchedulable(state, worker, now) || !fits(worker, task)) continue
    const r = rank(worker, task)
    if (r > chosenRank) {
      chosen = worker
      chosenRank = r
      chosenIndex = index
    }
  }
  if (chosen !== undefined) tenant.roundRobin.set(action, (chosenIndex + 1) % workers.length)
  return chosen
}

const takeSlots = (worker: Worker, task: Task, sign: 1 | -1) => {
  for (const [slotType, units] of task.step.slotRequests) {
    worker.slotsUsed.set(slotType, (worker.slotsUsed.get(slotType) ?? 0) + sign * units)
  }
}

/** Delay before re-queueing an assignment that could not be delivered: 100 ms doubling to 5 s. */
export const redeliveryDelayMs = (task: Task) => Math.min(5_000, 100 * Math.pow(2, task.internalRetryCount))

export const undeliverable =
  "Could not send task to worker. This likely means that too many slots have been configured for the worker, or the worker has crashed."

/**
 * The largest message the engine sends or accepts: upstream's `SERVER_GRPC_MAX_MSG_SIZE` default,
 * the gRPC server's limit in both directions.
 */
export const maxMessageBytes = 4 * 1024 * 1024

/** At least the encoded size of `action`: at most 3 UTF-8 bytes per UTF-16 unit, plus tags and numbers. */
const sizeBound = (action: AssignedAction): number => {
  let units = 0
  for (const value of Object.values(action)) if (typeof value === "string") units += value.length
  return units * 3 + 1024
}

/**
 * The START of `task`, or why it cannot be sent. The gRPC server ends a whole stream (and so every
 * assignment queued behind it) on a message it cannot serialize or that exceeds its send limit;
 * upstream's `SendMsg` fails that one message. A run's input, metadata and parent outputs each fit
 * in a request, but together (and with `<`, `>`, `&` escaped six-fold, as Go marshals them) they
 * may not fit in one assignment: measured here, only when the bound says it could matter.
 */
const startAction = (task: Task): { readonly action: AssignedAction } | { readonly problem: string } => {
  try {
    const action = assignedAction(task, ActionType.START_STEP_RUN, task.retryCount)
    if (sizeBound(action) <= maxMessageBytes) return { action }
    const size = AssignedAction.encode(action).finish().length
    if (size <= maxMessageBytes) return { action }
    return {
      problem: `Could not send task to worker: trying to send message larger than max (${size} vs. ${maxMessageBytes}). ` +
        "The task's input, metadata and parent outputs do not fit in one gRPC message; store large data elsewhere and pass a reference."
    }
  } catch (error) {
    return { problem: `Could not send task to worker: could not encode action: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const assign = (state: EngineState, task: Task, worker: Worker, now: number) => {
  takeSlots(worker, task, 1)
  worker.running.add(task)
  const runtime = { retryCount: task.retryCount, worker, timeoutAt: now + task.step.timeoutMs, assignedAt: now }
  task.runtime = runtime
  task.queueToken = 0
  task.status = "RUNNING"
  if (task.startedAt === undefined) task.startedAt = now
  // out of the queue: its schedule timeout is over, and it no longer asks for its dynamic keys
  state.timers.cancel("ScheduleTimeout", task.externalId)
  RateLimits.releaseDynamicKeys(state, task)
  recordEvent(state, task, "ASSIGNED", now, { workerId: worker.id })
  armTimeout(state, task)
  const start = startAction(task)
  if ("problem" in start) {
    // the same message would fail every retry: final at once (upstream retries it internally)
    failTaskApp(state, task, task.retryCount, { message: start.problem, shouldNotRetry: true, source: "worker" }, now)
    return
  }
  const action = start.action
  // The newest stream first. A worker that lost its connection silently (a stale NAT flow, a
  // half-open TCP connection) and reconnected still has its dead stream open here until the
  // server's keepalive closes it (30 s + 20 s); oldest-first would send every assignment into it
  // meanwhile. Upstream tries the streams in `sync.Map` order, which is unspecified.
  let delivered = false
  const sessions = [...worker.sessions.values()]
  for (let i = sessions.length - 1; i >= 0 && !delivered; i--) delivered = sessions[i]!.send(action)
  if (delivered) {
    recordEvent(state, task, "SENT_TO_WORKER", now, { workerId: worker.id })
  } else {
    failTaskInternal(state, task, undeliverable, now, { delayMs: redeliveryDelayMs(task), publish: true })
  }
}

/** Arms (or moves, after a refresh) the execution timeout of the current attempt. */
export const armTimeout = (state: EngineState, task: Task): void => {
  const runtime = task.runtime
  if (runtime === undefined) return
  state.timers.set({ kind: "ExecutionTimeout", id: task.externalId, token: runtime.retryCount, at: runtime.timeoutAt })
}

/** The execution timeout of the attempt `retryCount`: it fails if it is still running. */
export const onExecutionTimeout = (state: EngineState, task: Task, retryCount: number, now: number): void => {
  const runtime = task.runtime
  if (runtime === undefined || runtime.retryCount !== retryCount) return
  if (runtime.timeoutAt > now) armTimeout(state, task)
  else if (runtime.batch !== undefined) timeOutBatch(state, runtime.batch.run, now)
  else timeOutTask(state, task, now)
}

/** Ends the current attempt's hold on its worker: slots freed, runtime cleared, timeout cancelled. */
export const releaseRuntime = (state: EngineState, task: Task): void => {
  const runtime = task.runtime
  if (runtime === undefined) return
  task.runtime = undefined
  state.timers.cancel("ExecutionTimeout", task.externalId)
  if (runtime.worker !== undefined) releaseSlot(state, task, runtime.worker, runtime)
  if (runtime.batch !== undefined) leaveBatch(state, task, runtime.batch.run)
}

/** Frees the slots `task` holds on `worker` (attempt end or `ReleaseSlot`); a batch member's are its batch's. */
export const releaseSlot = (state: EngineState, task: Task, worker: Worker, runtime: Runtime | undefined = task.runtime): void => {
  if (!worker.running.delete(task)) return
  if (runtime?.batch !== undefined) {
    releaseBatchSlot(state, task, runtime.batch.run)
    return
  }
  takeSlots(worker, task, -1)
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
    if (other.status !== "COMPLETED") continue
    const output = parseJson(other.output)
    if (output === null || output === undefined) parents[other.step.readableId] = {}
    else if (isJsonObject(output)) parents[other.step.readableId] = output
  }
  return parents
}

/** The `action_payload` JSON of a START (`V1StepRunData`, field order as Go marshals it). */
export const actionPayload = (task: Task): string => {
  const run = task.run
  const input = isJsonObject(run.input) ? run.input : null
  const parents = run.isDag ? completedOutputs(task) : {}
  let payload = `{"input":${goMarshal(input)},"triggered_by":"manual","parents":${goMarshal(parents)},` +
    `"triggers":{"filter_payload":${goMarshal(run.filterPayload)}},"user_data":null,"overrides":null`
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
    additionalMetadata: run.metadataRaw,
    priority: task.priority,
    workflowId: run.workflow.id,
    workflowVersionId: run.version.id
  }
  if (run.childIndex !== undefined) action.childWorkflowIndex = run.childIndex
  if (run.childKey !== undefined) action.childWorkflowKey = run.childKey
  if (run.parentTaskExternalId !== undefined) action.parentWorkflowRunId = run.parentTaskExternalId
  if (step.isDurable) action.durableTaskInvocationCount = task.retryCount + 1
  if (run.triggeringEvent !== undefined) {
    action.triggeringEventExternalId = run.triggeringEvent.id
    action.triggeringEventKey = run.triggeringEvent.key
  }
  const batch = task.runtime?.batch
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
