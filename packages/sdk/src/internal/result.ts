/**
 * A finished run's per-task results (`StepRunResult` of `SubscribeToWorkflowRuns`, or the task runs
 * of `GetRunDetails` / REST) turned into the typed result, or the typed failure.
 */
import { Effect } from "effect"
import { TaskFailed } from "../TaskError.js"
import { allTasks, findTask, type WorkflowSpec } from "./definition.js"
import { decodeFailure } from "./failure.js"
import { decodeOutput } from "./payload.js"

/** One task's outcome as the engine reports it. `error` present (even empty) means it did not complete. */
export interface TaskResult {
  readonly taskName: string
  readonly output?: string | undefined
  readonly error?: string | undefined
}

/**
 * The run's result: `{ [readableId]: decoded output }` for a workflow (tasks the definition does not
 * know are skipped), or the task's output for a standalone task. Fails with the first failed task's
 * error, decoded to its typed error or `TaskFailed`; a real failure wins over the cancellations it
 * cascades to. An output that does not decode fails with `TaskFailed` (kind `InvalidOutput`).
 */
export const decodeRunResult = (
  spec: WorkflowSpec,
  results: ReadonlyArray<TaskResult>
): Effect.Effect<unknown, unknown> =>
  Effect.gen(function*() {
    const failed = results.filter((r) => r.error !== undefined)
    if (failed.length > 0) {
      const first = failed.find((r) => r.error !== "") ?? failed[0]
      return yield* Effect.fail(yield* decodeFailure(findTask(spec, first.taskName), first.taskName, first.error!))
    }
    const outputs: Record<string, unknown> = {}
    for (const result of results) {
      const task = findTask(spec, result.taskName)
      if (task === undefined) continue
      outputs[result.taskName] = yield* Effect.mapError(
        decodeOutput(task, result.output ?? ""),
        (error) => new TaskFailed({ taskName: task.name, kind: "InvalidOutput", message: error.message })
      )
    }
    if (spec.kind === "task") {
      const name = allTasks(spec)[0].name
      if (!(name in outputs)) {
        return yield* Effect.fail(
          new TaskFailed({ taskName: name, kind: "Unknown", message: `the run finished without an output for "${name}"` })
        )
      }
      return outputs[name]
    }
    return outputs
  })
