#!/usr/bin/env node
// `pnpm hatchet-local` in this repository runs this file: the root package links it as a
// dependency, so pnpm finds the `hatchet-local` bin and runs it with no banner on stdout (a
// package.json script would print `> effect-hatchet@ hatchet-local ...` first, and
// `export $(pnpm hatchet-local --print-env)` would break). It runs the CLI from the TypeScript
// source, with the exports condition that resolves the workspace packages to their sources.
import { spawn } from "node:child_process"
import { constants } from "node:os"
import { fileURLToPath } from "node:url"

const cli = fileURLToPath(new URL("../../packages/engine/src/bin/hatchet-local.ts", import.meta.url))
const child = spawn(
  process.execPath,
  ["--conditions=@effect-hatchet/source", "--import", import.meta.resolve("tsx"), cli, ...process.argv.slice(2)],
  { stdio: "inherit" }
)
// a terminal's Ctrl-C reaches both processes; a signal sent to this one alone is passed on
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal))
}
child.on("exit", (code, signal) => {
  process.exit(signal !== null ? 128 + constants.signals[signal] : code ?? 1)
})
