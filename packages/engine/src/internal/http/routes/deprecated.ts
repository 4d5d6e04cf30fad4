/**
 * Routes upstream keeps in its contract but answers with a 400 naming the deprecation (the v0
 * events in `./eventsV0.ts`, the webhook workers in `./webhookWorkers.ts`): what upstream checks
 * and binds first is checked here too, in its order.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RestError } from "../rest.js"
import { apiError, tenantRoute } from "../rest.js"

/** A deprecated route under `/tenants/{tenant}`: the tenant checked, what upstream binds read, then 400 APIErrors `message`. */
export const deprecatedTenantRoute = <R>(message: string, read: Effect.Effect<unknown, RestError, R>) =>
  tenantRoute(() => Effect.zipRight(read, apiError(400, message)))
