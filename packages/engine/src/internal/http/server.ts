/**
 * The engine's REST server: a Node HTTP server bound to the engine's host. The routes the SDKs
 * poll (`hotRoutes`: the run list, a run's details) are answered first, straight from Node's
 * request event, by `PlainRoutes.serveLean` (same function, same answer, without the per-request
 * Effect machinery); every other request goes to the `@effect/platform` router (./router.ts),
 * loaded on the first such request (requests that come meanwhile wait for it). Unknown routes
 * answer 404 `{"message":"Not Found"}`. It can be stopped (every connection dropped) and started
 * again on the same port; the listening server is a `ScopedRef`, closed with the engine's scope.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as ScopedRef from "effect/ScopedRef"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { EngineAuthService } from "../auth/EngineAuth.js"
import type { EngineCoreService } from "../core.js"
import * as PlainRoutes from "./plainRoutes.js"
import { hotRoutes } from "./routes/workflowRuns.js"

export interface HttpServer {
  /** Starts listening (port 0 picks a free port); returns the bound port. */
  readonly listen: (port: number) => Effect.Effect<number, unknown>
  /** Stops listening and drops every connection. */
  readonly stop: Effect.Effect<void>
}

export const make = (options: {
  readonly host: string
  readonly core: EngineCoreService
  readonly auth: EngineAuthService
  /** Whether the hot routes are answered by `PlainRoutes.serveLean` (true by default; false: every request goes to the router). */
  readonly lean?: boolean | undefined
}) =>
  Effect.gen(function*() {
    /** The bound port of the listening server, if any: replacing it closes that server. */
    const current = yield* ScopedRef.make((): number | undefined => undefined)
    const stop = ScopedRef.set(current, Effect.succeed(undefined))
    const serve = (port: number) =>
      Effect.gen(function*() {
        const runtime = yield* Effect.runtime<never>()
        type Handler = (request: IncomingMessage, response: ServerResponse) => void
        let router: Handler | undefined
        let loading: Promise<Handler> | undefined
        const loadRouter = () =>
          loading ??= Runtime.runPromise(
            runtime,
            Effect.flatMap(Effect.promise(() => import("./router.js")), (Router) => Router.makeHandler(options.core, options.auth))
          ).then((handler) => (router = handler))
        const lean = options.lean === false
          ? () => false
          : PlainRoutes.serveLean(hotRoutes, { core: options.core, auth: options.auth, clock: yield* Effect.clock })
        const nodeServer = createServer((request, response) => {
          if (lean(request, response)) return
          if (router !== undefined) return router(request, response)
          loadRouter().then((handler) => handler(request, response), (error) => {
            // the router could not load (a broken install): answer 500, never hang
            Runtime.runFork(runtime, Effect.logError("REST router failed to load", error))
            response.writeHead(500, { "content-type": "application/json" }).end(`{"message":"Internal Server Error"}`)
          })
        })
        // a client that ends its side of the connection once its request is sent still gets the
        // answer, however long it takes (the first request to the router waits for it to load);
        // Node's default ends the socket at once, which only an answer given in the same tick beat
        Object.assign(nodeServer, { httpAllowHalfOpen: true })
        yield* Effect.acquireRelease(
          Effect.async<void, Error>((resume) => {
            const failed = (error: Error) => resume(Effect.fail(error))
            nodeServer.once("error", failed)
            nodeServer.listen(port, options.host, () => {
              nodeServer.off("error", failed)
              resume(Effect.void)
            })
          }),
          () =>
            Effect.async<void>((resume) => {
              nodeServer.close(() => resume(Effect.void))
              // idle keep-alive sockets must not hold the close
              nodeServer.closeAllConnections()
            })
        )
        const address = nodeServer.address()
        return typeof address === "object" && address !== null ? address.port : port
      })
    const listen = (port: number) =>
      Effect.zipRight(ScopedRef.set(current, serve(port)), Effect.map(ScopedRef.get(current), (bound) => bound!))
    return { listen, stop } satisfies HttpServer
  })
