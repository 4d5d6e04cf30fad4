/**
 * Batch tasks (beta upstream): the tasks of a step with `batch` settings run together. Each task
 * evaluates its batch group key at creation; once its queue lets it through (rate limits are
 * taken there) it waits in the buffer of its key (`WAITING_FOR_BATCH`). A buffer is flushed when
 * it holds `maxSize` tasks, when its payloads pass 4 MB (the tasks before the one that crosses
 * it), or when its flush deadline passes (set when the group is created and moved to now +
 * interval by each flush; a task arriving after a passed deadline waits one 200 ms pass, as
 * upstream's poll collects it). A flush takes one default slot on one worker for the whole batch
 * (ranked by the first task), counts against `groupMaxRuns` batches running per key, records
 * `BATCH_FLUSHED` on every task and sends one `START_BATCH` whose payload maps each task's
 * external id to its run id and its START payload. The worker reports each task with
 * `SendBatchActionEvent`; the slot is freed once no task of the batch holds it, the batch stops
 * counting once none runs. A flush that finds no worker or no free batch run waits until a
 * worker gains capacity or a batch of the key ends. An execution timeout fails every task of the
 * batch ("Task failed due to batch timeout, …").
 *
 * Upstream `pkg/scheduling/v1/batch_scheduler.go`, `internal/services/scheduler/v1/scheduler.go
 * handleBatchAssignments`, `internal/services/dispatcher/dispatcher.go sendBatchStartFromPayload`,
 * `pkg/repository/task.go evalBatchGroupKey`.
 *
 * @internal
 */
import { ActionType, AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Cel from "./cel.js"
import { stepVariables } from "./concurrency.js"
import { actionPayload, armTimeout, chooseWorker, markWorkerDirty, maxMessageBytes, redeliveryDelayMs, sendCancel, undeliverable } from "./dispatch.js"
import { formatGoDuration } from "./duration.js"
import { newId } from "./ids.js"
import type { BatchGroup, BatchItem, BatchRun, EngineState, QueueEntry, Run, StepBatch, Task, TenantState, Worker } from "./model.js"
import { releaseDynamicKeys } from "./rateLimits.js"
import { failTaskApp, failTaskInternal, recordEvent } from "./tasks.js"

/** Upstream's poll interval: a task arriving after its group's deadline is flushed this much later. */
const pollIntervalMs = 200

/** A buffer whose payloads pass this many bytes is flushed (upstream `maxBufferedPayloadBytes`). */
const maxBufferedPayloadBytes = 4_000_000

// -----------------------------------------------------------------------------
// the group key
// -----------------------------------------------------------------------------

/** A task's batch group key, or the error it is created FAILED with. */
export type BatchKeyResult =
  | { readonly _tag: "Key"; readonly key: string }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * Evaluates the group key of `batch` for the task `taskExternalId` of `run` (upstream
 * `evalBatchGroupKey` over `ParseAndEvalStepRun`): a string, trimmed; anything else fails.
 */
export const evaluateBatchKey = (batch: StepBatch, run: Run, taskExternalId: string): BatchKeyResult => {
  const expression = batch.groupKey
  const fail = (reason: string): BatchKeyResult => ({
    _tag: "Failed",
    message: `failed to parse batch group key expression (${expression.source}): ${reason}`
  })
  if (expression.compiled._tag === "Invalid") return fail(expression.compiled.message)
  const result = Cel.evaluate(expression.compiled.program, stepVariables(run, taskExternalId))
  if (result._tag === "Error") return fail(result.message)
  const output = Cel.stepRunOutput(result.value)
  if (output._tag === "Int") return fail("expected string output for batch key, got int")
  if (output._tag === "Other") return fail(`output must evaluate to a string or integer: got ${output.type}`)
  return { _tag: "Key", key: output.value.trim() }
}

// -----------------------------------------------------------------------------
// buffering
// -----------------------------------------------------------------------------

/** Go's `time.RFC3339` of a UTC time (whole seconds). */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

const groupOf = (tenant: TenantState, task: Task, batch: StepBatch, now: number): BatchGroup => {
  const key = task.batchKey ?? ""
  const id = `${task.step.id}/${key}`
  let group = tenant.batchGroups.get(id)
  if (group === undefined) {
    group = { id, tenantId: tenant.tenant.id, step: task.step, key, buffer: [], deadline: now + batch.maxIntervalMs, active: 0, stalled: false }
    tenant.batchGroups.set(id, group)
  }
  return group
}

/** Whether an item still waits in its buffer (not cancelled, timed out or re-queued since). */
const isLive = (item: BatchItem) => item.task.queueToken === item.token && item.task.status === "QUEUED"

/**
 * A queued task of a batch step leaves its queue for its group's buffer (its schedule timeout
 * moves with it), then the group is looked at.
 */
export const bufferTask = (state: EngineState, tenant: TenantState, entry: QueueEntry, now: number): void => {
  const task = entry.task
  const batch = task.step.batch!
  const group = groupOf(tenant, task, batch, now)
  group.buffer = group.buffer.filter(isLive)
  if (group.buffer.length === 0 && group.deadline <= now) group.deadline = now + pollIntervalMs
  const token = ++state.queueSeq
  task.queueToken = token
  state.timers.set({ kind: "ScheduleTimeout", id: task.externalId, token, at: entry.deadline })
  group.buffer.push({ task, token, deadline: entry.deadline, payloadSize: Buffer.byteLength(actionPayload(task)) })
  recordEvent(state, task, "WAITING_FOR_BATCH", now, { message: waitingMessage(group, batch) })
  lookAt(state, tenant, group, now)
}

/** Upstream's `WAITING_FOR_BATCH` message. */
const waitingMessage = (group: BatchGroup, batch: StepBatch) => {
  let message = `Waiting for batch (${Math.max(group.buffer.length, 1)}/${batch.maxSize}).`
  if (group.key !== "") message += ` Batch group key: ${group.key}.`
  if (batch.maxIntervalMs > 0) {
    message += ` Flush at ${rfc3339(group.deadline)} (interval ${formatGoDuration(batch.maxIntervalMs)}).`
  }
  if (batch.groupMaxRuns > 0) message += ` Max concurrent batches per key: ${batch.groupMaxRuns}.`
  return message
}

type FlushReason = "size" | "interval" | "memory"

/** How many leading items to flush because their payloads pass the limit, if they do. */
const memoryCut = (buffer: ReadonlyArray<BatchItem>): number | undefined => {
  let total = 0
  for (let i = 0; i < buffer.length; i++) {
    total += buffer[i]!.payloadSize
    if (total > maxBufferedPayloadBytes) return Math.max(i, 1)
  }
  return undefined
}

/** Flushes what is due in `group` (memory, size, then deadline) and arms its next look. */
const lookAt = (state: EngineState, tenant: TenantState, group: BatchGroup, now: number): void => {
  const batch = group.step.batch!
  group.buffer = group.buffer.filter(isLive)
  group.stalled = false
  for (;;) {
    const cut = memoryCut(group.buffer)
    const count = cut ?? (group.buffer.length >= batch.maxSize ? batch.maxSize : undefined)
    if (count === undefined) break
    if (!flush(state, tenant, group, count, cut !== undefined ? "memory" : "size", now)) {
      group.stalled = true
      break
    }
  }
  if (!group.stalled && group.buffer.length > 0 && group.deadline <= now) {
    if (!flush(state, tenant, group, group.buffer.length, "interval", now)) group.stalled = true
  }
  if (group.buffer.length === 0 || group.stalled) state.timers.cancel("BatchFlush", group.id)
  else state.timers.set({ kind: "BatchFlush", id: group.id, tenantId: group.tenantId, at: group.deadline })
}

/** A group's timer: its deadline passed, or capacity appeared for a stalled flush. */
export const onBatchFlush = (state: EngineState, tenantId: string, groupId: string, now: number): void => {
  const tenant = state.tenants.get(tenantId)
  const group = tenant?.batchGroups.get(groupId)
  if (tenant !== undefined && group !== undefined) lookAt(state, tenant, group, now)
}

/** Looks at `group` again at the next timer pass. */
const kick = (state: EngineState, group: BatchGroup) => {
  if (group.buffer.length > 0) state.timers.set({ kind: "BatchFlush", id: group.id, tenantId: group.tenantId, at: 0 })
}

/** `worker` gained capacity or became schedulable: the stalled groups of its actions try again. */
export const kickStalled = (state: EngineState, worker: Worker): void => {
  const groups = state.tenants.get(worker.tenantId)?.batchGroups
  if (groups === undefined || groups.size === 0) return
  for (const group of groups.values()) {
    if (group.stalled && worker.actions.has(group.step.action)) kick(state, group)
  }
}

// -----------------------------------------------------------------------------
// flushing
// -----------------------------------------------------------------------------

/** Whether `worker` has a free default slot: a batch takes one, whatever its step requests. */
const hasBatchSlot = (worker: Worker) => (worker.slotConfig.get("default") ?? 0) - (worker.slotsUsed.get("default") ?? 0) >= 1

/** The worker a batch led by `first` goes to: one default slot, ranked by the first task. */
const pickWorker = (state: EngineState, tenant: TenantState, first: Task, now: number): Worker | undefined => {
  const candidates = tenant.actionWorkers.get(first.step.action)
  if (candidates === undefined || candidates.size === 0) return undefined
  return chooseWorker(state, tenant, first.step.action, [...candidates], first, now, hasBatchSlot)
}

/** Upstream's `describeBatchFlushReason`. */
const reasonText = (reason: FlushReason, batch: StepBatch) => {
  switch (reason) {
    case "size":
      return `batch size threshold ${batch.maxSize} reached`
    case "interval":
      return batch.maxIntervalMs > 0 ? `batch max interval ${formatGoDuration(batch.maxIntervalMs)} elapsed` : "batch max interval elapsed"
    case "memory":
      return "batch max memory size reached"
  }
}

/** Upstream's `BATCH_FLUSHED` message. */
const flushedMessage = (run: BatchRun, batch: StepBatch, reason: string, now: number) => {
  let message = `Batch ${run.id} flushed (${run.size}/${batch.maxSize} tasks) at ${rfc3339(now)} because ${reason}.`
  if (run.group.key !== "") message += ` Batch group key: ${run.group.key}.`
  if (batch.groupMaxRuns > 0) message += ` Max concurrent batches per key: ${batch.groupMaxRuns}.`
  if (batch.maxIntervalMs > 0) message += ` Configured batch max interval: ${formatGoDuration(batch.maxIntervalMs)}.`
  return message
}

/**
 * Flushes the first `count` items of `group` to one worker; false (nothing changed) when no
 * worker has a free slot or the key already runs `groupMaxRuns` batches.
 */
const flush = (state: EngineState, tenant: TenantState, group: BatchGroup, count: number, reason: FlushReason, now: number): boolean => {
  const batch = group.step.batch!
  const items = group.buffer.slice(0, count)
  if (batch.groupMaxRuns > 0 && group.key !== "" && group.active >= batch.groupMaxRuns) return false
  const worker = pickWorker(state, tenant, items[0]!.task, now)
  if (worker === undefined) return false
  group.buffer = group.buffer.slice(count)
  group.deadline = now + batch.maxIntervalMs
  group.active++
  const run: BatchRun = { id: newId(), group, worker, size: items.length, members: new Set(), holders: new Set() }
  worker.slotsUsed.set("default", (worker.slotsUsed.get("default") ?? 0) + 1)
  const why = reasonText(reason, batch)
  const message = flushedMessage(run, batch, why, now)
  items.forEach(({ task }, index) => {
    task.runtime = { retryCount: task.retryCount, worker, timeoutAt: now + task.step.timeoutMs, assignedAt: now, batch: { run, index } }
    task.queueToken = 0
    task.status = "RUNNING"
    if (task.startedAt === undefined) task.startedAt = now
    worker.running.add(task)
    run.members.add(task)
    run.holders.add(task)
    state.timers.cancel("ScheduleTimeout", task.externalId)
    releaseDynamicKeys(state, task)
    recordEvent(state, task, "BATCH_FLUSHED", now, { workerId: worker.id, message })
    armTimeout(state, task)
  })
  deliver(state, run, why, now)
  return true
}

/** `START_BATCH` for a flushed batch: the members' payloads keyed by external id (Go sorts map keys). */
const startBatchAction = (run: BatchRun, reason: string, now: number): AssignedAction => {
  const members = [...run.members].sort((a, b) => (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0))
  const payload = `{${
    members.map((task) => `${JSON.stringify(task.externalId)}:{"workflow_run_id":${JSON.stringify(task.run.id)},"payload":${actionPayload(task)}}`).join(",")
  }}`
  return AssignedAction.fromPartial({
    tenantId: run.group.tenantId,
    actionId: run.group.step.action,
    actionType: ActionType.START_BATCH,
    actionPayload: payload,
    batchId: run.id,
    batchStartPayload: { triggerReason: reason, triggerTime: new Date(now), expectedSize: run.size },
    batchKey: run.group.key !== "" ? run.group.key : undefined
  })
}

/** Sends the batch to its worker's newest stream; a batch that cannot be sent fails or is retried as a task would. */
const deliver = (state: EngineState, run: BatchRun, reason: string, now: number) => {
  const action = startBatchAction(run, reason, now)
  const members = [...run.members]
  const size = Buffer.byteLength(action.actionPayload) + 1024
  if (size > maxMessageBytes) {
    const message = `Could not send batch to worker: trying to send message larger than max (${size} vs. ${maxMessageBytes}).`
    for (const task of members) failTaskApp(state, task, task.retryCount, { message, shouldNotRetry: true, source: "worker" }, now)
    return
  }
  const sessions = [...run.worker.sessions.values()]
  let delivered = false
  for (let i = sessions.length - 1; i >= 0 && !delivered; i--) delivered = sessions[i]!.send(action)
  if (delivered) return
  for (const task of members) {
    failTaskInternal(state, task, undeliverable, now, { delayMs: redeliveryDelayMs(task), publish: true })
  }
}

// -----------------------------------------------------------------------------
// a batch's tasks end
// -----------------------------------------------------------------------------

/** A member gives up its slot: the batch's slot is freed with its last holder. */
export const releaseBatchSlot = (state: EngineState, task: Task, run: BatchRun): void => {
  if (!run.holders.delete(task) || run.holders.size > 0) return
  run.worker.slotsUsed.set("default", (run.worker.slotsUsed.get("default") ?? 0) - 1)
  markWorkerDirty(state, run.worker)
}

/** A member's attempt ended: with the last one, the batch stops counting against its key. */
export const leaveBatch = (state: EngineState, task: Task, run: BatchRun): void => {
  if (!run.members.delete(task) || run.members.size > 0) return
  run.group.active--
  if (run.group.stalled) kick(state, run.group)
}

/**
 * The execution timeout of a batch member: every member still running fails (upstream fails the
 * whole batch), each with the batch timeout message naming its own timeout when it passed too.
 */
export const timeOutBatch = (state: EngineState, run: BatchRun, now: number): void => {
  for (const task of [...run.members]) {
    const runtime = task.runtime
    if (runtime === undefined) continue
    const timeout = runtime.timeoutAt <= now ? (task.step.timeout ?? "") : "batch timeout"
    if (runtime.worker !== undefined) sendCancel(runtime.worker, task, runtime.retryCount)
    failTaskApp(state, task, runtime.retryCount, {
      message: `Task failed due to batch timeout, exceeded timeout of ${timeout}`,
      shouldNotRetry: false,
      source: "timeout"
    }, now)
  }
}
