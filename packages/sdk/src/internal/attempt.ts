/**
 * One running attempt of a task run: the worker's mutable record of it (its slots, its fiber, why
 * it was interrupted, its durable waits, what its metrics need, and its events the engine has not
 * acknowledged yet).
 *
 * The worker's records made per attempt (this one, its events, its parsed payload and arguments,
 * its parent span) are class instances, not object literals. V8 tracks each literal's allocation
 * site: when most of a site's objects outlive a young-generation collection (in a burst, when
 * attempts wait for slots or for the engine's answers) it allocates the site's objects in the old
 * generation from then on, for the life of the process. There they die as garbage only a full
 * collection frees, and until then keep alive everything young they point to (strings, closures,
 * a fiber's state), which the next young-generation collections copy and promote. Class instances
 * have no allocation site.
 */
import type { ChurningMap } from "@effect-hatchet/shared/Churning"
import type * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import type * as Fiber from "effect/Fiber"
import type * as MetricLabel from "effect/MetricLabel"
import type { SlotPool } from "./slotPools.js"

/**
 * Why an attempt's fiber was interrupted from outside (or by itself). `evicted`: a durable
 * attempt handed back to the engine (by this worker, or told so by the engine), which restores it.
 */
export type InterruptReason = "cancelled" | "superseded" | "self-cancel" | "shutdown" | "evicted"

/** One running attempt of a task run. */
export interface Attempt {
  readonly retryCount: number
  /** A durable task's invocation (`durable_task_invocation_count`); 0 for other tasks. */
  readonly invocationCount: number
  /** Durable waits in progress (a durable attempt waiting for the engine may be evicted). */
  durableWaits: number
  /** The slot pool its permits come from. */
  pool: SlotPool | undefined
  reason: InterruptReason | undefined
  /** Slot permits held (0 once released). */
  permits: number
  /** Its fiber, while it runs (cleared when it ends, so that nothing the fiber held is kept). */
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /** Its fiber has ended. */
  ended: boolean
  /**
   * Its events queued and not yet acknowledged: the attempt stays in the worker's attempts until
   * its fiber has ended and these are answered (its fiber does not wait for them).
   */
  unacknowledged: number
  /** Takes it out of the worker's attempts (set by `track`). */
  untrack: () => void
  /** When the assignment arrived (`Clock` nanoseconds), for the overhead metric. */
  readonly receivedAt: bigint
  /** The handler's run time, once it ran. */
  handlerTime: Duration.Duration | undefined
  /** The metric labels of the attempt's fiber (read once). */
  metricLabels: ReadonlyArray<MetricLabel.MetricLabel>
  /** The run's additional metadata, parsed once (let go of once the attempt leaves the worker's attempts). */
  metadata: Readonly<Record<string, unknown>>
}

/** A new attempt, received now, holding no slot yet. */
export const make = (
  clock: Clock.Clock,
  retryCount: number,
  metadata: Readonly<Record<string, unknown>>,
  invocationCount = 0
): Attempt => new AttemptRecord(retryCount, invocationCount, clock.unsafeCurrentTimeNanos(), metadata)

const untracked = () => {}
const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []

/** An `Attempt` (a class: see the module's note on V8's pretenuring). */
class AttemptRecord implements Attempt {
  durableWaits = 0
  pool: SlotPool | undefined = undefined
  reason: InterruptReason | undefined = undefined
  permits = 0
  fiber: Fiber.RuntimeFiber<void, never> | undefined = undefined
  ended = false
  unacknowledged = 0
  untrack: () => void = untracked
  handlerTime: Duration.Duration | undefined = undefined
  metricLabels: ReadonlyArray<MetricLabel.MetricLabel> = noLabels
  constructor(
    readonly retryCount: number,
    readonly invocationCount: number,
    readonly receivedAt: bigint,
    public metadata: Readonly<Record<string, unknown>>
  ) {}
}

const noMetadata: Readonly<Record<string, unknown>> = {}

/**
 * Runs an attempt's fiber under `key` in `attempts`, the entry removed once the fiber has ended
 * and its events are acknowledged (unless a newer attempt took the key). The attempt is in
 * `attempts` before its fiber starts. `attempts` is a `ChurningMap`: a long-lived `Map` whose
 * entries come and go keeps its earlier hash tables, and the entries they held (the attempts and
 * their keys, the assignment's strings), until a full collection (V8 rehashes it into a new table,
 * the old one linked to it). Once removed, the record also lets go of what it points to.
 */
export const track = (
  attempts: ChurningMap<string, Attempt>,
  key: string,
  attempt: Attempt,
  fork: () => Fiber.RuntimeFiber<void, never>
): void => {
  attempts.set(key, attempt)
  attempt.untrack = () => {
    if (attempts.get(key) === attempt) attempts.delete(key)
    attempt.untrack = untracked
    attempt.metadata = noMetadata
    attempt.handlerTime = undefined
  }
  const fiber = fork()
  attempt.fiber = fiber
  fiber.addObserver(() => {
    attempt.fiber = undefined
    attempt.ended = true
    if (attempt.unacknowledged === 0) attempt.untrack()
  })
}

/** Counts an event of the attempt as queued; call `acknowledged` when the engine answered it. */
export const queued = (attempt: Attempt): void => {
  attempt.unacknowledged++
}

/** An event of the attempt was answered (or failed): the attempt leaves when it was the last. */
export const acknowledged = (attempt: Attempt): void => {
  if (--attempt.unacknowledged === 0 && attempt.ended) attempt.untrack()
}
