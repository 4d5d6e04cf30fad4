/**
 * A fault-injecting TCP proxy on loopback, for chaos tests of gRPC clients and workers: put it
 * between a client and a server (point the client at `proxy.address`) and break the network on
 * purpose.
 *
 * - pass-through by default: every accepted connection gets its own upstream connection, bytes
 *   flow both ways with backpressure;
 * - `freeze` stops the open connections silently: nothing is forwarded in either direction, no
 *   FIN or RST is sent, both sockets stay open. Each side keeps writing into a dead pipe; only a
 *   timeout of its own (an HTTP/2 keepalive ping, a call deadline) can tell. With
 *   `{ newConnections: true }` connections accepted while frozen hang too (a full partition;
 *   a connect attempt then waits for its own timeout), otherwise they are forwarded (a stale
 *   middlebox flow: old connections are dead, new ones work);
 * - `thaw` resumes every frozen connection (what was held back is delivered, as TCP would after
 *   a partition heals) and forwards new connections again;
 * - `reset` destroys every open connection with a TCP RST on both sides.
 *
 * When the target refuses a connection, the accepted socket is reset, so the client sees a
 * connection reset (UNAVAILABLE in gRPC) rather than a refused connect.
 *
 * Closing the scope closes the listening socket and destroys every connection.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
 * import { Engine } from "@effect-hatchet/engine"
 * import { TcpProxy } from "@effect-hatchet/testing"
 *
 * it.scopedLive("the worker survives a stalled connection", () =>
 *   Effect.gen(function*() {
 *     const engine = yield* Engine.Engine
 *     const proxy = yield* TcpProxy.make({ target: engine.grpcAddress })
 *     // ... a worker whose HatchetConfig hostPort is proxy.address ...
 *     yield* proxy.freeze()
 *     // ... assert the worker notices and recovers on a new connection ...
 *   }).pipe(Effect.provide(Engine.layer())))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/tcpProxy.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TcpProxyOptions {
  /** Where to forward connections, `host:port`. */
  readonly target: string
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Port to listen on; 0 (the default) picks a free port. */
  readonly port?: number | undefined
}

/**
 * What the proxy saw so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface TcpProxyStats {
  /** Connections accepted since the proxy started. */
  readonly accepted: number
  /** Connections open now (frozen ones included). */
  readonly open: number
  /** Connections open now and frozen. */
  readonly frozen: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TcpProxyShape {
  /** `host:port` to point clients at. */
  readonly address: string
  readonly port: number
  /**
   * Stops forwarding on every open connection, silently (sockets stay open). With
   * `newConnections: true`, connections accepted until `thaw` are frozen as well.
   */
  readonly freeze: (options?: { readonly newConnections?: boolean | undefined }) => Effect.Effect<void>
  /** Resumes every frozen connection and forwards new connections again. */
  readonly thaw: Effect.Effect<void>
  /** Destroys every open connection (TCP RST to both peers); returns how many. */
  readonly reset: Effect.Effect<number>
  readonly stats: Effect.Effect<TcpProxyStats>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TcpProxy extends Context.Tag("@effect-hatchet/testing/TcpProxy")<TcpProxy, TcpProxyShape>() {}

/**
 * The proxy could not listen (port taken, bad host) or the target is not `host:port`.
 *
 * @since 0.1.0
 * @category errors
 */
export const TcpProxyError: typeof internal.TcpProxyError = internal.TcpProxyError

/**
 * @since 0.1.0
 * @category errors
 */
export type TcpProxyError = internal.TcpProxyError

/**
 * Starts a proxy in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: TcpProxyOptions) => Effect.Effect<TcpProxyShape, TcpProxyError, Scope.Scope> = internal.make

/**
 * The proxy as a scoped layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: TcpProxyOptions): Layer.Layer<TcpProxy, TcpProxyError> => Layer.scoped(TcpProxy, make(options))
