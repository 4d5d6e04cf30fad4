/**
 * A timeline shared by the processes of `pnpm bench:soak`, so that a slow REST call can be told
 * apart by what each process was doing meanwhile. Times are milliseconds of the monotonic clock
 * (`process.hrtime`, CLOCK_MONOTONIC on Linux), the same in every process of the machine.
 *
 * - `gcRecorder`: the process's GC pauses with their kind (V8's `PerformanceObserver` entries).
 * - `gapRecorder`: the stretches its event loop was blocked (a 1 ms interval that came late), each
 *   with what `probe` said before and after it (what the process did meanwhile).
 * - `schedstat`: what the kernel says of a process's main thread (`/proc/PID/schedstat`): time on a
 *   CPU and time runnable but waiting for one. Linux only; zeros elsewhere.
 */
import { readdirSync, readFileSync } from "node:fs"
import { constants, PerformanceObserver } from "node:perf_hooks"

/** Now, in ms of the monotonic clock every process shares. */
export const hrMs = (): number => Number(process.hrtime.bigint()) / 1e6

/** `performance.now()` (and the performance timeline) to `hrMs`. */
const timelineOffset = hrMs() - performance.now()

/** A stretch of time, ms of `hrMs`. */
export interface Span {
  readonly start: number
  readonly end: number
}

/** A GC pause: V8's kind and when. */
export interface GcSpan extends Span {
  readonly kind: string
}

const gcKinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "Scavenge",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "MarkSweepCompact",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "Incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "WeakCallbacks"
}

/** Records the process's GC pauses while `recording`; `take` returns them and starts afresh. */
export const gcRecorder = () => {
  let spans: Array<GcSpan> = []
  let recording = false
  const observer = new PerformanceObserver((list) => {
    if (!recording) return
    for (const entry of list.getEntries()) {
      const start = entry.startTime + timelineOffset
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind
      spans.push({ start, end: start + entry.duration, kind: gcKinds[kind ?? -1] ?? `gc${kind}` })
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  return {
    start: () => {
      spans = []
      recording = true
    },
    /** Stops recording; the observer's entries arrive a tick late, so call it after one. */
    take: (): ReadonlyArray<GcSpan> => {
      recording = false
      const taken = spans
      spans = []
      return taken
    }
  }
}

/** A stretch the event loop was blocked, with what `probe` read before and after it. */
export interface GapSpan<A> extends Span {
  readonly before: A
  readonly after: A
}

/**
 * Records the stretches longer than `minMs` in which a 1 ms interval did not fire (the event loop
 * was blocked, or the process had no CPU), while started; `probe` is read at every tick.
 */
export const gapRecorder = <A>(probe: () => A, minMs = 2) => {
  let spans: Array<GapSpan<A>> = []
  let timer: ReturnType<typeof setInterval> | undefined
  return {
    start: () => {
      spans = []
      let last = hrMs()
      let seen = probe()
      timer = setInterval(() => {
        const now = hrMs()
        const read = probe()
        if (now - last > minMs) spans.push({ start: last, end: now, before: seen, after: read })
        last = now
        seen = read
      }, 1)
    },
    take: (): ReadonlyArray<GapSpan<A>> => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      const taken = spans
      spans = []
      return taken
    }
  }
}

/** What the kernel says of a process's main thread: ms on a CPU, ms runnable and waiting for one. */
export interface SchedStat {
  readonly runMs: number
  readonly waitMs: number
}

/** `/proc/PID/schedstat` of `pid` (the main thread); zeros where there is none. */
export const schedstat = (pid: number | "self" = "self"): SchedStat => {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")
    return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 }
  } catch {
    return { runMs: 0, waitMs: 0 }
  }
}

/** ms on a CPU of all threads of `pid` (its GC helpers, libuv's pool, ...); 0 where unknown. */
export const processRunMs = (pid: number | "self" = "self"): number => {
  try {
    let sum = 0
    for (const task of readdirSync(`/proc/${pid}/task`)) sum += schedstat(`${pid}/task/${task}` as unknown as number).runMs
    return sum
  } catch {
    return 0
  }
}

/** The machine's CPU time so far (`/proc/stat`, 10 ms resolution): busy and idle ms over all CPUs. */
export const machineMs = (): { readonly busyMs: number; readonly idleMs: number } => {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    const tick = 10 // USER_HZ 100
    const idle = (fields[3]! + fields[4]!) * tick
    return { busyMs: fields.reduce((a, b) => a + b, 0) * tick - idle, idleMs: idle }
  } catch {
    return { busyMs: 0, idleMs: 0 }
  }
}

/** How much of `span` the spans overlap, ms. */
export const overlapMs = (span: Span, spans: ReadonlyArray<Span>): number => {
  let sum = 0
  for (const other of spans) sum += Math.max(0, Math.min(span.end, other.end) - Math.max(span.start, other.start))
  return sum
}
