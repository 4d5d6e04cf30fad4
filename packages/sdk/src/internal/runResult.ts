/**
 * What the engine sends back, decoded: a finished run's task results into the definition's typed
 * result or failures, a cancellation explained by its task events, run events and pushed events.
 *
 * @internal
 */
import { ResourceEventType, ResourceType, type StepRunResult, type WorkflowEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { Event as ProtoEvent } from "@effect-hatchet/proto/events/events"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type { PushedEvent, RunEvent } from "../Hatchet.js"
import type { WorkflowRunDetails as RunsDetails } from "../Runs.js"
import { TaskFailed } from "../TaskError.js"
import { clientError } from "./clientError.js"
import { allTasks, findTask, type HasSpec, specOf, type TaskSpec } from "./definition.js"
import { decodeFailure, formatParseError } from "./failure.js"
import { ON_FAILURE_TASK } from "./naming.js"
import { decodeTaskResult, parseMetadata } from "./payload.js"

// -----------------------------------------------------------------------------
// results
// -----------------------------------------------------------------------------

/**
 * A finished run's results as the definition's result: each task's output decoded with its
 * Schema (the output itself for a standalone task), or the failure of every failed or cancelled
 * task (its declared error or a `TaskFailed`), in one parallel cause: failures before
 * cancellations, each in definition order.
 */
export const decodeResult = (
  definition: HasSpec,
  runId: string,
  results: ReadonlyArray<StepRunResult>
): Effect.Effect<unknown, unknown> =>
  Effect.gen(function*() {
    const spec = specOf(definition)
    const order = allTasks(spec).map((task) => task.name)
    const failures: Array<{ readonly rank: number; readonly error: unknown }> = []
    for (const result of results) {
      if (result.error === undefined) continue
      // a run that did not fail has its on-failure task skipped, reported as cancelled
      if (result.error === "" && result.taskName === ON_FAILURE_TASK) continue
      const error = yield* decodeFailure(findTask(spec, result.taskName), result.taskName, result.error)
      const position = order.indexOf(result.taskName)
      const cancelled = error instanceof TaskFailed && error.kind === "Cancelled"
      failures.push({ rank: (cancelled ? order.length + 1 : 0) + (position < 0 ? order.length : position), error })
    }
    if (failures.length > 0) {
      failures.sort((a, b) => a.rank - b.rank)
      return yield* Effect.failCause(failures.map((f) => Cause.fail(f.error)).reduce(Cause.parallel))
    }
    if (results.length === 0) {
      return yield* clientError("MissingResult", `Run ${runId} of "${spec.name}" finished without any task result`, { runId })
    }
    const byName = new Map(results.map((result) => [result.taskName, result]))
    const decodeTask = (task: TaskSpec) => {
      const result = byName.get(task.name)
      if (result === undefined || result.output === undefined) {
        return Effect.fail(
          clientError("MissingResult", `Run ${runId} of "${spec.name}" finished without a result for task "${task.name}"`, {
            runId
          })
        )
      }
      return Effect.mapError(
        decodeTaskResult(spec, task, result.output),
        (error) =>
          clientError(
            "InvalidOutput",
            `Invalid output of task "${task.name}" in run ${runId} of "${spec.name}": ${formatParseError(error)}`,
            { runId, cause: error }
          )
      )
    }
    if (spec.kind === "task") return yield* decodeTask(spec.tasks[0]!)
    const output: Record<string, unknown> = {}
    for (const task of spec.onSuccess === undefined ? spec.tasks : [...spec.tasks, spec.onSuccess]) {
      output[task.name] = yield* decodeTask(task)
    }
    return output
  })

/**
 * A cancelled task's failure, with the reason its last cancellation event gives: a schedule
 * timeout, or the event's message (`Cancelled due to concurrency strategy`).
 */
export const explainCancellation = (details: RunsDetails, failure: TaskFailed): TaskFailed => {
  const taskId = details.shape.find((task) => task.taskName === failure.taskName)?.taskExternalId ??
    (details.tasks.length === 1 ? details.tasks[0]!.taskExternalId : undefined)
  let last: RunsDetails["taskEvents"][number] | undefined
  for (const event of details.taskEvents) {
    if (event.taskId !== taskId || (event.eventType !== "CANCELLED" && event.eventType !== "SCHEDULING_TIMED_OUT")) continue
    if (last === undefined || event.id > last.id) last = event
  }
  if (last?.eventType === "SCHEDULING_TIMED_OUT") {
    return new TaskFailed({
      taskName: failure.taskName,
      kind: "ScheduleTimeout",
      message: "no worker took the task within its schedule timeout (SCHEDULING_TIMED_OUT)"
    })
  }
  return last !== undefined && last.message !== ""
    ? new TaskFailed({ taskName: failure.taskName, kind: "Cancelled", message: last.message })
    : failure
}

// -----------------------------------------------------------------------------
// run events
// -----------------------------------------------------------------------------

const eventTypes: Partial<Record<ResourceEventType, RunEvent["type"]>> = {
  [ResourceEventType.RESOURCE_EVENT_TYPE_STARTED]: "STARTED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED]: "COMPLETED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_FAILED]: "FAILED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED]: "CANCELLED",
  [ResourceEventType.RESOURCE_EVENT_TYPE_TIMED_OUT]: "TIMED_OUT",
  [ResourceEventType.RESOURCE_EVENT_TYPE_STREAM]: "STREAM"
}

/** Our model of a `WorkflowEvent`. */
export const toRunEvent = (event: WorkflowEvent): RunEvent => ({
  type: eventTypes[event.eventType] ?? "UNKNOWN",
  resource: event.resourceType === ResourceType.RESOURCE_TYPE_STEP_RUN
    ? "TASK"
    : event.resourceType === ResourceType.RESOURCE_TYPE_WORKFLOW_RUN
    ? "RUN"
    : "UNKNOWN",
  runId: event.workflowRunId,
  resourceId: event.resourceId,
  payload: event.eventPayload,
  timestamp: event.eventTimestamp,
  retryCount: event.retryCount,
  eventIndex: event.eventIndex,
  hangup: event.hangup
})

/** Our model of a pushed `Event`. */
export const toPushedEvent = (event: ProtoEvent): PushedEvent => ({
  eventId: event.eventId,
  key: event.key,
  payload: event.payload,
  timestamp: event.eventTimestamp,
  additionalMetadata: parseMetadata(event.additionalMetadata)
})
