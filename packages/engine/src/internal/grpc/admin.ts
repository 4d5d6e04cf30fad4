/**
 * The `v1.AdminService` gRPC service: workflow registration, cancel / replay, run triggers and
 * run details.
 *
 * @internal
 */
import type {
  AdminServiceImplementation,
  CancelTasksRequest,
  ReplayTasksRequest,
  TaskRunDetail,
  TasksFilter
} from "@effect-hatchet/proto/v1/workflows"
import * as Either from "effect/Either"
import type { EngineCoreService } from "../core.js"
import * as Admin from "../domain/admin.js"
import * as Durable from "../domain/durable.js"
import * as Queries from "../domain/queries.js"
import * as Registry from "../domain/registry.js"
import * as Triggers from "../domain/triggers.js"
import type { EffectService } from "./bridge.js"

const toFilter = (filter: TasksFilter | undefined): Admin.TasksFilter | undefined =>
  filter === undefined ? undefined : {
    since: filter.since?.getTime() ?? 0,
    until: filter.until?.getTime(),
    statuses: filter.statuses,
    workflowIds: filter.workflowIds,
    additionalMetadata: filter.additionalMetadata
  }

/** The ids-or-filter selection of a CancelTasks / ReplayTasks request. */
const selectionOf = (request: CancelTasksRequest | ReplayTasksRequest): Admin.TasksSelection => ({
  externalIds: request.externalIds,
  filter: toFilter(request.filter)
})

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"))

export const make = (core: EngineCoreService): EffectService<AdminServiceImplementation> => ({
  putWorkflow: (request, context) =>
    core.runEither((state, now) =>
      Either.map(
        Registry.putWorkflow(state, context.tenantId, request, now),
        (version) => ({ id: version.id, workflowId: version.workflow.id })
      )
    ),

  cancelTasks: (request, context) =>
    core.runEither((state, now) =>
      Either.map(Admin.cancelTasks(state, context.tenantId, selectionOf(request), now), (cancelledTasks) => ({ cancelledTasks }))
    ),

  replayTasks: (request, context) =>
    core.runEither((state, now) =>
      Either.map(Admin.replayTasks(state, context.tenantId, selectionOf(request), now), (replayedTasks) => ({ replayedTasks }))
    ),

  triggerWorkflowRun: (request, context) =>
    core.runEitherNow((state, now) => {
      const externalId = Triggers.triggerWorkflowRun(state, context.tenantId, {
        workflowName: request.workflowName,
        input: request.input,
        additionalMetadata: request.additionalMetadata,
        priority: request.priority,
        desiredLabels: request.desiredWorkerLabels
      }, now)
      return typeof externalId === "string" ? Either.right({ externalId }) : Either.left(externalId)
    }),

  getRunDetails: (request, context) =>
    core.runEither((state) =>
      Either.map(Queries.getRunDetails(state, context.tenantId, request.externalId), (details) => {
        const taskRuns: Record<string, TaskRunDetail> = {}
        for (const [readableId, task] of details.taskRuns) {
          taskRuns[readableId] = {
            externalId: task.externalId,
            status: task.status,
            readableId: task.readableId,
            isEvicted: false,
            ...(task.error !== undefined ? { error: task.error } : {}),
            ...(task.output !== undefined ? { output: utf8(task.output) } : {})
          }
        }
        return {
          input: utf8(details.inputRaw),
          additionalMetadata: utf8(details.metadataRaw),
          status: details.status,
          done: details.done,
          isEvicted: false,
          taskRuns
        }
      })
    ),

  branchDurableTask: (request, context) =>
    core.runEither((state, now) =>
      Durable.branchDurableTask(state, context.tenantId, {
        taskExternalId: request.taskExternalId,
        nodeId: request.nodeId,
        branchId: request.branchId
      }, now)
    )
})
