/**
 * Observability (upstream `handlers/v1/observability/traces.go`):
 * `GET /api/v1/stable/tenants/{tenant}/traces?run_external_id=&offset=&limit=`, the OTel trace of
 * a task or workflow run as `OtelSpanList` (`domain/traces.ts`): `limit` 1,000 by default and
 * below 1, `offset` 0 by default and below 0; 404 APIErrors "trace not found" when no span names
 * the run; `{}` when its trace has no span on the page.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Traces from "../../domain/traces.js"
import { apiError, json, parseQuery, runDomain, tenantRoute } from "../rest.js"

/** The observability routes. */
export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/stable/tenants/:tenant/traces",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* parseQuery((q) => ({
          runExternalId: q.requiredUuid("run_external_id"),
          offset: q.int("offset"),
          limit: q.int("limit")
        }))
        const limit = query.limit === undefined || query.limit < 1 ? 1000 : query.limit
        const offset = query.offset === undefined || query.offset < 0 ? 0 : query.offset
        const page = yield* runDomain((state) => Traces.traceOf(state, tenantId, query.runExternalId, offset, limit))
        if (page === undefined) return yield* Effect.fail(apiError(404, "trace not found"))
        return json(Traces.spanListView(page.traceId, page.rows, offset, limit))
      })
    )
  )
)
