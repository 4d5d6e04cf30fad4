/**
 * `WorkerHealth.serveWorker` over real HTTP: health answers from before the worker registers
 * (its engine not reachable yet) until after it has drained, which a probe needs to tell a
 * worker waiting or finishing its work from a dead one.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
import * as WorkerHealth from "@effect-hatchet/sdk/WorkerHealth"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Deferred, Effect, Exit, Fiber, Layer, Schedule, Schema, Scope } from "effect"
import { createServer } from "node:http"
import * as Net from "node:net"

const Slow = Task.make("health-slow", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number })
})

/** A loopback port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
)

/** The HTTP server in the test's scope, and a GET on it. */
const healthServer = Effect.gen(function*() {
  const context = yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") return yield* Effect.die("not a TCP server")
  const get = (path: string) =>
    Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(`http://127.0.0.1:${address.port}${path}`, { signal })
        return { status: response.status, body: await response.text() }
      },
      catch: (cause) => cause
    })
  /** Until `path` answers `status` (at most 10 s). */
  const awaitStatus = (path: string, status: number) =>
    get(path).pipe(
      Effect.filterOrFail((response) => response.status === status),
      Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 }),
      Effect.orDie
    )
  return { context, get: (path: string) => Effect.orDie(get(path)), awaitStatus }
})

const clientOf = (engine: Engine.EngineService, hostPort: string) =>
  Hatchet.layer({ token: engine.token, hostPort, apiUrl: engine.apiUrl, tlsStrategy: "none" }).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
  )

it.scopedLive(
  "while the engine cannot be reached, the worker keeps registering: alive, not ready (STARTING)",
  () =>
    Effect.gen(function*() {
      const engine = yield* Effect.flatMap(Layer.build(Engine.layer()), (ctx) => Effect.succeed(Context.get(ctx, Engine.Engine)))
      const health = yield* healthServer
      const WorkerLive = WorkerHealth.serveWorker(
        Worker.layer({ name: "health-waiting", workflows: [Slow.toLayer(({ n }) => Effect.succeed({ n }))] })
      ).pipe(
        Layer.provide(clientOf(engine, `127.0.0.1:${yield* closedPort}`)),
        Layer.provide(Layer.succeedContext(health.context))
      )
      const building = yield* Effect.forkScoped(Layer.build(WorkerLive).pipe(Effect.scoped))
      const waiting = yield* health.awaitStatus("/readyz", 503)
      expect(JSON.parse(waiting.body)).toMatchObject({ status: "STARTING" })
      expect(yield* health.get("/livez")).toEqual({ status: 200, body: "ok" })
      expect(building.unsafePoll()).toBeNull() // still registering
      yield* Fiber.interrupt(building)
    }),
  30_000
)

it.scopedLive(
  "closing the worker: not ready while it finishes its task, still alive, and the port answers until it has drained",
  () =>
    Effect.gen(function*() {
      const engineContext = yield* Layer.build(Engine.layer())
      const engine = Context.get(engineContext, Engine.Engine)
      const client = yield* Layer.build(clientOf(engine, engine.grpcAddress))
      const health = yield* healthServer
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const WorkerLive = WorkerHealth.serveWorker(
        Worker.layer({
          name: "health-draining",
          workflows: [
            Slow.toLayer(({ n }) => Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(release)), Effect.as({ n })))
          ],
          shutdownGracePeriod: "20 seconds"
        })
      ).pipe(Layer.provide(Layer.succeedContext(Context.merge(client, health.context))))

      const workerScope = yield* Scope.make()
      yield* Layer.buildWithScope(WorkerLive, workerScope)
      yield* health.awaitStatus("/readyz", 200)
      const handle = yield* Hatchet.runNoWait(Slow, { n: 7 }).pipe(Effect.provide(client))
      yield* Deferred.await(started)

      const closing = yield* Effect.fork(Scope.close(workerScope, Exit.void))
      const draining = yield* health.awaitStatus("/readyz", 503)
      expect(JSON.parse(draining.body)).toMatchObject({ status: "UNHEALTHY", name: "health-draining" })
      expect(yield* health.get("/livez")).toEqual({ status: 200, body: "ok" })
      expect(closing.unsafePoll()).toBeNull() // the task holds the drain

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closing)
      expect(yield* handle.result.pipe(Effect.provide(client))).toEqual({ n: 7 })
    }),
  60_000
)
