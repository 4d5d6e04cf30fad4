/**
 * Batch tasks (beta upstream), the buffers: the tasks of a step with `batch` settings run
 * together. Each task evaluates its batch group key at creation; once its queue lets it through
 * (rate limits are taken there) it leaves the queue for the buffer of its key: its state is
 * `Batching` (upstream moves the queue item to `v1_batched_queue_item`, `WAITING_FOR_BATCH`). A
 * buffer is due for a flush when it holds `maxSize` tasks, when its payloads pass 4 MB (the tasks
 * before the one that crosses it), or when its flush deadline passes (set when the group is
 * created and moved to now + interval by each flush; a task arriving after a passed deadline
 * waits one 200 ms pass, as upstream's poll collects it). A group's next look is a `BatchFlush`
 * timer. Flushing a due batch to a worker (one default slot for the whole batch, `groupMaxRuns`
 * batches running per key, `START_BATCH`) is an assignment: `assignment.ts`.
 *
 * Upstream `pkg/scheduling/v1/batch_scheduler.go`, `internal/services/scheduler/v1/scheduler.go
 * handleBatchAssignments`, `internal/services/dispatcher/dispatcher.go sendBatchStartFromPayload`,
 * `pkg/repository/task.go evalBatchGroupKey`.
 *
 * @internal
 */
import { ActionType, AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Cel from "@effect-hatchet/shared/Cel"
import { setTaskState } from "./changes.js"
import { actionPayload } from "./dispatch.js"
import { formatGoDuration } from "./duration.js"
import { stepVariables } from "./expressions.js"
import type { BatchGroup, BatchItem, BatchRun, EngineState, QueueEntry, Run, StepBatch, Task, TenantState } from "./model.js"
import { recordEvent } from "./taskEvents.js"
import { TaskTimeout } from "./timers.js"

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
    group = {
      id,
      tenantId: tenant.tenant.id,
      step: task.step,
      key,
      buffer: [],
      deadline: now + batch.maxIntervalMs,
      active: 0,
      stalled: false
    }
    tenant.batchGroups.set(id, group)
  }
  return group
}

/** Whether an item still waits in its buffer (not cancelled, timed out or re-queued since). */
const isLive = (item: BatchItem) => item.task.state._tag === "Batching" && item.task.state.token === item.token

/** Drops the items that no longer wait from `group`'s buffer. */
export const dropStale = (group: BatchGroup): void => {
  group.buffer = group.buffer.filter(isLive)
}

/**
 * A queued task of a batch step leaves its queue for its group's buffer (`Batching`, its schedule
 * timeout moving with it under the new token); the caller looks at the group.
 */
export const bufferTask = (state: EngineState, tenant: TenantState, entry: QueueEntry, now: number): BatchGroup => {
  const task = entry.task
  const batch = task.step.batch!
  const group = groupOf(tenant, task, batch, now)
  dropStale(group)
  if (group.buffer.length === 0 && group.deadline <= now) group.deadline = now + pollIntervalMs
  const token = ++state.queueSeq
  setTaskState(state, task, { _tag: "Batching", token, key: group.key })
  state.timers.set(new TaskTimeout("ScheduleTimeout", task.externalId, token, entry.deadline))
  group.buffer.push({ task, token, payloadSize: Buffer.byteLength(actionPayload(task)) })
  recordEvent(state, task, "WAITING_FOR_BATCH", now, { message: waitingMessage(group, batch) })
  return group
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

/** Why a batch is flushed. */
export type FlushReason = "size" | "interval" | "memory"

/** How many leading items to flush because their payloads pass the limit, if they do. */
const memoryCut = (buffer: ReadonlyArray<BatchItem>): number | undefined => {
  let total = 0
  for (let i = 0; i < buffer.length; i++) {
    total += buffer[i]!.payloadSize
    if (total > maxBufferedPayloadBytes) return Math.max(i, 1)
  }
  return undefined
}

/**
 * The next flush due in `group` (its buffer without stale items): the items before a 4 MB cut,
 * then a full batch, then everything once the deadline passed.
 */
export const dueFlush = (group: BatchGroup, now: number): { readonly count: number; readonly reason: FlushReason } | undefined => {
  const batch = group.step.batch!
  const cut = memoryCut(group.buffer)
  if (cut !== undefined) return { count: cut, reason: "memory" }
  if (group.buffer.length >= batch.maxSize) return { count: batch.maxSize, reason: "size" }
  if (group.buffer.length > 0 && group.deadline <= now) return { count: group.buffer.length, reason: "interval" }
  return undefined
}

/** Arms `group`'s next look at its deadline, or none while it is empty or stalled (capacity wakes it). */
export const armGroup = (state: EngineState, group: BatchGroup): void => {
  if (group.buffer.length === 0 || group.stalled) state.timers.cancel("BatchFlush", group.id)
  else state.timers.set({ kind: "BatchFlush", id: group.id, tenantId: group.tenantId, at: group.deadline })
}

// -----------------------------------------------------------------------------
// a flushed batch
// -----------------------------------------------------------------------------

/** Upstream's `describeBatchFlushReason`. */
export const reasonText = (reason: FlushReason, batch: StepBatch) => {
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
export const flushedMessage = (run: BatchRun, batch: StepBatch, reason: string, now: number) => {
  let message = `Batch ${run.id} flushed (${run.size}/${batch.maxSize} tasks) at ${rfc3339(now)} because ${reason}.`
  if (run.group.key !== "") message += ` Batch group key: ${run.group.key}.`
  if (batch.groupMaxRuns > 0) message += ` Max concurrent batches per key: ${batch.groupMaxRuns}.`
  if (batch.maxIntervalMs > 0) message += ` Configured batch max interval: ${formatGoDuration(batch.maxIntervalMs)}.`
  return message
}

/** `START_BATCH` for a flushed batch: the members' payloads keyed by external id (Go sorts map keys). */
export const startBatchAction = (run: BatchRun, reason: string, now: number): AssignedAction => {
  const members: Array<Task> = [...run.members].sort((a, b) => (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0))
  const payload = `{${
    members.map((task) =>
      `${JSON.stringify(task.externalId)}:{"workflow_run_id":${JSON.stringify(task.run.id)},"payload":${actionPayload(task)}}`
    ).join(",")
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
