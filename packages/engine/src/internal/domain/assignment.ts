/**
 * Assignment passes: whenever work or capacity appears, the `(tenant, action)` pair is marked
 * dirty (`queue.ts`); `assignDirty` (run at the end of every domain operation) hands the tasks of
 * each dirty queue, in order, to eligible workers: registered with exactly that action, an open
 * stream, a heartbeat within the last 5 s, not paused, and free units for every slot type the
 * step requests. The best-ranked candidate wins (sticky strategy, then desired worker labels);
 * equal ranks are taken round-robin per action. A task short of rate-limit units
 * (`rateLimits.ts`) is passed over until its key refills. An assignment that cannot be delivered
 * is an internal failure of the attempt; one too large to send fails the task.
 *
 * A batch step's tasks go from their queue to their batch buffers (`batches.ts`); a due batch is
 * flushed here to one worker, as upstream's scheduler assigns it: one default slot on one worker
 * for the whole batch (ranked by its first task), at most `groupMaxRuns` batches running per key,
 * `BATCH_FLUSHED` on every task and one `START_BATCH`. The worker reports each task with
 * `SendBatchActionEvent`; the slot is freed once no task of the batch holds it, the batch stops
 * counting once none runs (`dispatch.ts releaseRuntime`). A flush that finds no worker or no
 * free batch run waits until a worker gains capacity or a batch of the key ends. An execution
 * timeout fails every task of the batch (`tasks.ts`).
 *
 * `docs/engine.md` §2; upstream `pkg/scheduling/v1`, `internal/services/dispatcher`.
 *
 * @internal
 */
import { ActionType, AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { WorkerLabelComparator } from "@effect-hatchet/proto/v1/shared/trigger"
import { StickyStrategy } from "@effect-hatchet/proto/v1/workflows"
import * as Batches from "./batches.js"
import { setTaskState } from "./changes.js"
import { armTimeout, assignedAction, isSchedulable, maxMessageBytes, park, takeSlots } from "./dispatch.js"
import { beginInvocation } from "./durableLog.js"
import { newId } from "./ids.js"
import type { BatchGroup, BatchRun, DesiredLabel, EngineState, Task, TenantState, Worker, WorkerLabel } from "./model.js"
import * as RateLimits from "./rateLimits.js"
import { recordEvent } from "./taskEvents.js"
import { failTaskApp, failTaskInternal } from "./tasks.js"

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

/**
 * A rate-limited item whose key refills more than this much later leaves the queue until the
 * refill (upstream `rateLimitedRequeueAfterThreshold`); a nearer refill keeps it in place.
 */
const rateLimitedRequeueAfterMs = 2_000

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
      const short = RateLimits.shortage(state, tenant, units, now)
      if (short !== undefined) {
        if (short.refillAt !== undefined && short.refillAt - now > rateLimitedRequeueAfterMs) park(state, entry, short.refillAt)
        else if (short.limit !== undefined) RateLimits.wakeOnRefill(state, tenantId, short.limit, action)
        continue
      }
    }
    if (entry.task.step.batch !== undefined) {
      if (units !== undefined) RateLimits.consume(state, tenant, units, now)
      lookAtBatchGroup(state, tenant, Batches.bufferTask(state, tenant, entry, now), now)
      continue
    }
    const chosen = chooseWorker(state, tenant, action, workers, entry.task, now, hasCapacity)
    if (chosen === undefined) return
    if (units !== undefined) RateLimits.consume(state, tenant, units, now)
    assign(state, entry.task, chosen, now)
  }
}

/**
 * The schedulable worker that fits `task` with the best rank, round-robin per action among equal
 * ranks (the action's offset moves past the one chosen).
 */
const chooseWorker = (
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

/** Delay before re-queueing an assignment that could not be delivered: 100 ms doubling to 5 s. */
const redeliveryDelayMs = (task: Task) => Math.min(5_000, 100 * Math.pow(2, task.internalRetryCount))

const undeliverable =
  "Could not send task to worker. This likely means that too many slots have been configured for the worker, or the worker has crashed."

/** At least the encoded size of `action`: at most 3 UTF-8 bytes per UTF-16 unit, plus tags and numbers. */
const sizeBound = (action: AssignedAction): number => {
  let units = 0
  for (const key in action) {
    const value = action[key as keyof AssignedAction]
    if (typeof value === "string") units += value.length
  }
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

/** Sends `action` to the newest stream of `worker` that takes it; false when none does. */
const sendToNewest = (worker: Worker, action: AssignedAction): boolean => {
  if (worker.sessions.size === 1) {
    for (const session of worker.sessions.values()) return session.send(action)
  }
  const sessions = [...worker.sessions.values()]
  for (let i = sessions.length - 1; i >= 0; i--) if (sessions[i]!.send(action)) return true
  return false
}

const assign = (state: EngineState, task: Task, worker: Worker, now: number) => {
  takeSlots(worker, task, 1)
  worker.running.add(task)
  setTaskState(state, task, { _tag: "Assigned", worker, timeoutAt: now + task.step.timeoutMs, assignedAt: now })
  if (task.startedAt === undefined) task.startedAt = now
  beginInvocation(state, task)
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
  if (sendToNewest(worker, action)) {
    recordEvent(state, task, "SENT_TO_WORKER", now, { workerId: worker.id })
  } else {
    failTaskInternal(state, task, undeliverable, now, { delayMs: redeliveryDelayMs(task), publish: true })
  }
}

// -----------------------------------------------------------------------------
// batches
// -----------------------------------------------------------------------------

/** Flushes what is due in `group` (memory, size, then deadline) and arms its next look. */
const lookAtBatchGroup = (state: EngineState, tenant: TenantState, group: BatchGroup, now: number): void => {
  Batches.dropStale(group)
  group.stalled = false
  for (;;) {
    const due = Batches.dueFlush(group, now)
    if (due === undefined) break
    if (!flushBatch(state, tenant, group, due.count, due.reason, now)) {
      group.stalled = true
      break
    }
  }
  Batches.armGroup(state, group)
}

/** A group's timer: its deadline passed, or capacity appeared for a stalled flush. */
export const onBatchFlush = (state: EngineState, tenantId: string, groupId: string, now: number): void => {
  const tenant = state.tenants.get(tenantId)
  const group = tenant?.batchGroups.get(groupId)
  if (tenant !== undefined && group !== undefined) lookAtBatchGroup(state, tenant, group, now)
}

/** Whether `worker` has a free default slot: a batch takes one, whatever its step requests. */
const hasBatchSlot = (worker: Worker) => (worker.slotConfig.get("default") ?? 0) - (worker.slotsUsed.get("default") ?? 0) >= 1

/**
 * Flushes the first `count` items of `group` to one worker; false (nothing changed) when no
 * worker has a free slot or the key already runs `groupMaxRuns` batches.
 */
const flushBatch = (
  state: EngineState,
  tenant: TenantState,
  group: BatchGroup,
  count: number,
  reason: Batches.FlushReason,
  now: number
): boolean => {
  const batch = group.step.batch!
  const items = group.buffer.slice(0, count)
  if (batch.groupMaxRuns > 0 && group.key !== "" && group.active >= batch.groupMaxRuns) return false
  const action = group.step.action
  const candidates = tenant.actionWorkers.get(action)
  if (candidates === undefined || candidates.size === 0) return false
  const worker = chooseWorker(state, tenant, action, [...candidates], items[0]!.task, now, hasBatchSlot)
  if (worker === undefined) return false
  group.buffer = group.buffer.slice(count)
  group.deadline = now + batch.maxIntervalMs
  group.active++
  const run: BatchRun = { id: newId(), group, worker, size: items.length, members: new Set(), holders: new Set() }
  worker.slotsUsed.set("default", (worker.slotsUsed.get("default") ?? 0) + 1)
  const why = Batches.reasonText(reason, batch)
  const message = Batches.flushedMessage(run, batch, why, now)
  items.forEach(({ task }, index) => {
    setTaskState(state, task, {
      _tag: "Assigned",
      worker,
      timeoutAt: now + task.step.timeoutMs,
      assignedAt: now,
      batch: { run, index }
    })
    if (task.startedAt === undefined) task.startedAt = now
    worker.running.add(task)
    run.members.add(task)
    run.holders.add(task)
    // out of the buffer: its schedule timeout is over, and it no longer asks for its dynamic keys
    state.timers.cancel("ScheduleTimeout", task.externalId)
    RateLimits.releaseDynamicKeys(state, task)
    recordEvent(state, task, "BATCH_FLUSHED", now, { workerId: worker.id, message })
    armTimeout(state, task)
  })
  deliverBatch(state, run, why, now)
  return true
}

/** Sends the batch to its worker's newest stream; a batch that cannot be sent fails or is retried as a task would. */
const deliverBatch = (state: EngineState, run: BatchRun, reason: string, now: number) => {
  const action = Batches.startBatchAction(run, reason, now)
  const members = [...run.members]
  const size = Buffer.byteLength(action.actionPayload) + 1024
  if (size > maxMessageBytes) {
    const message = `Could not send batch to worker: trying to send message larger than max (${size} vs. ${maxMessageBytes}).`
    for (const task of members) failTaskApp(state, task, task.retryCount, { message, shouldNotRetry: true, source: "worker" }, now)
    return
  }
  if (sendToNewest(run.worker, action)) return
  for (const task of members) {
    failTaskInternal(state, task, undeliverable, now, { delayMs: redeliveryDelayMs(task), publish: true })
  }
}
