/**
 * Assembles an engine: the core, token auth, the gRPC and REST servers, fault injection. Returns
 * the public service and the core (for in-process tests and the REST routes).
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { EngineOptions, EngineService, FaultInjection, RetentionOptions } from "../Engine.js"
import * as EngineAuth from "./auth/EngineAuth.js"
import * as Core from "./core.js"
import { RpcStatus } from "./domain/errors.js"
import { isUuid } from "./domain/ids.js"
import type { RetentionPolicy } from "./domain/model.js"
import { keepEverything } from "./domain/retention.js"
import * as Workers from "./domain/workers.js"
import * as GrpcServer from "./grpc/server.js"
import * as HttpServer from "./http/server.js"
import { defaultRetention, defaultTenantId, defaultVersion, Engine, EngineOptionsError, EngineStartError } from "./service.js"

export const make = (options: EngineOptions = {}) =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const tenantId = (options.tenantId ?? defaultTenantId).toLowerCase()
    if (!isUuid(tenantId)) return yield* new EngineOptionsError({ message: `Engine: tenantId must be a UUID, got ${options.tenantId}` })
    const retention = retentionPolicy(options.retention)
    if (typeof retention === "string") return yield* new EngineOptionsError({ message: `Engine: ${retention}` })
    const grace = options.runEventsGrace === undefined ? undefined : Duration.decodeUnknown(options.runEventsGrace)
    if (grace !== undefined && (Option.isNone(grace) || !Duration.isFinite(grace.value))) {
      return yield* new EngineOptionsError({
        message: `Engine: runEventsGrace must be a finite Duration, got ${String(options.runEventsGrace)}`
      })
    }
    const core = yield* Core.make({
      tenantIds: [tenantId],
      maxInternalRetries: options.maxInternalRetries,
      workerLiveness: options.workerLiveness,
      retention,
      runEventsGraceMs: grace === undefined ? undefined : Duration.toMillis(grace.value)
    })
    const auth = EngineAuth.make(core, { secret: options.tokenSecret })
    const grpc = yield* GrpcServer.make({ host, version: options.version ?? defaultVersion, core, auth })
    const http = yield* HttpServer.make({ host, core, auth })

    const listen = (grpcPort: number, httpPort: number) =>
      Effect.all([
        grpc.listen(grpcPort).pipe(Effect.mapError((cause) => new EngineStartError({ server: "grpc", cause }))),
        http.listen(httpPort).pipe(Effect.mapError((cause) => new EngineStartError({ server: "http", cause })))
      ])
    const [grpcPort, httpPort] = yield* listen(options.grpcPort ?? 0, options.httpPort ?? 0)
    const grpcAddress = `${host}:${grpcPort}`
    const apiUrl = `http://${host}:${httpPort}`
    auth.setAddresses(apiUrl, grpcAddress)

    const mintToken: EngineService["mintToken"] = (mint = {}) =>
      mint.tenantId !== undefined && !isUuid(mint.tenantId)
        ? new EngineOptionsError({ message: `Engine.mintToken: tenantId must be a UUID, got ${mint.tenantId}` })
        : auth.mint({
          tenantId: mint.tenantId ?? tenantId,
          expiresInMs: mint.expiresIn !== undefined ? Duration.toMillis(mint.expiresIn) : undefined
        })
    const token = yield* mintToken()

    const faults: FaultInjection = {
      dropListenStreams: (drop = {}) =>
        core.runSync((state, now) =>
          Workers.dropSessions(
            state,
            now,
            drop.workerId,
            drop.status !== undefined ? new RpcStatus({ code: drop.status.code, message: drop.status.message }) : undefined,
            drop.silent === true
          )
        ),
      rejectHeartbeats: (count) =>
        core.runSync((state) => {
          state.faults.rejectHeartbeats = count
        }),
      forgetWorker: (workerId) =>
        core.runSync((state) => {
          const worker = state.workersById.get(workerId)
          if (worker === undefined) return false
          Workers.forgetWorker(state, worker)
          return true
        }),
      restart: Effect.zipRight(Effect.all([grpc.stop, http.stop]), Effect.asVoid(listen(grpcPort, httpPort)))
    }

    const engine = Engine.of({
      grpcAddress,
      grpcPort,
      apiUrl,
      httpPort,
      tenantId,
      token,
      mintToken,
      env: {
        HATCHET_CLIENT_TOKEN: Redacted.value(token),
        HATCHET_CLIENT_HOST_PORT: grpcAddress,
        HATCHET_CLIENT_API_URL: apiUrl,
        HATCHET_CLIENT_TLS_STRATEGY: "none"
      },
      faults
    })
    return { engine, core }
  })

/** The retention policy of `options.retention`, or what is wrong with it. */
export const retentionPolicy = (options: RetentionOptions | false | undefined): RetentionPolicy | string => {
  if (options === false) return keepEverything
  const count = (name: keyof RetentionOptions, value: number) =>
    value === Infinity || (Number.isInteger(value) && value >= 0)
      ? value
      : `retention.${name} must be a whole number >= 0 or Infinity, got ${value}`
  const age = (name: keyof RetentionOptions, value: Duration.DurationInput) => {
    const decoded = Duration.decodeUnknown(value)
    return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : `retention.${name} must be a Duration, got ${String(value)}`
  }
  const policy = {
    maxAgeMs: age("maxAge", options?.maxAge ?? defaultRetention.maxAge),
    maxRuns: count("maxRuns", options?.maxRuns ?? defaultRetention.maxRuns),
    workerMaxAgeMs: age("workerMaxAge", options?.workerMaxAge ?? defaultRetention.workerMaxAge),
    maxInactiveWorkers: count("maxInactiveWorkers", options?.maxInactiveWorkers ?? defaultRetention.maxInactiveWorkers)
  }
  for (const value of Object.values(policy)) if (typeof value === "string") return value
  return policy as RetentionPolicy
}

/** A layer with both the public `Engine` and the internal `EngineCore` (tests, REST routes). */
export const layer = (options: EngineOptions = {}): Layer.Layer<Engine | Core.EngineCore, EngineStartError | EngineOptionsError> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ core, engine }) => Context.make(Engine, engine).pipe(Context.add(Core.EngineCore, core)))
  )
