/**
 * A task's timeline: the `V1TaskEventType` events REST lists for it (`taskEvents`), each with
 * the attempt it belongs to.
 *
 * @internal
 */
import { touchRun } from "./changes.js"
import { countEvent } from "./metrics.js"
import type { EngineState, Run, Task, TaskEvent, TaskEventType } from "./model.js"

export interface TaskEventDetails {
  readonly message?: string
  readonly errorMessage?: string
  readonly output?: string
  readonly workerId?: string | undefined
  readonly retryCount?: number
}

/**
 * An event as a retained run holds it: its time is kept as milliseconds after its run's creation,
 * a small integer V8 stores in the object itself, rather than as a number of its own on the heap
 * (an epoch time is too large for that), so that a finished run costs five heap objects fewer for
 * the garbage collector to mark. A time the offset cannot give back exactly is kept as it is.
 */
class TimelineEvent implements TaskEvent {
  constructor(
    readonly id: number,
    private readonly run: Run | undefined,
    private readonly offset: number,
    readonly eventType: TaskEventType,
    readonly message: string,
    readonly errorMessage: string | undefined,
    readonly output: string | undefined,
    readonly workerId: string | undefined,
    readonly retryCount: number
  ) {}
  get timestamp(): number {
    return this.run === undefined ? this.offset : this.run.createdAt + this.offset
  }
}

/** A new event of `task`'s timeline (not yet in it: whoever adds it marks the run, as `recordEvent` does). */
export const makeEvent = (
  state: EngineState,
  task: Task,
  eventType: TaskEventType,
  now: number,
  details: TaskEventDetails = {}
): TaskEvent => {
  const offset = now - task.run.createdAt
  const exact = task.run.createdAt + offset === now
  return new TimelineEvent(
    state.nextEventId(),
    exact ? task.run : undefined,
    exact ? offset : now,
    eventType,
    details.message ?? "",
    details.errorMessage,
    details.output,
    details.workerId,
    details.retryCount ?? task.retryCount
  )
}

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
