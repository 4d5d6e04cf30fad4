/**
 * Matches: how a DAG step's task comes to exist. When a DAG run is created, every step that does
 * not start at once gets a match, a set of conditions on events; the first event that satisfies
 * one of its actions decides how the task is created (`tasks.ts` creates it).
 *
 * - A condition is satisfied by the first event of its type and key (and, for a task's event, from
 *   its hint: that task) whose CEL expression (`condition` environment: `input`, `output`; ""
 *   holds) is true; a pushed event whose payload is not an object satisfies nothing (as upstream);
 *   a task that completed with an output that is not an object has an empty `output` (upstream
 *   drops that event, and the task's children are never created: a deliberate difference).
 * - Conditions sharing an or-group id are OR-ed; an action holds when every one of its groups
 *   holds. SKIP wins over CANCEL, over QUEUE, over CREATE_MATCH. A satisfied match is gone.
 * - A step with parents: per parent, QUEUE on its COMPLETED, SKIP on a COMPLETED whose output is
 *   `{"skipped": true}` (so it is skipped only when all its parents were), CANCEL on its FAILED
 *   or CANCELLED (one group for all parents: any of them cancels it); parent overrides replace the
 *   QUEUE or SKIP condition of their parent (any SKIP override drops every default SKIP) or add
 *   their CANCEL condition with the parent's FAILED and CANCELLED in its group. A step that also
 *   has sleep or user-event conditions gets CREATE_MATCH instead of QUEUE: once its parents are
 *   done a second match holds those conditions, whose sleeps start then.
 * - A root step with sleep or user-event conditions: one match of them, armed with the run.
 * - The on-failure step: QUEUE on any step's FAILED (one group), SKIP when each step COMPLETED
 *   or was CANCELLED.
 * - A sleep is a timer on the engine's `Clock` that emits `sleep-<n>`; a user event is any
 *   pushed event of that key (any scope), pushed after the match was armed.
 * - A durable task's wait is a match too (kind SIGNAL, `armSignal`): its sleeps and user events
 *   with the action CREATE, a user event's scope its hint (a condition with a scope is met only by
 *   events of that scope); when it holds, its log entry is satisfied (`durableLog.ts`). So is a
 *   child run it spawned (`armChildSignal`, upstream `TriggerPendingRunEntries`): per task of the
 *   child (its on-failure task aside), one or-group of its COMPLETED, FAILED and CANCELLED events
 *   (hint: the task), under the data key `output` for a single task, the step's readable id in a
 *   DAG; it holds once every task of the child is final.
 *
 * Upstream `pkg/repository/trigger.go` (`getParentInDAGGroupMatch`, `getParentOnFailureGroupMatches`),
 * `pkg/repository/match.go`, `sqlcv1/matches.sql` (`SaveSatisfiedMatchConditions`),
 * `pkg/repository/match_data.go`, `input.go` (`ToV1StepRunData`), `internal/cel/boolexpr.go`.
 *
 * @internal
 */
import * as Cel from "@effect-hatchet/shared/Cel"
import { touchRun } from "./changes.js"
import { parseDuration } from "./duration.js"
import type { JsonObject, JsonValue } from "./json.js"
import { isJsonObject, parseJson } from "./json.js"
import type {
  ConditionAction,
  DurableEntry,
  EngineState,
  Match,
  MatchAction,
  MatchCondition,
  MatchData,
  PushedEvent,
  Run,
  SignalMatch,
  Step,
  StepCondition,
  Task,
  TenantState
} from "./model.js"
import { taskIdOf, writable } from "./model.js"
import type { Timer } from "./timers.js"

/** An event that may satisfy conditions (upstream `CandidateEventMatch`). */
export interface CandidateEvent {
  readonly eventType: "INTERNAL" | "USER"
  readonly key: string
  /** For a task's event: the task's external id. */
  readonly hint: string | undefined
  /** What a condition it satisfies records. */
  readonly data: JsonValue
  /** The CEL variables; undefined when upstream cannot read the data (the event satisfies nothing). */
  readonly variables: Cel.CelBindings<"condition"> | undefined
}

/** What a satisfied match decides: its step's task's creation, or its durable wait's entry. */
export type Decision = TaskDecision | SignalDecision

/** What a satisfied trigger match decides for its step's task. */
export interface TaskDecision {
  readonly _tag: "Task"
  readonly run: Run
  readonly step: Step
  readonly action: ConditionAction
  /** The `triggers` of the task's payload (the second match's sleeps and events). */
  readonly triggerData: Record<string, JsonValue>
  /** The failures that queued it (the on-failure task's `step_run_errors`). */
  readonly stepRunErrors: Record<string, string> | undefined
}

/** A durable wait's match held: its entry (or legacy signal) is satisfied with `data` (`{"CREATE": {...}}`). */
export interface SignalDecision {
  readonly _tag: "Signal"
  readonly task: Task
  readonly entry: { readonly branchId: number; readonly nodeId: number } | undefined
  readonly signalKey: string
  readonly data: MatchData
}

// -----------------------------------------------------------------------------
// building matches
// -----------------------------------------------------------------------------

/** The expressions upstream generates. */
const always = "true"
const skippedOutput = "has(output.skipped) && output.skipped"

/** Or-group ids this engine generates (unique within a match, never a registered UUID). */
const groupIds = () => {
  let n = 0
  return () => `group-${++n}`
}

const internal = (
  key: "COMPLETED" | "FAILED" | "CANCELLED",
  hint: string,
  readableDataKey: string,
  expression: string,
  action: MatchAction,
  orGroupId: string
): MatchCondition => ({
  eventType: "INTERNAL",
  eventKey: key,
  hint,
  readableDataKey,
  expression,
  action,
  orGroupId,
  sleep: undefined,
  satisfied: false,
  data: undefined
})

/** A sleep condition: the internal event `sleep-<n>` its timer emits at `until`. */
const sleepCondition = (
  state: EngineState,
  fields: { readonly readableDataKey: string; readonly orGroupId: string; readonly action: MatchAction },
  sleepFor: string,
  until: number
): MatchCondition => ({
  eventType: "INTERNAL",
  eventKey: `sleep-${state.nextSleepId()}`,
  hint: undefined,
  ...fields,
  expression: always,
  sleep: { sleepFor, until },
  satisfied: false,
  data: undefined
})

/** A user-event condition; with a hint (a durable wait's scope), only events of that scope meet it. */
const userEventCondition = (
  fields: {
    readonly eventKey: string
    readonly hint: string | undefined
    readonly readableDataKey: string
    readonly expression: string
    readonly orGroupId: string
    readonly action: MatchAction
  }
): MatchCondition => ({ eventType: "USER", ...fields, sleep: undefined, satisfied: false, data: undefined })

/** The sleep and user-event conditions of a step, with their actions (a sleep starts `now`). */
const ownConditions = (state: EngineState, step: Step, now: number): Array<MatchCondition> => {
  const conditions: Array<MatchCondition> = []
  for (const condition of step.conditions) {
    if (condition.kind === "USER_EVENT") {
      conditions.push(userEventCondition({ ...condition, hint: undefined }))
    } else if (condition.kind === "SLEEP") {
      conditions.push(sleepCondition(state, condition, condition.sleepFor, now + (parseDuration(condition.sleepFor) ?? 0)))
    }
  }
  return conditions
}

/** `getParentInDAGGroupMatch`: the conditions a step waits on for one parent. */
const parentConditions = (
  step: Step,
  parent: string,
  hint: string,
  cancelGroup: string,
  group: () => string
): Array<MatchCondition> => {
  const overrides = step.conditions.filter(
    (c): c is Extract<StepCondition, { kind: "PARENT_OVERRIDE" }> => c.kind === "PARENT_OVERRIDE" && c.parent === parent
  )
  const ownConditionsToo = step.conditions.some((c) => c.kind !== "PARENT_OVERRIDE")
  const anySkippingOverride = step.conditions.some((c) => c.kind === "PARENT_OVERRIDE" && c.action === "SKIP")
  const complete: MatchAction = ownConditionsToo ? "CREATE_MATCH" : "QUEUE"
  const of = (action: ConditionAction) => overrides.filter((c) => c.action === action)
  const conditions: Array<MatchCondition> = []
  const queue = of("QUEUE")
  if (queue.length > 0) {
    for (const o of queue) conditions.push(internal("COMPLETED", hint, parent, expressionOf(o), complete, o.orGroupId))
  } else {
    // a skipped parent also satisfies this one: SKIP, which wins over QUEUE, decides
    conditions.push(internal("COMPLETED", hint, parent, always, complete, group()))
  }
  const skip = of("SKIP")
  if (skip.length > 0) {
    for (const o of skip) conditions.push(internal("COMPLETED", hint, parent, expressionOf(o), "SKIP", o.orGroupId))
  } else if (!anySkippingOverride) {
    conditions.push(internal("COMPLETED", hint, parent, skippedOutput, "SKIP", group()))
  }
  const cancel = of("CANCEL")
  if (cancel.length > 0) {
    for (const o of cancel) {
      conditions.push(
        internal("COMPLETED", hint, parent, expressionOf(o), "CANCEL", o.orGroupId),
        // the failure conditions always stay, in the override's group
        internal("FAILED", hint, parent, always, "CANCEL", o.orGroupId),
        internal("CANCELLED", hint, parent, always, "CANCEL", o.orGroupId)
      )
    }
  } else {
    conditions.push(
      internal("FAILED", hint, parent, always, "CANCEL", cancelGroup),
      internal("CANCELLED", hint, parent, always, "CANCEL", cancelGroup)
    )
  }
  return conditions
}

const expressionOf = (condition: { readonly expression: string }) => condition.expression

/** The conditions of a step's first match in `run`, or undefined when its task is created at once. */
const firstConditions = (state: EngineState, run: Run, step: Step, now: number): Array<MatchCondition> | undefined => {
  const group = groupIds()
  if (step.kind === "ON_FAILURE") {
    const failed = group()
    const conditions: Array<MatchCondition> = []
    for (const other of run.version.steps) {
      if (other === step) continue
      const hint = taskIdOf(run, other)
      const done = group()
      conditions.push(
        internal("FAILED", hint, other.readableId, always, "QUEUE", failed),
        internal("COMPLETED", hint, other.readableId, always, "SKIP", done),
        internal("CANCELLED", hint, other.readableId, always, "SKIP", done)
      )
    }
    return conditions
  }
  if (step.parents.length === 0) {
    // parent overrides of a root step are not conditions of anything: one with only those starts
    // at once (upstream arms a match without conditions, which never holds)
    const own = ownConditions(state, step, now)
    return own.length > 0 ? own : undefined
  }
  const cancelGroup = group()
  return step.parents.flatMap((parent) =>
    parentConditions(step, parent, taskIdOf(run, run.version.stepsByReadableId.get(parent)!), cancelGroup, group)
  )
}

/** The run a match belongs to (a durable wait's: its task's). */
const runOf = (match: Match | SignalMatch): Run => (match.kind === "TRIGGER" ? match.run : match.task.run)

/** Indexes a match's user events in its tenant, a child run's task events, and arms its sleeps. */
const index = (state: EngineState, match: Match | SignalMatch): void => {
  const run = runOf(match)
  touchRun(state, run)
  const tenant = state.tenants.get(run.tenantId)
  for (const condition of match.conditions) {
    if (match.kind === "SIGNAL" && condition.eventType === "INTERNAL" && condition.hint !== undefined) {
      let matches = state.childRunMatches.get(condition.hint)
      if (matches === undefined) {
        matches = new Set()
        state.childRunMatches.set(condition.hint, matches)
      }
      matches.add(match)
    }
    if (condition.eventType === "USER" && tenant !== undefined) {
      let matches = tenant.eventMatches.get(condition.eventKey)
      if (matches === undefined) {
        matches = new Set()
        tenant.eventMatches.set(condition.eventKey, matches)
      }
      matches.add(match)
    }
    if (condition.sleep !== undefined) {
      state.timers.set({ kind: "Sleep", id: condition.eventKey, runId: run.id, at: condition.sleep.until })
    }
  }
}

/** Removes a match from its indexes; its pending sleeps end. */
const unindex = (state: EngineState, match: Match | SignalMatch): void => {
  const run = runOf(match)
  touchRun(state, run)
  const tenant = state.tenants.get(run.tenantId)
  for (const condition of match.conditions) {
    if (match.kind === "SIGNAL" && condition.eventType === "INTERNAL" && condition.hint !== undefined) {
      const matches = state.childRunMatches.get(condition.hint)
      matches?.delete(match)
      if (matches?.size === 0) state.childRunMatches.delete(condition.hint)
    }
    if (condition.eventType === "USER") {
      const matches = tenant?.eventMatches.get(condition.eventKey)
      matches?.delete(match)
      if (matches?.size === 0) tenant!.eventMatches.delete(condition.eventKey)
    }
    if (condition.sleep !== undefined) state.timers.cancel("Sleep", condition.eventKey)
  }
}

/** Stores a match on its run, indexes its user events and arms its sleeps. */
const arm = (state: EngineState, match: Match): void => {
  match.run.matches = writable(match.run.matches).set(match.step.id, match)
  index(state, match)
}

/** Removes a match from its run and its indexes; its pending sleeps end. */
const disarm = (state: EngineState, match: Match | SignalMatch): void => {
  if (match.kind === "TRIGGER") {
    if (match.run.matches.get(match.step.id) === match) writable(match.run.matches).delete(match.step.id)
  } else if (isArmed(match)) {
    if (match.entry !== undefined) entryOf(match)!.match = undefined
    else match.task.signals.get(match.signalKey)!.match = undefined
  }
  unindex(state, match)
}

/** The log entry a durable wait's match satisfies. */
const entryOf = (match: SignalMatch): DurableEntry | undefined =>
  match.entry && match.task.durable?.entries.get(`${match.entry.branchId}:${match.entry.nodeId}`)

/** Whether a signal match is still the armed one of its entry or legacy signal. */
const isArmed = (match: SignalMatch): boolean =>
  (match.entry !== undefined ? entryOf(match)?.match : match.task.signals.get(match.signalKey)?.match) === match

/**
 * Arms the matches of a freshly created DAG run (every step that waits on something); returns the
 * steps whose tasks are created at once, in step order.
 */
export const armRun = (state: EngineState, run: Run, now: number): Array<Step> => {
  const startNow: Array<Step> = []
  for (const step of run.version.steps) {
    const conditions = firstConditions(state, run, step, now)
    if (conditions === undefined) startNow.push(step)
    else arm(state, { kind: "TRIGGER", run, step, conditions, existing: undefined })
  }
  return startNow
}

/**
 * Arms the matches of replayed steps again (replacing any pending one), then lets the final
 * events of the run's other tasks (not `replayed`) satisfy them, as upstream reconstructs the
 * conditions of a replayed subtree; returns what those events decided.
 */
export const rearm = (
  state: EngineState,
  run: Run,
  steps: ReadonlyArray<Step>,
  replayed: ReadonlySet<Task>,
  now: number
): Array<Decision> => {
  for (const step of steps) {
    const pending = run.matches.get(step.id)
    if (pending !== undefined) disarm(state, pending)
    const conditions = firstConditions(state, run, step, now)
    if (conditions !== undefined) arm(state, { kind: "TRIGGER", run, step, conditions, existing: undefined })
  }
  const decisions: Array<Decision> = []
  for (const task of [...run.tasks.values()]) {
    const event = replayed.has(task) ? undefined : taskEvent(task)
    if (event !== undefined) { for (const decision of deliver(state, run, event, now)) decisions.push(decision) }
  }
  return decisions
}

// -----------------------------------------------------------------------------
// events
// -----------------------------------------------------------------------------

const emptyObject: JsonObject = {}

/** The variables of a condition on data that Go reads as a map: null is an empty one, a non-object none. */
const asMap = (value: JsonValue | undefined): JsonObject | undefined =>
  value === undefined || value === null ? emptyObject : isJsonObject(value) ? value : undefined

/** The internal event of a final task (`TaskOutputEvent`), or undefined while it is not final. */
export const taskEvent = (task: Task): CandidateEvent | undefined => {
  const base = { task_external_id: task.externalId, step_readable_id: task.step.readableId, retry_count: task.retryCount }
  switch (task.state._tag) {
    case "Completed": {
      const output = parseJson(task.state.output)
      const workerId = task.state.completedBy ?? (task.state.skipped ? task.desiredWorkerId : undefined)
      const data: JsonObject = { ...base, event_type: "COMPLETED", is_failure: false, worker_id: workerId ?? null, output: output ?? null }
      // deliberate difference: upstream drops a COMPLETED event whose output is not an object (an
      // array, a string), so the children of such a task are never created and the run never
      // ends; here its `output` is empty: the default conditions hold, an expression on it does not
      return { eventType: "INTERNAL", key: "COMPLETED", hint: task.externalId, data, variables: { input: {}, output: asMap(output) ?? {} } }
    }
    case "Failed": {
      const data: JsonObject = { ...base, event_type: "FAILED", is_failure: true, error_message: task.state.error }
      return { eventType: "INTERNAL", key: "FAILED", hint: task.externalId, data, variables: { input: data, output: {} } }
    }
    case "Cancelled": {
      const data: JsonObject = { ...base, event_type: "CANCELLED", is_failure: false, error_message: "" }
      return { eventType: "INTERNAL", key: "CANCELLED", hint: task.externalId, data, variables: { input: data, output: {} } }
    }
    default:
      return undefined
  }
}

/** A pushed event as a candidate: its payload is `input`, its scope the hint. */
export const userEvent = (event: Pick<PushedEvent, "key" | "payload" | "scope">): CandidateEvent => {
  const data = event.payload === "" ? null : parseJson(event.payload) ?? null
  const map = asMap(data)
  const hint = event.scope !== undefined && event.scope !== "" ? event.scope : undefined
  return { eventType: "USER", key: event.key, hint, data, variables: map && { input: map, output: {} } }
}

/** Compiled condition expressions (upstream caches them too); "" is "true". */
const programs = new Map<string, Cel.CelProgram<"condition"> | undefined>()

const programOf = (expression: string): Cel.CelProgram<"condition"> | undefined => {
  if (programs.has(expression)) return programs.get(expression)
  const compiled = Cel.compile("condition", expression === "" ? always : expression)
  const program = compiled._tag === "Ok" ? compiled.program : undefined
  if (programs.size >= 10_000) programs.clear()
  programs.set(expression, program)
  return program
}

/** Whether `condition` is satisfied by `event` (an expression that fails, or is not a bool, does not hold). */
const satisfies = (condition: MatchCondition, event: CandidateEvent): boolean => {
  if (condition.satisfied || condition.eventType !== event.eventType || condition.eventKey !== event.key) return false
  if (condition.hint !== undefined ? condition.hint !== event.hint : event.eventType !== "USER" && event.hint !== undefined) {
    return false
  }
  if (event.variables === undefined) return false
  const program = programOf(condition.expression)
  if (program === undefined) return false
  const result = Cel.evaluate(program, event.variables)
  return result._tag === "Value" && result.value === true
}

const precedence: ReadonlyArray<MatchAction> = ["SKIP", "CANCEL", "CREATE", "QUEUE", "CREATE_MATCH"]

/** The action whose groups all hold, by precedence (`SaveSatisfiedMatchConditions`). */
const satisfiedAction = (conditions: ReadonlyArray<MatchCondition>): MatchAction | undefined => {
  for (const action of precedence) {
    const groups = new Set<string>()
    const satisfied = new Set<string>()
    for (const condition of conditions) {
      if (condition.action !== action) continue
      groups.add(condition.orGroupId)
      if (condition.satisfied) satisfied.add(condition.orGroupId)
    }
    if (groups.size > 0 && groups.size === satisfied.size) return action
  }
  return undefined
}

/** The data of the satisfied conditions of `action`, by readable data key. */
const dataOf = (conditions: ReadonlyArray<MatchCondition>, action: MatchAction): Record<string, Array<JsonValue>> => {
  const data: Record<string, Array<JsonValue>> = {}
  for (const condition of conditions) {
    if (condition.action !== action || !condition.satisfied) continue
    ;(data[condition.readableDataKey] ??= []).push(condition.data ?? null)
  }
  return data
}

/**
 * `NewMatchData` and `ToV1StepRunData`: with data carried over from a CREATE_MATCH, the parents'
 * events are that data and the winning action's are the triggers (each key's first object, else
 * null); without, the winning action's data are the parents' events and there are no triggers.
 */
const decide = (match: Match, action: ConditionAction, data: MatchData): TaskDecision => {
  const carried = data.CREATE_MATCH
  const dataKeys = carried ?? data[action] ?? {}
  const triggerData: Record<string, JsonValue> = {}
  if (carried !== undefined) {
    for (const [key, values] of Object.entries(data[action] ?? {})) triggerData[key] = values.find(isJsonObject) ?? null
  }
  let stepRunErrors: Record<string, string> | undefined
  for (const [key, values] of Object.entries(dataKeys)) {
    const event = values[0]
    if (isJsonObject(event) && event.event_type === "FAILED") {
      stepRunErrors ??= {}
      stepRunErrors[key] = typeof event.error_message === "string" ? event.error_message : ""
    }
  }
  return { _tag: "Task", run: match.run, step: match.step, action, triggerData, stepRunErrors }
}

/** Settles a match whose conditions changed: nothing yet, a second match, or a decision. */
const settle = (state: EngineState, match: Match | SignalMatch, now: number): Decision | undefined => {
  const action = satisfiedAction(match.conditions)
  if (action === undefined) return undefined
  disarm(state, match)
  if (match.kind === "SIGNAL") {
    const data: MatchData = { [action]: dataOf(match.conditions, action) }
    return { _tag: "Signal", task: match.task, entry: match.entry, signalKey: match.signalKey, data }
  }
  const data: MatchData = { ...match.existing, [action]: dataOf(match.conditions, action) }
  if (action === "CREATE") return undefined // a trigger match has no CREATE condition
  if (action !== "CREATE_MATCH") return decide(match, action, data)
  arm(state, {
    kind: "TRIGGER",
    run: match.run,
    step: match.step,
    conditions: ownConditions(state, match.step, now),
    existing: data
  })
  return undefined
}

/** Lets `event` satisfy the conditions of `matches`; returns what the satisfied ones decided. */
const offer = (
  state: EngineState,
  matches: Iterable<Match | SignalMatch>,
  event: CandidateEvent,
  now: number
): Array<Decision> => {
  const decisions: Array<Decision> = []
  for (const match of [...matches]) {
    let changed = false
    for (const condition of match.conditions) {
      if (!satisfies(condition, event)) continue
      condition.satisfied = true
      condition.data = event.data
      changed = true
    }
    if (!changed) continue
    touchRun(state, runOf(match))
    const decision = settle(state, match, now)
    if (decision !== undefined) decisions.push(decision)
  }
  return decisions
}

/** A task's or a sleep's event, for the run's matches. */
export const deliver = (state: EngineState, run: Run, event: CandidateEvent, now: number): Array<Decision> =>
  run.matches.size === 0 ? [] : offer(state, run.matches.values(), event, now)

/** A pushed event, for every match of the tenant waiting on its key (durable waits included). */
export const deliverUserEvent = (state: EngineState, tenant: TenantState, event: PushedEvent, now: number): Array<Decision> => {
  const matches = tenant.eventMatches.get(event.key)
  return matches === undefined ? [] : offer(state, matches, userEvent(event), now)
}

/**
 * A task's final event, for the durable RUN entries waiting on the child run it belongs to
 * (`armChildSignal`).
 */
export const deliverToParents = (state: EngineState, task: Task, now: number): Array<Decision> => {
  const matches = state.childRunMatches.get(task.externalId)
  const event = matches === undefined ? undefined : taskEvent(task)
  return event === undefined ? [] : offer(state, matches!, event, now)
}

/** The waits of a run's durable tasks that are still armed, and their legacy signals'. */
const signalMatchesOf = function*(run: Run): Generator<SignalMatch> {
  for (const task of run.tasks.values()) {
    for (const entry of task.durable?.entries.values() ?? []) if (entry.match !== undefined) yield entry.match
    for (const signal of task.signals.values()) if (signal.match !== undefined) yield signal.match
  }
}

/**
 * A sleep of a run's match (a step's, or a durable wait's of one of its tasks) ended: its
 * `sleep-<n>` event (`{"sleep_duration": ...}`).
 */
export const onSleep = (state: EngineState, timer: Extract<Timer, { kind: "Sleep" }>, now: number): Array<Decision> => {
  const run = state.runsById.get(timer.runId)
  if (run === undefined) return []
  for (const match of [...run.matches.values(), ...signalMatchesOf(run)]) {
    const condition = match.conditions.find((c) => c.eventKey === timer.id && c.sleep !== undefined)
    if (condition === undefined) continue
    const data: JsonObject = { sleep_duration: condition.sleep!.sleepFor }
    const event: CandidateEvent = { eventType: "INTERNAL", key: timer.id, hint: undefined, data, variables: { input: data, output: {} } }
    return offer(state, [match], event, now)
  }
  return []
}

// -----------------------------------------------------------------------------
// durable waits (SIGNAL matches)
// -----------------------------------------------------------------------------

/** A condition of a durable wait, as `wait_for` asks for it. */
export type SignalCondition =
  | {
    readonly _tag: "Sleep"
    readonly orGroupId: string
    readonly readableDataKey: string
    /** As given ("10s"); the data of the condition when it holds. */
    readonly sleepFor: string
    readonly until: number
  }
  | {
    readonly _tag: "UserEvent"
    readonly orGroupId: string
    readonly readableDataKey: string
    readonly eventKey: string
    /** Only events of this scope meet it (none: any scope). */
    readonly scope: string | undefined
    readonly expression: string
  }

/** The signal key upstream gives a durable wait's match (`getDurableTaskSignalKey`). */
const durableSignalKey = (task: Task, nodeId: number) => `durable:${task.externalId}:${nodeId}`

/**
 * Arms the match of a durable task's new wait at `entry`, or (no entry) of a legacy signal
 * `signalKey` (upstream `registerSignalMatchConditions`): its sleeps start now, its user events
 * wait for events pushed from now on.
 */
export const armSignal = (
  state: EngineState,
  task: Task,
  target: { readonly entry: DurableEntry } | { readonly signalKey: string },
  conditions: ReadonlyArray<SignalCondition>
): SignalMatch => {
  const entry = "entry" in target ? target.entry : undefined
  const match: SignalMatch = {
    kind: "SIGNAL",
    task,
    entry: entry && { branchId: entry.branchId, nodeId: entry.nodeId },
    signalKey: "signalKey" in target ? target.signalKey : durableSignalKey(task, entry!.nodeId),
    conditions: conditions.map((c) =>
      c._tag === "Sleep"
        ? sleepCondition(state, { readableDataKey: c.readableDataKey, orGroupId: c.orGroupId, action: "CREATE" }, c.sleepFor, c.until)
        : userEventCondition({
          eventKey: c.eventKey,
          hint: c.scope !== undefined && c.scope !== "" ? c.scope : undefined,
          readableDataKey: c.readableDataKey,
          expression: c.expression,
          orGroupId: c.orGroupId,
          action: "CREATE"
        })
    )
  }
  if (entry !== undefined) entry.match = match
  else {
    const previous = task.signals.get(match.signalKey)?.match
    if (previous !== undefined) disarm(state, previous)
    task.signals = writable(task.signals).set(match.signalKey, { match, completed: undefined })
  }
  index(state, match)
  return match
}

/**
 * Arms the match of a durable task's RUN entry on the child run it spawned (upstream
 * `TriggerPendingRunEntries`, signal key `durable_run:<task>:<branch>:<node>`): per task of the
 * child but its on-failure task, an or-group of the task's COMPLETED, FAILED and CANCELLED events
 * with the action CREATE. Tasks of the child already final (created failed or cancelled) meet it
 * at once; returns what that decided.
 */
export const armChildSignal = (state: EngineState, task: Task, entry: DurableEntry, child: Run, now: number): Array<Decision> => {
  const conditions: Array<MatchCondition> = []
  for (const step of child.version.steps) {
    if (step.kind === "ON_FAILURE") continue
    const hint = taskIdOf(child, step)
    const key = child.isDag ? step.readableId : "output"
    for (const event of ["COMPLETED", "FAILED", "CANCELLED"] as const) {
      conditions.push(internal(event, hint, key, always, "CREATE", `child-${hint}`))
    }
  }
  const match: SignalMatch = {
    kind: "SIGNAL",
    task,
    entry: { branchId: entry.branchId, nodeId: entry.nodeId },
    signalKey: `durable_run:${task.externalId}:${entry.branchId}:${entry.nodeId}`,
    conditions
  }
  entry.match = match
  index(state, match)
  const decisions: Array<Decision> = []
  for (const childTask of child.tasks.values()) {
    const event = taskEvent(childTask)
    if (event !== undefined && isArmed(match)) { for (const decision of offer(state, [match], event, now)) decisions.push(decision) }
  }
  return decisions
}

/** Disarms a durable wait's match (its entry satisfied otherwise, or its task final). */
export const disarmSignal = (state: EngineState, match: SignalMatch): void => disarm(state, match)

/**
 * Offers events pushed before a wait began to its match alone, newest first (upstream
 * `handleEventLookback`): what `lookBack` found.
 */
export const offerPastEvents = (
  state: EngineState,
  match: SignalMatch,
  events: ReadonlyArray<PushedEvent>,
  now: number
): Array<Decision> => {
  const decisions: Array<Decision> = []
  for (const event of [...events].sort((a, b) => b.createdAt - a.createdAt)) {
    if (!isArmed(match)) break
    for (const decision of offer(state, [match], userEvent(event), now)) decisions.push(decision)
  }
  return decisions
}

/**
 * Whether a pushed event meets a durable wait's user-event condition on its own: its key, its
 * scope (none: any), its expression ("" holds) on the payload, as `offer` decides it. For test
 * doubles that stand in for the engine.
 */
export const userEventMeets = (
  condition: { readonly eventKey: string; readonly scope: string | undefined; readonly expression: string },
  event: Pick<PushedEvent, "key" | "payload" | "scope">
): boolean =>
  satisfies(
    userEventCondition({
      eventKey: condition.eventKey,
      hint: condition.scope !== undefined && condition.scope !== "" ? condition.scope : undefined,
      readableDataKey: "",
      expression: condition.expression,
      orGroupId: "",
      action: "CREATE"
    }),
    userEvent(event)
  )
