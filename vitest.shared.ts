import type { ViteUserConfig } from "vitest/config"

// Workspace packages resolve to their TypeScript sources through this export condition.
const conditions = ["@effect-hatchet/source", "module", "node", "development|production"]

/** Shared vitest settings for every package of the workspace. */
export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}
