/**
 * Marks for `pnpm bench:trace`: the time each protobuf message of one run's path is encoded (about
 * to be sent) or decoded (just received), on the system's monotonic clock (`process.hrtime`, the
 * same in every process of the machine), in ms. Wraps the `encode` / `decode` of the generated
 * message types in place, ours (`@effect-hatchet/proto`, shared by our SDK and the engine) and,
 * with `official`, the official SDK's; it must run before any client or server is created (they
 * keep the functions they are given).
 */
import { createRequire } from "node:module"
import { PerformanceObserver } from "node:perf_hooks"

/** `[label, ms]`, in the order marked. */
export const marks: Array<readonly [string, number]> = []

/** Marks `label` now. */
export const mark = (label: string): void => {
  marks.push([label, Number(process.hrtime.bigint()) / 1e6])
}

/** `process.hrtime` in ms minus `performance.now()`: both run on the same monotonic clock. */
const hrtimeOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now()

/** `gcs`'s entries: where each garbage collection of this process started, and how long it took (ms). */
export interface GcMark {
  readonly at: number
  readonly ms: number
  readonly kind: string
}

const gcKinds: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" }

/** This process's garbage collections, on the marks' clock (`observeGc`). */
export const gcs: Array<GcMark> = []

/** Records every garbage collection of this process into `gcs`. */
export const observeGc = (): void => {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0
      gcs.push({ at: entry.startTime + hrtimeOffset, ms: entry.duration, kind: gcKinds[kind] ?? String(kind) })
    }
  }).observe({ entryTypes: ["gc"] })
}

interface Codec {
  encode: (...args: Array<any>) => unknown
  decode: (...args: Array<any>) => unknown
}

const wrap = (prefix: string, name: string, codec: Codec | undefined) => {
  if (codec === undefined) return
  const { decode, encode } = codec
  codec.encode = function(this: unknown, ...args: Array<any>) {
    mark(`${prefix}${name}.encode`)
    return encode.apply(this, args)
  }
  codec.decode = function(this: unknown, ...args: Array<any>) {
    const message = decode.apply(this, args)
    mark(`${prefix}${name}.decode`)
    return message
  }
}

const dispatcherTypes = [
  "AssignedAction",
  "StepActionEvent",
  "ActionEventResponse",
  "BatchActionEvent",
  "SubscribeToWorkflowRunsRequest",
  "WorkflowRunEvent"
]
const triggerTypes = ["BulkTriggerWorkflowRequest", "BulkTriggerWorkflowResponse", "TriggerWorkflowRequest", "TriggerWorkflowResponse"]
const v1Types = ["TriggerWorkflowRunRequest", "TriggerWorkflowRunResponse", "GetRunDetailsRequest", "GetRunDetailsResponse"]

/**
 * Wraps our message types (labels `<prefix><Type>.encode|decode`) and, with `official`, the
 * official SDK's (`<official><Type>...`).
 */
export const hookProtos = async (prefix: string, official?: string): Promise<void> => {
  const modules: Array<readonly [string, Record<string, Codec>, ReadonlyArray<string>]> = [
    [prefix, await import("@effect-hatchet/proto/dispatcher/dispatcher") as any, dispatcherTypes],
    [prefix, await import("@effect-hatchet/proto/workflows/workflows") as any, triggerTypes],
    [prefix, await import("@effect-hatchet/proto/v1/workflows") as any, v1Types]
  ]
  if (official !== undefined) {
    const require = createRequire(import.meta.url)
    modules.push(
      [official, require("@hatchet-dev/typescript-sdk/protoc/dispatcher/dispatcher.js"), dispatcherTypes],
      [official, require("@hatchet-dev/typescript-sdk/protoc/workflows/workflows.js"), triggerTypes],
      [official, require("@hatchet-dev/typescript-sdk/protoc/v1/workflows.js"), v1Types]
    )
  }
  for (const [label, module, types] of modules) for (const type of types) wrap(label, type, module[type])
}
