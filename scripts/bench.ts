// `pnpm bench`: our worker against the official SDK's on the local engine. The benchmark lives
// with the test layers (packages/testing/bench/compare.ts), which depend on both the SDK and the
// engine; the official SDK's worker is the engine benchmark's (packages/engine/bench/worker.ts).
await import("../packages/testing/bench/compare.ts")
