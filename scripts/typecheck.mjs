#!/usr/bin/env node
// Typechecks the workspace with `tsc -b` over the project references of tsconfig.json (each
// package's src once, its tests against the src's declarations; build info in each package's
// build/, so an unchanged project is skipped), printing one line per project as it goes.
import { spawn } from "node:child_process"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsc = spawn(process.execPath, [
  path.join(root, "node_modules/typescript/bin/tsc"),
  "-b",
  "--verbose",
  "--pretty",
  ...process.argv.slice(2),
  "tsconfig.json"
], {
  cwd: root,
  stdio: ["ignore", "pipe", "inherit"]
})
const started = Date.now()
let current
let currentSince = started
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`
const finish = () => {
  if (current !== undefined) console.log(`typecheck: ${current} checked in ${seconds(currentSince)}`)
  current = undefined
}
let buffer = ""
tsc.stdout.setEncoding("utf8")
tsc.stdout.on("data", (chunk) => {
  buffer += chunk
  const lines = buffer.split("\n")
  buffer = lines.pop()
  for (const line of lines) {
    // strip tsc's timestamp and colours
    // eslint-disable-next-line no-control-regex
    const text = line.replace(/\x1b\[[0-9;]*m/g, "").replace(/^\[?\d{1,2}:\d{2}:\d{2}( [AP]M)?\]?( -)? /, "")
    const building = /^Building project '(.+)'\.\.\.$/.exec(text)
    const upToDate = /^Project '(.+)' is up to date/.exec(text)
    if (building) {
      finish()
      current = path.relative(root, building[1])
      currentSince = Date.now()
      console.log(`typecheck: ${current}...`)
    } else if (upToDate) {
      finish()
      console.log(`typecheck: ${upToDate[1]} up to date`)
    } else if (/^Projects in this build|^ {4}\* |^Project '.+' is out of date|^$/.test(text)) {
      continue
    } else {
      // a diagnostic
      console.log(line)
    }
  }
})
tsc.on("close", (code) => {
  if (buffer !== "") console.log(buffer)
  finish()
  console.log(`typecheck: ${code === 0 ? "done" : "failed"} in ${seconds(started)}`)
  process.exit(code ?? 1)
})
