/**
 * The official SDK's shipped durable examples (`v1/examples/durable_sleep`, `durable_event`,
 * `durable`, `durable_eviction`), unchanged, with the official worker and client against an
 * engine whose clock is the test's `TestClock`: a durable sleep ends when the test moves the
 * engine's clock, however long it is, while the SDK's own timers run in real time. The examples
 * build their client from the environment when first imported, so it points at the engine first.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { advance } from "./support/clocked.js"
import { type Runnable, engineLive, examplesClient, waiting } from "./support/durable.js"
import * as Official from "./support/official.js"

layer(engineLive, { timeout: 60_000 })("official SDK examples: durable", (it) => {
  it.scoped("durable_sleep: the 5 s durable sleep ends when the engine's clock passes it", () =>
    Effect.gen(function*() {
      const { core, hatchet, engine } = yield* examplesClient
      const { durableSleep } = yield* Official.importExample<{ durableSleep: Runnable<object, unknown> }>(engine, "durable_sleep/workflow.js")
      yield* Official.worker(hatchet, "durable-sleep-worker", { workflows: [durableSleep as never] })
      const ref = yield* Effect.promise(() => durableSleep.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, "durable-sleep").length === 1 ? true : undefined))
      yield* advance(5_000)
      expect(yield* Effect.promise(() => ref.output)).toEqual({ "durable-sleep": { Value: "done" } })
    }), 30_000)

  it.scoped("durable: durable-sleep-event-spawn sleeps, waits for an event, then runs a child; now() is memoized", () =>
    Effect.gen(function*() {
      const { core, engine, hatchet } = yield* examplesClient
      const example = yield* Official.importExample<{
        durableSleepEventSpawn: Runnable<object, { readonly child_output: unknown }>
        spawnChildTask: Runnable<object, unknown>
        memoNowCaching: Runnable<object, { readonly start_time: string }>
        EVENT_KEY: string
      }>(engine, "durable/workflow.js")
      yield* Official.worker(hatchet, "durable-worker", {
        workflows: [example.durableSleepEventSpawn, example.spawnChildTask, example.memoNowCaching] as never
      })
      const ref = yield* Effect.promise(() => example.durableSleepEventSpawn.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, "durable-sleep-event-spawn").length === 1 ? true : undefined))
      // the example sleeps 2 s of the engine's clock
      yield* advance(2_000)
      yield* Official.eventually(() => {
        const [task] = waiting(core, "durable-sleep-event-spawn")
        return task !== undefined && [...task.durable!.entries.values()].some((e) => e.kind === "WAIT_FOR" && e.nodeId === 2)
          ? true
          : undefined
      })
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { ok: true }))
      const output = yield* Effect.promise(() => ref.output)
      expect(output.child_output).toEqual({ message: "hello from child 1" })
      const memo = yield* Effect.promise(() => example.memoNowCaching.run({}))
      expect(Number.isNaN(Date.parse(memo.start_time))).toBe(false)
    }), 30_000)

  it.scoped("a durable task's 24-hour sleep ends in one jump of the engine's clock", () =>
    Effect.gen(function*() {
      const { core, hatchet } = yield* examplesClient
      const name = Official.unique("day-sleep")
      const daySleep = hatchet.durableTask({
        name,
        executionTimeout: "25h",
        fn: async (_input: Record<string, never>, ctx) => ({ slept: (await ctx.sleepFor("24h")).durationMs })
      })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [daySleep] })
      const ref = yield* Effect.promise(() => daySleep.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, name).length === 1 ? true : undefined))
      yield* advance(24 * 3_600_000)
      expect(yield* Effect.promise(() => ref.output)).toEqual({ slept: 24 * 3_600_000 })
    }), 30_000)

  it.scoped("durable_event: an event pushed after the wait begins, and one pushed before with a lookback", () =>
    Effect.gen(function*() {
      const { core, engine, hatchet } = yield* examplesClient
      const example = yield* Official.importExample<{
        durableEvent: Runnable<object, unknown>
        durableEventWithLookback: Runnable<object, unknown>
        EVENT_KEY: string
        SCOPE: string
      }>(engine, "durable_event/workflow.js")
      yield* Official.worker(hatchet, "durable-event-worker", {
        workflows: [example.durableEvent, example.durableEventWithLookback] as never
      })
      // before: pushed in the example's scope, then the run starts and looks back a minute
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "1234" }, { scope: example.SCOPE }))
      const lookback = yield* Effect.promise(() => example.durableEventWithLookback.run({}))
      expect(lookback).toEqual({ Value: "done" })
      // after: the run waits, then the event arrives
      const ref = yield* Effect.promise(() => example.durableEvent.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, "durable-event").length === 1 ? true : undefined))
      yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "1234" }))
      expect(yield* Effect.promise(() => ref.output)).toEqual({ Value: "done" })
    }), 30_000)

  it.scoped("durable_eviction: a worker's shutdown evicts the waiting run; the event restores it on another worker, its memo kept", () =>
    Effect.gen(function*() {
      const { core, engine, hatchet } = yield* examplesClient
      const example = yield* Official.importExample<{
        evictableMemoThenWaitForEvent: Runnable<object, unknown>
        MEMO_EVENT_KEY: string
      }>(engine, "durable_eviction/workflow.js")
      const name = "evictable-memo-then-wait-for-event"
      const ref = yield* Effect.scoped(Effect.gen(function*() {
        yield* Official.worker(hatchet, "eviction-worker-a", { workflows: [example.evictableMemoThenWaitForEvent] as never })
        const ref = yield* Effect.promise(() => example.evictableMemoThenWaitForEvent.runNoWait({}))
        yield* Official.eventually(() => (waiting(core, name).length === 1 ? true : undefined))
        return ref
      }))
      // worker a stopped: it evicted its waiting run, which holds no worker now
      const runId = yield* Effect.promise(() => ref.getWorkflowRunId())
      const task = core.state.tasksByExternalId.get(runId)!
      expect(task.state._tag).toBe("Evicted")
      const memoized = [...task.durable!.entries.values()].find((e) => e.kind === "MEMO")!
      yield* Official.worker(hatchet, "eviction-worker-b", { workflows: [example.evictableMemoThenWaitForEvent] as never })
      yield* Effect.promise(() => hatchet.events.push(example.MEMO_EVENT_KEY, {}))
      const output = (yield* Effect.promise(() => ref.output)) as { memoizedNow: string; status: string }
      expect(output.status).toBe("completed")
      // the restored invocation answered now() from the log
      expect(new Date(output.memoizedNow).toISOString()).toBe(
        JSON.parse(new TextDecoder().decode(memoized.result)).ts
      )
      expect(task.durable!.invocationCount).toBe(2)
    }), 30_000)
})
