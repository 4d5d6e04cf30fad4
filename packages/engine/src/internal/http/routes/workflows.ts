/**
 * Workflows: the tenant's list `GET /api/v1/tenants/{tenant}/workflows?name=&offset=&limit=`
 * (`WorkflowList`, what the SDKs' `workflows.get(name)` / `list` call),
 * `GET /api/v1/workflows/{workflow}` (`Workflow`) and `DELETE /api/v1/workflows/{workflow}` (204,
 * upstream's soft delete: `Registry.deleteWorkflow`), whose tenant comes from the workflow.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Queries from "../../domain/queries.js"
import * as Registry from "../../domain/registry.js"
import { json, lookupWith, parseQuery, resourceRoute, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** Workflows across tenants: the tenant comes from the workflow. */
const lookupWorkflow = lookupWith(Queries.findWorkflowAnyTenant)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant/workflows",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* parseQuery((q) => ({ offset: q.int("offset"), limit: q.int("limit"), name: q.string("name") }))
        // upstream: a limit below 1 means 50, a negative offset 0
        const limit = query.limit === undefined || query.limit <= 0 ? 50 : query.limit
        const offset = Math.max(0, query.offset ?? 0)
        const page = yield* runDomain((state) => Queries.listWorkflows(state, tenantId, { name: query.name, offset, limit }))
        return json({
          rows: page.rows.map((workflow) => Views.workflow(workflow, { withVersion: false })),
          pagination: Views.pagesOf(page.total, limit, offset)
        })
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/workflows/:workflow",
    resourceRoute(
      "workflow",
      "invalid workflow id",
      lookupWorkflow,
      (workflow) => Effect.succeed(json(Views.workflow(workflow, { withVersion: true })))
    )
  ),
  HttpRouter.del(
    "/api/v1/workflows/:workflow",
    resourceRoute("workflow", "invalid workflow id", lookupWorkflow, (workflow) =>
      Effect.as(
        runDomain((state, now) => Registry.deleteWorkflow(state, workflow, now)),
        HttpServerResponse.empty({ status: 204 })
      ))
  )
)
