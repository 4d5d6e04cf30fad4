import type { TestProjectInlineConfiguration, ViteUserConfig } from "vitest/config"
import { mergeConfig } from "vitest/config"

// The one list of the workspace's test projects. `vitest.config.ts` hands it to `test.projects`
// (vitest 3.2's way; a workspace file read as such is deprecated and ignored once `projects` is
// set), so `vitest run` and `vitest run --project sdk` see exactly these.

// Workspace packages resolve to their TypeScript sources through this export condition.
const conditions = ["@effect-hatchet/source", "module", "node", "development|production"]

/** Settings shared by every test project of the workspace. */
export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}

const project = (name: string, include: ReadonlyArray<string>): TestProjectInlineConfiguration =>
  mergeConfig(shared, { test: { name, include } }) as TestProjectInlineConfiguration

/** The test projects: one per package, and the README's snippets in `examples/`, run as written. */
export const projects: Array<TestProjectInlineConfiguration> = [
  ...["proto", "shared", "sdk", "engine", "testing"].map((name) => project(name, [`packages/${name}/test/**/*.test.ts`])),
  project("examples", ["examples/**/*.test.ts"])
]

export default projects
