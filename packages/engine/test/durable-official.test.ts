/**
 * Durable tasks with the official `@hatchet-dev/typescript-sdk` (worker and client) against this
 * engine over loopback, on the modern `V1Dispatcher/DurableTask` protocol (the engine reports
 * v0.106.5): memoized values, sleeps, event waits, child runs, eviction and restore.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: durable tasks", (it) => {
  it.scoped("a durable task memoizes now(), sleeps and spawns a child", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("dur")
      const child = hatchet.task({ name: `${name}-child`, fn: async (input: { n: number }) => ({ doubled: input.n * 2 }) })
      const parent = hatchet.durableTask({
        name,
        executionTimeout: "1m",
        fn: async (_input: Record<string, never>, ctx) => {
          const now = await ctx.now()
          const slept = await ctx.sleepFor("1s")
          const fromChild = await ctx.spawnChild(child, { n: 21 })
          return { now: now.toISOString(), slept: slept.durationMs, fromChild }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [parent, child] })
      const result = yield* Effect.promise(() => parent.run({}))
      expect(result.slept).toBe(1000)
      expect(result.fromChild).toEqual({ doubled: 42 })
      const core = yield* EngineCore
      void core
    }))
})
