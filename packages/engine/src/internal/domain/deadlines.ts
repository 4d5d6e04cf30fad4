/**
 * The one place where the engine's timers take effect: the timer fiber (`core.ts`) hands every
 * due `Timer` to `fireTimer`, which finds its owner by id and lets the owner's module act. A timer
 * whose owner is gone (a pruned task, a forgotten worker, a deleted cron) does nothing.
 *
 * Nothing in the domain imports this module: the domain only sets and cancels timers (plain
 * data), so the graph stays one-way.
 *
 * @internal
 */
import { onBatchFlush } from "./assignment.js"
import { onCronTick } from "./cron.js"
import { onUnpark } from "./dispatch.js"
import type { EngineState } from "./model.js"
import { onRunHangup, onStreamFlush } from "./publish.js"
import { onRefill } from "./rateLimits.js"
import { onRetention } from "./retention.js"
import { onScheduledRun } from "./schedules.js"
import { onExecutionTimeout, onRetryBackoff, onScheduleTimeout, onSleep, onSlotScheduleTimeout } from "./tasks.js"
import type { Timer } from "./timers.js"
import { onLegacyHeartbeat, onWorkerLiveness } from "./workers.js"
import { onPausedQueueTtl } from "./workflowPause.js"

/** Lets `timer` take effect at `now`. */
export const fireTimer = (state: EngineState, timer: Timer, now: number): void => {
  switch (timer.kind) {
    case "ScheduleTimeout":
    case "SlotScheduleTimeout":
    case "ExecutionTimeout":
    case "RetryBackoff":
    case "Unpark":
    case "StreamFlush":
    case "PausedQueueTtl": {
      const task = state.tasksByExternalId.get(timer.id)
      if (task === undefined) return
      switch (timer.kind) {
        case "ScheduleTimeout":
          return onScheduleTimeout(state, task, timer.token, now)
        case "SlotScheduleTimeout":
          return onSlotScheduleTimeout(state, task, timer, now)
        case "ExecutionTimeout":
          return onExecutionTimeout(state, task, timer.token, now)
        case "RetryBackoff":
          return onRetryBackoff(state, task, timer.token, now)
        case "Unpark":
          return onUnpark(state, task, timer)
        case "StreamFlush":
          return onStreamFlush(state, task, timer.token)
        case "PausedQueueTtl":
          return onPausedQueueTtl(state, task, timer.token, now)
      }
      return
    }
    case "RunHangup":
      return onRunHangup(state, timer.id, timer.eventType, now)
    case "WorkerLiveness": {
      const worker = state.workersById.get(timer.id)
      if (worker !== undefined) onWorkerLiveness(state, worker, now)
      return
    }
    case "LegacyHeartbeat": {
      const worker = state.workersById.get(timer.workerId)
      if (worker !== undefined) onLegacyHeartbeat(state, worker, timer.id, now)
      return
    }
    case "RateLimitRefill":
      return onRefill(state, timer.tenantId, timer.key)
    case "ScheduledRun":
      return onScheduledRun(state, timer.tenantId, timer.id, timer.at, now)
    case "Sleep":
      return onSleep(state, timer, now)
    case "CronTick":
      return onCronTick(state, timer.tenantId, timer.id, timer.at, now)
    case "Retention":
      return onRetention(state, timer.id, now)
    case "BatchFlush":
      return onBatchFlush(state, timer.tenantId, timer.id, now)
  }
}
