/**
 * The worker's stall handling without an engine, under TestClock: hung heartbeats make it move
 * the transport to a fresh connection before it reconnects; heartbeats that fail (the connection
 * answers) do not. The end-to-end proof is in Resilience.e2e.test.ts.
 */
import { GrpcTransport, Worker } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import { JobsLive, Script, ScriptLive } from "./fixtures.js"

const UNAVAILABLE = 14

/** A worker over the fake, with a transport that only counts `resetConnection` calls. */
const startWorker = (heartbeat: FakeDispatcher.HeartbeatBehaviour) =>
  Effect.gen(function*() {
    const fake = yield* FakeDispatcher.make
    let resets = 0
    const transport = Layer.succeed(GrpcTransport.GrpcTransport, {
      resetConnection: Effect.sync(() => {
        resets++
      })
    } as unknown as GrpcTransport.GrpcTransportShape)
    const worker = yield* Layer.build(
      Layer.scoped(Worker.Worker, Worker.make({ name: "stall", workflows: [JobsLive] })).pipe(
        Layer.provide(Layer.effect(Script, ScriptLive)),
        Layer.provide(Layer.merge(fake.layer, transport))
      )
    ).pipe(Effect.map(Context.get(Worker.Worker)))
    yield* fake.waitFor((c) => c.heartbeat.length === 1 ? true : undefined)
    const reconnecting = yield* worker.statusChanges.pipe(
      Stream.filter((s) => s._tag === "Reconnecting"),
      Stream.runHead,
      Effect.fork
    )
    // beats 2 to 4 go wrong, then the engine answers again
    yield* fake.setHeartbeat((_id, n) => n >= 2 && n <= 4 ? heartbeat : "ok")
    for (let i = 0; i < 5; i++) yield* TestClock.adjust("4 seconds")
    yield* fake.waitFor((c) => c.listen.length === 2 ? true : undefined)
    return { reason: Option.getOrThrow(yield* Fiber.join(reconnecting)).reason, resets: () => resets }
  })

describe("Worker stall handling (engine-free)", () => {
  it.scoped("three hung heartbeats: a fresh connection, then the new stream", () =>
    Effect.gen(function*() {
      const { reason, resets } = yield* startWorker("hang")
      expect(reason).toBe("3 heartbeats in a row failed (hung: the connection stalled)")
      expect(resets()).toBe(1)
    }))

  it.scoped("three failed heartbeats (UNAVAILABLE): the channel reconnects by itself, no reset", () =>
    Effect.gen(function*() {
      const { reason, resets } = yield* startWorker({ code: UNAVAILABLE, details: "Connection dropped" })
      expect(reason).toBe("3 heartbeats in a row failed")
      expect(resets()).toBe(0)
    }))
})
