/**
 * The engine of `pnpm bench:soak`, in its own process (run with `--expose-gc`, so that
 * ./report.ts can report its heap after a full GC): starts the engine on free loopback ports
 * with the options in `BENCH_ENGINE_OPTIONS` (JSON, e.g. `{"retention":{"maxRuns":5000}}`) and
 * sends the parent `{ ready: { env, tenantId } }` over IPC. On a `"list"` message it times what
 * the REST run list does inside the engine (the query, the rows, the JSON) for the SDKs' default
 * list, 200 times, and answers `{ list: { p50, p99, p99WithoutGc, gcPauses, gcMaxMs, held, allocatedKb } }`
 * (ms, the same p99 less the time V8's GC pauses overlapped each call, the pauses during the loop
 * and the longest, the runs it holds, and what one call allocates on V8's heap, in KiB, measured
 * after the timed loop). Between `"probes-start"` and `"probes-end"` (the parent's REST calls) it
 * records its GCs (`v8.GCProfiler`) and event loop delay, and answers `{ probes: { loopDelayMaxMs,
 * loopDelayP99Ms, gcs, allocatedKb } }` (each GC's kind, pause and the young generation it left;
 * what the young generation took meanwhile, counting what each GC emptied of it; then a full GC
 * forced after the calls, its wall and CPU time: the marking work of the retained heap). It runs until
 * the parent kills it. `BENCH_HEAP_SNAPSHOT=N` writes a heap snapshot (`v8.writeHeapSnapshot`, in the
 * working directory) at the N-th `"list"` message, before the timed loop, with the engine idle.
 * `BENCH_RETENTION_PROBE=1` prints every 10 s how long the retention sweeps (or their slices) held
 * the event loop: their count, the runs they pruned, their total, longest and median time.
 */
import "./report.js"
import type { EngineOptions } from "@effect-hatchet/engine/Engine"
import type * as EffectModule from "effect/Effect"
import * as http from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as v8 from "node:v8"
import type * as CoreModule from "../../engine/src/internal/core.js"
import type * as QueriesModule from "../../engine/src/internal/domain/queries.js"
import type * as EngineModule from "../../engine/src/internal/engine.js"
import type * as JsonBytesModule from "../../engine/src/internal/http/jsonBytes.js"
import type * as ViewsModule from "../../engine/src/internal/http/views.js"
import { retentionLine, retentionProbeOn, watchRetention } from "./retentionProbe.js"
import { gapRecorder, gcRecorder, hrMs, type Span } from "./timeline.js"

// What `hatchet-local` holds: tsx (which runs this file) turns on Node's source maps, which would
// keep every loaded module's map on the heap (about 4 MiB with the engine's build); the engine's
// modules load below, once they are off, as the CLI loads them (plain `node`).
process.setSourceMapsEnabled(false)
const { Engine } = await import("@effect-hatchet/engine")
const Effect = await import("effect/Effect") as typeof EffectModule

// the engine's internal modules from where the engine runs: its sources, or with `BENCH_DIST=1` its
// build (as `@effect-hatchet/engine` resolves then), so that the process holds one copy of them
const internal = <A>(path: string): Promise<A> =>
  import(new URL(`../../engine/${process.env.BENCH_DIST === "1" ? "dist/esm" : "src"}/internal/${path}`, import.meta.url).href)
const { EngineCore } = await internal<typeof CoreModule>("core.js")
const Queries = await internal<typeof QueriesModule>("domain/queries.js")
const InternalEngine = await internal<typeof EngineModule>("engine.js")
const { jsonWriter } = await internal<typeof JsonBytesModule>("http/jsonBytes.js")
const Views = await internal<typeof ViewsModule>("http/views.js")

const options = JSON.parse(process.env.BENCH_ENGINE_OPTIONS ?? "{}") as EngineOptions

const program = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const core = yield* EngineCore
  // the GC pauses V8 reports, so that a slow call can be told from one that waited on the GC
  const pauses: Array<{ readonly start: number; readonly end: number }> = []
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration })
  }).observe({ entryTypes: ["gc"] })
  // the route's own work: the query and the response's bytes (the REST server adds only HTTP)
  const listOnce = () => {
    jsonWriter.lend((writer) => {
      const page = Queries.listRuns(core.state, engine.tenantId, { since: Date.now() - 3_600_000, offset: 0, limit: 50 })
      Views.writeRunList(writer, { total: page.total, runs: page.rows }, 50, 0, true)
    })
    jsonWriter.giveBack()
  }
  /** The young generation's used bytes, in either form V8 reports its spaces. */
  const youngUsed = (
    spaces: ReadonlyArray<
      { readonly space_name?: string; readonly spaceName?: string; readonly space_used_size?: number; readonly spaceUsedSize?: number }
    >
  ) => {
    let used = 0
    for (const space of spaces) {
      const name = space.space_name ?? space.spaceName
      if (name === "new_space" || name === "new_large_object_space") used += space.space_used_size ?? space.spaceUsedSize ?? 0
    }
    return used
  }
  const snapshotAt = Number(process.env.BENCH_HEAP_SNAPSHOT ?? 0)
  let lists = 0
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  /** The GCs of the parent's REST calls, with the heap before and after each. */
  let probesGc: { readonly profiler: v8.GCProfiler; readonly young: number } | undefined
  // the timeline of the parent's REST calls: each request's arrival and answer, the GC pauses, the
  // stretches the event loop was blocked and whether runs were pruned or a heartbeat came meanwhile
  const gcTimeline = gcRecorder()
  const heartbeats = () => {
    let sum = 0
    for (const worker of core.state.workersById.values()) sum += worker.lastHeartbeatAt ?? 0
    return sum
  }
  const gapTimeline = gapRecorder(() => ({ held: core.state.runsById.size, heartbeats: heartbeats() }))
  // BENCH_RETENTION_PROBE=1: every 10 s, how long each retention sweep (or slice of one) held the loop
  if (retentionProbeOn) {
    const probe = watchRetention(core.state)
    setInterval(() => {
      const blocks = probe.take()
      if (blocks.count > 0) console.log(`retention: ${retentionLine(blocks)}`)
    }, 10_000).unref()
  }
  let requests: Array<Span> | undefined
  const emit = http.Server.prototype.emit
  http.Server.prototype.emit = function(this: http.Server, event: string, ...args: Array<unknown>) {
    if (event === "request" && requests !== undefined) {
      const into = requests
      const arrival = hrMs()
      // answered when the response is handed to the socket (its "finish" comes a tick later)
      const response = args[1] as http.ServerResponse
      const end = response.end
      response.end = function(this: http.ServerResponse, ...endArgs: Array<unknown>) {
        const result = (end as (this: http.ServerResponse, ...args: Array<unknown>) => http.ServerResponse).apply(this, endArgs)
        into.push({ start: arrival, end: hrMs() })
        return result
      } as typeof end
    }
    return (emit as (this: http.Server, event: string, ...args: Array<unknown>) => boolean).call(this, event, ...args)
  } as typeof emit
  process.on("message", (message) => {
    if (message === "probes-start") {
      if (process.env.BENCH_SOAK_ATTRIBUTE !== undefined && process.env.BENCH_SOAK_ATTRIBUTE !== "") {
        requests = []
        gcTimeline.start()
        gapTimeline.start()
      }
      loopDelay.reset()
      const profiler = new v8.GCProfiler()
      profiler.start()
      probesGc = { profiler, young: youngUsed(v8.getHeapSpaceStatistics()) }
      return
    }
    if (message === "probes-end" && probesGc !== undefined) {
      const end = youngUsed(v8.getHeapSpaceStatistics())
      const { statistics } = probesGc.profiler.stop()
      // what was allocated in the young generation: what it grew by, plus what each GC emptied of it
      let allocated = end - probesGc.young
      for (const gc of statistics) {
        allocated += youngUsed(gc.beforeGC.heapSpaceStatistics) - youngUsed(gc.afterGC.heapSpaceStatistics)
      }
      probesGc = undefined
      const timeline = { requests: requests ?? [], gcs: gcTimeline.take(), gaps: gapTimeline.take() }
      requests = undefined
      // the marking work the retained heap gives a full GC (CPU time is less sensitive to the load)
      const gc = (globalThis as { gc?: () => void }).gc!
      const cpuBefore = process.cpuUsage()
      const wallBefore = performance.now()
      gc()
      const fullGcMs = performance.now() - wallBefore
      const cpu = process.cpuUsage(cpuBefore)
      process.send?.({
        probes: {
          loopDelayMaxMs: loopDelay.max / 1e6,
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
          gcs: statistics.map((gc) => ({
            kind: gc.gcType,
            ms: Number((gc.cost / 1000).toFixed(1)),
            survivedKb: Math.round(youngUsed(gc.afterGC.heapSpaceStatistics) / 1024)
          })),
          allocatedKb: allocated / 1024,
          fullGc: { ms: fullGcMs, cpuMs: (cpu.user + cpu.system) / 1000 },
          timeline
        }
      })
      return
    }
    if (message !== "list") return
    lists += 1
    if (lists === snapshotAt) {
      const started = performance.now()
      const file = v8.writeHeapSnapshot()
      console.log(`heap snapshot ${file} (${core.state.runsById.size} runs held, ${(performance.now() - started).toFixed(0)} ms)`)
    }
    pauses.length = 0
    const calls: Array<{ readonly start: number; readonly end: number }> = []
    for (let i = 0; i < 200; i++) {
      const start = performance.now()
      listOnce()
      calls.push({ start, end: performance.now() })
    }
    // what one call allocates in V8's young generation, over calls that met no GC
    const allocated: Array<number> = []
    for (let i = 0; i < 20; i++) {
      const before = youngUsed(v8.getHeapSpaceStatistics())
      const gcs = pauses.length
      listOnce()
      const after = youngUsed(v8.getHeapSpaceStatistics())
      if (pauses.length === gcs && after >= before) allocated.push(after - before)
    }
    // the observer's entries arrive after the loop
    setTimeout(() => {
      const overlap = (call: { start: number; end: number }) =>
        pauses.reduce((sum, gc) => sum + Math.max(0, Math.min(call.end, gc.end) - Math.max(call.start, gc.start)), 0)
      const times = calls.map((call) => call.end - call.start).sort((a, b) => a - b)
      const withoutGc = calls.map((call) => call.end - call.start - overlap(call)).sort((a, b) => a - b)
      const inLoop = pauses.filter((gc) => gc.end > calls[0].start && gc.start < calls[calls.length - 1].end)
      process.send?.({
        list: {
          p50: times[100],
          p99: times[198],
          p99WithoutGc: withoutGc[198],
          gcPauses: inLoop.length,
          gcMaxMs: Math.max(0, ...inLoop.map((gc) => gc.end - gc.start)),
          held: core.state.runsById.size,
          allocatedKb: allocated.length === 0 ? Number.NaN : Math.min(...allocated) / 1024
        }
      })
    }, 50)
  })
  process.send?.({ ready: { env: engine.env, tenantId: engine.tenantId } })
  return yield* Effect.never
})

Effect.runFork(program.pipe(Effect.provide(InternalEngine.layer(options))))
