/**
 * The runs of a paced phase read as each finishes, for `pnpm bench`'s half-throughput phase: the
 * engine keeps only the latest 10,000 finished runs of a tenant (its retention), under two seconds'
 * worth at half of 12,000 tasks a second, so a longer phase cannot be read at its end. Runs finish
 * about in trigger order: each read goes on from the first run not read yet and stops at the next
 * unfinished one. A run of one attempt is read from its task's fields, not its (packed) events:
 * unpacking them cost about 2.3 µs a run, 5 % of the engine's main thread at 6,000 runs a second.
 */
import type { EngineCoreService } from "../../engine/src/internal/core.js"
import type { Task } from "../../engine/src/internal/domain/model.js"
import { eventsOf } from "../../engine/src/internal/domain/taskEvents.js"

/** A finished task's times on the engine's clock (ms). */
export interface TaskTimes {
  /** Its run created. */
  readonly created: number
  /** Its first START sent to a worker. */
  readonly sent: number
  /** Its last START sent (the one whose result was recorded). */
  readonly lastSent: number
  /** Its result recorded. */
  readonly recorded: number
}

/**
 * The times of task `task` of run `runId`; throws unless `workerId` COMPLETED it. A task of one
 * attempt was sent its START when it was assigned (`startedAt`, the same `now` as its
 * SENT_TO_WORKER event), so only a task retried or redelivered has its events read.
 */
export const completedTimes = (runId: string, task: Task, workerId: string): TaskTimes => {
  const state = task.state
  if (state._tag !== "Completed") throw new Error(`run ${runId}: task ${task.externalId} is ${state._tag}`)
  if (state.completedBy !== workerId) throw new Error(`run ${runId} ran on worker ${state.completedBy}, not ${workerId}`)
  const created = task.createdAt
  if (task.retryCount === 0 && task.internalRetryCount === 0 && task.startedAt !== undefined) {
    return { created, sent: task.startedAt, lastSent: task.startedAt, recorded: state.at }
  }
  const sends = eventsOf(task).filter((e) => e.eventType === "SENT_TO_WORKER")
  return { created, sent: sends[0]!.timestamp, lastSent: sends.at(-1)!.timestamp, recorded: state.at }
}

/**
 * Task times in one growing `Float64Array` (four numbers a task), not an object a task: a phase
 * keeps 60,000 and more tasks' times in the engine's own process, and as objects (each with its four
 * numbers boxed) they were about 120 bytes and five heap objects a task, growing the old generation
 * the engine's major collections mark.
 */
export class TaskTimesLog {
  private columns = new Float64Array(4 * 4096)
  /** Tasks logged. */
  length = 0

  /** Logs one task's times. */
  push(times: TaskTimes): void {
    if (4 * (this.length + 1) > this.columns.length) {
      const grown = new Float64Array(2 * this.columns.length)
      grown.set(this.columns)
      this.columns = grown
    }
    const at = 4 * this.length++
    this.columns[at] = times.created
    this.columns[at + 1] = times.sent
    this.columns[at + 2] = times.lastSent
    this.columns[at + 3] = times.recorded
  }

  /** The tasks' times as objects, in the order logged (read once the phase is over). */
  toArray(): Array<TaskTimes> {
    const tasks: Array<TaskTimes> = []
    for (let at = 0; at < 4 * this.length; at += 4) {
      const c = this.columns
      tasks.push({ created: c[at]!, sent: c[at + 1]!, lastSent: c[at + 2]!, recorded: c[at + 3]! })
    }
    return tasks
  }
}

/** Runs added as they are triggered and read as they finish (`read`), each task's times kept in trigger order. */
export class FinishedRuns {
  /** Each finished task's times, in its run's trigger order. */
  readonly tasks = new TaskTimesLog()
  private pending: Array<string> = []
  private next = 0

  constructor(private readonly core: EngineCoreService, private readonly workerId: string) {}

  /** Runs just triggered. */
  add(ids: ReadonlyArray<string>): void {
    for (const id of ids) this.pending.push(id)
  }

  /** Runs added and not read yet. */
  get unread(): number {
    return this.pending.length - this.next
  }

  /** Reads the runs finished so far, up to the first unfinished one; throws if one was pruned unread. */
  read(): void {
    const runs = this.core.state.runsById
    while (this.next < this.pending.length) {
      const id = this.pending[this.next]!
      const run = runs.get(id)
      if (run === undefined) throw new Error(`run ${id} was pruned by the engine's retention before it was read`)
      if (run.finishedAt === undefined) break
      for (const task of run.tasks.values()) this.tasks.push(completedTimes(id, task, this.workerId))
      this.next++
    }
    // the ids read are let go of now and then, not one by one
    if (this.next > 10_000) {
      this.pending = this.pending.slice(this.next)
      this.next = 0
    }
  }
}
