import { defineConfig, mergeConfig } from "vitest/config"
import { shared } from "./vitest.shared.js"

export default defineConfig({
  test: {
    projects: ["proto", "sdk", "engine", "testing"].map((name) =>
      mergeConfig(shared, { test: { name, include: [`packages/${name}/test/**/*.test.ts`] } })
    )
  }
})
