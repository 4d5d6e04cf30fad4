/**
 * The worker plane: registration, listen sessions, heartbeats and liveness, unsubscribe, labels,
 * pause, and the per-attempt worker calls `ReleaseSlot` and `RefreshTimeout`.
 *
 * Liveness (`docs/engine.md` §1.3): a worker is schedulable only with a heartbeat in the last
 * 5 s; after 30 s without one, its running attempts are failed as internal errors and re-queued
 * (no cancel is sent). With `workerLiveness: "connection"` (tests under `TestClock`) an open
 * stream is enough and nothing is re-queued for silence.
 *
 * @internal
 */
import type { WorkerLabels, WorkerRegisterRequest } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { ChurningSet } from "@effect-hatchet/shared/Churning"
import * as Either from "effect/Either"
import { setTaskState } from "./changes.js"
import { armTimeout, releaseSlot as freeSlot } from "./dispatch.js"
import { formatGoDuration, isValidDuration, parseDuration } from "./duration.js"
import {
  type EngineError,
  type FailedPrecondition,
  failedPrecondition,
  type InvalidArgument,
  invalidArgument,
  type NotFound,
  notFound
} from "./errors.js"
import { newId, parseUuid } from "./ids.js"
import type { Assigned, EngineState, Session, Task, Worker, WorkerLabel } from "./model.js"
import { markWorkerDirty } from "./queue.js"
import { onWorkerInactive } from "./retention.js"
import { recordEvent } from "./taskEvents.js"
import { failTaskInternal } from "./tasks.js"
import { dropWorker, tenantOf } from "./tenants.js"
import { durationError, FieldErrors, hatchetNameError, hatchetNamePattern } from "./validation.js"

/** A worker silent this long is considered dead and its attempts are re-queued. */
export const deadAfterMs = 30_000
/** Legacy `Listen` streams refresh the heartbeat this often. */
export const legacyHeartbeatMs = 4_000

export const isValidActionId = (action: string): boolean => {
  const parts = action.split(":")
  return parts.length >= 2 && parts.length <= 3 && parts[0] !== "" && parts[1] !== ""
}

const toLabel = (label: WorkerLabels): WorkerLabel => ({ strValue: label.strValue, intValue: label.intValue })

/** `Dispatcher.Register`: every call creates a new worker. */
export const registerWorker = (
  state: EngineState,
  tenantId: string,
  request: WorkerRegisterRequest,
  now: number
): Either.Either<Worker, InvalidArgument> => {
  const tenant = tenantOf(state, tenantId)
  const services = request.services.length > 0 ? request.services : ["default"]
  let slotConfig: Map<string, number> = Object.keys(request.slotConfig).length > 0
    ? new Map(Object.entries(request.slotConfig))
    : new Map([["default", 100]])
  if (request.slots !== undefined) {
    if (Object.keys(request.slotConfig).length > 0) {
      return Either.left(invalidArgument("either slot_config or slots (deprecated) must be provided, not both"))
    }
    slotConfig = new Map([["default", request.slots]])
  }

  const errors = new FieldErrors()
  if (request.workerName === "") errors.condition("CreateWorkerOpts.Name", "required")
  else if (!hatchetNamePattern.test(request.workerName)) errors.message("CreateWorkerOpts.Name", hatchetNameError)
  services.forEach((service, i) => {
    if (!hatchetNamePattern.test(service)) errors.message(`CreateWorkerOpts.Services[${i}]`, hatchetNameError)
  })
  request.actions.forEach((action, i) => {
    if (!isValidActionId(action)) {
      errors.message(
        `CreateWorkerOpts.Actions[${i}]`,
        "Invalid action ID. Action IDs must be in the format <integrationId>:<verb>"
      )
    }
  })
  if (!errors.isEmpty) return Either.left(invalidArgument(`Invalid request: ${errors.render()}`))

  const worker: Worker = {
    id: newId(),
    tenantId,
    name: request.workerName,
    actions: new Set(request.actions),
    services,
    slotConfig,
    slotsUsed: new Map(),
    labels: new Map(Object.entries(request.labels).map(([k, v]) => [k, toLabel(v)])),
    runtimeInfo: request.runtimeInfo,
    createdAt: now,
    sessions: new Map(),
    isActive: false,
    inactiveSince: now,
    lastListenerEstablished: undefined,
    lastHeartbeatAt: undefined,
    isPaused: false,
    running: new ChurningSet(),
    livenessArmed: false
  }
  tenant.workers.set(worker.id, worker)
  state.workersById.set(worker.id, worker)
  for (const action of worker.actions) {
    let set = tenant.actionWorkers.get(action)
    if (set === undefined) {
      set = new Set()
      tenant.actionWorkers.set(action, set)
    }
    set.add(worker)
  }
  onWorkerInactive(state, worker, now)
  return Either.right(worker)
}

/** The tenant's worker, or undefined (unknown, another tenant's, or forgotten). */
export const findWorker = (state: EngineState, tenantId: string, workerId: string): Worker | undefined => {
  const worker = state.workersById.get(workerId)
  return worker !== undefined && worker.tenantId === tenantId ? worker : undefined
}

/** The tenant's worker of a request's id: INVALID_ARGUMENT if malformed, else NOT_FOUND `notFoundMessage`. */
const requestedWorker = (
  state: EngineState,
  tenantId: string,
  workerId: string,
  notFoundMessage: string
): Either.Either<Worker, InvalidArgument | NotFound> => {
  const parsed = parseUuid(workerId)
  if (!parsed.ok) return Either.left(invalidArgument(`invalid worker ID format: ${workerId}`, parsed.error))
  const worker = findWorker(state, tenantId, parsed.value)
  return worker === undefined ? Either.left(notFound(notFoundMessage)) : Either.right(worker)
}

/** Looks a worker up for Heartbeat / Unsubscribe / UpsertWorkerLabels. */
export const getWorker = (state: EngineState, tenantId: string, workerId: string): Either.Either<Worker, InvalidArgument | NotFound> =>
  requestedWorker(state, tenantId, workerId, `worker not found: ${workerId}`)

/** Validates a ListenV2 / Listen request: the raw "no rows" error maps to NOT_FOUND "not found". */
export const workerForListen = (
  state: EngineState,
  tenantId: string,
  workerId: string
): Either.Either<Worker, InvalidArgument | NotFound> => requestedWorker(state, tenantId, workerId, "not found")

/** A stream opened: the worker becomes active. */
export const openSession = (state: EngineState, worker: Worker, session: Session, now: number): void => {
  worker.sessions.set(session.id, session)
  worker.isActive = true
  worker.inactiveSince = undefined
  worker.lastListenerEstablished = now
  if (session.legacy) {
    beat(state, worker, now)
    state.timers.set({ kind: "LegacyHeartbeat", id: session.id, workerId: worker.id, at: now + legacyHeartbeatMs })
  }
  markWorkerDirty(state, worker)
}

/** A legacy stream still open beats for its worker, and will again. */
export const onLegacyHeartbeat = (state: EngineState, worker: Worker, sessionId: string, now: number): void => {
  if (!worker.sessions.has(sessionId)) return
  beat(state, worker, now)
  state.timers.set({ kind: "LegacyHeartbeat", id: sessionId, workerId: worker.id, at: now + legacyHeartbeatMs })
}

/** A stream ended: the worker turns inactive unless a newer stream was opened since. */
export const closeSession = (state: EngineState, worker: Worker, session: Session, now: number): void => {
  if (worker.sessions.get(session.id) === session) worker.sessions.delete(session.id)
  if (worker.isActive && (worker.lastListenerEstablished === undefined || worker.lastListenerEstablished <= session.establishedAt)) {
    worker.isActive = false
    onWorkerInactive(state, worker, now)
  }
}

const beat = (state: EngineState, worker: Worker, now: number) => {
  const wasSchedulable = worker.lastHeartbeatAt !== undefined && now - worker.lastHeartbeatAt < 5_000
  worker.lastHeartbeatAt = now
  if (!wasSchedulable) markWorkerDirty(state, worker)
  armLiveness(state, worker)
}

/** `Dispatcher.Heartbeat`. */
export const heartbeat = (
  state: EngineState,
  tenantId: string,
  workerId: string,
  now: number
): Either.Either<void, InvalidArgument | NotFound | FailedPrecondition> => {
  const found = getWorker(state, tenantId, workerId)
  if (Either.isLeft(found)) return found
  const worker = found.right
  if (state.faults.rejectHeartbeats > 0) {
    state.faults.rejectHeartbeats--
    return Either.left(failedPrecondition(`Heartbeat rejected: worker stream is not active: ${workerId}`))
  }
  if (worker.lastListenerEstablished !== undefined && !worker.isActive) {
    return Either.left(failedPrecondition(`Heartbeat rejected: worker stream is not active: ${workerId}`))
  }
  beat(state, worker, now)
  return Either.void
}

const armLiveness = (state: EngineState, worker: Worker) => {
  if (worker.livenessArmed || worker.lastHeartbeatAt === undefined) return
  if (state.options.workerLiveness === "connection") return
  worker.livenessArmed = true
  state.timers.set({ kind: "WorkerLiveness", id: worker.id, at: worker.lastHeartbeatAt + deadAfterMs })
}

/** A dead worker's attempt's REASSIGNED event message (upstream's reassignment controller). */
const reassignedMessage = "Worker did not send a heartbeat for 30 seconds"

/** The FAILED event, and REST error, of a task reassigned past its internal retries (upstream's). */
const reassignedTooOften = "Task reached its maximum reassignment count"

/**
 * The liveness check of a worker: silent for `deadAfterMs`, its running attempts are re-queued
 * as internal failures (a REASSIGNED event each, with upstream's message; past the internal
 * retries, a FAILED event too).
 */
export const onWorkerLiveness = (state: EngineState, worker: Worker, now: number): void => {
  worker.livenessArmed = false
  if (worker.lastHeartbeatAt === undefined) return
  if (worker.lastHeartbeatAt + deadAfterMs > now) {
    armLiveness(state, worker)
    return
  }
  for (const task of [...worker.running]) {
    failTaskInternal(state, task, "", now, {
      event: { eventType: "REASSIGNED", message: reassignedMessage },
      exhausted: reassignedTooOften
    })
  }
}

/** `Dispatcher.Unsubscribe`: forgets the sessions without closing their streams. */
export const unsubscribe = (state: EngineState, tenantId: string, workerId: string): Either.Either<Worker, InvalidArgument | NotFound> =>
  Either.map(getWorker(state, tenantId, workerId), (worker) => {
    worker.sessions.clear()
    return worker
  })

/** `Dispatcher.UpsertWorkerLabels`. */
export const upsertLabels = (
  state: EngineState,
  tenantId: string,
  workerId: string,
  labels: Record<string, WorkerLabels>
): Either.Either<Worker, InvalidArgument | NotFound> =>
  Either.map(getWorker(state, tenantId, workerId), (worker) => {
    for (const [key, value] of Object.entries(labels)) worker.labels.set(key, toLabel(value))
    return worker
  })

/** Pauses or resumes assignments to a worker (REST `PATCH /api/v1/workers/{worker}`). */
export const setPaused = (state: EngineState, worker: Worker, paused: boolean): void => {
  worker.isPaused = paused
  if (!paused) markWorkerDirty(state, worker)
}

/** Removes a worker entirely (fault injection): its streams end, it must register again. */
export const forgetWorker = (state: EngineState, worker: Worker): void => {
  dropWorker(state, worker)
  const sessions = [...worker.sessions.values()]
  worker.sessions.clear()
  worker.isActive = false
  for (const session of sessions) session.close()
}

/**
 * Ends the open streams of one worker (or all), cleanly or with an error; returns how many.
 * `silent`: the engine forgets them but leaves them open (the worker is not told).
 */
export const dropSessions = (
  state: EngineState,
  now: number,
  workerId: string | undefined,
  error: EngineError | undefined,
  silent = false
): number => {
  const workers = workerId !== undefined
    ? [state.workersById.get(workerId)].filter((w): w is Worker => w !== undefined)
    : [...state.workersById.values()]
  let dropped = 0
  for (const worker of workers) {
    for (const session of [...worker.sessions.values()]) {
      closeSession(state, worker, session, now)
      if (!silent) session.close(error)
      dropped++
    }
  }
  return dropped
}

// -----------------------------------------------------------------------------
// per-attempt worker calls
// -----------------------------------------------------------------------------

const taskIdError = (id: string, reason: string) => invalidArgument(`invalid task external run id ${id}: ${reason}`, reason)

/** The running attempt of a task for `ReleaseSlot` / `RefreshTimeout`. */
const runningTask = (
  state: EngineState,
  tenantId: string,
  taskRunExternalId: string
): Either.Either<Task & { readonly state: Assigned }, InvalidArgument | NotFound> => {
  const parsed = parseUuid(taskRunExternalId)
  if (!parsed.ok) return Either.left(taskIdError(taskRunExternalId, parsed.error))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId || task.state._tag !== "Assigned") {
    return Either.left(notFound(`task run not found: ${parsed.value}`))
  }
  return Either.right(task as Task & { readonly state: Assigned })
}

/** `Dispatcher.ReleaseSlot`: the attempt keeps running without holding a slot. */
export const releaseSlot = (
  state: EngineState,
  tenantId: string,
  taskRunExternalId: string,
  now: number
): Either.Either<void, InvalidArgument | NotFound> => {
  const found = runningTask(state, tenantId, taskRunExternalId)
  if (Either.isLeft(found)) return found
  const task = found.right
  const assigned = task.state
  const worker = assigned.worker
  if (worker !== undefined) {
    freeSlot(state, task, worker)
    setTaskState(state, task, { ...assigned, worker: undefined })
  }
  recordEvent(state, task, "SLOT_RELEASED", now, { workerId: worker?.id })
  return Either.void
}

/** `Dispatcher.RefreshTimeout`: pushes the current deadline back by the increment. */
export const refreshTimeout = (
  state: EngineState,
  tenantId: string,
  taskRunExternalId: string,
  increment: string,
  now: number
): Either.Either<number, InvalidArgument | NotFound> => {
  const parsed = parseUuid(taskRunExternalId)
  if (!parsed.ok) return Either.left(taskIdError(taskRunExternalId, parsed.error))
  const errors = new FieldErrors()
  if (parsed.value === "00000000-0000-0000-0000-000000000000") errors.condition("RefreshTimeoutBy.TaskExternalId", "required")
  if (increment === "") errors.condition("RefreshTimeoutBy.IncrementTimeoutBy", "required")
  else if (!isValidDuration(increment)) errors.message("RefreshTimeoutBy.IncrementTimeoutBy", durationError)
  if (!errors.isEmpty) return Either.left(invalidArgument(`Invalid request: ${errors.render()}`))
  const found = runningTask(state, tenantId, taskRunExternalId)
  if (Either.isLeft(found)) return Either.left(found.left)
  const task = found.right
  const assigned = task.state
  const timeoutAt = assigned.timeoutAt + parseDuration(increment)!
  setTaskState(state, task, { ...assigned, timeoutAt })
  armTimeout(state, task)
  recordEvent(state, task, "TIMEOUT_REFRESHED", now, {
    // upstream prints the (coalesced) increment as a Go duration: "30s", "1m0s", "1h30m0s"
    message: `Timeout refreshed by ${formatGoDuration(parseDuration(increment)!)}`,
    workerId: assigned.worker?.id
  })
  return Either.right(timeoutAt)
}
