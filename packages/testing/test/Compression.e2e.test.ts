/**
 * Our SDK's gzip against the local engine, over loopback gRPC. With `grpcCompression: "gzip"` and
 * `grpcCompressionMinBytes: 0` the client and the worker compress every message they send, as the
 * official SDKs do; the engine takes the compressed trigger and the compressed result and answers
 * as it does to plain messages. A byte counter between them shows what crossed the wire: the same
 * run without compression (the default against a loopback engine) sends its 200 KB input and
 * output as they are.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
import type * as HatchetConfig from "@effect-hatchet/sdk/HatchetConfig"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schema } from "effect"
import * as net from "node:net"

const Echo = Task.make("gzip-echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String, length: Schema.Number })
})
const EchoLive = Echo.toLayer(({ text }) => Effect.succeed({ text, length: text.length }))

/** A TCP relay to `target` that counts the bytes its clients send. */
const countingRelay = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly address: string; readonly sent: () => number; readonly server: net.Server }>((resume) => {
      const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))]
      let sent = 0
      const server = net.createServer((socket) => {
        const upstream = net.connect(port, host)
        socket.on("data", (chunk: Buffer) => {
          sent += chunk.length
        })
        socket.pipe(upstream).pipe(socket)
        const close = () => {
          socket.destroy()
          upstream.destroy()
        }
        socket.on("error", close).on("close", close)
        upstream.on("error", close).on("close", close)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port: own } = server.address() as net.AddressInfo
        resume(Effect.succeed({ address: `127.0.0.1:${own}`, sent: () => sent, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

/**
 * One run of `Echo` with `text`, from a client and a worker on one channel through a counting
 * relay, with `compression`; what the run returned and the bytes the channel sent.
 */
const echoThroughRelay = (
  text: string,
  compression: Pick<HatchetConfig.Options, "grpcCompression" | "grpcCompressionMinBytes">
) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const relay = yield* countingRelay(engine.grpcAddress)
    const client = yield* Layer.build(
      Hatchet.layer({
        token: engine.token,
        hostPort: relay.address,
        apiUrl: engine.apiUrl,
        tlsStrategy: "none",
        ...compression
      }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))
    )
    yield* Layer.build(
      Worker.layer({ name: "gzip", slots: 2, workflows: [EchoLive] }).pipe(Layer.provide(Layer.succeedContext(client)))
    )
    const output = yield* Hatchet.run(Echo, { text }).pipe(Effect.provide(client))
    return { output, sent: relay.sent() }
  }))

/** 200 KB that gzip makes small. */
const text = "the engine takes what the worker compressed; ".repeat(4_500)

layer(Engine.layer(), { timeout: 30_000, excludeTestServices: true })("gzip from our SDK to the local engine", (it) => {
  it.scoped("a run's input and result sent gzip-compressed come back whole; uncompressed, the same bytes cross as they are", () =>
    Effect.gen(function*() {
      const gzip = yield* echoThroughRelay(text, { grpcCompression: "gzip", grpcCompressionMinBytes: 0 })
      expect(gzip.output).toEqual({ text, length: text.length })

      const plain = yield* echoThroughRelay(text, {})
      expect(plain.output).toEqual({ text, length: text.length })

      // without compression the trigger's input and the worker's result each carry the 200 KB
      expect(plain.sent).toBeGreaterThan(2 * text.length)
      // with it, both together are a small fraction of one
      expect(gzip.sent).toBeLessThan(text.length / 4)
    }))
})
