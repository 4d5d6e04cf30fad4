import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"
import { projects } from "./vitest.workspace.js"

/**
 * The files that take longest (tens of seconds of real time each), started first when vitest has
 * no timings of its own yet (a clean clone), so that none of them is the last one running. With
 * timings (node_modules/.vite/vitest), vitest's own order: failed first, then longest first.
 */
const slowest = [
  "packages/testing/test/Resilience.e2e.test.ts",
  "packages/testing/test/Demo.test.ts",
  "packages/sdk/test/GrpcTransport.test.ts",
  "packages/sdk/test/Hatchet.e2e.test.ts",
  "packages/testing/test/Drain.e2e.test.ts",
  "packages/testing/test/Schedules.e2e.test.ts",
  "packages/testing/test/EngineRestart.e2e.test.ts",
  "packages/testing/test/Worker.test.ts",
  "packages/engine/test/durable-examples-official.test.ts",
  "packages/engine/test/examples-timeouts-official.test.ts",
  "packages/engine/test/examples-run-details-official.test.ts",
  "packages/engine/test/examples-cancellations-official.test.ts",
  "packages/engine/test/unsupported-official.test.ts",
  "packages/engine/test/concurrency-examples-official.test.ts",
  "packages/engine/test/examples-concurrency-cancel-official.test.ts",
  "packages/engine/test/examples-concurrency-keys-official.test.ts",
  "packages/engine/test/examples-failures-official.test.ts",
  "packages/engine/test/examples-children-official.test.ts",
  "packages/engine/test/conformance.test.ts",
  "packages/engine/test/concurrency-official.test.ts",
  "packages/engine/test/rate-limits-official.test.ts",
  "packages/engine/test/examples-official.test.ts",
  "packages/engine/test/durable-worker-death-official.test.ts",
  "packages/sdk/test/Interop.e2e.test.ts"
]

class SlowestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>) {
    const sorted = await super.sort(files)
    const known = (file: TestSpecification) =>
      this.ctx.cache.getFileTestResults(`${file.project.name}:${file.moduleId.slice(this.ctx.config.root.length + 1)}`)
    if (sorted.every(known)) return sorted
    const rank = (file: TestSpecification) => {
      const index = slowest.findIndex((slow) => file.moduleId.endsWith(`/${slow}`))
      return index === -1 ? slowest.length : index
    }
    return sorted.map((file, index) => ({ file, index })).sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index).map(({ file }) =>
      file
    )
  }
}

// Two test files at a time: vitest's default (one fewer than the CPUs) runs one at a time on a
// two-CPU machine, where most tests wait on loopback I/O and timers rather than a CPU.
export default defineConfig({ test: { projects, maxWorkers: 2, minWorkers: 1, sequence: { sequencer: SlowestFirst } } })
