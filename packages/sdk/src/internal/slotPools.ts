/**
 * The worker's slots: the `default` pool and the `durable` pool, and the count of slots held, as
 * attempts take and release them (with the slot and task metrics).
 */
import { Effect } from "effect"
import * as WorkerMetrics from "../WorkerMetrics.js"
import type { Attempt } from "./attempt.js"

/** The worker's slot pools. */
export interface SlotPools {
  readonly default: Effect.Semaphore
  readonly durable: Effect.Semaphore
  /** Slots held by running attempts. */
  readonly held: () => number
  /** Takes an attempt's slots from `pool` (default: the default pool), and counts the attempt as started. */
  readonly take: (attempt: Attempt, permits: number, pool?: Effect.Semaphore) => Effect.Effect<void>
  /** Hands back the slots an attempt still holds. */
  readonly release: (attempt: Attempt) => Effect.Effect<void>
}

/** Pools of `slots` and `durableSlots` permits. */
export const make = (slots: number, durableSlots: number): Effect.Effect<SlotPools> =>
  Effect.gen(function*() {
    const semaphore = yield* Effect.makeSemaphore(slots)
    const durableSemaphore = yield* Effect.makeSemaphore(durableSlots)
    let slotsHeld = 0
    // the hot path updates metrics synchronously with the labels its fiber had when it started
    // (what `Metric.update` would read on each call)
    return {
      default: semaphore,
      durable: durableSemaphore,
      held: () => slotsHeld,
      take: (attempt, permits, pool = semaphore) =>
        Effect.zipRight(
          pool.take(permits),
          Effect.sync(() => {
            attempt.pool = pool
            attempt.permits = permits
            slotsHeld += permits
            WorkerMetrics.slotsInUse.unsafeModify(permits, attempt.metricLabels)
            WorkerMetrics.tasksStarted.unsafeUpdate(1, attempt.metricLabels)
          })
        ),
      release: (attempt) =>
        Effect.suspend(() => {
          const permits = attempt.permits
          if (permits === 0) return Effect.void
          attempt.permits = 0
          slotsHeld -= permits
          WorkerMetrics.slotsInUse.unsafeModify(-permits, attempt.metricLabels)
          return (attempt.pool ?? semaphore).release(permits)
        })
    }
  })
