/**
 * The engine of `pnpm bench:soak`, in its own process (run with `--expose-gc`, so that
 * ./report.ts can report its heap after a full GC): starts `Engine.layer` on free loopback ports
 * with the options in `BENCH_ENGINE_OPTIONS` (JSON, e.g. `{"retention":{"maxRuns":5000}}`) and
 * sends the parent `{ ready: { env, tenantId } }` over IPC. It runs until the parent kills it.
 */
import "./report.js"
import { Engine } from "@effect-hatchet/engine"
import { Effect } from "effect"

const options = JSON.parse(process.env.BENCH_ENGINE_OPTIONS ?? "{}") as Engine.EngineOptions

const program = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  process.send?.({ ready: { env: engine.env, tenantId: engine.tenantId } })
  return yield* Effect.never
})

Effect.runFork(program.pipe(Effect.provide(Engine.layer(options))))
