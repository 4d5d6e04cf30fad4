/**
 * Deadlines of the domain (execution and schedule timeouts, retry backoffs, worker liveness,
 * stream-reorder flushes) in one min-heap. The heap holds no clock of its own: the engine's timer
 * fiber sleeps with Effect's `Clock` until the earliest deadline and then fires everything due,
 * so under `TestClock` every deadline follows the test's time.
 *
 * Entries are never removed: a callback re-checks the state it guards when it fires (a refreshed
 * timeout or a finished task makes it a no-op).
 *
 * @internal
 */

interface Entry {
  readonly at: number
  readonly seq: number
  readonly fire: (now: number) => void
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

export class TimerQueue {
  private readonly heap: Array<Entry> = []
  private seq = 0
  /** Called when a deadline earlier than every pending one is added. */
  onEarlier: () => void = () => {}

  get size(): number {
    return this.heap.length
  }

  /** Runs `fire` at (or after) `at`, in milliseconds since the epoch. */
  at(at: number, fire: (now: number) => void): void {
    const entry: Entry = { at, seq: this.seq++, fire }
    const earliest = this.heap[0]
    this.heap.push(entry)
    this.up(this.heap.length - 1)
    if (earliest === undefined || at < earliest.at) this.onEarlier()
  }

  /** The earliest pending deadline. */
  next(): number | undefined {
    return this.heap[0]?.at
  }

  /** Fires every entry due at `now`, including entries added while firing. */
  runDue(now: number): void {
    for (;;) {
      const top = this.heap[0]
      if (top === undefined || top.at > now) return
      this.pop()
      top.fire(now)
    }
  }

  private pop(): void {
    const last = this.heap.pop()!
    if (this.heap.length > 0) {
      this.heap[0] = last
      this.down(0)
    }
  }

  private up(index: number): void {
    const heap = this.heap
    let i = index
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) return
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
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
      ;[heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!]
      i = smallest
    }
  }
}
