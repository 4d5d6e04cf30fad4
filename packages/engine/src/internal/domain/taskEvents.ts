/**
 * A task's timeline: the `V1TaskEventType` events REST lists for it (`taskEvents`), each with
 * the attempt it belongs to.
 *
 * @internal
 */
import { touchRun } from "./changes.js"
import { countEvent } from "./metrics.js"
import type { EngineState, PackedTimeline, Run, Task, TaskEvent, TaskEventType } from "./model.js"

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

/** Appends an event to `task`'s timeline (a finished run's stays packed: unpacked, appended, packed again). */
export const recordEvent = (
  state: EngineState,
  task: Task,
  eventType: TaskEventType,
  now: number,
  details: TaskEventDetails = {}
): void => {
  openTimeline(task).push(makeEvent(state, task, eventType, now, details))
  if (task.run.finishedAt !== undefined) packTimeline(task)
  countEvent(state, task, eventType)
  touchRun(state, task.run)
}

/** Each event type's code in a packed timeline. */
const typeCodes = {
  QUEUED: 0,
  ASSIGNED: 1,
  SENT_TO_WORKER: 2,
  STARTED: 3,
  FINISHED: 4,
  FAILED: 5,
  RETRYING: 6,
  CANCELLED: 7,
  TIMED_OUT: 8,
  REASSIGNED: 9,
  SLOT_RELEASED: 10,
  TIMEOUT_REFRESHED: 11,
  SCHEDULING_TIMED_OUT: 12,
  SKIPPED: 13,
  RETRIED_BY_USER: 14,
  DURABLE_EVICTED: 15,
  DURABLE_RESTORING: 16,
  WAITING_FOR_BATCH: 17,
  BATCH_FLUSHED: 18
} satisfies Record<TaskEventType, number>

const typeOfCode: ReadonlyArray<TaskEventType> = Object.entries(typeCodes).reduce<Array<TaskEventType>>(
  (types, [type, code]) => {
    types[code] = type as TaskEventType
    return types
  },
  []
)

/** How many numbers a packed timeline holds per event. */
const fieldsPerEvent = 8

class PackedEvents implements PackedTimeline {
  constructor(
    readonly numbers: string,
    readonly first: string | undefined,
    readonly second: string | undefined,
    readonly rest: ReadonlyArray<string> | undefined
  ) {}
}

/**
 * `events` of a task of `run` packed: a retained finished run then holds its tasks' timelines in
 * two heap objects each (the numbers as one flat string, and the texts, each distinct text once
 * and by reference) rather than an array and an object per event, so that the collector has
 * fewer objects to mark and move. Per event: its id less the previous event's, its time (the
 * offset from the run's creation, or `@` and the time when the offset cannot give it back
 * exactly), its type's code, its attempt, then its message, error, output and worker as the
 * 1-based position of their text (0: undefined, and "" for the message).
 */
const pack = (run: Run, events: ReadonlyArray<TaskEvent>): PackedTimeline => {
  const texts: Array<string> = []
  const refs = new Map<string, number>()
  const ref = (text: string | undefined): number => {
    if (text === undefined) return 0
    let at = refs.get(text)
    if (at === undefined) {
      at = texts.push(text)
      refs.set(text, at)
    }
    return at
  }
  const numbers: Array<number | string> = []
  let previousId = 0
  for (const event of events) {
    const offset = event.timestamp - run.createdAt
    numbers.push(
      event.id - previousId,
      run.createdAt + offset === event.timestamp ? offset : `@${event.timestamp}`,
      typeCodes[event.eventType],
      event.retryCount,
      event.message === "" ? 0 : ref(event.message),
      ref(event.errorMessage),
      ref(event.output),
      ref(event.workerId)
    )
    previousId = event.id
  }
  return new PackedEvents(numbers.join(","), texts[0], texts[1], texts.length > 2 ? texts.slice(2) : undefined)
}

/** The events of a timeline `pack` made, as they were. */
const unpack = (run: Run, packed: PackedTimeline): Array<TaskEvent> => {
  const events: Array<TaskEvent> = []
  if (packed.numbers === "") return events
  const fields = packed.numbers.split(",")
  const text = (field: string): string | undefined => {
    const ref = Number(field)
    return ref === 0 ? undefined : ref === 1 ? packed.first : ref === 2 ? packed.second : packed.rest![ref - 3]
  }
  let id = 0
  for (let i = 0; i < fields.length; i += fieldsPerEvent) {
    id += Number(fields[i])
    const time = fields[i + 1]!
    const absolute = time.startsWith("@")
    events.push(
      new TimelineEvent(
        id,
        absolute ? undefined : run,
        Number(absolute ? time.slice(1) : time),
        typeOfCode[Number(fields[i + 2])]!,
        text(fields[i + 4]!) ?? "",
        text(fields[i + 5]!),
        text(fields[i + 6]!),
        text(fields[i + 7]!),
        Number(fields[i + 3])
      )
    )
  }
  return events
}

/** `task`'s timeline, oldest first (a packed one read into new objects: read it, do not keep it). */
export const eventsOf = (task: Task): ReadonlyArray<TaskEvent> =>
  Array.isArray(task.timeline) ? task.timeline : unpack(task.run, task.timeline as PackedTimeline)

/** `task`'s timeline as an array to change (a packed one unpacked first; `packTimeline` packs it again). */
export const openTimeline = (task: Task): Array<TaskEvent> => {
  if (!Array.isArray(task.timeline)) task.timeline = unpack(task.run, task.timeline as PackedTimeline)
  return task.timeline as Array<TaskEvent>
}

/** Packs `task`'s timeline, as a finished run keeps it. */
export const packTimeline = (task: Task): void => {
  if (Array.isArray(task.timeline)) task.timeline = pack(task.run, task.timeline)
}

/** Whether any event of `task`'s timeline names `workerId` as its worker (a packed one read without making its events). */
export const ranOn = (task: Task, workerId: string): boolean => {
  const timeline = task.timeline
  if (Array.isArray(timeline)) return timeline.some((event: TaskEvent) => event.workerId === workerId)
  const packed = timeline as PackedTimeline
  const inRest = packed.rest?.indexOf(workerId) ?? -1
  const ref = packed.first === workerId ? 1 : packed.second === workerId ? 2 : inRest >= 0 ? 3 + inRest : 0
  if (ref === 0) return false
  const fields = packed.numbers.split(",")
  for (let i = 7; i < fields.length; i += fieldsPerEvent) {
    if (Number(fields[i]) === ref) return true
  }
  return false
}
