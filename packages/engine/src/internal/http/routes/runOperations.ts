/**
 * Runs through REST (upstream `handlers/v1/workflow-runs`):
 *
 * - `POST /api/v1/stable/tenants/{tenant}/workflow-runs/trigger` (`V1TriggerWorkflowRunRequest` →
 *   `V1WorkflowRunDetails`): a priority outside 1..3 is 400 "priority must be between 1 and 3, got
 *   N"; the run is made as `v1.AdminService/TriggerWorkflowRun` makes it, and what that refuses
 *   with INVALID_ARGUMENT (an unknown workflow name, input that is not JSON) is 400 `APIErrors`
 *   with its message; an idempotency collision is upstream's 500. With `return_only_id` (the
 *   schema's snake case, which upstream's Go struct reads) only the run's metadata is returned;
 *   the body is decoded as that struct is (`decodeBody`);
 * - `GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids` (`V1WorkflowRunExternalIdList`):
 *   the ids of the runs created after `since` (required) and at or before `until`, with one of
 *   `statuses` (all by default; unknown ones are skipped, as upstream), of `workflow_ids`, and with
 *   any one of the `additional_metadata` pairs, in creation order (`running_filter=EVICTED` leaves
 *   running runs out: none is evicted here);
 * - `POST /api/v1/stable/tenants/{tenant}/durable-tasks/branch` (`V1BranchDurableTaskRequest` →
 *   `V1BranchDurableTaskResponse`): as `v1.AdminService/BranchDurableTask`, which upstream's handler
 *   proxies to (its errors as their HTTP statuses).
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Durable from "../../domain/durable.js"
import { Go } from "../../domain/goJson.js"
import { goMarshal } from "../../domain/json.js"
import * as Metrics from "../../domain/metrics.js"
import type { TaskStatus } from "../../domain/model.js"
import * as Triggers from "../../domain/triggers.js"
import {
  apiError,
  decodeBody,
  internalServerError,
  json,
  JsonObject,
  jsonWritten,
  nullable,
  parseQuery,
  runDomain,
  runDomainEither,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"
import { metadataPairsLenient } from "./metrics.js"

/** `V1TriggerWorkflowRunRequest`, as upstream's Go struct decodes it. */
const TriggerRequestGo = Go.struct("gen.V1TriggerWorkflowRunRequest", {
  additionalMetadata: [Go.map(Go.any), "pointer"],
  input: Go.map(Go.any),
  priority: [Go.int, "pointer"],
  return_only_id: [Go.bool, "pointer"],
  workflowName: Go.string
})

/** What `TriggerRequestGo` decodes to. */
const TriggerRequest = Schema.Struct({
  workflowName: Schema.String,
  input: nullable(JsonObject),
  additionalMetadata: nullable(JsonObject),
  priority: nullable(Schema.Number),
  return_only_id: nullable(Schema.Boolean)
})

/** `V1BranchDurableTaskRequest`. */
const BranchRequest = Schema.Struct({
  taskExternalId: Schema.String,
  nodeId: nullable(Schema.Number),
  branchId: nullable(Schema.Number)
})

const statuses: ReadonlyArray<TaskStatus> = ["QUEUED", "RUNNING", "COMPLETED", "CANCELLED", "FAILED"]

const utf8 = (text: string) => new TextEncoder().encode(text)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/api/v1/stable/tenants/:tenant/durable-tasks/branch",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          BranchRequest,
          Go.struct("gen.V1BranchDurableTaskRequest", { branchId: Go.int64, nodeId: Go.int64, taskExternalId: Go.uuid })
        )
        const result = yield* runDomainEither((state, now) =>
          Durable.branchDurableTask(state, tenantId, {
            taskExternalId: body.taskExternalId,
            nodeId: body.nodeId ?? 0,
            branchId: body.branchId ?? 0
          }, now)
        )
        return json(result)
      })
    )
  ),
  HttpRouter.post(
    "/api/v1/stable/tenants/:tenant/workflow-runs/trigger",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(TriggerRequest, TriggerRequestGo)
        const priority = body.priority
        if (priority !== undefined && (priority < 1 || priority > 3)) {
          return yield* apiError(400, `priority must be between 1 and 3, got ${priority}`)
        }
        const run = yield* runDomainEither((state, now) => {
          const runId = Triggers.triggerWorkflowRun(state, tenantId, {
            workflowName: body.workflowName,
            input: utf8(goMarshal(body.input ?? null)),
            additionalMetadata: body.additionalMetadata === undefined ? new Uint8Array() : utf8(goMarshal(body.additionalMetadata)),
            priority
          }, now)
          return typeof runId === "string" ? Either.right(state.runsById.get(runId)!) : Either.left(runId)
        }).pipe(
          // upstream's handler passes an idempotency collision (ALREADY_EXISTS) on as an error: 500
          Effect.catchIf((error) => error.status === 409, () => Effect.fail(internalServerError()))
        )
        if (body.return_only_id === true) return json({ run: { metadata: Views.resourceMeta(run.id, run.createdAt) } })
        return jsonWritten((writer) => Views.writeWorkflowRunDetails(writer, run))
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/stable/tenants/:tenant/workflow-runs/external-ids",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const filter = yield* parseQuery((q): Metrics.RunFilter => {
          // upstream skips unknown statuses (none left: all of them); running runs are on a
          // worker, never evicted here, so `running_filter=EVICTED` leaves RUNNING out
          const wanted = q.strings("statuses").filter((s): s is TaskStatus => (statuses as ReadonlyArray<string>).includes(s))
          const selected = wanted.length > 0 ? wanted : statuses
          return {
            // upstream: created strictly after `since`
            since: q.requiredDateTime("since") + 1,
            until: q.dateTime("until"),
            workflowIds: q.uuids("workflow_ids"),
            additionalMetadata: metadataPairsLenient(q),
            statuses: q.string("running_filter") === "EVICTED" ? selected.filter((s) => s !== "RUNNING") : selected
          }
        })
        return json(yield* runDomain((state) => Metrics.matchingRuns(state, tenantId, filter).map((run) => run.id)))
      })
    )
  )
)
