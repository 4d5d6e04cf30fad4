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
 * records its GC pauses and event loop delay, and answers `{ probes: { loopDelayMaxMs,
 * loopDelayP99Ms, gcs } }`. It runs until the parent kills it.
 */
import "./report.js"
import { Engine } from "@effect-hatchet/engine"
import { Effect } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as v8 from "node:v8"
import { EngineCore } from "../../engine/src/internal/core.js"
import * as Queries from "../../engine/src/internal/domain/queries.js"
import * as InternalEngine from "../../engine/src/internal/engine.js"
import { jsonWriter } from "../../engine/src/internal/http/jsonBytes.js"
import * as Views from "../../engine/src/internal/http/views.js"

const options = JSON.parse(process.env.BENCH_ENGINE_OPTIONS ?? "{}") as Engine.EngineOptions

const program = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const core = yield* EngineCore
  // the GC pauses V8 reports, so that a slow call can be told from one that waited on the GC
  const pauses: Array<{ readonly start: number; readonly end: number }> = []
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration })
  }).observe({ entryTypes: ["gc"] })
  // the route's own work: the query and the response's bytes (the REST server adds only HTTP)
  const listOnce = () =>
    jsonWriter.encode((writer) => {
      const page = Queries.listRuns(core.state, engine.tenantId, { since: Date.now() - 3_600_000, offset: 0, limit: 50 })
      Views.writeRunList(writer, { total: page.total, runs: page.rows }, 50, 0, true)
    })
  const heapAllocated = () => {
    let used = 0
    for (const space of v8.getHeapSpaceStatistics()) {
      if (space.space_name === "new_space" || space.space_name.includes("large_object")) used += space.space_used_size
    }
    return used
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  /** Where the parent's REST calls began in `pauses` (the list loop's pauses come before). */
  let probesFrom = 0
  process.on("message", (message) => {
    if (message === "probes-start") {
      loopDelay.reset()
      probesFrom = pauses.length
      return
    }
    if (message === "probes-end") {
      process.send?.({
        probes: {
          loopDelayMaxMs: loopDelay.max / 1e6,
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
          gcs: pauses.slice(probesFrom).map((gc) => Number((gc.end - gc.start).toFixed(1)))
        }
      })
      return
    }
    if (message !== "list") return
    pauses.length = 0
    const calls: Array<{ readonly start: number; readonly end: number }> = []
    for (let i = 0; i < 200; i++) {
      const start = performance.now()
      listOnce()
      calls.push({ start, end: performance.now() })
    }
    // what one call allocates on V8's heap (new and large-object spaces), over calls that met no GC
    const allocated: Array<number> = []
    for (let i = 0; i < 20; i++) {
      const before = heapAllocated()
      const gcs = pauses.length
      listOnce()
      const after = heapAllocated()
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
