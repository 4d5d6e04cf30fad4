/**
 * A bench-only probe of the engine's retention sweeps (`BENCH_RETENTION_PROBE=1`): wraps the
 * engine's timer queue so that every Retention timer fired (a sweep, or one slice of one) is timed
 * with `performance.now()`, with the runs it pruned. `take()` answers what was seen since the last
 * `take()`: how many, the runs pruned, their total, longest and median time (ms).
 */
import type { EngineState } from "../../engine/src/internal/domain/model.js"

/** Whether `BENCH_RETENTION_PROBE=1` asks for the probe. */
export const retentionProbeOn = process.env.BENCH_RETENTION_PROBE === "1"

/** The retention sweeps seen since the last `take()`. */
export interface RetentionBlocks {
  readonly count: number
  readonly pruned: number
  readonly totalMs: number
  readonly longestMs: number
  readonly medianMs: number
}

/** Starts timing the retention timers of `state`'s engine. */
export const watchRetention = (state: EngineState) => {
  const timers = state.timers
  const runDue = timers.runDue.bind(timers)
  let blocks: Array<number> = []
  let pruned = 0
  timers.runDue = (now, fire) =>
    runDue(now, (timer) => {
      if (timer.kind !== "Retention") return fire(timer)
      const held = state.runsById.size
      const start = performance.now()
      fire(timer)
      blocks.push(performance.now() - start)
      pruned += held - state.runsById.size
    })
  return {
    take: (): RetentionBlocks => {
      const sorted = blocks.sort((a, b) => a - b)
      const taken = {
        count: sorted.length,
        pruned,
        totalMs: sorted.reduce((a, b) => a + b, 0),
        longestMs: sorted.at(-1) ?? 0,
        medianMs: sorted[sorted.length >> 1] ?? 0
      }
      blocks = []
      pruned = 0
      return taken
    }
  }
}

/** One line for `blocks`. */
export const retentionLine = (blocks: RetentionBlocks): string =>
  `${blocks.count} sweeps/slices pruned ${blocks.pruned} runs in ${blocks.totalMs.toFixed(1)} ms; longest ${
    blocks.longestMs.toFixed(2)
  } ms, median ${blocks.medianMs.toFixed(2)} ms`
