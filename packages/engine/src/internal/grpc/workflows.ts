/**
 * The package-less `WorkflowService` gRPC service ("v0 admin"): the trigger RPCs every SDK uses,
 * rate-limit upserts, and the legacy `PutWorkflow` (jobs and steps flattened into the v1 shape).
 *
 * @internal
 */
import { CreateTaskOpts, CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import type { CreateWorkflowStepOpts, WorkflowServiceImplementation } from "@effect-hatchet/proto/workflows/workflows"
import { Effect } from "effect"
import type { EngineCoreService } from "../core.js"
import { internal, invalidArgument, unimplemented } from "../domain/errors.js"
import * as Registry from "../domain/registry.js"
import * as Triggers from "../domain/triggers.js"
import type { Bridge } from "./bridge.js"
import type { TenantContext } from "./auth.js"

const toTask = (step: CreateWorkflowStepOpts, scheduleTimeout: string | undefined): CreateTaskOpts =>
  CreateTaskOpts.fromPartial({
    readableId: step.readableId,
    action: step.action,
    timeout: step.timeout,
    inputs: step.inputs,
    parents: step.parents,
    retries: step.retries,
    rateLimits: step.rateLimits,
    workerLabels: step.workerLabels,
    backoffFactor: step.backoffFactor,
    backoffMaxSeconds: step.backoffMaxSeconds,
    ...(scheduleTimeout !== undefined ? { scheduleTimeout } : {})
  })

export const make = (core: EngineCoreService, bridge: Bridge): WorkflowServiceImplementation<TenantContext> => ({
  putWorkflow: (request, context) =>
    bridge.unary(
      core.run((state, now) => {
        const opts = request.opts
        if (opts === undefined) throw internal()
        const onFailure = opts.onFailureJob?.steps[0]
        const version = Registry.putWorkflow(state, context.tenantId, CreateWorkflowVersionRequest.fromPartial({
          name: opts.name,
          description: opts.description,
          version: opts.version,
          eventTriggers: opts.eventTriggers,
          cronTriggers: opts.cronTriggers,
          tasks: opts.jobs.flatMap((job) => job.steps.map((step) => toTask(step, opts.scheduleTimeout))),
          ...(onFailure !== undefined ? { onFailureTask: toTask(onFailure, opts.scheduleTimeout) } : {}),
          ...(opts.cronInput !== undefined ? { cronInput: opts.cronInput } : {}),
          ...(opts.sticky !== undefined ? { sticky: opts.sticky } : {}),
          ...(opts.defaultPriority !== undefined ? { defaultPriority: opts.defaultPriority } : {})
        }), now)
        return {
          id: version.id,
          createdAt: new Date(version.createdAt),
          updatedAt: new Date(version.createdAt),
          version: version.version,
          order: version.order,
          workflowId: version.workflow.id,
          scheduledWorkflows: []
        }
      }),
      context.signal
    ),

  scheduleWorkflow: (_request, context) =>
    bridge.unary(Effect.fail(unimplemented("ScheduleWorkflow is not implemented by this engine")), context.signal),

  triggerWorkflow: (request, context) =>
    bridge.unary(
      core.run((state, now) => ({
        workflowRunId: Triggers.triggerWorkflows(state, context.tenantId, [request], now)[0]!
      })),
      context.signal
    ),

  bulkTriggerWorkflow: (request, context) =>
    bridge.unary(
      core.run((state, now) => ({
        workflowRunIds: Triggers.triggerWorkflows(state, context.tenantId, request.workflows, now)
      })),
      context.signal
    ),

  putRateLimit: (request, context) =>
    bridge.unary(
      core.run((state) => {
        if (request.key === "") throw invalidArgument("key is required")
        state.tenants.get(context.tenantId)?.rateLimits.set(request.key, { limit: request.limit, duration: request.duration })
        return {}
      }),
      context.signal
    )
})
