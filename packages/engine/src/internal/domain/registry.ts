/**
 * The workflow registry: `v1.AdminService/PutWorkflow` stores a validated request
 * (`workflowValidation.ts`) as a new version of its workflow, unless its checksum is the latest
 * version's (`workflowVersionOpts.ts`: upstream's `checksumV1` of the registration as it stores it).
 *
 * Step conditions are stored with their steps (`matches.ts` evaluates them). Batch settings are
 * stored with their steps (`batches.ts`). A stored version arms its cron triggers (`cron.ts`);
 * its rate limits are described in `rateLimits.ts`.
 *
 * Concurrency (`concurrency.ts`): task-level strategies, and workflow-level ones, which a
 * single-task workflow without an on-failure task moves onto its task, ahead of the task's own
 * (`mergeWorkflowConcurrencyOntoSingleTask`); otherwise each DEFAULT step gets a child of every
 * workflow-level strategy, ahead of its own. `max_runs` defaults to 1 and the strategy to
 * CANCEL_IN_PROGRESS. A tenant-scoped entry (`is_tenant_scoped`, `name`) is the tenant's shared
 * strategy of that name, created or updated by each registration that declares it.
 *
 * `docs/engine.md` §5; upstream `internal/services/admin/v1/server.go getCreateWorkflowOpts`,
 * `pkg/repository/workflow.go`.
 *
 * @internal
 */
import { Action, type TaskConditions } from "@effect-hatchet/proto/v1/shared/condition"
import {
  type Concurrency,
  ConcurrencyLimitStrategy,
  type CreateTaskOpts,
  type CreateWorkflowVersionRequest
} from "@effect-hatchet/proto/v1/workflows"
import * as Cel from "@effect-hatchet/shared/Cel"
import * as Either from "effect/Either"
import { touchWorkflow } from "./changes.js"
import { updateSettings } from "./concurrency.js"
import { deleteCron, replaceDeclaredCrons } from "./cron.js"
import { parseDuration } from "./duration.js"
import { type Internal, internal, type InvalidArgument, type Unimplemented, unimplemented } from "./errors.js"
import * as Filters from "./filters.js"
import { newId } from "./ids.js"
import { parseJson } from "./json.js"
import type {
  ConcurrencySettings,
  ConditionAction,
  EngineState,
  LimitStrategy,
  Step,
  StepBatch,
  StepConcurrency,
  StepCondition,
  StepKind,
  TenantState,
  Workflow,
  WorkflowConcurrency,
  WorkflowVersion
} from "./model.js"
import { latestVersion } from "./model.js"
import * as RateLimits from "./rateLimits.js"
import { deleteScheduled } from "./schedules.js"
import { tenantOf } from "./tenants.js"
import {
  conditionsOf,
  lostConditions,
  mergesOntoTask,
  normalizeActionId,
  taskConcurrency,
  validateWorkflowRequest,
  workflowConcurrency
} from "./workflowValidation.js"
import { orGroupOf, workflowVersionChecksum } from "./workflowVersionOpts.js"

export { normalizeActionId, unsupportedFeatures } from "./workflowValidation.js"

/** Execution timeout when a step has none (`convert_duration_to_interval('')`). */
export const defaultTimeoutMs = 5 * 60_000
/** Schedule timeout when a step has none. */
export const defaultScheduleTimeout = "5m"

// -----------------------------------------------------------------------------
// storage and versioning
// -----------------------------------------------------------------------------

const slotRequestsOf = (task: CreateTaskOpts): Array<readonly [string, number]> => {
  const entries = Object.entries(task.slotRequests)
  if (entries.length > 0) return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return [[task.isDurable ? "durable" : "default", 1]]
}

const limitStrategyOf = (concurrency: Concurrency): LimitStrategy => {
  switch (concurrency.limitStrategy) {
    case ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN:
      return "GROUP_ROUND_ROBIN"
    case ConcurrencyLimitStrategy.CANCEL_NEWEST:
      return "CANCEL_NEWEST"
    case ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST:
      return "CANCEL_QUEUED_EXCEPT_NEWEST"
    case ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST:
      return "CANCEL_QUEUED_EXCEPT_OLDEST"
    default:
      return "CANCEL_IN_PROGRESS"
  }
}

const compileValid = (expression: string) => {
  const compiled = Cel.compile("workflow", expression)
  if (compiled._tag !== "Ok") throw internal()
  return compiled.program
}

/** The stored settings of a validated strategy: `max_runs` 1 and CANCEL_IN_PROGRESS by default. */
const settingsOf = (concurrency: Concurrency): ConcurrencySettings => ({
  expression: concurrency.expression,
  compiled: compileValid(concurrency.expression),
  maxRuns: concurrency.maxRuns ?? 1,
  limitStrategy: limitStrategyOf(concurrency),
  maxRunsExpression: concurrency.maxRunsExpression !== undefined
    ? { source: concurrency.maxRunsExpression, compiled: compileValid(concurrency.maxRunsExpression) }
    : undefined
})

const isTenantScoped = (concurrency: Concurrency) => concurrency.isTenantScoped === true

/**
 * A step strategy from a validated, supported setting: a tenant-scoped one is the tenant's shared
 * strategy of that name (registered by `registerTenantStrategies`).
 */
const stepConcurrency = (
  tenant: TenantState,
  concurrency: Concurrency,
  parent: WorkflowConcurrency | undefined
): StepConcurrency => {
  if (isTenantScoped(concurrency)) return tenant.concurrencyStrategies.get(concurrency.name!)!
  return { settings: settingsOf(concurrency), name: undefined, parent, slots: [], observedMaxRuns: new Map() }
}

/**
 * The strategies of a step, in the order upstream applies them: for a DEFAULT step, a child of
 * each workflow-level strategy first; then its own (including merged workflow-level ones).
 */
const concurrencyOfStep = (
  tenant: TenantState,
  request: CreateWorkflowVersionRequest,
  task: CreateTaskOpts,
  kind: StepKind,
  parents: ReadonlyArray<WorkflowConcurrency>
): Array<StepConcurrency> => {
  const children = kind === "DEFAULT"
    ? parents.map((parent, i) => {
      const child = stepConcurrency(tenant, workflowConcurrency(request)[i]!, parent)
      parent.children.push(child)
      return child
    })
    : []
  return [...children, ...taskConcurrency(request, task).map((concurrency) => stepConcurrency(tenant, concurrency, undefined))]
}

/** The workflow-level strategies of a workflow that does not merge them onto its single task. */
const workflowStrategiesOf = (request: CreateWorkflowVersionRequest): Array<WorkflowConcurrency> =>
  mergesOntoTask(request)
    ? []
    : workflowConcurrency(request).map((concurrency) => ({ settings: settingsOf(concurrency), slots: [], children: [] }))

/** The tasks of a request with the on-failure task. */
const allTasks = (request: CreateWorkflowVersionRequest): Array<CreateTaskOpts> =>
  request.onFailureTask !== undefined ? [...request.tasks, request.onFailureTask] : [...request.tasks]

/**
 * The tenant-scoped strategies a registration declares (upstream `collectTenantConcurrencyDefs`,
 * `getTenantStrategiesForEntries`, `checkTenantConcurrencyOrdering`), checked, then created or
 * updated in place (before the version's checksum is compared: re-registering an unchanged
 * workflow with a changed definition updates it). Upstream returns plain errors for a missing
 * name, a step naming one twice, or chains that order two shared strategies differently (which
 * could deadlock), hence INTERNAL. A workflow-level one on a multi-task workflow, and a
 * workflow-level `max_runs_expression` there, need upstream's DAG operator, which this engine does
 * not have: UNIMPLEMENTED.
 */
const registerTenantStrategies = (
  state: EngineState,
  tenant: TenantState,
  request: CreateWorkflowVersionRequest,
  now: number
): Internal | Unimplemented | undefined => {
  const declared = new Map<string, Concurrency>()
  for (const concurrency of [...workflowConcurrency(request), ...allTasks(request).flatMap((task) => task.concurrency)]) {
    if (!isTenantScoped(concurrency)) continue
    if (concurrency.name === undefined || concurrency.name === "") return internal()
    declared.set(concurrency.name, concurrency)
  }
  if (!mergesOntoTask(request)) {
    for (const concurrency of workflowConcurrency(request)) {
      if (isTenantScoped(concurrency)) {
        return unimplemented(
          `tenant-scoped concurrency (name ${concurrency.name}) is not supported at the workflow level unless the workflow is a single task or uses the DAG operator`
        )
      }
      if (concurrency.maxRunsExpression !== undefined && request.tasks.length > 1) {
        return unimplemented(
          `workflow '${request.name}' uses a feature the local engine does not support yet: max_runs_expression on a workflow-level concurrency strategy of a workflow with several tasks (upstream's DAG operator)`
        )
      }
    }
  }
  const chains: Array<ReadonlyArray<string>> = []
  for (const task of allTasks(request)) {
    const names = taskConcurrency(request, task).filter(isTenantScoped).map((concurrency) => concurrency.name!)
    if (new Set(names).size !== names.length) return internal()
    if (names.length >= 2) chains.push(names)
  }
  if (chains.length > 0) {
    for (const workflow of tenant.workflowsById.values()) {
      if (workflow.name === request.name || workflow.versions.length === 0) continue
      for (const step of latestVersion(workflow).steps) {
        const names = step.concurrency.flatMap((strategy) => (strategy.name !== undefined ? [strategy.name] : []))
        if (names.length >= 2) chains.push(names)
      }
    }
    if (hasOrderingCycle(chains)) return internal()
  }
  for (const [name, concurrency] of declared) {
    const existing = tenant.concurrencyStrategies.get(name)
    if (existing !== undefined) updateSettings(state, existing, settingsOf(concurrency), now)
    else {tenant.concurrencyStrategies.set(name, {
        settings: settingsOf(concurrency),
        name,
        parent: undefined,
        slots: [],
        observedMaxRuns: new Map()
      })}
  }
  return undefined
}

/** Whether the chains order some pair of names both ways (a cycle of their precedence graph). */
const hasOrderingCycle = (chains: ReadonlyArray<ReadonlyArray<string>>): boolean => {
  const edges = new Map<string, Set<string>>()
  for (const chain of chains) {
    chain.forEach((from, i) => {
      const next = edges.get(from) ?? new Set<string>()
      for (const to of chain.slice(i + 1)) next.add(to)
      edges.set(from, next)
    })
  }
  const marks = new Map<string, "visiting" | "done">()
  const visit = (node: string): boolean => {
    marks.set(node, "visiting")
    for (const next of edges.get(node) ?? []) {
      const mark = marks.get(next)
      if (mark === "visiting" || (mark === undefined && visit(next))) return true
    }
    marks.set(node, "done")
    return false
  }
  return [...edges.keys()].some((node) => marks.get(node) === undefined && visit(node))
}

const buildStep = (
  task: CreateTaskOpts,
  kind: StepKind,
  index: number,
  concurrency: ReadonlyArray<StepConcurrency>
): Step => ({
  id: newId(),
  readableId: task.readableId,
  action: normalizeActionId(task.action)!,
  kind,
  parents: kind === "DEFAULT" ? [...task.parents] : [],
  children: [],
  retries: task.retries,
  backoffFactor: task.backoffFactor,
  backoffMaxSeconds: task.backoffFactor !== undefined ? (task.backoffMaxSeconds ?? 86_400) : undefined,
  timeout: task.timeout !== "" ? task.timeout : undefined,
  timeoutMs: task.timeout !== "" ? parseDuration(task.timeout)! : defaultTimeoutMs,
  scheduleTimeout: task.scheduleTimeout ?? defaultScheduleTimeout,
  scheduleTimeoutMs: parseDuration(task.scheduleTimeout ?? defaultScheduleTimeout)!,
  isDurable: task.isDurable,
  slotRequests: slotRequestsOf(task),
  desiredLabels: new Map(Object.entries(task.workerLabels)),
  concurrency,
  rateLimits: RateLimits.stepRateLimits(task.rateLimits),
  batch: stepBatchOf(task),
  conditions: stepConditions(task.conditions),
  index
})

/**
 * A task's batch settings with upstream's defaults (`getCreateWorkflowOpts`): 1000 ms, the key
 * `'default'` (also for an empty one), 100 runs per key. The key is compiled in the environment
 * it is evaluated in; one that does not compile fails each task at creation.
 */
const stepBatchOf = (task: CreateTaskOpts): StepBatch | undefined => {
  const batch = task.batch
  if (batch === undefined) return undefined
  const groupKey = batch.batchGroupKey !== undefined && batch.batchGroupKey !== "" ? batch.batchGroupKey : "'default'"
  return {
    maxSize: batch.batchMaxSize,
    maxIntervalMs: batch.batchMaxIntervalMs ?? 1000,
    groupKey: { source: groupKey, compiled: Cel.compile("workflow", groupKey) },
    groupMaxRuns: batch.batchGroupMaxRuns ?? 100,
    broadcastOutput: batch.broadcastOutput ?? false
  }
}

/** The stored action of a validated condition. */
const conditionAction = (action: Action): ConditionAction => action === Action.SKIP ? "SKIP" : action === Action.CANCEL ? "CANCEL" : "QUEUE"

/**
 * A task's conditions as upstream stores them (`getCreateTaskOpts`): user events, then sleeps,
 * then parent overrides (a parent override's data key is the parent's readable id); those without
 * a base are dropped; an empty or nil or-group id becomes a fresh one, so the condition is a group
 * of its own. Expressions are not checked: one that does not compile never holds.
 */
const stepConditions = (conditions: TaskConditions | undefined): Array<StepCondition> => {
  const group = (id: string) => orGroupOf(id) ?? newId()
  return conditionsOf(conditions).map(({ base, eventKey, kind, parent, sleepFor }): StepCondition => {
    const action = conditionAction(base.action)
    const orGroupId = group(base.orGroupId)
    switch (kind) {
      case "user-event":
        return { kind: "USER_EVENT", action, orGroupId, readableDataKey: base.readableDataKey, eventKey, expression: base.expression }
      case "sleep":
        return { kind: "SLEEP", action, orGroupId, readableDataKey: base.readableDataKey, sleepFor }
      case "parent-override":
        return { kind: "PARENT_OVERRIDE", action, orGroupId, parent, expression: base.expression }
    }
  })
}

/** Options of `putWorkflow`. */
export interface PutWorkflowOptions {
  /** `WorkflowService/PutWorkflow` (v0): an empty task list is a validation error, not INTERNAL. */
  readonly legacy?: boolean | undefined
}

/** `v1.AdminService/PutWorkflow`: validates, then stores a new version unless the content is unchanged. */
export const putWorkflow = (
  state: EngineState,
  tenantId: string,
  request: CreateWorkflowVersionRequest,
  now: number,
  options: PutWorkflowOptions = {}
): Either.Either<WorkflowVersion, InvalidArgument | Internal | Unimplemented> => {
  const tenant = tenantOf(state, tenantId)
  const invalid = validateWorkflowRequest(tenant, request, options.legacy === true)
  if (Either.isLeft(invalid)) return Either.left(invalid.left)
  const refused = registerTenantStrategies(state, tenant, request, now) ?? lostConditions(request)
  if (refused !== undefined) return Either.left(refused)

  const checksum = workflowVersionChecksum(request)
  let workflow = tenant.workflowsByName.get(request.name)
  if (workflow !== undefined && latestVersion(workflow).checksum === checksum) return Either.right(latestVersion(workflow))
  // the version's declared filters replace the workflow's in the same transaction upstream: a
  // `null` payload (a NULL in a NOT NULL column) or a duplicate (the unique index) fails it all
  const declared: Array<Filters.FilterSpec> = []
  for (const filter of request.defaultFilters) {
    const payload = Filters.declaredPayload(filter.payload)
    if (payload === undefined) return Either.left(internal())
    declared.push({ scope: filter.scope, expression: filter.expression, payload })
  }
  if (!Filters.canDeclare(tenant, workflow?.id, declared)) return Either.left(internal())
  if (workflow === undefined) {
    workflow = {
      id: newId(),
      tenantId,
      name: request.name,
      createdAt: now,
      updatedAt: now,
      versions: [],
      deletedAt: undefined,
      paused: undefined
    }
    tenant.workflowsByName.set(workflow.name, workflow)
    tenant.workflowsById.set(workflow.id, workflow)
  }
  workflow.updatedAt = now
  Filters.declareFilters(tenant, workflow.id, declared, now)

  const workflowStrategies = workflowStrategiesOf(request)
  const steps = request.tasks.map((task, i) =>
    buildStep(task, "DEFAULT", i, concurrencyOfStep(tenant, request, task, "DEFAULT", workflowStrategies))
  )
  const onFailure = request.onFailureTask !== undefined
    ? buildStep(
      request.onFailureTask,
      "ON_FAILURE",
      steps.length,
      concurrencyOfStep(tenant, request, request.onFailureTask, "ON_FAILURE", workflowStrategies)
    )
    : undefined
  const byReadableId = new Map(steps.map((s) => [s.readableId, s]))
  for (const step of steps) {
    for (const parent of step.parents) byReadableId.get(parent)!.children.push(step)
  }
  const allSteps = onFailure !== undefined ? [...steps, onFailure] : steps
  const version: WorkflowVersion = {
    id: newId(),
    workflow,
    order: workflow.versions.length + 1,
    checksum,
    createdAt: now,
    version: request.version,
    description: request.description,
    eventTriggers: [...request.eventTriggers],
    cronTriggers: [...request.cronTriggers],
    defaultPriority: request.defaultPriority,
    sticky: request.sticky,
    steps: allSteps,
    onFailure,
    stepsByReadableId: new Map(allSteps.map((s) => [s.readableId, s])),
    inputJsonSchema: request.inputJsonSchema !== undefined
      ? parseJson(Buffer.from(request.inputJsonSchema).toString("utf8"))
      : undefined,
    concurrency: workflowStrategies,
    request
  }
  workflow.versions.push(version)
  touchWorkflow(state, workflow)
  state.workflowVersionsById.set(version.id, version)
  replaceDeclaredCrons(state, version, now)
  return Either.right(version)
}

/**
 * Deletes a workflow (upstream `SoftDeleteWorkflow`): it leaves the tenant's lists and lookups by
 * name and id, so it can no longer be triggered, by name, event, cron or schedule (its crons and
 * scheduled runs go with it; upstream's ticker skips deleted workflows), and a registration of the
 * same name starts a new workflow. Runs already created go on to their end.
 */
export const deleteWorkflow = (state: EngineState, workflow: Workflow, now: number): void => {
  const tenant = tenantOf(state, workflow.tenantId)
  if (tenant.workflowsById.get(workflow.id) !== workflow) return
  tenant.workflowsById.delete(workflow.id)
  if (tenant.workflowsByName.get(workflow.name) === workflow) tenant.workflowsByName.delete(workflow.name)
  workflow.deletedAt = now
  for (const [id, cron] of [...tenant.crons]) if (cron.workflow === workflow) deleteCron(state, tenant.tenant.id, id)
  for (const [id, scheduled] of [...tenant.scheduled]) {
    if (scheduled.workflow === workflow) deleteScheduled(state, tenant.tenant.id, id)
  }
}
