#!/usr/bin/env node
// `pnpm docgen`: API docs from the JSDoc with `@effect/docgen`, as the Effect repositories make
// theirs, for the public packages (each has a docgen.json). docgen fails on an export without
// `@since`; the markdown goes to packages/<name>/docs/ (not committed, as in Effect's repositories).
//
// Every `@example` is typechecked, not run (they define layers, workflows and tests, not
// programs). docgen's own check compiles each package's whole source again for its examples; here
// the `tsc` and `tsx` docgen calls are stand-ins (first on its PATH): `tsc` keeps the examples in
// packages/<name>/build/examples/, importing the package by name, and that folder is then checked
// with `tsc -b` as a project like the package's tests (strict, against the declarations
// `pnpm typecheck` builds, incrementally).
//
// A package whose sources (its own and those of the workspace packages it builds on), docgen.json
// and lockfile are unchanged since its last success is skipped (node_modules/.cache/docgen);
// `--force` runs them all; `--jobs=N` runs N packages at a time (2).
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const force = process.argv.includes("--force")
const jobs = Number(process.argv.find((arg) => arg.startsWith("--jobs="))?.slice("--jobs=".length) ?? 2)
const packages = ["packages/sdk", "packages/engine", "packages/testing"]
// what the examples of any of them compile against
const sources = ["packages/proto/src", "packages/shared/src", "packages/sdk/src", "packages/engine/src", "packages/testing/src"]

const cacheDir = path.join(root, "node_modules/.cache/docgen")
const shimDir = path.join(cacheDir, "bin")
fs.mkdirSync(shimDir, { recursive: true })
fs.writeFileSync(path.join(shimDir, "tsx"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })
// docgen runs `tsc --noEmit --project <pkg>/docs/examples/tsconfig.json` in the package's folder
fs.writeFileSync(
  path.join(shimDir, "tsc"),
  `#!/usr/bin/env node
const fs = require("node:fs")
const path = require("node:path")
const project = process.argv[process.argv.indexOf("--project") + 1]
const from = path.dirname(project)
const to = path.join(process.cwd(), "build", "examples")
const name = JSON.parse(fs.readFileSync("package.json", "utf8")).name
for (const file of fs.readdirSync(from)) {
  if (!file.endsWith(".ts") || file === "index.ts") continue
  const text = fs.readFileSync(path.join(from, file), "utf8")
    .replace(/from '\\.\\.\\/\\.\\.\\/src(?:\\/([^']*))?'/g, (_, sub) => \`from "\${name}\${sub ? "/" + sub : ""}"\`)
  fs.writeFileSync(path.join(to, file), text)
}
`,
  { mode: 0o755 }
)

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
    path.join(root, pkg, "tsconfig.test.json"),
    path.join(root, "tsconfig.base.json"),
    path.join(root, "pnpm-lock.yaml")
  ]
  for (const file of inputs) hash.update(path.relative(root, file)).update("\0").update(fs.readFileSync(file)).update("\0")
  return hash.digest("hex")
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`

const exec = (args, cwd, env = process.env) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("close", (code) => resolve({ code, output }))
  })

// the examples as a project of the package, like its tests (tsconfig.test.json)
const examplesProject = (pkg) => {
  const dir = path.join(root, pkg, "build/examples")
  const tests = JSON.parse(fs.readFileSync(path.join(root, pkg, "tsconfig.test.json"), "utf8"))
  const config = {
    extends: "../../../../tsconfig.base.json",
    compilerOptions: { noEmit: true, noUnusedLocals: false, incremental: true, tsBuildInfoFile: "../examples.tsbuildinfo" },
    include: ["*.ts"],
    references: tests.references.map((ref) => ({ path: path.join("../..", ref.path) }))
  }
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config, null, 2) + "\n")
  return path.join(dir, "tsconfig.json")
}

const docgen = async (pkg) => {
  const examples = path.join(root, pkg, "build/examples")
  fs.rmSync(examples, { recursive: true, force: true })
  fs.mkdirSync(examples, { recursive: true })
  const env = { ...process.env, PATH: [shimDir, process.env.PATH].join(path.delimiter), NO_COLOR: "1", FORCE_COLOR: "0" }
  const generated = await exec([path.join(root, "node_modules/@effect/docgen/bin.cjs")], path.join(root, pkg), env)
  if (generated.code !== 0) return generated
  const checked = await exec([tsc, "-b", "--pretty", "false", examplesProject(pkg)], root)
  const count = fs.readdirSync(examples).filter((file) => file.endsWith(".ts")).length
  const modules = /(\d+) module\(s\) found/.exec(generated.output)?.[1] ?? "?"
  return { code: checked.code, output: checked.output, summary: `${modules} modules, ${count} examples typechecked` }
}

const started = Date.now()
let failed = 0
const one = async (pkg) => {
  const since = Date.now()
  const stamp = path.join(cacheDir, `${path.basename(pkg)}.ok`)
  const key = fingerprint(pkg)
  if (!force && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === key) {
    console.log(`docgen: ${pkg} unchanged, skipped`)
    return
  }
  console.log(`docgen: ${pkg}...`)
  const { code, output, summary } = await docgen(pkg)
  if (code === 0) {
    fs.writeFileSync(stamp, key)
    console.log(`docgen: ${pkg}: ${summary} in ${seconds(since)}`)
  } else {
    failed++
    fs.rmSync(stamp, { force: true })
    console.log(output.trimEnd())
    console.log(`docgen: ${pkg} failed in ${seconds(since)}`)
  }
}
// the declarations the examples compile against, once (a no-op after \`pnpm typecheck\`)
const tsc = path.join(root, "node_modules/typescript/bin/tsc")
const built = await exec([tsc, "-b", "--pretty", "false", ...packages.map((pkg) => path.join(pkg, "tsconfig.src.json"))], root)
if (built.code !== 0) {
  console.log(built.output.trimEnd())
  console.log("docgen: the packages' sources do not typecheck (see `pnpm typecheck`)")
  process.exit(1)
}
// two at a time unless told (docgen is one process on one CPU)
const queue = [...packages]
await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
  while (queue.length > 0) await one(queue.shift())
}))
console.log(`docgen: ${failed === 0 ? "done" : `${failed} package(s) failed`} in ${seconds(started)}`)
process.exit(failed === 0 ? 0 : 1)
