#!/usr/bin/env node
// `pnpm test`: the whole suite, in two lanes so that both CPUs of a small machine work.
//
// 1. first, the quick checks, one after the other: the generated protos are current
//    (`check:proto`) and there is no runtime import cycle (`circular`);
// 2. then, side by side:
//    - the tests (`vitest run`), whose output goes straight to the terminal: first the files that may
//      share a worker's modules (project `shared-modules`, with `--no-isolate`: Effect, the SDK and
//      the engine loaded once per worker instead of once per file), then those that need a process
//      each (project `own-process`; see vitest.workspace.ts);
//    - the static checks, one after the other (`lint`, `typecheck`, `docgen`, then `check:pack`), each
//      printing one line when it ends and its whole output only if it failed (so that it does not
//      interleave with the tests' output).
//
// Exits 1 if any step failed, after both lanes have ended, with a summary of each step's time, after
// which a failed vitest step's failure report is printed again (a CI log may keep only its tail).
import { spawn } from "node:child_process"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`
const bin = (pkg, file) => path.join(root, "node_modules", pkg, file)

const vitest = bin("vitest", "vitest.mjs")
// `pnpm test <filters>`: given to both vitest runs (the one with no file left passes)
const args = process.argv.slice(2)

/** The steps: a name and the node arguments that run it. */
const steps = {
  "check:proto": ["scripts/gen-proto.mjs", "--check"],
  circular: ["scripts/circular.mjs"],
  typecheck: ["scripts/typecheck.mjs"],
  lint: ["scripts/lint.mjs"],
  // one package at a time: the tests use the other CPU
  docgen: ["scripts/docgen.mjs", "--jobs=1"],
  // typecheck has run before it in the same lane
  "check:pack": ["scripts/pack-check.mjs", "--sources-typechecked"],
  "vitest shared-modules": [vitest, "run", "--project", "shared-modules", "--no-isolate", "--passWithNoTests", ...args],
  "vitest own-process": [vitest, "run", "--project", "own-process", "--passWithNoTests", ...args]
}

const summary = []
/** The failed test steps' own failure reports, printed again at the very end (a CI log may show only its tail). */
const failures = []

/** What vitest printed about its failures: from its "Failed Tests" (or "Unhandled Errors") banner on, at most 20,000 characters. */
const failureReport = (output) => {
  const plain = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
  const at = plain.search(/⎯+ (Failed Tests|Unhandled Errors?|Failed Suites)/)
  const report = at < 0 ? plain.slice(-5_000) : plain.slice(at)
  return report.length > 20_000 ? `${report.slice(0, 20_000)}\n[… cut]` : report
}

/** Runs one step; `quiet` buffers its output and prints it only if it fails. */
const run = (name, { quiet }) =>
  new Promise((resolve) => {
    const since = Date.now()
    if (quiet) console.log(`[${name}] started`)
    const child = spawn(process.execPath, steps[name], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        FORCE_COLOR: quiet ? "0" : process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : undefined)
      }
    })
    let output = ""
    const keep = (forward) => (chunk) => {
      output += chunk
      if (!quiet) forward.write(chunk)
    }
    child.stdout.on("data", keep(process.stdout))
    child.stderr.on("data", keep(process.stderr))
    child.on("close", (code) => {
      const ok = code === 0
      summary.push(`${ok ? "ok    " : "FAILED"} ${name} (${seconds(since)})`)
      if (quiet) {
        console.log(`[${name}] ${ok ? "ok" : "FAILED"} in ${seconds(since)}`)
        if (!ok) console.log(output.replace(/^/gm, `[${name}] `))
      } else if (!ok) failures.push([name, failureReport(output)])
      resolve(ok)
    })
  })

const sequence = async (names, options) => {
  let ok = true
  for (const name of names) ok = (await run(name, options)) && ok
  return ok
}

const quick = await sequence(["check:proto", "circular"], { quiet: false })
const [tests, checks] = await Promise.all([
  sequence(["vitest shared-modules", "vitest own-process"], { quiet: false }),
  sequence(["lint", "typecheck", "docgen", "check:pack"], { quiet: true })
])
for (const [name, report] of failures) console.log(`\n==== ${name}: what failed ====\n${report}`)
console.log(`\n${summary.join("\n")}\ntotal ${seconds(started)}`)
// last, one line per failed test and its error's first line: what a log's tail should show
for (const [name, report] of failures) {
  const lines = report.split("\n")
  const failed = lines.flatMap((line, i) =>
    line.trimStart().startsWith("FAIL ")
      ? [`  ${line.trim()}\n      ${lines.slice(i + 1).find((next) => next.trim() !== "")?.trim() ?? ""}`]
      : []
  )
  if (failed.length > 0) console.log(`${name} failed:\n${failed.slice(0, 20).join("\n")}`)
}
process.exit(quick && tests && checks ? 0 : 1)
