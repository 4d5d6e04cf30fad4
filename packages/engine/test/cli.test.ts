/**
 * The `hatchet-local` CLI contract. In process (`Cli.main` with a captured console): four lines
 * on stdout once ready and a token the engine accepts; the identity kept in the state directory,
 * so an engine started again on the same ports (or `--print-env`) prints the same token and
 * accepts the old one (but not an API token created through REST, which lives in memory); `--help` lists every flag; bad arguments exit 2, a broken state directory
 * and a port in use exit 1 with a message that says what to do. The bin as a process (its four
 * lines first, exit 0 on SIGTERM, killed and started again) is tested with our worker in
 * `packages/testing/test/EngineRestart.e2e.test.ts`.
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Fiber, Logger, Schedule } from "effect"
import { createChannel, createClient, Metadata } from "nice-grpc"
import { createServer } from "node:net"
import * as Cli from "../src/internal/cli.js"

/** Runs `Cli.main(argv)` with stdout and stderr captured in `out` and `err`. */
const runCli = (argv: ReadonlyArray<string>, out: Array<string>, err: Array<string>) =>
  Console.consoleWith((console) =>
    Cli.main(argv).pipe(
      Effect.withConsole({
        ...console,
        log: (...args: ReadonlyArray<unknown>) =>
          Effect.sync(() => {
            for (const line of args.join(" ").split("\n")) out.push(line)
          }),
        error: (...args: ReadonlyArray<unknown>) =>
          Effect.sync(() => {
            for (const line of args.join(" ").split("\n")) err.push(line)
          })
      })
    )
  ).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))

/** Runs the CLI to its end. */
const runToEnd = (...argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const code = yield* runCli(argv, out, err)
    return { code, out, err: err.join("\n") }
  })

/** Starts the engine in a fiber; resolves once it printed its four lines. */
const serve = (...argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const fiber = yield* Effect.fork(runCli(argv, out, err))
    yield* Effect.suspend(() => out.length >= 4 ? Effect.void : Effect.fail("not yet")).pipe(
      Effect.retry({ schedule: Schedule.spaced("10 millis"), while: () => fiber.unsafePoll() === null }),
      Effect.timeout("20 seconds")
    )
    if (out.length < 4) return yield* Effect.dieMessage(`hatchet-local ended early: ${err.join("\n")}`)
    return { fiber, lines: out.slice(0, 4), env: envOf(out.slice(0, 4)) }
  })

const envOf = (output: ReadonlyArray<string>) =>
  Object.fromEntries(output.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))

const portsOf = (env: Record<string, string>) => ({
  grpc: env.HATCHET_CLIENT_HOST_PORT!.split(":")[1]!,
  http: env.HATCHET_CLIENT_API_URL!.split(":")[2]!
})

/** `Dispatcher/GetVersion` with this token (every call checks the token). */
const getVersion = (env: Record<string, string>, token = env.HATCHET_CLIENT_TOKEN!) =>
  Effect.acquireUseRelease(
    Effect.sync(() => createChannel(env.HATCHET_CLIENT_HOST_PORT!)),
    (channel) =>
      Effect.promise(() =>
        createClient(DispatcherDefinition, channel, {
          "*": { metadata: Metadata({ authorization: `bearer ${token}` }) }
        }).getVersion({}).then((r) => r.version, (e: Error) => e.message)
      ),
    (channel) => Effect.sync(() => channel.close())
  )

const stateDir = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  return path.join(yield* fs.makeTempDirectoryScoped(), "state")
})

describe("hatchet-local (in process)", () => {
  it.scopedLive(
    "prints the four lines, and started again with its state directory prints and accepts the same token",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* stateDir
        const first = yield* serve("--grpc-port", "0", "--http-port=0", "--state-dir", dir)
        expect(first.lines.map((l) => l.split("=")[0])).toEqual([
          "HATCHET_CLIENT_TOKEN",
          "HATCHET_CLIENT_HOST_PORT",
          "HATCHET_CLIENT_API_URL",
          "HATCHET_CLIENT_TLS_STRATEGY"
        ])
        expect(first.env.HATCHET_CLIENT_HOST_PORT).toMatch(/^127\.0\.0\.1:\d+$/)
        expect(first.env.HATCHET_CLIENT_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(first.env.HATCHET_CLIENT_TLS_STRATEGY).toBe("none")
        const claims = JSON.parse(Buffer.from(first.env.HATCHET_CLIENT_TOKEN!.split(".")[1]!, "base64url").toString())
        expect(claims).toMatchObject({
          sub: "707d0855-80ab-4e1f-a156-f1c4546cbf52",
          server_url: first.env.HATCHET_CLIENT_API_URL,
          grpc_broadcast_address: first.env.HATCHET_CLIENT_HOST_PORT
        })
        expect(yield* getVersion(first.env)).toBe("v0.106.5")
        const file = `${dir}/identity.json`
        expect((yield* fs.stat(file)).mode & 0o777).toBe(0o600)
        expect(JSON.parse(yield* fs.readFileString(file))).toMatchObject({ token: first.env.HATCHET_CLIENT_TOKEN })

        // --print-env for these ports, while it runs: the same four lines
        const { grpc, http } = portsOf(first.env)
        const printed = yield* runToEnd("--print-env", "--grpc-port", grpc, "--http-port", http, "--state-dir", dir)
        expect(printed).toMatchObject({ code: 0, out: first.lines })

        // an API token created through REST: it lives in memory only
        const created = yield* Effect.promise(() =>
          fetch(`${first.env.HATCHET_CLIENT_API_URL}/api/v1/tenants/707d0855-80ab-4e1f-a156-f1c4546cbf52/api-tokens`, {
            method: "POST",
            headers: { authorization: `Bearer ${first.env.HATCHET_CLIENT_TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({ name: "ci" })
          }).then((r) => r.json() as Promise<{ token: string }>)
        )
        expect(yield* getVersion(first.env, created.token)).toBe("v0.106.5")

        yield* Fiber.interrupt(first.fiber)
        expect(yield* getVersion(first.env)).toMatch(/UNAVAILABLE/)

        // started again on the same ports: the same token, and the engine accepts it
        const again = yield* serve("--grpc-port", grpc, "--http-port", http, "--state-dir", dir)
        expect(again.lines).toEqual(first.lines)
        expect(yield* getVersion(again.env)).toBe("v0.106.5")
        // the API token is unknown to the new process: refused, as upstream refuses a token it has no row of
        expect(yield* getVersion(again.env, created.token)).toMatch(/UNAUTHENTICATED: invalid auth token/)
        yield* Fiber.interrupt(again.fiber)

        // with another state directory (a new identity), the old token is refused
        const other = yield* serve("--grpc-port", grpc, "--http-port", http, "--state-dir", `${dir}-other`)
        expect(other.env.HATCHET_CLIENT_TOKEN).not.toBe(first.env.HATCHET_CLIENT_TOKEN)
        expect(yield* getVersion(other.env, first.env.HATCHET_CLIENT_TOKEN)).toMatch(/UNAUTHENTICATED: invalid auth token/)
        yield* Fiber.interrupt(other.fiber)
        yield* fs.remove(`${dir}-other`, { recursive: true })
      }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive("on other ports, a new token is printed and stored; the old one named the old ports", () =>
    Effect.gen(function*() {
      const dir = yield* stateDir
      const first = yield* runToEnd("--print-env", "--grpc-port", "17070", "--http-port", "18080", "--state-dir", dir)
      const moved = yield* runToEnd("--print-env", "--grpc-port", "17071", "--http-port", "18080", "--state-dir", dir)
      expect(first.code).toBe(0)
      expect(moved.out[0]).not.toBe(first.out[0])
      expect(moved.out.slice(1, 3)).toEqual(["HATCHET_CLIENT_HOST_PORT=127.0.0.1:17071", "HATCHET_CLIENT_API_URL=http://127.0.0.1:18080"])
      const again = yield* runToEnd("--print-env", "--grpc-port", "17071", "--http-port", "18080", "--state-dir", dir)
      expect(again.out).toEqual(moved.out)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("--help lists every flag and its default; unknown or bad arguments exit 2 with the usage", () =>
    Effect.gen(function*() {
      const help = yield* runToEnd("--help")
      expect(help.code).toBe(0)
      const text = help.out.join("\n")
      for (
        const flag of [
          "--grpc-port N",
          "--http-port N",
          "--state-dir DIR",
          "--print-env",
          "--retention-max-age DURATION",
          "--retention-max-runs N",
          "--no-retention",
          "-h, --help"
        ]
      ) {
        expect(text).toContain(flag)
      }
      expect(text).toContain("default 7077")
      expect(text).toContain("default 8888")
      expect(text).toContain("default ~/.hatchet-local")
      expect(text).toContain("lost when the engine stops")
      expect(text).toContain("(default 24h)")
      expect(text).toContain("(default 10000)")

      const usage = "usage: hatchet-local [--grpc-port N] [--http-port N] [--state-dir DIR] [--print-env]"
      for (
        const [argv, message] of [
          [["--grpc-port", "lots"], "--grpc-port needs a port number (0-65535), got lots"],
          [["--http-port"], "--http-port needs a port number (0-65535), got nothing"],
          [["--state-dir="], "--state-dir needs a directory"],
          [["--print-env=yes"], "--print-env takes no value"],
          [["--print-env", "--grpc-port", "0"], "--print-env needs fixed ports (not 0)"],
          [["serve"], "unknown argument serve"],
          [["--retention-max-runs", "0"], "--retention-max-runs needs a number of runs above 0, got 0"],
          [["--retention-max-age=soon"], "--retention-max-age needs a duration such as 24h or 90m, got soon"],
          [["--no-retention", "--retention-max-age", "2h"], "--retention-max-age cannot go with --no-retention"],
          [["--retention-max-runs", "5", "--no-retention"], "--no-retention cannot go with the other retention flags"]
        ] as const
      ) {
        const result = yield* runToEnd(...argv)
        expect(result.code).toBe(2)
        expect(result.err).toContain(message)
        expect(result.err).toContain(usage)
        expect(result.out).toEqual([])
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a state directory whose identity.json is not an identity: exit 1 naming the file, which is kept", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* stateDir
      expect((yield* runToEnd("--print-env", "--state-dir", dir)).code).toBe(0)
      const file = `${dir}/identity.json`
      yield* fs.writeFileString(file, "{ \"version\": 1 ")
      const result = yield* runToEnd("--state-dir", dir, "--grpc-port", "0", "--http-port", "0")
      expect(result.code).toBe(1)
      expect(result.err).toContain(`${file} is not a hatchet-local identity`)
      expect(result.out).toEqual([])
      expect(yield* fs.readFileString(file)).toBe("{ \"version\": 1 ")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a port in use: exit 1 with the flag that gets around it", () =>
    Effect.gen(function*() {
      const taken = createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void taken.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => taken.close())
      )
      const port = (taken.address() as { port: number }).port
      const dir = yield* stateDir
      for (
        const [flag, server, argv] of [
          ["--http-port", "REST", ["--grpc-port", "0", "--http-port", String(port)]],
          ["--grpc-port", "gRPC", ["--http-port", "0", "--grpc-port", String(port)]]
        ] as const
      ) {
        const result = yield* runToEnd("--state-dir", dir, ...argv)
        expect(result.code).toBe(1)
        expect(result.err).toContain(`the ${server} server cannot listen on 127.0.0.1:${port}: the port is in use`)
        expect(result.err).toContain(`pass ${flag} N to use another port`)
        expect(result.out).toEqual([])
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})
