/**
 * Pushed events over REST (upstream `api/v1/server/handlers/v1/events/*.go`, the `v1-event`
 * getter of `api/v1/server/run/run.go`, `ToV1Event` / `ToV1EventList`, the OLAP `ListEvents`,
 * `CountEvents`, `PopulateEventData` and `ListEventKeys` queries):
 *
 * - `GET /api/v1/stable/tenants/{tenant}/events` (`V1EventList`; query `offset` (0), `limit`
 *   (50), `since` (a day ago), `until`, `keys`, `workflowIds` and `workflowRunStatuses` (events
 *   that triggered a run of those workflows, or in those statuses, created since `since`),
 *   `eventIds`, `additionalMetadata` (`key:value`, each key holding exactly that string),
 *   `scopes`; newest first; counted up to 20,000). A negative limit or offset, a limit of 0, a
 *   status that is not a `V1TaskStatus` or a metadata pair without a key or a value is echo's
 *   500, as upstream fails there;
 * - `GET .../events/{v1-event}` (`V1Event`): a bad id is 400 "invalid event id", an event the
 *   tenant does not have 404 "not found", both before authentication;
 * - `GET .../events/keys` (`EventKeyList`): the keys of the events seen in the last day.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { EngineCore } from "../../core.js"
import type { PushedEvent, TaskStatus } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import {
  type Handler,
  internalServerError,
  json,
  lookupInTenant,
  parseQuery,
  type QueryReader,
  runDomain,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

const statuses: ReadonlyArray<TaskStatus> = ["QUEUED", "RUNNING", "COMPLETED", "CANCELLED", "FAILED"]

const dayMs = 24 * 60 * 60 * 1000

/** The list's query parameters, as upstream's handler reads them. */
const listParams = (q: QueryReader, now: number) => ({
  offset: q.int("offset") ?? 0,
  limit: q.int("limit") ?? 50,
  keys: q.strings("keys"),
  since: q.dateTime("since") ?? now - dayMs,
  until: q.dateTime("until"),
  workflowIds: q.uuids("workflowIds"),
  workflowRunStatuses: q.strings("workflowRunStatuses"),
  eventIds: q.uuids("eventIds"),
  additionalMetadata: q.params.has("additionalMetadata") ? q.strings("additionalMetadata") : undefined,
  scopes: q.strings("scopes")
})

/** `key:value` pairs split at the first colon; a pair without both is undefined (upstream's 500). */
const metadataOf = (pairs: ReadonlyArray<string> | undefined): Record<string, string> | undefined | "invalid" => {
  if (pairs === undefined) return undefined
  const metadata: Record<string, string> = {}
  for (const pair of pairs) {
    const index = pair.indexOf(":")
    if (index < 0) return "invalid"
    const key = pair.slice(0, index)
    const value = pair.slice(index + 1)
    if (key === "" || value === "") return "invalid"
    metadata[key] = value
  }
  return metadata
}

/** A route keyed by an event of the path's tenant. */
const eventRoute = <R>(handler: (event: PushedEvent, tenantId: string) => Handler<R>) =>
  tenantResourceRoute("event", "invalid event id", lookupInTenant(Queries.findEvent), handler)

const base = "/api/v1/stable/tenants/:tenant/events"

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    base,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const query = yield* parseQuery((q) => listParams(q, now))
        const metadata = metadataOf(query.additionalMetadata)
        const runStatuses = query.workflowRunStatuses as ReadonlyArray<TaskStatus>
        if (
          query.limit <= 0 || query.offset < 0 || metadata === "invalid" ||
          runStatuses.some((status) => !statuses.includes(status))
        ) return yield* internalServerError()
        const page = yield* runDomain((state) => {
          const found = Queries.listEvents(state, tenantId, {
            ...query,
            runStatuses,
            additionalMetadata: metadata
          })
          return { total: found.total, rows: found.rows.map((event) => Views.event(state, event, { forGet: false })) }
        })
        return json({ rows: page.rows, pagination: Views.eventPagination(page.total, query.limit, query.offset) })
      })
    )
  ),
  HttpRouter.get(
    `${base}/keys`,
    tenantRoute((tenantId) =>
      Effect.map(runDomain((state, now) => Queries.listEventKeys(state, tenantId, now)), (keys) => json({ rows: keys }))
    )
  ),
  HttpRouter.get(
    `${base}/:event`,
    eventRoute((event) => Effect.flatMap(EngineCore, (core) => Effect.succeed(json(Views.event(core.state, event, { forGet: true })))))
  )
)
