/**
 * The worker's slots: the `default` pool and the `durable` pool, and the count of slots held, as
 * attempts take and release them (with the slot and task metrics).
 *
 * A pool is a counting semaphore of its own rather than Effect's: an attempt takes its permits
 * synchronously when they are free (`unsafeTryTake`, the common case: no asynchronous step, no
 * interruption handler, no effect at all on the attempt's fiber), and waits only when they are
 * not (`take`). Waiters are woken in the order they came, each that fits (a large `slotCost` does
 * not hold back smaller ones behind it, as with Effect's `Semaphore`), and a woken waiter's
 * permits are taken for it as it is woken: they are the attempt's at once, released with it even
 * if it is interrupted before its fiber runs again.
 */
import * as Effect from "effect/Effect"
import * as WorkerMetrics from "../WorkerMetrics.js"
import type { Attempt } from "./attempt.js"

/** A pool of permits. */
export interface SlotPool {
  readonly permits: number
  /** Permits not taken. */
  free: number
  /** Attempts waiting, in the order they came: each takes its permits when they fit. */
  readonly waiters: Set<Waiter>
}

interface Waiter {
  readonly attempt: Attempt
  readonly permits: number
  readonly resume: () => void
}

/** The worker's slot pools. */
export interface SlotPools {
  readonly default: SlotPool
  readonly durable: SlotPool
  /** Slots held by running attempts. */
  readonly held: () => number
  /**
   * Takes an attempt's slots from `pool` (default: the default pool) as it is called, if they are
   * free and nothing waits before it, and counts the attempt as started; false when it must wait
   * (`take`).
   */
  readonly unsafeTryTake: (attempt: Attempt, permits: number, pool?: SlotPool) => boolean
  /** Takes an attempt's slots from `pool` (default: the default pool), waiting until they are free. */
  readonly take: (attempt: Attempt, permits: number, pool?: SlotPool) => Effect.Effect<void>
  /** Hands back the slots an attempt still holds, as it is called (waking the waiters that now fit). */
  readonly unsafeRelease: (attempt: Attempt) => void
  /** Hands back the slots an attempt still holds. */
  readonly release: (attempt: Attempt) => Effect.Effect<void>
}

const makePool = (permits: number): SlotPool => ({ permits, free: permits, waiters: new Set() })

/** Pools of `slots` and `durableSlots` permits. */
export const make = (slots: number, durableSlots: number): Effect.Effect<SlotPools> =>
  Effect.sync(() => {
    const defaultPool = makePool(slots)
    const durablePool = makePool(durableSlots)
    let slotsHeld = 0

    // the hot path updates metrics synchronously with the labels its fiber had when it started
    // (what `Metric.update` would read on each call)
    const taken = (attempt: Attempt, permits: number, pool: SlotPool): void => {
      pool.free -= permits
      attempt.pool = pool
      attempt.permits = permits
      slotsHeld += permits
      WorkerMetrics.slotsInUse.unsafeModify(permits, attempt.metricLabels)
      WorkerMetrics.tasksStarted.unsafeUpdate(1, attempt.metricLabels)
    }

    const unsafeTryTake = (attempt: Attempt, permits: number, pool: SlotPool = defaultPool): boolean => {
      if (pool.waiters.size > 0 || pool.free < permits) return false
      taken(attempt, permits, pool)
      return true
    }

    const take = (attempt: Attempt, permits: number, pool: SlotPool = defaultPool): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        if (unsafeTryTake(attempt, permits, pool)) return resume(Effect.void)
        const waiter: Waiter = { attempt, permits, resume: () => resume(Effect.void) }
        pool.waiters.add(waiter)
        // interrupted while waiting: it leaves the queue (its permits, if it was woken, are the
        // attempt's and are released with it)
        return Effect.sync(() => {
          pool.waiters.delete(waiter)
          wake(pool)
        })
      })

    /** Wakes the waiters that fit, in order, taking their permits for them. */
    const wake = (pool: SlotPool): void => {
      if (pool.waiters.size === 0) return
      for (const waiter of pool.waiters) {
        if (pool.free <= 0) break
        if (waiter.permits > pool.free) continue
        pool.waiters.delete(waiter)
        taken(waiter.attempt, waiter.permits, pool)
        waiter.resume()
      }
    }

    const unsafeRelease = (attempt: Attempt): void => {
      const permits = attempt.permits
      if (permits === 0) return
      const pool = attempt.pool ?? defaultPool
      attempt.permits = 0
      slotsHeld -= permits
      pool.free += permits
      WorkerMetrics.slotsInUse.unsafeModify(-permits, attempt.metricLabels)
      wake(pool)
    }

    return {
      default: defaultPool,
      durable: durablePool,
      held: () => slotsHeld,
      unsafeTryTake,
      take,
      unsafeRelease,
      release: (attempt) => Effect.sync(() => unsafeRelease(attempt))
    }
  })
