/**
 * The event-loop monitor, engine-free: a busy loop that holds the event loop is seen, in real
 * time even under `TestClock`, logged, and forgotten once the loop runs on time again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger } from "effect"
import * as EventLoopLag from "../src/internal/eventLoopLag.js"

/** Holds the event loop, as CPU-bound work in a task would. */
const blockFor = (ms: number) =>
  Effect.sync(() => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // busy
    }
  })

/** Waits in real time, whatever the clock. */
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("event loop lag", () => {
  it.scoped("a block over the threshold is seen (under TestClock too), warned about, then cleared; recentMax remembers it", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const readings = yield* EventLoopLag.monitor({
        threshold: Duration.millis(600),
        interval: Duration.millis(50)
      }).pipe(
        Effect.provide(Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ logLevel, message }) => {
            if (logLevel._tag === "Warning") warnings.push(String(message))
          })
        ))
      )
      yield* realSleep(120)
      yield* blockFor(1500)
      yield* realSleep(10) // the monitor's overdue timer runs first
      const blocked = yield* readings
      expect(blocked.blocked).toBe(true)
      expect(Duration.toMillis(blocked.latest)).toBeGreaterThanOrEqual(1400)
      expect(warnings.join("\n")).toMatch(/the event loop was blocked for 1\.\d s \(threshold 600 ms\)/)

      // the next samples are on time
      let reading = yield* readings
      for (let i = 0; i < 100 && reading.blocked; i++) {
        yield* realSleep(20)
        reading = yield* readings
      }
      expect(reading.blocked).toBe(false)
      expect(Duration.toMillis(reading.recentMax)).toBeGreaterThanOrEqual(1400)
    }))

  it.scoped("a short pause under the threshold is lag, not a block", () =>
    Effect.gen(function*() {
      const readings = yield* EventLoopLag.monitor({ threshold: Duration.seconds(5), interval: Duration.millis(50) })
      yield* realSleep(60)
      yield* blockFor(300)
      yield* realSleep(10)
      const reading = yield* readings
      expect(reading.blocked).toBe(false)
      expect(Duration.toMillis(reading.recentMax)).toBeGreaterThanOrEqual(200)
    }))
})
