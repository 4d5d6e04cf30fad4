import { defineConfig } from "vitest/config"
import { projects } from "./vitest.workspace.js"

// Two test files at a time: vitest's default (one fewer than the CPUs) runs one at a time on a
// two-CPU machine, where most tests wait on loopback I/O and timers rather than a CPU.
export default defineConfig({ test: { projects, maxWorkers: 2, minWorkers: 1 } })
