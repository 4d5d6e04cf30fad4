/**
 * What a durable task's worker asks of its event log over `V1Dispatcher/DurableTask`
 * (`docs/engine.md` §9.3): memoized values (`memo`, `complete_memo`), waits (`wait_for`: sleeps and user
 * events, with a lookback), child runs (`trigger_runs`, deduplicated by spawn key), eviction
 * (`evict_invocation`) and the polling fallback (`worker_status`); `RestoreEvictedTask`; and the
 * older protocol's `RegisterDurableEvent` / `ListenForDurableEvent` (signals by key).
 *
 * Each request names the invocation it comes from: a request of an older invocation is answered
 * with `server_evict`. Each call takes the next node of the log; at a node the log already has,
 * the call must be the same as the recorded one (else a non-determinism error) and is answered
 * from the log. Errors in a request are not statuses: as upstream, a task that is not found, or a
 * malformed request, is only logged (the worker's ack never arrives).
 *
 * Upstream `internal/services/dispatcher/server_v1.go`, `pkg/repository/durable_events.go`.
 *
 * @internal
 */
import {
  type DurableEventLogEntryRef,
  DurableTaskErrorType,
  type DurableTaskRequest,
  type DurableTaskResponse,
  type RegisterDurableEventRequest
} from "@effect-hatchet/proto/v1/dispatcher"
import type { DurableEventListenerConditions } from "@effect-hatchet/proto/v1/shared/condition"
import * as Either from "effect/Either"
import { replayIds } from "./admin.js"
import { touchRun } from "./changes.js"
import { releaseRuntime } from "./dispatch.js"
import * as DurableCalls from "./durableCalls.js"
import {
  deliverEntry,
  entryKey,
  evictStalledReleases,
  lookBack,
  markEvicted,
  onSignal,
  restore,
  sendSignal,
  signalListenKey
} from "./durableLog.js"
import { parseDuration } from "./duration.js"
import { type Internal, internalWith, type InvalidArgument, invalidArgument, type NotFound, notFound } from "./errors.js"
import { isUuid, newId, parseUuid } from "./ids.js"
import { armChildSignal, armSignal, type SignalCondition } from "./matches.js"
import type { DurableEntry, DurableEventListener, DurableLog, DurableStream, EngineState, Task } from "./model.js"
import { isFinal } from "./model.js"
import { checkTriggers, spawnKey, startTriggered } from "./triggers.js"

/** A wait's sleep whose duration does not parse lasts 5 minutes (`convert_duration_to_interval`). */
const defaultSleepMs = 5 * 60 * 1000

/** Upstream's message of an eviction without a reason. */
export const defaultEvictionReason = "Task paused and evicted from worker"

/** Why a request was not handled (logged by the caller, as upstream logs handler errors). */
export class DurableRequestError extends Error {}

const fail = (message: string): never => {
  throw new DurableRequestError(message)
}

/** The task a request names, in the stream's tenant. */
const taskOf = (state: EngineState, stream: DurableStream, id: string): Task => {
  const parsed = parseUuid(id)
  if (!parsed.ok) return fail(`invalid durable_task_external_id: ${parsed.error}`)
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== stream.tenantId) return fail(`task not found: ${parsed.value}`)
  return task
}

/** Routes the task's later completions to this stream (upstream registers on memo, trigger and wait). */
const route = (state: EngineState, stream: DurableStream, task: Task) => {
  state.durableStreams.set(task.externalId, stream)
}

/**
 * The log of `task` when `invocationCount` is its current invocation; otherwise the worker is
 * told its invocation is stale (`server_evict`) and nothing else happens.
 */
const currentLog = (stream: DurableStream, task: Task, invocationCount: number): DurableLog | undefined => {
  const log = task.durable
  if (log === undefined) return fail(`no durable event log for task ${task.externalId}`)
  if (log.invocationCount === invocationCount) return log
  stream.send({
    serverEvict: {
      durableTaskExternalId: task.externalId,
      invocationCount,
      reason: `invocation count mismatch for task ${task.externalId}: server has ${log.invocationCount}, worker sent ${invocationCount}`
    }
  })
  return undefined
}

/** The branch a node belongs to on the log's current branch (`resolveBranchForNode`). */
const branchFor = (log: DurableLog, nodeId: number): number => {
  const tree: Array<{ readonly branchId: number; readonly fromNodeId: number }> = []
  let branchId = log.latestBranchId
  for (;;) {
    const point = log.branchPoints.get(branchId)
    if (point === undefined) {
      tree.push({ branchId, fromNodeId: 0 })
      break
    }
    tree.push({ branchId, fromNodeId: point.firstNodeIdInNewBranch })
    branchId = point.parentBranchId
  }
  tree.sort((a, b) => a.fromNodeId - b.fromNodeId || a.branchId - b.branchId)
  let found = tree[0]!.branchId
  for (const { branchId: id, fromNodeId } of tree) if (fromNodeId <= nodeId) found = id
  return found
}

const ref = (task: Task, invocationCount: number, entry: DurableEntry): DurableEventLogEntryRef => ({
  durableTaskExternalId: task.externalId,
  invocationCount,
  branchId: entry.branchId,
  nodeId: entry.nodeId
})

/** A call at a node whose recorded call differs: the replay is not deterministic. */
class NonDeterminism {
  constructor(readonly entry: DurableEntry, readonly received: string) {}
}

const nonDeterminismResponse = (task: Task, invocationCount: number, nd: NonDeterminism): DurableTaskResponse => ({
  error: {
    ref: ref(task, invocationCount, nd.entry),
    errorType: DurableTaskErrorType.DURABLE_TASK_ERROR_TYPE_NONDETERMINISM,
    errorMessage: DurableCalls.nonDeterminismMessage({
      taskExternalId: task.externalId,
      nodeId: nd.entry.nodeId,
      branchId: nd.entry.branchId,
      expected: nd.entry.describe,
      received: nd.received
    })
  }
})

/** A call to record: what identifies it, and what the entry keeps. */
interface NewEntry extends DurableCalls.DurableCall {
  readonly label?: string | undefined
  readonly childRunId?: string | undefined
  readonly result?: Uint8Array | undefined
}

/**
 * The entry at `nodeId` of the current branch: the recorded one when the call matches it (a
 * replay), a new one otherwise. A different call at a recorded node is a `NonDeterminism`.
 */
const entryAt = (
  state: EngineState,
  task: Task,
  log: DurableLog,
  nodeId: number,
  wanted: NewEntry,
  now: number
): { readonly entry: DurableEntry; readonly existed: boolean } => {
  const branchId = branchFor(log, nodeId)
  const existing = log.entries.get(entryKey(branchId, nodeId))
  if (existing !== undefined) {
    if (!DurableCalls.replays(existing, wanted)) throw new NonDeterminism(existing, wanted.describe)
    return { entry: existing, existed: true }
  }
  const entry: DurableEntry = {
    kind: wanted.kind,
    nodeId,
    branchId,
    invocationCount: log.invocationCount,
    idempotencyKey: wanted.idempotencyKey,
    createdAt: now,
    label: wanted.label,
    describe: DurableCalls.recordedDescribe(wanted),
    waitData: wanted.waitData,
    childRunId: wanted.childRunId,
    match: undefined,
    satisfied: wanted.result !== undefined,
    // only RUN and WAIT_FOR entries are ordered (a memo is created satisfied, or completed by its worker)
    satisfiedOrder: undefined,
    satisfiedAt: wanted.result !== undefined ? now : undefined,
    result: wanted.result,
    isFailure: false,
    errorMessage: undefined
  }
  log.entries.set(entryKey(branchId, nodeId), entry)
  touchRun(state, task.run)
  return { entry, existed: false }
}

// -----------------------------------------------------------------------------
// memo
// -----------------------------------------------------------------------------

const memo = (state: EngineState, stream: DurableStream, request: NonNullable<DurableTaskRequest["memo"]>, now: number) => {
  const task = taskOf(state, stream, request.durableTaskExternalId)
  route(state, stream, task)
  const log = currentLog(stream, task, request.invocationCount)
  if (log === undefined) return
  const payload = request.payload !== undefined && request.payload.length > 0 ? request.payload : undefined
  try {
    const nodeId = log.latestNodeId + 1
    const { entry, existed } = entryAt(state, task, log, nodeId, { ...DurableCalls.memoCall(request.key), result: payload }, now)
    log.latestNodeId = nodeId
    touchRun(state, task.run)
    stream.send({
      memoAck: {
        ref: ref(task, request.invocationCount, entry),
        memoAlreadyExisted: existed,
        ...(entry.result !== undefined ? { memoResultPayload: entry.result } : {})
      }
    })
    if (entry.satisfied) deliverEntry(stream, task, entry, request.invocationCount, now)
  } catch (error) {
    if (error instanceof NonDeterminism) stream.send(nonDeterminismResponse(task, request.invocationCount, error))
    else throw error
  }
}

/** `complete_memo`: the value the worker computed for a memo the log did not have. No reply. */
const completeMemo = (
  state: EngineState,
  stream: DurableStream,
  request: NonNullable<DurableTaskRequest["completeMemo"]>,
  now: number
) => {
  if (request.ref === undefined) return fail("ref is required")
  const task = taskOf(state, stream, request.ref.durableTaskExternalId)
  const entry = task.durable?.entries.get(entryKey(request.ref.branchId, request.ref.nodeId))
  if (entry === undefined || entry.kind !== "MEMO") {
    return fail(`failed to get durable event log entry at branch ${request.ref.branchId} node ${request.ref.nodeId}`)
  }
  if (entry.satisfied) return
  entry.satisfied = true
  entry.satisfiedAt = now
  entry.result = request.payload
  touchRun(state, task.run)
}

// -----------------------------------------------------------------------------
// wait_for
// -----------------------------------------------------------------------------

interface ParsedCondition {
  readonly condition: SignalCondition
  readonly since: number | undefined
}

const parseConditions = (conditions: DurableEventListenerConditions | undefined, now: number): Array<ParsedCondition> => {
  const parsed: Array<ParsedCondition> = []
  for (const sleep of conditions?.sleepConditions ?? []) {
    const base = sleep.base
    if (base === undefined || !isUuid(base.orGroupId)) return fail(`or group id is not a valid uuid: ${base?.orGroupId ?? ""}`)
    parsed.push({
      since: undefined,
      condition: {
        _tag: "Sleep",
        orGroupId: base.orGroupId,
        readableDataKey: base.readableDataKey,
        sleepFor: sleep.sleepFor,
        until: now + (parseDuration(sleep.sleepFor) ?? defaultSleepMs)
      }
    })
  }
  for (const event of conditions?.userEventConditions ?? []) {
    const base = event.base
    if (base === undefined || !isUuid(base.orGroupId)) return fail(`or group id is not a valid uuid: ${base?.orGroupId ?? ""}`)
    // as upstream, an expression is not compiled here: one that does not compile never holds
    parsed.push({
      since: event.considerEventsSince?.getTime(),
      condition: {
        _tag: "UserEvent",
        orGroupId: base.orGroupId,
        readableDataKey: base.readableDataKey,
        eventKey: event.userEventKey,
        scope: event.eventScope,
        expression: base.expression
      }
    })
  }
  return parsed
}

const waitFor = (state: EngineState, stream: DurableStream, request: NonNullable<DurableTaskRequest["waitFor"]>, now: number) => {
  const task = taskOf(state, stream, request.durableTaskExternalId)
  route(state, stream, task)
  const conditions = parseConditions(request.waitForConditions, now)
  const log = currentLog(stream, task, request.invocationCount)
  if (log === undefined) return
  try {
    const nodeId = log.latestNodeId + 1
    const { entry, existed } = entryAt(state, task, log, nodeId, {
      ...DurableCalls.waitCall(request.waitForConditions),
      label: request.label !== undefined && request.label !== "" ? request.label : undefined
    }, now)
    log.latestNodeId = nodeId
    touchRun(state, task.run)
    if (!existed && !entry.satisfied) armSignal(state, task, { entry }, conditions.map((c) => c.condition))
    stream.send({ waitForAck: { ref: ref(task, request.invocationCount, entry) } })
    if (!existed) {
      const lookbacks = conditions.flatMap(({ condition, since }) =>
        condition._tag === "UserEvent" && condition.scope !== undefined && since !== undefined
          ? [{ eventKey: condition.eventKey, scope: condition.scope, since }]
          : []
      )
      lookBack(state, task, entry, lookbacks, now)
    } else if (entry.satisfied) {
      deliverEntry(stream, task, entry, request.invocationCount, now)
    }
  } catch (error) {
    if (error instanceof NonDeterminism) stream.send(nonDeterminismResponse(task, request.invocationCount, error))
    else throw error
  }
}

// -----------------------------------------------------------------------------
// trigger_runs
// -----------------------------------------------------------------------------

/** The newest entry of the log for a child run. */
const entryOfChild = (log: DurableLog, runId: string): DurableEntry | undefined => {
  let found: DurableEntry | undefined
  for (const entry of log.entries.values()) {
    if (entry.kind === "RUN" && entry.childRunId === runId && (found === undefined || entry.branchId > found.branchId)) {
      found = entry
    }
  }
  return found
}

const triggerRuns = (
  state: EngineState,
  stream: DurableStream,
  request: NonNullable<DurableTaskRequest["triggerRuns"]>,
  now: number
) => {
  const task = taskOf(state, stream, request.durableTaskExternalId)
  route(state, stream, task)
  if (request.triggerOpts.length === 0) return fail("TriggerOptsList is required and must be non-empty for RUN kind")
  // every child names this task as its parent
  const requests = request.triggerOpts.map((opt) => ({ ...opt, parentTaskRunExternalId: task.externalId }))
  const checked = checkTriggers(state, task.tenantId, requests)
  if ("_tag" in checked) return fail(`failed to create trigger options: ${checked.message}`)
  const log = currentLog(stream, task, request.invocationCount)
  if (log === undefined) return
  try {
    const entries: Array<DurableEntry> = []
    const toStart: Array<{ readonly index: number; readonly runId: string }> = []
    let nextNode = log.latestNodeId + 1
    let maxNode = log.latestNodeId
    checked.opts.forEach((opt, index) => {
      const call = DurableCalls.runCall(opt.name, opt.inputRaw)
      const key = spawnKey(opt)
      const spawned = key !== undefined ? task.spawned.get(key) : undefined
      const recorded = spawned !== undefined ? entryOfChild(log, spawned) : undefined
      if (recorded !== undefined) {
        // a child this task spawned before (same spawn key): its entry answers, wherever it is;
        // only an index-based key is checked against the recorded call
        if (opt.childKey === undefined && !DurableCalls.replays(recorded, call)) throw new NonDeterminism(recorded, call.describe)
        entries.push(recorded)
        maxNode = Math.max(maxNode, recorded.nodeId)
        return
      }
      const runId = newId()
      const { entry, existed } = entryAt(state, task, log, nextNode, {
        ...call,
        label: opt.name,
        childRunId: runId
      }, now)
      nextNode++
      maxNode = Math.max(maxNode, entry.nodeId)
      entries.push(entry)
      if (!existed) toStart.push({ index, runId })
    })
    log.latestNodeId = maxNode
    touchRun(state, task.run)
    stream.send({
      triggerRunsAck: {
        durableTaskExternalId: task.externalId,
        invocationCount: request.invocationCount,
        runEntries: entries.map((entry) => ({
          nodeId: entry.nodeId,
          branchId: entry.branchId,
          workflowRunExternalId: entry.childRunId ?? ""
        }))
      }
    })
    for (const { index, runId } of toStart) {
      const opt = checked.opts[index]!
      if (!startTriggered(state, task.tenantId, opt, checked.versions.get(opt.name)!, runId, now)) continue
      // the entry waits on the child's tasks (a SIGNAL match); one already final meets it at once
      const child = state.runsById.get(runId)
      const entry = entries.find((e) => e.childRunId === runId)
      if (child === undefined || entry === undefined || entry.satisfied) continue
      for (const decision of armChildSignal(state, task, entry, child, now)) {
        if (decision._tag === "Signal") onSignal(state, decision, now)
      }
    }
    const satisfied = entries.filter((entry) => entry.satisfied && !toStart.some((s) => s.runId === entry.childRunId))
    satisfied.sort((a, b) => (a.satisfiedOrder ?? 0) - (b.satisfiedOrder ?? 0))
    for (const entry of new Set(satisfied)) deliverEntry(stream, task, entry, request.invocationCount, now)
  } catch (error) {
    if (error instanceof NonDeterminism) stream.send(nonDeterminismResponse(task, request.invocationCount, error))
    else throw error
  }
}

// -----------------------------------------------------------------------------
// eviction
// -----------------------------------------------------------------------------

const evictionError = (request: NonNullable<DurableTaskRequest["evictInvocation"]>, message: string): DurableTaskResponse => ({
  error: {
    ref: { durableTaskExternalId: request.durableTaskExternalId, invocationCount: request.invocationCount, branchId: 0, nodeId: 0 },
    errorType: DurableTaskErrorType.DURABLE_TASK_ERROR_TYPE_UNSPECIFIED,
    errorMessage: message
  }
})

/**
 * Evicts the running attempt of a durable task: its slots and execution timeout are released and
 * it waits, on no worker, until an awaited entry is satisfied (or it is restored). Skipped when
 * its execution timeout has passed (the timeout handles it), and when the request's invocation is
 * not the current one (a stale worker must not evict the attempt that replaced it).
 */
export const evictTask = (state: EngineState, task: Task, invocationCount: number, reason: string, now: number): boolean => {
  const log = task.durable
  if (task.state._tag !== "Assigned" || log === undefined || log.invocationCount !== invocationCount) return false
  if (task.state.timeoutAt <= now) return false
  releaseRuntime(state, task)
  markEvicted(state, task, now, reason)
  // an entry satisfied while the eviction was on its way: nothing else would restore the task
  const last = log.entries.get(entryKey(branchFor(log, log.latestNodeId), log.latestNodeId))
  if (last !== undefined && last.kind !== "MEMO" && last.satisfied) restore(state, task, now, "callback satisfied while task evicted")
  return true
}

const evictInvocation = (
  state: EngineState,
  stream: DurableStream,
  request: NonNullable<DurableTaskRequest["evictInvocation"]>,
  now: number
) => {
  const parsed = parseUuid(request.durableTaskExternalId)
  if (!parsed.ok) return stream.send(evictionError(request, `invalid durable_task_external_id: ${parsed.error}`))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== stream.tenantId) {
    return stream.send(evictionError(request, `task not found: ${parsed.value}`))
  }
  const reason = request.reason !== undefined && request.reason !== "" ? request.reason : defaultEvictionReason
  evictTask(state, task, request.invocationCount, reason, now)
  stream.send({ evictionAck: { invocationCount: request.invocationCount, durableTaskExternalId: request.durableTaskExternalId } })
}

/** `Dispatcher/RestoreEvictedTask` and REST restore: queues an evicted task again. */
export const restoreEvictedTask = (state: EngineState, tenantId: string, taskExternalId: string, now: number): void => {
  const parsed = parseUuid(taskExternalId)
  if (!parsed.ok) return
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId) return
  restore(state, task, now, "manually restored")
}

// -----------------------------------------------------------------------------
// worker_status
// -----------------------------------------------------------------------------

/**
 * `worker_status`: the entries a worker still waits for. A stale invocation is told so
 * (`server_evict`); every satisfied entry is sent again; an invocation whose held completions
 * have waited over 60 s for an earlier one is told to restart (`evictStalledReleases`).
 */
const workerStatus = (
  state: EngineState,
  stream: DurableStream,
  request: NonNullable<DurableTaskRequest["workerStatus"]>,
  now: number
) => {
  const told = new Set<string>()
  const satisfied: Array<{ readonly task: Task; readonly entry: DurableEntry; readonly invocationCount: number }> = []
  for (const waiting of request.waitingEntries) {
    const parsed = parseUuid(waiting.durableTaskExternalId)
    if (!parsed.ok) continue
    const task = state.tasksByExternalId.get(parsed.value)
    const log = task?.durable
    if (task === undefined || log === undefined || task.tenantId !== stream.tenantId) continue
    if (waiting.invocationCount < log.invocationCount && !told.has(task.externalId)) {
      told.add(task.externalId)
      stream.send({
        serverEvict: {
          durableTaskExternalId: task.externalId,
          invocationCount: waiting.invocationCount,
          reason: `stale invocation: server has ${log.invocationCount}, worker sent ${waiting.invocationCount}`
        }
      })
    }
    const entry = log.entries.get(entryKey(waiting.branchId, waiting.nodeId))
    if (entry?.satisfied === true) satisfied.push({ task, entry, invocationCount: waiting.invocationCount })
  }
  satisfied.sort((a, b) => (a.entry.satisfiedOrder ?? 0) - (b.entry.satisfiedOrder ?? 0))
  for (const { entry, invocationCount, task } of satisfied) deliverEntry(stream, task, entry, invocationCount, now)
  evictStalledReleases(stream, now)
}

// -----------------------------------------------------------------------------
// the stream
// -----------------------------------------------------------------------------

/** Handles one request of a DurableTask stream; a `DurableRequestError` says why it was dropped. */
export const handleDurableRequest = (state: EngineState, stream: DurableStream, request: DurableTaskRequest, now: number): void => {
  if (request.registerWorker !== undefined) {
    const workerId = request.registerWorker.workerId
    if (!isUuid(workerId)) return fail(`invalid worker id: ${workerId}`)
    stream.send({ registerWorker: { workerId } })
  } else if (request.memo !== undefined) memo(state, stream, request.memo, now)
  else if (request.triggerRuns !== undefined) triggerRuns(state, stream, request.triggerRuns, now)
  else if (request.waitFor !== undefined) waitFor(state, stream, request.waitFor, now)
  else if (request.evictInvocation !== undefined) evictInvocation(state, stream, request.evictInvocation, now)
  else if (request.workerStatus !== undefined) workerStatus(state, stream, request.workerStatus, now)
  else if (request.completeMemo !== undefined) completeMemo(state, stream, request.completeMemo, now)
  else fail("unknown message type")
}

// -----------------------------------------------------------------------------
// the older protocol: RegisterDurableEvent and ListenForDurableEvent
// -----------------------------------------------------------------------------

/**
 * `V1Dispatcher/RegisterDurableEvent` (the protocol of engines older than v0.80.0, still served
 * upstream): a SIGNAL match of the task under `signal_key`, its sleeps and user events (by key
 * and expression; no scope, no lookback), whose data `ListenForDurableEvent` sends once it holds.
 * Registering a key again replaces its pending match.
 */
export const registerDurableEvent = (
  state: EngineState,
  tenantId: string,
  request: RegisterDurableEventRequest,
  now: number
): Either.Either<void, InvalidArgument | NotFound> => {
  const parsed = parseUuid(request.taskId)
  if (!parsed.ok) return Either.left(invalidArgument("task id is not a valid uuid"))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId) return Either.left(notFound(`task run not found: ${parsed.value}`))
  const conditions: Array<SignalCondition> = []
  for (const sleep of request.conditions?.sleepConditions ?? []) {
    const base = sleep.base
    if (base === undefined || !isUuid(base.orGroupId)) return Either.left(invalidArgument("or group id is not a valid uuid"))
    conditions.push({
      _tag: "Sleep",
      orGroupId: base.orGroupId,
      readableDataKey: base.readableDataKey,
      sleepFor: sleep.sleepFor,
      until: now + (parseDuration(sleep.sleepFor) ?? defaultSleepMs)
    })
  }
  for (const event of request.conditions?.userEventConditions ?? []) {
    const base = event.base
    if (base === undefined || !isUuid(base.orGroupId)) return Either.left(invalidArgument("or group id is not a valid uuid"))
    conditions.push({
      _tag: "UserEvent",
      orGroupId: base.orGroupId,
      readableDataKey: base.readableDataKey,
      eventKey: event.userEventKey,
      scope: undefined,
      expression: base.expression
    })
  }
  armSignal(state, task, { signalKey: request.signalKey }, conditions)
  return Either.void
}

/**
 * One request of a `ListenForDurableEvent` stream: the listener wants the signal `signal_key` of
 * the task, sent at once if it completed, else when it does. A task id that is not a UUID, or a
 * task that is not found, is skipped (upstream logs it).
 */
export const listenForDurableEvent = (
  state: EngineState,
  listener: DurableEventListener,
  request: { readonly taskId: string; readonly signalKey: string }
): void => {
  const parsed = parseUuid(request.taskId)
  if (!parsed.ok) return
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== listener.tenantId) return
  listener.wanted.set(signalListenKey(task.externalId, request.signalKey), { taskId: task.externalId, signalKey: request.signalKey })
  sendSignal(listener, task, request.signalKey)
}

// -----------------------------------------------------------------------------
// branching
// -----------------------------------------------------------------------------

/**
 * `AdminService/BranchDurableTask` and REST `durable-tasks/branch` (upstream `handleBranch`): a new
 * branch of the task's log forks from `branchId` at `nodeId` (the nodes before it keep their
 * entries, the rest are asked again), its satisfied order continues from the entries kept and its
 * node ids start again from 1; then the task is replayed as `ReplayTasks` replays it, which
 * replays a final task only: an evicted task stays evicted until an awaited entry is satisfied or
 * it is restored, a running attempt goes on against the forked log (upstream supports neither).
 * The next invocation replays the new branch. Returns the node and the new branch.
 */
export const branchDurableTask = (
  state: EngineState,
  tenantId: string,
  request: { readonly taskExternalId: string; readonly nodeId: number; readonly branchId: number },
  now: number
): Either.Either<
  { readonly taskExternalId: string; readonly nodeId: number; readonly branchId: number },
  InvalidArgument | NotFound | Internal
> => {
  const parsed = parseUuid(request.taskExternalId)
  if (!parsed.ok) return Either.left(invalidArgument("invalid task_external_id"))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId) return Either.left(notFound("task not found: no rows in result set"))
  const log = task.durable
  if (log === undefined) {
    return Either.left(internalWith("failed to branch durable task: failed to lock log file: no rows in result set"))
  }
  // the latest satisfied order among the entries the new branch keeps
  const keptBranch = (nodeId: number) => branchFor({ ...log, latestBranchId: request.branchId }, nodeId)
  let latestOrder = 0
  for (const entry of log.entries.values()) {
    if (entry.nodeId < request.nodeId && entry.branchId === keptBranch(entry.nodeId)) {
      latestOrder = Math.max(latestOrder, entry.satisfiedOrder ?? 0)
    }
  }
  const branchId = log.latestBranchId + 1
  log.branchPoints.set(branchId, { firstNodeIdInNewBranch: request.nodeId, parentBranchId: request.branchId })
  log.latestBranchId = branchId
  log.latestNodeId = 0
  log.satisfiedCount = latestOrder
  touchRun(state, task.run)
  // upstream then asks ReplayTasks, whose preflight skips a task with a runtime (running or evicted)
  if (isFinal(task)) replayIds(state, tenantId, [task.externalId], now)
  return Either.right({ taskExternalId: task.externalId, nodeId: request.nodeId, branchId })
}

/** A task's durable event log as upstream lists it: every branch's entries, by branch then node. */
export const eventLog = (task: Task): Array<DurableEntry> =>
  [...(task.durable?.entries.values() ?? [])].sort((a, b) => a.branchId - b.branchId || a.nodeId - b.nodeId)

/** A DurableTask stream ended: the tasks it spoke for are no longer routed to it. */
export const closeDurableStream = (state: EngineState, stream: DurableStream): void => {
  for (const [taskId, routed] of state.durableStreams) if (routed === stream) state.durableStreams.delete(taskId)
}
