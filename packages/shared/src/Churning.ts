/**
 * Long-lived collections whose entries come and go at the rate of tasks: the engine's timers and
 * its workers' running tasks, the SDK worker's running attempts and their fibers.
 *
 * Why they are not plain `Map`s and `Set`s: V8 keeps a Map's or Set's entries in a table it
 * replaces every so many additions and removals (grown, shrunk or rehashed), allocates the new
 * table in the generation the old one is in, and links the old table to the new one, entries
 * and all (for iterators still on it). Once a table has lived through two young-generation
 * collections (a quiet moment, or a burst of thousands of tasks) it is in the old generation,
 * and so is every table after it: each replaced one is old garbage that still points at every
 * entry it held, and the young-generation collector, which treats every old-to-young pointer as
 * live, copies and then promotes those entries (and what they point to) though nothing uses them,
 * until the next full collection. The collections here start over as a copy (a young table, the
 * old ones unreachable) once they have had as many removals as they hold entries (at least
 * `renewAfter`): amortised, a copied entry per removal at most.
 *
 * Iteration order is a `Map`'s (insertion order; a copy keeps it).
 *
 * @since 0.1.0
 */

/** Removals before a collection starts over as a copy, at least. */
const renewAfter = 64

/** Whether a collection of `size` entries with `removals` removals since it started should start over. */
const renewDue = (removals: number, size: number): boolean => removals >= renewAfter && removals >= size

/**
 * A `Map` for churning entries (see the module's JSDoc).
 *
 * @since 0.1.0
 */
export class ChurningMap<K, V> implements Iterable<[K, V]> {
  private map = new Map<K, V>()
  private removals = 0

  get size(): number {
    return this.map.size
  }

  get(key: K): V | undefined {
    return this.map.get(key)
  }

  has(key: K): boolean {
    return this.map.has(key)
  }

  set(key: K, value: V): this {
    this.map.set(key, value)
    return this
  }

  /** Removes `key`; true when it was there. */
  delete(key: K): boolean {
    if (!this.map.delete(key)) return false
    if (renewDue(++this.removals, this.map.size)) {
      this.map = new Map(this.map)
      this.removals = 0
    }
    return true
  }

  values(): IterableIterator<V> {
    return this.map.values()
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map[Symbol.iterator]()
  }
}

/**
 * A `Set` for churning entries (see the module's JSDoc).
 *
 * @since 0.1.0
 */
export class ChurningSet<T> implements Iterable<T> {
  private set = new Set<T>()
  private removals = 0

  get size(): number {
    return this.set.size
  }

  has(value: T): boolean {
    return this.set.has(value)
  }

  add(value: T): this {
    this.set.add(value)
    return this
  }

  /** Removes `value`; true when it was there. */
  delete(value: T): boolean {
    if (!this.set.delete(value)) return false
    if (renewDue(++this.removals, this.set.size)) {
      this.set = new Set(this.set)
      this.removals = 0
    }
    return true
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.set[Symbol.iterator]()
  }
}
