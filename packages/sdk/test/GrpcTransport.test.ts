import type { GetVersionResponse } from "@effect-hatchet/proto/dispatcher/dispatcher"
import {
  AssignedAction,
  DispatcherDefinition,
  StepActionEventType,
  WorkflowRunEventType
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Event, PushEventRequest } from "@effect-hatchet/proto/events/events"
import { describe, expect, it } from "@effect/vitest"
import { connectivityState } from "@grpc/grpc-js"
import { Chunk, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Queue, Stream } from "effect"
import { Metadata, ServerError, Status } from "nice-grpc"
import { spawn } from "node:child_process"
import http2 from "node:http2"
import path from "node:path"
import { fileURLToPath } from "node:url"
import zlib from "node:zlib"
import * as GrpcTransport from "../src/GrpcTransport.js"
import { HatchetConfig } from "../src/HatchetConfig.js"
import { GrpcError } from "../src/HatchetError.js"
import { TOKEN, transportLayer } from "./support/clientLayer.js"
import { loopbackServer } from "./support/grpcServer.js"

/** A promise that resolves when `signal` aborts (the server saw the client cancel). */
const onAbort = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener("abort", () => resolve(), { once: true })
  })

/**
 * A loopback server whose `ListenV2` sends an assignment per id, then waits (as ListenV2 does
 * between assignments) until the client cancels the call; `aborted` ends with that cancellation.
 */
const listenThenWait = (actionIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    let serverAborted: Promise<void> | undefined
    const server = yield* loopbackServer({
      dispatcher: {
        async *listenV2(_, ctx) {
          serverAborted = onAbort(ctx.signal)
          for (const actionId of actionIds) yield { actionId }
          await serverAborted
        }
      }
    })
    return { server, aborted: Effect.promise(() => serverAborted!) }
  })

/** Liveness guard for waiting on the server: not a speed assertion. */
const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("timed out (liveness guard)") }))

/**
 * SubscribeToWorkflowRuns answering each request with its run id; `serverAborted` resolves when
 * the server sees the call cancelled.
 */
const echoRunsServer = Effect.gen(function*() {
  let aborted: Promise<void> | undefined
  const server = yield* loopbackServer({
    dispatcher: {
      async *subscribeToWorkflowRuns(requests, ctx) {
        aborted = onAbort(ctx.signal)
        for await (const r of requests) yield { workflowRunId: r.workflowRunId }
        // A cancelled call also ends the request stream here; only a cancel fires the signal.
        await aborted
      }
    }
  })
  return { server, serverAborted: () => aborted ?? Promise.reject(new Error("the call never reached the server")) }
})

const withTransport = <A, E, R>(hostPort: string, f: (t: GrpcTransport.GrpcTransportShape) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(GrpcTransport.GrpcTransport, f).pipe(Effect.provide(Layer.orDie(transportLayer(hostPort))))

/**
 * A raw HTTP/2 server on loopback (no gRPC library) that hands each request's stream, headers and
 * whole body to `answer`; its port. Closed with the scope.
 */
const rawGrpcServer = (answer: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void) =>
  Effect.acquireRelease(
    Effect.async<{ server: http2.Http2Server; port: number }>((resume) => {
      const server = http2.createServer()
      server.on("stream", (stream, headers) => {
        const chunks: Array<Buffer> = []
        stream.on("data", (c: Buffer) => chunks.push(c))
        stream.on("end", () => answer(stream, headers, Buffer.concat(chunks)))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, port: (server.address() as { port: number }).port })))
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map(({ port }) => port))

/** A gRPC message frame: uncompressed, its length, the bytes. */
const grpcFrame = (bytes: Uint8Array) => {
  const frame = Buffer.alloc(5 + bytes.length)
  frame.writeUInt32BE(bytes.length, 1)
  Buffer.from(bytes).copy(frame, 5)
  return frame
}

describe("GrpcTransport", () => {
  it.scopedLive("sends `authorization: bearer <token>` and keeps the caller's metadata", () =>
    Effect.gen(function*() {
      const seen: Array<[string | undefined, string | undefined]> = []
      const server = yield* loopbackServer({
        dispatcher: {
          getVersion: async (_, ctx) => {
            seen.push([ctx.metadata.get("authorization"), ctx.metadata.get("x-extra")])
            return { version: "v0.0.0-test" }
          }
        }
      })
      yield* withTransport(server.hostPort, (t) =>
        Effect.zip(
          GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o)),
          GrpcTransport.unary(
            "/Dispatcher/GetVersion",
            (o) => t.dispatcher.getVersion({}, { ...o, metadata: Metadata({ "x-extra": "kept" }) })
          )
        ))
      expect(seen).toEqual([[`bearer ${TOKEN}`, undefined], [`bearer ${TOKEN}`, "kept"]])
    }))

  it.scopedLive("one channel: the five service clients share one HTTP/2 connection", () =>
    Effect.gen(function*() {
      const peers: Array<string> = []
      const server = yield* loopbackServer({
        dispatcher: { getVersion: async (_, ctx) => (peers.push(ctx.peer), { version: "v1" }) },
        events: { push: async (req, ctx) => (peers.push(ctx.peer), { key: req.key }) },
        workflows: { triggerWorkflow: async (_, ctx) => (peers.push(ctx.peer), { workflowRunId: "run" }) },
        admin: { getRunDetails: async (_, ctx) => (peers.push(ctx.peer), { done: true }) },
        v1Dispatcher: { registerDurableEvent: async (_, ctx) => (peers.push(ctx.peer), {}) }
      })
      yield* withTransport(server.hostPort, (t) =>
        Effect.all([
          GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o)),
          GrpcTransport.unary("/EventsService/Push", (o) => t.events.push({ key: "k" }, o)),
          GrpcTransport.unary("/WorkflowService/TriggerWorkflow", (o) => t.workflows.triggerWorkflow({ name: "w" }, o)),
          GrpcTransport.unary("/v1.AdminService/GetRunDetails", (o) => t.admin.getRunDetails({ externalId: "x" }, o)),
          GrpcTransport.unary("/v1.V1Dispatcher/RegisterDurableEvent", (o) => t.v1Dispatcher.registerDurableEvent({}, o))
        ]))
      expect(peers).toHaveLength(5)
      expect(new Set(peers).size).toBe(1)
    }))

  it("uses the official SDK's channel options", () => {
    const options = GrpcTransport.channelOptions({
      serverName: "engine.example.com",
      grpcMaxRecvMessageLength: 111,
      grpcMaxSendMessageLength: 222,
      grpcKeepaliveTime: Duration.seconds(10),
      grpcKeepaliveTimeout: Duration.seconds(60),
      grpcCompression: "gzip"
    } as never)
    expect(options).toEqual({
      "grpc.ssl_target_name_override": "engine.example.com",
      "grpc.keepalive_time_ms": 10000,
      "grpc.keepalive_timeout_ms": 60000,
      "grpc.client_idle_timeout_ms": 60000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.default_compression_algorithm": 2,
      "grpc.max_send_message_length": 222,
      "grpc.max_receive_message_length": 111,
      "grpc.use_local_subchannel_pool": 1,
      "grpc.initial_reconnect_backoff_ms": 250,
      "grpc.max_reconnect_backoff_ms": 10000
    })
  })

  it.scopedLive("with gzip, requests of 1 KiB or more go out gzip-compressed, smaller ones as they are; by default nothing to a loopback engine (seen on the wire by a raw HTTP/2 server)", () =>
    Effect.gen(function*() {
      const seen: Array<{ headers: http2.IncomingHttpHeaders; compressedFlag: number; request: PushEventRequest }> = []
      const port = yield* rawGrpcServer((stream, headers, body) => {
        const compressedFlag = body.readUInt8(0)
        const payload = body.subarray(5, 5 + body.readUInt32BE(1))
        const message = compressedFlag === 1 ? zlib.gunzipSync(payload) : payload
        seen.push({ headers, compressedFlag, request: PushEventRequest.decode(message) })
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }))
        stream.end(grpcFrame(Event.encode(Event.fromPartial({ key: "ok" })).finish()))
      })
      const payload = JSON.stringify({ padding: "x".repeat(4096) })
      const push = (t: GrpcTransport.GrpcTransportShape, payload: string) =>
        GrpcTransport.unary("/EventsService/Push", (o) => t.events.push({ key: "user:created", payload }, o))
      const event = yield* Effect.flatMap(GrpcTransport.GrpcTransport, (t) => Effect.zipLeft(push(t, payload), push(t, "{}"))).pipe(
        Effect.provide(Layer.orDie(transportLayer(`127.0.0.1:${port}`, { grpcCompression: "gzip" })))
      )
      expect(event.key).toBe("ok")
      expect(seen).toHaveLength(2)
      const [request, small] = seen
      expect(request!.headers[":path"]).toBe("/EventsService/Push")
      expect(request!.headers["grpc-encoding"]).toBe("gzip")
      expect(String(request!.headers["grpc-accept-encoding"]).split(",")).toContain("gzip")
      expect(request!.headers["authorization"]).toBe(`bearer ${TOKEN}`)
      expect(request!.compressedFlag).toBe(1)
      expect(request!.request).toMatchObject({ key: "user:created", payload })
      // a few bytes: not worth a zlib stream on both ends
      expect(small!.compressedFlag).toBe(0)
      expect(small!.request).toMatchObject({ key: "user:created", payload: "{}" })

      // the default on loopback: no compression at all
      yield* withTransport(`127.0.0.1:${port}`, (t) => push(t, payload))
      expect(seen).toHaveLength(3)
      expect(seen[2]!.headers["grpc-encoding"]).toBeUndefined()
      expect(seen[2]!.compressedFlag).toBe(0)
      expect(seen[2]!.request).toMatchObject({ payload })
    }))

  it.scopedLive("call: straight on grpc-js with the token; a deadline fails DEADLINE_EXCEEDED, a server error keeps its status, interrupting cancels the call on the server", () =>
    Effect.gen(function*() {
      const seen: Array<[string, string | undefined]> = []
      const aborted = yield* Deferred.make<void>()
      const server = yield* loopbackServer({
        dispatcher: {
          sendStepActionEvent: (request, ctx) => {
            seen.push([request.taskRunExternalId, ctx.metadata.get("authorization")])
            if (request.taskRunExternalId === "fails") throw new ServerError(Status.NOT_FOUND, "task fails not found")
            if (request.taskRunExternalId === "hangs") {
              return new Promise((_, reject) =>
                ctx.signal.addEventListener("abort", () => {
                  Effect.runSync(Deferred.succeed(aborted, void 0))
                  reject(Object.assign(new Error("aborted"), { name: "AbortError" }))
                })
              )
            }
            return Promise.resolve({ tenantId: "t", workerId: "w" })
          }
        }
      })
      const event = (taskRunExternalId: string) => ({
        workerId: "w",
        jobId: "j",
        jobRunId: "jr",
        taskId: "t",
        taskRunExternalId,
        actionId: "wf:t",
        eventTimestamp: new Date(0),
        eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
        eventPayload: "{}",
        retryCount: 0
      })
      yield* withTransport(server.hostPort, (t) =>
        Effect.gen(function*() {
          const send = (id: string, timeout?: Duration.DurationInput) =>
            t.call(DispatcherDefinition.fullName, DispatcherDefinition.methods.sendStepActionEvent, event(id), { timeout })
          expect(yield* send("ok")).toEqual({ tenantId: "t", workerId: "w" })
          const failed = yield* Effect.flip(send("fails"))
          expect({ method: failed.method, status: failed.status, details: failed.details }).toEqual({
            method: "/Dispatcher/SendStepActionEvent",
            status: "NOT_FOUND",
            details: "task fails not found"
          })
          const late = yield* Effect.flip(send("hangs", "200 millis"))
          expect(late.status).toBe("DEADLINE_EXCEEDED")
          yield* Deferred.await(aborted) // the server saw the call end
        }))
      expect(seen.map(([id]) => id)).toEqual(["ok", "fails", "hangs"])
      expect(seen.every(([, auth]) => auth === `bearer ${TOKEN}`)).toBe(true)

      // interrupted: the server sees the call cancelled
      const cancelled = yield* Deferred.make<void>()
      const server2 = yield* loopbackServer({
        dispatcher: {
          sendStepActionEvent: (_request, ctx) =>
            new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => {
                Effect.runSync(Deferred.succeed(cancelled, void 0))
                reject(Object.assign(new Error("aborted"), { name: "AbortError" }))
              })
            )
        }
      })
      yield* withTransport(server2.hostPort, (t) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            t.call(DispatcherDefinition.fullName, DispatcherDefinition.methods.sendStepActionEvent, event("x"))
          )
          yield* Effect.sleep("100 millis")
          yield* Fiber.interrupt(fiber)
          yield* Deferred.await(cancelled)
        }))
    }))

  it.scopedLive("call: what grpc-js's client checked, checked without it: OK without a response is UNIMPLEMENTED, and so are two (which grpc-js's client never read: it waited forever), a response that does not decode INTERNAL, a request that does not encode INTERNAL before anything is sent", () =>
    Effect.gen(function*() {
      const paths: Array<string> = []
      const port = yield* rawGrpcServer((stream, headers) => {
        const path = String(headers[":path"])
        paths.push(path)
        const version = grpcFrame(DispatcherDefinition.methods.getVersion.responseType.encode({ version: "v1" }).finish())
        const body = path.endsWith("/None")
          ? []
          : path.endsWith("/Two")
          ? [version, version]
          : [grpcFrame(Buffer.from([0x0a, 0xff]))] // field 1, a length past the end
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }))
        stream.end(Buffer.concat(body))
      })
      const method = (name: string) => ({ ...DispatcherDefinition.methods.getVersion, name })
      const refusing = {
        ...method("Refused"),
        requestType: {
          encode: () => {
            throw new Error("no encoding")
          }
        }
      }
      yield* withTransport(`127.0.0.1:${port}`, (t) =>
        Effect.gen(function*() {
          const fail = (m: Parameters<typeof t.call<object, GetVersionResponse>>[1]) =>
            Effect.flip(t.call("test.Raw", m, {})).pipe(Effect.map((e) => [e.method, e.status, e.details]))
          expect(yield* fail(method("None"))).toEqual(["/test.Raw/None", "UNIMPLEMENTED", "No message received"])
          expect(yield* fail(method("Two"))).toEqual(["/test.Raw/Two", "UNIMPLEMENTED", "Too many responses received"])
          const garbage = yield* fail(method("Garbage"))
          expect(garbage.slice(0, 2)).toEqual(["/test.Raw/Garbage", "INTERNAL"])
          expect(garbage[2]).toMatch(/^Response message parsing error: /)
          const refused = yield* fail(refusing)
          expect(refused).toEqual(["/test.Raw/Refused", "INTERNAL", "Request message serialization failure: no encoding"])
        }))
      // the refused request never reached the server
      expect(paths).toEqual(["/test.Raw/None", "/test.Raw/Two", "/test.Raw/Garbage"])
    }))

  describe("errors", () => {
    it.scopedLive("a server error keeps its status code, the method path and the server's message", () =>
      Effect.gen(function*() {
        const server = yield* loopbackServer({
          dispatcher: {
            heartbeat: async () => {
              throw new ServerError(Status.NOT_FOUND, "worker 42 not found")
            }
          }
        })
        const error = yield* withTransport(server.hostPort, (t) =>
          GrpcTransport.unary("/Dispatcher/Heartbeat", (o) => t.dispatcher.heartbeat({ workerId: "42" }, o))).pipe(Effect.flip)
        expect(error).toBeInstanceOf(GrpcError)
        expect({ method: error.method, code: error.code, details: error.details, status: error.status }).toEqual({
          method: "/Dispatcher/Heartbeat",
          code: Status.NOT_FOUND,
          details: "worker 42 not found",
          status: "NOT_FOUND"
        })
        expect(error.message).toBe("/Dispatcher/Heartbeat failed with NOT_FOUND (5): worker 42 not found")
        for (const text of [error.message, String(error), JSON.stringify(error), error.stack ?? ""]) {
          expect(text).not.toContain(TOKEN)
        }
      }))

    it.scopedLive("keeps the grpc-status-details-bin trailer", () =>
      Effect.gen(function*() {
        const details = new Uint8Array([8, 6, 18, 3, 97, 98, 99])
        const server = yield* loopbackServer({
          workflows: {
            triggerWorkflow: async (_, ctx) => {
              ctx.trailer.set("grpc-status-details-bin", details)
              throw new ServerError(Status.ALREADY_EXISTS, "idempotency key collision")
            }
          }
        })
        const error = yield* withTransport(server.hostPort, (t) =>
          GrpcTransport.unary("/WorkflowService/TriggerWorkflow", (o) => t.workflows.triggerWorkflow({ name: "w" }, o))).pipe(Effect.flip)
        expect(error.code).toBe(Status.ALREADY_EXISTS)
        expect(error.statusDetails).toEqual(details)
      }))

    it.scopedLive("no server listening: UNAVAILABLE on the method", () =>
      Effect.gen(function*() {
        // Take a free port, then close its server: nothing listens there any more.
        const port = yield* Effect.scoped(loopbackServer({}).pipe(Effect.map((s) => s.port)))
        const error = yield* withTransport(`127.0.0.1:${port}`, (t) =>
          GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o))).pipe(Effect.flip)
        expect([error.code, error.method]).toEqual([Status.UNAVAILABLE, "/Dispatcher/GetVersion"])
      }))

    it.scopedLive("a non-gRPC failure inside the call is UNKNOWN on the given method", () =>
      Effect.gen(function*() {
        const error = yield* GrpcTransport.unary("/Dispatcher/GetVersion", () => Promise.reject(new Error("boom"))).pipe(
          Effect.flip
        )
        expect([error.code, error.method, error.details]).toEqual([Status.UNKNOWN, "/Dispatcher/GetVersion", "boom"])
      }))
  })

  describe("cancellation", () => {
    it.scopedLive("interrupting a unary call cancels it on the server", () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        let serverAborted: Promise<void> | undefined
        const server = yield* loopbackServer({
          dispatcher: {
            getVersion: (_, ctx) => {
              serverAborted = onAbort(ctx.signal)
              Deferred.unsafeDone(started, Exit.void)
              return new Promise<GetVersionResponse>(() => {}) // never answers
            }
          }
        })
        const exit = yield* withTransport(server.hostPort, (t) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o)))
            yield* eventually(Deferred.await(started))
            return yield* Fiber.interrupt(fiber)
          }))
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* eventually(Effect.promise(() => serverAborted!))
      }))

    type Listen = (
      t: GrpcTransport.GrpcTransportShape,
      f: (action: { readonly actionId: string }) => Effect.Effect<void>
    ) => Effect.Effect<void, GrpcError>
    /**
     * ListenV2 through nice-grpc (`serverStream`), through the direct read loop as a Stream
     * (`stream`), and consumed in place (`streamForEach`, the worker's), each running `f` on
     * every message.
     */
    const listeners: ReadonlyArray<readonly [string, Listen]> = [
      [
        "serverStream",
        (t, f) =>
          Stream.runForEach(GrpcTransport.serverStream("/Dispatcher/ListenV2", (o) => t.dispatcher.listenV2({ workerId: "w" }, o)), f)
      ],
      [
        "stream (the direct read loop)",
        (t, f) => Stream.runForEach(t.stream(DispatcherDefinition.fullName, DispatcherDefinition.methods.listenV2, { workerId: "w" }), f)
      ],
      [
        "streamForEach (the direct read loop, consumed in place)",
        (t, f) => t.streamForEach(DispatcherDefinition.fullName, DispatcherDefinition.methods.listenV2, { workerId: "w" }, f)
      ]
    ]

    for (const [name, listen] of listeners) {
      it.scopedLive(`${name}: every message with the token, in order, and the end when the server ends`, () =>
        Effect.gen(function*() {
          let authorization: string | undefined
          const server = yield* loopbackServer({
            dispatcher: {
              async *listenV2(req, ctx) {
                authorization = ctx.metadata.get("authorization")
                for (let i = 0; i < 50; i++) yield { actionId: `${req.workerId}:${i}` }
              }
            }
          })
          const ids: Array<string> = []
          yield* withTransport(server.hostPort, (t) => listen(t, (a) => Effect.sync(() => ids.push(a.actionId))))
          expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `w:${i}`))
          expect(authorization).toBe(`bearer ${TOKEN}`)
        }))

      it.scopedLive(`${name}: a server error fails the Stream with a GrpcError after what came before`, () =>
        Effect.gen(function*() {
          const server = yield* loopbackServer({
            dispatcher: {
              async *listenV2() {
                yield { actionId: "first" }
                throw new ServerError(Status.UNAVAILABLE, "engine shutting down")
              }
            }
          })
          const [seen, error] = yield* withTransport(server.hostPort, (t) =>
            Effect.gen(function*() {
              const seen: Array<string> = []
              const error = yield* listen(t, (a) => Effect.sync(() => seen.push(a.actionId))).pipe(Effect.flip)
              return [seen, error] as const
            }))
          expect(seen).toEqual(["first"])
          expect(error).toBeInstanceOf(GrpcError)
          expect([error.code, error.method, error.details]).toEqual([
            Status.UNAVAILABLE,
            "/Dispatcher/ListenV2",
            "engine shutting down"
          ])
        }))

      it.scopedLive(`${name}: interrupting the consumer cancels the call on the server`, () =>
        Effect.gen(function*() {
          const { aborted, server } = yield* listenThenWait(["one"])
          const exit = yield* withTransport(server.hostPort, (t) =>
            Effect.gen(function*() {
              const first = yield* Deferred.make<string>()
              const fiber = yield* listen(t, (a) => Effect.asVoid(Deferred.succeed(first, a.actionId))).pipe(Effect.fork)
              expect(yield* eventually(Deferred.await(first))).toBe("one")
              // The consumer is now waiting for the next message; the interrupt must complete.
              return yield* eventually(Fiber.interrupt(fiber))
            }))
          expect(Exit.isInterrupted(exit)).toBe(true)
          yield* eventually(aborted)
        }))
    }

    const listenV2 = [DispatcherDefinition.fullName, DispatcherDefinition.methods.listenV2, { workerId: "w" }] as const

    it.scopedLive("streamForEach: one message at a time, in arrival order: what arrives while the handler waits is handled after it, one after the other", () =>
      Effect.gen(function*() {
        const server = yield* loopbackServer({
          dispatcher: {
            async *listenV2() {
              for (let i = 0; i < 30; i++) yield { actionId: `${i}` }
            }
          }
        })
        const handled: Array<string> = []
        let active = 0
        let mostActive = 0
        yield* withTransport(server.hostPort, (t) =>
          t.streamForEach(...listenV2, (a) =>
            Effect.gen(function*() {
              mostActive = Math.max(mostActive, ++active)
              // the first handler waits (real time) while the others arrive; some more yield
              if (a.actionId === "0") yield* Effect.sleep("50 millis")
              else if (Number(a.actionId) % 7 === 0) yield* Effect.yieldNow()
              handled.push(a.actionId)
              active--
            })))
        expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => `${i}`))
        expect(mostActive).toBe(1)
      }))

    it.scopedLive("streamForEach: the handler's failure fails it with that error and cancels the call on the server; nothing after it is handled", () =>
      Effect.gen(function*() {
        const { aborted, server } = yield* listenThenWait(["one", "two", "three"])
        const handled: Array<string> = []
        const error = yield* withTransport(server.hostPort, (t) =>
          t.streamForEach(
            ...listenV2,
            (a) => a.actionId === "two" ? Effect.fail("handler broke" as const) : Effect.sync(() => handled.push(a.actionId))
          )).pipe(Effect.flip)
        expect(error).toBe("handler broke")
        expect(handled).toEqual(["one"])
        yield* eventually(aborted)
      }))

    it.scopedLive("streamForEach: interrupted while the handler runs, it cancels the call on the server", () =>
      Effect.gen(function*() {
        const { aborted, server } = yield* listenThenWait(["one", "two"])
        const handled: Array<string> = []
        const exit = yield* withTransport(server.hostPort, (t) =>
          Effect.gen(function*() {
            const running = yield* Deferred.make<void>()
            const fiber = yield* t.streamForEach(...listenV2, (a) =>
              Effect.zipRight(
                Effect.sync(() => handled.push(a.actionId)),
                Effect.zipRight(Deferred.succeed(running, undefined), Effect.never)
              )).pipe(Effect.fork)
            yield* eventually(Deferred.await(running))
            return yield* eventually(Fiber.interrupt(fiber))
          }))
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(handled).toEqual(["one"])
        yield* eventually(aborted)
      }))

    it.scopedLive("streamForEach: a message that does not decode fails it with INTERNAL (as grpc-js), after the messages before it", () =>
      Effect.gen(function*() {
        const port = yield* rawGrpcServer((stream) => {
          const action = (actionId: string) => grpcFrame(AssignedAction.encode(AssignedAction.fromPartial({ actionId })).finish())
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }))
          stream.end(Buffer.concat([action("a"), action("b"), grpcFrame(Buffer.from([0x0a, 0xff])), action("c")]))
        })
        const handled: Array<string> = []
        const error = yield* withTransport(
          `127.0.0.1:${port}`,
          (t) => t.streamForEach(...listenV2, (a) => Effect.sync(() => handled.push(a.actionId)))
        ).pipe(Effect.flip)
        expect(handled).toEqual(["a", "b"])
        expect(error).toBeInstanceOf(GrpcError)
        expect([(error as GrpcError).method, (error as GrpcError).status]).toEqual(["/Dispatcher/ListenV2", "INTERNAL"])
        expect((error as GrpcError).details).toMatch(/^Response message parsing error: /)
      }))

    /** SubscribeToWorkflowRuns through nice-grpc (`bidiStream`) and on grpc-js directly (`bidi`, the run listener's). */
    const subscribers: ReadonlyArray<
      readonly [
        string,
        <E>(
          t: GrpcTransport.GrpcTransportShape,
          input: Stream.Stream<{ readonly workflowRunId: string }, E>
        ) => Stream.Stream<{ readonly workflowRunId: string }, GrpcError | E>
      ]
    > = [
      [
        "bidiStream",
        (t, input) =>
          GrpcTransport.bidiStream(
            "/Dispatcher/SubscribeToWorkflowRuns",
            input,
            (requests, o) => t.dispatcher.subscribeToWorkflowRuns(requests, o)
          )
      ],
      [
        "bidi (direct on grpc-js)",
        (t, input) => t.bidi(DispatcherDefinition.fullName, DispatcherDefinition.methods.subscribeToWorkflowRuns, input)
      ]
    ]

    for (const [name, subscribe] of subscribers) {
      it.scopedLive(`${name}: requests from a Stream, responses as a Stream; ending the input half-closes`, () =>
        Effect.gen(function*() {
          let requestsEnded = false
          const server = yield* loopbackServer({
            dispatcher: {
              async *subscribeToWorkflowRuns(requests) {
                for await (const r of requests) {
                  yield { workflowRunId: r.workflowRunId, eventType: WorkflowRunEventType.WORKFLOW_RUN_EVENT_TYPE_FINISHED }
                }
                requestsEnded = true
              }
            }
          })
          const ids = yield* withTransport(server.hostPort, (t) =>
            subscribe(t, Stream.make("a", "b", "c").pipe(Stream.map((workflowRunId) => ({ workflowRunId })))).pipe(
              Stream.map((e) =>
                e.workflowRunId
              ),
              Stream.runCollect
            ))
          expect(Chunk.toArray(ids)).toEqual(["a", "b", "c"])
          expect(requestsEnded).toBe(true)
        }))

      it.scopedLive(`${name}: a long-lived input fed from a Queue; interrupting the consumer cancels the call`, () =>
        Effect.gen(function*() {
          const { server, serverAborted } = yield* echoRunsServer
          const exit = yield* withTransport(server.hostPort, (t) =>
            Effect.gen(function*() {
              const input = yield* Queue.unbounded<{ workflowRunId: string }>()
              const output = yield* Queue.unbounded<string>()
              const fiber = yield* subscribe(t, Stream.fromQueue(input)).pipe(
                Stream.runForEach((e) => Queue.offer(output, e.workflowRunId)),
                Effect.fork
              )
              yield* Queue.offer(input, { workflowRunId: "r1" })
              expect(yield* eventually(Queue.take(output))).toBe("r1")
              yield* Queue.offer(input, { workflowRunId: "r2" })
              expect(yield* eventually(Queue.take(output))).toBe("r2")
              return yield* eventually(Fiber.interrupt(fiber))
            }))
          expect(Exit.isInterrupted(exit)).toBe(true)
          yield* eventually(Effect.promise(serverAborted))
        }))

      it.scopedLive(`${name}: a failing input fails the Stream with the input's error and cancels the call`, () =>
        Effect.gen(function*() {
          const { server, serverAborted } = yield* echoRunsServer
          const result = yield* withTransport(server.hostPort, (t) =>
            Effect.gen(function*() {
              const answered = yield* Deferred.make<void>()
              // The input fails once the call is established (the server answered r1).
              const input = Stream.concat(
                Stream.make({ workflowRunId: "r1" }),
                Stream.fromEffect(Deferred.await(answered)).pipe(Stream.flatMap(() => Stream.fail("input broke" as const)))
              )
              return yield* subscribe(t, input).pipe(Stream.runForEach(() => Deferred.succeed(answered, undefined)), Effect.flip)
            }))
          expect(result).toBe("input broke")
          yield* eventually(Effect.promise(serverAborted))
        }))
    }
  })

  it.scopedLive("resetConnection: new calls open a fresh connection; a call in flight on the old one fails UNAVAILABLE", () =>
    Effect.gen(function*() {
      const peers: Array<string> = []
      let aborted: Promise<void> | undefined
      const server = yield* loopbackServer({
        dispatcher: {
          getVersion: async (_, ctx) => (peers.push(ctx.peer), { version: "v1" }),
          async *listenV2(_, ctx) {
            peers.push(ctx.peer)
            aborted = onAbort(ctx.signal)
            yield { actionId: "before" }
            await aborted
          }
        }
      })
      // another transport with the same settings, open throughout: grpc-js would share its
      // connection through the global subchannel pool and a reset would land on it again
      const failure = yield* withTransport(server.hostPort, (other) =>
        withTransport(server.hostPort, (t) =>
          Effect.gen(function*() {
            yield* GrpcTransport.unary("/Dispatcher/GetVersion", (o) => other.dispatcher.getVersion({}, o))
            const version = GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o))
            const pull = yield* GrpcTransport.serverStream(
              "/Dispatcher/ListenV2",
              (o) => t.dispatcher.listenV2({ workerId: "w" }, o)
            ).pipe(Stream.toPull)
            expect(Chunk.toArray(yield* pull).map((a) => a.actionId)).toEqual(["before"])
            yield* version
            yield* t.resetConnection
            yield* version
            yield* version
            return yield* Effect.flip(pull)
          }).pipe(Effect.scoped)))
      expect(failure).toEqual(Option.some(expect.objectContaining({
        _tag: "GrpcError",
        code: Status.UNAVAILABLE,
        details: "the connection stalled: the channel moved to a new connection"
      })))
      yield* eventually(Effect.promise(() => aborted!))
      // the stream and the first call shared a connection; after the reset, another one
      const [otherPeer, ...ours] = peers
      expect(ours).toHaveLength(4)
      expect(ours[1]).toBe(ours[0])
      expect(ours[2]).not.toBe(ours[0])
      expect(ours[2]).not.toBe(otherPeer)
      expect(ours[3]).toBe(ours[2])
    }))

  it.scopedLive("closing the layer's scope shuts the channel down", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer({ dispatcher: { getVersion: async () => ({ version: "v1" }) } })
      const channel = yield* withTransport(server.hostPort, (t) =>
        GrpcTransport.unary("/Dispatcher/GetVersion", (o) =>
          t.dispatcher.getVersion({}, o)).pipe(
            Effect.as(t.channel),
            Effect.tap((channel) => expect(channel.getConnectivityState(false)).toBe(connectivityState.READY))
          ))
      expect(channel.getConnectivityState(false)).toBe(connectivityState.SHUTDOWN)
    }))

  it.live("after the layer's scope closes, nothing keeps the process alive", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer({
        dispatcher: {
          getVersion: async () => ({ version: "v9.9.9" }),
          async *listenV2(_, ctx) {
            yield { actionId: "a" }
            await onAbort(ctx.signal)
          }
        }
      })
      const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/exit-after-scope.ts")
      const tsx = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../node_modules/.bin/tsx")
      const run = (mode: "close" | "leak") =>
        Effect.async<{ code: number | null; stdout: string; stderr: string; alive: boolean }>((resume) => {
          const child = spawn(tsx, ["--conditions=@effect-hatchet/source", fixture, server.hostPort, mode], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, HATCHET_CLIENT_TOKEN: TOKEN }
          })
          let stdout = ""
          let stderr = ""
          let settled = false
          const settle = (result: { code: number | null; alive: boolean }) => {
            if (settled) return
            settled = true
            clearTimeout(guard)
            child.kill("SIGKILL")
            resume(Effect.succeed({ ...result, stdout, stderr }))
          }
          child.stdout.on("data", (c) => {
            stdout += c
            // The control reports what keeps it alive, then is killed.
            if (mode === "leak" && /active \[.*\]\n/.test(stdout)) settle({ code: null, alive: true })
          })
          child.stderr.on("data", (c) => (stderr += c))
          // Liveness guard, generous (tsx start-up on a loaded machine): not a speed assertion.
          const guard = setTimeout(() => settle({ code: null, alive: true }), 60_000)
          child.on("exit", (code) => settle({ code, alive: false }))
          return Effect.sync(() => settle({ code: null, alive: true }))
        })
      const closed = yield* run("close")
      expect(closed.stderr).toBe("")
      expect(closed).toMatchObject({ alive: false, code: 0 })
      expect(closed.stdout).toContain("version v9.9.9")
      expect(closed.stdout).toContain("first action a")
      expect(closed.stdout).toContain("scope closed")
      // Control: the same program leaving the scope open is kept alive by the open connection.
      const leaked = yield* run("leak")
      expect(leaked.stdout).toContain("scope left open")
      expect(leaked.alive).toBe(true)
      expect(JSON.parse(/active (\[.*\])/.exec(leaked.stdout)![1]!)).toContain("TCPSocketWrap")
    }).pipe(Effect.scoped), 120_000)

  it.effect("the layer needs a HatchetConfig and builds from it", () =>
    Effect.gen(function*() {
      const config = yield* HatchetConfig
      expect(config.tls.strategy).toBe("none")
    }).pipe(Effect.provide(Layer.fresh(transportLayer("127.0.0.1:1")))))
})
