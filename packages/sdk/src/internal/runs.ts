/**
 * `Runs` over the REST client.
 *
 * @internal
 */
import { Clock, Duration, Effect, Schema } from "effect"
import type { RestClientShape } from "../RestClient.js"
import { metadataPairs } from "./rest.js"
import * as Runs from "../Runs.js"

/** How far back `list` looks when `since` is not given (as the official SDKs). */
const DEFAULT_LIST_WINDOW = Duration.hours(1)

const Ids = Schema.Struct({ ids: Schema.optionalWith(Schema.Array(Schema.String), { exact: true, default: () => [] }) })


/** The JSON body of `V1CancelTaskRequest` / `V1ReplayTaskRequest`. */
export const selectionBody = (selection: Runs.Selection) =>
  "ids" in selection
    ? { externalIds: [...selection.ids] }
    : {
      filter: {
        since: selection.filter.since.toISOString(),
        ...(selection.filter.until !== undefined ? { until: selection.filter.until.toISOString() } : {}),
        ...(selection.filter.statuses !== undefined ? { statuses: [...selection.filter.statuses] } : {}),
        ...(selection.filter.workflowIds !== undefined ? { workflowIds: [...selection.filter.workflowIds] } : {}),
        ...(selection.filter.additionalMetadata !== undefined
          ? { additionalMetadata: metadataPairs(selection.filter.additionalMetadata) }
          : {})
      }
    }

const path = (id: string) => encodeURIComponent(id)

/** `V1WorkflowRunExternalIdList`. */
const RunIds = Schema.Array(Schema.String)

/** @internal */
export const make = (rest: RestClientShape): Runs.RunsShape => {
  const tasksOperation = (operation: "cancel" | "replay") => (selection: Runs.Selection) =>
    "ids" in selection && selection.ids.length === 0
      ? Effect.succeed([])
      : rest.post(`/api/v1/stable/tenants/${path(rest.tenantId)}/tasks/${operation}`, Ids, {
        body: selectionBody(selection)
      }).pipe(Effect.map((response) => response.ids))

  return {
    get: (runId) => rest.get(`/api/v1/stable/workflow-runs/${path(runId)}`, Runs.WorkflowRunDetails),
    status: (runId) => rest.get(`/api/v1/stable/workflow-runs/${path(runId)}/status`, Runs.TaskStatus),
    list: (options = {}) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        rest.get(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs`, Runs.TaskSummaryList, {
          query: {
            since: options.since ?? new Date(now - Duration.toMillis(DEFAULT_LIST_WINDOW)),
            until: options.until,
            statuses: options.statuses,
            workflow_ids: options.workflowIds,
            worker_id: options.workerId,
            additional_metadata: metadataPairs(options.additionalMetadata),
            additional_metadata_operator: options.additionalMetadataOperator,
            only_tasks: options.onlyTasks ?? false,
            parent_task_external_id: options.parentTaskExternalId,
            triggering_event_external_id: options.triggeringEventExternalId,
            include_payloads: options.includePayloads,
            offset: options.offset,
            limit: options.limit
          }
        })),
    trigger: (workflowName, input, options = {}) =>
      rest.post(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs/trigger`, Runs.WorkflowRunDetails, {
        body: {
          workflowName,
          input,
          ...(options.additionalMetadata !== undefined ? { additionalMetadata: options.additionalMetadata } : {}),
          ...(options.priority !== undefined ? { priority: options.priority } : {})
        }
      }),
    listIds: (options = {}) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        rest.get(`/api/v1/stable/tenants/${path(rest.tenantId)}/workflow-runs/external-ids`, RunIds, {
          query: {
            since: options.since ?? new Date(now - Duration.toMillis(DEFAULT_LIST_WINDOW)),
            until: options.until,
            statuses: options.statuses,
            workflow_ids: options.workflowIds,
            additional_metadata: metadataPairs(options.additionalMetadata)
          }
        })),
    cancel: tasksOperation("cancel"),
    replay: tasksOperation("replay"),
    logs: (taskRunId, options = {}) =>
      rest.get(`/api/v1/stable/tasks/${path(taskRunId)}/logs`, Runs.LogLineList, {
        query: {
          limit: options.limit,
          since: options.since,
          until: options.until,
          search: options.search,
          levels: options.levels,
          order_by_direction: options.orderByDirection,
          attempt: options.attempt
        }
      })
  }
}
