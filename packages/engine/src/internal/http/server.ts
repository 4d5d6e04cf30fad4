/**
 * The engine's REST server: `@effect/platform` `HttpRouter` on `@effect/platform-node`
 * `NodeHttpServer`, bound to the engine's host. Unknown routes answer 404 `{"message":"Not Found"}`.
 * The routes the SDKs poll (`Routes.hot`: the run list, a run's details) are answered first,
 * straight from Node's request event, by `PlainRoutes.serveLean` (same function, same answer,
 * without the per-request Effect machinery); every other request goes to the router.
 * It can be stopped (every connection dropped) and started again on the same port; the listening
 * server is a `ScopedRef`, closed with the engine's scope.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Context, Effect, ScopedRef } from "effect"
import { createServer } from "node:http"
import type { EngineAuthService } from "../auth/EngineAuth.js"
import { EngineAuth } from "../auth/EngineAuth.js"
import type { EngineCoreService } from "../core.js"
import { EngineCore } from "../core.js"
import * as PlainRoutes from "./plainRoutes.js"
import { json } from "./rest.js"
import * as Routes from "./routes/index.js"

export interface HttpServer {
  /** Starts listening (port 0 picks a free port); returns the bound port. */
  readonly listen: (port: number) => Effect.Effect<number, unknown>
  /** Stops listening and drops every connection. */
  readonly stop: Effect.Effect<void>
}

/**
 * Unknown routes are 404; a handler that dies (a bug) answers echo's 500 `{"message":"Internal
 * Server Error"}` and is logged, never a 500 with an empty body.
 */
const app = Routes.all.pipe(
  Effect.catchTag("RouteNotFound", () => Effect.succeed(json({ message: "Not Found" }, 404))),
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.as(Effect.logError("REST handler defect", cause), json({ message: "Internal Server Error" }, 500))
  )
)

export const make = (options: {
  readonly host: string
  readonly core: EngineCoreService
  readonly auth: EngineAuthService
  /** Whether the hot routes are answered by `PlainRoutes.serveLean` (true by default; false: every request goes to the router). */
  readonly lean?: boolean | undefined
}) =>
  Effect.gen(function*() {
    const context = Context.make(EngineCore, options.core).pipe(Context.add(EngineAuth, options.auth))
    /** The bound port of the listening server, if any: replacing it closes that server. */
    const current = yield* ScopedRef.make((): number | undefined => undefined)
    const stop = ScopedRef.set(current, Effect.succeed(undefined))
    const serve = (port: number) =>
      Effect.gen(function*() {
        const handler = yield* NodeHttpServer.makeHandler(Effect.provide(app, context))
        const lean = options.lean === false
          ? () => false
          : PlainRoutes.serveLean(Routes.hot, { core: options.core, auth: options.auth, clock: yield* Effect.clock })
        const nodeServer = createServer((request, response) => {
          if (!lean(request, response)) handler(request, response)
        })
        const server = yield* NodeHttpServer.make(() => nodeServer, { port, host: options.host })
        // registered after the listener, so it runs first: idle keep-alive sockets must not hold the close
        yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
        return server.address._tag === "TcpAddress" ? server.address.port : port
      })
    const listen = (port: number) =>
      Effect.zipRight(ScopedRef.set(current, serve(port)), Effect.map(ScopedRef.get(current), (bound) => bound!))
    return { listen, stop } satisfies HttpServer
  })
