/**
 * The run listener against the local engine: results above the stream's 3 MiB limit, and an
 * engine restart while runs are awaited.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Schema } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as RunListener from "../src/RunListener.js"
import * as Task from "../src/Task.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("RunListener on the local engine", (it) => {
  it.scoped("a result the engine leaves out of the stream (>= 3 MiB) is read from the run's details", () =>
    Effect.gen(function*() {
      const size = 3 * 1024 * 1024 + 100_000
      const Big = Task.make(unique("big"), { output: Schema.Struct({ blob: Schema.String }) })
      yield* startWorker(Big.toLayer(() => Effect.succeed({ blob: "x".repeat(size) })))
      const handle = yield* Hatchet.runNoWait(Big, {})
      expect((yield* handle.result).blob.length).toBe(size)
      // the same run through a listener whose fallback is observed
      const grpc = yield* RunListener.grpcOptions
      let detailsRead = 0
      const observed = yield* RunListener.make({
        ...grpc,
        details: (runId) => Effect.zipRight(Effect.sync(() => detailsRead++), grpc.details(runId))
      })
      const event = yield* observed.await(handle.runId)
      expect(detailsRead).toBe(1)
      expect(event.results).toHaveLength(1)
      expect(event.results[0]!.output!.length).toBe(size + "{\"blob\":\"\"}".length)
    }))

  it.scoped("an engine restart while runs are awaited: the listener reconnects, re-subscribes, delivers", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const listener = yield* RunListener.RunListener
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const Gated = Task.make(unique("gated"), { output: Schema.Struct({ ok: Schema.Boolean }) })
      yield* startWorker(
        Gated.toLayer(() => Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as({ ok: true })))
      )
      const handle = yield* Hatchet.runNoWait(Gated, {})
      const waiting = yield* Effect.fork(handle.result)
      yield* Deferred.await(started)
      const before = yield* listener.connections
      yield* engine.faults.restart
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(waiting)).toEqual({ ok: true })
      expect(yield* listener.connections).toBeGreaterThan(before)
    }))
})
