/**
 * The v0 event routes (upstream `api/v1/server/handlers/events/*.go`, the `event` and
 * `event-with-tenant` getters of `api/v1/server/run/run.go`, `transformers.ToEvent`). Upstream
 * still reads one event this way and answers the rest with a 400 that names the deprecation; the
 * v1 routes (`./events.ts`, runs' cancel and replay in `./runOperations.ts`) do their work:
 *
 * - `GET /api/v1/events/{event}` (`Event`: `metadata` with Go's zero `updatedAt`, `key`,
 *   `tenantId`): a bad id is 400 "invalid event id", an unknown event 404 "not found", both before
 *   authentication; another tenant's event 403;
 * - `GET /api/v1/events/{event}/data` and `GET /api/v1/tenants/{tenant}/events/{event}/data`
 *   (`EventData`: `data`, the payload as Postgres writes the stored `jsonb` back, `../../domain/jsonbText.ts`);
 * - `GET /api/v1/tenants/{tenant}/events` (list: its query is read as upstream's binding reads it,
 *   `offset` / `limit` int64, `eventIds` UUIDs) and `GET .../events/keys`: 400 APIErrors
 *   "EventList is deprecated", "EventKeyList is deprecated";
 * - `POST .../events`, `.../events/bulk`, `.../events/replay`, `.../events/cancel`: the body read as
 *   echo's binder reads it (`jsonBody`: not JSON 400 "Syntax error: …", not `application/json` 415),
 *   then 400 APIErrors "EventCreate is deprecated",
 *   "EventCreateBulk is deprecated", "EventUpdateReplay is deprecated", "EventUpdateCancel is
 *   deprecated; please use V1TaskCancel instead".
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import { parseJson } from "../../domain/json.js"
import { jsonbText } from "../../domain/jsonbText.js"
import type { PushedEvent } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import { json, jsonBody, lookupInTenant, lookupWith, parseQuery, resourceRoute, tenantResourceRoute } from "../rest.js"
import { resourceMeta } from "../views.js"
import { deprecatedTenantRoute } from "./deprecated.js"

/** `EventData`: the payload as the `jsonb` column gives it back. */
const eventData = (event: PushedEvent) => {
  const payload = parseJson(event.payload)
  return json({ data: payload === undefined ? event.payload : jsonbText(payload) })
}

const eventRoute = (handler: (event: PushedEvent) => ReturnType<typeof eventData>) =>
  resourceRoute("event", "invalid event id", lookupWith((state, id) => state.eventsById.get(id)), (event) => Effect.succeed(handler(event)))

const base = "/api/v1/tenants/:tenant/events"

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/events/:event",
    eventRoute((event) =>
      json({
        // upstream's getter leaves `UpdatedAt` unset: Go's zero time
        metadata: { ...resourceMeta(event.id, event.createdAt), updatedAt: "0001-01-01T00:00:00Z" },
        key: event.key,
        tenantId: event.tenantId
      })
    )
  ),
  HttpRouter.get("/api/v1/events/:event/data", eventRoute(eventData)),
  HttpRouter.get(
    `${base}/:event/data`,
    tenantResourceRoute("event", "invalid event id", lookupInTenant(Queries.findEvent), (event) => Effect.succeed(eventData(event)))
  ),
  HttpRouter.get(
    base,
    deprecatedTenantRoute(
      "EventList is deprecated",
      parseQuery((q) => ({ offset: q.int("offset"), limit: q.int("limit"), eventIds: q.uuids("eventIds") }))
    )
  ),
  HttpRouter.get(`${base}/keys`, deprecatedTenantRoute("EventKeyList is deprecated", Effect.void)),
  HttpRouter.post(base, deprecatedTenantRoute("EventCreate is deprecated", jsonBody)),
  HttpRouter.post(`${base}/bulk`, deprecatedTenantRoute("EventCreateBulk is deprecated", jsonBody)),
  HttpRouter.post(`${base}/replay`, deprecatedTenantRoute("EventUpdateReplay is deprecated", jsonBody)),
  HttpRouter.post(`${base}/cancel`, deprecatedTenantRoute("EventUpdateCancel is deprecated; please use V1TaskCancel instead", jsonBody))
)
