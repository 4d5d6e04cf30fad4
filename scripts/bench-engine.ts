// `pnpm bench:engine`: the engine benchmark lives with the engine (packages/engine/bench).
// BENCH_MODE=core measures the engine core alone, without gRPC and the SDK.
if (process.env.BENCH_MODE === "core") await import("../packages/engine/bench/core.ts")
else await import("../packages/engine/bench/engine.ts")
