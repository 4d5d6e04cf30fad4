/**
 * What the parts of a worker share: its status, its id on the engine, its phase (running,
 * draining, closing), its running attempts, and its current labels.
 */
import { ChurningMap } from "@effect-hatchet/shared/Churning"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { Attempt } from "./attempt.js"
import { WorkerStatus } from "./workerStatus.js"

/**
 * `running`; `draining` once the scope closes (paused on the engine, still running what it was
 * given, including what the engine assigned before the pause took effect); `closing` once the
 * grace period is over (an assignment is handed back at once).
 */
export type Phase = "running" | "draining" | "closing"

/** A worker's shared, mutable state. */
export interface WorkerState {
  readonly status: SubscriptionRef.SubscriptionRef<WorkerStatus>
  /** The engine's id for the worker (none until registered, and while it must register again). */
  readonly workerId: Ref.Ref<Option.Option<string>>
  /** The id of the latest registration (kept while the worker registers again), once there is one. */
  registeredId: string
  /** Done once the worker registered for the first time. */
  readonly registered: Deferred.Deferred<void>
  /** The running attempts, keyed by task run. */
  readonly attempts: ChurningMap<string, Attempt>
  phase: Phase
  /** The worker's labels: those it started with, as changed by `upsertLabels` since. */
  labels: Readonly<Record<string, string | number>>
}

/** The state of a worker that has not registered yet. */
export const make = (labels: Readonly<Record<string, string | number>>): Effect.Effect<WorkerState> =>
  Effect.gen(function*() {
    return {
      status: yield* SubscriptionRef.make<WorkerStatus>(WorkerStatus.Registering()),
      workerId: yield* Ref.make(Option.none<string>()),
      registeredId: "",
      registered: yield* Deferred.make<void>(),
      attempts: new ChurningMap(),
      phase: "running",
      labels
    }
  })

/** Sets the worker's status. */
export const setStatus = (state: WorkerState, next: WorkerStatus): Effect.Effect<void> => SubscriptionRef.set(state.status, next)
