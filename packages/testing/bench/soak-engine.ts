/**
 * The engine of `pnpm bench:soak`, in its own process (run with `--expose-gc`, so that
 * ./report.ts can report its heap after a full GC): starts the engine on free loopback ports
 * with the options in `BENCH_ENGINE_OPTIONS` (JSON, e.g. `{"retention":{"maxRuns":5000}}`) and
 * sends the parent `{ ready: { env, tenantId } }` over IPC. On a `"list"` message it times what
 * the REST run list does inside the engine (the query, the rows, the JSON) for the SDKs' default
 * list, 200 times, and answers `{ list: { p50, p99, held } }` (ms, and the runs it holds). It
 * runs until the parent kills it.
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
  process.on("message", (message) => {
    if (message !== "list") return
    const times: Array<number> = []
    for (let i = 0; i < 200; i++) {
      const started = performance.now()
      const page = Queries.listRuns(core.state, engine.tenantId, { since: Date.now() - 3_600_000, offset: 0, limit: 50 })
      JSON.stringify({ rows: page.rows.map((run) => Views.runListRow(run, true)), pagination: Views.pagination(page.total, 50, 0) })
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    process.send?.({ list: { p50: times[100], p99: times[198], held: core.state.runsById.size } })
  })
  process.send?.({ ready: { env: engine.env, tenantId: engine.tenantId } })
  return yield* Effect.never
})

Effect.runFork(program.pipe(Effect.provide(InternalEngine.layer(options))))
