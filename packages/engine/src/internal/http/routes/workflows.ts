/**
 * Workflows: the tenant's list `GET /api/v1/tenants/{tenant}/workflows?name=&offset=&limit=`
 * (`WorkflowList`, what the SDKs' `workflows.get(name)` / `list` call),
 * `GET /api/v1/workflows/{workflow}` (`Workflow`) and `DELETE /api/v1/workflows/{workflow}` (204,
 * upstream's soft delete: `Registry.deleteWorkflow`), `PATCH /api/v1/workflows/{workflow}`
 * (`WorkflowUpdateRequest`: pause or unpause, `workflowPause.ts`; answers the workflow as the
 * lists show it), `GET /api/v1/workflows/{workflow}/versions?version=` (`WorkflowVersion`,
 * `../workflowVersionView.ts`; upstream `handlers/workflows/get_version.go`): the latest version, or
 * the one asked for, which upstream looks up by id alone (a version of another workflow of the
 * tenant is shown under the path's workflow; one of a deleted workflow, of another tenant or
 * unknown is 404 "version not found"; upstream does not check the tenant, the local engine does).
 * Every route's tenant comes from the workflow.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { EngineCore } from "../../core.js"
import { sqlInterval } from "../../domain/duration.js"
import { Go } from "../../domain/goJson.js"
import { isJsonObject } from "../../domain/json.js"
import type { PausedRunQueueBehavior } from "../../domain/model.js"
import { latestVersion } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import * as Registry from "../../domain/registry.js"
import * as WorkflowPause from "../../domain/workflowPause.js"
import type { RestError } from "../rest.js"
import {
  apiError,
  decodeBody,
  internalServerError,
  json,
  lookupWith,
  nullable,
  parseQuery,
  resourceRoute,
  runDomain,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"
import { workflowVersion } from "../workflowVersionView.js"

/** `WorkflowUpdateRequest`: an object; its `pause` union is read as upstream's handler reads it (`pauseRequest`). */
const UpdateWorkflow = Schema.Struct({ pause: nullable(Schema.Unknown) })

const behavior = (value: unknown): value is PausedRunQueueBehavior => value === "QUEUE" || value === "DROP"

/** A Go `string` field: absent or null is "", another type fails the unmarshal. */
const goString = (value: unknown): string | undefined =>
  value === undefined || value === null ? "" : typeof value === "string" ? value : undefined

/**
 * The pause or unpause a `PauseWorkflowRequest` asks for. Upstream answers every bad request with
 * 500 ("failed to update workflow" in its log): no `pause` (its handler then dereferences a nil
 * workflow), an `action` missing or other than `pause` / `unpause`, a field of the wrong type, a
 * behavior other than `QUEUE` / `DROP` (its SQL enum cast fails), a TTL `convert_duration_to_interval`
 * raises on. A TTL it cannot read is 5 minutes, as that function makes it.
 */
const pauseRequest = (pause: unknown): Either.Either<WorkflowPause.PauseOptions | "unpause", RestError> => {
  if (!isJsonObject(pause) || (pause.action !== "pause" && pause.action !== "unpause")) return Either.left(internalServerError())
  if (pause.action === "unpause") return Either.right("unpause")
  const cron = goString(pause.pausedWorkflowCronRunQueueBehavior)
  const scheduled = goString(pause.pausedWorkflowScheduledRunQueueBehavior)
  const queueTtl = goString(pause.pausedWorkflowQueueTTL)
  const interval = queueTtl === undefined ? undefined : sqlInterval(queueTtl)
  if (!behavior(cron) || !behavior(scheduled) || queueTtl === undefined || interval === undefined) {
    return Either.left(internalServerError())
  }
  return Either.right({ cronRunQueueBehavior: cron, scheduledRunQueueBehavior: scheduled, queueTtl, interval })
}

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
  HttpRouter.get(
    "/api/v1/workflows/:workflow/versions",
    resourceRoute("workflow", "invalid workflow id", lookupWorkflow, (workflow) =>
      Effect.gen(function*() {
        const { version: versionId } = yield* parseQuery((q) => ({ version: q.uuid("version") }))
        const { state } = yield* EngineCore
        const version = versionId === undefined ? latestVersion(workflow) : state.workflowVersionsById.get(versionId)
        if (version === undefined || version.workflow.deletedAt !== undefined || version.workflow.tenantId !== workflow.tenantId) {
          return yield* apiError(404, "version not found")
        }
        return json(workflowVersion(state, version, workflow))
      }))
  ),
  HttpRouter.patch(
    "/api/v1/workflows/:workflow",
    resourceRoute("workflow", "invalid workflow id", lookupWorkflow, (workflow) =>
      Effect.gen(function*() {
        const { pause } = yield* decodeBody(
          UpdateWorkflow,
          // `PauseWorkflowRequest` is a union kept as raw JSON: any value binds
          Go.struct("gen.WorkflowUpdateRequest", { pause: [Go.any, "pointer"] })
        )
        const request = yield* pauseRequest(pause)
        return yield* runDomain((state, now) => {
          if (request === "unpause") WorkflowPause.unpauseWorkflow(state, workflow, now)
          else WorkflowPause.pauseWorkflow(state, workflow, request, now)
          return json(Views.workflow(workflow, { withVersion: false }))
        })
      }))
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
