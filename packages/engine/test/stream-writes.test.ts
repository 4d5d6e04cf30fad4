/**
 * Server-stream writes that do not wait for one another (`internal/grpc/streamWrites.ts`): the
 * interceptor's acknowledgements against a fake call (at once within the window, then one per
 * completed write, in order; a unary response at once, unless grpc-js ended the call itself; unary
 * calls without an HTTP/2 stream untouched), a unary response's status in the same turn over
 * loopback (and grpc-js's own status for a response it refuses), the cork of an idle stream's burst until it
 * is over (against a fake HTTP/2 stream, and against grpc-js's own over loopback: a burst
 * leaves as one write, which also notices a grpc-js whose base call no longer has its `stream`),
 * and over loopback gRPC a worker's listen stream carrying hundreds of STARTs written back to
 * back, each once and in assignment order.
 */
import { ActionType, type AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it, layer } from "@effect/vitest"
import * as GrpcJs from "@grpc/grpc-js"
import type { ServerInterceptingCallInterface } from "@grpc/grpc-js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { http2StreamOf, unawaitedStreamWrites } from "../src/internal/grpc/streamWrites.js"
import * as Grpc from "./support/grpc.js"

/** A call that records what is sent and completes a write only when told (with `stream`, corkable). */
const fakeCall = (withStream = false) => {
  const sent: Array<unknown> = []
  const completions: Array<() => void> = []
  const log: Array<string> = []
  const stream = {
    writableCorked: 0,
    writableEnded: false,
    cork() {
      this.writableCorked++
      log.push("cork")
    },
    uncork() {
      this.writableCorked--
      log.push("uncork")
    }
  }
  const call = {
    ...(withStream ? { stream } : {}),
    sendMessage: (message: unknown, callback: () => void) => {
      sent.push(message)
      log.push(`write ${message}`)
      completions.push(callback)
    }
  } as unknown as ServerInterceptingCallInterface
  return { call, sent, log, complete: () => completions.shift()!() }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }

/**
 * A grpc-js server on loopback with one method `/test.<name>/<name>` (bytes in, bytes out), and a
 * client of it; both closed with the scope.
 */
const loopback = (
  options: GrpcJs.ServerOptions,
  name: string,
  responseStream: boolean,
  implementation: GrpcJs.UntypedHandleCall
) =>
  Effect.gen(function*() {
    const server = new GrpcJs.Server(options)
    server.addService({
      [name]: {
        path: `/test.${name}/${name}`,
        requestStream: false,
        responseStream,
        requestSerialize: bytes.serialize,
        requestDeserialize: bytes.deserialize,
        responseSerialize: bytes.serialize,
        responseDeserialize: bytes.deserialize
      }
    }, { [name]: implementation })
    const port = yield* Effect.async<number>((resume) =>
      server.bindAsync("127.0.0.1:0", GrpcJs.ServerCredentials.createInsecure(), (_error, port) => resume(Effect.succeed(port)))
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => server.forceShutdown()))
    const client = new GrpcJs.Client(`127.0.0.1:${port}`, GrpcJs.credentials.createInsecure())
    yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
    return client
  })

const method = (responseStream: boolean) => ({
  path: "/Dispatcher/ListenV2",
  requestStream: false,
  responseStream,
  requestDeserialize: (bytes: Buffer) => bytes,
  responseSerialize: (value: unknown) => value as Buffer
})

describe("unawaitedStreamWrites", () => {
  it("acknowledges a streamed message at once while fewer than `window` writes are incomplete, then one per completed write", () => {
    const { call, complete, sent } = fakeCall()
    const intercepted = unawaitedStreamWrites(2)(method(true), call)
    const acknowledged: Array<number> = []
    for (let i = 1; i <= 4; i++) intercepted.sendMessage(i, () => acknowledged.push(i))
    // every message reaches the HTTP/2 stream at once, in order
    expect(sent).toEqual([1, 2, 3, 4])
    expect(acknowledged).toEqual([1, 2])
    complete()
    expect(acknowledged).toEqual([1, 2, 3])
    complete()
    expect(acknowledged).toEqual([1, 2, 3, 4])
    // back within the window: acknowledged at once again
    complete()
    complete()
    intercepted.sendMessage(5, () => acknowledged.push(5))
    expect(acknowledged).toEqual([1, 2, 3, 4, 5])
  })

  it("corks an idle stream from a burst's first message until a run of the microtask queue writes nothing more; a busy stream queues without it", async () => {
    const { call, complete, log } = fakeCall(true)
    const intercepted = unawaitedStreamWrites(64)(method(true), call)
    for (let i = 1; i <= 2; i++) intercepted.sendMessage(i, () => {})
    // the burst goes on in a later run of the microtask queue (a tick queued from a microtask)
    queueMicrotask(() => process.nextTick(() => Promise.resolve().then(() => intercepted.sendMessage(3, () => {}))))
    expect(log).toEqual(["cork", "write 1", "write 2"])
    await nextTurn()
    expect(log.slice(3)).toEqual(["write 3", "uncork"])
    // writes still incomplete: the HTTP/2 stream queues behind them by itself
    intercepted.sendMessage(4, () => {})
    await nextTurn()
    expect(log.slice(5)).toEqual(["write 4"])
    for (let i = 0; i < 4; i++) complete()
    // idle again: the next burst is corked again
    intercepted.sendMessage(5, () => {})
    await nextTurn()
    expect(log.slice(6)).toEqual(["cork", "write 5", "uncork"])
  })

  it("corks nothing where the call has no HTTP/2 stream of grpc-js (another grpc-js, another interceptor)", () => {
    const { call, log } = fakeCall(false)
    expect(http2StreamOf(call)).toBeUndefined()
    const intercepted = unawaitedStreamWrites(64)(method(true), call)
    intercepted.sendMessage(1, () => {})
    expect(log).toEqual(["write 1"])
  })

  it.scopedLive("over loopback, grpc-js's own HTTP/2 stream is found and a burst on it leaves as one write, in order", () =>
    Effect.gen(function*() {
      // what the HTTP/2 stream was handed: a chunk count per native write (`_write` 1, `_writev` n)
      const writes: Array<number> = []
      const probe: GrpcJs.ServerInterceptor = (descriptor, call) => {
        const stream = http2StreamOf(call) as unknown as {
          _write: (...args: Array<unknown>) => void
          _writev: (chunks: ReadonlyArray<unknown>, ...rest: Array<unknown>) => void
        } | undefined
        // grpc-js 1.14 keeps the HTTP/2 stream in its base call's private `stream`: if that changes,
        // bursts are no longer corked (streamWrites.ts), and this fails
        expect(stream).toBeDefined()
        const write = stream!._write
        const writev = stream!._writev
        stream!._write = function(this: unknown, ...args) {
          writes.push(1)
          return write.apply(this, args)
        }
        stream!._writev = function(this: unknown, chunks, ...rest) {
          writes.push(chunks.length)
          return writev.apply(this, [chunks, ...rest])
        }
        return unawaitedStreamWrites()(descriptor, call)
      }
      const client = yield* loopback({ interceptors: [probe] }, "Burst", true, (call: GrpcJs.ServerWritableStream<Buffer, Buffer>) => {
        // a burst, written back to back on an idle stream, then the end after a turn
        for (const m of ["a", "b", "c", "d"]) call.write(Buffer.from(m))
        setImmediate(() => setImmediate(() => call.end()))
      })
      const received = yield* Effect.promise(() =>
        new Promise<Array<string>>((resolve, reject) => {
          const got: Array<string> = []
          const call = client.makeServerStreamRequest("/test.Burst/Burst", bytes.serialize, bytes.deserialize, Buffer.alloc(0))
          call.on("data", (b: Buffer) => got.push(b.toString()))
          call.on("error", reject)
          call.on("end", () => resolve(got))
        })
      )
      expect(received).toEqual(["a", "b", "c", "d"])
      // without the cork: the first alone (`_write`), the rest queued behind it ([1, 3])
      expect(writes).toEqual([4])
    }))

  it("leaves a unary call without an HTTP/2 stream as it came", () => {
    const { call } = fakeCall()
    expect(unawaitedStreamWrites()(method(false), call)).toBe(call)
  })

  it("acknowledges a unary response as soon as it is handed to the HTTP/2 stream, unless grpc-js ended the call itself", () => {
    const { call, log } = fakeCall(true)
    const stream = (call as unknown as { stream: { writableEnded: boolean } }).stream
    stream.writableEnded = false
    const acks: Array<number> = []
    const intercepted = unawaitedStreamWrites()(method(false), call)
    intercepted.sendMessage(1, () => acks.push(1))
    // at once: the write has not completed (the fake never completes it)
    expect(acks).toEqual([1])
    expect(log).toEqual(["write 1"])
    // a response grpc-js refused: it sent its own status and ended the stream
    stream.writableEnded = true
    intercepted.sendMessage(2, () => acks.push(2))
    expect(acks).toEqual([1])
  })

  it.scopedLive("over loopback, a unary response's status follows it in the same turn; a response grpc-js refuses keeps grpc-js's status", () =>
    Effect.gen(function*() {
      // what happened to each call's HTTP/2 stream: its response written, its end (the trailers), the write completed
      const log: Array<string> = []
      const probe: GrpcJs.ServerInterceptor = (descriptor, call) => {
        const stream = http2StreamOf(call) as unknown as {
          write: (chunk: unknown, callback?: (error?: Error | null) => void) => boolean
          end: (...args: Array<unknown>) => unknown
        } | undefined
        expect(stream).toBeDefined()
        const write = stream!.write
        const end = stream!.end
        stream!.write = function(this: unknown, chunk, callback) {
          log.push("write")
          return write.call(this, chunk, (error) => {
            log.push("written")
            callback?.(error)
          })
        }
        stream!.end = function(this: unknown, ...args) {
          log.push("end")
          return end.apply(this, args)
        }
        return unawaitedStreamWrites()(descriptor, call)
      }
      const client = yield* loopback(
        { interceptors: [probe], "grpc.max_send_message_length": 16 },
        "Echo",
        false,
        (call: GrpcJs.ServerUnaryCall<Buffer, Buffer>, callback: GrpcJs.sendUnaryData<Buffer>) => {
          const trailer = new GrpcJs.Metadata()
          trailer.set("x-echo", "yes")
          callback(null, call.request, trailer)
        }
      )
      const echo = (message: string) =>
        Effect.promise(() =>
          new Promise<
            { readonly error: GrpcJs.ServiceError | null; readonly value?: string | undefined; readonly trailer?: string | undefined }
          >(
            (resolve) => {
              // grpc-js calls back with the outcome, then emits the status (with the trailers)
              let outcome: { readonly error: GrpcJs.ServiceError | null; readonly value?: string | undefined } | undefined
              const call = client.makeUnaryRequest(
                "/test.Echo/Echo",
                bytes.serialize,
                bytes.deserialize,
                Buffer.from(message),
                (error, value) => {
                  outcome = { error, value: value?.toString() }
                }
              )
              call.on(
                "status",
                (status: GrpcJs.StatusObject) => resolve({ ...outcome!, trailer: status.metadata.get("x-echo")[0]?.toString() })
              )
            }
          )
        )
      const ok = yield* echo("hello")
      expect(ok).toEqual({ error: null, value: "hello", trailer: "yes" })
      // the end (and so the trailers) went out before the response's write completed
      expect(log).toEqual(["write", "end", "written"])
      // over the server's 16-byte limit: grpc-js's own RESOURCE_EXHAUSTED, nothing acknowledged after it
      const refused = yield* echo("a response longer than sixteen bytes")
      expect(refused.error?.code).toBe(GrpcJs.status.RESOURCE_EXHAUSTED)
      expect(refused.error?.details).toMatch(/larger than max/)
      // the server goes on serving
      expect((yield* echo("again")).value).toBe("again")
    }))
})

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("a listen stream over loopback", (it) => {
  it.scoped("delivers hundreds of STARTs written back to back, each once, in assignment order", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const name = `writes-${Math.random().toString(36).slice(2, 8)}`
      yield* Grpc.putWorkflow(c, name)
      const count = 600
      const { workerId } = yield* Effect.promise(() =>
        c.dispatcher.register({ workerName: name, actions: [`${name}:t`], slotConfig: { default: count } })
      )
      const controller = new AbortController()
      yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
      const iterator = c.dispatcher.listenV2({ workerId }, { signal: controller.signal })[Symbol.asyncIterator]()
      const first = iterator.next() // opens the stream
      yield* Effect.promise(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }))
      const { workflowRunIds } = yield* Effect.promise(() =>
        c.workflows.bulkTriggerWorkflow({
          workflows: Array.from({ length: count }, (_, i) => ({ name, input: JSON.stringify({ i }), desiredWorkerLabels: {} }))
        })
      )
      const actions: Array<AssignedAction> = [(yield* Effect.promise(() => first)).value]
      while (actions.length < count) actions.push((yield* Effect.promise(() => iterator.next())).value)
      expect(actions.every((a) => a.actionType === ActionType.START_STEP_RUN)).toBe(true)
      // one START per run, in the order the runs were assigned (the trigger's order), inputs intact
      expect(actions.map((a) => a.workflowRunId)).toEqual(workflowRunIds)
      expect(actions.map((a) => JSON.parse(a.actionPayload).input.i)).toEqual(workflowRunIds.map((_, i) => i))
    }))
})
