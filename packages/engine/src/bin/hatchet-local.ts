#!/usr/bin/env node
/**
 * `hatchet-local`: runs the local engine until SIGINT or SIGTERM, then exits 0 (`--help` lists the
 * flags). Once both servers listen it prints exactly four lines on stdout:
 *
 *   HATCHET_CLIENT_TOKEN=<jwt>
 *   HATCHET_CLIENT_HOST_PORT=127.0.0.1:<grpc port>
 *   HATCHET_CLIENT_API_URL=http://127.0.0.1:<http port>
 *   HATCHET_CLIENT_TLS_STRATEGY=none
 *
 * The signing secret, tenant and token are kept in a state directory, so an engine started again
 * with the same directory and ports accepts the tokens workers already hold, and prints the same
 * token. Logs go to stderr; bad arguments exit 2, other failures 1.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Cli from "../internal/cli.js"

Cli.main(process.argv.slice(2)).pipe(
  Effect.flatMap((code) =>
    Effect.sync(() => {
      process.exitCode = code
    })
  ),
  // the file system and paths of the state directory: all of the Node platform the CLI uses
  Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
  (program) => NodeRuntime.runMain(program, { disablePrettyLogger: true })
)
