import { defineConfig, mergeConfig } from "vitest/config"
import { shared } from "./vitest.shared.js"

export default defineConfig({
  test: {
    projects: [
      ...["proto", "sdk", "engine", "testing"].map((name) =>
        mergeConfig(shared, { test: { name, include: [`packages/${name}/test/**/*.test.ts`] } })
      ),
      // the README's test snippets, run as written
      mergeConfig(shared, { test: { name: "examples", include: ["examples/**/*.test.ts"] } })
    ]
  }
})
