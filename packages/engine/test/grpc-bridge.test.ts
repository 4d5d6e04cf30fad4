/**
 * The engine's gRPC handlers (`internal/grpc/bridge.ts`, `Bridge.serve`) against Effect
 * implementations of its own, over loopback: authentication before any handler runs (unary and
 * streaming, a second `authorization` value included); a unary answer from an `Exit` and from a
 * fiber; a domain error's code, bounded message and status details (`grpc-status-details-bin`);
 * a defect and a handler's throw as INTERNAL; a client's cancel and a deadline interrupting the
 * call's fiber; a server stream's messages before its error status, its open failure's status,
 * its resources released on cancel and its clean end when the engine closes; a bidi stream's
 * requests read as they come, its responses going on after the client's half-close.
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import * as GrpcJs from "@grpc/grpc-js"
import { Deferred, Effect, Exit, Fiber, Logger, LogLevel, Scope } from "effect"
import { ClientError, createChannel, createClient, Metadata, Status } from "nice-grpc"
import { AlreadyExists, invalidArgument, notFound } from "../src/internal/domain/errors.js"
import * as Bridge from "../src/internal/grpc/bridge.js"
import { maxStatusMessageBytes } from "../src/internal/grpc/bridge.js"
import { serverDefinition } from "../src/internal/grpc/encoding.js"

const workerId = "9d7a1b2c-3333-4333-8333-333333333333"

/**
 * A grpc-js server serving `implementation` (some of the Dispatcher's methods) through a bridge
 * whose only token is "good" (tenant "t1"), and a nice-grpc client of it sending `authorization`;
 * the server and the client closed with `scope`, the bridge's fibers with `bridgeScope`.
 */
const serve = (
  implementation: object,
  scope: Scope.Scope,
  authorization: string | ReadonlyArray<string> = "bearer good",
  bridgeScope: Scope.Scope = scope
) =>
  Effect.gen(function*() {
    // quiet: the defects' logs are expected (the bridge's runtime keeps the level it was made with)
    const bridge = yield* Bridge.make((token) => token === "good" ? "t1" : undefined).pipe(
      Logger.withMinimumLogLevel(LogLevel.None),
      Scope.extend(bridgeScope)
    )
    const server = new GrpcJs.Server()
    const definition = serverDefinition(DispatcherDefinition)
    server.addService(definition, bridge.serve(definition, implementation))
    const port = yield* Effect.async<number>((resume) =>
      server.bindAsync("127.0.0.1:0", GrpcJs.ServerCredentials.createInsecure(), (_error, port) => resume(Effect.succeed(port)))
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => server.forceShutdown()))
    const address = `127.0.0.1:${port}`
    const channel = createChannel(address)
    yield* Effect.addFinalizer(() => Effect.sync(() => channel.close()))
    const metadata = Metadata()
    if (typeof authorization === "string") metadata.set("authorization", authorization)
    else for (const value of authorization) metadata.append("authorization", value)
    const client = createClient(DispatcherDefinition, channel, { "*": { metadata } })
    return { client, address, definition }
  }).pipe(Scope.extend(scope))

/** The status a call ended with, and its trailers. */
const failureOf = (call: (onTrailer: (trailer: Metadata) => void) => Promise<unknown>) =>
  Effect.promise(async () => {
    let trailer: Metadata | undefined
    try {
      await call((received) => {
        trailer = received
      })
    } catch (error) {
      if (error instanceof ClientError) return { code: error.code, details: error.details, trailer }
      throw error
    }
    throw new Error("the call succeeded")
  })

/** The messages of a server stream, and how it ended ("ended", or its status). */
const drain = <A>(stream: AsyncIterable<A>) =>
  Effect.promise(async () => {
    const messages: Array<A> = []
    try {
      for await (const message of stream) messages.push(message)
      return { messages, end: "ended" as const }
    } catch (error) {
      if (error instanceof ClientError) return { messages, end: { code: error.code, details: error.details } }
      throw error
    }
  })

/** `items` as an async iterable (what a bidi call's requests are). */
async function* requestsOf<A>(items: ReadonlyArray<A>) {
  for (const item of items) yield item
}

describe("gRPC bridge", () => {
  it.scopedLive("authenticates every call before its handler runs: none, a bad token, two authorization values", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      let ran = 0
      const implementation = {
        getVersion: () => Effect.sync(() => ++ran).pipe(Effect.as({ version: "v" })),
        listenV2: () => Effect.sync(() => ++ran).pipe(Effect.zipRight(Bridge.makeQueue<never>())),
        subscribeToWorkflowRuns: () => Effect.sync(() => ++ran).pipe(Effect.zipRight(Bridge.makeQueue<never>()))
      }
      const unauthenticated = { code: Status.UNAUTHENTICATED, details: "invalid auth token" }
      for (const authorization of [[], "bearer bad", "basic good", ["bearer good", "bearer good"]]) {
        const { client } = yield* serve(implementation, scope, authorization)
        expect(yield* failureOf(() => client.getVersion({}))).toMatchObject(unauthenticated)
        expect(yield* drain(client.listenV2({ workerId }))).toEqual({ messages: [], end: unauthenticated })
        expect(yield* drain(client.subscribeToWorkflowRuns(requestsOf([{ workflowRunId: workerId }])))).toEqual({
          messages: [],
          end: unauthenticated
        })
      }
      expect(ran).toBe(0)
      const { client } = yield* serve(implementation, scope, "Bearer good")
      expect(yield* Effect.promise(() => client.getVersion({}))).toEqual({ version: "v" })
      expect(ran).toBe(1)
    }))

  it.scopedLive("unary: an Exit and a fiber's outcome; a domain error's status, bounded, with its details; a defect INTERNAL", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const details = new Uint8Array([8, 6, 18, 1, 120])
      const { client } = yield* serve({
        // an Exit, answered within the handler
        getVersion: (_request: unknown, context: { tenantId: string }) => Exit.succeed({ version: context.tenantId }),
        // an effect, run in a fiber
        heartbeat: () => Effect.sleep("5 millis").pipe(Effect.as({})),
        register: (request: { workerName: string }) =>
          request.workerName === "exists"
            ? Exit.fail(new AlreadyExists({ message: "idempotency key collision", statusDetails: details }))
            : request.workerName === "long"
            ? Effect.fail(invalidArgument("x".repeat(10_000)))
            : request.workerName === "throws"
            ? (() => {
              throw new Error("boom")
            })()
            : Effect.die(new Error("boom")),
        unsubscribe: () => Effect.fail(notFound("worker not found"))
      }, scope)
      expect(yield* Effect.promise(() => client.getVersion({}))).toEqual({ version: "t1" })
      expect(yield* Effect.promise(() => client.heartbeat({ workerId }))).toEqual({})
      const exists = yield* failureOf((onTrailer) => client.register({ workerName: "exists" }, { onTrailer }))
      expect(exists).toMatchObject({ code: Status.ALREADY_EXISTS, details: "idempotency key collision" })
      expect(new Uint8Array(exists.trailer?.get("grpc-status-details-bin") as Uint8Array)).toEqual(details)
      const notFoundFailure = yield* failureOf((onTrailer) => client.unsubscribe({ workerId }, { onTrailer }))
      expect(notFoundFailure).toMatchObject({ code: Status.NOT_FOUND, details: "worker not found" })
      expect(notFoundFailure.trailer?.has("grpc-status-details-bin")).toBe(false)
      const long = yield* failureOf(() => client.register({ workerName: "long" }))
      expect(long.code).toBe(Status.INVALID_ARGUMENT)
      expect(long.details.length).toBeLessThanOrEqual(maxStatusMessageBytes)
      expect(long.details).toMatch(/^x+ \.\.\. \(\d+ more characters\)$/)
      const internal = { code: Status.INTERNAL, details: "An internal error occurred." }
      expect(yield* failureOf(() => client.register({ workerName: "dies" }))).toMatchObject(internal)
      expect(yield* failureOf(() => client.register({ workerName: "throws" }))).toMatchObject(internal)
    }))

  it.scopedLive("unary: a client's cancel and a passed deadline interrupt the call's fiber", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const started = yield* Deferred.make<void>()
      const interrupted: Array<string> = []
      const slow = (name: string) =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Effect.sync(() => interrupted.push(name)))
        )
      const { address, client, definition } = yield* serve({ heartbeat: () => slow("cancel"), getVersion: () => slow("deadline") }, scope)
      const controller = new AbortController()
      const cancelled = Effect.runFork(failureOf(() => client.heartbeat({ workerId }, { signal: controller.signal })))
      yield* Deferred.await(started)
      controller.abort()
      yield* Fiber.await(cancelled)
      // a raw grpc-js call with a deadline
      const raw = new GrpcJs.Client(address, GrpcJs.credentials.createInsecure())
      yield* Effect.addFinalizer(() => Effect.sync(() => raw.close()))
      const metadata = new GrpcJs.Metadata()
      metadata.set("authorization", "bearer good")
      const method = definition.getVersion
      const status = yield* Effect.async<GrpcJs.ServiceError | null>((resume) => {
        raw.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          {},
          metadata,
          { deadline: Date.now() + 50 },
          (error) => resume(Effect.succeed(error))
        )
      })
      expect(status?.code).toBe(Status.DEADLINE_EXCEEDED)
      yield* Effect.promise(async () => {
        for (let i = 0; i < 100 && interrupted.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      })
      expect(interrupted.sort()).toEqual(["cancel", "deadline"])
    }))

  it.scopedLive("server stream: its messages, then its error's status; an open failure's status; a cancel releases it", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const released: Array<string> = []
      const { client } = yield* serve({
        listenV2: (request: { workerId: string }) =>
          Effect.gen(function*() {
            if (request.workerId === "bad") return yield* invalidArgument("invalid worker ID format: bad")
            const queue = yield* Bridge.makeQueue<{ actionId: string }>()
            yield* Effect.addFinalizer(() => Effect.sync(() => released.push(request.workerId)))
            if (request.workerId === "fails") {
              queue.unsafeOffer({ actionId: "a" })
              queue.unsafeOffer({ actionId: "b" })
              queue.unsafeDone(Exit.fail(notFound("not found")))
            } else if (request.workerId === "ends") {
              for (let i = 0; i < 200; i++) queue.unsafeOffer({ actionId: String(i) })
              yield* queue.end
            } else {
              queue.unsafeOffer({ actionId: "first" })
            }
            return queue
          })
      }, scope)
      const failed = yield* drain(client.listenV2({ workerId: "fails" }))
      expect(failed.messages.map((m) => m.actionId)).toEqual(["a", "b"])
      expect(failed.end).toEqual({ code: Status.NOT_FOUND, details: "not found" })
      const ended = yield* drain(client.listenV2({ workerId: "ends" }))
      expect(ended.messages.map((m) => m.actionId)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
      expect(ended.end).toBe("ended")
      expect(yield* drain(client.listenV2({ workerId: "bad" }))).toEqual({
        messages: [],
        end: { code: Status.INVALID_ARGUMENT, details: "invalid worker ID format: bad" }
      })
      // a client that leaves after the first message: the stream's resources are released
      yield* Effect.promise(async () => {
        for await (const _ of client.listenV2({ workerId: "leaves" })) break
      })
      yield* Effect.promise(async () => {
        for (let i = 0; i < 100 && !released.includes("leaves"); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      })
      expect(released.sort()).toEqual(["ends", "fails", "leaves"])
    }))

  it.scopedLive("server stream: the engine closing ends an open stream cleanly and releases it", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const engine = yield* Scope.make()
      const released = yield* Deferred.make<void>()
      const opened = yield* Deferred.make<void>()
      const { client } = yield* serve(
        {
          listenV2: () =>
            Effect.gen(function*() {
              const queue = yield* Bridge.makeQueue<{ actionId: string }>()
              yield* Effect.addFinalizer(() => Deferred.succeed(released, undefined))
              queue.unsafeOffer({ actionId: "first" })
              yield* Deferred.succeed(opened, undefined)
              return queue
            })
        },
        scope,
        "bearer good",
        engine
      )
      const outcome = Effect.runFork(drain(client.listenV2({ workerId })))
      yield* Deferred.await(opened)
      yield* Scope.close(engine, Exit.void)
      yield* Deferred.await(released)
      expect(yield* Fiber.join(outcome)).toEqual({ messages: [expect.objectContaining({ actionId: "first" })], end: "ended" })
    }))

  it.scopedLive("bidi stream: requests read as they come; responses go on after the client's half-close", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const { client } = yield* serve({
        subscribeToWorkflowRuns: (requests: AsyncIterable<{ workflowRunId: string }>) =>
          Effect.gen(function*() {
            const queue = yield* Bridge.makeQueue<{ workflowRunId: string }>()
            const read = Effect.promise(async () => {
              const ids: Array<string> = []
              for await (const request of requests) {
                ids.push(request.workflowRunId)
                queue.unsafeOffer({ workflowRunId: `seen ${request.workflowRunId}` })
              }
              return ids
            })
            yield* Effect.forkScoped(read.pipe(
              // after the requests end, more responses, then the end
              Effect.zipLeft(Effect.sleep("20 millis")),
              Effect.tap((ids) => queue.unsafeOffer({ workflowRunId: `all ${ids.join(",")}` })),
              Effect.zipRight(queue.end)
            ))
            return queue
          })
      }, scope)
      async function* requests() {
        yield { workflowRunId: "a" }
        await new Promise((resolve) => setTimeout(resolve, 10))
        yield { workflowRunId: "b" }
      }
      const outcome = yield* drain(client.subscribeToWorkflowRuns(requests()))
      expect(outcome).toEqual({
        messages: [{ workflowRunId: "seen a" }, { workflowRunId: "seen b" }, { workflowRunId: "all a,b" }].map((m) =>
          expect.objectContaining(m)
        ),
        end: "ended"
      })
    }))
})
