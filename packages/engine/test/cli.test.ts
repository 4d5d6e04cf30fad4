/**
 * The `hatchet-local` CLI contract: four lines on stdout once ready, a working token, exit 0 on
 * SIGTERM; bad arguments fail fast.
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { createChannel, createClient, Metadata } from "nice-grpc"

const require = createRequire(import.meta.url)
const tsxCli = require.resolve("tsx/cli")
const bin = fileURLToPath(new URL("../src/bin/hatchet-local.ts", import.meta.url))

const start = (args: ReadonlyArray<string>) =>
  spawn(process.execPath, [tsxCli, "--conditions=@effect-hatchet/source", bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })

const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once("exit", (code) => resolve(code))
  })

/** Resolves with the first `count` stdout lines. */
const lines = (child: ChildProcess, count: number) =>
  new Promise<Array<string>>((resolve, reject) => {
    let buffer = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      const all = buffer.split("\n")
      if (all.length > count) resolve(all.slice(0, count))
    })
    child.once("exit", (code) => reject(new Error(`exited with ${code} before printing ${count} lines: ${buffer}`)))
  })

describe("hatchet-local", () => {
  it.live("prints the four HATCHET_CLIENT_* lines, serves with the printed token, exits 0 on SIGTERM", () =>
    Effect.promise(async () => {
      const child = start(["--grpc-port", "0", "--http-port=0"])
      try {
        const output = await lines(child, 4)
        expect(output.map((l) => l.split("=")[0])).toEqual([
          "HATCHET_CLIENT_TOKEN",
          "HATCHET_CLIENT_HOST_PORT",
          "HATCHET_CLIENT_API_URL",
          "HATCHET_CLIENT_TLS_STRATEGY"
        ])
        const env = Object.fromEntries(output.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
        expect(env.HATCHET_CLIENT_HOST_PORT).toMatch(/^127\.0\.0\.1:\d+$/)
        expect(env.HATCHET_CLIENT_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(env.HATCHET_CLIENT_TLS_STRATEGY).toBe("none")
        const claims = JSON.parse(Buffer.from(env.HATCHET_CLIENT_TOKEN!.split(".")[1]!, "base64url").toString())
        expect(claims).toMatchObject({
          sub: "707d0855-80ab-4e1f-a156-f1c4546cbf52",
          server_url: env.HATCHET_CLIENT_API_URL,
          grpc_broadcast_address: env.HATCHET_CLIENT_HOST_PORT
        })
        const channel = createChannel(env.HATCHET_CLIENT_HOST_PORT!)
        const dispatcher = createClient(DispatcherDefinition, channel, {
          "*": { metadata: Metadata({ authorization: `bearer ${env.HATCHET_CLIENT_TOKEN}` }) }
        })
        expect(await dispatcher.getVersion({})).toEqual({ version: "v0.106.5" })
        channel.close()
        child.kill("SIGTERM")
        expect(await exitCode(child)).toBe(0)
      } finally {
        child.kill("SIGKILL")
      }
    }), 60_000)

  it.live("rejects unknown arguments with a usage message and a non-zero exit", () =>
    Effect.promise(async () => {
      const child = start(["--grpc-port", "lots"])
      let stderr = ""
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
      })
      expect(await exitCode(child)).not.toBe(0)
      expect(stderr).toContain("usage: hatchet-local [--grpc-port N] [--http-port N]")
    }), 60_000)
})
