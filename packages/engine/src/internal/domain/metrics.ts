/**
 * The tenant's metrics, as upstream's REST API reports them:
 *
 * - `runStatusCounts`: runs (a DAG counts once) by status, created in a window, filtered as the
 *   run list is (`GetTenantStatusMetrics`);
 * - `queueCounts`: tasks waiting in each queue (an action), and per workflow the runs waiting on a
 *   workflow-level concurrency key (`GetQueueCounts`);
 * - `taskStats`: per task name, what waits (per queue, per concurrency strategy and key) and what
 *   runs, with the oldest creation time (`GetTenantTaskStats`), what autoscalers read;
 * - `prometheusText`: the tenant's counters and gauges in Prometheus' text format, named as
 *   upstream's tenant metrics (`pkg/integrations/metrics/prometheus/tenant.go`).
 *
 * Counters are kept per tenant as tasks are created and record events (`countEvent`), so they
 * only grow, whatever retention prunes.
 *
 * @internal
 */
import type { JsonObject } from "./json.js"
import type { EngineState, LimitStrategy, Run, Task, TaskEventType, TaskStatus } from "./model.js"
import { assignmentOf, isFinal, runStatus, taskStatus } from "./model.js"

// -----------------------------------------------------------------------------
// counters
// -----------------------------------------------------------------------------

/** The counters upstream keeps per tenant, by the task event that bumps them. */
const countersByEvent: Partial<Record<TaskEventType, string>> = {
  ASSIGNED: "hatchet_tenant_assigned_tasks",
  SKIPPED: "hatchet_tenant_skipped_tasks",
  RETRYING: "hatchet_tenant_retried_tasks",
  REASSIGNED: "hatchet_tenant_reassigned_tasks",
  SCHEDULING_TIMED_OUT: "hatchet_tenant_scheduling_timed_out"
}

const counterHelp: Record<string, string> = {
  hatchet_tenant_created_tasks: "The total number of tasks created",
  hatchet_tenant_assigned_tasks: "The total number of tasks assigned to a worker",
  hatchet_tenant_succeeded_tasks: "The total number of tasks that succeeded",
  hatchet_tenant_failed_tasks: "The total number of tasks that failed (in a final state, not including retries)",
  hatchet_tenant_cancelled_tasks: "The total number of tasks cancelled",
  hatchet_tenant_skipped_tasks: "The total number of tasks that were skipped",
  hatchet_tenant_retried_tasks: "The total number of tasks retried",
  hatchet_tenant_reassigned_tasks: "The total number of tasks that were reassigned to a worker",
  hatchet_tenant_scheduling_timed_out: "The total number of tasks that timed out while waiting to be scheduled"
}

const bump = (state: EngineState, tenantId: string, name: string) => {
  const counters = state.tenants.get(tenantId)?.counters
  if (counters !== undefined) counters.set(name, (counters.get(name) ?? 0) + 1)
}

/** Counts a task created (queued, skipped or cancelled at creation). */
export const countCreated = (state: EngineState, task: Task): void => bump(state, task.tenantId, "hatchet_tenant_created_tasks")

/** Counts a task that became final: succeeded (not skipped), failed or cancelled. */
export const countFinal = (state: EngineState, task: Task): void => {
  if (task.state._tag === "Completed" && !task.state.skipped) bump(state, task.tenantId, "hatchet_tenant_succeeded_tasks")
  else if (task.state._tag === "Failed") bump(state, task.tenantId, "hatchet_tenant_failed_tasks")
  else if (task.state._tag === "Cancelled") bump(state, task.tenantId, "hatchet_tenant_cancelled_tasks")
}

/** Counts a task event of the kinds upstream counts (assigned, skipped, retried, …). */
export const countEvent = (state: EngineState, task: Task, eventType: TaskEventType): void => {
  const name = countersByEvent[eventType]
  if (name !== undefined) bump(state, task.tenantId, name)
}

// -----------------------------------------------------------------------------
// run status counts
// -----------------------------------------------------------------------------

/** What `runStatusCounts` counts: runs created in `[since, until]` matching every filter given. */
export interface RunFilter {
  readonly since: number
  readonly until?: number | undefined
  readonly workflowIds?: ReadonlyArray<string> | undefined
  readonly parentTaskExternalId?: string | undefined
  readonly triggeringEventExternalId?: string | undefined
  /** Any pair matches (upstream joins the pairs with EXISTS). */
  readonly additionalMetadata?: Readonly<Record<string, string>> | undefined
  readonly statuses?: ReadonlyArray<TaskStatus> | undefined
}

const metadataMatches = (metadata: JsonObject, pairs: Readonly<Record<string, string>>) => {
  const entries = Object.entries(pairs)
  if (entries.length === 0) return true
  return entries.some(([key, value]) => {
    const actual = metadata[key]
    return actual !== undefined && (typeof actual === "string" ? actual : JSON.stringify(actual)) === value
  })
}

/** The tenant's runs that match `filter`, in creation order. */
export const matchingRuns = (state: EngineState, tenantId: string, filter: RunFilter): Array<Run> => {
  const runs: Array<Run> = []
  for (const run of state.runsById.values()) {
    if (run.tenantId !== tenantId || run.createdAt < filter.since) continue
    if (filter.until !== undefined && run.createdAt > filter.until) continue
    if (filter.workflowIds !== undefined && filter.workflowIds.length > 0 && !filter.workflowIds.includes(run.workflow.id)) continue
    if (filter.parentTaskExternalId !== undefined && run.parentTaskExternalId !== filter.parentTaskExternalId) continue
    if (filter.triggeringEventExternalId !== undefined && run.triggeringEvent?.id !== filter.triggeringEventExternalId) continue
    if (filter.additionalMetadata !== undefined && !metadataMatches(run.metadata, filter.additionalMetadata)) continue
    if (filter.statuses !== undefined && !filter.statuses.includes(runStatus(run))) continue
    runs.push(run)
  }
  return runs.sort((a, b) => a.createdAt - b.createdAt)
}

/** `V1TaskRunMetrics`: the count of each status, in upstream's order (a running run is on a worker). */
export const runStatusCounts = (state: EngineState, tenantId: string, filter: RunFilter) => {
  const counts: Record<TaskStatus, number> = { CANCELLED: 0, COMPLETED: 0, FAILED: 0, QUEUED: 0, RUNNING: 0 }
  for (const run of matchingRuns(state, tenantId, filter)) counts[runStatus(run)]++
  return (["CANCELLED", "COMPLETED", "FAILED", "QUEUED", "RUNNING"] as const).map((status) => ({
    count: counts[status],
    status,
    ...(status === "RUNNING" ? { runningDetailCount: { evicted: 0, onWorker: counts.RUNNING } } : {})
  }))
}

// -----------------------------------------------------------------------------
// queues and task stats
// -----------------------------------------------------------------------------

/** The tenant's tasks that are not final. */
const liveTasks = function*(state: EngineState, tenantId: string): Generator<Task> {
  for (const task of state.tasksByExternalId.values()) {
    if (task.tenantId === tenantId && !isFinal(task)) yield task
  }
}

/** A task waiting for a worker (in its queue, its retry backoff, a rate limit or a concurrency slot). */
const isWaiting = (task: Task) => taskStatus(task) === "QUEUED"

/** The strategy and key of the first concurrency slot a waiting task has not filled yet. */
const waitingSlot = (task: Task) => task.concurrencySlots.find((slot) => !slot.filled)

/**
 * `TenantStepRunQueueMetrics.queues`: per queue (action) the tasks waiting in it (not in a
 * concurrency slot), and per workflow name the runs waiting on each key of a workflow-level
 * strategy.
 */
export const queueCounts = (state: EngineState, tenantId: string): Record<string, number | Record<string, number>> => {
  const queues: Record<string, number | Record<string, number>> = {}
  for (const task of liveTasks(state, tenantId)) {
    if (!isWaiting(task) || waitingSlot(task) !== undefined) continue
    queues[task.step.action] = ((queues[task.step.action] as number | undefined) ?? 0) + 1
  }
  for (const run of state.runsById.values()) {
    if (run.tenantId !== tenantId || run.finishedAt !== undefined) continue
    for (const slot of run.concurrencySlots.values()) {
      if (slot.filled) continue
      const byKey = (queues[run.workflow.name] ??= {}) as Record<string, number>
      byKey[slot.key] = (byKey[slot.key] ?? 0) + 1
    }
  }
  return queues
}

interface StatusStat {
  total: number
  oldest: number | undefined
  oldestExcludingRetries: number | undefined
  queues: Map<string, number>
  concurrency: Array<{ readonly expression: string; readonly type: LimitStrategy; readonly keys: Map<string, number> }>
}

const emptyStat = (): StatusStat => ({ total: 0, oldest: undefined, oldestExcludingRetries: undefined, queues: new Map(), concurrency: [] })

const addTask = (stat: StatusStat, task: Task) => {
  stat.total++
  if (stat.oldest === undefined || task.createdAt < stat.oldest) stat.oldest = task.createdAt
  if (task.retryCount === 0 && (stat.oldestExcludingRetries === undefined || task.createdAt < stat.oldestExcludingRetries)) {
    stat.oldestExcludingRetries = task.createdAt
  }
}

const addConcurrency = (stat: StatusStat, expression: string, type: LimitStrategy, key: string) => {
  let entry = stat.concurrency.find((c) => c.expression === expression && c.type === type)
  if (entry === undefined) {
    entry = { expression, type, keys: new Map() }
    stat.concurrency.push(entry)
  }
  entry.keys.set(key, (entry.keys.get(key) ?? 0) + 1)
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

const statJson = (stat: StatusStat) => ({
  total: stat.total,
  ...(stat.oldest !== undefined ? { oldest: iso(stat.oldest) } : {}),
  ...(stat.oldestExcludingRetries !== undefined ? { oldestExcludingRetries: iso(stat.oldestExcludingRetries) } : {}),
  ...(stat.queues.size > 0 ? { queues: Object.fromEntries(stat.queues) } : {}),
  ...(stat.concurrency.length > 0
    ? { concurrency: stat.concurrency.map((c) => ({ expression: c.expression, type: c.type, keys: Object.fromEntries(c.keys) })) }
    : {})
})

/**
 * `TaskStats`: per task name (a readable id, shared by every workflow that uses it) what waits
 * and what runs; each name of `required` is present, with zero totals when nothing is live.
 */
export const taskStats = (state: EngineState, tenantId: string, required: ReadonlyArray<string> = []) => {
  const byName = new Map<string, { queued?: StatusStat; running?: StatusStat }>()
  for (const task of liveTasks(state, tenantId)) {
    const entry = byName.get(task.step.readableId) ?? {}
    byName.set(task.step.readableId, entry)
    if (assignmentOf(task)?.worker !== undefined) {
      const running = (entry.running ??= emptyStat())
      addTask(running, task)
      for (const slot of task.concurrencySlots) {
        if (slot.filled) addConcurrency(running, slot.strategy.settings.expression, slot.strategy.settings.limitStrategy, slot.key)
      }
    } else if (isWaiting(task)) {
      const queued = (entry.queued ??= emptyStat())
      addTask(queued, task)
      queued.queues.set(task.step.action, (queued.queues.get(task.step.action) ?? 0) + 1)
      const slot = waitingSlot(task)
      if (slot !== undefined) addConcurrency(queued, slot.strategy.settings.expression, slot.strategy.settings.limitStrategy, slot.key)
    }
  }
  const result: Record<string, { queued?: ReturnType<typeof statJson>; running?: ReturnType<typeof statJson> }> = {}
  for (const [name, entry] of byName) {
    result[name] = {
      ...(entry.queued !== undefined ? { queued: statJson(entry.queued) } : {}),
      ...(entry.running !== undefined ? { running: statJson(entry.running) } : {})
    }
  }
  for (const name of required) {
    result[name] = {
      queued: result[name]?.queued ?? { total: 0 },
      running: result[name]?.running ?? { total: 0 }
    }
  }
  return result
}

// -----------------------------------------------------------------------------
// Prometheus
// -----------------------------------------------------------------------------

const labelValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs).map(([key, value]) => `${key}="${labelValue(value)}"`).join(",")}}`

/**
 * The tenant's metrics in Prometheus' text format: the task counters, the slots of each live
 * worker (`hatchet_tenant_worker_slots`, `_used_worker_slots`, `_available_worker_slots`) and the
 * tasks waiting per queue and workflow (`hatchet_tenant_queue_size`).
 */
export const prometheusText = (state: EngineState, tenantId: string, isLive: (workerId: string) => boolean): string => {
  const tenant = state.tenants.get(tenantId)
  const lines: Array<string> = []
  const family = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: ReadonlyArray<readonly [Record<string, string>, number]>
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [pairs, value] of samples) lines.push(`${name}${labels(pairs)} ${value}`)
  }
  for (const [name, help] of Object.entries(counterHelp)) {
    family(name, "counter", help, [[{ tenant_id: tenantId }, tenant?.counters.get(name) ?? 0]])
  }
  const workers = [...(tenant?.workers.values() ?? [])].filter((worker) => isLive(worker.id))
  const slots = (pick: (limit: number, used: number) => number) =>
    workers.map((worker) => {
      let limit = 0
      let used = 0
      for (const [slotType, units] of worker.slotConfig) {
        limit += units
        used += worker.slotsUsed.get(slotType) ?? 0
      }
      return [{ tenant_id: tenantId, worker_id: worker.id, worker_name: worker.name }, pick(limit, used)] as const
    })
  family("hatchet_tenant_worker_slots", "gauge", "Total number of slots per worker pool", slots((limit) => limit))
  family("hatchet_tenant_used_worker_slots", "gauge", "Number of used slots per worker pool", slots((_, used) => used))
  family(
    "hatchet_tenant_available_worker_slots",
    "gauge",
    "Number of available slots per worker pool",
    slots((limit, used) => limit - used)
  )
  const sizes = new Map<string, { queue: string; workflow: string; count: number }>()
  for (const task of liveTasks(state, tenantId)) {
    if (!isWaiting(task)) continue
    const id = `${task.step.action}\u0000${task.run.workflow.name}`
    const entry = sizes.get(id) ?? { queue: task.step.action, workflow: task.run.workflow.name, count: 0 }
    entry.count++
    sizes.set(id, entry)
  }
  family(
    "hatchet_tenant_queue_size",
    "gauge",
    "Number of queued items per queue and workflow",
    [...sizes.values()].map((s) => [{ tenant_id: tenantId, queue: s.queue, workflow_name: s.workflow }, s.count] as const)
  )
  return lines.join("\n") + "\n"
}
