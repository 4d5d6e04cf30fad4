/**
 * An index of items (runs, tasks, events) in the order they were created, for the lists that
 * read them newest first within a time range: finding the range is a binary search and a page is
 * read by position, so a list costs what it returns, not what the engine holds. Removals
 * (retention, a replayed task's previous incarnation) are batched and applied before the next
 * read.
 *
 * @internal
 */
export class CreationIndex<T extends { readonly createdAt: number }> {
  private items: Array<T> = []
  private head = 0
  private readonly removed = new Set<T>()
  /** False once an item was added with an earlier `createdAt` than the last (a clock set back). */
  private ordered = true

  /** How many items it holds. */
  get size(): number {
    return this.items.length - this.head - this.removed.size
  }

  /** Adds an item created now (the newest). */
  add(item: T): void {
    const last = this.items[this.items.length - 1]
    if (last !== undefined && item.createdAt < last.createdAt) this.ordered = false
    this.items.push(item)
  }

  /**
   * Removes an item it holds (once). The oldest goes at once (retention removes the oldest
   * first); others wait for the next read, or for enough of them to compact the index.
   */
  remove(item: T): void {
    if (item === this.items[this.head]) {
      this.items[this.head++] = undefined as unknown as T
      // removals that were waiting just behind it go too (runs finish nearly in creation order)
      while (this.removed.size > 0 && this.head < this.items.length && this.removed.delete(this.items[this.head]!)) {
        this.items[this.head++] = undefined as unknown as T
      }
      if (this.head > 1024 && this.head * 2 > this.items.length) this.compact()
      return
    }
    this.removed.add(item)
    if (this.removed.size > 64 && this.removed.size * 4 > this.items.length - this.head) this.settle()
  }

  /** Every item, oldest first. */
  all(): Array<T> {
    this.settle()
    return this.items.slice(this.head)
  }

  /** The oldest item. */
  oldest(): T | undefined {
    this.settle()
    return this.items[this.head]
  }

  /**
   * The items created within `[since, until]` (either bound optional), newest first: how many
   * there are, and a reader of a page of them.
   */
  range(since: number | undefined, until: number | undefined): IndexRange<T> {
    this.settle()
    const items = this.items
    if (!this.ordered) {
      const matching = items.slice(this.head).filter((item) =>
        (since === undefined || item.createdAt >= since) && (until === undefined || item.createdAt <= until)
      )
      return new IndexRange(matching, 0, matching.length)
    }
    const from = since === undefined ? this.head : this.firstAtOrAfter(since)
    const to = until === undefined ? items.length : this.firstAtOrAfter(until + 1)
    return new IndexRange(items, from, Math.max(from, to))
  }

  /** The first position whose item was created at or after `time`. */
  private firstAtOrAfter(time: number): number {
    let lo = this.head
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.items[mid]!.createdAt < time) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private settle(): void {
    const removed = this.removed
    if (removed.size > 0) {
      while (this.head < this.items.length && removed.delete(this.items[this.head]!)) this.head++
      if (removed.size > 0) {
        this.items = this.items.slice(this.head).filter((item) => !removed.has(item))
        this.head = 0
        removed.clear()
        if (!this.ordered && this.isSorted()) this.ordered = true
      }
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact()
  }

  private compact(): void {
    this.items = this.items.slice(this.head)
    this.head = 0
  }

  private isSorted(): boolean {
    for (let i = this.head + 1; i < this.items.length; i++) {
      if (this.items[i]!.createdAt < this.items[i - 1]!.createdAt) return false
    }
    return true
  }
}

/** Items `[from, to)` of an array in creation order, read newest first. */
export class IndexRange<T> {
  constructor(private readonly items: ReadonlyArray<T>, private readonly from: number, private readonly to: number) {}

  /** How many items are in the range. */
  get count(): number {
    return this.to - this.from
  }

  /** The page `[offset, offset + limit)` of the range, newest first. */
  page(offset: number, limit: number): Array<T> {
    const rows: Array<T> = []
    const start = this.to - 1 - offset
    for (let i = start; i >= this.from && rows.length < limit; i--) rows.push(this.items[i]!)
    return rows
  }

  /** Every item of the range, newest first. */
  *newestFirst(): Generator<T> {
    for (let i = this.to - 1; i >= this.from; i--) yield this.items[i]!
  }
}
