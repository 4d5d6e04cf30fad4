/**
 * Per-action task queues: one FIFO per priority (1..4) for each `(tenant, action)`, read highest
 * priority first (upstream `ORDER BY priority DESC, id ASC`). Cancelled or timed-out entries are
 * dropped lazily: an entry is live while its task still carries the entry's token.
 *
 * @internal
 */
import type { QueueEntry, QueueStore } from "./model.js"

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
      if (entry.task.queueToken === entry.token) return entry
      this.head++
    }
    this.compact()
    return undefined
  }

  shift(): void {
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact()
  }

  get length(): number {
    return this.items.length - this.head
  }

  private compact(): void {
    this.items = this.items.slice(this.head)
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

  peek(): QueueEntry | undefined {
    for (let i = 3; i >= 0; i--) {
      const entry = this.byPriority[i]!.peek()
      if (entry !== undefined) return entry
    }
    return undefined
  }

  pop(): void {
    for (let i = 3; i >= 0; i--) {
      if (this.byPriority[i]!.peek() !== undefined) {
        this.byPriority[i]!.shift()
        return
      }
    }
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

  peek(tenantId: string, action: string): QueueEntry | undefined {
    return this.queues.get(this.key(tenantId, action))?.peek()
  }

  pop(tenantId: string, action: string): void {
    this.queues.get(this.key(tenantId, action))?.pop()
  }

  size(tenantId: string, action: string): number {
    return this.queues.get(this.key(tenantId, action))?.size ?? 0
  }
}
