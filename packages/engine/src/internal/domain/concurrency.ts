/**
 * Concurrency strategies: which queued tasks may go to the worker queue, per strategy and key.
 *
 * A task whose step has strategies gets a slot in the first one when it is created, keyed by the
 * strategy's CEL expression (all keys are evaluated then, with `input`, `additional_metadata` and
 * `workflow_run_id`, the task's own external id as upstream passes it). A filled slot leads to a
 * slot in the next strategy, and the last one filled puts the task in its action's queue; the
 * filled slots are held until the task is final. Per strategy and key, in creation order:
 *
 * - GROUP_ROUND_ROBIN: the first `max_runs` slots are filled; the others wait;
 * - CANCEL_IN_PROGRESS: the newest `max_runs` are filled, every older one is cancelled, running
 *   or not ("Cancelled due to concurrency strategy", `CANCEL_STEP_RUN` to a running attempt);
 * - CANCEL_NEWEST: the oldest `max_runs` are filled, the newer ones are cancelled;
 * - CANCEL_QUEUED_EXCEPT_NEWEST / _OLDEST: free capacity (`max_runs` less the filled slots) is
 *   filled from the oldest waiting; of the others, the newest (or oldest) `max_runs` keep waiting
 *   and the rest are cancelled; a filled slot is never cancelled (a debounce per key).
 *
 * A key's limit is `max_runs`, or with a `max_runs_expression` the value its newest task evaluated
 * at creation (0 holds the key until a newer task raises it); the value is forgotten once the key
 * holds no slot. A tenant-scoped strategy is one `StepConcurrency` shared by every step that names
 * it, so its keys are counted across workflows.
 *
 * A workflow-level strategy of a DAG workflow ranks runs the same way (GROUP_ROUND_ROBIN by
 * priority, then creation) and marks the chosen run slots filled (never unfilling one); each
 * DEFAULT step has a child strategy, ahead of the step's own, whose slots only count once their
 * run's slot is filled: under GROUP_ROUND_ROBIN they are all filled, under the cancel strategies
 * they are ranked per key like task-level slots and the others are cancelled. A run gets its
 * slot with its first task's slot and releases it once no task of the run holds a slot and all
 * its steps have tasks.
 *
 * The slots are released when the task is final. An immediate retry resets the first one in
 * place (unfilled, new schedule timeout; the later ones are dropped) and the task must acquire
 * them again; a retry with backoff gives them up and gets a new first slot, last in line, when
 * its backoff has elapsed. An unfilled slot past the step's schedule timeout cancels its task
 * (SCHEDULING_TIMED_OUT). Strategies run synchronously after every change of their slots: a fill
 * moves its task on at once; a task a strategy cancels is put in `state.strategyCancels`, which
 * the task module (`tasks.ts`, above this one) cancels right after the call that ran the
 * strategy, as upstream's scheduler sends the cancellations the strategy's query returns.
 *
 * `docs/engine.md` §7.1; upstream `pkg/repository/sqlcv1/concurrency.sql`,
 * `concurrency-overwrite.go`, `pkg/repository/scheduler_concurrency.go`, `sql/schema/v1-core.sql`
 * (slot triggers), `pkg/repository/task.go` (key evaluation),
 * `internal/services/scheduler/v1/scheduler.go` (cancel message).
 *
 * @internal
 */
import * as Cel from "@effect-hatchet/shared/Cel"
import { setTaskState } from "./changes.js"
import { enqueue, retryPriority } from "./dispatch.js"
import { stepVariables } from "./expressions.js"
import type {
  ConcurrencyKeys,
  ConcurrencySettings,
  ConcurrencySlot,
  EngineState,
  LimitStrategy,
  Run,
  RunSlot,
  StepConcurrency,
  Task,
  WorkflowConcurrency
} from "./model.js"
import { append, awaitingSlot, isFinal, noItems, writable } from "./model.js"
import type { Timer } from "./timers.js"

/** The message of a task cancelled by a strategy. */
export const cancelledByStrategy = "Cancelled due to concurrency strategy"

/** The concurrency keys of a task (one per strategy), or the error it is created FAILED with. */
export type KeyResult =
  | { readonly _tag: "Keys"; readonly keys: ConcurrencyKeys }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * Evaluates the keys of a step's `strategies` for its task `taskExternalId` in `run`
 * (`ParseAndEvalStepRun`), in order: a string is the key; a number, an evaluation error or
 * another type fails the task with upstream's message (the first failing strategy's). A strategy
 * with a `max_runs_expression` evaluates it too: an int (a JSON number is truncated, as for
 * rate-limit units) of 0 or more, else the task fails.
 */
export const evaluateKeys = (strategies: ReadonlyArray<StepConcurrency>, run: Run, taskExternalId: string): KeyResult => {
  const variables = stepVariables(run, taskExternalId)
  const keys: Array<string> = []
  const maxRuns: Array<number | undefined> = []
  for (const { settings } of strategies) {
    const fail = (expression: string, reason: string): KeyResult => ({
      _tag: "Failed",
      message: `failed to parse step expression (${expression}): ${reason}`
    })
    const result = Cel.evaluate(settings.compiled, variables)
    if (result._tag === "Error") return fail(settings.expression, result.message)
    const output = Cel.stepRunOutput(result.value)
    if (output._tag === "Int") return fail(settings.expression, "expected string output for concurrency key, got int")
    if (output._tag === "Other") return fail(settings.expression, `output must evaluate to a string or integer: got ${output.type}`)
    keys.push(output.value)
    const expression = settings.maxRunsExpression
    if (expression === undefined) {
      maxRuns.push(undefined)
      continue
    }
    const limit = Cel.evaluate(expression.compiled, variables)
    if (limit._tag === "Error") return fail(expression.source, limit.message)
    const value = Cel.stepRunOutput(limit.value)
    if (value._tag === "String") return fail(expression.source, "expected int output for max runs, got string")
    if (value._tag === "Other") return fail(expression.source, `output must evaluate to an integer: got ${value.type}`)
    if (value.value < 0) return fail(expression.source, `max runs must not be negative, got ${value.value}`)
    maxRuns.push(value.value)
  }
  return { _tag: "Keys", keys: { keys, maxRuns } }
}

// -----------------------------------------------------------------------------
// slots
// -----------------------------------------------------------------------------

/** Whether `slot` is still held by its task. */
export const isLive = (slot: ConcurrencySlot): boolean => slot.task.concurrencySlots[slot.index] === slot

/** Inserts the task's slot for the `index`-th strategy of its step (and its run's slot, if missing). */
const insertSlot = (state: EngineState, task: Task, index: number, now: number): void => {
  const strategy = task.step.concurrency[index]!
  const key = task.concurrencyKeys!.keys[index]!
  const maxRuns = task.concurrencyKeys!.maxRuns[index]
  const slot: ConcurrencySlot = { task, strategy, index, key, sortId: ++state.concurrencySeq, filled: false, generation: 0 }
  // the newest task of a key sets its limit; a retry's new slot does not move it
  const observed = strategy.observedMaxRuns.get(key)
  if (maxRuns !== undefined && (observed === undefined || observed.taskId <= task.id)) {
    strategy.observedMaxRuns.set(key, { maxRuns, taskId: task.id })
  }
  strategy.slots.push(slot)
  task.concurrencySlots = append(task.concurrencySlots, slot)
  const parent = strategy.parent
  const run = task.run
  if (parent !== undefined && !run.concurrencySlots.has(parent)) {
    const runSlot: RunSlot = { run, key, sortId: slot.sortId, priority: run.priority, filled: false }
    parent.slots.push(runSlot)
    run.concurrencySlots = writable(run.concurrencySlots).set(parent, runSlot)
  }
  armScheduleTimeout(state, slot, now)
  touch(state, strategy, now)
}

/**
 * Gives a task (created, replayed, or retried after a backoff) the slot of its step's first
 * strategy under `keys`, and runs that strategy.
 */
export const acquireSlots = (state: EngineState, task: Task, keys: ConcurrencyKeys, now: number): void => {
  setTaskState(state, task, awaitingSlot)
  task.concurrencyKeys = keys
  insertSlot(state, task, 0, now)
}

/** Removes the task's slots from `from` on. */
const dropSlots = (state: EngineState, task: Task, from: number, now: number): void => {
  const dropped = task.concurrencySlots.length > from ? (task.concurrencySlots as Array<ConcurrencySlot>).splice(from) : noItems
  for (const slot of dropped) {
    const slots = slot.strategy.slots
    const index = slots.indexOf(slot)
    if (index >= 0) slots.splice(index, 1)
  }
  for (const slot of dropped) touch(state, slot.strategy, now)
}

/**
 * Puts a retried attempt back: a task holding slots must acquire its first one again (unfilled,
 * new schedule timeout; the later ones are dropped, to be acquired anew); any other task goes to
 * the retry queue.
 */
export const requeue = (state: EngineState, task: Task, now: number): void => {
  const first = task.concurrencySlots[0]
  if (first === undefined) {
    enqueue(state, task, now, retryPriority)
    return
  }
  setTaskState(state, task, awaitingSlot)
  dropSlots(state, task, 1, now)
  first.filled = false
  first.generation++
  armScheduleTimeout(state, first, now)
  touch(state, first.strategy, now)
}

/** Releases the slots of a task that became final. */
export const releaseSlots = (state: EngineState, task: Task, now: number): void => dropSlots(state, task, 0, now)

/**
 * A retry waiting for its backoff gives its slots up (upstream releases the attempt's slots and
 * inserts a new one, last in line, when the retry item fires); returns whether it held any (the
 * retry then acquires new ones with the task's `concurrencyKeys`).
 */
export const releaseForBackoff = (state: EngineState, task: Task, now: number): boolean => {
  if (task.concurrencySlots.length === 0 || task.concurrencyKeys === undefined) return false
  releaseSlots(state, task, now)
  releaseRunSlots(state, task.run, now)
  return true
}

/**
 * Releases a run's slots once no task of the run holds a slot and, for each workflow strategy,
 * at least as many tasks exist as the strategy has steps (`cleanup_workflow_concurrency_slots`).
 */
export const releaseRunSlots = (state: EngineState, run: Run, now: number): void => {
  if (run.concurrencySlots.size === 0) return
  for (const task of run.tasks.values()) {
    if (task.concurrencySlots.length > 0) return
  }
  for (const [parent, runSlot] of [...run.concurrencySlots]) {
    if (run.tasks.size < parent.children.length) continue
    writable(run.concurrencySlots).delete(parent)
    const index = parent.slots.indexOf(runSlot)
    if (index >= 0) parent.slots.splice(index, 1)
    touch(state, parent, now)
  }
}

const armScheduleTimeout = (state: EngineState, slot: ConcurrencySlot, now: number) =>
  state.timers.set({
    kind: "SlotScheduleTimeout",
    id: slot.task.externalId,
    index: slot.index,
    token: slot.sortId,
    generation: slot.generation,
    at: now + slot.task.step.scheduleTimeoutMs
  })

/**
 * Whether the schedule timeout `timer` still applies to `task`: the same slot, not reset since,
 * still unfilled (its task is then cancelled, `tasks.ts`).
 */
export const slotTimedOut = (task: Task, timer: Extract<Timer, { kind: "SlotScheduleTimeout" }>): boolean => {
  const slot = task.concurrencySlots[timer.index]
  if (slot === undefined || slot.sortId !== timer.token || slot.generation !== timer.generation) return false
  return !slot.filled && !isFinal(task)
}

// -----------------------------------------------------------------------------
// strategy passes
// -----------------------------------------------------------------------------

/**
 * Runs `strategy` (for a workflow-level child: its parent, then all the parent's children), then
 * every strategy its decisions touched in turn, until none is left. Nested calls only mark.
 */
const touch = (state: EngineState, strategy: StepConcurrency | WorkflowConcurrency, now: number): void => {
  const unit = "parent" in strategy && strategy.parent !== undefined ? strategy.parent : strategy
  state.concurrencyDirty.add(unit)
  if (state.concurrencyDraining) return
  state.concurrencyDraining = true
  try {
    while (state.concurrencyDirty.size > 0) {
      const next = state.concurrencyDirty.values().next().value!
      state.concurrencyDirty.delete(next)
      if ("children" in next) runWorkflowStrategy(state, next, now)
      else runStepStrategy(state, next, now)
    }
  } finally {
    state.concurrencyDraining = false
  }
}

const byKey = <S extends { readonly key: string }>(slots: ReadonlyArray<S>): Array<Array<S>> => {
  const groups = new Map<string, Array<S>>()
  for (const slot of slots) {
    const group = groups.get(slot.key)
    if (group === undefined) groups.set(slot.key, [slot])
    else group.push(slot)
  }
  return [...groups.values()]
}

const limit = (maxRuns: number) => Math.max(0, maxRuns)

/** A key's limit: the value its newest task evaluated, or the strategy's `max_runs`. */
const limitOf = (strategy: StepConcurrency, key: string) => limit(strategy.observedMaxRuns.get(key)?.maxRuns ?? strategy.settings.maxRuns)

/** Forgets the evaluated limits of keys that hold no slot any more. */
const forgetIdleKeys = (strategy: StepConcurrency, groups: ReadonlyArray<ReadonlyArray<ConcurrencySlot>>) => {
  if (strategy.observedMaxRuns.size === 0) return
  const live = new Set(groups.map((slots) => slots[0]!.key))
  for (const key of strategy.observedMaxRuns.keys()) {
    if (!live.has(key)) strategy.observedMaxRuns.delete(key)
  }
}

const isCancelQueued = (strategy: LimitStrategy) => strategy === "CANCEL_QUEUED_EXCEPT_NEWEST" || strategy === "CANCEL_QUEUED_EXCEPT_OLDEST"

/**
 * CANCEL_QUEUED_EXCEPT_NEWEST / _OLDEST over one key's slots in creation order: the oldest waiting
 * fill the free capacity; of the rest, the newest (or oldest) `max` keep waiting, the others go.
 */
const cancelQueued = <S extends { readonly filled: boolean }>(strategy: LimitStrategy, slots: ReadonlyArray<S>, max: number) => {
  const waiting = slots.filter((slot) => !slot.filled)
  const free = Math.max(0, max - (slots.length - waiting.length))
  const toFill = waiting.slice(0, free)
  const rest = waiting.slice(free)
  const toCancel = strategy === "CANCEL_QUEUED_EXCEPT_NEWEST" ? rest.slice(0, Math.max(0, rest.length - max)) : rest.slice(max)
  return { toFill, toCancel }
}

/**
 * Fills `slot` if it is still live: the task moves on to its step's next strategy, or after the
 * last one to the worker queue at its run's priority.
 */
const fill = (state: EngineState, slot: ConcurrencySlot, now: number) => {
  const task = slot.task
  if (!isLive(slot) || slot.filled || isFinal(task)) return
  slot.filled = true
  if (slot.index + 1 < task.step.concurrency.length) insertSlot(state, task, slot.index + 1, now)
  else enqueue(state, task, now, task.priority)
}

/** Decides to cancel the task of `slot` (`tasks.ts` does it, if the slot is still live then). */
const cancel = (state: EngineState, slot: ConcurrencySlot) => {
  if (isLive(slot) && !isFinal(slot.task)) state.strategyCancels.push(slot)
}

/** The decisions of a cancel strategy over one key's slots (in creation order). */
const rankForCancel = (strategy: StepConcurrency, slots: ReadonlyArray<ConcurrencySlot>) => {
  const ranked = strategy.settings.limitStrategy === "CANCEL_IN_PROGRESS" ? [...slots].reverse() : [...slots]
  const keep = ranked.slice(0, limitOf(strategy, slots[0]!.key))
  return { keep, drop: ranked.slice(keep.length) }
}

/**
 * A task-level strategy, or a workflow-level child after its parent's pass (`dropped`: the run
 * slots the parent's CANCEL_QUEUED_EXCEPT_* pass gave up).
 */
const runStepStrategy = (
  state: EngineState,
  strategy: StepConcurrency,
  now: number,
  dropped: ReadonlySet<RunSlot> = new Set()
) => {
  const toFill: Array<ConcurrencySlot> = []
  const toCancel: Array<ConcurrencySlot> = []
  const parent = strategy.parent
  const kind = strategy.settings.limitStrategy
  if (parent === undefined) {
    const groups = byKey(strategy.slots)
    forgetIdleKeys(strategy, groups)
    for (const slots of groups) {
      if (kind === "GROUP_ROUND_ROBIN") {
        for (const slot of slots.slice(0, limitOf(strategy, slots[0]!.key))) toFill.push(slot)
      } else if (isCancelQueued(kind)) {
        const decided = cancelQueued(kind, slots, limitOf(strategy, slots[0]!.key))
        for (const slot of decided.toFill) toFill.push(slot)
        for (const slot of decided.toCancel) toCancel.push(slot)
      } else {
        const { drop, keep } = rankForCancel(strategy, slots)
        for (const slot of keep) toFill.push(slot)
        for (const slot of drop) toCancel.push(slot)
      }
    }
  } else {
    const eligible = strategy.slots.filter((slot) => slot.task.run.concurrencySlots.get(parent)?.filled === true)
    if (kind === "GROUP_ROUND_ROBIN") {
      for (const slot of eligible) toFill.push(slot)
    } else if (isCancelQueued(kind)) {
      for (const slot of eligible) toFill.push(slot)
      for (const slot of strategy.slots) {
        const runSlot = slot.task.run.concurrencySlots.get(parent)
        if (runSlot !== undefined && dropped.has(runSlot)) toCancel.push(slot)
      }
    } else {
      for (const slots of byKey(eligible)) {
        for (const slot of rankForCancel(strategy, slots).keep) toFill.push(slot)
      }
      const kept = new Set(toFill)
      for (const slot of strategy.slots) if (!kept.has(slot)) toCancel.push(slot)
    }
  }
  for (const slot of toCancel) cancel(state, slot)
  for (const slot of toFill) fill(state, slot, now)
}

/**
 * Ranks the run slots of a workflow-level strategy (never unfilling one), then runs its children;
 * under CANCEL_QUEUED_EXCEPT_* the waiting runs past the kept depth are given up, and their
 * children cancel them.
 */
const runWorkflowStrategy = (state: EngineState, strategy: WorkflowConcurrency, now: number) => {
  const { limitStrategy, maxRuns } = strategy.settings
  const dropped = new Set<RunSlot>()
  for (const slots of byKey(strategy.slots)) {
    if (isCancelQueued(limitStrategy)) {
      const decided = cancelQueued(limitStrategy, slots, limit(maxRuns))
      for (const slot of decided.toFill) slot.filled = true
      for (const slot of decided.toCancel) dropped.add(slot)
      continue
    }
    const ranked = limitStrategy === "GROUP_ROUND_ROBIN"
      ? [...slots].sort((a, b) => b.priority - a.priority || a.sortId - b.sortId)
      : limitStrategy === "CANCEL_IN_PROGRESS"
      ? [...slots].reverse()
      : [...slots]
    for (const slot of ranked.slice(0, limit(maxRuns))) slot.filled = true
  }
  for (const child of strategy.children) runStepStrategy(state, child, now, dropped)
}

/**
 * Registers a tenant-scoped strategy again: its settings change in place (a key's evaluated
 * limits stay until its next task) and its slots are decided anew.
 */
export const updateSettings = (state: EngineState, strategy: StepConcurrency, settings: ConcurrencySettings, now: number) => {
  strategy.settings = settings
  touch(state, strategy, now)
}
