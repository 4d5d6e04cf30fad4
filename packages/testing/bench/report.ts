/**
 * Imported first by each benchmark worker process, ours and the official SDK's alike: answers the parent's `"report"` message over IPC with the process's memory and the
 * values of the `hatchet_worker_*` Effect metrics registered in it (none for the official SDK).
 * Memory is read first; `effect` is imported only afterwards, and only where BENCH_REPORT_METRICS is
 * `1` (our worker), so that it never counts against a process that does not use it.
 */
import type { Session } from "node:inspector/promises"
import { startHeapSampling } from "./heapSampling.js"

/** What a worker process reports. */
export interface WorkerReport {
  readonly rss: number
  readonly heapUsed: number
  /** The heap V8 holds (used or not), and memory outside it (buffers), after the GC if any. */
  readonly heapTotal: number
  readonly external: number
  /** CPU time used so far, in microseconds. */
  readonly cpuUserMicros: number
  readonly cpuSystemMicros: number
  /** Heap used after a full GC (the workers run with `--expose-gc`). */
  readonly heapUsedAfterGc: number | undefined
  readonly metrics: Readonly<Record<string, MetricValue>>
}

export type MetricValue =
  | { readonly _tag: "Number"; readonly value: number }
  | {
    readonly _tag: "Histogram"
    /** Upper bound, cumulative count. */
    readonly buckets: ReadonlyArray<readonly [number, number]>
    readonly count: number
    readonly min: number
    readonly max: number
    readonly sum: number
  }

const metricValues = async (): Promise<Record<string, MetricValue>> => {
  const [Effect, Metric, MetricState] = await Promise.all([
    import("effect/Effect"),
    import("effect/Metric"),
    import("effect/MetricState")
  ])
  const values: Record<string, MetricValue> = {}
  for (const pair of Effect.runSync(Metric.snapshot)) {
    const name = pair.metricKey.name
    if (!name.startsWith("hatchet_worker_")) continue
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      values[name] = { _tag: "Number", value: Number(state.count) }
    } else if (MetricState.isGaugeState(state)) {
      values[name] = { _tag: "Number", value: Number(state.value) }
    } else if (MetricState.isHistogramState(state)) {
      const { buckets, count, max, min, sum } = state
      values[name] = { _tag: "Histogram", buckets: [...buckets], count, min, max, sum }
    }
  }
  return values
}

const report = async (): Promise<WorkerReport> => {
  const { system, user } = process.cpuUsage()
  const { heapUsed, rss } = process.memoryUsage()
  const gc = (globalThis as { gc?: () => void }).gc
  let heapUsedAfterGc: number | undefined
  if (gc !== undefined) {
    gc()
    heapUsedAfterGc = process.memoryUsage().heapUsed
  }
  const { external, heapTotal } = process.memoryUsage()
  return {
    rss,
    heapUsed,
    heapTotal,
    external,
    cpuUserMicros: user,
    cpuSystemMicros: system,
    heapUsedAfterGc,
    metrics: process.env.BENCH_REPORT_METRICS === "1" ? await metricValues() : {}
  }
}

/**
 * `{ profile: "start" }` starts the V8 CPU profiler (node:inspector), `{ profile: "stop", file }`
 * writes what it sampled since to `file`: the parent profiles the measured runs only, not the
 * process's start-up (BENCH_PROFILE).
 */
let profiler: Session | undefined
const profile = async (message: { readonly profile: "start" | "stop"; readonly file?: string }) => {
  if (message.profile === "start") {
    const inspector = await import("node:inspector/promises")
    profiler = new inspector.Session()
    profiler.connect()
    await profiler.post("Profiler.enable")
    await profiler.post("Profiler.start")
  } else if (profiler !== undefined) {
    const { profile } = await profiler.post("Profiler.stop")
    profiler.disconnect()
    profiler = undefined
    const fs = await import("node:fs")
    const path = await import("node:path")
    fs.mkdirSync(path.dirname(message.file!), { recursive: true })
    fs.writeFileSync(message.file!, JSON.stringify(profile))
  }
  return { profiled: message.profile }
}

/**
 * With BENCH_HEAP_PROFILE=<file>, V8's sampling heap profiler (./heapSampling.ts) runs from the
 * first report (before the measured runs) to the second (after them) and writes what it sampled to
 * `<file>`.
 * BENCH_HEAP_PROFILE_FROM=<n> starts it at the n-th report instead, to the next (e.g. 3 for
 * bench:steady's first paced phase with STEADY_RATE: reports 1 and 2 frame its idle time). It stops
 * before the report's full collection, which would count the young garbage of that moment.
 */
let stopHeapSampling: ((file: string) => Promise<void>) | undefined
let reports = 0
const heapProfileFrom = Number(process.env.BENCH_HEAP_PROFILE_FROM ?? 1)
const heapProfile = async (file: string) => {
  reports++
  if (reports === heapProfileFrom) {
    stopHeapSampling = await startHeapSampling()
  } else if (reports === heapProfileFrom + 1 && stopHeapSampling !== undefined) {
    await stopHeapSampling(file)
  }
}

if (process.send !== undefined) {
  process.on("message", (message) => {
    if (message === "report") {
      const file = process.env.BENCH_HEAP_PROFILE
      void (file === undefined ? Promise.resolve() : heapProfile(file)).then(report).then((r) => process.send!({ report: r }))
    } else if (typeof message === "object" && message !== null && "profile" in message) {
      void profile(message as Parameters<typeof profile>[0]).then((r) => process.send!(r))
    }
  })
  // the IPC channel must not keep a finished worker alive
  process.channel?.unref()
}
