/**
 * The TCP proxy: a `net.Server` whose connections are pairs of sockets forwarded by hand, so
 * that forwarding can be stopped (the sockets paused, nothing read, nothing written) without
 * closing anything.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import type { TcpProxyOptions, TcpProxyShape } from "../TcpProxy.js"

/** See `TcpProxy.TcpProxyError`. */
export class TcpProxyError extends Data.TaggedError("TcpProxyError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** One proxied connection: the accepted socket and its upstream socket. */
interface Link {
  readonly client: net.Socket
  readonly upstream: net.Socket
  /** The upstream socket is connected (until then nothing flows). */
  connected: boolean
  frozen: boolean
  /** A side failed while the link was frozen: the other goes down on thaw. */
  broken: boolean
  /** What was read while frozen, per direction (`null`: the EOF); written on thaw. */
  readonly held: { readonly toUpstream: Array<Buffer | null>; readonly toClient: Array<Buffer | null> }
}

const parseTarget = (target: string): Effect.Effect<{ readonly host: string; readonly port: number }, TcpProxyError> => {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target)
  const port = match === null ? Number.NaN : Number(match[2])
  return match === null || !Number.isInteger(port) || port <= 0 || port > 65535
    ? Effect.fail(new TcpProxyError({ message: `TcpProxy: the target must be "host:port", got "${target}"` }))
    : Effect.succeed({ host: match[1]!, port })
}

export const make = (options: TcpProxyOptions): Effect.Effect<TcpProxyShape, TcpProxyError, Scope.Scope> =>
  Effect.gen(function*() {
    const target = yield* parseTarget(options.target)
    const host = options.host ?? "127.0.0.1"
    const links = new Set<Link>()
    let accepted = 0
    let freezeNew = false

    /** Ends a link abruptly: a TCP RST to both peers. */
    const destroy = (link: Link) => {
      links.delete(link)
      if (!link.client.destroyed) link.client.resetAndDestroy()
      if (!link.upstream.destroyed) link.upstream.resetAndDestroy()
    }

    /** Starts or resumes the flow of a connected, unfrozen link. */
    const flow = (link: Link) => {
      if (!link.connected || link.frozen) return
      if (link.broken) return destroy(link)
      release(link.held.toUpstream, link.upstream)
      release(link.held.toClient, link.client)
      link.client.resume()
      link.upstream.resume()
    }

    const release = (held: Array<Buffer | null>, to: net.Socket) => {
      for (const chunk of held.splice(0)) {
        if (chunk === null) to.end()
        else to.write(chunk)
      }
    }

    const freezeLink = (link: Link) => {
      link.frozen = true
      link.client.pause()
      link.upstream.pause()
    }

    /** Forwards `from` to `to` (backpressure: `from` pauses until `to` drains). */
    const forward = (link: Link, from: net.Socket, to: net.Socket, held: Array<Buffer | null>) => {
      from.on("data", (chunk: Buffer) => {
        if (link.frozen) {
          held.push(chunk)
          return
        }
        if (!to.write(chunk)) from.pause()
      })
      to.on("drain", () => {
        if (!link.frozen) from.resume()
      })
      // a half-close travels on, unless frozen
      from.on("end", () => {
        if (link.frozen) held.push(null)
        else to.end()
      })
      // a side that failed takes the other down, unless the link is frozen: then nothing travels
      from.on("error", () => {
        if (link.frozen) link.broken = true
        else destroy(link)
      })
      from.on("close", () => {
        if (link.client.destroyed && link.upstream.destroyed) links.delete(link)
        else if (!link.frozen) to.end()
      })
    }

    const onConnection = (client: net.Socket) => {
      accepted++
      const upstream = net.connect({ host: target.host, port: target.port })
      upstream.pause()
      const link: Link = {
        client,
        upstream,
        connected: false,
        frozen: false,
        broken: false,
        held: { toUpstream: [], toClient: [] }
      }
      links.add(link)
      if (freezeNew) freezeLink(link)
      client.setNoDelay(true)
      upstream.setNoDelay(true)
      forward(link, client, upstream, link.held.toUpstream)
      forward(link, upstream, client, link.held.toClient)
      upstream.once("connect", () => {
        link.connected = true
        flow(link)
      })
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server, TcpProxyError>((resume) => {
        // accepted sockets start paused: nothing is read before the upstream side is connected
        const server = net.createServer({ pauseOnConnect: true }, onConnection)
        const onError = (cause: unknown) =>
          resume(Effect.fail(
            new TcpProxyError({ message: `TcpProxy: could not listen on ${host}:${options.port ?? 0}`, cause })
          ))
        server.once("error", onError)
        server.listen(options.port ?? 0, host, () => {
          server.off("error", onError)
          resume(Effect.succeed(server))
        })
        return Effect.sync(() => server.close())
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const link of [...links]) destroy(link)
          server.close(() => resume(Effect.void))
        })
    )
    const port = (server.address() as net.AddressInfo).port

    return {
      address: `${host}:${port}`,
      port,
      freeze: (freeze = {}) =>
        Effect.sync(() => {
          freezeNew = freeze.newConnections === true
          for (const link of links) freezeLink(link)
        }),
      thaw: Effect.sync(() => {
        freezeNew = false
        for (const link of links) {
          link.frozen = false
          flow(link)
        }
      }),
      reset: Effect.sync(() => {
        const count = links.size
        for (const link of [...links]) destroy(link)
        return count
      }),
      stats: Effect.sync(() => {
        let frozen = 0
        for (const link of links) if (link.frozen) frozen++
        return { accepted, open: links.size, frozen }
      })
    } satisfies TcpProxyShape
  })
