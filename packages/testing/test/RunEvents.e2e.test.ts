/**
 * `handle.events` / `handle.stream` under `HatchetTest` with `TestClock`: the run's event stream
 * ends with the run (the engine's `runEventsGrace` is 0 there), so a test can read a run's chunks
 * to the end without moving the clock.
 */
import { Hatchet, Task, TaskContext } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, FiberId, Schema, Stream } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

/** Set by the test once it reads the stream: the engine keeps no stream history. */
const subscribed = Deferred.unsafeMake<void>(FiberId.none)

const Streamer = Task.make("run-events-streamer", { output: Schema.Struct({ chunks: Schema.Number }) })
const StreamerLive = Streamer.toLayer(() =>
  Effect.gen(function*() {
    while (!(yield* Deferred.isDone(subscribed))) {
      yield* TaskContext.putStream("ready")
      yield* Effect.yieldNow()
    }
    yield* TaskContext.putStream("a")
    yield* TaskContext.putStream("b")
    return { chunks: 2 }
  }).pipe(Effect.orDie)
)

layer(HatchetTest.layer({ workflows: [StreamerLive] }), { timeout: 15_000 })("a run's events under TestClock", (it) => {
  it.effect("the stream of a run's chunks ends with the run, the clock never moved", () =>
    Effect.gen(function*() {
      const handle = yield* Hatchet.runNoWait(Streamer, {})
      const chunks = yield* handle.stream.pipe(
        Stream.tap((chunk) => chunk === "ready" ? Deferred.succeed(subscribed, undefined) : Effect.void),
        Stream.filter((chunk) => chunk !== "ready"),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(chunks)).toEqual(["a", "b"])
      expect((yield* handle.result).chunks).toBe(2)
    }))
})
