/**
 * The package-less `WorkflowService` gRPC service ("v0 admin"): the trigger RPCs every SDK uses,
 * `ScheduleWorkflow` (scheduled runs, `internal/services/admin/server.go`), rate-limit upserts,
 * and the legacy `PutWorkflow` (jobs and steps flattened into the v1 shape).
 *
 * @internal
 */
import { CreateTaskOpts, CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import type { CreateWorkflowStepOpts, WorkflowServiceImplementation } from "@effect-hatchet/proto/workflows/workflows"
import * as Either from "effect/Either"
import type { EngineCoreService } from "../core.js"
import { internal } from "../domain/errors.js"
import type { ScheduledRun, WorkflowVersion } from "../domain/model.js"
import * as RateLimits from "../domain/rateLimits.js"
import * as Registry from "../domain/registry.js"
import * as Schedules from "../domain/schedules.js"
import * as Triggers from "../domain/triggers.js"
import type { EffectService } from "./bridge.js"

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

/** `WorkflowVersion` (`toWorkflowVersionLegacy`), with the scheduled runs a call created. */
const workflowVersionResponse = (version: WorkflowVersion, scheduled: ReadonlyArray<ScheduledRun>) => ({
  id: version.id,
  createdAt: new Date(version.createdAt),
  updatedAt: new Date(version.createdAt),
  version: version.version,
  order: version.order,
  workflowId: version.workflow.id,
  scheduledWorkflows: scheduled.map((row) => ({ id: row.id, triggerAt: new Date(row.triggerAt) }))
})

export const make = (core: EngineCoreService): EffectService<WorkflowServiceImplementation> => ({
  putWorkflow: (request, context) =>
    core.runEither((state, now) => {
      const opts = request.opts
      if (opts === undefined) return Either.left(internal())
      // an on-failure job without steps is a plain error upstream ("steps list cannot be nil"),
      // raised after the regular tasks' checks: an action-less task fails at that same point
      const onFailureJob = opts.onFailureJob
      const onFailure = onFailureJob === undefined
        ? undefined
        : onFailureJob.steps.length > 0
        ? toTask(onFailureJob.steps[0]!, opts.scheduleTimeout)
        : CreateTaskOpts.fromPartial({})
      // the deprecated action-based concurrency is skipped, as upstream does; one without an
      // expression fails in putWorkflow ("CEL expression is required for concurrency")
      const concurrency = opts.concurrency !== undefined && opts.concurrency.action === undefined
        ? opts.concurrency
        : undefined
      const version = Registry.putWorkflow(
        state,
        context.tenantId,
        CreateWorkflowVersionRequest.fromPartial({
          name: opts.name,
          description: opts.description,
          version: opts.version,
          eventTriggers: opts.eventTriggers,
          cronTriggers: opts.cronTriggers,
          tasks: opts.jobs.flatMap((job) => job.steps.map((step) => toTask(step, opts.scheduleTimeout))),
          ...(onFailure !== undefined ? { onFailureTask: onFailure } : {}),
          ...(concurrency !== undefined
            ? {
              concurrency: {
                expression: concurrency.expression ?? "",
                maxRuns: concurrency.maxRuns,
                limitStrategy: concurrency.limitStrategy
              }
            }
            : {}),
          ...(opts.cronInput !== undefined ? { cronInput: opts.cronInput } : {}),
          ...(opts.sticky !== undefined ? { sticky: opts.sticky } : {}),
          ...(opts.defaultPriority !== undefined ? { defaultPriority: opts.defaultPriority } : {})
        }),
        now,
        { legacy: true }
      )
      return Either.map(version, (version) => workflowVersionResponse(version, []))
    }),

  scheduleWorkflow: (request, context) =>
    core.runEither((state, now) =>
      // the workflow's latest version (`toWorkflowVersionLegacy`) and one row per timestamp
      Either.map(
        Schedules.scheduleWorkflow(state, context.tenantId, request, now),
        ({ scheduled, version }) => workflowVersionResponse(version, scheduled)
      )
    ),

  triggerWorkflow: (request, context) =>
    core.runEitherNow((state, now) => {
      const workflowRunId = Triggers.triggerWorkflow(state, context.tenantId, request, now)
      return typeof workflowRunId === "string" ? Either.right({ workflowRunId }) : Either.left(workflowRunId)
    }),

  bulkTriggerWorkflow: (request, context) =>
    core.runEitherNow((state, now) => {
      const workflowRunIds = Triggers.triggerWorkflows(state, context.tenantId, request.workflows, now)
      return Array.isArray(workflowRunIds) ? Either.right({ workflowRunIds }) : Either.left(workflowRunIds)
    }),

  putRateLimit: (request, context) =>
    core.runEither((state, now) => Either.map(RateLimits.putRateLimit(state, context.tenantId, request, now), () => ({})))
})
