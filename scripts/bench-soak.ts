// `pnpm bench:soak`: the engine's memory and REST list latency under a long steady load. The
// benchmark lives with the test layers (packages/testing/bench/soak.ts), which depend on both the
// SDK and the engine. Flags: --runs N (default 200000), --rate N per second (default 1000),
// --engine-options JSON.
await import("../packages/testing/bench/soak.ts")
