#!/usr/bin/env node
// Installs the packages as a user would, outside the workspace, and runs them end to end:
//
// 1. builds every package (`tsc -p tsconfig.build.json`: dist/esm and dist/dts) and packs it with
//    pnpm (which writes `workspace:^` dependencies as versions);
// 2. makes a scratch npm project in a temp dir and installs the tarballs of the SDK and the engine
//    (with proto and shared, their dependencies) and, from the registry, only their peer
//    dependencies (effect, @effect/platform, @effect/platform-node, at the workspace's versions)
//    and @types/node;
// 3. typechecks a small program against the installed declarations with strict settings (the
//    workspace's TypeScript, `skipLibCheck: false`), including `@ts-expect-error` lines that fail if
//    the types decay to `any`;
// 4. starts the packed engine's `hatchet-local` bin (free ports, a state dir in the temp dir),
//    reads the four variables from its first lines, runs the compiled program with them (a worker
//    and a client: a two-task workflow, its typed result printed) and checks the result; then
//    `require()`s the SDK from a CommonJS file (Node's require of ES modules).
//
// `--keep` leaves the temp dir for inspection; `--sources-typechecked` (given by `pnpm test`, which
// runs `pnpm typecheck` first) builds without checking the sources' types again (`tsc --noCheck`:
// the same JavaScript and declarations, at most with union members in another order). Prints each
// step with its time.
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const sourcesTypechecked = process.argv.includes("--sources-typechecked")
const started = Date.now()
let stepStarted = started
const step = (what) => {
  const now = Date.now()
  console.log(`pack-check: ${what} (${((now - stepStarted) / 1000).toFixed(1)}s)`)
  stepStarted = now
}
const fail = (message) => {
  console.error(`pack-check: FAILED: ${message}`)
  process.exit(1)
}
const run = (command, args, options = {}) => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options })
  } catch (error) {
    fail(`${command} ${args.join(" ")} exited with ${error.status}\n${error.stdout ?? ""}${error.stderr ?? ""}`)
  }
}
const versionOf = (name) => JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version

// the packages in dependency order; `testing` is left out of the install (its peer @effect/vitest
// brings vitest), and is checked by the workspace's own typecheck of its declarations
const packages = ["proto", "shared", "sdk", "engine"]
const tsc = path.join(root, "node_modules/typescript/bin/tsc")
const pnpm = process.env.npm_execpath?.includes("pnpm")
  ? [process.execPath, [process.env.npm_execpath]]
  : ["npx", ["-y", "pnpm@10.34.9"]]

const dir = mkdtempSync(path.join(os.tmpdir(), "effect-hatchet-pack-"))
const tarballs = path.join(dir, "tarballs")
const project = path.join(dir, "project")
mkdirSync(tarballs)
mkdirSync(path.join(project, "src"), { recursive: true })
let engine
const cleanup = () => {
  engine?.kill("SIGTERM")
  if (!keep) rmSync(dir, { recursive: true, force: true })
}
process.on("exit", cleanup)

// 1. build and pack
for (const name of packages) {
  const cwd = path.join(root, "packages", name)
  rmSync(path.join(cwd, "dist"), { recursive: true, force: true })
  run(process.execPath, [tsc, "-p", "tsconfig.build.json", ...(sourcesTypechecked ? ["--noCheck"] : [])], { cwd })
}
step(`built ${packages.join(", ")}${sourcesTypechecked ? " (their types checked by `pnpm typecheck`)" : ""}`)
for (const name of packages) {
  run(pnpm[0], [...pnpm[1], "pack", "--pack-destination", tarballs], { cwd: path.join(root, "packages", name) })
}
const packed = readdirSync(tarballs).map((file) => path.join(tarballs, file))
step(`packed ${packed.map((file) => path.basename(file)).join(", ")}`)

// 2. a scratch project: the tarballs and the peer dependencies only
writeFileSync(
  path.join(project, "package.json"),
  JSON.stringify({ name: "pack-check", private: true, type: "module" }, null, 2)
)
run("npm", [
  "install",
  "--no-audit",
  "--no-fund",
  "--prefer-offline",
  "--loglevel=error",
  ...packed,
  `effect@${versionOf("effect")}`,
  `@effect/platform@${versionOf("@effect/platform")}`,
  `@effect/platform-node@${versionOf("@effect/platform-node")}`,
  `@types/node@${versionOf("@types/node")}`
], { cwd: project })
step("installed the tarballs and the peer dependencies with npm")

// 3. a small program, typechecked with strict settings and compiled
writeFileSync(
  path.join(project, "tsconfig.json"),
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        noImplicitOverride: true,
        noUnusedLocals: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        lib: ["ES2022"],
        types: ["node"],
        skipLibCheck: false,
        outDir: "dist",
        rootDir: "src"
      },
      include: ["src"]
    },
    null,
    2
  )
)
writeFileSync(
  path.join(project, "src", "main.ts"),
  `import { Hatchet, Worker, Workflow } from "@effect-hatchet/sdk"
import { Engine } from "@effect-hatchet/engine"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"

const Greet = Workflow.make("pack-check-greet", { input: Schema.Struct({ name: Schema.String }) }).pipe(
  Workflow.task("hello", { output: Schema.Struct({ greeting: Schema.String }) }),
  Workflow.task("shout", { parents: ["hello"], output: Schema.Struct({ loud: Schema.String }) })
)

const GreetLive = Greet.toLayer({
  hello: (input) => Effect.succeed({ greeting: \`hello \${input.name}\` }),
  shout: (_, parents) => Effect.succeed({ loud: parents.hello.greeting.toUpperCase() })
})

// configured by HATCHET_CLIENT_* (hatchet-local prints them)
const HatchetLive = Hatchet.layer()
const WorkerLive = Worker.layer({ name: "pack-check", workflows: [GreetLive] }).pipe(Layer.provide(HatchetLive))

const program = Effect.gen(function*() {
  const result = yield* Hatchet.run(Greet, { name: "packed" })
  const loud: string = result.shout.loud
  // the types are the definition's, not any
  // @ts-expect-error: the input is checked
  void Hatchet.run(Greet, { name: 1 })
  // @ts-expect-error: the result is typed
  void result.shout.quiet
  // @ts-expect-error: a definition is not an implementation
  void Worker.layer({ name: "wrong", workflows: [Greet] })
  console.log(JSON.stringify({ loud, hello: result.hello.greeting }))
})

// the engine's public API is typed too
export const EngineLive: Layer.Layer<Engine.Engine, Engine.EngineStartError | Engine.EngineOptionsError> = Engine.layer({ grpcPort: 0, httpPort: 0 })

program.pipe(Effect.provide(Layer.merge(WorkerLive, HatchetLive)), Effect.timeout("60 seconds"), NodeRuntime.runMain)
`
)
writeFileSync(
  path.join(project, "require.cjs"),
  `const { Hatchet, Worker } = require("@effect-hatchet/sdk")
if (typeof Hatchet.layer !== "function" || typeof Worker.layer !== "function") {
  console.error("require('@effect-hatchet/sdk') lacks Hatchet.layer or Worker.layer")
  process.exit(1)
}
console.log("required")
`
)
// every declaration file is checked (skipLibCheck: false), but only ours must pass: Effect's own
// need the DOM lib and @types/ws there, which a user's project sets with skipLibCheck: true (tsc
// emits the program all the same)
const checked = (() => {
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8", stdio: "pipe" })
    return ""
  } catch (error) {
    return `${error.stdout ?? ""}`
  }
})()
const errors = checked.split("\n").filter((line) => /error TS\d+/.test(line))
const ours = errors.filter((line) => line.startsWith("src/") || line.startsWith("node_modules/@effect-hatchet/"))
if (ours.length > 0) fail(`the program or our declarations do not typecheck:\n${ours.join("\n")}`)
step(
  `typechecked (strict, our declarations included: ${errors.length} error(s) in other packages' declarations only) and compiled the program`
)

// 4. the packed engine's bin, and the program against it
const bin = path.join(project, "node_modules", ".bin", "hatchet-local")
engine = spawn(bin, ["--grpc-port", "0", "--http-port", "0", "--state-dir", path.join(dir, "state")], {
  cwd: project,
  stdio: ["ignore", "pipe", "pipe"]
})
let engineErr = ""
engine.stderr.setEncoding("utf8").on("data", (chunk) => (engineErr += chunk))
const env = await new Promise((resolve) => {
  let out = ""
  // a liveness guard, not a speed assertion: on a loaded machine node may take many seconds to start
  const timer = setTimeout(() => fail(`hatchet-local printed no variables within 90 s\n${out}${engineErr}`), 90_000)
  engine.on("exit", (code) => fail(`hatchet-local exited with ${code}\n${out}${engineErr}`))
  engine.stdout.setEncoding("utf8").on("data", (chunk) => {
    out += chunk
    const lines = out.split("\n").filter((line) => line.includes("="))
    if (lines.length >= 4) {
      clearTimeout(timer)
      resolve(Object.fromEntries(lines.slice(0, 4).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])))
    }
  })
})
const expected = ["HATCHET_CLIENT_TOKEN", "HATCHET_CLIENT_HOST_PORT", "HATCHET_CLIENT_API_URL", "HATCHET_CLIENT_TLS_STRATEGY"]
if (expected.some((name) => !(name in env))) fail(`hatchet-local's first lines are not the four variables: ${Object.keys(env)}`)
step(`hatchet-local listens (${env.HATCHET_CLIENT_HOST_PORT}, ${env.HATCHET_CLIENT_API_URL})`)
const output = run(process.execPath, ["dist/main.js"], {
  cwd: project,
  env: { ...process.env, ...env, HATCHET_CLIENT_LOG_LEVEL: "ERROR" },
  timeout: 120_000
})
const line = output.split("\n").find((l) => l.startsWith("{"))
const result = line === undefined ? undefined : JSON.parse(line)
if (result?.loud !== "HELLO PACKED" || result?.hello !== "hello packed") fail(`unexpected output: ${output}`)
step(`the program ran against it: ${line}`)
const required = run(process.execPath, ["require.cjs"], { cwd: project })
if (!required.includes("required")) fail(`require.cjs: ${required}`)
step("require('@effect-hatchet/sdk') from CommonJS works")
console.log(`pack-check: ok in ${((Date.now() - started) / 1000).toFixed(1)}s${keep ? `; kept ${dir}` : ""}`)
process.exit(0)
