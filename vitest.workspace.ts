import { readdirSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProjectInlineConfiguration, ViteUserConfig } from "vitest/config"
import { mergeConfig } from "vitest/config"

// The one list of the workspace's test projects. `vitest.config.ts` hands it to `test.projects`
// (vitest 3.2's way; a workspace file read as such is deprecated and ignored once `projects` is
// set), so `vitest run` and `vitest run --project sdk` see exactly these.

const root = path.dirname(fileURLToPath(import.meta.url))

// Workspace packages resolve to their TypeScript sources through this export condition.
const conditions = ["@effect-hatchet/source", "module", "node", "development|production"]

/** Settings shared by every test project of the workspace. */
export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    setupFiles: [path.join(root, "vitest.setup.ts")],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}

/**
 * Whether a test file needs a process of its own: it drives the official SDK, which keeps state
 * for the life of the process (its shipped examples build their client from the environment when
 * first imported, its workers add process signal handlers) and is loaded by Node itself, outside
 * the module graph vitest can reset between files.
 */
const needsOwnProcess = (file: string) => /@hatchet-dev\/typescript-sdk|support\/(official|examples)\.js/.test(readFileSync(file, "utf8"))

/**
 * The `.test.ts` files under `dir` (a path from the root, `/`-separated), sorted. It never enters a
 * `node_modules`: `examples/node_modules` links the workspace packages, whose `dist` folders
 * `check:pack` rebuilds while the tests run (a recursive `readdirSync` walked into them and failed
 * when a folder went away under it).
 */
const testFiles = (dir: string): Array<string> =>
  readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const file = path.posix.join(dir, entry.name)
      if (entry.isDirectory()) return entry.name === "node_modules" ? [] : testFiles(file)
      return entry.isFile() && entry.name.endsWith(".test.ts") ? [file] : []
    })
    .sort()

const files = [
  ...["proto", "shared", "sdk", "engine", "testing"].flatMap((name) => testFiles(`packages/${name}/test`)),
  ...testFiles("examples")
]
const ownProcess = files.filter((file) => needsOwnProcess(path.join(root, file)))

/**
 * The test projects: every package's tests and the README's snippets in `examples/` (run as
 * written), in two projects by how a file may run:
 * - `shared-modules`: files that may share a worker's module graph with the files before them;
 *   `pnpm test` runs them with `--no-isolate` (two workers, each loading Effect, the SDK and the
 *   engine once, not once per file; see vitest.setup.ts for what is put back between files);
 * - `own-process`: the files that need a process of their own (vitest's default isolation).
 * A plain `vitest run` isolates every file of both.
 */
export const projects: Array<TestProjectInlineConfiguration> = [
  { name: "shared-modules", include: files.filter((file) => !ownProcess.includes(file)) },
  { name: "own-process", include: ownProcess }
].map((test) => mergeConfig(shared, { test }) as TestProjectInlineConfiguration)

export default projects
