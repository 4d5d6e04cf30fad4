/**
 * Shorthands for tests of durable tasks run by the official SDK's shipped examples against an
 * engine whose clock is the test's `TestClock`: the engine and the examples' client, which tasks
 * wait on their log, and waiting until one does.
 */
import { Effect, Layer, TestClock } from "effect"
import * as Engine from "../../src/Engine.js"
import { EngineCore, type EngineCoreService } from "../../src/internal/core.js"
import type { DurableEntry, Task } from "../../src/internal/domain/model.js"
import * as InternalEngine from "../../src/internal/engine.js"
import { eventually } from "./grpc.js"
import * as Official from "./official.js"

/** What a test uses of an example's task or workflow declaration. */
export interface Runnable<I, O> {
  readonly name: string
  readonly run: (input: I) => Promise<O>
  readonly runNoWait: (input: I) => Promise<{ readonly getWorkflowRunId: () => Promise<string>; readonly output: Promise<O> }>
}

/**
 * One engine for a test file (the examples' client is built once per file). Its clock is the
 * TestClock, started at the wall-clock time, which the SDK's lookbacks (`ctx.now()` minus a
 * window) start from; an open stream keeps a worker alive however far the clock jumps.
 */
export const engineLive = Layer.unwrapEffect(
  Effect.as(TestClock.setTime(Date.now()), InternalEngine.layer({ workerLiveness: "connection" }))
)

/** The engine, its core and the examples' client (`v1/examples/hatchet-client`). */
export const examplesClient = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const core = (yield* EngineCore) as EngineCoreService
  const { hatchet } = yield* Official.importExample<{ hatchet: Official.Client }>(engine, "hatchet-client.js")
  return { core, engine, hatchet }
})

/** The entries of a durable task's current invocation that wait on something not satisfied yet. */
export const pendingWaits = (task: Task): Array<DurableEntry> =>
  task.durable === undefined
    ? []
    : [...task.durable.entries.values()].filter((entry) =>
      entry.kind === "WAIT_FOR" && !entry.satisfied && entry.invocationCount === task.durable!.invocationCount
    )

/** The durable tasks of workflow `name` waiting on a log entry that is not satisfied yet. */
export const waiting = (core: EngineCoreService, name: string): Array<Task> =>
  [...core.state.tasksByExternalId.values()].filter((task) => task.run.workflow.name === name && pendingWaits(task).length > 0)

/** Waits (real time) until `count` durable tasks of workflow `name` wait on their log; returns them. */
export const untilWaiting = (core: EngineCoreService, name: string, count = 1) =>
  eventually(() => {
    const tasks = waiting(core, name)
    return tasks.length >= count ? tasks : undefined
  })
