/**
 * The SDK's gRPC stack for tests, pointed at a loopback server, isolated from the real
 * environment (an empty ConfigProvider: HATCHET_CLIENT_* of the machine are not read).
 */
import { ConfigProvider, Layer } from "effect"
import * as Admin from "../../src/Admin.js"
import * as Dispatcher from "../../src/Dispatcher.js"
import * as Events from "../../src/Events.js"
import * as GrpcTransport from "../../src/GrpcTransport.js"
import * as HatchetConfig from "../../src/HatchetConfig.js"
import { hatchetToken } from "./tokens.js"

export const TOKEN = hatchetToken()

/** HatchetConfig from `options` only (plaintext unless told otherwise). */
export const configLayer = (hostPort: string, options: HatchetConfig.Options = {}) =>
  HatchetConfig.layer({ token: TOKEN, hostPort, tlsStrategy: "none", ...options }).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
  )

/** GrpcTransport + HatchetConfig. */
export const transportLayer = (hostPort: string, options: HatchetConfig.Options = {}) =>
  GrpcTransport.layer.pipe(Layer.provideMerge(configLayer(hostPort, options)))

/** Dispatcher, Admin, Events over one transport. */
export const servicesLayer = (hostPort: string, options: HatchetConfig.Options = {}) =>
  Layer.mergeAll(Dispatcher.layer, Admin.layer, Events.layer).pipe(
    Layer.provideMerge(transportLayer(hostPort, options))
  )
