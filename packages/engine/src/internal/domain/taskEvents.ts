/**
 * A task's timeline: the `V1TaskEventType` events REST lists for it (`taskEvents`), each with
 * the attempt it belongs to.
 *
 * @internal
 */
import { touchRun } from "./changes.js"
import { countEvent } from "./metrics.js"
import type { EngineState, Task, TaskEvent, TaskEventType } from "./model.js"

export interface TaskEventDetails {
  readonly message?: string
  readonly errorMessage?: string
  readonly output?: string
  readonly workerId?: string | undefined
  readonly retryCount?: number
}

/** A new event of `task`'s timeline (not yet in it: whoever adds it marks the run, as `recordEvent` does). */
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
  touchRun(state, task.run)
}
