/**
 * Trigger requests as the official SDKs fill them (child fields from the spawning task), their
 * encoded sizes, and the split of a bulk call into batches that fit the gRPC send limit.
 *
 * @internal
 */
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import * as Option from "effect/Option"
import type { RunOptions } from "../Hatchet.js"
import type { TaskContextShape } from "../TaskContext.js"
import { clientError } from "./clientError.js"
import { desiredLabels } from "./registration.js"
import * as TraceContext from "./traceContext.js"

/** Most runs per `BulkTriggerWorkflow` call (as the official SDKs). */
export const MAX_BULK_TRIGGER = 500

/** Most events per `BulkPush` call (the engine rejects more). */
export const MAX_BULK_PUSH = 1000

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

/** Where a child run hangs: the spawning task attempt and the child's index. */
export interface ChildOf {
  readonly parent: Pick<TaskContextShape, "workflowRunId" | "taskRunExternalId" | "workerId">
  readonly childIndex: number
}

/** A `v1.TriggerWorkflowRequest`, as the official SDKs fill it. */
export const triggerRequest = (
  wireName: string,
  input: string,
  options: RunOptions,
  child: ChildOf | undefined,
  traceparent: Option.Option<string> = Option.none()
): TriggerWorkflowRequest => {
  const metadata = TraceContext.inject(options.additionalMetadata, traceparent) ?? {}
  const desiredWorkerId = options.sticky === true && child !== undefined ? child.parent.workerId : options.desiredWorkerId
  return {
    name: wireName,
    input,
    ...(child !== undefined
      ? {
        parentId: child.parent.workflowRunId,
        parentTaskRunExternalId: child.parent.taskRunExternalId,
        childIndex: child.childIndex,
        ...(options.key !== undefined ? { childKey: options.key } : {})
      }
      : {}),
    ...(Object.keys(metadata).length > 0 ? { additionalMetadata: JSON.stringify(metadata) } : {}),
    ...(desiredWorkerId !== undefined && desiredWorkerId !== "" ? { desiredWorkerId } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    desiredWorkerLabels: options.desiredWorkerLabels === undefined ? {} : desiredLabels([], "", options.desiredWorkerLabels)
  }
}

/** The encoded size of a trigger request. */
export const requestBytes = (request: TriggerWorkflowRequest): number => TriggerWorkflowRequest.encode(request).finish().length

const varintBytes = (n: number): number => {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/** What one item adds to a repeated message field: tag, length, bytes. */
export const itemBytes = (size: number): number => 1 + varintBytes(size) + size

/**
 * Splits items (by encoded size) into consecutive batches of at most `maxItems` items whose
 * repeated-field encoding fits in `maxBytes`. An item that alone does not fit gets its own batch
 * (callers refuse those before planning).
 */
export const planBatches = (
  sizes: ReadonlyArray<number>,
  maxItems: number,
  maxBytes: number
): Array<{ readonly start: number; readonly end: number }> => {
  const batches: Array<{ start: number; end: number }> = []
  let start = 0
  let bytes = 0
  for (let i = 0; i < sizes.length; i++) {
    const cost = itemBytes(sizes[i]!)
    if (i > start && (i - start >= maxItems || bytes + cost > maxBytes)) {
      batches.push({ start, end: i })
      start = i
      bytes = 0
    }
    bytes += cost
  }
  if (sizes.length > start) batches.push({ start, end: sizes.length })
  return batches
}

/** `PayloadTooLarge`: what was measured against the gRPC send limit. */
export const tooLarge = (what: string, bytes: number, limit: number) =>
  clientError(
    "PayloadTooLarge",
    `${what} is ${bytes} bytes once encoded, more than the ${limit}-byte gRPC send limit ` +
      `(HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH); store large data elsewhere and pass a reference`
  )
