#!/usr/bin/env node
/**
 * `hatchet-local [--grpc-port N] [--http-port N]`: runs the local engine until SIGINT or SIGTERM,
 * then exits 0. Once both servers listen it prints exactly four lines on stdout:
 *
 *   HATCHET_CLIENT_TOKEN=<jwt>
 *   HATCHET_CLIENT_HOST_PORT=127.0.0.1:<grpc port>
 *   HATCHET_CLIENT_API_URL=http://127.0.0.1:<http port>
 *   HATCHET_CLIENT_TLS_STRATEGY=none
 *
 * Logs go to stderr.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect, Logger } from "effect"
import * as Engine from "../Engine.js"

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const usage = "usage: hatchet-local [--grpc-port N] [--http-port N]"

const parsePort = (flag: string, value: string | undefined) => {
  const port = value === undefined ? Number.NaN : Number(value)
  return Number.isInteger(port) && port >= 0 && port <= 65535
    ? Effect.succeed(port)
    : Effect.fail(new UsageError({ message: `${flag} needs a port number (0-65535), got ${value ?? "nothing"}\n${usage}` }))
}

/** Parses `--grpc-port N`, `--http-port N` (also `--flag=N`). */
const parseArgs = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const options: { grpcPort?: number; httpPort?: number } = {}
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
