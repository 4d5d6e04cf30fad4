/**
 * Concurrency strategies with the official `@hatchet-dev/typescript-sdk` (worker and client) over
 * loopback: what the task functions observe (overlap, abort signals) and how the runs end.
 * Timings are never asserted; waits use generous real-time timeouts.
 */
import { expect, layer } from "@effect/vitest"
import { ConcurrencyLimitStrategy } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import { runStatus, taskError } from "../src/internal/domain/model.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves when `check` holds, or after `timeoutMs` (a barrier that cannot deadlock a test). */
const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await sleep(10)
}

/** Counts tasks running at once, per concurrency key and overall. */
class Overlap {
  private readonly running = new Map<string, number>()
  readonly maxPerKey = new Map<string, number>()
  maxKeysAtOnce = 0
  readonly startedKeys = new Set<string>()

  enter(key: string) {
    const n = (this.running.get(key) ?? 0) + 1
    this.running.set(key, n)
    this.startedKeys.add(key)
    this.maxPerKey.set(key, Math.max(this.maxPerKey.get(key) ?? 0, n))
    this.maxKeysAtOnce = Math.max(this.maxKeysAtOnce, [...this.running.values()].filter((v) => v > 0).length)
  }

  leave(key: string) {
    this.running.set(key, this.running.get(key)! - 1)
  }
}

/** The engine-side status of a run (undefined while unknown). */
const statusOfRun = (core: EngineCore["Type"], runId: string) => {
  const run = core.state.runsById.get(runId)
  return run === undefined ? undefined : runStatus(run)
}

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: concurrency", (it) => {
  it.scoped("GROUP_ROUND_ROBIN max 1: runs of one key never overlap, runs of different keys do", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("grr")
      const overlap = new Overlap()
      const grouped = hatchet.task({
        name,
        concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN },
        fn: async (input: { group: string; n: number }) => {
          overlap.enter(input.group)
          // the first run of each key waits for the other key to start, so they overlap if allowed
          await until(() => overlap.startedKeys.size === 2)
          await sleep(50)
          overlap.leave(input.group)
          return { n: input.n }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [grouped], slots: 10 })
      const inputs = [{ group: "a", n: 1 }, { group: "a", n: 2 }, { group: "b", n: 3 }, { group: "a", n: 4 }, { group: "b", n: 5 }]
      const refs = yield* Effect.promise(() => Promise.all(inputs.map((input) => grouped.runNoWait(input))))
      const outputs = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
      expect(outputs.map((o) => o.n)).toEqual([1, 2, 3, 4, 5])
      expect(overlap.maxPerKey.get("a")).toBe(1)
      expect(overlap.maxPerKey.get("b")).toBe(1)
      expect(overlap.maxKeysAtOnce).toBe(2)
    }))

  it.scoped("CANCEL_IN_PROGRESS: a newer run cancels the running older one (its abort signal fires)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("cip")
      const started = new Set<number>()
      const aborted = new Set<number>()
      const latest = hatchet.task({
        name,
        concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: ConcurrencyLimitStrategy.CANCEL_IN_PROGRESS },
        fn: async (input: { group: string; n: number }, ctx) => {
          started.add(input.n)
          if (input.n === 1) {
            await new Promise<void>((resolve) =>
              ctx.abortController.signal.addEventListener("abort", () => {
                aborted.add(input.n)
                resolve()
              })
            )
          }
          return { n: input.n }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [latest], slots: 10 })
      const older = yield* Effect.promise(() => latest.runNoWait({ group: "g", n: 1 }))
      const olderId = yield* Effect.promise(() => older.getWorkflowRunId())
      yield* Official.eventually(() => (started.has(1) ? true : undefined))
      const newer = yield* Effect.promise(() => latest.run({ group: "g", n: 2 }))
      expect(newer).toEqual({ n: 2 })
      yield* Official.eventually(() => (aborted.has(1) ? true : undefined))
      const core = yield* EngineCore
      expect(statusOfRun(core, olderId)).toBe("CANCELLED")
      const task = core.state.tasksByExternalId.get(olderId)!
      expect(taskError(task)).toBe("")
      expect(eventsOf(task).find((e) => e.eventType === "CANCELLED")?.message).toBe("Cancelled due to concurrency strategy")
    }))

  it.scoped("CANCEL_NEWEST: the newer run is cancelled while the older one completes", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("cn")
      const started = new Set<number>()
      let release = false
      const oldest = hatchet.task({
        name,
        concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: ConcurrencyLimitStrategy.CANCEL_NEWEST },
        fn: async (input: { group: string; n: number }) => {
          started.add(input.n)
          await until(() => release, 20_000)
          return { n: input.n }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [oldest], slots: 10 })
      const older = yield* Effect.promise(() => oldest.runNoWait({ group: "g", n: 1 }))
      yield* Official.eventually(() => (started.has(1) ? true : undefined))
      const newer = yield* Effect.promise(() => oldest.runNoWait({ group: "g", n: 2 }))
      const newerId = yield* Effect.promise(() => newer.getWorkflowRunId())
      const core = yield* EngineCore
      yield* Official.eventually(() => (statusOfRun(core, newerId) === "CANCELLED" ? true : undefined))
      release = true
      expect(yield* Effect.promise(() => older.output)).toEqual({ n: 1 })
      expect(started.has(2)).toBe(false)
    }))

  it.scoped("workflow-level GROUP_ROUND_ROBIN on a DAG: a key's runs run one whole DAG at a time", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("dag")
      const overlap = new Overlap()
      const wf = hatchet.workflow<{ group: string; n: number }>({
        name,
        concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN }
      })
      const first = wf.task({
        name: "first",
        fn: async (input) => {
          overlap.enter(input.group)
          await until(() => overlap.startedKeys.size === 2)
          return { n: input.n }
        }
      })
      wf.task({
        name: "second",
        parents: [first],
        fn: async (input, ctx) => {
          await sleep(50)
          overlap.leave(input.group)
          return { n: (await ctx.parentOutput(first)).n * 10 }
        }
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 10 })
      const inputs = [{ group: "a", n: 1 }, { group: "a", n: 2 }, { group: "b", n: 3 }, { group: "a", n: 4 }]
      const refs = yield* Effect.promise(() => Promise.all(inputs.map((input) => wf.runNoWait(input))))
      const outputs = yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
      expect(outputs.map((o) => (o as { readonly second: { readonly n: number } }).second.n)).toEqual([10, 20, 30, 40])
      // a run of "a" holds its key from its first task to its last
      expect(overlap.maxPerKey.get("a")).toBe(1)
      expect(overlap.maxKeysAtOnce).toBe(2)
    }))
})
