/**
 * Capacity eviction end to end: our worker, with one durable slot, and our client on the local
 * engine over loopback gRPC, under the TestClock (HatchetTest):
 * - once every durable slot waits for the engine for 10 s, the worker evicts the waiting task
 *   (upstream's capacity eviction), the engine gives the slot to the queued durable task, and
 *   the evicted one, restored when its event comes, replays and completes;
 * - a task with `evictUnderPressure: false` keeps its slot however long it waits; the queued
 *   task runs once it is done;
 * - a worker closing while an eviction for capacity is pending on the clock does not wait for it.
 */
import { DurableContext, Hatchet, Runs, Task, Worker } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Effect, HashMap, Ref, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"
import { eventually, liveSleep, waiting } from "./durableFlows.js"

/** How many times each key's handler began. */
const starts = Ref.unsafeMake(HashMap.empty<string, number>())

const Gated = Schema.Struct({ key: Schema.String, wait: Schema.Boolean })

/** Waits for `gate:<key>` when asked to; returns how many times its handler began. */
const gate = (input: typeof Gated.Type) =>
  Effect.gen(function*() {
    const n = yield* Ref.modify(starts, (counts) => {
      const next = HashMap.get(counts, input.key).pipe((o) => (o._tag === "Some" ? o.value : 0)) + 1
      return [next, HashMap.set(counts, input.key, next)]
    })
    if (input.wait) yield* DurableContext.waitForEvent(`gate:${input.key}`, { schema: Schema.Struct({}) })
    return n
  })

const Gate = Task.durable("capacity-gate", { input: Gated, output: Schema.Number })
const GateLive = Gate.toLayer(gate)

const Pinned = Task.durable("capacity-pinned", { input: Gated, output: Schema.Number, evictUnderPressure: false })
const PinnedLive = Pinned.toLayer(gate)

const TestLive = HatchetTest.layer({ workflows: [GateLive, PinnedLive], worker: { durableSlots: 1 } })

layer(TestLive, { timeout: 30_000 })("durable tasks: capacity eviction", (it) => {
  it.effect("with every durable slot waiting 10 s, the waiting task is evicted for the queued one, then restored", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      const runs = yield* Runs.Runs
      const first = yield* Hatchet.runNoWait(Gate, { key: "a", wait: true })
      yield* waiting(worker)
      const second = yield* Hatchet.runNoWait(Gate, { key: "b", wait: false })
      yield* HatchetTest.adjust("9 seconds")
      // not yet: the waiting task holds the only durable slot
      yield* liveSleep(100)
      expect(yield* runs.status(second.runId)).toBe("QUEUED")
      yield* HatchetTest.adjust("1 second")
      expect(yield* second.result).toBe(1)
      expect(yield* runs.status(first.runId)).toBe("RUNNING")
      yield* eventually(Effect.map(worker.runningTasks, (n) => n === 0))
      // its event restores it: the handler runs again, and the wait is answered from the log
      yield* Hatchet.push("gate:a", {})
      expect(yield* first.result).toBe(2)
    }))

  it.effect("a task that does not allow it keeps its slot however long it waits", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      const runs = yield* Runs.Runs
      const pinned = yield* Hatchet.runNoWait(Pinned, { key: "p", wait: true })
      yield* waiting(worker)
      const queued = yield* Hatchet.runNoWait(Gate, { key: "q", wait: false })
      // well past the 10 s, within its execution timeout (60 s by default, running while it waits)
      yield* HatchetTest.adjust("50 seconds")
      yield* liveSleep(100)
      expect(yield* runs.status(queued.runId)).toBe("QUEUED")
      expect(yield* worker.durableWaiting).toBe(1)
      yield* Hatchet.push("gate:p", {})
      expect(yield* pinned.result).toBe(1)
      expect(yield* queued.result).toBe(1)
    }))

  it.effect("a worker shutting down while its slots are under pressure hands the waiting task back at once", () =>
    Effect.gen(function*() {
      const worker = yield* Worker.Worker
      // waits under pressure; the worker's eviction for capacity is 10 s of the clock away when the
      // layer's scope closes after this test: the drain evicts it, and nothing waits on that clock
      yield* Hatchet.runNoWait(Gate, { key: "s", wait: true })
      yield* waiting(worker)
    }))
})
