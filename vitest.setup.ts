import { addEqualityTesters, effect, flakyTest, it, layer, live, prop, scoped, scopedLive } from "@effect/vitest"

// Runs before every test file. Files that share a worker's module graph (the projects with
// `isolate: false`, see vitest.workspace.ts) must each start from the same `it`: `@effect/vitest`'s
// `layer(...)` installs its testers on the `it` every file imports (vitest's own), and a later
// file's top-level `it.effect` would otherwise run in that layer, on its TestClock.
Object.assign(it, { effect, flakyTest, layer, live, prop, scoped, scopedLive })

// (added again per file when files share a process: the same tester, which skips its copies)
addEqualityTesters()
