/**
 * Where a worker is in its life (`Worker.WorkerStatus`).
 */
import type { Duration, Option } from "effect"
import { Data } from "effect"

/** See `Worker.WorkerStatus`. */
export type WorkerStatus = Data.TaggedEnum<{
  Registering: {}
  Listening: { readonly workerId: string }
  Reconnecting: {
    readonly workerId: Option.Option<string>
    readonly attempt: number
    readonly reason: string
    readonly delay: Duration.Duration
  }
  Draining: {}
  Stopped: {}
}>

/** See `Worker.WorkerStatus`. */
export const WorkerStatus = Data.taggedEnum<WorkerStatus>()
