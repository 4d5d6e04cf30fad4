#!/usr/bin/env node
/**
 * `hatchet-local [--grpc-port N] [--http-port N] [--retention-max-age D] [--retention-max-runs N] [--no-retention]`:
 * runs the local engine until SIGINT or SIGTERM,
 * then exits 0. Once both servers listen it prints exactly four lines on stdout:
 *
 *   HATCHET_CLIENT_TOKEN=<jwt>
 *   HATCHET_CLIENT_HOST_PORT=127.0.0.1:<grpc port>
 *   HATCHET_CLIENT_API_URL=http://127.0.0.1:<http port>
 *   HATCHET_CLIENT_TLS_STRATEGY=none
 *
 * Logs go to stderr. The retention flags bound what the engine keeps (`Engine.RetentionOptions`):
 * finished runs older than `--retention-max-age` (a Go duration such as `24h`; default 1 day) or
 * beyond `--retention-max-runs` per tenant (default 10,000) are deleted; `--no-retention` keeps
 * everything.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Duration, Effect, Logger } from "effect"
import * as Engine from "../Engine.js"
import { parseDuration } from "../internal/domain/duration.js"

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const usage = "usage: hatchet-local [--grpc-port N] [--http-port N] [--retention-max-age DURATION] [--retention-max-runs N] [--no-retention]"

const retentionFlags = (flag: string, value: string | undefined, retention: Engine.RetentionOptions | false | undefined) => {
  if (retention === false) return Effect.fail(new UsageError({ message: `${flag} cannot go with --no-retention\n${usage}` }))
  if (flag === "--retention-max-age") {
    const ms = value === undefined ? undefined : parseDuration(value)
    return ms !== undefined && ms > 0
      ? Effect.succeed({ ...retention, maxAge: Duration.millis(ms) })
      : Effect.fail(new UsageError({ message: `${flag} needs a duration such as 24h or 90m, got ${value ?? "nothing"}\n${usage}` }))
  }
  const runs = value === undefined || !/^\d+$/.test(value) ? Number.NaN : Number(value)
  return Number.isSafeInteger(runs) && runs > 0
    ? Effect.succeed({ ...retention, maxRuns: runs })
    : Effect.fail(new UsageError({ message: `${flag} needs a number of runs above 0, got ${value ?? "nothing"}\n${usage}` }))
}

const parsePort = (flag: string, value: string | undefined) => {
  const port = value === undefined ? Number.NaN : Number(value)
  return Number.isInteger(port) && port >= 0 && port <= 65535
    ? Effect.succeed(port)
    : Effect.fail(new UsageError({ message: `${flag} needs a port number (0-65535), got ${value ?? "nothing"}\n${usage}` }))
}

/** Parses `--grpc-port N`, `--http-port N` (also `--flag=N`). */
const parseArgs = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const options: { grpcPort?: number; httpPort?: number; retention?: Engine.RetentionOptions | false } = {}
    for (let i = 0; i < argv.length; i++) {
      const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined]
      const value = () => inline ?? argv[++i]
      switch (flag) {
        case "--grpc-port":
          options.grpcPort = yield* parsePort(flag, value())
          break
        case "--http-port":
          options.httpPort = yield* parsePort(flag, value())
          break
        case "--retention-max-age":
        case "--retention-max-runs":
          options.retention = yield* retentionFlags(flag, value(), options.retention)
          break
        case "--no-retention":
          if (options.retention !== undefined) {
            return yield* new UsageError({ message: `--no-retention cannot go with the other retention flags\n${usage}` })
          }
          options.retention = false
          break
        default:
          return yield* new UsageError({ message: `unknown argument ${argv[i]}\n${usage}` })
      }
    }
    return options
  })

const main = Effect.gen(function*() {
  const options = yield* parseArgs(process.argv.slice(2))
  yield* Effect.gen(function*() {
    const engine = yield* Engine.Engine
    yield* Console.log(
      [
        `HATCHET_CLIENT_TOKEN=${engine.env.HATCHET_CLIENT_TOKEN}`,
        `HATCHET_CLIENT_HOST_PORT=${engine.env.HATCHET_CLIENT_HOST_PORT}`,
        `HATCHET_CLIENT_API_URL=${engine.env.HATCHET_CLIENT_API_URL}`,
        `HATCHET_CLIENT_TLS_STRATEGY=${engine.env.HATCHET_CLIENT_TLS_STRATEGY}`
      ].join("\n")
    )
    yield* Effect.logInfo(`hatchet-local listening: gRPC ${engine.grpcAddress}, REST ${engine.apiUrl}`)
    return yield* Effect.never
  }).pipe(Effect.provide(Engine.layer(options)))
}).pipe(
  Effect.tapErrorTag("UsageError", (e) => Console.error(e.message)),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
)

NodeRuntime.runMain(main, { disablePrettyLogger: true })
