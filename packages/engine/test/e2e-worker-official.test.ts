/**
 * The official SDK's shipped `v1/examples/e2e-worker`, unchanged, in its own process against this
 * engine: the worker upstream's own end-to-end suite starts, registering every example workflow
 * (DAGs, step conditions, concurrency, idempotency, webhooks, streaming, durable tasks, eviction,
 * batch tasks). It must register all of them and report itself ready; the engine must then list
 * each workflow the worker registered, and show each one's version (its registration as upstream
 * stores it) whatever its shape.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { call } from "./support/clocked.js"

const examples = join(
  dirname(createRequire(import.meta.url).resolve("@hatchet-dev/typescript-sdk/package.json")),
  "v1",
  "examples"
)
const script = join(examples, "e2e-worker.js")

/** The worker's output until it says it is ready, or why it is not (it exits on a failed registration). */
const runUntilReady = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly ready: boolean; readonly output: string; readonly stop: () => void }>((resume) => {
      const child = spawn(process.execPath, [script], {
        cwd: examples,
        env: { ...process.env, ...env, HATCHET_CLIENT_LOG_LEVEL: "ERROR" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      const stop = () => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes("[e2e-worker] Worker registered and ready")) resume(Effect.succeed({ ready: true, output, stop }))
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.once("exit", (code, signal) => resume(Effect.succeed({ ready: false, output: `${output}\nexit ${code ?? signal}`, stop })))
      return Effect.sync(stop)
    }),
    ({ stop }) => Effect.sync(stop)
  )

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: the shipped e2e-worker", (it) => {
  it.scoped("registers every example workflow, durable and batch tasks included, and is ready", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const worker = yield* runUntilReady(engine.env)
      expect(worker.output).toContain("[e2e-worker] Worker registered and ready")
      expect(worker.ready).toBe(true)

      // the names it registered, as the engine lists them: one per workflow of the worker's list
      const listed = yield* call(
        "GET",
        `${engine.apiUrl}/api/v1/tenants/${engine.tenantId}/workflows?limit=1000`,
        Redacted.value(engine.token)
      )
      expect(listed.status).toBe(200)
      const rows = (listed.body as { rows: ReadonlyArray<{ name: string; metadata: { id: string } }> }).rows
      const names = rows.map((row) => row.name)
      // the worker's list, as its compiled source names the workflows (`workflow_N.name` entries)
      const source = readFileSync(script, "utf8")
      const list = source.slice(source.indexOf("const workflows = ["), source.indexOf("];", source.indexOf("const workflows = [")))
      const entries = list.split("\n").filter((line) => /^\s+\S/.test(line) && !line.includes("const workflows"))
      expect(names.length).toBe(entries.length)
      for (const name of ["taskconditionworkflow", "durable-workflow", "evictable-sleep", "batch-simple", "webhook-workflow"]) {
        expect(names).toContain(name)
      }

      // every shape of registration reads back as a version
      for (const row of rows) {
        const version = yield* call("GET", `${engine.apiUrl}/api/v1/workflows/${row.metadata.id}/versions`, Redacted.value(engine.token))
        expect(version.status).toBe(200)
        const body = version.body as { order: number; workflow: { name: string }; workflowConfig: { Name: string; Tasks: Array<unknown> } }
        expect([body.order, body.workflow.name, body.workflowConfig.Name]).toEqual([1, row.name, row.name])
        expect(body.workflowConfig.Tasks.length).toBeGreaterThan(0)
      }
    }))
})
