/**
 * Cron triggers over REST (`docs/engine.md` §10.3; upstream
 * `api/v1/server/handlers/workflows/{create,list,get,delete,update,trigger}_cron*.go`, the
 * `cron-workflow` getter of `api/v1/server/run/run.go`, the `CronWorkflows` transformer of
 * `api/v1/server/oas/transformers/workflow_run.go`, `api-contracts/openapi/paths/workflow/workflow.yaml`):
 *
 * - `POST /api/v1/tenants/{tenant}/workflows/{workflow}/crons` (`cron-workflow-trigger:create`;
 *   `{workflow}` is the workflow NAME; `CreateCronWorkflowTriggerRequest{input,
 *   additionalMetadata, cronName, cronExpression, priority?}` → `CronWorkflows`; 400 `APIErrors`
 *   "cron name is required", "workflow not found", the jsonb checks, "error creating cron
 *   trigger" (priority outside 1..4), "cron trigger with that name-expression pair already
 *   exists");
 * - `GET /api/v1/tenants/{tenant}/workflows/crons` (`cron-workflow:list` →
 *   `CronWorkflowsList{rows, pagination}`; query `offset`, `limit` (50), `orderByField`
 *   (`createdAt`; `name` sorts by WORKFLOW name), `orderByDirection` (`DESC`), `workflowId`,
 *   `workflowName`, `cronName`, `additionalMetadata` `key:value`);
 * - `GET`, `DELETE` (204), `PATCH {enabled}` (204) and `POST` (trigger now → `{externalId}`) on
 *   `/api/v1/tenants/{tenant}/workflows/crons/{cron-workflow}` (`workflow-cron:get|delete|update|
 *   trigger`), for declared (`DEFAULT`) crons as well as `API` ones: a bad id is 400 "invalid cron
 *   workflow id"; a cron the tenant does not have is echo's 500 `{"message":"Internal Server
 *   Error"}` (upstream's getter fails with a plain "cron workflow not found" error); both before
 *   authentication, as upstream's populator.
 *
 * A list parameter the repository rejects (an unknown order field or direction, a negative limit
 * or offset) is echo's 500 `{"message":"Internal Server Error"}`.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Crons from "../../domain/cron.js"
import { Go } from "../../domain/goJson.js"
import type { CronTrigger } from "../../domain/model.js"
import {
  decodeBody,
  type Handler,
  internalServerError,
  json,
  JsonObject,
  lookupInTenant,
  nullable,
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

/** `CreateCronWorkflowTriggerRequest`. */
const CreateCronWorkflowTriggerRequest = Schema.Struct({
  input: nullable(JsonObject),
  additionalMetadata: nullable(JsonObject),
  cronName: nullable(Schema.String),
  cronExpression: nullable(Schema.String),
  priority: nullable(Schema.Int)
})

/** `CreateCronWorkflowTriggerRequest` as upstream's Go struct decodes it. */
const CreateCronWorkflowTriggerRequestGo = Go.struct("gen.CreateCronWorkflowTriggerRequest", {
  additionalMetadata: Go.map(Go.any),
  cronExpression: Go.string,
  cronName: Go.string,
  input: Go.map(Go.any),
  priority: [Go.int32, "pointer"]
})

/** `UpdateCronWorkflowTriggerRequest`. */
const UpdateCronWorkflowTriggerRequest = Schema.Struct({ enabled: nullable(Schema.Boolean) })

/** A route keyed by a cron of the path's tenant. */
const cronRoute = <R>(handler: (cron: CronTrigger, tenantId: string) => Handler<R>) =>
  tenantResourceRoute(
    "cron",
    "invalid cron workflow id",
    lookupInTenant(Crons.getCron),
    handler,
    internalServerError()
  )

const base = "/api/v1/tenants/:tenant/workflows"

/** The cron routes. */
export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    `${base}/:workflow/crons`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const workflowName = yield* pathParam("workflow")
        const body = yield* decodeBody(CreateCronWorkflowTriggerRequest, CreateCronWorkflowTriggerRequestGo)
        const opts: Crons.NewCron = {
          name: body.cronName ?? "",
          expression: body.cronExpression ?? "",
          ...storedJson(body),
          priority: body.priority
        }
        const cron = yield* runDomainEither((state, now) => Crons.createCron(state, tenantId, workflowName, opts, now))
        return json(Views.cronWorkflows(cron))
      })
    )
  ),
  HttpRouter.get(
    `${base}/crons`,
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const filters = yield* parseQuery((q) => ({
          workflowId: q.uuid("workflowId"),
          workflowName: q.string("workflowName"),
          cronName: q.string("cronName")
        }))
        const page = yield* Effect.flatten(parseQuery((q) => orderedPage(q, ["createdAt", "name"])))
        const found = yield* runDomain((state) => Crons.listCrons(state, tenantId, { ...page, ...filters }))
        return json({
          rows: found.rows.map(Views.cronWorkflows),
          pagination: Views.pagesOf(found.total, page.limit, page.offset)
        })
      })
    )
  ),
  HttpRouter.get(`${base}/crons/:cron`, cronRoute((cron) => Effect.succeed(json(Views.cronWorkflows(cron))))),
  HttpRouter.del(
    `${base}/crons/:cron`,
    cronRoute((cron, tenantId) =>
      Effect.as(runDomain((state) => Crons.deleteCron(state, tenantId, cron.id)), HttpServerResponse.empty({ status: 204 }))
    )
  ),
  HttpRouter.patch(
    `${base}/crons/:cron`,
    cronRoute((cron) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          UpdateCronWorkflowTriggerRequest,
          Go.struct("gen.UpdateCronWorkflowTriggerRequest", { enabled: [Go.bool, "pointer"] })
        )
        yield* runDomain((state) => Crons.setCronEnabled(state, cron, body.enabled))
        return HttpServerResponse.empty({ status: 204 })
      })
    )
  ),
  HttpRouter.post(
    `${base}/crons/:cron`,
    cronRoute((cron) => Effect.map(runDomain((state, now) => Crons.triggerCronNow(state, cron, now)), (externalId) => json({ externalId })))
  )
)
