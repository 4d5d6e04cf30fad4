/**
 * Why a worker could not start (`Worker.WorkerError`).
 */
import * as Data from "effect/Data"

/** See `Worker.WorkerError`. */
export class WorkerError extends Data.TaggedError("WorkerError")<{
  readonly reason: "InvalidOptions" | "InvalidWorkflow" | "EngineTooOld" | "Registration"
  readonly message: string
  readonly cause?: unknown
}> {}
