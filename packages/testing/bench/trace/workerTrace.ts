/**
 * What a traced worker process (./worker.ts) answers its parent: its marks (./hooks.ts) and garbage
 * collections since it was last asked.
 */
import type { ChildProcess } from "node:child_process"
import { askChild } from "../child.js"
import type { Span } from "../timeline.js"
import type { GcMark } from "./hooks.js"

/** A traced worker's marks and collections. */
export interface WorkerTrace {
  readonly trace: Array<readonly [string, number]>
  readonly gcs: Array<GcMark>
  /** The stretches its event loop was blocked (with TRACE_GAPS=1; empty otherwise). */
  readonly gaps: Array<Span>
}

/** The worker's marks and garbage collections since it was last asked. */
export const workerMarks = (child: ChildProcess) =>
  askChild(child, "trace", (message): WorkerTrace | undefined => {
    const answer = message as Partial<WorkerTrace>
    return answer.trace === undefined ? undefined : { trace: answer.trace, gcs: answer.gcs ?? [], gaps: answer.gaps ?? [] }
  })
