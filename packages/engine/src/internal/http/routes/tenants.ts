/**
 * `GET /api/v1/tenants/{tenant}` (the official SDK calls it at start-up and checks `version`).
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Queries from "../../domain/queries.js"
import { json, notFound, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const tenant = yield* runDomain((state) => Queries.getTenant(state, tenantId))
        if (tenant === undefined) return yield* notFound()
        return json(Views.tenant(tenant))
      })
    )
  )
)
