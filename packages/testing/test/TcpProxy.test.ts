/**
 * The TCP proxy against a loopback echo server: pass-through, freeze (silent, sockets open),
 * thaw (held bytes delivered), reset (RST to both peers), frozen new connections, scope close.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as net from "node:net"
import * as TcpProxy from "../src/TcpProxy.js"

/** An echo server; counts the connections it saw close. */
const echoServer = Effect.acquireRelease(
  Effect.async<{ readonly server: net.Server; readonly address: string; readonly closed: () => number }>((resume) => {
    let closed = 0
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => {
        sockets.delete(socket)
        closed++
      })
      socket.pipe(socket)
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        server,
        address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        closed: () => closed
      })))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

interface Client {
  readonly socket: net.Socket
  readonly received: () => string
  readonly error: () => string | undefined
  readonly closed: () => boolean
}

/** A client socket that records what it receives and how it ends. */
const connect = (address: string) =>
  Effect.acquireRelease(
    Effect.async<Client, Error>((resume) => {
      const [host, port] = address.split(":")
      const socket = net.connect({ host: host!, port: Number(port) })
      let received = ""
      let error: string | undefined
      let closed = false
      socket.on("data", (chunk) => (received += chunk.toString()))
      socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
      socket.on("close", () => (closed = true))
      const refused = (e: Error) => resume(Effect.fail(e))
      socket.once("error", refused)
      socket.once("connect", () => {
        socket.off("error", refused)
        resume(Effect.succeed({ socket, received: () => received, error: () => error, closed: () => closed }))
      })
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

/** Polls `check` every 10 ms until it holds (dies after 5 s). */
const eventually = (check: () => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5_000
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage("condition not met in 5 s")
      yield* Effect.sleep("10 millis")
    }
  })

/** An echo server behind a proxy, and a client whose `first` bytes made the round trip. */
const echoThroughProxy = (first: string) =>
  Effect.gen(function*() {
    const echo = yield* echoServer
    const proxy = yield* TcpProxy.make({ target: echo.address })
    const client = yield* connect(proxy.address)
    client.socket.write(first)
    yield* eventually(() => client.received() === first)
    return { echo, proxy, client }
  })

/** Lets the event loop run for a while (to show that nothing happens). */
const settle = Effect.sleep("150 millis")

describe("TcpProxy", () => {
  it.scopedLive("forwards bytes both ways", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* echoThroughProxy("hello")
      client.socket.write(" again")
      yield* eventually(() => client.received() === "hello again")
      expect(yield* proxy.stats).toEqual({ accepted: 1, open: 1, frozen: 0 })
    }))

  it.scopedLive("freeze holds every byte with the sockets open; thaw delivers them", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* echoThroughProxy("a")

      yield* proxy.freeze()
      client.socket.write("b")
      yield* settle
      expect(client.received()).toBe("a")
      expect(client.closed()).toBe(false)
      expect(client.error()).toBeUndefined()
      expect(yield* proxy.stats).toEqual({ accepted: 1, open: 1, frozen: 1 })

      // a connection opened while frozen (default) is forwarded
      const fresh = yield* connect(proxy.address)
      fresh.socket.write("c")
      yield* eventually(() => fresh.received() === "c")

      yield* proxy.thaw
      yield* eventually(() => client.received() === "ab")
      expect(yield* proxy.stats).toEqual({ accepted: 2, open: 2, frozen: 0 })
    }))

  it.scopedLive("a close on one side does not travel through a frozen connection", () =>
    Effect.gen(function*() {
      const { client, echo, proxy } = yield* echoThroughProxy("x")
      yield* proxy.freeze()
      client.socket.end()
      yield* settle
      expect(echo.closed()).toBe(0)
      yield* proxy.thaw
      yield* eventually(() => echo.closed() === 1)
    }))

  it.scopedLive("freeze with newConnections: new connections hang until thaw", () =>
    Effect.gen(function*() {
      const echo = yield* echoServer
      const proxy = yield* TcpProxy.make({ target: echo.address })
      yield* proxy.freeze({ newConnections: true })
      const client = yield* connect(proxy.address)
      client.socket.write("late")
      yield* settle
      expect(client.received()).toBe("")
      expect(yield* proxy.stats).toEqual({ accepted: 1, open: 1, frozen: 1 })
      yield* proxy.thaw
      yield* eventually(() => client.received() === "late")
    }))

  it.scopedLive("reset destroys every connection with an RST; new connections work", () =>
    Effect.gen(function*() {
      const echo = yield* echoServer
      const proxy = yield* TcpProxy.make({ target: echo.address })
      const a = yield* connect(proxy.address)
      const b = yield* connect(proxy.address)
      yield* eventually(() => echo.closed() === 0 && a.socket.readyState === "open" && b.socket.readyState === "open")
      yield* proxy.freeze()
      expect(yield* proxy.reset).toBe(2)
      yield* eventually(() => a.closed() && b.closed() && echo.closed() === 2)
      expect(a.error()).toBe("ECONNRESET")
      yield* proxy.thaw
      const c = yield* connect(proxy.address)
      c.socket.write("again")
      yield* eventually(() => c.received() === "again")
    }))

  it.scopedLive("a refused upstream connection resets the client", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(echoServer, (echo) => echo.address))
      const proxy = yield* TcpProxy.make({ target: port })
      const client = yield* connect(proxy.address)
      yield* eventually(() => client.closed())
      expect(client.error()).toBe("ECONNRESET")
    }))

  it.scopedLive("closing the scope closes the listener and every connection", () =>
    Effect.gen(function*() {
      const echo = yield* echoServer
      const scope = yield* Scope.make()
      const proxy = yield* TcpProxy.make({ target: echo.address }).pipe(Scope.extend(scope))
      const client = yield* connect(proxy.address)
      yield* proxy.freeze()
      yield* Scope.close(scope, Exit.void)
      yield* eventually(() => client.closed() && echo.closed() === 1)
      const refused = yield* Effect.flip(Effect.scoped(connect(proxy.address)))
      expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")
    }))

  it.effect("rejects a target that is not host:port", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(TcpProxy.make({ target: "localhost" })))
      expect(error._tag).toBe("TcpProxyError")
      expect(error.message).toContain(`"host:port"`)
    }))
})
