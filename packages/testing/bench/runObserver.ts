/**
 * Sub-millisecond times of one worker's runs, for the single-run probes (`pnpm bench`'s, and
 * `pnpm bench:trace`'s): when each run's START is handed to the worker's stream (its sessions'
 * `send`, wrapped) and when its result is recorded (a run subscriber, added as the START goes
 * out, called by the engine's operation that records the result), on this process's monotonic
 * clock (`performance.now()`). Nothing polls: the probe awaits the engine's own notice.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type { EngineCoreService } from "../../engine/src/internal/core.js"
import { subscribeRun } from "../../engine/src/internal/domain/publish.js"

/** What `observeRuns` gives. */
export interface RunObserver {
  /** Observes the runs whose START goes out from now on (true) or stops (false). */
  readonly setActive: (active: boolean) => void
  /** When the run's START was handed to the worker's stream, if it was while active. */
  readonly sentAt: (runId: string) => number | undefined
  /**
   * When the run's result was recorded. `late`: its START was not seen, so it was subscribed to
   * only now (if it had finished already, the time is now's, not its own).
   */
  readonly recorded: (runId: string) => Effect.Effect<{ readonly at: number; readonly late: boolean }>
}

/**
 * Observes the runs sent to the worker `workerId` (its streams open now); `onSent` and
 * `onRecorded` are called at those moments (e.g. to mark them).
 */
export const observeRuns = (
  core: EngineCoreService,
  workerId: string,
  hooks: { readonly onSent?: (runId: string) => void; readonly onRecorded?: (runId: string) => void } = {}
): RunObserver => {
  const sent = new Map<string, number>()
  const results = new Map<string, Deferred.Deferred<number>>()
  let active = false
  const subscribe = (runId: string) => {
    const result = Deferred.unsafeMake<number>(FiberId.none)
    results.set(runId, result)
    subscribeRun(core.state, runId, {
      send: () => {
        const at = performance.now()
        hooks.onRecorded?.(runId)
        Deferred.unsafeDone(result, Exit.succeed(at))
      }
    }, 0)
    return result
  }
  for (const session of core.state.workersById.get(workerId)!.sessions.values()) {
    const send = session.send
    ;(session as { send: typeof send }).send = (action) => {
      if (active && !sent.has(action.workflowRunId)) {
        sent.set(action.workflowRunId, performance.now())
        hooks.onSent?.(action.workflowRunId)
        subscribe(action.workflowRunId)
      }
      return send(action)
    }
  }
  return {
    setActive: (on) => {
      active = on
    },
    sentAt: (runId) => sent.get(runId),
    recorded: (runId) =>
      Effect.suspend((): Effect.Effect<{ readonly at: number; readonly late: boolean }> => {
        const result = results.get(runId)
        if (result !== undefined) return Effect.map(Deferred.await(result), (at) => ({ at, late: false }))
        return Effect.flatMap(
          core.runSync(() => subscribe(runId)),
          (late) => Effect.map(Deferred.await(late), (at) => ({ at, late: true }))
        )
      })
  }
}
