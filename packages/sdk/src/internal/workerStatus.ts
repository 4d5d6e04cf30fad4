/**
 * Where a worker is in its life (`Worker.WorkerStatus`).
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Option from "effect/Option"

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
