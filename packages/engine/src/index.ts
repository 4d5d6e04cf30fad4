/**
 * @effect-hatchet/engine: a local, in-memory, Hatchet-compatible engine for tests, development
 * and demos. It serves Hatchet's gRPC contract and the REST routes SDKs call on loopback, so the
 * official SDKs and `@effect-hatchet/sdk` run against it unchanged.
 *
 * @since 0.1.0
 */

/**
 * The engine as an Effect service: `Engine.layer(options)` runs it in-process; the service gives
 * its addresses, tokens, the `HATCHET_CLIENT_*` environment and fault injection.
 *
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"

/**
 * How the engine decides that a durable wait's condition holds (a user event's key, scope and CEL
 * expression; a sleep's duration), for engine-free test doubles.
 *
 * @since 0.1.0
 */
export * as Conditions from "./Conditions.js"

/**
 * How the engine identifies a durable call at a node of a task's log, and the non-determinism
 * error of a call that differs from the recorded one, for engine-free test doubles.
 *
 * @since 0.1.0
 */
export * as DurableCalls from "./DurableCalls.js"
