/**
 * An engine restart as a user meets it, with our worker and client over loopback gRPC.
 *
 * - The real `hatchet-local` bin (its source in one file), as a child process with a state
 *   directory: its first four stdout lines are the variables; killed (SIGKILL) with a task in
 *   flight, then started again on the same ports with the same directory, it prints the same
 *   token, the worker reconnects and registers again (a new worker id) with the token it already
 *   had, and new runs complete. The run in flight died with the engine's memory: the engine
 *   started again does not know it (only the identity survives a restart). SIGTERM ends it with
 *   exit code 0.
 * - In process, engines that sign tokens with another key on the same ports: the worker's
 *   `UNAUTHENTICATED` at runtime is logged as an error that says what to do and retried, and the
 *   worker recovers once an engine accepts its token again; at start, a refused token fails the
 *   worker's layer at once.
 *
 * `faults.restart` (Resilience.e2e.test.ts) restarts the servers and keeps the engine's state.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Task, TaskContext, Worker } from "@effect-hatchet/sdk"
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Deferred, Duration, Effect, Exit, Layer, Logger, Option, Redacted, Schema, Scope, Stream } from "effect"
import { build } from "esbuild"
import { fileURLToPath } from "node:url"
import { waitFor } from "./ResilienceHarness.js"

const Echo = Task.make("restart-echo", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number })
})
const EchoLive = Echo.toLayer((input) => Effect.succeed(input))

/** A task that runs until `release` is completed; `started` says it runs. */
const Hang = Task.make("restart-hang", { input: Schema.Struct({ id: Schema.String }) })
class HangLatch extends Context.Tag("test/HangLatch")<HangLatch, {
  readonly started: Deferred.Deferred<string>
  readonly release: Deferred.Deferred<void>
}>() {}
const HangLive = Hang.toLayer(
  Effect.map(
    HangLatch,
    (latch) => () =>
      Effect.flatMap(
        TaskContext.TaskContext,
        (ctx) => Deferred.succeed(latch.started, ctx.taskRunExternalId).pipe(Effect.zipRight(Deferred.await(latch.release)))
      )
  )
)

interface LogLine {
  readonly level: string
  readonly message: string
}

/** The worker (recovering within a fraction of a second) and a client, on one channel to `env`. */
const startWorker = (env: { readonly token: string; readonly hostPort: string; readonly apiUrl: string }, logs: Array<LogLine>) =>
  Effect.gen(function*() {
    const latch = { started: yield* Deferred.make<string>(), release: yield* Deferred.make<void>() }
    yield* Effect.addFinalizer(() => Deferred.succeed(latch.release, undefined))
    const client = yield* Layer.build(
      Hatchet.layer({ token: Redacted.make(env.token), hostPort: env.hostPort, apiUrl: env.apiUrl, tlsStrategy: "none" }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
      )
    )
    const context = yield* Layer.build(
      Worker.layer({
        name: "restart",
        slots: 5,
        workflows: [EchoLive, HangLive.pipe(Layer.provide(Layer.succeed(HangLatch, latch)))],
        heartbeatInterval: "500 millis",
        reconnect: { initialDelay: "50 millis", maxDelay: "250 millis" },
        shutdownGracePeriod: "1 second"
      }).pipe(
        Layer.provide(Layer.succeedContext(client)),
        Layer.provide(Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ logLevel, message }) => {
            logs.push({ level: logLevel.label, message: [message].flat().join(" ") })
          })
        ))
      )
    )
    return { worker: Context.get(context, Worker.Worker), client, latch }
  })

/** Waits until the worker listens under another id than `previous`; returns the new id. */
const listeningAgain = (worker: Worker.WorkerShape, previous: string) =>
  Effect.map(
    waitFor(
      Effect.zip(worker.status, worker.workerId),
      ([status, id]) => status._tag === "Listening" && Option.getOrNull(id) !== previous,
      "30 seconds"
    ),
    ([, id]) => Option.getOrThrow(id)
  )

const refusedToken = (logs: ReadonlyArray<LogLine>) =>
  logs.filter((l) => l.level === "ERROR" && l.message.includes("the engine refuses this worker's token"))

// -------------------------------------------------------------------------------------------------
// the hatchet-local process

const bin = fileURLToPath(new URL("../../engine/src/bin/hatchet-local.ts", import.meta.url))

/**
 * The bin's source compiled into one file (esbuild, as tsx compiles it for `pnpm hatchet-local`,
 * with the same exports condition): a process then starts in about a seventh of the time tsx takes
 * to load the sources one by one (0.45 s of CPU instead of 3.7 s, measured on this machine).
 */
const bundleBin = (dir: string) =>
  Effect.promise(() =>
    build({
      entryPoints: [bin],
      outfile: `${dir}/hatchet-local.mjs`,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@effect-hatchet/source"],
      // the CommonJS dependencies (grpc-js) call require
      banner: { js: "import { createRequire } from \"node:module\"; const require = createRequire(import.meta.url);" },
      logLevel: "warning"
    })
  ).pipe(Effect.as(`${dir}/hatchet-local.mjs`))

/** Starts `hatchet-local` and waits for its four lines. */
const hatchetLocal = (binFile: string, stateDir: string, ports: { readonly grpc: string; readonly http: string }) =>
  Effect.gen(function*() {
    const process_ = yield* Command.make(
      process.execPath,
      binFile,
      "--grpc-port",
      ports.grpc,
      "--http-port",
      ports.http,
      "--state-dir",
      stateDir
    ).pipe(Command.start)
    const stdout: Array<string> = []
    let stderr = ""
    yield* process_.stdout.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Effect.sync(() => stdout.push(line))),
      Effect.forkScoped
    )
    yield* process_.stderr.pipe(
      Stream.decodeText(),
      Stream.runForEach((text) => Effect.sync(() => (stderr += text))),
      Effect.forkScoped
    )
    yield* waitFor(
      Effect.zip(Effect.sync(() => stdout.length), process_.isRunning),
      ([lines, running]) => lines >= 4 || !running,
      "45 seconds"
    )
    if (stdout.length < 4) return yield* Effect.dieMessage(`hatchet-local exited before printing its variables:\n${stderr}`)
    const env = Object.fromEntries(stdout.slice(0, 4).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
    return {
      process: process_,
      lines: stdout.slice(0, 4),
      env: { token: env.HATCHET_CLIENT_TOKEN!, hostPort: env.HATCHET_CLIENT_HOST_PORT!, apiUrl: env.HATCHET_CLIENT_API_URL! }
    }
  })

describe("an engine restart", () => {
  it.scopedLive(
    "hatchet-local killed and started again with its state directory: the worker reconnects, registers again and completes new runs",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const stateDir = yield* fs.makeTempDirectoryScoped()
        const binFile = yield* bundleBin(yield* fs.makeTempDirectoryScoped())
        const first = yield* hatchetLocal(binFile, stateDir, { grpc: "0", http: "0" })
        expect(first.lines.map((l) => l.split("=")[0])).toEqual([
          "HATCHET_CLIENT_TOKEN",
          "HATCHET_CLIENT_HOST_PORT",
          "HATCHET_CLIENT_API_URL",
          "HATCHET_CLIENT_TLS_STRATEGY"
        ])
        const ports = { grpc: first.env.hostPort.split(":")[1]!, http: first.env.apiUrl.split(":")[2]! }
        const logs: Array<LogLine> = []
        const { client, latch, worker } = yield* startWorker(first.env, logs)
        const firstId = Option.getOrThrow(yield* worker.workerId)

        expect(yield* Hatchet.run(Echo, { n: 1 }).pipe(Effect.provide(client))).toEqual({ n: 1 })
        const inFlight = yield* Hatchet.runNoWait(Hang, { id: "in-flight" }).pipe(Effect.provide(client))
        yield* Deferred.await(latch.started)

        yield* first.process.kill("SIGKILL")
        yield* first.process.exitCode.pipe(Effect.ignore)
        yield* waitFor(worker.status, (s) => s._tag === "Reconnecting", "10 seconds")

        const second = yield* hatchetLocal(binFile, stateDir, ports)
        expect(second.lines).toEqual(first.lines) // the same identity: the same token for the same ports
        const secondId = yield* listeningAgain(worker, firstId)
        expect(secondId).not.toBe(firstId)
        expect(yield* Hatchet.run(Echo, { n: 2 }).pipe(Effect.provide(client))).toEqual({ n: 2 })
        expect(refusedToken(logs)).toEqual([])

        // the run that was in flight died with the first engine's memory
        const lost = yield* Effect.flip(inFlight.details)
        expect(lost._tag).toBe("RestError")
        expect(lost.message).toContain("404")

        // stopped as a terminal's Ctrl-C or a process manager stops it: a clean exit
        yield* second.process.kill("SIGTERM")
        expect(yield* second.process.exitCode).toBe(0)
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "an engine that refuses the worker's token: an error saying what to do, retried until an engine accepts it again",
    () =>
      Effect.gen(function*() {
        const secret = Redacted.make("the-secret-of-the-first-engine-0123456789")
        const start = (tokenSecret: Redacted.Redacted<string>, ports: { grpcPort?: number; httpPort?: number } = {}) =>
          Effect.gen(function*() {
            const scope = yield* Scope.make()
            const engine = yield* Scope.extend(Engine.make({ tokenSecret, ...ports }), scope)
            return { engine, stop: Scope.close(scope, Exit.void) }
          })
        const a = yield* start(secret)
        const ports = { grpcPort: a.engine.grpcPort, httpPort: a.engine.httpPort }
        const logs: Array<LogLine> = []
        const { client, worker } = yield* startWorker(
          { token: Redacted.value(a.engine.token), hostPort: a.engine.grpcAddress, apiUrl: a.engine.apiUrl },
          logs
        )
        const firstId = Option.getOrThrow(yield* worker.workerId)
        yield* a.stop

        // the same ports, another key: the worker's token is refused
        const other = yield* start(Redacted.make("another-secret-for-another-engine-01234"), ports)
        yield* waitFor(Effect.sync(() => refusedToken(logs).length), (n) => n >= 2, "20 seconds")
        const [refused] = refusedToken(logs)
        expect(refused!.message).toContain("invalid auth token")
        expect(refused!.message).toContain("restart the worker with it")
        expect(refused!.message).toMatch(/reconnecting in \d+ms \(attempt \d+\)/)
        const status = yield* worker.status
        expect(status._tag).toBe("Reconnecting")
        yield* other.stop

        // the first key again (an engine started again with its identity): the worker recovers
        yield* start(secret, ports)
        yield* listeningAgain(worker, firstId)
        expect(yield* Hatchet.run(Echo, { n: 3 }).pipe(Effect.provide(client))).toEqual({ n: 3 })
      }),
    60_000
  )

  it.scopedLive("at start, a token the engine refuses fails the worker's layer at once (not retried)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.make()
      const [head, payload] = Redacted.value(engine.token).split(".")
      const logs: Array<LogLine> = []
      const error = yield* startWorker(
        { token: `${head}.${payload}.${"A".repeat(43)}`, hostPort: engine.grpcAddress, apiUrl: engine.apiUrl },
        logs
      ).pipe(Effect.flip, Effect.timeoutFail({ duration: Duration.seconds(20), onTimeout: () => "still retrying" }))
      expect(error).toMatchObject({ _tag: "WorkerError", reason: "Registration" })
      expect((error as Worker.WorkerError).message).toContain("invalid auth token")
      expect(logs.filter((l) => l.message.includes("retrying"))).toEqual([])
    }), 60_000)
})
