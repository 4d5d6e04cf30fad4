/**
 * Webhook workers, upstream's older push-delivery workers (`api/v1/server/handlers/webhook-worker/*.go`,
 * the `webhook` getter of `api/v1/server/run/run.go`), all deprecated upstream, answered as it
 * answers them:
 *
 * - `GET /api/v1/tenants/{tenant}/webhook-workers`: 400 APIErrors "WebhookList is deprecated";
 * - `POST /api/v1/tenants/{tenant}/webhook-workers`: the body bound first, then 400
 *   "WebhookCreate is deprecated";
 * - `DELETE /api/v1/webhook-workers/{webhook}` and `GET /api/v1/webhook-workers/{webhook}/requests`:
 *   upstream's populator refuses any id before authentication, 400 `{"message":"This endpoint is
 *   deprecated."}`.
 *
 * Incoming webhooks (`/api/v1/stable/tenants/{tenant}/webhooks`) are `./webhooks.ts`.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import { httpError, jsonBody, publicRoute } from "../rest.js"
import { deprecatedTenantRoute } from "./deprecated.js"

const refusedByPopulator = publicRoute(Effect.fail(httpError(400, "This endpoint is deprecated.")))

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get("/api/v1/tenants/:tenant/webhook-workers", deprecatedTenantRoute("WebhookList is deprecated", Effect.void)),
  HttpRouter.post("/api/v1/tenants/:tenant/webhook-workers", deprecatedTenantRoute("WebhookCreate is deprecated", jsonBody)),
  HttpRouter.del("/api/v1/webhook-workers/:webhook", refusedByPopulator),
  HttpRouter.get("/api/v1/webhook-workers/:webhook/requests", refusedByPopulator)
)
