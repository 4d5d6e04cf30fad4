/**
 * The facts of a task context that come with the run's payload (the filter payload, the skipped
 * parents, the conditions' data), added to a context as the attempt's payload is read.
 */
import type * as Option from "effect/Option"

/** The payload's facts of a task context. */
export interface RunData {
  readonly filterPayload: Option.Option<Readonly<Record<string, unknown>>>
  readonly skippedParents: ReadonlyArray<string>
  readonly triggers: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

/**
 * The method of the worker's task contexts that returns the context with a run's payload facts
 * (sharing the attempt's operations and counters).
 */
export const withRunData: unique symbol = Symbol.for("@effect-hatchet/sdk/TaskContext/withRunData")

/** A context that can take a run's payload facts. */
export interface HasRunData<A> {
  readonly [withRunData]: (data: RunData) => A
}
