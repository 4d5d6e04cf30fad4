/**
 * Pausing a workflow (upstream `PATCH /api/v1/workflows/{workflow}` with `pause`:
 * `api/v1/server/handlers/workflows/pause.go`, then the task controller's `handlePauseWorkflow`
 * and `processPausedWorkflowQueueItemTTL`, `internal/services/controllers/task`).
 *
 * While a workflow is paused, its runs are still created (by name, by event, as children, and by
 * its crons and scheduled runs unless their behavior is `DROP`) and their tasks are `QUEUED`, but
 * none is assigned: each queued task is held out of its queue (`dispatch.ts hold`). A held task
 * older than the pause's TTL (counted from the task's creation, as upstream counts from
 * `task_inserted_at`) is cancelled with "paused workflow queue item TTL expired.". Unpausing puts
 * the held tasks back in their queues in creation order, each with a new schedule timeout. Tasks
 * already running go on. A cron whose behavior is `DROP` does not fire while paused; a scheduled
 * run whose behavior is `DROP` is kept and fires when the workflow is unpaused (upstream's ticker
 * does not poll it while paused and runs it then, its time being past).
 *
 * Where upstream differs: it moves the queue items present when the pause is applied and at each
 * trigger of the workflow, so a retry or a DAG task queued in between may still be assigned; the
 * local engine holds every task the paused workflow queues. Upstream applies a pause through its
 * message queue and checks TTLs on a poll; here both take effect at once.
 *
 * @internal
 */
import { setTaskState, touchWorkflow } from "./changes.js"
import { enqueue, hold } from "./dispatch.js"
import type { Interval } from "./duration.js"
import { addInterval } from "./duration.js"
import type { EngineState, PausedRunQueueBehavior, QueueEntry, Task, Workflow } from "./model.js"
import { fireDueScheduled } from "./schedules.js"
import { cancelTask } from "./tasks.js"

/** Upstream's message on the CANCELLED event of a held task whose TTL passed. */
export const ttlExpiredMessage = "paused workflow queue item TTL expired."

/** A pause as requested (`PauseWorkflowRequestPause`), its TTL read (`duration.ts sqlInterval`). */
export interface PauseOptions {
  readonly cronRunQueueBehavior: PausedRunQueueBehavior
  readonly scheduledRunQueueBehavior: PausedRunQueueBehavior
  readonly queueTtl: string
  readonly interval: Interval
}

/** Whether a held entry still holds its task. */
const isHeld = (entry: QueueEntry): boolean => entry.task.state._tag === "Queued" && entry.task.state.token === entry.token

/** Upstream requeues (and moves) the items ordered by task. */
const byTask = (a: QueueEntry, b: QueueEntry) => a.task.id - b.task.id

/**
 * Pauses `workflow` (or changes the behaviors and TTL of its pause): its queued tasks leave their
 * queues and are held; a new TTL applies to the tasks already held.
 */
export const pauseWorkflow = (state: EngineState, workflow: Workflow, options: PauseOptions, now: number): void => {
  const previous = workflow.paused
  const pause = {
    cronRunQueueBehavior: options.cronRunQueueBehavior,
    scheduledRunQueueBehavior: options.scheduledRunQueueBehavior,
    queueTtl: options.queueTtl,
    expiresAt: (createdAt: number) => addInterval(createdAt, options.interval),
    held: previous?.held.filter(isHeld) ?? []
  }
  workflow.paused = pause
  workflow.updatedAt = now
  touchWorkflow(state, workflow)
  for (const entry of pause.held) {
    state.timers.set({ kind: "PausedQueueTtl", id: entry.task.externalId, token: entry.token, at: pause.expiresAt(entry.task.createdAt) })
  }
  if (previous !== undefined) return
  const actions = new Set<string>()
  for (const version of workflow.versions) for (const step of version.steps) actions.add(step.action)
  const queued: Array<QueueEntry> = []
  for (const action of actions) {
    for (const entry of state.queues.live(workflow.tenantId, action)) if (entry.task.run.workflow === workflow) queued.push(entry)
  }
  for (const entry of queued.sort(byTask)) {
    // a new token: the entry in the queue is dead from now on
    const token = ++state.queueSeq
    setTaskState(state, entry.task, { _tag: "Queued", token })
    hold(state, entry.task, token, entry.priority)
  }
}

/**
 * Unpauses `workflow`: its held tasks go back to their queues in creation order, and the scheduled
 * runs a `DROP` behavior kept fire now. Unpausing a workflow that is not paused only touches it.
 */
export const unpauseWorkflow = (state: EngineState, workflow: Workflow, now: number): void => {
  const pause = workflow.paused
  workflow.paused = undefined
  workflow.updatedAt = now
  touchWorkflow(state, workflow)
  if (pause === undefined) return
  for (const entry of pause.held.filter(isHeld).sort(byTask)) {
    state.timers.cancel("PausedQueueTtl", entry.task.externalId)
    enqueue(state, entry.task, now, entry.priority)
  }
  if (pause.scheduledRunQueueBehavior === "DROP") fireDueScheduled(state, workflow, now)
}

/** A held task whose TTL passed while its workflow is still paused is cancelled. */
export const onPausedQueueTtl = (state: EngineState, task: Task, token: number, now: number): void => {
  if (task.state._tag !== "Queued" || task.state.token !== token || task.run.workflow.paused === undefined) return
  cancelTask(state, task, now, { notifyWorker: false, message: ttlExpiredMessage })
}
