/**
 * REST representations (OpenAPI `components/schemas`, camelCase JSON) of the domain objects:
 * `Tenant`, `V1WorkflowRun`, `V1TaskSummary`, `V1TaskEvent`, `V1WorkflowRunDetails`, `Worker`.
 *
 * @internal
 */
import type { JsonValue } from "../domain/json.js"
import { isJsonObject, parseJson } from "../domain/json.js"
import type { Run, Task, TaskEvent, Tenant, Worker } from "../domain/model.js"
import { runStatus } from "../domain/model.js"
import { isSchedulable } from "../domain/dispatch.js"
import { runTasks } from "../domain/queries.js"

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

/** `APIResourceMeta`. */
export const resourceMeta = (id: string, createdAt: number, updatedAt = createdAt) => ({
  id,
  createdAt: iso(createdAt)!,
  updatedAt: iso(updatedAt)!
})

/** `openapi.NonNullableJSON`: objects as they are, anything else as `{}`. */
const objectOr = (value: JsonValue | undefined): JsonValue => (isJsonObject(value) ? value : {})

export const tenant = (t: Tenant) => ({
  metadata: resourceMeta(t.id, t.createdAt),
  name: t.name,
  slug: t.slug,
  analyticsOptOut: true,
  alertMemberEmails: false,
  version: "V1" as const,
  environment: "local" as const
})

export const taskEvent = (task: Task, event: TaskEvent) => ({
  id: event.id,
  taskId: task.externalId,
  timestamp: iso(event.timestamp)!,
  eventType: event.eventType,
  message: event.message,
  ...(event.errorMessage !== undefined ? { errorMessage: event.errorMessage } : {}),
  ...(event.output !== undefined ? { output: event.output } : {}),
  ...(event.workerId !== undefined ? { workerId: event.workerId } : {}),
  taskDisplayName: task.step.readableId,
  retryCount: event.retryCount,
  attempt: event.retryCount + 1
})

export const taskSummary = (task: Task) => {
  const run = task.run
  const duration = task.startedAt !== undefined && task.finishedAt !== undefined ? task.finishedAt - task.startedAt : undefined
  return {
    metadata: resourceMeta(task.externalId, task.createdAt, task.finishedAt ?? task.startedAt ?? task.createdAt),
    actionId: task.step.action,
    retryCount: task.retryCount,
    attempt: task.retryCount + 1,
    additionalMetadata: run.metadata,
    createdAt: iso(task.createdAt)!,
    displayName: task.step.readableId,
    ...(duration !== undefined ? { duration } : {}),
    isDurable: task.step.isDurable,
    ...(task.status === "FAILED" && task.error !== undefined ? { errorMessage: task.error } : {}),
    ...(task.finishedAt !== undefined ? { finishedAt: iso(task.finishedAt) } : {}),
    input: objectOr(run.input),
    numSpawnedChildren: task.spawned.size,
    output: task.status === "COMPLETED" ? objectOr(parseJson(task.output)) : {},
    status: task.status,
    isEvicted: false,
    ...(task.startedAt !== undefined ? { startedAt: iso(task.startedAt) } : {}),
    stepId: task.step.id,
    taskExternalId: task.externalId,
    taskId: task.id,
    taskInsertedAt: iso(task.createdAt)!,
    tenantId: task.tenantId,
    type: run.isDag ? "DAG" as const : "TASK" as const,
    workflowId: run.workflow.id,
    workflowName: run.workflow.name,
    workflowRunExternalId: run.id,
    workflowVersionId: run.version.id,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

/** The output of a run: the task's output for a single task, else outputs keyed by readable id. */
const runOutput = (run: Run): JsonValue => {
  const tasks = runTasks(run)
  if (!run.isDag) return tasks[0]?.status === "COMPLETED" ? objectOr(parseJson(tasks[0].output)) : {}
  const outputs: Record<string, JsonValue> = {}
  for (const task of tasks) {
    if (task.status === "COMPLETED") outputs[task.step.readableId] = parseJson(task.output) ?? null
  }
  return outputs
}

export const workflowRun = (run: Run) => {
  const tasks = runTasks(run)
  const started = tasks.map((t) => t.startedAt).filter((t): t is number => t !== undefined)
  const startedAt = started.length > 0 ? Math.min(...started) : undefined
  const failed = tasks.find((t) => t.status === "FAILED")
  return {
    metadata: resourceMeta(run.id, run.createdAt, run.finishedAt ?? run.createdAt),
    status: runStatus(run),
    ...(startedAt !== undefined ? { startedAt: iso(startedAt) } : {}),
    ...(run.finishedAt !== undefined ? { finishedAt: iso(run.finishedAt) } : {}),
    ...(startedAt !== undefined && run.finishedAt !== undefined ? { duration: run.finishedAt - startedAt } : {}),
    tenantId: run.tenantId,
    additionalMetadata: run.metadata,
    displayName: run.workflow.name,
    workflowId: run.workflow.id,
    output: runOutput(run),
    ...(failed?.error !== undefined ? { errorMessage: failed.error } : {}),
    workflowVersionId: run.version.id,
    input: objectOr(run.input),
    createdAt: iso(run.createdAt)!,
    ...(run.parentTaskExternalId !== undefined ? { parentTaskExternalId: run.parentTaskExternalId } : {})
  }
}

/** `V1WorkflowRunDetails`. */
export const workflowRunDetails = (run: Run) => {
  const tasks = runTasks(run)
  return {
    run: workflowRun(run),
    taskEvents: tasks.flatMap((task) => task.events.map((event) => taskEvent(task, event))),
    shape: run.version.steps.map((step) => ({
      taskExternalId: run.taskIds.get(step.id)!,
      stepId: step.id,
      childrenStepIds: step.children.map((child) => child.id),
      taskName: step.readableId
    })),
    tasks: tasks.map(taskSummary),
    workflowConfig: {}
  }
}

/** `Worker`. */
export const worker = (w: Worker, now: number) => ({
  metadata: resourceMeta(w.id, w.createdAt, w.lastHeartbeatAt ?? w.createdAt),
  name: w.name,
  type: "SELFHOSTED" as const,
  ...(w.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: iso(w.lastHeartbeatAt) } : {}),
  ...(w.lastListenerEstablished !== undefined ? { lastListenerEstablished: iso(w.lastListenerEstablished) } : {}),
  actions: [...w.actions],
  status: w.isPaused ? "PAUSED" as const : isSchedulable(w, now) ? "ACTIVE" as const : "INACTIVE" as const,
  maxRuns: w.slotConfig.get("default") ?? 0,
  availableRuns: (w.slotConfig.get("default") ?? 0) - (w.slotsUsed.get("default") ?? 0),
  labels: [...w.labels.entries()].map(([key, label]) => ({
    metadata: resourceMeta(`${w.id}:${key}`, w.createdAt),
    key,
    ...(label.strValue !== undefined ? { value: label.strValue } : label.intValue !== undefined ? { value: `${label.intValue}` } : {})
  })),
  ...(w.runtimeInfo !== undefined ? {
    runtimeInfo: {
      sdkVersion: w.runtimeInfo.sdkVersion,
      languageVersion: w.runtimeInfo.languageVersion,
      os: w.runtimeInfo.os,
      runtimeExtra: w.runtimeInfo.extra
    }
  } : {})
})
