/**
 * Per-action task queues: one FIFO per priority (1..4) for each `(tenant, action)`, read highest
 * priority first (upstream `ORDER BY priority DESC, id ASC`), and the marks that say which
 * queues need an assignment pass (`assignment.ts` runs them), and the wake-up of a batch group
 * whose flush waits for capacity (its `BatchFlush` timer, due at once). Assigned, cancelled or timed-out
 * entries are dropped lazily: an entry is live while its task is `Queued` with the entry's token.
 *
 * @internal
 */
import type { BatchGroup, EngineState, QueueEntry, QueueStore, Worker } from "./model.js"

/** Whether an entry is still its task's place in the queue. */
const isLive = (entry: QueueEntry): boolean => entry.task.state._tag === "Queued" && entry.task.state.token === entry.token

class Fifo {
  private items: Array<QueueEntry> = []
  private head = 0

  push(entry: QueueEntry): void {
    this.items.push(entry)
  }

  /** The first live entry, discarding dead ones. */
  peek(): QueueEntry | undefined {
    while (this.head < this.items.length) {
      const entry = this.items[this.head]!
      if (isLive(entry)) return entry
      // let go of the dead entry now, not at the next compaction (its task may be long finished)
      this.items[this.head++] = undefined as unknown as QueueEntry
    }
    this.compact()
    return undefined
  }

  /** The live entries from the head on (dead entries in the middle are skipped, not removed). */
  *live(): Generator<QueueEntry> {
    if (this.peek() === undefined) return
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact()
    // a compaction during the iteration replaces `items`: keep walking the array we started with
    const items = this.items
    let dead = 0
    for (let i = this.head; i < items.length; i++) {
      const entry = items[i]!
      if (isLive(entry)) yield entry
      else dead++
    }
    // entries assigned behind a waiting one (rate limits) die in the middle: drop them in bulk
    if (items === this.items && dead > 1024 && dead * 2 > items.length - this.head) {
      this.items = items.slice(this.head).filter(isLive)
      this.head = 0
    }
  }

  get length(): number {
    return this.items.length - this.head
  }

  private compact(): void {
    // an emptied queue (the usual case: its entries were assigned) is emptied in place
    if (this.head === this.items.length) this.items.length = 0
    else this.items = this.items.slice(this.head)
    this.head = 0
  }
}

class ActionQueue {
  /** Index 0 holds priority 1, index 3 priority 4 (retries). */
  private readonly byPriority = [new Fifo(), new Fifo(), new Fifo(), new Fifo()]

  enqueue(priority: number, entry: QueueEntry): void {
    const index = Math.min(Math.max(priority, 1), 4) - 1
    this.byPriority[index]!.push(entry)
  }

  *live(): Generator<QueueEntry> {
    for (let i = 3; i >= 0; i--) yield* this.byPriority[i]!.live()
  }

  /** Entries held, live or not (an upper bound of the live count). */
  get size(): number {
    return this.byPriority.reduce((n, fifo) => n + fifo.length, 0)
  }
}

export class ActionQueues implements QueueStore {
  private readonly queues = new Map<string, ActionQueue>()

  private key(tenantId: string, action: string) {
    return `${tenantId}\u0000${action}`
  }

  enqueue(tenantId: string, action: string, priority: number, entry: QueueEntry): void {
    const key = this.key(tenantId, action)
    let queue = this.queues.get(key)
    if (queue === undefined) {
      queue = new ActionQueue()
      this.queues.set(key, queue)
    }
    queue.enqueue(priority, entry)
  }

  live(tenantId: string, action: string): Iterable<QueueEntry> {
    return this.queues.get(this.key(tenantId, action))?.live() ?? []
  }

  size(tenantId: string, action: string): number {
    return this.queues.get(this.key(tenantId, action))?.size ?? 0
  }
}

/** Marks the queue of `action` for an assignment pass. */
export const markDirty = (state: EngineState, tenantId: string, action: string): void => {
  const map = state.dirty
  let actions = map.get(tenantId)
  if (actions === undefined) {
    actions = new Set()
    map.set(tenantId, actions)
  }
  actions.add(action)
}

/**
 * Marks every queue `worker` could serve (it gained capacity or became schedulable), and wakes the
 * stalled batch groups of its actions.
 */
export const markWorkerDirty = (state: EngineState, worker: Worker): void => {
  for (const action of worker.actions) {
    if (state.queues.size(worker.tenantId, action) > 0) markDirty(state, worker.tenantId, action)
  }
  const groups = state.tenants.get(worker.tenantId)?.batchGroups
  if (groups === undefined || groups.size === 0) return
  for (const group of groups.values()) {
    if (group.stalled && worker.actions.has(group.step.action)) wakeBatchGroup(state, group)
  }
}

/** Looks at a batch group with items again at the next timer pass (`assignment.ts onBatchFlush`). */
export const wakeBatchGroup = (state: EngineState, group: BatchGroup): void => {
  if (group.buffer.length > 0) state.timers.set({ kind: "BatchFlush", id: group.id, tenantId: group.tenantId, at: 0 })
}
