#!/usr/bin/env node
// `pnpm docgen`: API docs from the JSDoc with `@effect/docgen`, as the Effect repositories make
// theirs, for the public packages (each has a docgen.json). docgen fails on an export without
// `@since` and typechecks every `@example` against the package's source; the markdown goes to
// packages/<name>/docs/ (not committed, as in Effect's repositories).
//
// Examples are typechecked, not run: they define layers, workflows and tests, not programs (a
// `tsx` that does nothing is put first on docgen's PATH for its run step).
//
// A package whose sources (its own and those of the workspace packages it builds on), docgen.json
// and lockfile are unchanged since its last success is skipped (node_modules/.cache/docgen);
// `--force` runs them all.
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const force = process.argv.includes("--force")
// the documented packages, and the workspace packages whose sources their examples compile against
const sources = ["packages/proto/src", "packages/shared/src", "packages/sdk/src", "packages/engine/src", "packages/testing/src"]
const packages = ["packages/sdk", "packages/engine", "packages/testing"]

const cacheDir = path.join(root, "node_modules/.cache/docgen")
const shimDir = path.join(cacheDir, "bin")
fs.mkdirSync(shimDir, { recursive: true })
fs.writeFileSync(path.join(shimDir, "tsx"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })

const filesUnder = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()

const fingerprint = (pkg) => {
  const hash = createHash("sha256")
  const inputs = [
    ...sources.flatMap((dir) => filesUnder(path.join(root, dir))),
    path.join(root, pkg, "docgen.json"),
    path.join(root, pkg, "package.json"),
    path.join(root, "pnpm-lock.yaml")
  ]
  for (const file of inputs) hash.update(path.relative(root, file)).update("\0").update(fs.readFileSync(file)).update("\0")
  return hash.digest("hex")
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`

const run = (pkg) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, "node_modules/@effect/docgen/bin.cjs")], {
      cwd: path.join(root, pkg),
      env: {
        ...process.env,
        PATH: [shimDir, path.join(root, "node_modules/.bin"), process.env.PATH].join(path.delimiter),
        NO_COLOR: "1",
        FORCE_COLOR: "0"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("close", (code) => resolve({ code, output }))
  })

const started = Date.now()
let failed = 0
for (const pkg of packages) {
  const since = Date.now()
  const stamp = path.join(cacheDir, `${path.basename(pkg)}.ok`)
  const key = fingerprint(pkg)
  if (!force && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === key) {
    console.log(`docgen: ${pkg} unchanged, skipped`)
    continue
  }
  console.log(`docgen: ${pkg}...`)
  const { code, output } = await run(pkg)
  const examples = /(\d+) example\(s\) found/.exec(output)?.[1] ?? "0"
  const modules = /(\d+) module\(s\) found/.exec(output)?.[1] ?? "?"
  if (code === 0) {
    fs.writeFileSync(stamp, key)
    console.log(`docgen: ${pkg}: ${modules} modules, ${examples} examples typechecked in ${seconds(since)}`)
  } else {
    failed++
    fs.rmSync(stamp, { force: true })
    console.log(output.trimEnd())
    console.log(`docgen: ${pkg} failed in ${seconds(since)}`)
  }
}
console.log(`docgen: ${failed === 0 ? "done" : `${failed} package(s) failed`} in ${seconds(started)}`)
process.exit(failed === 0 ? 0 : 1)
