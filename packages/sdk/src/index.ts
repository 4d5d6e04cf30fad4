/**
 * @since 0.1.0
 */

/**
 * Low-level `v1.AdminService` / `WorkflowService` calls: registration and triggers.
 *
 * @since 0.1.0
 */
export * as Admin from "./Admin.js"

/**
 * Low-level `Dispatcher` calls: worker registration, assignments, heartbeats, task events.
 *
 * @since 0.1.0
 */
export * as Dispatcher from "./Dispatcher.js"

/**
 * Low-level `EventsService` calls: events, task logs, stream chunks.
 *
 * @since 0.1.0
 */
export * as Events from "./Events.js"

/**
 * Client configuration: options > `HATCHET_CLIENT_*` env > token claims > defaults.
 *
 * @since 0.1.0
 */
export * as HatchetConfig from "./HatchetConfig.js"

/**
 * Errors shared by the transports: `GrpcError`, `RestError`.
 *
 * @since 0.1.0
 */
export * as HatchetError from "./HatchetError.js"
