/**
 * The engine of `pnpm bench:soak`, in its own process (run with `--expose-gc`, so that
 * ./report.ts can report its heap after a full GC): starts the engine on free loopback ports
 * with the options in `BENCH_ENGINE_OPTIONS` (JSON, e.g. `{"retention":{"maxRuns":5000}}`) and
 * sends the parent `{ ready: { env, tenantId } }` over IPC. On a `"list"` message it times what
 * the REST run list does inside the engine (the query, the rows, the JSON) for the SDKs' default
 * list, 200 times, and answers `{ list: { p50, p99, p99WithoutGc, gcPauses, gcMaxMs, held } }` (ms,
 * the same p99 less the time V8's GC pauses overlapped each call, the pauses during the loop and
 * the longest, and the runs it holds). It runs until the parent kills it.
 */
import "./report.js"
import { Engine } from "@effect-hatchet/engine"
import { Effect } from "effect"
import { EngineCore } from "../../engine/src/internal/core.js"
import * as Queries from "../../engine/src/internal/domain/queries.js"
import * as InternalEngine from "../../engine/src/internal/engine.js"
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
  process.on("message", (message) => {
    if (message !== "list") return
    pauses.length = 0
    const calls: Array<{ readonly start: number; readonly end: number }> = []
    for (let i = 0; i < 200; i++) {
      const start = performance.now()
      const page = Queries.listRuns(core.state, engine.tenantId, { since: Date.now() - 3_600_000, offset: 0, limit: 50 })
      JSON.stringify({ rows: page.rows.map((run) => Views.runListRow(run, true)), pagination: Views.pagination(page.total, 50, 0) })
      calls.push({ start, end: performance.now() })
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
          held: core.state.runsById.size
        }
      })
    }, 50)
  })
  process.send?.({ ready: { env: engine.env, tenantId: engine.tenantId } })
  return yield* Effect.never
})

Effect.runFork(program.pipe(Effect.provide(InternalEngine.layer(options))))
