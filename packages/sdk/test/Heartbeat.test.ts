/**
 * A connection's heartbeats (`Effect.repeat` over `heartbeatSchedule`), engine-free under
 * TestClock: their cadence, what ends the connection, and what is only counted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, Option, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../src/HatchetError.js"
import { heartbeats } from "../src/internal/heartbeat.js"

/** How the n-th heartbeat (from 1) goes: succeeds, fails with a code, or takes some time first. */
type Script = (n: number) => "ok" | "hang" | Status | { readonly takes: Duration.DurationInput }

const settings = { interval: Duration.seconds(4), timeout: Duration.seconds(4), maxFailures: 3 }

/** Runs the heartbeats over a scripted engine for `budget` of TestClock time; beats start at ms from then. */
const run = (script: Script, budget: Duration.DurationInput = "1 minute") =>
  Effect.gen(function*() {
    const startedAt: Array<number> = []
    const t0 = yield* TestClock.currentTimeMillis
    const dispatcher = {
      heartbeat: (_workerId: string) =>
        Effect.gen(function*() {
          startedAt.push((yield* TestClock.currentTimeMillis) - t0)
          const step = script(startedAt.length)
          if (step === "ok") return
          if (step === "hang") return yield* Effect.never
          if (typeof step === "object") return yield* Effect.sleep(step.takes)
          return yield* new GrpcError({ method: "/Dispatcher/Heartbeat", code: step, details: Status[step] })
        })
    }
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(String(Array.isArray(message) ? message[0] : message))
    })
    const fiber = yield* Effect.fork(
      heartbeats(dispatcher, "worker-1", settings).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    )
    yield* TestClock.adjust(budget)
    const end = yield* Fiber.poll(fiber)
    yield* Fiber.interrupt(fiber)
    return { startedAt, warnings, end: Option.map(end, (exit) => exit._tag === "Success" ? exit.value : exit) }
  })

describe("heartbeats", () => {
  it.effect("one every interval from the start of the previous one, however long it took", () =>
    Effect.gen(function*() {
      const { end, startedAt } = yield* run((n) => n === 2 ? { takes: "3 seconds" } : "ok", "12 seconds")
      expect(startedAt).toEqual([0, 4000, 8000, 12000])
      expect(end).toEqual(Option.none())
    }))

  it.effect("three hung heartbeats in a row end the connection as stalled; the next beat of a hung one goes at once", () =>
    Effect.gen(function*() {
      const { end, startedAt } = yield* run((n) => n >= 2 ? "hang" : "ok")
      expect(startedAt).toEqual([0, 4000, 8000, 12000])
      expect(Option.getOrThrow(end)).toEqual({
        reason: "3 heartbeats in a row failed (hung: the connection stalled)",
        reregister: false,
        stalled: true
      })
    }))

  it.effect("a heartbeat that succeeds starts the count of failures over", () =>
    Effect.gen(function*() {
      const { end, startedAt } = yield* run((n) => n === 3 ? "ok" : n === 1 || n > 5 ? "ok" : Status.UNAVAILABLE, "24 seconds")
      expect(startedAt.length).toBe(7)
      expect(end).toEqual(Option.none())
      const ended = yield* run((n) => n === 1 ? "ok" : Status.UNAVAILABLE)
      expect(Option.getOrThrow(ended.end)).toEqual({ reason: "3 heartbeats in a row failed", reregister: false, stalled: false })
      expect(ended.startedAt).toEqual([0, 4000, 8000, 12000])
    }))

  it.effect("a failure that is counted is logged as a warning, with the failures in a row; one that ends the connection otherwise is not", () =>
    Effect.gen(function*() {
      const script: Script = (n) => n === 2 ? Status.UNAVAILABLE : n === 3 ? "hang" : n >= 5 && n <= 7 ? Status.UNAVAILABLE : "ok"
      const { warnings } = yield* run(script)
      expect(warnings).toEqual([
        "heartbeat failed (1 in a row): UNAVAILABLE",
        "heartbeat failed (2 in a row): Heartbeat timed out",
        "heartbeat failed (1 in a row): UNAVAILABLE",
        "heartbeat failed (2 in a row): UNAVAILABLE",
        "heartbeat failed (3 in a row): UNAVAILABLE"
      ])
      const ended = yield* run((n) => n === 2 ? Status.NOT_FOUND : "ok")
      expect(ended.warnings).toEqual([])
    }))

  it.effect("FAILED_PRECONDITION is counted on the first heartbeat and ends the connection after it", () =>
    Effect.gen(function*() {
      const first = yield* run((n) => n === 1 ? Status.FAILED_PRECONDITION : "ok", "12 seconds")
      expect(first.end).toEqual(Option.none())
      const later = yield* run((n) => n === 2 ? Status.FAILED_PRECONDITION : "ok")
      expect(Option.getOrThrow(later.end)).toEqual({
        reason: "heartbeat rejected: the engine has no active listener for this worker (FAILED_PRECONDITION)",
        reregister: false
      })
      expect(later.startedAt).toEqual([0, 4000])
    }))

  it.effect("UNAUTHENTICATED and NOT_FOUND end the connection at once (NOT_FOUND: register again)", () =>
    Effect.gen(function*() {
      const refused = yield* run(() => Status.UNAUTHENTICATED)
      expect(Option.getOrThrow(refused.end)).toEqual({
        reason: "heartbeat: UNAUTHENTICATED (UNAUTHENTICATED)",
        reregister: false,
        unauthenticated: true
      })
      expect(refused.startedAt).toEqual([0])
      const forgotten = yield* run((n) => n === 2 ? Status.NOT_FOUND : "ok")
      expect(Option.getOrThrow(forgotten.end)).toEqual({
        reason: "heartbeat: the engine no longer knows worker worker-1 (NOT_FOUND)",
        reregister: true
      })
    }))
})
