// `pnpm bench`, compiled: the benchmark process (the engine and the trigger client) and its worker
// processes run as JavaScript on plain Node, as a user's build and an installed `hatchet-local`
// run, not through tsx (whose loader thread, source maps and per-function names a built process
// does not carry). Each entry is compiled with esbuild: the repository's own code (the workspace
// packages from their sources, as `pnpm bench` read them before) goes into the entry's file, a
// part it imports dynamically into a chunk of its own, loaded only when imported; every other
// package is left to load from node_modules as installed. BENCH_TSX=1 runs the TypeScript
// through tsx instead, as before; BENCH_DIST=1 leaves the workers' workspace packages to load
// from their built `dist` (`pnpm build` first); BENCH_NODE_ARGS go to the benchmark process's node.
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { constants, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const repo = fileURLToPath(new URL("..", import.meta.url))
const bench = join(repo, "packages/testing/bench")

/** The worker scripts compare.ts may start (./child.ts finds them by their path under bench/). */
const workerScripts = ["effect-worker.ts", "official-worker.ts", "trace/worker.ts"]

const run = (args, env) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...env } })
    const forward = (signal) => child.kill(signal)
    process.on("SIGINT", forward).on("SIGTERM", forward)
    child.on("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + constants.signals[signal])))
  })

if (process.env.BENCH_TSX === "1") {
  const tsx = createRequire(import.meta.url).resolve("tsx")
  process.exitCode = await run(
    ["--import", pathToFileURL(tsx).href, "--conditions=@effect-hatchet/source", join(repo, "scripts/bench.ts")],
    {}
  )
} else {
  const { build } = await import(pathToFileURL(createRequire(join(repo, "packages/testing/package.json")).resolve("esbuild")).href)
  const out = mkdtempSync(join(tmpdir(), "effect-hatchet-bench-"))
  /**
   * Workspace code is compiled in (all of it, or only the bench's own files with
   * `workspaceExternal`); any other import is left as an import of the file Node would load for
   * it, by absolute path, the output living outside the repository. Each compiled file keeps its
   * own `import.meta.url`, so that the bench finds its scripts next to their sources.
   */
  const asInstalled = (workspaceExternal) => ({
    name: "as-installed",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "resolving" || args.path.startsWith("node:")) return undefined
        if (args.path.startsWith("@effect-hatchet/") && !workspaceExternal) return undefined
        const resolved = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: "resolving"
        })
        if (resolved.errors.length > 0) return { errors: resolved.errors }
        return { path: resolved.path, external: true }
      })
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes("/node_modules/")) return undefined
        const source = readFileSync(args.path, "utf8")
        return {
          contents: source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
          loader: args.path.endsWith(".ts") ? "ts" : "js"
        }
      })
    }
  })
  /** `entries`: output name → entry; a dynamic import stays lazy (its own chunk), as in `dist`. */
  const compile = (entries, outdir, workspaceExternal) =>
    build({
      entryPoints: entries,
      outdir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: workspaceExternal ? [] : ["@effect-hatchet/source"],
      // every module's code runs, as when Node loads the modules one by one
      treeShaking: false,
      ignoreAnnotations: true,
      plugins: [asInstalled(workspaceExternal)],
      logLevel: "warning"
    })
  try {
    await compile({ bench: join(repo, "scripts/bench.ts") }, out, false)
    await compile(
      Object.fromEntries(workerScripts.map((script) => [script.replace(/\.ts$/, ""), join(bench, script)])),
      join(out, "workers"),
      process.env.BENCH_DIST === "1"
    )
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
    process.exitCode = await run([...nodeArgs, join(out, "bench.mjs")], { BENCH_COMPILED_WORKERS: join(out, "workers") })
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
