/**
 * The local engine in-process, with our client (`Hatchet.layer`) pointed at it, isolated from
 * the machine's environment (an empty ConfigProvider). One engine per `layer(...)` block.
 */
import { Engine } from "@effect-hatchet/engine"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Hatchet from "../../src/Hatchet.js"
import type * as HatchetConfig from "../../src/HatchetConfig.js"
import * as RunListener from "../../src/RunListener.js"

/** The client options that reach `engine`. */
export const clientOptions = (engine: Engine.EngineService, options: HatchetConfig.Options = {}): HatchetConfig.Options => ({
  token: engine.token,
  hostPort: engine.grpcAddress,
  apiUrl: engine.apiUrl,
  tlsStrategy: "none",
  ...options
})

/** Our client of the `Engine` in context. */
export const clientLayer = (options: HatchetConfig.Options = {}) =>
  Layer.unwrapEffect(Effect.map(Engine.Engine, (engine) => Hatchet.layer(clientOptions(engine, options)))).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
  )

/**
 * An engine and our client of it, with the client's low-level services in reach (built in one
 * layer build with the client, they are the client's own instances: layers are memoized).
 */
export const engineWithClient = (options: HatchetConfig.Options = {}) =>
  RunListener.layer.pipe(
    Layer.provideMerge(Hatchet.layerGrpcServices),
    Layer.provideMerge(clientLayer(options)),
    Layer.provideMerge(Engine.layer())
  )

/** A unique name per test, so tests can share one engine. */
let counter = 0
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`

/** Runs `self` every 20 ms (real time) until `until` holds; dies after `timeoutMs`. */
export const pollUntil = <A, E, R>(self: Effect.Effect<A, E, R>, until: (a: A) => boolean, timeoutMs = 10_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* self
      if (until(value)) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not met in ${timeoutMs} ms (last: ${JSON.stringify(value)})`)
      yield* Effect.sleep("20 millis")
    }
  })
