/**
 * What both the public `Engine` module and the implementation need: the defaults, the start
 * error and the service's tag. The public module re-exports them with their documentation; the
 * implementation imports them from here, so that it imports only types from the public module.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type { EngineService, RetentionOptions } from "../Engine.js"

/** See `Engine.defaultVersion`. */
export const defaultVersion = "v0.106.5"

/** See `Engine.defaultTenantId`. */
export const defaultTenantId = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

/** See `Engine.defaultRetention`. */
export const defaultRetention = {
  maxAge: "1 day",
  maxRuns: 10_000,
  workerMaxAge: "1 hour",
  maxInactiveWorkers: 100
} as const satisfies RetentionOptions

/** See `Engine.EngineStartError`. */
export class EngineStartError extends Data.TaggedError("EngineStartError")<{
  readonly server: "grpc" | "http"
  readonly cause: unknown
}> {}

/** See `Engine.EngineOptionsError`. */
export class EngineOptionsError extends Data.TaggedError("EngineOptionsError")<{
  readonly message: string
}> {}

/** See `Engine.Engine`. */
export class Engine extends Context.Tag("@effect-hatchet/engine/Engine")<Engine, EngineService>() {}
