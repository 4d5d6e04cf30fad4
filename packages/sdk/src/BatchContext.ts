/**
 * The per-batch service a batch task's handler reads with `yield* BatchContext`: which batch this
 * is (its id, group key, why the engine flushed it), who its items are (each item's task run and
 * workflow run, in the order of the handler's inputs) and what it can ask of the engine (refresh
 * the timeout of every item, cancel the whole batch).
 *
 * A batch handler has no `TaskContext`: it runs many task runs at once, none of which is "the"
 * task. Log lines written with Effect's logger inside the handler reach Hatchet as task logs of
 * every item of the batch.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { BatchContext } from "@effect-hatchet/sdk"
 *
 * const handler = (inputs: ReadonlyArray<{ readonly text: string }>) =>
 *   Effect.gen(function*() {
 *     const batch = yield* BatchContext.BatchContext
 *     yield* Effect.log(`batch ${batch.batchId}: ${inputs.length} items (${batch.triggerReason})`)
 *     return inputs.map((input, i) => ({ length: input.text.length, run: batch.items[i]!.workflowRunId }))
 *   })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import { toGoDuration } from "./internal/duration.js"
import { TaskContextError } from "./TaskContext.js"

/**
 * One item of a batch: the task run it answers for. `BatchContext.items[i]` is the item whose
 * input is the handler's `inputs[i]` (and whose output is the handler's `outputs[i]`).
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchItem {
  /** The item's task run (`TaskContext.taskRunExternalId` of a task that is not batched). */
  readonly taskRunExternalId: string
  /** The run the item belongs to (what `Hatchet.runNoWait` returned for it). */
  readonly workflowRunId: string
  /** When an event filter triggered the item's run: that filter's payload. */
  readonly filterPayload: Option.Option<Readonly<Record<string, unknown>>>
}

/**
 * Facts about the running batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchInfo {
  /** Declared name of the batch task (not namespaced). */
  readonly taskName: string
  /** The worker action, `"<wire workflow name>:<task lower>"`. */
  readonly action: string
  /** The worker's id. */
  readonly workerId: string
  /** The engine's id of this batch. */
  readonly batchId: string
  /** The group key the items share (what `batch.groupKey` gave for them), when the engine sent one. */
  readonly batchKey: Option.Option<string>
  /** Why the engine flushed the batch, e.g. `batch size threshold 10 reached`. */
  readonly triggerReason: string
  /** When the engine flushed the batch. */
  readonly triggerTime: Option.Option<Date>
  /** How many items the engine flushed (items whose input did not decode included). */
  readonly expectedSize: number
  /** The items the handler received, in the order of its inputs. */
  readonly items: ReadonlyArray<BatchItem>
}

/**
 * What a `BatchContext` asks of its backend (the worker). Durations arrive as Go-style strings.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchOperations {
  /** Extends the deadline of every item still running by `incrementBy`. */
  readonly refreshTimeout: (incrementBy: string) => Effect.Effect<void, TaskContextError>
  /** Asks the engine to cancel every item of the batch; the caller then interrupts the handler. */
  readonly cancel: Effect.Effect<void, TaskContextError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchContextShape extends BatchInfo {
  /**
   * Extends the execution deadline of every item by `incrementBy`: the engine fails the whole
   * batch when the deadline of any of its items passes.
   */
  readonly refreshTimeout: (incrementBy: Duration.DurationInput) => Effect.Effect<void, TaskContextError>
  /**
   * Cancels every item of the batch on the engine, then interrupts the handler: finalizers run
   * and nothing more is reported (the engine records each item as CANCELLED).
   */
  readonly cancel: Effect.Effect<never, TaskContextError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class BatchContext extends Context.Tag("@effect-hatchet/sdk/BatchContext")<BatchContext, BatchContextShape>() {}

/**
 * Builds a `BatchContext` from facts and a backend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (info: BatchInfo, operations: BatchOperations): BatchContextShape => ({
  ...info,
  refreshTimeout: (incrementBy) =>
    Either.match(toGoDuration(incrementBy), {
      onLeft: (message) => Effect.fail(new TaskContextError({ operation: "refreshTimeout", message: `refreshTimeout: ${message}` })),
      onRight: operations.refreshTimeout
    }),
  cancel: Effect.zipRight(operations.cancel, Effect.interrupt)
})

/**
 * @since 0.1.0
 * @category accessors
 */
export const refreshTimeout = (incrementBy: Duration.DurationInput): Effect.Effect<void, TaskContextError, BatchContext> =>
  Effect.flatMap(BatchContext, (ctx) => ctx.refreshTimeout(incrementBy))

/**
 * @since 0.1.0
 * @category accessors
 */
export const cancel: Effect.Effect<never, TaskContextError, BatchContext> = Effect.flatMap(BatchContext, (ctx) => ctx.cancel)

/**
 * The items of the running batch, in the order of the handler's inputs.
 *
 * @since 0.1.0
 * @category accessors
 */
export const items: Effect.Effect<ReadonlyArray<BatchItem>, never, BatchContext> = Effect.map(BatchContext, (ctx) => ctx.items)
