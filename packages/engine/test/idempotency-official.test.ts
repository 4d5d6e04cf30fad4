/**
 * The official SDK's shipped `idempotency` example, unchanged, with the official worker and client
 * against this engine: a second trigger with the same key is an `IdempotencyCollisionError`
 * naming the run that holds the key (read from `grpc-status-details-bin`), in single and bulk
 * triggers and from events; a short window expires; the status-based key is freed when the run
 * ends.
 */
import { expect, layer } from "@effect/vitest"
import { BulkTriggerIdempotencyCollisionError, IdempotencyCollisionError } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"

interface IdempotentTask {
  readonly name: string
  readonly runNoWait: {
    (input: { id: string }): Promise<Examples.Ref>
    (input: ReadonlyArray<{ id: string }>): Promise<ReadonlyArray<Examples.Ref>>
  }
  readonly run: (input: { id: string }) => Promise<unknown>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The error a promise rejects with (or a failure when it resolves). */
const rejection = (promise: Promise<unknown>) =>
  Effect.promise(() => promise.then(() => new Error("expected a rejection"), (error: unknown) => error))

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK example: idempotency", (it) => {
  it.scoped("TTL keys in single and bulk triggers and events; a short window expires; a status-based key frees when its run ends", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<{
        EVENT_KEY: string
        idempotentTask: IdempotentTask
        idempotentTaskShortWindow: IdempotentTask
        idempotentStatusBasedTask: IdempotentTask
      }>("idempotency/workflow.js")
      const { idempotentStatusBasedTask: byStatus, idempotentTask: ttl, idempotentTaskShortWindow: short } = example
      const { core, hatchet } = yield* Examples.worker("idempotency-worker", [ttl, short, byStatus], { slots: 10 })

      // > trigger (run.js): the second run with the same key names the first
      const { id: firstId, output: firstOutput } = yield* Examples.trigger(() => ttl.runNoWait({ id: "123" }))
      const collision = yield* rejection(ttl.runNoWait({ id: "123" }))
      expect(collision).toBeInstanceOf(IdempotencyCollisionError)
      expect((collision as IdempotencyCollisionError).existingRunExternalId).toBe(firstId)
      expect(yield* firstOutput).toEqual({ result: "Hello, world from task 123" })
      // another key runs
      expect(yield* Effect.promise(() => ttl.run({ id: "456" }))).toEqual({ result: "Hello, world from task 456" })

      // bulk: the new key runs, the taken one is reported with the run holding it
      const bulk = yield* rejection(ttl.runNoWait([{ id: "789" }, { id: "123" }]))
      expect(bulk).toBeInstanceOf(BulkTriggerIdempotencyCollisionError)
      const { collisions, successfulWorkflowRunExternalIds } = bulk as BulkTriggerIdempotencyCollisionError
      expect(collisions.map((c) => c.existingRunExternalId)).toEqual([firstId])
      expect(successfulWorkflowRunExternalIds).toHaveLength(1)

      // events: the key of an event-triggered run is claimed too
      const runsOf = (name: string) => [...core.state.runsById.values()].filter((run) => run.workflow.name === name).length
      const before = runsOf(ttl.name)
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { id: "event-1" }))
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { id: "event-1" }))
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { id: "123" }))
      expect(runsOf(ttl.name)).toBe(before + 1)

      // a 2 s window: taken, then free again
      yield* Effect.promise(() => short.run({ id: "abc" }))
      expect(yield* rejection(short.runNoWait({ id: "abc" }))).toBeInstanceOf(IdempotencyCollisionError)
      yield* Effect.promise(() => sleep(2_100))
      expect(yield* Effect.promise(() => short.run({ id: "abc" }))).toEqual({ result: "Hello, world from task abc" })

      // status-based: taken while the run is live, free once it has ended
      const live = yield* Examples.trigger(() => byStatus.runNoWait({ id: "s" }))
      const again = yield* Effect.promise(() => byStatus.runNoWait({ id: "s" }).then(() => "accepted", (error: unknown) => error))
      // the first run may already have ended: then the key was free again
      if (again !== "accepted") expect(again).toBeInstanceOf(IdempotencyCollisionError)
      yield* live.output
      expect(yield* Effect.promise(() => byStatus.run({ id: "s" }))).toEqual({ result: "Hello, world from task s" })
    }))
})
