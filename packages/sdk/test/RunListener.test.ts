import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Queue, Scope, Stream, TestClock } from "effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../src/HatchetError.js"
import { resultsFromDetails } from "../src/internal/runListener.js"
import * as RunListener from "../src/RunListener.js"
import { eventually, finished, makeFakeRunStream } from "./support/fakeRunStream.js"

const fast = { initialDelay: "1 millis", maxDelay: "5 millis" } as const

const noDetails = () => Effect.dieMessage("details should not be read")

/** A listener over a fake stream, with its own scope so tests can close it. */
const setup = (
  options?: Parameters<typeof makeFakeRunStream>[0] & {
    readonly details?: RunListener.RunListenerOptions["details"]
    readonly reconnect?: RunListener.RunListenerOptions["reconnect"]
  }
) =>
  Effect.gen(function*() {
    const fake = makeFakeRunStream(options)
    const scope = yield* Scope.make()
    const listener = yield* RunListener.make({
      connect: fake.connect,
      details: options?.details ?? noDetails,
      reconnect: options?.reconnect ?? fast
    }).pipe(Scope.extend(scope))
    return { fake, scope, listener }
  })

/** A tiny seeded PRNG (mulberry32), so a chaos schedule can be replayed from its seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("RunListener", () => {
  it.scopedLive("opens the stream lazily, sends the run id, resolves the waiter with its event", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      expect(fake.connections).toHaveLength(0)
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 on the stream")
      yield* fake.last()!.deliver(finished("run-1"))
      const event = yield* Fiber.join(waiting)
      expect(event.workflowRunId).toBe("run-1")
      expect(event.results[0]!.output).toBe("{}")
      expect(yield* listener.pending).toBe(0)
      expect(fake.connections).toHaveLength(1)
    }))

  it.scopedLive("one request per run id; every waiter of that run gets the event", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      const a = yield* Effect.fork(listener.await("run-1"))
      const b = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 on the stream")
      yield* Effect.sleep("5 millis")
      expect(fake.last()!.sent.get("run-1")).toBe(1)
      expect(yield* listener.pending).toBe(1)
      yield* fake.last()!.deliver(finished("run-1"))
      expect((yield* Fiber.join(a)).workflowRunId).toBe("run-1")
      expect((yield* Fiber.join(b)).workflowRunId).toBe("run-1")
    }))

  it.scopedLive("every subscription made while a stream is open is sent on it, without a reconnect", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      yield* listener.subscribe("first")
      yield* eventually(() => fake.last()?.saw("first") === true, "the stream to be open")
      const ids = Array.from({ length: 100 }, (_, i) => `run-${i}`)
      yield* Effect.forEach(ids, (id) => listener.subscribe(id), { concurrency: "unbounded", discard: true })
      yield* eventually(() => ids.every((id) => fake.last()!.saw(id)), "all 100 ids on the stream")
      expect(fake.connections).toHaveLength(1)
      expect(yield* listener.pending).toBe(101)
    }))

  it.scopedLive("a registration survives a clean stream stop: a new stream replays it and delivers its event", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 on stream 0")
      yield* fake.connections[0]!.stopClean
      yield* eventually(() => fake.connections.length >= 2 && fake.connections[1]!.saw("run-1"), "run-1 replayed on stream 1")
      expect(fake.connections[0]!.isClosed()).toBe(true)
      yield* fake.connections[1]!.deliver(finished("run-1"))
      expect((yield* Fiber.join(waiting)).workflowRunId).toBe("run-1")
    }))

  it.scopedLive("a server hangup reconnects and replays every pending run, not the finished ones", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      const one = yield* Effect.fork(listener.await("run-1"))
      const two = yield* Effect.fork(listener.await("run-2"))
      yield* eventually(() => fake.last()?.saw("run-2") === true && fake.last()!.saw("run-1"), "both runs sent")
      yield* fake.connections[0]!.deliver(finished("run-1"))
      yield* Fiber.join(one)
      yield* fake.connections[0]!.breakRecv
      yield* eventually(() => fake.connections.length >= 2 && fake.connections[1]!.saw("run-2"), "run-2 replayed")
      expect(fake.connections[1]!.saw("run-1")).toBe(false)
      yield* fake.connections[1]!.deliver(finished("run-2"))
      expect((yield* Fiber.join(two)).workflowRunId).toBe("run-2")
    }))

  it.scopedLive("with nothing awaited, a dropped stream is not reopened until the next subscription", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 sent")
      yield* fake.last()!.deliver(finished("run-1"))
      yield* Fiber.join(waiting)
      yield* fake.last()!.breakRecv
      yield* Effect.sleep("30 millis")
      expect(fake.connections).toHaveLength(1)
      const next = yield* Effect.fork(listener.await("run-2"))
      yield* eventually(() => fake.connections.length === 2 && fake.connections[1]!.saw("run-2"), "run-2 on a new stream")
      yield* fake.connections[1]!.deliver(finished("run-2"))
      yield* Fiber.join(next)
      expect(yield* listener.connections).toBe(2)
    }))

  it.scopedLive("interrupting a waiter unsubscribes it locally; a late event is ignored", () =>
    Effect.gen(function*() {
      const { fake, listener } = yield* setup()
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 sent")
      expect(yield* listener.pending).toBe(1)
      yield* Fiber.interrupt(waiting)
      expect(yield* listener.pending).toBe(0)
      yield* fake.last()!.deliver(finished("run-1"))
      // the stream stays usable
      const next = yield* Effect.fork(listener.await("run-2"))
      yield* eventually(() => fake.last()!.saw("run-2"), "run-2 sent")
      yield* fake.last()!.deliver(finished("run-2"))
      expect((yield* Fiber.join(next)).workflowRunId).toBe("run-2")
    }))

  it.scopedLive("a FINISHED event without results falls back to the run's details", () =>
    Effect.gen(function*() {
      const asked: Array<string> = []
      const { fake, listener } = yield* setup({
        details: (runId) =>
          Effect.sync(() => {
            asked.push(runId)
            return [{ taskRunExternalId: "t-9", taskName: "big", jobRunId: "t-9", output: "\"large\"" }]
          })
      })
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 sent")
      yield* fake.last()!.deliver(finished("run-1", []))
      const event = yield* Fiber.join(waiting)
      expect(asked).toEqual(["run-1"])
      expect(event.results).toEqual([{ taskRunExternalId: "t-9", taskName: "big", jobRunId: "t-9", output: "\"large\"" }])
    }))

  it.scopedLive("closing the listener's scope ends the stream and interrupts pending waiters", () =>
    Effect.gen(function*() {
      const { fake, listener, scope } = yield* setup()
      const waiting = yield* Effect.fork(listener.await("run-1"))
      yield* eventually(() => fake.last()?.saw("run-1") === true, "run-1 sent")
      yield* Scope.close(scope, Exit.void)
      expect(fake.last()!.isClosed()).toBe(true)
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* Effect.sleep("20 millis")
      expect(fake.connections).toHaveLength(1)
    }))

  // Port of Hatchet's Go listener invariant test (pkg/client/listener_reconnect_invariant_test.go):
  // every subscription that returned has its run id sent on the current stream, across stream
  // breaks that overlap in-flight registrations.
  it.scopedLive("chaos: every returned subscription is on the current stream after random breaks", () =>
    Effect.gen(function*() {
      const seed = Number(process.env.RUN_LISTENER_CHAOS_SEED ?? Date.now() % 2 ** 31)
      const latency = prng(seed + 2000)
      const { fake, listener } = yield* setup({
        onSend: () => Effect.sleep(`${Math.floor(latency() * 200)} micros`),
        // reconnect at once, so that registrations keep landing on the final stream
        reconnect: { initialDelay: "0 millis", maxDelay: "0 millis" }
      })
      const adders = 4
      const runsPerAdder = 10
      const total = adders * runsPerAdder
      // Go breaks at 20/50/90%; breaking last at 75% leaves more registrations after the final
      // handoff, where a lost one cannot be healed by a later replay.
      const breakAt = [0.2, 0.5, 0.75].map((f) => Math.floor(f * total))
      let issued = 0
      const returned: Array<string> = []
      // The adder that crosses a threshold wakes the breaker at once (no polling), so breaks
      // overlap the registrations still coming.
      const crossed = yield* Queue.unbounded<number>()

      const adder = (g: number) =>
        Effect.gen(function*() {
          const random = prng(seed + g)
          for (let i = 0; i < runsPerAdder; i++) {
            yield* Effect.sleep(`${Math.floor(random() * 4000)} micros`)
            issued++
            if (breakAt.includes(issued)) yield* Queue.offer(crossed, issued)
            const runId = `run-${g}-${i}`
            yield* listener.subscribe(runId) // registration lives until the test's scope closes
            returned.push(runId)
          }
        })

      const breaker = Effect.gen(function*() {
        const random = prng(seed + 1000)
        for (let n = 0; n < breakAt.length; n++) {
          yield* Queue.take(crossed)
          yield* Effect.sleep(`${Math.floor(random() * 500)} micros`)
          const current = fake.last()
          if (current !== undefined) yield* random() < 0.7 ? current.breakRecv : current.stopClean
        }
      })

      yield* Effect.all([...Array.from({ length: adders }, (_, g) => adder(g)), breaker], {
        concurrency: "unbounded",
        discard: true
      })
      expect(returned).toHaveLength(total)

      // Quiesce: a sentinel lands on the installed stream, and no new stream appeared meanwhile.
      let current: ReturnType<typeof fake.last>
      for (let n = 0;; n++) {
        expect(n, `never quiesced (seed ${seed})`).toBeLessThan(200)
        const before = fake.connections.length
        const sentinel = `sentinel-${n}`
        yield* listener.subscribe(sentinel)
        const newest = fake.last()!
        const landed = yield* eventually(() => newest.saw(sentinel), "sentinel", 200).pipe(Effect.exit)
        if (Exit.isSuccess(landed) && fake.connections.length === before) {
          current = newest
          break
        }
      }
      expect(fake.connections.length, `seed ${seed}`).toBeGreaterThanOrEqual(4)
      const missing = returned.filter((runId) => !current!.saw(runId))
      expect(missing, `missing from stream ${current!.id} (seed ${seed})`).toEqual([])
    }), 20_000)

  it.scoped("reconnects with jittered exponential backoff capped at maxDelay, never giving up, from initialDelay again after a connection that delivered", () =>
    Effect.gen(function*() {
      const opened: Array<number> = []
      const unavailable = new GrpcError({ method: "/Dispatcher/SubscribeToWorkflowRuns", code: Status.UNAVAILABLE, details: "down" })
      // every connection fails at once; the 6th first delivers an event (of a run no one awaits)
      const connect: RunListener.RunListenerOptions["connect"] = () =>
        Stream.unwrap(Effect.map(Clock.currentTimeMillis, (now) => {
          opened.push(now)
          const failed = Stream.fail(unavailable)
          return opened.length === 6 ? Stream.concat(Stream.make(finished("not-awaited")), failed) : failed
        }))
      const listener = yield* RunListener.make({
        connect,
        details: noDetails,
        reconnect: { initialDelay: "100 millis", maxDelay: "1 second" }
      })
      yield* Effect.fork(listener.await("run-1"))
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
      const gaps = opened.slice(1).map((at, i) => at - opened[i]!)
      // attempt n waits min(100 ms * 2^(n-1), 1 s), times a factor in [0.8, 1.2); a gap is the
      // difference of two clock readings, which floating point may round up to the bound itself
      // (a factor just under 1.2 gave a gap of exactly 240 ms on a 200 ms base once)
      const within = (gap: number, base: number) => gap >= base * 0.8 && gap <= base * 1.2
      const expected = [100, 200, 400, 800, 1000, 100, 200, 400, 800, 1000, 1000]
      expected.forEach((base, i) => expect(within(gaps[i]!, base), `gap ${i + 1}: ${gaps[i]} ms, base ${base} ms`).toBe(true))
      // 30 s of failures: it still reconnects about once a second
      expect(opened.length).toBeGreaterThan(25)
      expect(gaps.slice(10).every((gap) => within(gap, 1000))).toBe(true)
      expect(new Set(gaps).size).toBeGreaterThan(5) // jittered, not fixed
    }))
})

describe("resultsFromDetails", () => {
  it("maps GetRunDetails task runs to stream results", () => {
    const encode = (s: string) => new TextEncoder().encode(s)
    const results = resultsFromDetails({
      input: encode("{}"),
      status: RunStatus.FAILED,
      done: true,
      additionalMetadata: encode("{}"),
      isEvicted: false,
      taskRuns: {
        a: { externalId: "ta", status: RunStatus.COMPLETED, output: encode("{\"x\":1}"), readableId: "a", isEvicted: false },
        b: { externalId: "tb", status: RunStatus.FAILED, error: "boom", readableId: "b", isEvicted: false },
        c: { externalId: "tc", status: RunStatus.CANCELLED, readableId: "c", isEvicted: false },
        d: { externalId: "td", status: RunStatus.RUNNING, readableId: "d", isEvicted: false }
      }
    })
    expect(results).toEqual([
      { taskRunExternalId: "ta", taskName: "a", jobRunId: "ta", output: "{\"x\":1}" },
      { taskRunExternalId: "tb", taskName: "b", jobRunId: "tb", error: "boom" },
      { taskRunExternalId: "tc", taskName: "c", jobRunId: "tc", error: "" }
    ])
  })
})
