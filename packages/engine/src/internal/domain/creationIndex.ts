/**
 * An index of items (runs, tasks, events) in the order they were created, for the lists that
 * read them newest first within a time range: finding the range is a binary search and a page is
 * read by position, so a list costs what it returns, not what the engine holds. Removals
 * (retention, a replayed task's previous incarnation) are batched and applied before the next
 * read. Its array is compacted in place and keeps its room (see `putAt`), so a range reads the
 * index's own array: read it before the index changes.
 *
 * @internal
 */
export class CreationIndex<T extends { readonly createdAt: number }> {
  private items: Array<T> = []
  private head = 0
  /** The items are `items[head]` to `items[end - 1]`; the slots outside hold `undefined`. */
  private end = 0
  private readonly removed = new Set<T>()
  /** False once an item was added with an earlier `createdAt` than the last (a clock set back). */
  private ordered = true

  /** How many items it holds. */
  get size(): number {
    return this.end - this.head - this.removed.size
  }

  /** Adds an item created now (the newest). */
  add(item: T): void {
    const last = this.end > this.head ? this.items[this.end - 1] : undefined
    if (last !== undefined && item.createdAt < last.createdAt) this.ordered = false
    this.end = putAt(this.items, this.end, item)
  }

  /**
   * Removes an item it holds (once). The oldest goes at once (retention removes the oldest
   * first); others wait for the next read, or for enough of them to compact the index.
   */
  remove(item: T): void {
    if (item === this.items[this.head]) {
      this.items[this.head++] = undefined as unknown as T
      // removals that were waiting just behind it go too (runs finish nearly in creation order)
      while (this.removed.size > 0 && this.head < this.end && this.removed.delete(this.items[this.head]!)) {
        this.items[this.head++] = undefined as unknown as T
      }
      if (this.head > 1024 && this.head * 2 > this.end) this.compact()
      return
    }
    this.removed.add(item)
    if (this.removed.size > 64 && this.removed.size * 4 > this.end - this.head) this.settle()
  }

  /** Every item, oldest first. */
  all(): Array<T> {
    this.settle()
    return this.items.slice(this.head, this.end)
  }

  /** The oldest item. */
  oldest(): T | undefined {
    this.settle()
    return this.head < this.end ? this.items[this.head] : undefined
  }

  /**
   * The items created within `[since, until]` (either bound optional), newest first: how many
   * there are, and a reader of a page of them, valid until the index next changes.
   */
  range(since: number | undefined, until: number | undefined): IndexRange<T> {
    this.settle()
    const items = this.items
    if (!this.ordered) {
      const matching = items.slice(this.head, this.end).filter((item) =>
        (since === undefined || item.createdAt >= since) && (until === undefined || item.createdAt <= until)
      )
      return new IndexRange(matching, 0, matching.length)
    }
    const from = since === undefined ? this.head : this.firstAtOrAfter(since)
    const to = until === undefined ? this.end : this.firstAtOrAfter(until + 1)
    return new IndexRange(items, from, Math.max(from, to))
  }

  /** The first position whose item was created at or after `time`. */
  private firstAtOrAfter(time: number): number {
    let lo = this.head
    let hi = this.end
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
      while (this.head < this.end && removed.delete(this.items[this.head]!)) {
        this.items[this.head++] = undefined as unknown as T
      }
      if (removed.size > 0) {
        const items = this.items
        let kept = 0
        for (let i = this.head; i < this.end; i++) {
          const item = items[i]!
          if (!removed.has(item)) items[kept++] = item
        }
        items.fill(undefined as unknown as T, kept, this.end)
        this.head = 0
        this.end = kept
        removed.clear()
        if (!this.ordered && this.isSorted()) this.ordered = true
      }
    }
    if (this.head > 1024 && this.head * 2 > this.end) this.compact()
  }

  private compact(): void {
    this.end = compactSlots(this.items, this.head, this.end, undefined as unknown as T)
    this.head = 0
  }

  private isSorted(): boolean {
    for (let i = this.head + 1; i < this.end; i++) {
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

/**
 * Writes `item` at `end` of a slot array that keeps its items from a head to `end` (reusing the
 * slot the array already has, else growing it) and returns the new end.
 *
 * Such arrays (the creation indexes, retention's finished runs) are compacted in place and keep
 * their room (but see `compactSlots`): a long-lived array that is sliced into a new one, or
 * shrinks and grows back, leaves its previous backing stores to the old generation (a large one is
 * allocated there at once, a regular one is promoted as it lives for seconds), one or two more
 * copies of the array every time the runs it holds turn over, which brought the old generation to
 * its collection limit sooner.
 */
export const putAt = <T>(items: Array<T>, end: number, item: T): number => {
  if (end < items.length) items[end] = item
  else items.push(item)
  return end + 1
}

/**
 * Moves the slots `[head, end)` of a slot array (see `putAt`) to its start, in place, writing
 * `empty` into the slots left behind (`undefined`, so that they hold nothing; `0` for an array of
 * numbers, which stays an array of unboxed doubles), and returns the new end. An array left with
 * over `shrinkAbove` slots, four times what it keeps, is cut to twice that (in place: V8 trims the
 * backing store), so that a backlog once held does not keep its room for ever.
 */
export const compactSlots = <T>(items: Array<T>, head: number, end: number, empty: T): number => {
  items.copyWithin(0, head, end)
  const kept = end - head
  items.fill(empty, kept, end)
  if (items.length > shrinkAbove && kept * 4 < items.length) items.length = Math.max(kept * 2, shrinkAbove / 4)
  return kept
}

/** Below this many slots a slot array keeps its room (see `compactSlots`). */
export const shrinkAbove = 65_536
