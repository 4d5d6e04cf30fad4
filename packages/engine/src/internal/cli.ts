/**
 * The `hatchet-local` program: flags, the identity in the state directory, the engine, and what
 * is printed. The bin runs `main` with Node's services; tests run it in process.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { homedir } from "node:os"
import * as Engine from "../Engine.js"
import { parseDuration } from "./domain/duration.js"
import * as Identity from "./identity.js"

/** Hatchet Lite's ports as Hatchet's docs and `hatchet server start` run it locally. */
const defaultGrpcPort = 7077
const defaultHttpPort = 8888
const host = "127.0.0.1"
const defaultStateDir = "~/.hatchet-local"

/** The text of `--help`. */
export const help = `usage: hatchet-local [--grpc-port N] [--http-port N] [--state-dir DIR] [--print-env]
                     [--retention-max-age DURATION] [--retention-max-runs N] [--no-retention]

Runs a local, in-memory Hatchet engine (gRPC and REST on ${host}) until SIGINT or SIGTERM.
Once it listens, prints HATCHET_CLIENT_TOKEN, HATCHET_CLIENT_HOST_PORT, HATCHET_CLIENT_API_URL
and HATCHET_CLIENT_TLS_STRATEGY on stdout, one per line; logs go to stderr.

  --grpc-port N     gRPC port (default ${defaultGrpcPort}, as Hatchet Lite; 0 picks a free port)
  --http-port N     REST port (default ${defaultHttpPort}, as Hatchet Lite; 0 picks a free port)
  --state-dir DIR   where the engine's identity (token signing secret, tenant, token) is kept
                    (default ${defaultStateDir}): an engine started again with the same
                    directory and ports accepts the tokens its workers hold
  --print-env       print the four variables for this state directory and these ports and
                    exit, without starting an engine: export $(hatchet-local --print-env)
  --retention-max-age DURATION
                    delete a finished run (its tasks, logs, outputs) this long after it
                    finished, as a Go duration such as 24h or 90m (default 24h)
  --retention-max-runs N
                    keep at most N finished runs per tenant, deleting the oldest finished
                    first (default 10000); pushed events follow both bounds
  --no-retention    keep every run, event and worker (memory grows with every run)
  -h, --help        print this help and exit

Only the identity survives a restart: runs, workflows, schedules, crons and workers'
registrations are kept in memory and lost when the engine stops (workers register again).`

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

interface Options {
  readonly grpcPort: number
  readonly httpPort: number
  readonly stateDir: string
  readonly printEnv: boolean
  readonly help: boolean
  /** Undefined: `Engine.defaultRetention`. */
  readonly retention: Engine.RetentionOptions | false | undefined
}

const usageError = (message: string) =>
  new UsageError({
    message: `${message}\nusage: hatchet-local [--grpc-port N] [--http-port N] [--state-dir DIR] [--print-env] (--help for more)`
  })

/** `--retention-max-age` (a Go duration above 0) or `--retention-max-runs` (a count above 0). */
const retentionFlag = (flag: string, value: string | undefined, retention: Engine.RetentionOptions | false | undefined) => {
  if (retention === false) return Effect.fail(usageError(`${flag} cannot go with --no-retention`))
  if (flag === "--retention-max-age") {
    const ms = value === undefined ? undefined : parseDuration(value)
    return ms !== undefined && ms > 0
      ? Effect.succeed({ ...retention, maxAge: Duration.millis(ms) })
      : Effect.fail(usageError(`${flag} needs a duration such as 24h or 90m, got ${value ?? "nothing"}`))
  }
  const runs = value === undefined || !/^\d+$/.test(value) ? Number.NaN : Number(value)
  return Number.isSafeInteger(runs) && runs > 0
    ? Effect.succeed({ ...retention, maxRuns: runs })
    : Effect.fail(usageError(`${flag} needs a number of runs above 0, got ${value ?? "nothing"}`))
}

const parsePort = (flag: string, value: string | undefined) => {
  const port = value === undefined || value === "" ? Number.NaN : Number(value)
  return Number.isInteger(port) && port >= 0 && port <= 65535
    ? Effect.succeed(port)
    : Effect.fail(usageError(`${flag} needs a port number (0-65535), got ${value ?? "nothing"}`))
}

/** Parses the flags (`--flag value` or `--flag=value`). */
const parseArgs = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    let grpcPort = defaultGrpcPort
    let httpPort = defaultHttpPort
    let stateDir = defaultStateDir
    let printEnv = false
    let help = false
    let retention: Engine.RetentionOptions | false | undefined
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      const eq = arg.indexOf("=")
      const flag = eq === -1 ? arg : arg.slice(0, eq)
      const inline = eq === -1 ? undefined : arg.slice(eq + 1)
      const value = () => inline ?? argv[++i]
      switch (flag) {
        case "--grpc-port":
          grpcPort = yield* parsePort(flag, value())
          break
        case "--http-port":
          httpPort = yield* parsePort(flag, value())
          break
        case "--state-dir": {
          const dir = value()
          if (dir === undefined || dir === "") return yield* usageError(`${flag} needs a directory`)
          stateDir = dir
          break
        }
        case "--retention-max-age":
        case "--retention-max-runs":
          retention = yield* retentionFlag(flag, value(), retention)
          break
        case "--no-retention":
          if (inline !== undefined) return yield* usageError(`${flag} takes no value`)
          if (retention !== undefined) return yield* usageError(`${flag} cannot go with the other retention flags`)
          retention = false
          break
        case "--print-env":
        case "--help":
        case "-h":
          if (inline !== undefined) return yield* usageError(`${flag} takes no value`)
          if (flag === "--print-env") printEnv = true
          else help = true
          break
        default:
          return yield* usageError(`unknown argument ${arg}`)
      }
    }
    if (printEnv && (grpcPort === 0 || httpPort === 0)) {
      return yield* usageError("--print-env needs fixed ports (not 0): the token names them")
    }
    if (stateDir === "~" || stateDir.startsWith("~/")) stateDir = homedir() + stateDir.slice(1)
    return { grpcPort, httpPort, stateDir, printEnv, help, retention } satisfies Options
  })

/** The four lines, in the order SDK users expect them. */
const envLines = (token: Redacted.Redacted<string>, addresses: Identity.Addresses) =>
  [
    `HATCHET_CLIENT_TOKEN=${Redacted.value(token)}`,
    `HATCHET_CLIENT_HOST_PORT=${addresses.grpcAddress}`,
    `HATCHET_CLIENT_API_URL=${addresses.apiUrl}`,
    "HATCHET_CLIENT_TLS_STRATEGY=none"
  ].join("\n")

/** The stored token if it is still good for these addresses, else a new one (then stored). */
const currentToken = (stateDir: string, identity: Identity.Identity, addresses: Identity.Addresses) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const stored = Identity.reusableToken(identity, addresses, now)
    if (Option.isSome(stored)) return stored.value
    const token = Identity.mintToken(identity, addresses, now)
    yield* Identity.save(stateDir, { ...identity, token })
    if (identity.token !== undefined) {
      yield* Effect.logInfo("new token: the stored one names other ports, or expires within 30 days")
    }
    return token
  })

/** The innermost cause's message (the listen error under the engine's and the server's wrappers). */
const rootMessage = (error: unknown): string => {
  let message = String(error)
  for (let cause = error; typeof cause === "object" && cause !== null; cause = (cause as { cause?: unknown }).cause) {
    if (cause instanceof Error && cause.message !== "") message = cause.message
  }
  return message
}

/** A listen failure, with the flag that gets around it. */
const startFailure = (error: Engine.EngineStartError, options: Options) => {
  const [server, port, flag] = error.server === "grpc"
    ? ["gRPC", options.grpcPort, "--grpc-port"]
    : ["REST", options.httpPort, "--http-port"]
  const detail = rootMessage(error)
  const taken = detail.includes("EADDRINUSE") ? "the port is in use (another hatchet-local, or a Hatchet?)" : detail
  return `hatchet-local: the ${server} server cannot listen on ${host}:${port}: ${taken}\n` +
    `pass ${flag} N to use another port (0 picks a free one)`
}

const serve = (options: Options, identity: Identity.Identity) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const addresses = { apiUrl: engine.apiUrl, grpcAddress: engine.grpcAddress }
    const token = yield* currentToken(options.stateDir, identity, addresses)
    yield* Console.log(envLines(token, addresses))
    yield* Effect.logInfo(`hatchet-local listening: gRPC ${engine.grpcAddress}, REST ${engine.apiUrl}`)
    yield* Effect.logInfo(
      "only the identity survives a restart: runs, workflows, schedules, crons and workers' registrations live in memory"
    )
    return yield* Effect.never
  }).pipe(
    Effect.provide(Engine.layer({
      host,
      grpcPort: options.grpcPort,
      httpPort: options.httpPort,
      tenantId: identity.tenantId,
      tokenSecret: identity.secret,
      retention: options.retention
    }))
  )

const exitWith = (message: string, code: number) => Effect.as(Console.error(message), code)

const run = (options: Options) =>
  Effect.gen(function*() {
    const loaded = yield* Identity.loadOrCreate(options.stateDir, Engine.defaultTenantId)
    yield* Effect.logInfo(`${loaded.created ? "new identity written to" : "identity read from"} ${loaded.file}`)
    if (loaded.tightened) yield* Effect.logWarning(`${loaded.file} was readable by other users: its mode is now 0600`)
    if (!options.printEnv) return yield* serve(options, loaded.identity)
    const addresses = { apiUrl: `http://${host}:${options.httpPort}`, grpcAddress: `${host}:${options.grpcPort}` }
    yield* Console.log(envLines(yield* currentToken(options.stateDir, loaded.identity, addresses), addresses))
    return 0
  }).pipe(
    Effect.catchTags({
      IdentityError: (error) => exitWith(error.message, 1),
      EngineStartError: (error) => exitWith(startFailure(error, options), 1),
      EngineOptionsError: (error) => exitWith(error.message, 2)
    })
  )

/**
 * Runs `hatchet-local` with these arguments: prints the help, the variables (`--print-env`), or
 * serves until interrupted. Succeeds with the exit code: 0, 2 for bad arguments, 1 for a state
 * directory or a port it cannot use (the message on stderr says what to do).
 */
export const main = (argv: ReadonlyArray<string>) =>
  parseArgs(argv).pipe(
    Effect.matchEffect({
      onFailure: (error) => exitWith(error.message, 2),
      onSuccess: (options) => options.help ? Effect.as(Console.log(help), 0) : run(options)
    })
  )
