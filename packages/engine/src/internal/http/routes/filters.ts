/**
 * Event filters over REST (upstream `api/v1/server/handlers/v1/filters/*.go`, the `v1-filter`
 * getter of `api/v1/server/run/run.go`, `ToV1Filter` / `ToV1FilterList`,
 * `api-contracts/openapi/paths/v1/filters/filter.yaml`):
 *
 * - `POST /api/v1/stable/tenants/{tenant}/filters` (`V1CreateFilterRequest{workflowId, scope,
 *   expression, payload?}` → `V1Filter`): nothing is checked but the workflow id's form (a
 *   missing one is the nil UUID, a workflow need not exist, an empty scope or expression is
 *   stored); the payload is `{}` when absent; a filter equal to one the workflow has (scope,
 *   expression and payload) is echo's 500, as upstream's unique index makes it;
 * - `GET /api/v1/stable/tenants/{tenant}/filters` (`V1FilterList`; query `offset` (0), `limit`
 *   (20,000), `workflowIds`, `scopes`; ordered by id descending; a limit below 1 or a negative
 *   offset is 400 "failed to list filters");
 * - `GET`, `DELETE` (→ the deleted `V1Filter`) and `PATCH {scope?, expression?, payload?}` (each
 *   field changed when given; a duplicate is echo's 500) on `.../filters/{v1-filter}`: a bad id is
 *   400 "invalid filter id", a filter the tenant does not have 404 "not found", both before
 *   authentication, as upstream's populator.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Filters from "../../domain/filters.js"
import { Go } from "../../domain/goJson.js"
import { nilUuid } from "../../domain/ids.js"
import type { JsonObject as JsonObjectValue } from "../../domain/json.js"
import type { EventFilter } from "../../domain/model.js"
import { tenantOf } from "../../domain/tenants.js"
import {
  decodeBody,
  goUuid,
  type Handler,
  internalServerError,
  json,
  JsonObject,
  lookupInTenant,
  nullable,
  parseQuery,
  repositoryPage,
  runDomain,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** `V1CreateFilterRequest`. */
const CreateFilterRequest = Schema.Struct({
  workflowId: nullable(Schema.String),
  scope: nullable(Schema.String),
  expression: nullable(Schema.String),
  payload: nullable(JsonObject)
})

/** `V1UpdateFilterRequest`. */
const UpdateFilterRequest = Schema.Struct({
  scope: nullable(Schema.String),
  expression: nullable(Schema.String),
  payload: nullable(JsonObject)
})

/** A route keyed by a filter of the path's tenant. */
const filterRoute = <R>(handler: (filter: EventFilter, tenantId: string) => Handler<R>) =>
  tenantResourceRoute("filter", "invalid filter id", lookupInTenant(Filters.getFilter), handler)

const base = "/api/v1/stable/tenants/:tenant/filters"

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    base,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          CreateFilterRequest,
          Go.struct("gen.V1CreateFilterRequest", {
            expression: Go.string,
            payload: [Go.map(Go.any), "pointer"],
            scope: Go.string,
            workflowId: Go.uuid
          })
        )
        const workflowId = yield* goUuid(body.workflowId ?? nilUuid)
        const created = yield* runDomain((state, now) =>
          Filters.createFilter(state, tenantOf(state, tenantId), workflowId, {
            scope: body.scope ?? "",
            expression: body.expression ?? "",
            payload: (body.payload ?? {}) as JsonObjectValue
          }, now)
        )
        if ("_tag" in created) return yield* internalServerError()
        return json(Views.filter(created))
      })
    )
  ),
  HttpRouter.get(
    base,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* Effect.flatten(parseQuery((q) => {
          const workflowIds = q.uuids("workflowIds")
          const scopes = q.strings("scopes")
          return Either.map(repositoryPage(q, "failed to list filters"), (page) => ({ workflowIds, scopes, ...page }))
        }))
        const page = yield* runDomain((state) => Filters.listFilters(state, tenantId, query))
        return json({
          rows: page.rows.map(Views.filter),
          pagination: Views.filterPagination(page.total, query.limit, query.offset)
        })
      })
    )
  ),
  HttpRouter.get(`${base}/:filter`, filterRoute((filter) => Effect.succeed(json(Views.filter(filter))))),
  HttpRouter.del(
    `${base}/:filter`,
    filterRoute((filter, tenantId) =>
      Effect.map(
        runDomain((state) => Filters.deleteFilter(state, tenantOf(state, tenantId), filter)),
        (deleted) => json(Views.filter(deleted))
      )
    )
  ),
  HttpRouter.patch(
    `${base}/:filter`,
    filterRoute((filter, tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          UpdateFilterRequest,
          Go.struct("gen.V1UpdateFilterRequest", {
            expression: [Go.string, "pointer"],
            payload: [Go.map(Go.any), "pointer"],
            scope: [Go.string, "pointer"]
          })
        )
        const update: Filters.FilterUpdate = {
          scope: body.scope,
          expression: body.expression,
          payload: body.payload as JsonObjectValue | undefined
        }
        const updated = yield* runDomain((state, now) => Filters.updateFilter(state, tenantOf(state, tenantId), filter, update, now))
        if ("_tag" in updated) return yield* internalServerError()
        return json(Views.filter(updated))
      })
    )
  )
)
