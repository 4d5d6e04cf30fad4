/**
 * `WorkflowVersion` of `GET /api/v1/workflows/{workflow}/versions` as upstream's
 * `transformers.ToWorkflowVersion` writes it:
 *
 * - `workflowConfig`: the registration as upstream stores it (`WorkflowVersion.createWorkflowVersionOpts`,
 *   `domain/workflowVersionOpts.ts`, which the version's checksum hashes);
 * - `scheduleTimeout` the column's default `5m`, `defaultPriority` 0 when none was declared,
 *   `sticky` `soft` / `hard`, `workflowId` "" (upstream leaves the field unset);
 * - `workflow`: the path's workflow as the lists show it (`ToWorkflowFromSQLC`);
 * - `triggers`: the cron refs (declared and API crons, which follow the latest version) and event
 *   refs (`parent_id`, `cron` / `event_key`: the schema's snake case), each with the id of the
 *   version's trigger set; a list that is empty is left out;
 * - `v1Concurrency`: the task strategies (not the per-task shares of a workflow strategy), then
 *   the workflow's.
 *
 * @internal
 */
import { derivedId } from "../domain/ids.js"
import { isJsonObject } from "../domain/json.js"
import type { EngineState, Workflow, WorkflowVersion } from "../domain/model.js"
import { latestVersion } from "../domain/model.js"
import { workflowVersionOpts } from "../domain/workflowVersionOpts.js"
import * as Views from "./views.js"

/** `WorkflowTriggers`: the version's cron refs (the workflow's crons follow its latest version) and event refs. */
const triggers = (state: EngineState, version: WorkflowVersion) => {
  // upstream's `WorkflowTriggers` row of the version
  const parentId = derivedId("workflow-triggers", version.id)
  const workflow = version.workflow
  const isLatest = latestVersion(workflow) === version
  const crons = isLatest
    ? [...(state.tenants.get(workflow.tenantId)?.crons.values() ?? [])].filter((cron) => cron.workflow === workflow)
    : []
  return {
    ...(crons.length > 0 ? { crons: crons.map((cron) => ({ parent_id: parentId, cron: cron.expression })) } : {}),
    ...(version.eventTriggers.length > 0
      ? { events: version.eventTriggers.map((eventKey) => ({ parent_id: parentId, event_key: eventKey })) }
      : {})
  }
}

/** `ToV1Concurrency`: task strategies (`scope` TASK, with the task's name), then the workflow's (`scope` WORKFLOW). */
const v1Concurrency = (version: WorkflowVersion) => [
  ...version.steps.flatMap((step) =>
    step.concurrency.filter((strategy) => strategy.parent === undefined).map(({ settings }) => ({
      stepReadableId: step.readableId,
      expression: settings.expression,
      limitStrategy: settings.limitStrategy,
      maxRuns: settings.maxRuns,
      scope: "TASK" as const
    }))
  ),
  ...version.concurrency.map(({ settings }) => ({
    expression: settings.expression,
    limitStrategy: settings.limitStrategy,
    maxRuns: settings.maxRuns,
    scope: "WORKFLOW" as const
  }))
]

/** `WorkflowVersion` of `version`, shown under the path's `workflow` (see the module's description). */
export const workflowVersion = (state: EngineState, version: WorkflowVersion, workflow: Workflow) => {
  const schema = version.inputJsonSchema
  return {
    metadata: Views.resourceMeta(version.id, version.createdAt),
    version: version.version,
    order: version.order,
    workflowId: "",
    ...(version.sticky !== undefined ? { sticky: version.sticky === 1 ? "hard" : "soft" } : {}),
    defaultPriority: version.defaultPriority ?? 0,
    workflow: Views.workflow(workflow, { withVersion: false }),
    triggers: triggers(state, version),
    scheduleTimeout: "5m",
    workflowConfig: workflowVersionOpts(version.request),
    v1Concurrency: v1Concurrency(version),
    ...(isJsonObject(schema) ? { inputJsonSchema: schema } : {})
  }
}
