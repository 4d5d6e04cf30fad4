/**
 * The official SDK's shipped durable examples (`v1/examples/durable_sleep`, `durable_event`,
 * `durable`, `durable_eviction`, `durable_callback_ordering`, `simple`'s durable task), unchanged, with the official worker and client against an
 * engine whose clock is the test's `TestClock`: a durable sleep ends when the test moves the
 * engine's clock, however long it is, while the SDK's own timers (its eviction TTLs, its wait
 * before a capacity eviction, a child's real sleep) run in real time. The examples
 * build their client from the environment when first imported, so it points at the engine first.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { advance } from "./support/clocked.js"
import { pendingWaits, untilWaiting, waiting } from "./support/durable.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

/**
 * Runs `workflow` on an official worker until its durable task waits on its log, then stops the
 * worker (its scope closed: a graceful shutdown): the task, evicted by that shutdown and held by
 * no worker, and the run's reference.
 */
const evictedByShutdown = (workflow: Examples.Runnable<object, unknown>, name: string) =>
  Effect.gen(function*() {
    const { core, run } = yield* Effect.scoped(Effect.gen(function*() {
      const { core } = yield* Examples.worker(`${name}-worker-a`, [workflow])
      const run = yield* Examples.trigger(() => workflow.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, name).length === 1 ? true : undefined))
      return { core, run }
    }))
    const task = core.state.tasksByExternalId.get(run.id)!
    expect(task.state._tag).toBe("Evicted")
    return { run, task }
  })

layer(Examples.engineLive, { timeout: 60_000 })("official SDK examples: durable", (it) => {
  it.scoped("durable_sleep: the 5 s durable sleep ends when the engine's clock passes it", () =>
    Effect.gen(function*() {
      const { core } = yield* Examples.client
      const { durableSleep } = yield* Examples.load<{ durableSleep: Examples.Runnable<object, unknown> }>("durable_sleep/workflow.js")
      yield* Examples.worker("durable-sleep-worker", [durableSleep])
      const run = yield* Examples.trigger(() => durableSleep.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, "durable-sleep").length === 1 ? true : undefined))
      yield* advance(5_000)
      expect(yield* run.output).toEqual({ "durable-sleep": { Value: "done" } })
    }), 30_000)

  it.scoped(
    "durable: durable-sleep-event-spawn sleeps, waits for an event, then runs a child; now() is memoized",
    () =>
      Effect.gen(function*() {
        const { core, hatchet } = yield* Examples.client
        const example = yield* Examples.load<{
          durableSleepEventSpawn: Examples.Runnable<object, { readonly child_output: unknown }>
          spawnChildTask: Examples.Runnable<object, unknown>
          memoNowCaching: Examples.Runnable<object, { readonly start_time: string }>
          EVENT_KEY: string
        }>("durable/workflow.js")
        yield* Examples.worker("durable-worker", [example.durableSleepEventSpawn, example.spawnChildTask, example.memoNowCaching])
        const run = yield* Examples.trigger(() => example.durableSleepEventSpawn.runNoWait({}))
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
        const output = yield* run.output
        expect(output.child_output).toEqual({ message: "hello from child 1" })
        const memo = yield* Effect.promise(() => example.memoNowCaching.run({}))
        expect(Number.isNaN(Date.parse(memo.start_time))).toBe(false)
      }),
    30_000
  )

  it.scoped("a durable task's 24-hour sleep ends in one jump of the engine's clock", () =>
    Effect.gen(function*() {
      const { core, hatchet } = yield* Examples.client
      const name = Official.unique("day-sleep")
      const daySleep = hatchet.durableTask({
        name,
        executionTimeout: "25h",
        fn: async (_input: Record<string, never>, ctx) => ({ slept: (await ctx.sleepFor("24h")).durationMs })
      })
      yield* Examples.worker(`${name}-w`, [daySleep])
      const run = yield* Examples.trigger(() => daySleep.runNoWait({}))
      yield* Official.eventually(() => (waiting(core, name).length === 1 ? true : undefined))
      yield* advance(24 * 3_600_000)
      expect(yield* run.output).toEqual({ slept: 24 * 3_600_000 })
    }), 30_000)

  it.scoped(
    "durable_event: an event pushed after the wait begins, one pushed before with a lookback, one that a filter lets through",
    () =>
      Effect.gen(function*() {
        const { core, hatchet } = yield* Examples.client
        const example = yield* Examples.load<{
          durableEvent: Examples.Runnable<object, unknown>
          durableEventWithLookback: Examples.Runnable<object, unknown>
          durableEventWithFilter: Examples.Runnable<object, unknown>
          EVENT_KEY: string
          SCOPE: string
        }>("durable_event/workflow.js")
        yield* Examples.worker("durable-event-worker", [
          example.durableEvent,
          example.durableEventWithLookback,
          example.durableEventWithFilter
        ])
        // before: pushed in the example's scope, then the run starts and looks back a minute
        yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "1234" }, { scope: example.SCOPE }))
        const lookback = yield* Effect.promise(() => example.durableEventWithLookback.run({}))
        expect(lookback).toEqual({ Value: "done" })
        // after: the run waits, then the event arrives
        const run = yield* Examples.trigger(() => example.durableEvent.runNoWait({}))
        yield* Official.eventually(() => (waiting(core, "durable-event").length === 1 ? true : undefined))
        yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "1234" }))
        expect(yield* run.output).toEqual({ Value: "done" })
        // filtered (`input.userId == '1234'`): another user's event leaves the wait as it was
        const filtered = yield* Examples.trigger(() => example.durableEventWithFilter.runNoWait({}))
        const [task] = yield* untilWaiting(core, "durable-event-with-filter")
        // (the engine matches a pushed event before it answers the push)
        yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "9999" }))
        expect(pendingWaits(task!)).toHaveLength(1)
        yield* Effect.promise(() => hatchet.events.push(example.EVENT_KEY, { userId: "1234" }))
        expect(yield* filtered.output).toEqual({ Value: "done" })
      }),
    30_000
  )

  it.scoped(
    "durable_eviction: a worker's shutdown evicts the waiting run; the event restores it on another worker, its memo kept",
    () =>
      Effect.gen(function*() {
        const { hatchet } = yield* Examples.client
        const example = yield* Examples.load<{
          evictableMemoThenWaitForEvent: Examples.Runnable<object, unknown>
          MEMO_EVENT_KEY: string
        }>("durable_eviction/workflow.js")
        const { run, task } = yield* evictedByShutdown(example.evictableMemoThenWaitForEvent, "evictable-memo-then-wait-for-event")
        const memoized = [...task.durable!.entries.values()].find((e) => e.kind === "MEMO")!
        yield* Examples.worker("eviction-worker-b", [example.evictableMemoThenWaitForEvent])
        yield* Effect.promise(() => hatchet.events.push(example.MEMO_EVENT_KEY, {}))
        const output = (yield* run.output) as { memoizedNow: string; status: string }
        expect(output.status).toBe("completed")
        // the restored invocation answered now() from the log
        expect(new Date(output.memoizedNow).toISOString()).toBe(
          JSON.parse(new TextDecoder().decode(memoized.result)).ts
        )
        expect(task.durable!.invocationCount).toBe(2)
      }),
    30_000
  )

  it.scoped(
    "durable_eviction's graceful-termination copy (a 5 minute sleep, TTL 30 minutes): the worker's shutdown evicts it, the engine's clock ends the sleep and another worker replays it",
    () =>
      Effect.gen(function*() {
        yield* Examples.client
        const example = yield* Examples.load<{
          evictableSleepForGracefulTermination: Examples.Runnable<object, unknown>
        }>("durable_eviction/workflow.js")
        const { run, task } = yield* evictedByShutdown(
          example.evictableSleepForGracefulTermination,
          "evictable-sleep-for-graceful-termination"
        )
        yield* Examples.worker("graceful-worker-b", [example.evictableSleepForGracefulTermination])
        // the sleep is the engine's: five minutes of its clock end it (the evicted task's execution
        // timeout stopped with its eviction), and the restored invocation passes it from the log
        yield* advance(5 * 60_000)
        expect(yield* run.output).toEqual({ status: "completed" })
        expect(task.durable!.invocationCount).toBe(2)
      }),
    30_000
  )

  it.scoped(
    "durable: children spawned with run(), in bulk, with spawnChild, a DAG after a sleep, and a failing child's error",
    () =>
      Effect.gen(function*() {
        const { core } = yield* Examples.client
        const ex = yield* Examples.load<{
          durableWithSpawn: Examples.Runnable<object, unknown>
          durableWithBulkSpawn: Examples.Runnable<{ n?: number }, unknown>
          durableWithExplicitSpawn: Examples.Runnable<object, unknown>
          durableSpawnDag: Examples.Runnable<object, { readonly spawn_result: unknown; readonly sleep_duration_ms: number }>
          errorRaisingDurableParent: Examples.Runnable<{ error_message: string }, Record<string, unknown>>
          spawnChildTask: unknown
          dagChildWorkflow: unknown
          errorRaisingTask: unknown
        }>("durable/workflow.js")
        yield* Examples.worker("durable-children-worker", [
          ex.durableWithSpawn,
          ex.durableWithBulkSpawn,
          ex.durableWithExplicitSpawn,
          ex.durableSpawnDag,
          ex.errorRaisingDurableParent,
          ex.spawnChildTask,
          ex.dagChildWorkflow,
          ex.errorRaisingTask
        ])
        const dag = yield* Examples.trigger(() => ex.durableSpawnDag.runNoWait({}))
        const [spawned, bulk, explicit, failing] = yield* Effect.promise(() =>
          Promise.all([
            ex.durableWithSpawn.run({}),
            ex.durableWithBulkSpawn.run({ n: 3 }),
            ex.durableWithExplicitSpawn.run({}),
            ex.errorRaisingDurableParent.run({ error_message: "card declined" })
          ])
        )
        expect(spawned).toEqual({ child_output: { message: "hello from child 1" } })
        expect(bulk).toEqual({ child_outputs: [0, 1, 2].map((n) => ({ message: `hello from child ${n}` })) })
        expect(explicit).toEqual({ child_output: { message: "hello from child 1" } })
        expect(failing.child_raised).toBe(true)
        expect(String(failing.child_error_str)).toContain("card declined")
        // the DAG child is spawned after its 2 s sleep of the engine's clock (its steps take 3 s)
        yield* Official.eventually(() => (waiting(core, "durable-spawn-dag").length === 1 ? true : undefined))
        yield* advance(2_000)
        const output = yield* dag.output
        expect(output.sleep_duration_ms).toBe(2_000)
        expect(output.spawn_result).toEqual({ "dag-child-1": { result: "child1" }, "dag-child-2": { result: "child2" } })
      }),
    30_000
  )

  it.scoped(
    "durable: lookbacks find events pushed before the wait, in a scope, alone or with a sleep, two keys in either order",
    () =>
      Effect.gen(function*() {
        const { hatchet } = yield* Examples.client
        const ex = yield* Examples.load<{
          waitForEventLookback: Examples.Runnable<{ userId: number }, { readonly event: unknown }>
          waitForOrEventLookback: Examples.Runnable<{ scope: string }, unknown>
          waitForTwoEventsSecondPushedFirst: Examples.Runnable<{ scope: string }, { readonly event1: unknown; readonly event2: unknown }>
          EVENT_KEY: string
        }>("durable/workflow.js")
        yield* Examples.worker("durable-lookback-worker", [
          ex.waitForEventLookback,
          ex.waitForOrEventLookback,
          ex.waitForTwoEventsSecondPushedFirst
        ])
        yield* Effect.promise(() => hatchet.events.push("user:create", { order: "o-7", user_id: 7 }, { scope: "user_id:7" }))
        yield* Effect.promise(() => hatchet.events.push(ex.EVENT_KEY, {}, { scope: "or-scope" }))
        yield* Effect.promise(() => hatchet.events.push("key2", { order: "second" }, { scope: "two" }))
        yield* Effect.promise(() => hatchet.events.push("key1", { order: "first" }, { scope: "two" }))
        const [one, or, two] = yield* Effect.promise(() =>
          Promise.all([
            ex.waitForEventLookback.run({ userId: 7 }),
            ex.waitForOrEventLookback.run({ scope: "or-scope" }),
            ex.waitForTwoEventsSecondPushedFirst.run({ scope: "two" })
          ])
        )
        expect(one.event).toEqual({ order: "o-7", user_id: 7 })
        expect(or).toHaveProperty("elapsed")
        expect(two.event1).toEqual({ order: "first" })
        expect(two.event2).toEqual({ order: "second" })
      }),
    30_000
  )

  it.scoped(
    "durable: durable-replay-reset branched from its second sleep replays the first from the log and sleeps the others again",
    () =>
      Effect.gen(function*() {
        const { core, hatchet } = yield* Examples.client
        const ex = yield* Examples.load<{ durableReplayReset: Examples.Runnable<object, unknown> }>("durable/workflow.js")
        yield* Examples.worker("durable-replay-worker", [ex.durableReplayReset])
        const run = yield* Examples.trigger(() => ex.durableReplayReset.runNoWait({}))
        const runId = run.id
        const sleepThrough = (count: number) =>
          Effect.gen(function*() {
            for (let i = 0; i < count; i++) {
              yield* Official.eventually(() => (waiting(core, "durable-replay-reset").length === 1 ? true : undefined))
              yield* advance(3_000)
            }
          })
        yield* sleepThrough(3)
        yield* run.output
        const task = core.state.tasksByExternalId.get(runId)!
        yield* Effect.promise(() => hatchet.runs.branchDurableTask(runId, 2, 1))
        yield* sleepThrough(2)
        yield* Official.eventually(() => (task.state._tag === "Completed" && task.durable!.invocationCount === 2 ? true : undefined))
        const entries = [...task.durable!.entries.values()].map((e) => [e.branchId, e.nodeId, e.invocationCount])
        expect(entries).toEqual([[1, 1, 1], [1, 2, 1], [1, 3, 1], [2, 2, 2], [2, 3, 2]])
      }),
    30_000
  )

  it.scoped(
    "durable: the durable-workflow DAG: a sleep then an event, or-groups won by a sleep and by an event, three sleeps",
    () =>
      Effect.gen(function*() {
        const { core, hatchet } = yield* Examples.client
        const ex = yield* Examples.load<{
          durableWorkflow: Examples.Runnable<object, Record<string, Record<string, unknown>>>
          EVENT_KEY: string
        }>("durable/workflow.js")
        yield* Examples.worker("durable-workflow-worker", [ex.durableWorkflow])
        const run = yield* Examples.trigger(() => ex.durableWorkflow.runNoWait({}))
        const runId = run.id
        const waitingSteps = () =>
          [...core.state.runsById.get(runId)!.tasks.values()].filter((t) => pendingWaits(t).length > 0).map((t) => t.step.readableId).sort()
        yield* Official.eventually(() => (waitingSteps().length === 4 ? true : undefined))
        // 2 s: durable_task's sleep and wait_for_or_group_1's; wait_for_multi_sleep's first
        yield* advance(2_000)
        yield* Official.eventually(() =>
          String(waitingSteps()) === String(["durable_task", "wait_for_multi_sleep", "wait_for_or_group_2"]) ? true : undefined
        )
        // the event: durable_task's wait and wait_for_or_group_2's or-group
        yield* Effect.promise(() => hatchet.events.push(ex.EVENT_KEY, { test: "test" }))
        yield* Official.eventually(() => (String(waitingSteps()) === String(["wait_for_multi_sleep"]) ? true : undefined))
        for (let i = 0; i < 2; i++) {
          yield* advance(2_000)
          if (i === 0) yield* Official.eventually(() => (waitingSteps().length === 1 ? true : undefined))
        }
        const output = yield* run.output
        expect(output.durable_task).toMatchObject({ status: "success", sleep_duration_ms: 2_000 })
        expect(output.wait_for_or_group_1).toMatchObject({ key: "CREATE", eventId: "sleep" })
        expect(output.wait_for_or_group_2).toMatchObject({ key: "CREATE", eventId: "event" })
        expect(output.wait_for_multi_sleep).toHaveProperty("runtime")
      }),
    30_000
  )

  it.scoped(
    "durable: replayed, wait-for-sleep-twice finds its sleep in the log; durable-non-determinism's second invocation asks another sleep and is told",
    () =>
      Effect.gen(function*() {
        const { core, hatchet } = yield* Examples.client
        const ex = yield* Examples.load<{
          waitForSleepTwice: Examples.Runnable<object, { readonly runtime: number }>
          durableNonDeterminism: Examples.Runnable<object, Record<string, unknown>>
        }>("durable/workflow.js")
        const simple = yield* Examples.load<{ helloWorldDurable: Examples.Runnable<object, unknown> }>("simple/e2e-workflows.js")
        yield* Examples.worker("durable-replay-worker", [ex.waitForSleepTwice, ex.durableNonDeterminism, simple.helloWorldDurable])
        expect(yield* Effect.promise(() => simple.helloWorldDurable.run({}))).toEqual({ result: "Hello, world!" })
        const twice = yield* Examples.trigger(() => ex.waitForSleepTwice.runNoWait({}))
        const nd = yield* Examples.trigger(() => ex.durableNonDeterminism.runNoWait({}))
        yield* Official.eventually(() =>
          waiting(core, "wait-for-sleep-twice").length + waiting(core, "durable-non-determinism").length === 2 ? true : undefined
        )
        yield* advance(2_000)
        expect((yield* twice.output).runtime).toBeGreaterThanOrEqual(0)
        expect(yield* nd.output).toEqual({ attempt_number: 1, sleep_time: 2, non_determinism_detected: false })
        const ids = [twice.id, nd.id]
        yield* Effect.promise(() => hatchet.runs.replay({ ids }))
        const [twiceTask, ndTask] = ids.map((id) => core.state.tasksByExternalId.get(id)!)
        // no clock moved: the sleep is answered from the log
        yield* Official.eventually(
          () => (twiceTask!.durable!.invocationCount === 2 && twiceTask!.state._tag === "Completed" ? true : undefined)
        )
        yield* Official.eventually(() => (ndTask!.durable!.invocationCount === 2 && ndTask!.state._tag === "Completed" ? true : undefined))
        expect(ndTask!.state._tag === "Completed" && JSON.parse(ndTask!.state.output)).toEqual({
          attempt_number: 2,
          sleep_time: 4,
          non_determinism_detected: true,
          node_id: 1
        })
      }),
    30_000
  )

  it.scoped(
    "durable_eviction: the SDK's TTL and capacity evictions (real seconds) while the engine's clock holds the waits; each restore replays from the log",
    () =>
      Effect.gen(function*() {
        const { core, engine } = yield* Examples.client
        const ex = yield* Examples.load<{
          evictableSleep: Examples.Runnable<object, unknown>
          multipleEviction: Examples.Runnable<object, unknown>
          evictableChildSpawn: Examples.Runnable<object, { readonly child: unknown; readonly status: string }>
          childTask: unknown
          evictableChildBulkSpawn: Examples.Runnable<object, { readonly child_results: unknown; readonly status: string }>
          bulkChildTask: unknown
          nonEvictableSleep: Examples.Runnable<object, unknown>
          capacityEvictableSleep: Examples.Runnable<object, unknown>
        }>("durable_eviction/workflow.js")
        yield* Examples.worker("eviction-ttl-worker", [
          ex.evictableSleep,
          ex.multipleEviction,
          ex.evictableChildSpawn,
          ex.childTask,
          ex.evictableChildBulkSpawn,
          ex.bulkChildTask,
          ex.nonEvictableSleep
        ])
        // one durable slot: a single waiting task is capacity pressure (after 10 s of waiting). Its own
        // client: the official client's durable stream is one per client, taken by its first worker
        // and closed by whichever worker stops first
        yield* Official.worker(Official.client(engine), "capacity-eviction-worker", {
          durableSlots: 1,
          workflows: [ex.capacityEvictableSleep] as never
        })
        const start = (runnable: Examples.Runnable<object, unknown>) => Examples.trigger(() => runnable.runNoWait({}))
        const sleep = yield* start(ex.evictableSleep)
        const multiple = yield* start(ex.multipleEviction)
        const child = yield* start(ex.evictableChildSpawn)
        const bulk = yield* start(ex.evictableChildBulkSpawn)
        const capacity = yield* start(ex.capacityEvictableSleep)
        const nonEvictable = yield* start(ex.nonEvictableSleep)
        const task = (id: string) => core.state.tasksByExternalId.get(id)!
        // the reasons the SDK gave, as the engine recorded them (each eviction once)
        const reasons = new Map<string, Array<string>>()
        const untilEvicted = (id: string, count: number) =>
          Official.eventually(() => {
            const state = task(id).state
            const seen = reasons.get(id) ?? []
            if (state._tag === "Evicted" && seen.length < task(id).durable!.invocationCount) {
              reasons.set(id, [...seen, state.reason])
            }
            return (reasons.get(id)?.length ?? 0) >= count ? true : undefined
          }, 20_000)
        yield* Effect.all([
          untilEvicted(sleep.id, 1),
          untilEvicted(multiple.id, 1),
          untilEvicted(child.id, 1),
          untilEvicted(capacity.id, 1)
        ], {
          concurrency: "unbounded"
        })
        expect(reasons.get(sleep.id)).toEqual(["Wait TTL (5s) exceeded while waiting on waitFor(sleep-15s)"])
        expect(reasons.get(capacity.id)).toEqual(["Worker at capacity while waiting on waitFor(sleep-20s)"])
        // no eviction policy lets go of a non-evictable task: still waiting on its worker
        expect(task(nonEvictable.id).state._tag).toBe("Assigned")
        expect(pendingWaits(task(nonEvictable.id))).toHaveLength(1)

        // 15 s of the engine's clock: the sleeps of 10 s and 15 s are over, the 20 s one is not
        yield* advance(15_000)
        expect(yield* sleep.output).toEqual({ status: "completed" })
        expect(yield* nonEvictable.output).toEqual({ status: "completed" })
        // multiple-eviction's replay passed its first sleep from the log and waits on its second
        yield* untilEvicted(multiple.id, 2)
        expect(task(capacity.id).state._tag).toBe("Evicted")
        yield* advance(15_000)
        expect(yield* multiple.output).toEqual({ status: "completed" })
        expect(yield* capacity.output).toEqual({ status: "completed" })
        // the child sleeps 15 s of real time; its completion restores the evicted parent
        const spawned = yield* child.output
        expect(spawned).toEqual({ child: { child_status: "completed" }, status: "completed" })
        expect(reasons.get(child.id)![0]).toMatch(/^Wait TTL \(5s\) exceeded while waiting on /)
        const invocations = [sleep, multiple, child, capacity, nonEvictable].map(({ id }) => task(id).durable!.invocationCount)
        expect(invocations).toEqual([2, 3, 2, 2, 1])
        // three children in one bulk run, sleeping 10, 20 and 30 s of real time: the parent is
        // evicted while they run and restored as they finish; its replays are answered by the log
        // (no child spawned twice) and it returns their results in the order it asked for them
        const bulkOutput = yield* bulk.output
        expect(bulkOutput).toEqual({
          child_results: [10, 20, 30].map((sleepSeconds) => ({ sleepSeconds, status: "completed" })),
          status: "completed"
        })
        expect(task(bulk.id).durable!.invocationCount).toBeGreaterThan(1)
        const bulkChildren = [...core.state.tasksByExternalId.values()].filter((t) => t.run.workflow.name === "eviction-bulk-child-task")
        expect(bulkChildren.map((t) => t.state._tag)).toEqual(["Completed", "Completed", "Completed"])
      }),
    90_000
  )

  it.scoped(
    "durable_callback_ordering: evicted after 250 ms while children finish out of order, each replay gets their completions in the recorded order",
    () =>
      Effect.gen(function*() {
        const { core } = yield* Examples.client
        const ex = yield* Examples.load<{
          callbackOrderingRoot: Examples.Runnable<
            { durables: number; branches: number; childDelayMs: number; delayStepMs: number },
            { readonly midInvocationCounts: ReadonlyArray<number>; readonly completedMids: ReadonlyArray<number> }
          >
          callbackOrderingMid: unknown
          callbackOrderingLeaf: unknown
        }>("durable_callback_ordering/workflow.js")
        yield* Examples.worker("callback-ordering-worker", [ex.callbackOrderingRoot, ex.callbackOrderingMid, ex.callbackOrderingLeaf])
        // The official worker checks its eviction cache once a second (ttl 250 ms): each generation of
        // children must keep a mid waiting for longer than one check interval, or under load no
        // check may land inside the wait and nothing is evicted.
        const output = yield* Effect.promise(() =>
          ex.callbackOrderingRoot.run({ durables: 2, branches: 4, childDelayMs: 1_400, delayStepMs: 60 })
        )
        expect(output.completedMids).toEqual([0, 1])
        // the mids were evicted while their children ran, and replayed without a non-determinism error
        expect(output.midInvocationCounts.every((count) => count > 1)).toBe(true)
        const mids = [...core.state.tasksByExternalId.values()].filter((t) => t.run.workflow.name === "durable-callback-ordering-mid")
        expect(mids.slice(-2).every((t) => t.state._tag === "Completed")).toBe(true)
      }),
    30_000
  )
})
