/**
 * Scheduled runs (`docs/engine.md` §10.3; upstream `api/v1/server/handlers/workflows/*_scheduled.go`,
 * the `scheduled-workflow-run` getter of `api/v1/server/run/run.go`, the `ScheduledWorkflows`
 * transformer of `api/v1/server/oas/transformers/workflow_run.go`):
 *
 * - `POST /api/v1/tenants/{tenant}/workflows/{workflow}/scheduled` (`{workflow}` is the workflow
 *   NAME; `ScheduleWorkflowRunRequest{input, additionalMetadata, triggerAt, priority?}` →
 *   `ScheduledWorkflows`; 400 `APIErrors` "workflow not found" or the priority's validation);
 * - `GET /api/v1/tenants/{tenant}/workflows/scheduled` (`ScheduledWorkflowsList{rows, pagination}`;
 *   query `offset`, `limit` (50), `orderByField` (`triggerAt`), `orderByDirection` (`DESC`),
 *   `workflowId`, `parentWorkflowRunId`, `parentStepRunId`, `additionalMetadata` `key:value`,
 *   `statuses`);
 * - `GET`, `DELETE` (204), `PATCH {triggerAt}` and `POST` (trigger now → `{externalId}`) on
 *   `/api/v1/tenants/{tenant}/workflows/scheduled/{scheduled-workflow-run}`: a bad id is 400
 *   "invalid scheduled workflow run id", a run of another tenant (or one that already fired) 404
 *   "scheduled workflow run not found", both before authentication as upstream's populator;
 * - `POST /api/v1/tenants/{tenant}/workflows/scheduled/bulk-delete` (ids or a filter →
 *   `{deletedIds, errors}`) and `/bulk-update` (`{updates[{id, triggerAt}]}` →
 *   `{updatedIds, errors}`).
 *
 * A body without `triggerAt` means Go's zero time (the run fires at once), as upstream decodes it.
 * A list parameter the repository rejects (an unknown order field or direction, a negative limit
 * or offset, an unknown status) is echo's 500 `{"message":"Internal Server Error"}`.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { NotEither } from "../../core.js"
import { Go } from "../../domain/goJson.js"
import { nilUuid } from "../../domain/ids.js"
import type { EngineState, ScheduledRun } from "../../domain/model.js"
import * as Schedules from "../../domain/schedules.js"
import {
  apiError,
  bodyTime,
  decodeBody,
  goUuid,
  goUuids,
  type Handler,
  internalServerError,
  json,
  JsonObject,
  lookupInTenant,
  metadataPairs,
  nullable,
  optionalGoUuid,
  orderedPage,
  parseQuery,
  pathParam,
  runDomain,
  runDomainEither,
  storedJson,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** `ScheduleWorkflowRunRequest`. */
const ScheduleWorkflowRunRequest = Schema.Struct({
  input: nullable(JsonObject),
  additionalMetadata: nullable(JsonObject),
  triggerAt: nullable(Schema.String),
  priority: nullable(Schema.Int)
})

/** `UpdateScheduledWorkflowRunRequest`. */
const UpdateScheduledWorkflowRunRequest = Schema.Struct({ triggerAt: nullable(Schema.String) })

/** `ScheduledWorkflowsBulkDeleteRequest`. */
const BulkDeleteRequest = Schema.Struct({
  scheduledWorkflowRunIds: nullable(Schema.Array(Schema.String)),
  filter: nullable(Schema.Struct({
    workflowId: nullable(Schema.String),
    parentWorkflowRunId: nullable(Schema.String),
    parentStepRunId: nullable(Schema.String),
    additionalMetadata: nullable(Schema.Array(Schema.String))
  }))
})

/** `ScheduledWorkflowsBulkDeleteRequest` as upstream's Go struct decodes it. */
const BulkDeleteRequestGo = Go.struct("gen.ScheduledWorkflowsBulkDeleteRequest", {
  filter: [
    Go.struct("gen.ScheduledWorkflowsBulkDeleteFilter", {
      additionalMetadata: [Go.slice(Go.string), "pointer"],
      parentStepRunId: [Go.uuid, "pointer"],
      parentWorkflowRunId: [Go.uuid, "pointer"],
      workflowId: [Go.uuid, "pointer"]
    }),
    "pointer"
  ],
  scheduledWorkflowRunIds: [Go.slice(Go.uuid), "pointer"]
})

/** `ScheduledWorkflowsBulkUpdateRequest`. */
const BulkUpdateRequest = Schema.Struct({
  updates: nullable(Schema.Array(Schema.Struct({ id: nullable(Schema.String), triggerAt: nullable(Schema.String) })))
})

/** A missing `time.Time` is Go's zero time. */
const triggerAtOf = (value: string | undefined) => (value === undefined ? Either.right(Schedules.zeroTime) : bodyTime(value))

/** `WorkflowRunStatus`, the enum the `statuses` filter is cast to (besides `SCHEDULED`). */
const runStatuses: ReadonlyArray<string> = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "QUEUED", "CANCELLING", "CANCELLED", "BACKOFF"]

/** A route keyed by a scheduled run of the path's tenant. */
const scheduledRoute = <R>(handler: (scheduled: ScheduledRun, tenantId: string) => Handler<R>) =>
  tenantResourceRoute(
    "scheduled",
    "invalid scheduled workflow run id",
    lookupInTenant(Schedules.getScheduled),
    handler,
    "scheduled workflow run not found"
  )

/** Runs `operation` on the row if it still exists (it may fire while the request body is read). */
const whileScheduled = <A extends ScheduledRun | string>(
  scheduled: ScheduledRun,
  operation: (state: EngineState, now: number) => A
) =>
  runDomain<A | undefined>(
    (state, now) => Schedules.getScheduled(state, scheduled.tenantId, scheduled.id) === scheduled ? operation(state, now) : undefined,
    // a row or an id, never an Either (which TypeScript cannot tell of a type parameter)
    ...([] as unknown as NotEither<A | undefined>)
  )

const base = "/api/v1/tenants/:tenant/workflows"

/** The scheduled-run routes. */
export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    `${base}/:workflow/scheduled`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const workflowName = yield* pathParam("workflow")
        const body = yield* decodeBody(
          ScheduleWorkflowRunRequest,
          Go.struct("gen.ScheduleWorkflowRunRequest", {
            additionalMetadata: Go.map(Go.any),
            input: Go.map(Go.any),
            priority: [Go.int32, "pointer"],
            triggerAt: Go.time
          })
        )
        const opts: Schedules.NewScheduled = {
          triggerAt: yield* triggerAtOf(body.triggerAt),
          ...storedJson(body),
          priority: body.priority
        }
        const scheduled = yield* runDomainEither((state, now) => Schedules.createScheduled(state, tenantId, workflowName, opts, now))
        return json(Views.scheduledWorkflows(scheduled))
      })
    )
  ),
  HttpRouter.get(
    `${base}/scheduled`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const filters = yield* parseQuery((q) => ({
          workflowId: q.uuid("workflowId"),
          parentWorkflowRunId: q.uuid("parentWorkflowRunId"),
          parentStepRunId: q.uuid("parentStepRunId"),
          statuses: q.params.has("statuses") ? q.strings("statuses") : undefined
        }))
        const page = yield* Effect.flatten(parseQuery((q) => orderedPage(q, ["triggerAt", "createdAt"])))
        if ((filters.statuses ?? []).some((status) => status !== "SCHEDULED" && !runStatuses.includes(status))) {
          return yield* internalServerError()
        }
        const found = yield* runDomain((state) => Schedules.listScheduled(state, tenantId, { ...page, ...filters }))
        return json({
          rows: found.rows.map(Views.scheduledWorkflows),
          pagination: Views.pagesOf(found.total, page.limit, page.offset)
        })
      })
    )
  ),
  HttpRouter.post(
    `${base}/scheduled/bulk-delete`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(BulkDeleteRequest, BulkDeleteRequestGo)
        const filter = body.filter
        const given = yield* goUuids(body.scheduledWorkflowRunIds ?? [])
        if (given.length > 0 && filter !== undefined) {
          return yield* apiError(400, "Provide either scheduledWorkflowRunIds or filter, not both.")
        }
        let ids = given
        if (ids.length === 0 && filter !== undefined) {
          const selection = {
            workflowId: yield* optionalGoUuid(filter.workflowId),
            parentWorkflowRunId: yield* optionalGoUuid(filter.parentWorkflowRunId),
            parentStepRunId: yield* optionalGoUuid(filter.parentStepRunId),
            additionalMetadata: yield* metadataPairs(filter.additionalMetadata)
          }
          ids = yield* runDomain((state) =>
            Schedules.listScheduled(state, tenantId, { ...selection, limit: Number.MAX_SAFE_INTEGER }).rows.map((s) => s.id)
          )
        }
        if (ids.length === 0) {
          if (filter !== undefined) return json({ deletedIds: [], errors: [] })
          return yield* apiError(400, "Provide scheduledWorkflowRunIds or filter.")
        }
        const deletedIds = yield* runDomain((state) => Schedules.bulkDeleteScheduled(state, tenantId, ids))
        const deleted = new Set(deletedIds)
        const errors = ids.filter((id) => !deleted.has(id)).map((id) => ({ id, error: "Failed to delete scheduled workflow." }))
        return json({ deletedIds, errors })
      })
    )
  ),
  HttpRouter.post(
    `${base}/scheduled/bulk-update`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          BulkUpdateRequest,
          Go.struct("gen.ScheduledWorkflowsBulkUpdateRequest", {
            updates: Go.slice(Go.struct("gen.ScheduledWorkflowsBulkUpdateItem", { id: Go.uuid, triggerAt: Go.time }))
          })
        )
        const updates = yield* Either.all(
          (body.updates ?? []).map((update) => Either.all({ id: goUuid(update.id ?? nilUuid), triggerAt: triggerAtOf(update.triggerAt) }))
        )
        return json(yield* runDomain((state) => Schedules.bulkReschedule(state, tenantId, updates)))
      })
    )
  ),
  HttpRouter.get(`${base}/scheduled/:scheduled`, scheduledRoute((scheduled) => Effect.succeed(json(Views.scheduledWorkflows(scheduled))))),
  HttpRouter.del(
    `${base}/scheduled/:scheduled`,
    scheduledRoute((scheduled, tenantId) =>
      Effect.as(
        runDomain((state) => Schedules.deleteScheduled(state, tenantId, scheduled.id)),
        HttpServerResponse.empty({ status: 204 })
      )
    )
  ),
  HttpRouter.patch(
    `${base}/scheduled/:scheduled`,
    scheduledRoute((scheduled) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          UpdateScheduledWorkflowRunRequest,
          Go.struct("gen.UpdateScheduledWorkflowRunRequest", { triggerAt: Go.time })
        )
        const triggerAt = yield* triggerAtOf(body.triggerAt)
        const updated = yield* whileScheduled(scheduled, (state) => Schedules.reschedule(state, scheduled, triggerAt))
        if (updated === undefined) return yield* apiError(404, "Scheduled workflow not found.")
        return json(Views.scheduledWorkflows(updated))
      })
    )
  ),
  HttpRouter.post(
    `${base}/scheduled/:scheduled`,
    scheduledRoute((scheduled) =>
      Effect.gen(function*() {
        const externalId = yield* whileScheduled(scheduled, (state, now) => Schedules.triggerScheduledNow(state, scheduled, now))
        // upstream: the scheduled run's idempotency key is already claimed (it fired meanwhile)
        if (externalId === undefined) return yield* apiError(500, "Failed to trigger scheduled workflow.")
        return json({ externalId })
      })
    )
  )
)
