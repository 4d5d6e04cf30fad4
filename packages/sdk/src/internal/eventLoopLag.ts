/**
 * Measures how late the event loop runs a timer: a fiber sleeps `interval` (real time, whatever
 * the `Clock` in context, so `TestClock` does not hide a blocked loop) and the time it overslept
 * is the lag. A loop blocked by CPU-bound work delays heartbeats, task events and every other
 * task of the process; this makes it visible (a warning, the health report, a gauge).
 *
 * As in the official Python SDK's listener, the loop counts as blocked when the latest tick was
 * `threshold` or more late, until a tick comes in under it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { EventLoopLag } from "../Worker.js"

/** @internal */
export interface EventLoopLagOptions {
  readonly threshold: Duration.Duration
  /** How often the loop is sampled; 500 ms as the Python SDK. */
  readonly interval?: Duration.Duration | undefined
  /** `recentMax` covers this much time; 10 s, so that a scrape every few seconds sees a block. */
  readonly window?: Duration.Duration | undefined
}

const liveClock = Clock.make()

/** Starts the monitor in the current scope; its readings, as a `Worker` exposes them. */
export const monitor = (options: EventLoopLagOptions): Effect.Effect<Effect.Effect<EventLoopLag>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const interval = Duration.toMillis(options.interval ?? Duration.millis(500))
    const window = Duration.toMillis(options.window ?? Duration.seconds(10))
    const threshold = Duration.toMillis(options.threshold)
    let latest = 0
    let blocked = false
    /** Lags above zero in the window, oldest first, as [measured at, lag] in `performance.now()` ms. */
    const recent: Array<readonly [number, number]> = []

    const tick = Effect.gen(function*() {
      const started = performance.now()
      yield* liveClock.sleep(Duration.millis(interval))
      const now = performance.now()
      latest = Math.max(0, now - started - interval)
      while (recent.length > 0 && recent[0]![0] < now - window) recent.shift()
      if (latest >= 1) recent.push([now, latest])
      const wasBlocked = blocked
      blocked = latest >= threshold
      if (blocked) {
        yield* Effect.logWarning(
          `the event loop was blocked for ${formatMillis(latest)} (threshold ${formatMillis(threshold)}): ` +
            "heartbeats, task events and every other task waited; move CPU-bound work off the event loop " +
            "(a worker thread or a child process)"
        )
      } else if (wasBlocked) {
        yield* Effect.logInfo(`the event loop runs on time again (lag ${formatMillis(latest)})`)
      }
    })
    yield* Effect.forkScoped(Effect.forever(tick).pipe(Effect.interruptible))

    return Effect.sync((): EventLoopLag => {
      const since = performance.now() - window
      let max = latest
      for (const [at, lag] of recent) if (at >= since && lag > max) max = lag
      return { latest: Duration.millis(latest), recentMax: Duration.millis(max), blocked }
    })
  })

const formatMillis = (ms: number) => ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
