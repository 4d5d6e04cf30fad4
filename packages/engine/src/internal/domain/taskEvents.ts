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
  /** Its time as the offset from `run`'s creation, when it holds it so (no arithmetic on epoch times). */
  offsetIn(run: Run): number | undefined {
    return this.run === run ? this.offset : undefined
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
  // a timeline names a few distinct texts (a worker, an output, an error): a linear search finds
  // them without a Map per pack; the numbers go into an array of their final size, joined once
  const texts: Array<string> = []
  const ref = (text: string | undefined): number => {
    if (text === undefined) return 0
    const at = texts.indexOf(text)
    return at >= 0 ? at + 1 : texts.push(text)
  }
  const numbers = new Array<number | string>(events.length * fieldsPerEvent)
  let previousId = 0
  let i = 0
  for (const event of events) {
    numbers[i++] = event.id - previousId
    numbers[i++] = timeField(run, event)
    numbers[i++] = typeCodes[event.eventType]
    numbers[i++] = event.retryCount
    numbers[i++] = event.message === "" ? 0 : ref(event.message)
    numbers[i++] = ref(event.errorMessage)
    numbers[i++] = ref(event.output)
    numbers[i++] = ref(event.workerId)
    previousId = event.id
  }
  return new PackedEvents(numbers.join(","), texts[0], texts[1], texts.length > 2 ? texts.slice(2) : undefined)
}

/** An event's time in a packed timeline: the offset it holds (an event of this run's), else `timeText`. */
const timeField = (run: Run, event: TaskEvent): number | string => {
  const held = event instanceof TimelineEvent ? event.offsetIn(run) : undefined
  return held !== undefined ? held : timeText(run, event.timestamp)
}

/** A time in a packed timeline: its offset from the run's creation, or `@` and the time when the offset cannot give it back exactly. */
const timeText = (run: Run, timestamp: number): number | string => {
  const offset = timestamp - run.createdAt
  return run.createdAt + offset === timestamp ? offset : `@${timestamp}`
}

/** A packed timeline's numbers that `addStartedPacked` reads: integers only (no `@` time). */
const plainNumbers = /^[-0-9,]*$/

/**
 * A late STARTED added to a packed timeline as `recordLateStarted` adds it to an open one, without
 * unpacking it (a worker's STARTED often arrives after its result, once the run has finished and
 * its timeline is packed): placed just before the result that follows the attempt's last
 * SENT_TO_WORKER, at `stamp(sentAt, resultAt)`, naming the worker that SENT_TO_WORKER names. The
 * packed timeline is the one unpacking, inserting and packing again gives (the worker's text is
 * named before the insertion already, so no text's reference changes). "unchanged" when the
 * attempt has no such result or its STARTED is there already; undefined when the timeline holds
 * an absolute time (`@`): the caller opens it instead.
 */
export const addStartedPacked = (
  state: EngineState,
  task: Task,
  retryCount: number,
  stamp: (sentAt: number, resultAt: number) => number
): "added" | "unchanged" | undefined => {
  const packed = task.timeline as PackedTimeline
  const numbers = packed.numbers
  if (!plainNumbers.test(numbers)) return undefined
  const length = numbers.length
  let pos = 0
  /** The integer at `pos`; leaves `pos` after its comma. */
  const read = (): number => {
    const negative = numbers.charCodeAt(pos) === 45
    if (negative) pos++
    let value = 0
    for (; pos < length; pos++) {
      const c = numbers.charCodeAt(pos)
      if (c === 44) break
      value = value * 10 + (c - 48)
    }
    pos++
    return negative ? -value : value
  }
  let id = 0
  let sentOffset = -1
  let sentWorker = 0
  // after the attempt's last SENT_TO_WORKER: its STARTED or its result came (the search is over)
  let settled = true
  let resultAt = -1
  let resultId = 0
  let resultDelta = 0
  let resultOffset = 0
  let resultRest = 0
  while (pos < length) {
    const start = pos
    const delta = read()
    const deltaEnd = pos - 1
    id += delta
    const offset = read()
    const code = read()
    const attempt = read()
    pos = skipFields(numbers, pos, 3)
    const worker = read()
    if (attempt !== retryCount) continue
    if (code === typeCodes.SENT_TO_WORKER) {
      sentOffset = offset
      sentWorker = worker
      settled = false
      resultAt = -1
    } else if (!settled && code === typeCodes.STARTED) {
      settled = true
    } else if (!settled && resultCodes.has(code)) {
      settled = true
      resultAt = start
      resultId = id
      resultDelta = delta
      resultOffset = offset
      resultRest = deltaEnd
    }
  }
  if (resultAt < 0) return "unchanged"
  const run = task.run
  const at = stamp(run.createdAt + sentOffset, run.createdAt + resultOffset)
  const startedId = state.nextEventId()
  const started = `${startedId - (resultId - resultDelta)},${timeText(run, at)},${typeCodes.STARTED},${retryCount},0,0,0,${sentWorker},${
    resultId - startedId
  }`
  // joined: one flat string, as `pack` leaves it
  task.timeline = new PackedEvents(
    [numbers.slice(0, resultAt), started, numbers.slice(resultRest)].join(""),
    packed.first,
    packed.second,
    packed.rest
  )
  return "added"
}

/** `pos` after `count` more fields. */
const skipFields = (numbers: string, pos: number, count: number): number => {
  for (let k = 0; k < count; k++) {
    const comma = numbers.indexOf(",", pos)
    pos = comma < 0 ? numbers.length : comma + 1
  }
  return pos
}

/** Events that end an attempt in the timeline. */
export const attemptResults: ReadonlySet<TaskEventType> = new Set(["FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"])

/** The type codes of `attemptResults`. */
const resultCodes: ReadonlySet<number> = new Set([...attemptResults].map((type) => typeCodes[type]))

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

/**
 * Packs `task`'s timeline, as a finished run keeps it, and empties the array it held: that array
 * may be in the old generation (after a burst of thousands of queued tasks V8 allocates every
 * array of its literal there), where, dead, it would keep its events alive through every
 * young-generation collection until the next full one (see `churn.ts`).
 */
export const packTimeline = (task: Task): void => {
  const events = task.timeline
  if (!Array.isArray(events)) return
  task.timeline = pack(task.run, events)
  events.length = 0
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
