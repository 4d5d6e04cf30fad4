/**
 * The child processes of the benchmarks: `node --expose-gc` running a TypeScript script of the
 * repository (tsx, the source condition) with an IPC channel, stopped when the scope closes
 * (SIGTERM, then SIGKILL after 30 s).
 */
import { Effect } from "effect"
import { type ChildProcess, type Serializable, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

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
        "--import",
        tsx,
        ...(options?.source === false ? [] : ["--conditions=@effect-hatchet/source"]),
        fileURLToPath(script)
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
