/**
 * Hostile input end to end: our client and our worker in one process, over loopback gRPC against
 * the local engine (and the official SDK's client beside them).
 *
 * - One poisoned input never fails other runs: an input too large to assign fails its own run
 *   while the 20 sent with it complete; 9,000 levels of nesting reach the worker whole; deeper
 *   than Go accepts is refused at the trigger, naming the problem; a value our client cannot
 *   write as JSON is a typed error.
 * - A long echoed name cannot wedge the connection the client and the worker share.
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Admin from "../src/Admin.js"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import { TaskFailed } from "../src/TaskError.js"
import { engineWithClient, unique } from "./support/engine.js"
import { officialClient } from "./support/official.js"
import { startWorker } from "./support/worker.js"

/** A value of objects nested `depth` levels: `{ a: { a: … {} } }`. */
const nestedValue = (depth: number): unknown => {
  let value: unknown = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

/** JSON text of `nestedValue(depth)` (our client cannot stringify such depths). */
const nestedText = (depth: number) => `${"{\"a\":".repeat(depth - 1)}{}${"}".repeat(depth - 1)}`

/** How deep a value nests, without recursion. */
const depthOf = (value: unknown): number => {
  let depth = 0
  for (let current = value; typeof current === "object" && current !== null; current = (current as { a?: unknown }).a) depth++
  return depth
}

const Probe = () =>
  Task.make(unique("probe"), {
    input: Schema.Struct({ n: Schema.Number, data: Schema.optional(Schema.Unknown) }),
    output: Schema.Struct({ n: Schema.Number, depth: Schema.Number })
  })

const probeLive = (probe: ReturnType<typeof Probe>) => probe.toLayer((input) => Effect.succeed({ n: input.n, depth: depthOf(input.data) }))

/** An effect that must finish in a few seconds (on a wedged connection it would hang). */
const within = <A, E, R>(self: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutFail(self, { duration: "3 seconds", onTimeout: () => new Error(`${what}: no answer in 3 s`) })

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("hostile input, client and worker end to end", (it) => {
  it.scoped("one poisoned input fails its own run; the 20 runs triggered with it complete", () =>
    Effect.gen(function*() {
      const probe = Probe()
      yield* startWorker(probeLive(probe))
      // 700 KB of "<" is a valid input; Go-escaped (\u003c) the assignment would be 4.2 MB
      const inputs = Array.from({ length: 21 }, (_, n) => (n === 7 ? { n, data: "<".repeat(700_000) } : { n }))
      const handles = yield* Hatchet.runManyNoWait(probe, inputs)
      const outcomes = yield* Effect.forEach(handles, (h) => Effect.either(h.result), { concurrency: "unbounded" })
      for (const [n, outcome] of outcomes.entries()) {
        if (n === 7) {
          expect(outcome._tag).toBe("Left")
          if (outcome._tag !== "Left") continue
          const error = outcome.left
          expect(error).toBeInstanceOf(TaskFailed)
          expect((error as TaskFailed).message).toMatch(/^Could not send task to worker: trying to send message larger than max/)
        } else {
          expect(outcome).toMatchObject({ _tag: "Right", right: { n, depth: 0 } })
        }
      }
    }))

  it.scoped("9,000 levels of nesting reach our worker whole; 10,001 are refused at the trigger; our client refuses what it cannot write", () =>
    Effect.gen(function*() {
      const probe = Probe()
      yield* startWorker(probeLive(probe))
      const admin = yield* Admin.Admin
      const runId = yield* admin.triggerWorkflow({
        name: probe.name,
        input: `{"n":1,"data":${nestedText(9_000)}}`,
        desiredWorkerLabels: {}
      })
      expect(yield* Effect.flatMap(Hatchet.handle(probe, runId), (h) => h.result)).toEqual({ n: 1, depth: 9_000 })

      const refused = yield* Effect.flip(admin.triggerWorkflow({
        name: probe.name,
        input: `{"n":2,"data":${nestedText(10_000)}}`,
        desiredWorkerLabels: {}
      }))
      expect(refused).toMatchObject({
        _tag: "GrpcError",
        details: "Invalid request: invalid json in field `payload`: nested deeper than 10000 levels"
      })

      const unwritable = yield* Effect.flip(Hatchet.run(probe, { n: 3, data: nestedValue(100_000) }))
      expect(unwritable).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      expect(unwritable.message).toContain("the input is not JSON-serializable: Maximum call stack size exceeded")
      // and the worker still serves
      expect(yield* Hatchet.run(probe, { n: 4 })).toEqual({ n: 4, depth: 0 })
    }))

  it.scoped("a trigger whose error echoes a 100 KB name leaves the shared connection working for the client, the worker and the official client", () =>
    Effect.gen(function*() {
      const probe = Probe()
      yield* startWorker(probeLive(probe))
      const Unknown = Task.make("x".repeat(100_000), { input: Schema.Struct({}) })
      const failure = yield* Effect.flip(within(Hatchet.runNoWait(Unknown, {}), "the long trigger"))
      expect(failure).toMatchObject({ _tag: "GrpcError", code: 3 })
      expect(failure.message).toMatch(/workflow names not found: x+ \.\.\. \(\d+ more characters\)$/)
      // the same channel: our client triggers, our worker runs, the result arrives
      expect(yield* within(Hatchet.run(probe, { n: 5 }), "the next run")).toEqual({ n: 5, depth: 0 })

      // the official client of the same process
      const engine = yield* Engine.Engine
      const official = officialClient(engine)
      const officialFailure = yield* Effect.promise(() =>
        official.runNoWait("y".repeat(100_000), {}).then(() => undefined, (error: Error) => error)
      )
      expect(officialFailure?.message).toMatch(/workflow names not found: y+ \.\.\. \(\d+ more characters\)/)
      const result = yield* within(Effect.promise(() => official.run(probe.name, { n: 6 })), "the official run")
      expect(result).toEqual({ [probe.name]: { n: 6, depth: 0 } })
      expect(yield* within(Hatchet.run(probe, { n: 7 }), "a run after the official client's")).toEqual({ n: 7, depth: 0 })
    }))
})
