/**
 * Plain routes: REST handlers written as synchronous functions of the request (path parameters,
 * URL, `Authorization` header) and the engine, answering JSON bytes. They are registered in the
 * `HttpRouter` like any route, and the hottest of them (the run list the SDKs poll, a run's
 * details) are also answered straight from Node's `request` event (`serveLean`), without the
 * per-request machinery of the Effect HTTP server (request wrapper, router, handler fiber, span,
 * response conversion: about 100 to 120 KiB allocated per request, whose young-generation collections set
 * the list's p99). Both ways run the same function, so they answer the same status, headers and
 * bytes; the lean way takes only the canonical form of a path (see `matchCanonical`) and leaves
 * every other request, and any defect, to the router.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { EngineAuth, EngineAuthService } from "../auth/EngineAuth.js"
import type { EngineCore, EngineCoreService } from "../core.js"
import { jsonWriter } from "./jsonBytes.js"
import { jsonContentType, type JsonReply, type PlainRequest, plainRequest, replyResponse } from "./rest.js"

/** A GET route whose handler answers synchronously, its refusals as error replies (`errorReply`). */
export interface PlainRoute {
  /** The router's path, `:name` for a parameter. */
  readonly path: `/${string}`
  readonly handler: (request: PlainRequest) => JsonReply
}

/** The routes as `HttpRouter` GET routes. */
export const router = (routes: ReadonlyArray<PlainRoute>): HttpRouter.HttpRouter<never, EngineCore | EngineAuth> =>
  routes.reduce(
    (router, route) =>
      HttpRouter.get(
        router,
        route.path,
        Effect.map(plainRequest, (request) => replyResponse(route.handler(request)))
      ),
    HttpRouter.empty as HttpRouter.HttpRouter<never, EngineCore | EngineAuth>
  )

/** A path segment the router takes as it is: no percent-encoding or anything else it rewrites. */
const plainSegment = /^[A-Za-z0-9-]+$/

/**
 * The route's parameters when `pathname` is the route's path in its canonical form: the same
 * number of segments, every literal segment spelled exactly (the router also takes other cases,
 * a trailing or doubled slash, percent-encoding), every parameter made of letters, digits and
 * `-` (so that it needs no decoding). Anything else is the router's to match.
 */
export const matchCanonical = (path: string, pathname: string): Record<string, string> | undefined => {
  const expected = path.split("/")
  const actual = pathname.split("/")
  if (expected.length !== actual.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < expected.length; i++) {
    const segment = expected[i]!
    if (segment.startsWith(":")) {
      if (!plainSegment.test(actual[i]!)) return undefined
      params[segment.slice(1)] = actual[i]!
    } else if (segment !== actual[i]) {
      return undefined
    }
  }
  return params
}

/**
 * A Node `request` listener step for `routes`: answers a GET whose path is one of the routes'
 * canonical paths as the router would (status, `content-type`, `content-length`, body) and
 * returns true; returns false, having written nothing, for any other request, and when the
 * handler throws (a defect: the router then answers it, logging the defect).
 */
export const serveLean = (
  routes: ReadonlyArray<PlainRoute>,
  engine: { readonly core: EngineCoreService; readonly auth: EngineAuthService; readonly clock: Clock.Clock }
) =>
(request: IncomingMessage, response: ServerResponse): boolean => {
  if (request.method !== "GET" || request.url === undefined) return false
  const url = request.url
  const query = url.indexOf("?")
  const pathname = query < 0 ? url : url.slice(0, query)
  for (const route of routes) {
    const params = matchCanonical(route.path, pathname)
    if (params === undefined) continue
    let reply: JsonReply
    let body: Buffer
    try {
      reply = route.handler({
        params,
        url,
        authorization: request.headers["authorization"],
        core: engine.core,
        auth: engine.auth,
        now: engine.clock.unsafeCurrentTimeMillis()
      })
      body = jsonWriter.lend(reply.write)
    } catch {
      return false
    }
    response.writeHead(reply.status, { "content-type": jsonContentType, "content-length": String(body.length) })
    response.end(body)
    // nothing left queued (in the response or its socket): Node handed the body to the socket at
    // once, so the writer's buffer is free again; otherwise the writer takes another
    if (response.writableLength === 0) jsonWriter.giveBack()
    return true
  }
  return false
}
