/**
 * Workflow runs: `GET /api/v1/stable/workflow-runs/{v1-workflow-run}` (`V1WorkflowRunDetails`),
 * `/status` (a bare `V1TaskStatus`) and `/task-events` (`V1TaskEventList`), whose tenant comes
 * from the run; the tenant's list `GET /api/v1/stable/tenants/{tenant}/workflow-runs`
 * (`V1TaskSummaryList`); and the deprecated v0 `GET /api/v1/tenants/{tenant}/workflow-runs/{id}/shape`
 * (the official SDK's fallback when a result event is empty), 400 as upstream.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { runStatus } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import * as PlainRoutes from "../plainRoutes.js"
import {
  errorReply,
  httpError,
  internalServerError,
  json,
  jsonReply,
  lookupWith,
  notFound,
  pathTenant,
  populatedTenantRoute,
  type QueryReader,
  readQuery,
  requireTenant,
  resourceRoute,
  uuidParam
} from "../rest.js"
import * as Views from "../views.js"

/** Runs across tenants (the routes are keyed by the run, not the tenant). */
const lookupRun = lookupWith(Queries.findRunAnyTenant)

/**
 * `additional_metadata` pairs `key:value` (split at the first colon; pairs without one are
 * ignored) and how they combine: one pair, or `AND`, must all match; several default to `OR`.
 */
const metadataFilter = (q: QueryReader) => {
  const pairs: Record<string, string> = {}
  for (const pair of q.strings("additional_metadata")) {
    const index = pair.indexOf(":")
    if (index >= 0) pairs[pair.slice(0, index)] = pair.slice(index + 1)
  }
  const operator = q.oneOf("additional_metadata_operator", ["AND", "OR"] as const)
  return {
    additionalMetadata: pairs,
    additionalMetadataOperator: Object.keys(pairs).length <= 1 || operator === "AND" ? "AND" as const : "OR" as const
  }
}

/**
 * The list's query parameters, in the order upstream's generated handler binds them. `limit` and
 * `offset` are int64 on the wire and int32 in upstream's repository (`int32(opts.Limit)`, which
 * wraps); a negative one then fails the query (Postgres: "LIMIT must not be negative"), a 500.
 * Upstream sets no other bound on the page: what it can return is bounded by its retention, and
 * its count stops at 20,000 (`Queries.countLimit`).
 */
const listParams = (q: QueryReader) => ({
  offset: q.int32Narrowed("offset") ?? 0,
  limit: q.int32Narrowed("limit") ?? 50,
  statuses: q.strings("statuses"),
  since: q.requiredDateTime("since"),
  until: q.dateTime("until"),
  ...metadataFilter(q),
  workflowIds: q.uuids("workflow_ids"),
  workerId: q.uuid("worker_id"),
  onlyTasks: q.requiredBool("only_tasks"),
  parentTaskExternalId: q.uuid("parent_task_external_id"),
  triggeringEventExternalId: q.uuid("triggering_event_external_id"),
  includePayloads: q.bool("include_payloads") ?? true
})

/** A run's details (`V1WorkflowRunDetails`); its tenant is the run's. */
const runDetails: PlainRoutes.PlainRoute = {
  path: "/api/v1/stable/workflow-runs/:run",
  handler: (request) => {
    const runId = uuidParam(request, "run", "invalid workflow run id")
    if (Either.isLeft(runId)) return errorReply(runId.left)
    const run = Queries.findRunAnyTenant(request.core.state, runId.right)
    if (run === undefined) return errorReply(notFound())
    const allowed = requireTenant(request, run.tenantId)
    if (Either.isLeft(allowed)) return errorReply(allowed.left)
    return jsonReply((writer) => Views.writeWorkflowRunDetails(writer, run))
  }
}

/** The tenant's run list (`V1TaskSummaryList`), read from the engine's state. */
const runList: PlainRoutes.PlainRoute = {
  path: "/api/v1/stable/tenants/:tenant/workflow-runs",
  handler: (request) => {
    const tenant = pathTenant(request)
    if (Either.isLeft(tenant)) return errorReply(tenant.left)
    const tenantId = tenant.right
    const params = readQuery(new URL(request.url, "http://localhost").searchParams, listParams)
    if (Either.isLeft(params)) return errorReply(params.left)
    const { includePayloads, onlyTasks, parentTaskExternalId, workerId, ...common } = params.right
    if (common.limit < 0 || common.offset < 0) return errorReply(internalServerError())
    const state = request.core.state
    return jsonReply((writer) => {
      if (onlyTasks) {
        // upstream `OnlyTasks`: filters by worker, not by parent task
        const page = Queries.listTasks(state, tenantId, { ...common, workerId })
        return Views.writeRunList(writer, { total: page.total, tasks: page.rows }, common.limit, common.offset, includePayloads)
      }
      // upstream `WithDags`: filters by parent task, not by worker
      const page = Queries.listRuns(state, tenantId, { ...common, parentTaskExternalId })
      return Views.writeRunList(writer, { total: page.total, runs: page.rows }, common.limit, common.offset, includePayloads)
    })
  }
}

/** The routes the SDKs poll, served without the Effect HTTP machinery too (`PlainRoutes.serveLean`). */
export const hotRoutes: ReadonlyArray<PlainRoutes.PlainRoute> = [runDetails, runList]

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/stable/workflow-runs/:run/status",
    resourceRoute("run", "invalid workflow run id", lookupRun, (run) => Effect.succeed(json(runStatus(run))))
  ),
  HttpRouter.get(
    "/api/v1/stable/workflow-runs/:run/task-events",
    resourceRoute(
      "run",
      "invalid workflow run id",
      lookupRun,
      (run) => Effect.succeed(json({ rows: Views.runTaskEvents(run), pagination: {} }))
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/workflow-runs/:run/shape",
    // upstream's populator finds the tenant, then its `workflow-run` getter rejects every v0 run
    // route, before authentication
    populatedTenantRoute(() => Effect.fail(httpError(400, "This endpoint is deprecated.")))
  ),
  HttpRouter.concat(PlainRoutes.router(hotRoutes))
)
