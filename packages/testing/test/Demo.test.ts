/**
 * `pnpm demo` as a new user runs it: a child process, no HATCHET_CLIENT_TOKEN, the embedded
 * engine; it must print every transition and the typed result and end by itself with exit 0.
 * With a bad token it targets "a real Hatchet" and must fail with a non-zero exit and a message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)
const tsxCli = require.resolve("tsx/cli")
const root = fileURLToPath(new URL("../../../", import.meta.url))

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the demo (as the root `demo` script does) to its end; killed if the test is interrupted. */
const runDemo = (env: Record<string, string | undefined>) =>
  Effect.async<Finished>((resume) => {
    const { HATCHET_CLIENT_TOKEN: _ignored, ...inherited } = process.env
    const child = spawn(
      process.execPath,
      [tsxCli, "--conditions=@effect-hatchet/source", "examples/order-processing.ts"],
      { cwd: root, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    child.once("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The transition lines, without their timings: `task EVENT detail`. */
const transitions = (stdout: string) =>
  stdout.split("\n")
    .map((line) => /^ {2}\+\d+ms +(\S+) +([A-Z_]+)(?: +(.*))?$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1], match[2], match[3] ?? ""].join(" ").trimEnd())

describe("pnpm demo", () => {
  it.live("runs the order DAG on the embedded engine: transitions, a retry, the typed result, exit 0", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runDemo({})
      expect(stderr).toBe("")
      expect(code).toBe(0)
      expect(stdout).toMatch(/^effect-hatchet demo: workflow "order-processing" on the embedded local engine \(127\.0\.0\.1:\d+\)$/m)
      expect(stdout).toMatch(/^run [0-9a-f-]{36}$/m)

      const seen = transitions(stdout)
      // per task, in order; tasks of one DAG level may interleave
      const of = (task: string) => seen.filter((line) => line.startsWith(`${task} `))
      expect(of("validate")).toEqual(["validate STARTED", "validate COMPLETED"])
      expect(of("reserve-stock")).toEqual(["reserve-stock STARTED", "reserve-stock COMPLETED"])
      expect(of("charge")).toEqual([
        "charge STARTED",
        "charge FAILED GatewayTimeout: payment gateway timed out",
        "charge RETRYING retry 1 queued",
        "charge STARTED retry 1",
        "charge COMPLETED"
      ])
      expect(of("ship")).toEqual(["ship STARTED", "ship COMPLETED"])
      expect(seen.indexOf("validate COMPLETED")).toBeLessThan(seen.indexOf("charge STARTED"))
      expect(seen.indexOf("charge COMPLETED")).toBeLessThan(seen.indexOf("ship STARTED"))

      expect(stdout).toContain("  charge         { chargeId: 'ch-o-1042', amount: 43 }")
      expect(stdout).toMatch(/^ {2}ship {11}\{ trackingNumber: 'TRK-O-1042', estimatedDelivery: \d{4}-\d\d-\d\dT[\d:.]+Z \}$/m)
      expect(stdout).toMatch(/^done: charged 43\.00 \(ch-o-1042\), shipping TRK-O-1042, arriving \w{3} \w{3} \d\d \d{4}$/m)
    }), 120_000)

  it.live(
    "with HATCHET_CLIENT_TOKEN set it uses that Hatchet: a malformed token fails with exit 1 and a clear message",
    () =>
      Effect.gen(function*() {
        const { code, stderr, stdout } = yield* runDemo({ HATCHET_CLIENT_TOKEN: "not-a-jwt" })
        expect(code).toBe(1)
        expect(stdout).toBe("")
        expect(stderr).toMatch(/^\ndemo failed: .*HATCHET_CLIENT_TOKEN/)
        expect(stderr).not.toContain("    at ") // a message, not a stack trace
      }),
    120_000
  )
})
