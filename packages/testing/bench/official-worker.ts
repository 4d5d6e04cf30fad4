/**
 * The official SDK's worker for `pnpm bench`: the engine benchmark's worker
 * (packages/engine/bench/worker.ts: no-op task `bench-noop`, `BENCH_SLOTS` slots), plus the memory
 * and metrics reporter that our worker also loads.
 */
import "./report.js"

await import("../../engine/bench/worker.js")
