/**
 * Shorthands for tests of durable tasks run by the official SDK's shipped examples against an
 * engine whose clock is the test's `TestClock` (`Examples.engineLive`): which tasks wait on their
 * log, and waiting until one does.
 */
import type { EngineCoreService } from "../../src/internal/core.js"
import type { DurableEntry, Task } from "../../src/internal/domain/model.js"
import { eventually } from "./grpc.js"

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
