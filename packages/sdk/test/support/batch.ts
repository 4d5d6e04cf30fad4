/**
 * A batch handler that waits until interrupted, and the check of how cancelling a batch's runs one
 * by one reaches it, shared by the standalone and the DAG batch tests.
 */
import { expect } from "@effect/vitest"
import { Deferred, Effect } from "effect"

/** The handler's side: it tells how many inputs it got, then waits until it is interrupted. */
export const holdUntilInterrupted = Effect.gen(function*() {
  const started = yield* Deferred.make<number>()
  const finalized = yield* Deferred.make<void>()
  const handler = (inputs: ReadonlyArray<unknown>) =>
    Effect.zipRight(Deferred.succeed(started, inputs.length), Effect.never).pipe(
      Effect.onInterrupt(() => Deferred.succeed(finalized, undefined))
    )
  return { started, finalized, handler }
})

/**
 * With both runs of a batch in the held handler: cancelling the first leaves the handler running
 * for the second; cancelling the second interrupts it; both runs end cancelled.
 */
export const cancelOneThenTheOther = (
  held: Effect.Effect.Success<typeof holdUntilInterrupted>,
  handles: ReadonlyArray<{ readonly cancel: Effect.Effect<unknown, unknown>; readonly result: Effect.Effect<unknown, unknown> }>
) =>
  Effect.gen(function*() {
    expect(yield* Deferred.await(held.started)).toBe(2)
    yield* handles[0]!.cancel
    // one run cancelled: the handler keeps working for the other
    yield* Effect.sleep("100 millis")
    expect(yield* Deferred.isDone(held.finalized)).toBe(false)
    yield* handles[1]!.cancel
    yield* Deferred.await(held.finalized)
    for (const handle of handles) {
      expect(yield* Effect.flip(handle.result)).toMatchObject({ kind: "Cancelled" })
    }
  })
