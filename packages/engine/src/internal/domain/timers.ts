/**
 * The engine's deadlines as plain data: each `Timer` says what it acts on by id (a task's external
 * id, a worker's id, a cron's id, ...), the token that must still hold when it fires, and when.
 * The queue holds no clock and no callbacks: the engine's timer fiber sleeps with Effect's `Clock`
 * until the earliest deadline and hands every due timer to one function (`deadlines.ts`), so
 * under `TestClock` every deadline follows the test's time.
 *
 * A timer belongs to its owner: there is at most one timer per kind and owner id, so setting one
 * replaces the pending one (a refreshed timeout moves, a re-armed schedule timeout takes the new
 * token), and a timer is cancelled when its owner moves on (a task assigned, finished or pruned).
 * One that is left behind is harmless: it looks its owner up by id and checks its token.
 *
 * @internal
 */
import { ChurningMap } from "@effect-hatchet/shared/Churning"

/** What a timer does, and the data it needs to do it (ids and tokens, never objects). */
export type Timer =
  /** A queued task still under `token` (its queue token) at `at` is cancelled: SCHEDULING_TIMED_OUT. */
  | { readonly kind: "ScheduleTimeout"; readonly id: string; readonly token: number; readonly at: number }
  /** A task still waiting unfilled in the concurrency slot `index` (sort id `token`, `generation`) is cancelled. */
  | {
    readonly kind: "SlotScheduleTimeout"
    readonly id: string
    readonly index: number
    readonly token: number
    readonly generation: number
    readonly at: number
  }
  /** The attempt `token` (its retry count) of a task still running at `at` times out. */
  | { readonly kind: "ExecutionTimeout"; readonly id: string; readonly token: number; readonly at: number }
  /** The retry `token` of a task waiting for its backoff is queued. */
  | { readonly kind: "RetryBackoff"; readonly id: string; readonly token: number; readonly at: number }
  /** A rate-limited queue item taken out under `token` re-enters its queue at `priority`. */
  | {
    readonly kind: "Unpark"
    readonly id: string
    readonly token: number
    readonly priority: number
    readonly deadline: number
    readonly at: number
  }
  /** A task held under `token` while its workflow is paused is cancelled: its queue TTL passed. */
  | { readonly kind: "PausedQueueTtl"; readonly id: string; readonly token: number; readonly at: number }
  /** The stream events a task's attempt `token` holds back for a gap in `event_index` are released. */
  | { readonly kind: "StreamFlush"; readonly id: string; readonly token: number; readonly at: number }
  /** The event subscribers of the finished run `id` are hung up with the WORKFLOW_RUN event `eventType`. */
  | { readonly kind: "RunHangup"; readonly id: string; readonly eventType: number; readonly at: number }
  /** A worker silent since its last heartbeat is checked (its attempts re-queued if it is dead). */
  | { readonly kind: "WorkerLiveness"; readonly id: string; readonly at: number }
  /** A legacy `Listen` stream (session `id` of worker `workerId`) refreshes its worker's heartbeat. */
  | { readonly kind: "LegacyHeartbeat"; readonly id: string; readonly workerId: string; readonly at: number }
  /** The window of a tenant's rate-limit key ends: the queues waiting for it are woken. */
  | { readonly kind: "RateLimitRefill"; readonly id: string; readonly tenantId: string; readonly key: string; readonly at: number }
  /** A scheduled run of a tenant fires, if it is still due at `at`. */
  | { readonly kind: "ScheduledRun"; readonly id: string; readonly tenantId: string; readonly at: number }
  /** A sleep condition (`sleep-<n>`, the id) of a run's match (a step's or a durable wait's) ends. */
  | { readonly kind: "Sleep"; readonly id: string; readonly runId: string; readonly at: number }
  /** A cron's tick at `at`. */
  | { readonly kind: "CronTick"; readonly id: string; readonly tenantId: string; readonly at: number }
  /** A batch group of a tenant is looked at: flushed when due. */
  | { readonly kind: "BatchFlush"; readonly id: string; readonly tenantId: string; readonly at: number }
  /** The retention sweep of the tenant `id`: what its policy no longer keeps is pruned. */
  | { readonly kind: "Retention"; readonly id: string; readonly at: number }

export type TimerKind = Timer["kind"]

/**
 * A task's schedule or execution timeout, the two timers every task arms, as a class instance:
 * a class has no allocation site, so V8 never decides (as it does for an object literal's site
 * after a burst of thousands of tasks) to allocate every later one in the old generation, where
 * each would stay, dead, until a full collection.
 */
export class TaskTimeout {
  constructor(
    readonly kind: "ScheduleTimeout" | "ExecutionTimeout",
    readonly id: string,
    readonly token: number,
    readonly at: number
  ) {}
}

/** The kinds of timer a task owns (keyed by its external id). */
export const taskTimerKinds: ReadonlyArray<TimerKind> = [
  "ScheduleTimeout",
  "SlotScheduleTimeout",
  "ExecutionTimeout",
  "RetryBackoff",
  "Unpark",
  "StreamFlush",
  "PausedQueueTtl"
]

/** A timer in the heap (a class: no allocation site, so V8 never allocates entries in the old generation). */
class Entry {
  /** False once cancelled: left in the heap until it reaches the top or the heap is compacted. */
  live = true
  constructor(
    public timer: Timer,
    public seq: number,
    /** Position in the heap. */
    public index: number,
    /** Set for the next turn: if set while timers fire, it waits for the next `runDue`. */
    public nextTurn: boolean
  ) {}
}

/**
 * Cancelled entries the heap keeps at most beyond its live ones before it is rebuilt without them:
 * few, so that a cancelled entry (a run leaves two behind, its schedule and execution timeouts)
 * and the timer it holds are dropped before a young-generation collection would copy them, or
 * promote them to the old generation where they would stay until a full collection.
 */
const deadSlack = 64

const before = (a: Entry, b: Entry) => a.timer.at < b.timer.at || (a.timer.at === b.timer.at && a.seq < b.seq)

/**
 * Timers in a binary heap by deadline, each found by its kind and owner. A cancelled timer is only
 * marked (an assigned task's schedule timeout is near the top of a heap of every queued task's:
 * removing it would sift through the heap's whole depth); cancelled entries are dropped when they
 * reach the top, or all at once when they outnumber the live ones.
 */
export class TimerQueue {
  private heap: Array<Entry> = []
  /** By kind, then owner: a task's timers come and go with it (`ChurningMap`). */
  private readonly byOwner = new Map<TimerKind, ChurningMap<string, Entry>>()
  private seq = 0
  /** Cancelled entries still in the heap. */
  private dead = 0
  /** Called when a deadline earlier than every pending one is added. */
  onEarlier: () => void = () => {}

  /** Pending timers. */
  get size(): number {
    return this.heap.length - this.dead
  }

  /**
   * Sets `timer`, replacing the pending timer of the same kind and owner. With `nextTurn`, a timer
   * set while timers fire (due now: the next slice of a long job) is left for the next `runDue`,
   * so that the caller's loop gets a turn in between.
   */
  set(timer: Timer, nextTurn = false): void {
    this.dropDeadTop()
    const earliest = this.heap[0]?.timer.at
    let owners = this.byOwner.get(timer.kind)
    if (owners === undefined) {
      owners = new ChurningMap()
      this.byOwner.set(timer.kind, owners)
    }
    const existing = owners.get(timer.id)
    if (existing !== undefined) {
      existing.timer = timer
      existing.seq = this.seq++
      existing.nextTurn = nextTurn
      this.up(existing.index)
      this.down(existing.index)
    } else {
      const entry = new Entry(timer, this.seq++, this.heap.length, nextTurn)
      owners.set(timer.id, entry)
      this.heap.push(entry)
      this.up(entry.index)
    }
    if (earliest === undefined || timer.at < earliest) this.onEarlier()
  }

  /** Cancels the pending timer of `kind` owned by `id`, if any. */
  cancel(kind: TimerKind, id: string): void {
    const owners = this.byOwner.get(kind)
    const entry = owners?.get(id)
    if (entry === undefined) return
    owners!.delete(id)
    entry.live = false
    this.dead++
    if (this.dead > deadSlack && this.dead > this.heap.length - this.dead) this.compact()
  }

  /** The pending timer of `kind` owned by `id`. */
  get(kind: TimerKind, id: string): Timer | undefined {
    return this.byOwner.get(kind)?.get(id)?.timer
  }

  /** Pending timers owned by `id`, of any kind. */
  ownedBy(id: string): Array<Timer> {
    const found: Array<Timer> = []
    for (const owners of this.byOwner.values()) {
      const entry = owners.get(id)
      if (entry !== undefined) found.push(entry.timer)
    }
    return found
  }

  /** The earliest pending deadline. */
  next(): number | undefined {
    this.dropDeadTop()
    return this.heap[0]?.timer.at
  }

  /**
   * Hands every timer due at `now` to `fire`, including timers set while firing, except one set
   * for the next turn while firing: it stops the pass (with any timer set after it for the same
   * instant), and `next()` then answers a deadline that is already due.
   */
  runDue(now: number, fire: (timer: Timer) => void): void {
    const fence = this.seq
    for (;;) {
      this.dropDeadTop()
      const top = this.heap[0]
      if (top === undefined || top.timer.at > now) return
      if (top.nextTurn && top.seq >= fence) return
      this.byOwner.get(top.timer.kind)!.delete(top.timer.id)
      this.removeAt(0)
      fire(top.timer)
    }
  }

  /** Removes cancelled entries from the top, so that the top is a live timer (or the heap empty). */
  private dropDeadTop(): void {
    while (this.heap.length > 0 && !this.heap[0]!.live) {
      this.removeAt(0)
      this.dead--
    }
  }

  /** Rebuilds the heap from its live entries, in place. */
  private compact(): void {
    const heap = this.heap
    let kept = 0
    for (let i = 0; i < heap.length; i++) {
      const entry = heap[i]!
      if (!entry.live) continue
      entry.index = kept
      heap[kept++] = entry
    }
    heap.length = kept
    this.dead = 0
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.down(i)
  }

  private removeAt(index: number): void {
    const heap = this.heap
    const last = heap.pop()!
    if (index === heap.length) return
    heap[index] = last
    last.index = index
    this.down(index)
    this.up(last.index)
  }

  private swap(i: number, j: number): void {
    const heap = this.heap
    const a = heap[i]!
    const b = heap[j]!
    heap[i] = b
    heap[j] = a
    a.index = j
    b.index = i
  }

  private up(index: number): void {
    let i = index
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(this.heap[i]!, this.heap[parent]!)) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(index: number): void {
    const heap = this.heap
    let i = index
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right
      if (smallest === i) return
      this.swap(i, smallest)
      i = smallest
    }
  }
}
