/**
 * The engine's REST router: `@effect/platform` `HttpRouter` with every route, on
 * `@effect/platform-node`'s request handler. ./server.ts loads this module on the first request the
 * lean routes do not answer, so that an engine asked only for run lists and run details (what the
 * SDKs poll) never loads it, nor what `NodeHttpServer` brings (`ws`, `undici`, the Node platform
 * layers): about 6 MiB of heap, which every full GC would mark.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { EngineAuthService } from "../auth/EngineAuth.js"
import { EngineAuth } from "../auth/EngineAuth.js"
import type { EngineCoreService } from "../core.js"
import { EngineCore } from "../core.js"
import { json } from "./rest.js"
import * as Routes from "./routes/index.js"

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

/** A Node request listener answering every route of the router, for the engine's core and auth. */
export const makeHandler = (core: EngineCoreService, auth: EngineAuthService) =>
  NodeHttpServer.makeHandler(Effect.provide(app, Context.make(EngineCore, core).pipe(Context.add(EngineAuth, auth))))
