/**
 * Rate limits: `GET /api/v1/tenants/{tenant}/rate-limits` (`RateLimitList{rows, pagination}`, what
 * the official SDK's `ratelimits.list` calls; upstream `api/v1/server/handlers/rate-limits/list.go`,
 * `ListRateLimitsForTenantNoMutate`): query `offset` (0), `limit` (50), `search` (a substring of
 * the key), `orderByField` (`key`, `value` or `limitValue`; `key` by default) and
 * `orderByDirection` (`asc` or `desc`, any case; ascending by default), ties by key. Each row shows
 * the units left as of now. An order the repository's validation rejects, or a negative limit or
 * offset (the database's), is 500.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import { json, orderedPage, parseQuery, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** The rate-limit routes. */
export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant/rate-limits",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const search = yield* parseQuery((q) => q.string("search"))
        const page = yield* Effect.flatten(
          parseQuery((q) => orderedPage(q, ["key", "value", "limitValue"], { direction: "ASC", anyCase: true }))
        )
        const sign = page.orderDirection === "ASC" ? 1 : -1
        const field = page.orderBy
        return yield* runDomain((state, now) => {
          const limits = [...(state.tenants.get(tenantId)?.rateLimits.values() ?? [])]
          const rows = limits
            .filter((limit) => search === undefined || limit.key.includes(search))
            .map((limit) => Views.rateLimit(tenantId, limit, now))
          const byKey = (a: { readonly key: string }, b: { readonly key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
          rows.sort((a, b) => (field === "key" ? sign * byKey(a, b) : sign * (a[field] - b[field])) || byKey(a, b))
          return json({
            rows: rows.slice(page.offset, page.offset + page.limit),
            pagination: Views.pagesOf(rows.length, page.limit, page.offset)
          })
        })
      })
    )
  )
)
