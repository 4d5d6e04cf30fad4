/**
 * The tenant's metrics (upstream `handlers/v1/tasks/get_metrics.go`, `handlers/tenants`):
 *
 * - `GET /api/v1/stable/tenants/{tenant}/task-metrics` (`V1TaskRunMetrics`: runs by status;
 *   `since` required, `until`, `workflow_ids`, `parent_task_external_id`,
 *   `triggering_event_external_id`, `additional_metadata` as `key:value`, any of which matches);
 * - `GET /api/v1/tenants/{tenant}/step-run-queue-metrics` (`TenantStepRunQueueMetrics`);
 * - `GET /api/v1/tenants/{tenant}/queue-metrics`: 400 "TenantGetQueueMetrics is deprecated", as
 *   upstream;
 * - `GET /api/v1/tenants/{tenant}/task-stats` (`TaskStats`; `taskNames`, repeated or comma
 *   separated, are always present);
 * - `GET /api/v1/tenants/{tenant}/prometheus-metrics` (Prometheus text). Upstream federates its
 *   Prometheus server and answers 400 "Prometheus metrics are not enabled for this tenant."
 *   without one; the local engine always answers, from its own counters and gauges.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Metrics from "../../domain/metrics.js"
import { apiError, json, parseQuery, type QueryReader, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** `additional_metadata` pairs split at the first colon; a pair without one is ignored, as upstream. */
export const metadataPairsLenient = (q: QueryReader) => {
  const pairs: Record<string, string> = {}
  for (const pair of q.strings("additional_metadata")) {
    const index = pair.indexOf(":")
    if (index >= 0) pairs[pair.slice(0, index)] = pair.slice(index + 1)
  }
  return pairs
}

/** `taskNames`, repeated or comma separated, trimmed and deduplicated in order. */
const taskNames = (q: QueryReader) => [
  ...new Set(q.strings("taskNames").flatMap((entry) => entry.split(",")).map((name) => name.trim()).filter((name) => name !== ""))
]

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/stable/tenants/:tenant/task-metrics",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const filter = yield* parseQuery((q): Metrics.RunFilter => ({
          since: q.requiredDateTime("since"),
          until: q.dateTime("until"),
          workflowIds: q.uuids("workflow_ids"),
          parentTaskExternalId: q.uuid("parent_task_external_id"),
          triggeringEventExternalId: q.uuid("triggering_event_external_id"),
          additionalMetadata: metadataPairsLenient(q)
        }))
        return json(yield* runDomain((state) => Metrics.runStatusCounts(state, tenantId, filter)))
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/step-run-queue-metrics",
    tenantRoute((tenantId) => Effect.map(runDomain((state) => Metrics.queueCounts(state, tenantId)), (queues) => json({ queues })))
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/queue-metrics",
    tenantRoute(() => Effect.fail(apiError(400, "TenantGetQueueMetrics is deprecated")))
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/task-stats",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const names = yield* parseQuery(taskNames)
        return json(yield* runDomain((state) => Metrics.taskStats(state, tenantId, names)))
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/prometheus-metrics",
    tenantRoute((tenantId) =>
      Effect.map(
        runDomain((state, now) =>
          Metrics.prometheusText(state, tenantId, (workerId) => {
            const worker = state.workersById.get(workerId)
            return worker !== undefined && Views.workerStatus(state, worker, now) !== "INACTIVE"
          })
        ),
        (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      )
    )
  )
)
