/**
 * Workflow run details: `GET /api/v1/stable/workflow-runs/{v1-workflow-run}` and `/status`.
 * The tenant comes from the run.
 *
 * @internal
 */
import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { EngineCore } from "../../core.js"
import * as Queries from "../../domain/queries.js"
import { runStatus } from "../../domain/model.js"
import { json, resourceRoute } from "../rest.js"
import * as Views from "../views.js"

/** Looks a run up across tenants (the route is keyed by the run, not the tenant). */
export const lookupRun = (id: string) =>
  Effect.map(EngineCore, (core) => {
    const run = Queries.findRunAnyTenant(core.state, id)
    return run === undefined ? undefined : { tenantId: run.tenantId, resource: run }
  })

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/stable/workflow-runs/:run",
    resourceRoute("run", "invalid workflow run id", lookupRun, (run) => Effect.succeed(json(Views.workflowRunDetails(run))))
  ),
  HttpRouter.get(
    "/api/v1/stable/workflow-runs/:run/status",
    resourceRoute("run", "invalid workflow run id", lookupRun, (run) => Effect.succeed(json(runStatus(run))))
  )
)
