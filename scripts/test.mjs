#!/usr/bin/env node
// `pnpm test`: the whole suite, in two lanes so that both CPUs of a small machine work.
//
// 1. first, the quick checks, one after the other: the generated protos are current
//    (`check:proto`) and there is no runtime import cycle (`circular`);
// 2. then, side by side:
//    - the tests (`vitest run`), whose output goes straight to the terminal;
//    - the static checks, one after the other (`lint`, `typecheck`, `docgen`, then `check:pack`), each
//      printing one line when it ends and its whole output only if it failed (so that it does not
//      interleave with the tests' output). They run at a lower priority (nice 10): the tests wait
//      on real-time timers and loopback I/O, so they get a CPU when they need one and the checks
//      take what is left; the checks have no timing of their own to keep.
//
// Exits 1 if any step failed, after both lanes have ended, with a summary of each step's time.
import { spawn } from "node:child_process"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`
const bin = (pkg, file) => path.join(root, "node_modules", pkg, file)

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
  vitest: [bin("vitest", "vitest.mjs"), "run", ...process.argv.slice(2)]
}

const summary = []

/**
 * Runs one step; `quiet` buffers its output and prints it only if it fails; `priority` is its
 * niceness (its own child processes inherit it).
 */
const run = (name, { priority = 0, quiet }) =>
  new Promise((resolve) => {
    const since = Date.now()
    if (quiet) console.log(`[${name}] started`)
    const child = spawn(process.execPath, steps[name], {
      cwd: root,
      stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
      env: { ...process.env, FORCE_COLOR: quiet ? "0" : process.env.FORCE_COLOR }
    })
    if (priority !== 0) {
      try {
        os.setPriority(child.pid, priority)
      } catch {
        // not permitted here: the step runs at the normal priority
      }
    }
    let output = ""
    child.stdout?.on("data", (chunk) => (output += chunk))
    child.stderr?.on("data", (chunk) => (output += chunk))
    child.on("close", (code) => {
      const ok = code === 0
      summary.push(`${ok ? "ok    " : "FAILED"} ${name} (${seconds(since)})`)
      if (quiet) {
        console.log(`[${name}] ${ok ? "ok" : "FAILED"} in ${seconds(since)}`)
        if (!ok) console.log(output.replace(/^/gm, `[${name}] `))
      }
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
  run("vitest", { quiet: false }),
  sequence(["lint", "typecheck", "docgen", "check:pack"], { quiet: true, priority: 10 })
])
console.log(`\n${summary.join("\n")}\ntotal ${seconds(started)}`)
process.exit(quick && tests && checks ? 0 : 1)
