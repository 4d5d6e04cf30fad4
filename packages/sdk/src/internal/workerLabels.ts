/**
 * Changing a running worker's labels: kept for its next registration, and sent to the engine once
 * it is registered.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcError } from "../HatchetError.js"
import { workerLabelIssues, workerLabels } from "./registration.js"
import { WorkerError } from "./workerError.js"
import type { WorkerState } from "./workerState.js"

/** `WorkerShape.upsertLabels`: fails with `InvalidOptions` for a value neither a string nor an integer. */
export const upsert = (state: WorkerState, dispatcher: DispatcherShape) =>
(
  changed: Readonly<Record<string, string | number>>
): Effect.Effect<void, WorkerError | GrpcError> =>
  Effect.suspend((): Effect.Effect<void, WorkerError | GrpcError> => {
    const issues = workerLabelIssues(changed)
    if (issues.length > 0) {
      return Effect.fail(new WorkerError({ reason: "InvalidOptions", message: `Invalid worker labels: ${issues.join("; ")}` }))
    }
    state.labels = { ...state.labels, ...changed }
    return Effect.flatMap(Ref.get(state.workerId), (workerId) =>
      Option.isSome(workerId) ? dispatcher.upsertWorkerLabels(workerId.value, workerLabels(changed)) : Effect.void)
  })
