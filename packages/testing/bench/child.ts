/**
 * The child processes of the benchmarks: `node --expose-gc` running a TypeScript script of the
 * repository (tsx, the source condition), or under the compiled `pnpm bench` the script compiled,
 * with an IPC channel, stopped when the scope closes (SIGTERM, then SIGKILL after 30 s).
 */
import * as Effect from "effect/Effect"
import { type ChildProcess, type Serializable, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/**
 * Under the compiled `pnpm bench` (scripts/bench.mjs), the worker scripts compiled to JavaScript,
 * by their path under this directory: each runs on plain Node, without tsx. A script it did not
 * compile is an error rather than a quiet run through tsx, which would measure something else.
 */
const compiledWorkers = process.env.BENCH_COMPILED_WORKERS
const compiled = (script: URL): string | undefined => {
  if (compiledWorkers === undefined) return undefined
  const relative = path.relative(fileURLToPath(new URL(".", import.meta.url)), fileURLToPath(script))
  const file = path.join(compiledWorkers, relative.replace(/\.ts$/, ".mjs"))
  if (!fs.existsSync(file)) throw new Error(`${relative} is not compiled: add it to scripts/bench.mjs's workerScripts`)
  return file
}

const nodeArgsFor = (script: URL, source: boolean) => {
  const file = compiled(script)
  return file !== undefined
    ? [file]
    : ["--import", tsx, ...(source ? ["--conditions=@effect-hatchet/source"] : []), fileURLToPath(script)]
}

/**
 * Runs `script` in a child process for the life of the scope; `nodeArgs` go before it. With
 * `source: false` the workspace packages it imports load from their built `dist` (as a user's
 * install runs them) instead of their TypeScript sources.
 */
export const spawnChild = (
  script: URL,
  env: Record<string, string>,
  nodeArgs: ReadonlyArray<string> = [],
  options?: { readonly source?: boolean | undefined }
) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [
        "--expose-gc",
        ...nodeArgs,
        ...nodeArgsFor(script, options?.source !== false)
      ], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...env } })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.kill("SIGTERM")
      })
  )

/**
 * Sends `message` to `child` over IPC and waits for the first message back that `pick` accepts
 * (returns a value for); the listener goes once it has it, or on interruption.
 */
export const askChild = <A>(child: ChildProcess, message: Serializable, pick: (answer: unknown) => A | undefined) =>
  Effect.async<A>((resume) => {
    const onMessage = (answer: unknown) => {
      const picked = pick(answer)
      if (picked === undefined) return
      child.off("message", onMessage)
      resume(Effect.succeed(picked))
    }
    child.on("message", onMessage)
    child.send(message)
    return Effect.sync(() => child.off("message", onMessage))
  })
