/**
 * The worker's metrics, as Effect `Metric`s: module-level values every `Worker` in the process
 * updates. Read them with `Metric.value` or `Metric.snapshot`, or export them with any Effect
 * metrics exporter (OpenTelemetry, Prometheus). Labels set on the worker's layer with
 * `Effect.labelMetrics` / `Layer` (the fiber's metric labels) apply to every update.
 *
 * - `tasksStarted`, `tasksCompleted`, `tasksFailed`, `tasksInterrupted`: attempts that began
 *   running (a slot taken), reported COMPLETED, reported FAILED, and were interrupted (cancelled,
 *   superseded by a newer retry, or stopped by a shutdown).
 * - `slotsInUse`: slots held by running attempts, summed over the process's workers.
 * - `taskDuration`: how long handlers ran.
 * - `taskOverhead`: what the SDK adds to an attempt: from the assignment's arrival to its
 *   COMPLETED or FAILED event being queued for sending, minus the handler's own time (waiting
 *   for a slot, decoding, encoding, bookkeeping; not the wait for a round of event calls, nor
 *   the call itself).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** The worker's counters only ever go up. */
const counter = (name: string, description: string): Metric.Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true })

/**
 * Task attempts that began running.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tasksStarted: Metric.Metric.Counter<number> = counter(
  "hatchet_worker_tasks_started",
  "Task attempts that began running on this worker"
)

/**
 * Task attempts reported COMPLETED.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tasksCompleted: Metric.Metric.Counter<number> = counter(
  "hatchet_worker_tasks_completed",
  "Task attempts reported COMPLETED"
)

/**
 * Task attempts reported FAILED (typed failures, defects, invalid input or output, unknown actions).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tasksFailed: Metric.Metric.Counter<number> = counter(
  "hatchet_worker_tasks_failed",
  "Task attempts reported FAILED"
)

/**
 * Task attempts interrupted: cancelled, superseded by a newer retry, or stopped by a shutdown.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tasksInterrupted: Metric.Metric.Counter<number> = counter(
  "hatchet_worker_tasks_interrupted",
  "Task attempts interrupted (cancelled, superseded or stopped by a shutdown)"
)

/**
 * Slots held by running task attempts (updated by +/- the attempt's slot cost).
 *
 * @since 0.1.0
 * @category metrics
 */
export const slotsInUse: Metric.Metric.Gauge<number> = Metric.gauge("hatchet_worker_slots_in_use", {
  description: "Slots held by running task attempts"
})

/**
 * Handler run time, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const taskDuration = Metric.timer("hatchet_worker_task_duration", "Task handler run time")

/**
 * Bucket boundaries of `taskOverhead`, in milliseconds: 10 µs to about 40 s, each 20% wider than
 * the previous, so quantiles read from the buckets are within 10%.
 *
 * @since 0.1.0
 * @category metrics
 */
export const overheadBoundaries: MetricBoundaries.MetricBoundaries = MetricBoundaries.exponential({
  start: 0.01,
  factor: 1.2,
  count: 85
})

/**
 * The SDK's time per attempt, in milliseconds: assignment received to COMPLETED or FAILED queued
 * for sending, minus the handler's run time.
 *
 * @since 0.1.0
 * @category metrics
 */
export const taskOverhead = Metric.timerWithBoundaries(
  "hatchet_worker_task_overhead",
  overheadBoundaries.values,
  "Time the SDK adds per task attempt: assignment received to result queued for sending, minus the handler"
)
