/**
 * A TaskContext as the worker gives a task attempt, with no engine behind it: its operations do
 * nothing unless a test passes its own.
 */
import { Effect, Option } from "effect"
import * as TaskContext from "../../src/TaskContext.js"

export const testTaskContext = (
  info: Partial<TaskContext.TaskInfo> = {},
  operations: Partial<TaskContext.TaskOperations> = {}
) =>
  TaskContext.make({
    workflowName: "flow",
    taskName: "a",
    action: "flow:a",
    workflowRunId: "wr",
    taskRunExternalId: "tr",
    workerId: "w",
    retryCount: 0,
    maxAttempts: 1,
    triggeringEvent: Option.none(),
    additionalMetadata: {},
    priority: 1,
    childIndex: Option.none(),
    childKey: Option.none(),
    parentTaskRunExternalId: Option.none(),
    ...info
  }, {
    refreshTimeout: () => Effect.void,
    releaseSlot: Effect.void,
    putStream: () => Effect.void,
    cancel: Effect.void,
    upsertLabels: () => Effect.void,
    ...operations
  })
