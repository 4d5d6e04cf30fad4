/**
 * Task log lines on their way to the engine: queued (dropping beyond the buffer), sent in batches
 * by a scoped fiber, and flushed (for at most 5 s) when the scope closes.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { PutLogRequest } from "@effect-hatchet/proto/events/events"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { EventsShape } from "../Events.js"
import { CALL_TIMEOUT } from "./engineCall.js"
import { type LogLine, metadataJson } from "./taskLogger.js"

const LOG_BATCH_SIZE = 100
const LOG_CONCURRENCY = 8

/** Where task log lines go. */
export interface LogShipper {
  /** The sink of one attempt's log lines (a full buffer drops the line, and counts it). */
  readonly sink: (
    action: Pick<DispatcherProto.AssignedAction, "taskRunExternalId" | "retryCount">
  ) => (line: LogLine) => void
  /** Log lines dropped so far (buffer full). */
  readonly dropped: () => number
}

/**
 * Starts shipping log lines with `PutLog` (a failed call drops its line, logged at debug level).
 * Made before the task fibers, so that its finalizer, which flushes the queue, runs after theirs.
 */
export const make = (options: {
  readonly events: EventsShape
  readonly bufferSize: number
}): Effect.Effect<LogShipper, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { events } = options
    const logQueue = yield* Queue.dropping<PutLogRequest>(options.bufferSize)
    let droppedLogs = 0
    const sendLogs = (batch: Iterable<PutLogRequest>) =>
      Effect.forEach(
        batch,
        (request) =>
          events.putLog(request).pipe(
            Effect.timeout(CALL_TIMEOUT),
            Effect.catchAllCause((cause) => Effect.logDebug("PutLog failed; log line dropped", cause))
          ),
        { concurrency: LOG_CONCURRENCY, discard: true }
      )
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(logQueue).pipe(
        Effect.flatMap(sendLogs),
        Effect.interruptible,
        Effect.timeoutOption(Duration.seconds(5)),
        Effect.asVoid
      )
    )
    yield* Queue.takeBetween(logQueue, 1, LOG_BATCH_SIZE).pipe(
      Effect.flatMap((batch) => Effect.uninterruptible(sendLogs(batch))),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    return {
      sink: (action) => (line) => {
        const accepted = Queue.unsafeOffer(logQueue, {
          taskRunExternalId: action.taskRunExternalId,
          createdAt: line.createdAt,
          message: line.message,
          level: line.level,
          metadata: metadataJson(line.metadata),
          taskRetryCount: action.retryCount
        })
        if (!accepted) droppedLogs++
      },
      dropped: () => droppedLogs
    }
  })
