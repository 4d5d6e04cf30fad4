/**
 * Idempotency keys end to end: definitions with `idempotency`, our worker and client, the local
 * engine over loopback gRPC. A trigger whose key is held fails with `IdempotencyCollision` naming
 * the run that holds it; in bulk, the other runs are made and listed.
 */
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("idempotency keys end to end", (it) => {
  it.scoped("a held key refuses the trigger, naming the run that holds it; another key runs; in bulk the others are made", () =>
    Effect.gen(function*() {
      const Charge = Task.make(unique("charge"), {
        input: Schema.Struct({ orderId: Schema.String }),
        output: Schema.String,
        idempotency: { expression: "input.orderId", ttl: "1 minute" }
      })
      yield* startWorker(Charge.toLayer(({ orderId }) => Effect.succeed(`charged ${orderId}`)))
      const first = yield* Hatchet.runNoWait(Charge, { orderId: "o-1" })
      const refused = yield* Effect.flip(Hatchet.runNoWait(Charge, { orderId: "o-1" }))
      expect(refused).toMatchObject({ _tag: "HatchetClientError", reason: "IdempotencyCollision", runId: first.runId })
      expect(refused.message).toContain(`held by run ${first.runId}`)
      expect(yield* first.result).toBe("charged o-1")
      expect(yield* Hatchet.run(Charge, { orderId: "o-2" })).toBe("charged o-2")
      const bulk = yield* Effect.flip(Hatchet.runManyNoWait(Charge, [{ orderId: "o-3" }, { orderId: "o-1" }]))
      expect(bulk).toMatchObject({ reason: "IdempotencyCollision", existingRunIds: [first.runId] })
      expect(bulk._tag === "HatchetClientError" ? bulk.runIds : undefined).toHaveLength(1)
    }))

  it.scoped("until: finished frees the key when the run ends", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const Sync = Task.make(unique("sync"), {
        input: Schema.Struct({ account: Schema.String }),
        output: Schema.String,
        idempotency: { expression: "input.account", ttl: "1 hour", until: "finished" }
      })
      yield* startWorker(Sync.toLayer(({ account }) => Effect.as(Deferred.await(release), account)))
      const running = yield* Hatchet.runNoWait(Sync, { account: "a" })
      expect(yield* Effect.flip(Hatchet.runNoWait(Sync, { account: "a" }))).toMatchObject({ reason: "IdempotencyCollision" })
      yield* Deferred.succeed(release, undefined)
      expect(yield* running.result).toBe("a")
      expect(yield* Hatchet.run(Sync, { account: "a" })).toBe("a")
    }))

  it.scoped("a definition without an expression or with a zero TTL is refused before anything is sent", () =>
    Effect.gen(function*() {
      const Bad = Task.make(unique("bad-idempotency"), { idempotency: { expression: " ", ttl: 0 } })
      const error = yield* Effect.flip(startWorker(Bad.toLayer(() => Effect.void)))
      expect(error.message).toContain("idempotency.expression: a CEL expression is required")
      expect(error.message).toContain("idempotency.ttl: must be a finite duration of at least 1 millisecond")
    }))
})
