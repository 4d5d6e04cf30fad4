/**
 * The official SDK's shipped `batch_assign` example, unchanged, with the official worker and client
 * against this engine: batches flush by size and by interval, per group key (the example's
 * `batchLarge`, cut at 4 MB, is in `examples-batch-large-official.test.ts`, on a TestClock); a
 * key that does not evaluate to a string fails only its task; a broadcast result reaches every
 * caller; `ctx.cancel()` cancels the whole batch and its callers' `run` still resolves; a batch
 * handler spawns children, plain tasks or batch tasks (ten of these fill one batch); twenty callers
 * of one batch get their own items back in the order they submitted; the task events show the wait
 * and the flush.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"

type BatchTask<I> = Examples.Runnable<I, any>
type Message = { message: string }
type Keyed = { message: string; group: unknown }

const all = <A>(promises: ReadonlyArray<Promise<A>>) => Effect.promise(() => Promise.all(promises))

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK example: batch_assign", (it) => {
  it.scoped("size, interval, keys, broadcast, cancellation and children", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<{
        batchSimple: BatchTask<Message>
        batchKeyed: BatchTask<Keyed>
        batchKeyedFailable: BatchTask<Keyed>
        batchKeyedInterval: BatchTask<Keyed>
        batchSingle: BatchTask<Message>
        batchBroadcast: BatchTask<Message>
        batchCancel: BatchTask<Message>
        child: BatchTask<Message>
        batchChildSpawn: BatchTask<Message>
      }>("batch_assign/workflow.js")
      const { hatchet } = yield* Examples.worker("batch-worker", Object.values(example), { slots: 20 })

      // three tasks fill a batch of three: one handler call, each caller gets its own item
      const simple = yield* all(["alpha", "bravo", "charlie"].map((message) => example.batchSimple.run({ message })))
      expect(simple.map((r) => r.transformed_message)).toEqual(["ALPHA", "BRAVO", "CHARLIE"])

      // two tasks wait for the 200 ms interval
      const [delta, echo] = yield* Effect.all(
        ["delta", "echo"].map((message) => Examples.trigger(() => example.batchSimple.runNoWait({ message })))
      )
      const interval = yield* Effect.all([delta!.output, echo!.output])
      expect(interval.map((r) => r.transformed_message)).toEqual(["DELTA", "ECHO"])
      const details = yield* Effect.promise(() => hatchet.runs.get(delta!.id))
      const events = details.taskEvents.map((e: { eventType: string }) => e.eventType)
      expect(events).toContain("WAITING_FOR_BATCH")
      expect(events).toContain("BATCH_FLUSHED")
      const flushed = details.taskEvents.find((e: { eventType: string }) => e.eventType === "BATCH_FLUSHED")!
      expect(flushed.message).toMatch(
        /^Batch [0-9a-f-]{36} flushed \(2\/3 tasks\) at .* because batch max interval 200ms elapsed\. Batch group key: default\./
      )

      // keys partition the batches
      const keyed = [
        { message: "alpha", group: "tenant-1" },
        { message: "bravo", group: "tenant-1" },
        { message: "charlie", group: "tenant-2" },
        { message: "delta", group: "tenant-2" }
      ]
      const byKey = yield* all(keyed.map((input) => example.batchKeyed.run(input)))
      byKey.forEach((r, i) =>
        expect(r).toEqual({ batch_key: keyed[i]!.group, batch_size: 2, unique_keys: 1, uppercase: keyed[i]!.message.toUpperCase() })
      )

      // a key that is not a string fails its task at creation; the other still runs
      const good = yield* Examples.trigger(() => example.batchKeyedFailable.runNoWait({ message: "hello", group: "tenant-1" }))
      const bad = yield* Examples.trigger(() => example.batchKeyedFailable.runNoWait({ message: "world", group: 123 }))
      const failure = yield* bad.failure
      expect(String(failure)).toContain(
        "failed to parse batch group key expression (input.group): expected string output for batch key, got int"
      )
      expect(yield* good.output).toEqual({ uppercase: "HELLO" })

      // keyed groups flush independently: three by size, one by interval
      const mixed = [
        { message: "echo", group: "tenant-1" },
        { message: "foxtrot", group: "tenant-1" },
        { message: "golf", group: "tenant-1" },
        { message: "hotel", group: "tenant-2" }
      ]
      const independent = yield* all(mixed.map((input) => example.batchKeyedInterval.run(input)))
      expect(independent.map((r) => r.batch_size)).toEqual([3, 3, 3, 1])

      // a batch of one
      const single = yield* all(["india", "juliet"].map((message) => example.batchSingle.run({ message })))
      expect(single).toEqual([{ original: "india", batch_size: 1 }, { original: "juliet", batch_size: 1 }])

      // one result broadcast to every caller
      const broadcast = yield* all(Array.from({ length: 10 }, () => example.batchBroadcast.run({ message: "hello" })))
      expect(broadcast).toEqual(Array.from({ length: 10 }, () => ({ sum: 50 })))

      // ctx.cancel() in the handler cancels every task of the batch
      const cancelRefs = yield* all(Array.from({ length: 10 }, () => example.batchCancel.runNoWait({ message: "hello" })))
      const cancelIds = yield* all(cancelRefs.map((ref) => ref.getWorkflowRunId()))
      const cancelled = yield* Effect.forEach(cancelIds, (id) => Examples.ended(id))
      expect(cancelled.map((d) => d.run.status)).toEqual(Array.from({ length: 10 }, () => "CANCELLED"))

      // a batch handler spawns one child per item
      const spawned = yield* all(Array.from({ length: 10 }, () => example.batchChildSpawn.run({ message: "hello" })))
      spawned.forEach((r) => expect(r).toEqual({ message_len: 8 }))
    }))

  it.scoped("order, a cancelled batch's callers, children that are batch tasks themselves", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<{
        batchOrdered: BatchTask<{ index: number }>
        batchCancel: BatchTask<Message>
        childBatch: BatchTask<Message>
        batchChildBatchSpawn: BatchTask<Message>
      }>("batch_assign/workflow.js")
      const { batchCancel, batchChildBatchSpawn, batchOrdered, childBatch } = example
      yield* Examples.worker("batch-worker-2", [batchOrdered, batchCancel, childBatch, batchChildBatchSpawn], { slots: 20 })

      // twenty callers of one batch each get their own item back, in the order they submitted
      const ordered = yield* all(Array.from({ length: 20 }, (_, index) => batchOrdered.run({ index })))
      expect(ordered).toEqual(Array.from({ length: 20 }, (_, index) => ({ index })))

      // the callers of a batch whose handler calls ctx.cancel() all get an answer, not an error
      const cancelled = yield* Effect.promise(() =>
        Promise.allSettled(Array.from({ length: 10 }, () => batchCancel.run({ message: "hello" })))
      )
      expect(cancelled.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => "fulfilled"))

      // a batch handler spawns, per item, a run of another batch task: the ten children fill one
      // batch of ten (its interval is a minute), whose broadcast output every caller gets
      const spawned = yield* all(Array.from({ length: 10 }, () => batchChildBatchSpawn.run({ message: "hello" })))
      for (const r of spawned) {
        expect(Object.values(r.out)).toEqual(Array.from({ length: 10 }, () => ({ message: "hello" })))
      }
    }))
})
