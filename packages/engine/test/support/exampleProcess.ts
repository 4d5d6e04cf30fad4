/**
 * An official SDK example that starts its workers when it is loaded (`main()` at the top level,
 * as `affinity/affinity-workers` and `logging/logger` do), run as its own script in a child Node
 * process for the scope: its environment points at the engine in context, and the test can stop
 * it, which a module imported into the test's process would not allow.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as Engine from "../../src/Engine.js"

/** A running example script: its process and what it has written so far (for failure messages). */
export interface ExampleProcess {
  readonly child: ChildProcess
  readonly output: () => string
}

const require = createRequire(import.meta.url)

/** Ends `child`: SIGTERM (the SDK's workers stop and exit on it), then SIGKILL after `graceMs`. */
const stop = (child: ChildProcess, graceMs: number) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      child.once("exit", () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill("SIGTERM")
    })
  )

/**
 * Runs the example `v1/examples/<path>` as a script (`node <file>`) in a child process with the
 * engine's environment (`HATCHET_CLIENT_*`, SDK logs at ERROR, then `env`) until the scope closes,
 * when it is sent SIGTERM (SIGKILL after `graceMs`) and awaited.
 */
export const run = (path: string, graceMs = 5_000, env: Readonly<Record<string, string>> = {}) =>
  Effect.flatMap(Engine.Engine, (engine) =>
    Effect.acquireRelease(
      Effect.sync((): ExampleProcess => {
        const file = require.resolve(`@hatchet-dev/typescript-sdk/v1/examples/${path}`)
        const child = spawn(process.execPath, [file], {
          env: { ...process.env, ...engine.env, HATCHET_CLIENT_LOG_LEVEL: "ERROR", ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        const append = (chunk: Buffer) => {
          output += chunk.toString("utf8")
        }
        child.stdout.on("data", append)
        child.stderr.on("data", append)
        return { child, output: () => output }
      }),
      ({ child }) => stop(child, graceMs)
    ))
