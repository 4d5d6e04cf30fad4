/**
 * The engine's gRPC server: a grpc-js server with the five services under their upstream full
 * names and the OTLP trace collector (`TraceService`, served as upstream serves it with
 * observability enabled), each served from its Effect implementation on grpc-js handlers
 * (`Bridge.serve`: every call authenticated, every error mapped to its status in one place),
 * every response encoded into one reused writer (`serverDefinition`), a server stream's messages
 * written without waiting for one another (`unawaitedStreamWrites`), on plain HTTP/2 with
 * upstream's keepalive and message-size settings. It can be stopped (every connection dropped)
 * and started again on the same port; the listening server is a `ScopedRef`, shut down with the
 * engine's scope.
 *
 * @internal
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import { TraceServiceDefinition } from "@effect-hatchet/proto/opentelemetry/proto/collector/trace/v1/trace_service"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import { Server, ServerCredentials } from "@grpc/grpc-js"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ScopedRef from "effect/ScopedRef"
import type { EngineAuthService } from "../auth/EngineAuth.js"
import type { EngineCoreService } from "../core.js"
import { maxMessageBytes } from "../domain/dispatch.js"
import * as Admin from "./admin.js"
import * as Bridge from "./bridge.js"
import * as Dispatcher from "./dispatcher.js"
import * as Durable from "./durable.js"
import { serverDefinition } from "./encoding.js"
import * as Events from "./events.js"
import { unawaitedStreamWrites } from "./streamWrites.js"
import * as Traces from "./traces.js"
import * as Workflows from "./workflows.js"

/**
 * Keepalive as upstream: ping idle clients every 30 s, allow pings without calls. Channelz stays
 * on although nothing reads it: grpc-js 1.14 tracks a connection for `forceShutdown` only with
 * channelz (`_channelzSessionHandler`), so without it `stop` left open connections serving.
 */
const channelOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  "grpc.max_receive_message_length": maxMessageBytes,
  "grpc.max_send_message_length": maxMessageBytes
}

export class GrpcListenError extends Data.TaggedError("GrpcListenError")<{ readonly address: string; readonly cause: unknown }> {}

export interface GrpcServer {
  /** Starts listening (port 0 picks a free port); returns the bound port. */
  readonly listen: (port: number) => Effect.Effect<number, GrpcListenError>
  /** Stops listening and drops every connection (clients see CANCELLED / UNAVAILABLE). */
  readonly stop: Effect.Effect<void>
}

export const make = (options: {
  readonly host: string
  readonly version: string
  readonly core: EngineCoreService
  readonly auth: EngineAuthService
}) =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const bridge = yield* Bridge.make((token) => options.auth.authenticateAt(token, clock.unsafeCurrentTimeMillis()))
    const dispatcher = Dispatcher.make(options.core, { version: options.version })
    const events = Events.make(options.core)
    const workflows = Workflows.make(options.core)
    const admin = Admin.make(options.core)
    const durable = Durable.make(options.core)
    const traces = Traces.make(options.core)

    /** The bound port of the listening server, if any: replacing it shuts that server down. */
    const current = yield* ScopedRef.make((): number | undefined => undefined)
    const stop = ScopedRef.set(current, Effect.succeed(undefined))
    const serve = (port: number) =>
      Effect.suspend(() => {
        const server = new Server({ ...channelOptions, interceptors: [unawaitedStreamWrites()] })
        // every AssignedAction is built whole (`Dispatch.assignedAction`, `Batches.startBatchAction`)
        const add = (definition: Parameters<Bridge.Bridge["serve"]>[0], implementation: object) =>
          server.addService(definition, bridge.serve(definition, implementation))
        add(serverDefinition(DispatcherDefinition, ["listen", "listenV2"]), dispatcher)
        add(serverDefinition(EventsServiceDefinition), events)
        add(serverDefinition(WorkflowServiceDefinition), workflows)
        add(serverDefinition(AdminServiceDefinition), admin)
        add(serverDefinition(V1DispatcherDefinition), durable)
        add(serverDefinition(TraceServiceDefinition), traces)
        const address = `${options.host}:${port}`
        return Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              new Promise<number>((resolve, reject) =>
                server.bindAsync(
                  address,
                  ServerCredentials.createInsecure(),
                  (error, port) => error === null ? resolve(port) : reject(error)
                )
              ),
            catch: (cause) => new GrpcListenError({ address, cause })
          }),
          () => Effect.sync(() => server.forceShutdown())
        )
      })
    const listen = (port: number) =>
      Effect.zipRight(ScopedRef.set(current, serve(port)), Effect.map(ScopedRef.get(current), (bound) => bound!))
    return { listen, stop } satisfies GrpcServer
  })
