/**
 * `TaskTest`'s durable context: the SDK's own `DurableContext` (`TaskExecution.makeDurableContext`,
 * the code a worker runs) over an in-process durable log that stands in for the engine, so every
 * call is encoded, answered and decoded exactly as on a worker.
 *
 * The log holds one entry per node, as the engine's does: each durable call of an invocation takes
 * the next node (from 1 again in every invocation). At a node the log already holds, the call must
 * be the recorded one (the same kind and idempotency key, the engine's `DurableCalls`) and is
 * answered from the log: a memo's value, a wait's data, a child's result, nothing run, armed or
 * spawned again; a different call fails with the SDK's `NonDeterminismError` carrying the engine's
 * message. At a new node:
 *
 * - a memo is answered from the seeded memos (`DurableOptions.memo`, by key) or runs, and its
 *   encoded result is written back;
 * - a wait's wire conditions are armed as the engine arms them: its sleeps on the Effect `Clock`
 *   (so `TestClock.adjust` ends them), its user events met by the events the test supplies, by
 *   key, scope and CEL expression (the engine's own evaluator, `@effect-hatchet/engine`'s
 *   `Conditions`); conditions sharing an or-group are OR-ed, groups AND-ed, and the wait's data is
 *   the engine's `{"CREATE": {<data key>: [<data>]}}`;
 * - a child run is run by `TaskTest` itself (its implementation from the context), its output or
 *   failure text handed back as the engine would; a child spawned before under the same spawn key
 *   (child index or key) is answered from its entry.
 *
 * Eviction, as the worker and the engine do it: an invocation that has waited the task's
 * `evictAfter` for an entry (on the `Clock`) is interrupted, and restored as the next invocation,
 * which replays the log, once an entry is satisfied (at once if the last one already is). The waits
 * and children it armed go on meanwhile. A run may also replay the log of an earlier run
 * (`DurableOptions.replayOf`), as its next invocation.
 *
 * Events: those given up front, then those taken from the test's queue, each delivered to every
 * wait it meets that is armed when it arrives; an event no wait meets yet is kept for the next
 * wait it meets (the engine would drop it unless the wait looks back: a test need not race the
 * task to the wait). `lookback` therefore changes nothing here.
 *
 * @internal
 */
import { Conditions, DurableCalls } from "@effect-hatchet/engine"
import type { DurableEventListenerConditions } from "@effect-hatchet/proto/v1/shared/condition"
import type { DurableContextShape } from "@effect-hatchet/sdk/DurableContext"
import { DurableTaskError, NonDeterminismError } from "@effect-hatchet/sdk/DurableContext"
import type { TaskContextShape } from "@effect-hatchet/sdk/TaskContext"
import * as TaskExecution from "@effect-hatchet/sdk/TaskExecution"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import { implementation } from "@effect-hatchet/sdk/Workflow"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/**
 * An event the test supplies to the task's waits (as if pushed with `Hatchet.push`).
 */
export interface DurableEvent {
  readonly key: string
  /** The payload, as JSON (what `Hatchet.push` sends once encoded). */
  readonly payload: unknown
  readonly scope?: string | undefined
}

/** How a durable task runs under `TaskTest`. */
export interface DurableOptions {
  /** Events that arrive while the task waits, in order. */
  readonly events?: ReadonlyArray<DurableEvent> | undefined
  /** Events pushed while the task runs: the test offers them to this queue (e.g. mid-wait). */
  readonly eventQueue?: Queue.Dequeue<DurableEvent> | undefined
  /**
   * The memo log of an earlier invocation, by memo key: each value as the log holds it (encoded
   * with the memo's Schema, as JSON). The first memo call of a key found here, at a node the log
   * does not hold, decodes it instead of running (a replay); a later call of the same key runs.
   */
  readonly memo?: Readonly<Record<string, unknown>> | undefined
  /** `DurableContext.invocationCount` of the first invocation. Default 1 (with `replayOf`, the next one). */
  readonly invocationCount?: number | undefined
  /**
   * The durable record of an earlier run of the same task (`run.durable`): this run is its next
   * invocation and replays its whole log (memos, waits with their data, children with their
   * results), as the engine replays a task that runs again. A call that differs from the recorded
   * one at a node fails with `NonDeterminismError`. The task run id is the earlier run's unless
   * given.
   */
  readonly replayOf?: DurableRecord | undefined
  /**
   * How long an invocation waits for the engine before it is evicted, in place of the task's
   * `evictAfter`: e.g. `"0 seconds"` evicts it at every wait the log does not answer at once, so
   * that every wait restores it and it replays all that came before.
   */
  readonly evictAfter?: Duration.DurationInput | "never" | undefined
}

/** One entry of the durable log, by node. */
export type DurableEntry =
  | {
    readonly _tag: "Memo"
    readonly nodeId: number
    readonly key: string
    /** The last invocation that reached it had it from the log (recorded earlier, or seeded): not run. */
    readonly replayed: boolean
  }
  | {
    readonly _tag: "Wait"
    readonly nodeId: number
    /** The sleep conditions' Go durations (`sleep_for`). */
    readonly sleeps: ReadonlyArray<string>
    readonly events: ReadonlyArray<{ readonly key: string; readonly scope: string | undefined; readonly expression: string }>
    /** The `Clock` time the wait began, in milliseconds. */
    readonly startedAt: number
    /** When it ended; `undefined` if it never did. */
    readonly endedAt: number | undefined
    /** The data of the conditions that held, by data key (what `waitFor` returns). */
    readonly data: Readonly<Record<string, unknown>> | undefined
    /** The last invocation that reached it had it from the log: not armed again. */
    readonly replayed: boolean
  }
  | {
    readonly _tag: "Child"
    readonly nodeId: number
    /** The child's declared name. */
    readonly name: string
    /** Its input, as sent (Schema-encoded JSON). */
    readonly input: unknown
    readonly runId: string
    /** The child's own test run, once it ended. */
    readonly run: unknown
    /** The last invocation that reached it had it from the log: not spawned again. */
    readonly replayed: boolean
  }

/** One invocation of the handler in a run. */
export interface DurableInvocation {
  /** `DurableContext.invocationCount`. */
  readonly invocationCount: number
  /** The `Clock` time it began and ended, in milliseconds. */
  readonly startedAt: number
  readonly endedAt: number | undefined
  /** It waited the task's `evictAfter` and was evicted (then restored as the next invocation). */
  readonly evicted: boolean
}

/** What the durable context did during one run. */
export interface DurableRecord {
  /** The last invocation's count (the one whose outcome the run has). */
  readonly invocationCount: number
  /** This run's invocations, in order: one, plus one for each eviction. */
  readonly invocations: ReadonlyArray<DurableInvocation>
  /** The log, by node (those of a replayed run included). */
  readonly entries: ReadonlyArray<DurableEntry>
  /** The memo keys whose effect ran (and was recorded) in this run, in order; replayed memos are not here. */
  readonly memoRan: ReadonlyArray<string>
  /**
   * The memo log at the end, by key, encoded: the first value of each key (seeded or run). Given
   * as `memo` to a later run, it replays those memos.
   */
  readonly memoLog: Readonly<Record<string, unknown>>
  /** The first durable call that differed from the log (as the handler got it), if any. */
  readonly nonDeterminism: NonDeterminismError | undefined
}

/** Runs one child under `TaskTest`: its outcome and its own test run. */
export type RunChild = (
  definition: Workflow.Definition,
  taskName: string,
  request: {
    readonly runId: string
    readonly input: unknown
    readonly additionalMetadata: Readonly<Record<string, unknown>> | undefined
    readonly priority: number | undefined
    readonly childIndex: number | undefined
    readonly childKey: string | undefined
    readonly durable: DurableOptions
  }
) => Effect.Effect<{ readonly outcome: TaskExecution.Outcome; readonly run: unknown }, never, any>

// -----------------------------------------------------------------------------
// events
// -----------------------------------------------------------------------------

interface ArmedWait {
  /** Offers an event; whether it met one of the wait's conditions. */
  readonly offer: (event: DurableEvent) => boolean
}

/** The events of a test: kept until a wait meets them, shared by a task and its children. */
export interface EventHub {
  readonly arm: (wait: ArmedWait) => void
  readonly disarm: (wait: ArmedWait) => void
  readonly push: (event: DurableEvent) => void
}

/** The hub of `options`' events; the queue is read for as long as the scope lives. */
export const makeEventHub = (options: DurableOptions): Effect.Effect<EventHub, never, Scope.Scope> =>
  Effect.gen(function*() {
    const kept: Array<DurableEvent> = [...(options.events ?? [])]
    const armed = new Set<ArmedWait>()
    const hub: EventHub = {
      arm: (wait) => {
        armed.add(wait)
        for (let i = 0; i < kept.length; i++) {
          if (wait.offer(kept[i]!)) kept.splice(i--, 1)
          if (!armed.has(wait)) return
        }
      },
      disarm: (wait) => void armed.delete(wait),
      push: (event) => {
        let met = false
        for (const wait of [...armed]) met = wait.offer(event) || met
        if (!met) kept.push(event)
      }
    }
    if (options.eventQueue !== undefined) {
      yield* Queue.take(options.eventQueue).pipe(
        Effect.tap((event) => Effect.sync(() => hub.push(event))),
        Effect.forever,
        Effect.forkScoped
      )
    }
    return hub
  })

// -----------------------------------------------------------------------------
// the log
// -----------------------------------------------------------------------------

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A child's trigger, kept to run it again when a replayed log holds it unfinished. */
interface ChildStart {
  readonly definition: Workflow.Definition
  /** Its declared name. */
  readonly name: string
  readonly taskName: string
  readonly kind: "workflow" | "task"
  readonly request: Parameters<RunChild>[2]
}

/** One node of the log: the call recorded there, its entry, and its result once it has one. */
interface LogNode {
  readonly call: DurableCalls.DurableCall
  readonly entry: Mutable<DurableEntry>
  /** A memo's encoded value, once known. */
  payload: Uint8Array | undefined
  /** A wait's or child's completion, once satisfied. */
  completion: TaskExecution.DurableCompletion | undefined
  /** Who waits for the completion in this run. */
  done: Deferred.Deferred<TaskExecution.DurableCompletion> | undefined
  readonly conditions?: DurableEventListenerConditions | undefined
  readonly child?: ChildStart | undefined
}

/** The log a record was made from, to replay it (`replayOf`). */
interface LogSnapshot {
  readonly taskRunExternalId: string
  readonly nodes: ReadonlyArray<LogNode>
  readonly spawned: ReadonlyMap<string, number>
}

const snapshots = new WeakMap<DurableRecord, LogSnapshot>()

/** The task run id of the run `record` came from (its memo keys are hashed with it). */
export const replayedTaskRunId = (record: DurableRecord | undefined): string | undefined =>
  record === undefined ? undefined : snapshots.get(record)?.taskRunExternalId

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const engineError = (message: string) => new DurableTaskError({ reason: "Engine", message })

/** What an awaited entry ends with when its invocation was evicted instead. */
const EVICTED: unique symbol = Symbol("evicted")

/** The durable log of one test run of a durable task, across its invocations. */
export interface TestLog {
  /** Begins the next invocation (node ids from 1 again): its `DurableContext`. */
  readonly begin: (taskContext: TaskContextShape) => Effect.Effect<DurableContextShape>
  /**
   * Ends the invocation: false when it ended by itself; true when it was evicted, once it is
   * restored (an entry satisfied), the next invocation to begin.
   */
  readonly end: Effect.Effect<boolean>
  readonly record: () => DurableRecord
}

/**
 * The durable log of one test run of a durable task. The waits' sleeps and the children run in
 * `scope`'s fibers (they outlive an evicted invocation); `runChild` runs a child with `TaskTest`.
 */
export const make = (options: {
  readonly taskRunExternalId: string
  readonly durable: DurableOptions
  readonly hub: EventHub
  readonly runChild: RunChild
  /** How long an invocation of the task waits for an entry before it is evicted (none: never). */
  readonly evictAfter: Duration.Duration | undefined
}): Effect.Effect<TestLog, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { hub } = options
    const given = options.durable.evictAfter
    const evictAfter = given === undefined ? options.evictAfter : given === "never" ? undefined : Duration.decode(given)
    const taskId = options.taskRunExternalId
    // children run with the services the test gave (their implementations among them)
    const services = yield* Effect.context<never>()
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock

    const replayOf = options.durable.replayOf
    const previous = replayOf === undefined ? undefined : snapshots.get(replayOf)
    if (replayOf !== undefined && previous === undefined) {
      return yield* Effect.dieMessage("TaskTest: replayOf takes the `durable` record of a TaskTest run")
    }
    if (previous !== undefined && previous.taskRunExternalId !== taskId) {
      return yield* Effect.dieMessage(
        `TaskTest: a replay runs as the task run it replays ("${previous.taskRunExternalId}"), not "${taskId}"`
      )
    }

    const nodes = new Map<number, LogNode>()
    /** Child nodes by spawn key (the child's key, or its index). */
    const spawned = new Map<string, number>(previous?.spawned)
    const memoRan: Array<string> = []
    let nonDeterminism: NonDeterminismError | undefined
    /** The seeded memo values by key bytes: each answers one memo call of its key (the first). */
    const seeds = new Map<string, Uint8Array>()
    const keyNames = new Map<string, string>()
    const nameKey = (key: string) => {
      const bytes = hex(TaskExecution.durableMemoKey(taskId, key))
      keyNames.set(bytes, key)
      return bytes
    }
    nameKey("now")
    for (const [key, value] of Object.entries(options.durable.memo ?? {})) {
      seeds.set(nameKey(key), encoder.encode(JSON.stringify(value ?? null)))
    }
    const definitions = new Map<string, Workflow.Definition>()

    // the invocations
    let invocationCount = (previous === undefined ? options.durable.invocationCount ?? 1 : replayOf!.invocationCount + 1) - 1
    const invocations: Array<Mutable<DurableInvocation>> = []
    /** The last node the current invocation reached. */
    let latestNode = 0
    /** The current invocation was evicted: it is restored when this is done. */
    let restored: Deferred.Deferred<void> | undefined

    /** An entry is satisfied: its waiters are told; an evicted invocation is restored. */
    const satisfy = (node: LogNode, completion: TaskExecution.DurableCompletion) => {
      if (node.completion !== undefined) return
      node.completion = completion
      if (node.done !== undefined) Deferred.unsafeDone(node.done, Effect.succeed(completion))
      if (restored !== undefined) Deferred.unsafeDone(restored, Effect.void)
    }

    const differs = (node: LogNode, call: DurableCalls.DurableCall, invocation: number) => {
      const error = new NonDeterminismError({
        taskRunExternalId: taskId,
        invocationCount: invocation,
        nodeId: node.entry.nodeId,
        message: DurableCalls.nonDeterminismMessage({
          taskExternalId: taskId,
          nodeId: node.entry.nodeId,
          branchId: 1,
          recorded: node.call,
          received: call
        })
      })
      nonDeterminism ??= error
      return Effect.fail(error)
    }

    const arm = (node: LogNode & { readonly entry: Mutable<Extract<DurableEntry, { _tag: "Wait" }>> }) =>
      Effect.gen(function*() {
        const conditions = node.conditions!
        const entry = node.entry
        // each condition: its or-group, data key, and data once it held
        const held: Array<{ readonly group: string; readonly dataKey: string; data: unknown; met: boolean }> = []
        const condition = (base: { readonly orGroupId: string; readonly readableDataKey: string } | undefined) => {
          const c = { group: base?.orGroupId ?? "", dataKey: base?.readableDataKey ?? "", data: undefined as unknown, met: false }
          held.push(c)
          return c
        }
        const sleepers: Array<Fiber.RuntimeFiber<void>> = []
        const check = (now: number) => {
          if (entry.data !== undefined) return
          const groups = new Map<string, boolean>()
          for (const c of held) groups.set(c.group, (groups.get(c.group) ?? false) || c.met)
          if ([...groups.values()].some((met) => !met)) return
          // the engine's data: `{"CREATE": {<data key>: [<data>, ...]}}` of the conditions that held
          const data: Record<string, Array<unknown>> = {}
          for (const c of held) if (c.met) (data[c.dataKey] ??= []).push(c.data)
          entry.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v[0]]))
          entry.endedAt = now
          hub.disarm(wait)
          for (const fiber of sleepers) fiber.unsafeInterruptAsFork(fiber.id())
          satisfy(node, { payload: encoder.encode(JSON.stringify({ CREATE: data })), failure: undefined })
        }
        const events = conditions.userEventConditions.map((c) => ({ wire: c, held: condition(c.base) }))
        const wait: ArmedWait = {
          offer: (event) => {
            let met = false
            for (const { held: c, wire } of events) {
              if (c.met) continue
              const meets = Conditions.userEventMeets(
                { eventKey: wire.userEventKey, scope: wire.eventScope, expression: wire.base?.expression ?? "" },
                event
              )
              if (!meets) continue
              c.met = true
              c.data = event.payload
              met = true
            }
            if (met) check(clock.unsafeCurrentTimeMillis())
            return met
          }
        }
        for (const sleep of conditions.sleepConditions) {
          const c = condition(sleep.base)
          const millis = Conditions.sleepMillis(sleep.sleepFor)
          if (millis === undefined) return yield* Effect.fail(engineError(`invalid sleep duration "${sleep.sleepFor}"`))
          sleepers.push(
            yield* Clock.sleep(millis).pipe(
              Effect.zipRight(Clock.currentTimeMillis),
              Effect.flatMap((now) =>
                Effect.sync(() => {
                  c.met = true
                  c.data = { sleep_duration: sleep.sleepFor }
                  check(now)
                })
              ),
              Effect.forkIn(scope)
            )
          )
        }
        hub.arm(wait)
      })

    /** Runs a child (in the run's scope); its entry is satisfied when it ends. */
    const startChild = (node: LogNode & { readonly entry: Mutable<Extract<DurableEntry, { _tag: "Child" }>> }) => {
      const { definition, kind, request, taskName } = node.child!
      return options.runChild(definition, taskName, request).pipe(
        Effect.flatMap(({ outcome, run }) =>
          Effect.sync(() => {
            node.entry.run = run
            satisfy(node, childCompletion(kind, taskName, outcome))
          })
        ),
        // (the child's services are the test's: what `runChild` requires is there)
        (effect) => Effect.provide(effect as Effect.Effect<void>, services),
        Effect.forkIn(scope),
        Effect.asVoid
      )
    }

    // a replayed run's log, copied (its record stays as it was); what it left unfinished goes on
    for (const node of previous?.nodes ?? []) {
      const copy: LogNode = { ...node, entry: { ...node.entry }, done: undefined }
      nodes.set(copy.entry.nodeId, copy)
      if (copy.entry._tag === "Memo" || copy.completion !== undefined) continue
      if (copy.entry._tag === "Wait") {
        copy.entry.startedAt = clock.unsafeCurrentTimeMillis()
        yield* Effect.orDie(arm(copy as Parameters<typeof arm>[0]))
      } else {
        yield* startChild(copy as Parameters<typeof startChild>[0])
      }
    }

    const wait = (conditions: DurableEventListenerConditions, invocation: number) =>
      Effect.gen(function*() {
        const call = DurableCalls.waitFor(conditions)
        const nodeId = latestNode + 1
        const recorded = nodes.get(nodeId)
        if (recorded !== undefined) {
          if (!DurableCalls.replays(recorded.call, call)) return yield* differs(recorded, call, invocation)
          latestNode = nodeId
          recorded.entry.replayed = true
          return nodeId
        }
        const node = {
          call,
          entry: {
            _tag: "Wait" as const,
            nodeId,
            sleeps: conditions.sleepConditions.map((c) => c.sleepFor),
            events: conditions.userEventConditions.map((c) => ({
              key: c.userEventKey,
              scope: c.eventScope,
              expression: c.base?.expression ?? ""
            })),
            startedAt: yield* Clock.currentTimeMillis,
            endedAt: undefined as number | undefined,
            data: undefined as Record<string, unknown> | undefined,
            replayed: false
          },
          payload: undefined,
          completion: undefined,
          done: undefined,
          conditions
        }
        yield* arm(node)
        nodes.set(nodeId, node)
        latestNode = nodeId
        return nodeId
      })

    const trigger = (requests: Extract<TaskExecution.DurableAsk, { _tag: "Runs" }>["requests"], invocation: number) =>
      Effect.gen(function*() {
        // every request checked against the log before anything is recorded or spawned
        const planned: Array<
          LogNode | {
            readonly call: undefined
            readonly new: DurableCalls.DurableCall
            readonly nodeId: number
            readonly start: ChildStart
            readonly key: string | undefined
          }
        > = []
        let nextNode = latestNode + 1
        for (const request of requests) {
          const call = DurableCalls.run(request.name, request.input)
          const key = request.childIndex === undefined ? undefined : request.childKey ?? String(request.childIndex)
          const spawnedAt = key === undefined ? undefined : spawned.get(key)
          if (spawnedAt !== undefined) {
            // a child spawned before under the same key: its entry answers, wherever it is; only
            // an index-based key is checked against the recorded call
            const recorded = nodes.get(spawnedAt)!
            if (request.childKey === undefined && !DurableCalls.replays(recorded.call, call)) {
              return yield* differs(recorded, call, invocation)
            }
            planned.push(recorded)
            continue
          }
          const nodeId = nextNode++
          const recorded = nodes.get(nodeId)
          if (recorded !== undefined) {
            if (!DurableCalls.replays(recorded.call, call)) return yield* differs(recorded, call, invocation)
            planned.push(recorded)
            continue
          }
          const definition = definitions.get(request.name)
          const implementation = definition === undefined
            ? Option.none()
            : Context.getOption(services, implementationTagOf(definition))
          if (definition === undefined || Option.isNone(implementation)) {
            return yield* engineError(
              `TaskTest has no implementation of the child "${definition?.name ?? request.name}": provide its toLayer layer`
            )
          }
          const spec = implementation.value.spec
          const task = spec.tasks.length === 1 ? spec.tasks[0]! : undefined
          if (task === undefined) {
            return yield* engineError(
              `TaskTest runs a child of one task; "${spec.name}" has ${spec.tasks.length}: run it with HatchetTest`
            )
          }
          const runId = `${taskId}-child-${nodeId}`
          planned.push({
            call: undefined,
            new: call,
            nodeId,
            key,
            start: {
              definition,
              name: spec.name,
              taskName: task.name,
              kind: spec.kind,
              request: {
                runId,
                input: JSON.parse(request.input) as unknown,
                additionalMetadata: request.additionalMetadata === undefined ? undefined : JSON.parse(request.additionalMetadata),
                priority: request.priority,
                childIndex: request.childIndex,
                childKey: request.childKey,
                durable: { invocationCount: 1 }
              }
            }
          })
        }
        const entries: Array<{ readonly branchId: number; readonly nodeId: number; readonly runId: string }> = []
        for (const plan of planned) {
          if (plan.call !== undefined) {
            plan.entry.replayed = true
            latestNode = Math.max(latestNode, plan.entry.nodeId)
            entries.push({ branchId: 1, nodeId: plan.entry.nodeId, runId: (plan.entry as { runId: string }).runId })
            continue
          }
          const { key, nodeId, start } = plan
          const node = {
            call: plan.new,
            entry: {
              _tag: "Child" as const,
              nodeId,
              name: start.name,
              input: start.request.input,
              runId: start.request.runId,
              run: undefined as unknown,
              replayed: false
            },
            payload: undefined,
            completion: undefined,
            done: undefined,
            child: start
          }
          nodes.set(nodeId, node)
          if (key !== undefined) spawned.set(key, nodeId)
          latestNode = Math.max(latestNode, nodeId)
          entries.push({ branchId: 1, nodeId, runId: start.request.runId })
          yield* startChild(node)
        }
        return { _tag: "Runs" as const, entries }
      })

    const memo = (bytes: Uint8Array, invocation: number) =>
      Effect.suspend((): Effect.Effect<TaskExecution.DurableAck, NonDeterminismError> => {
        const call = DurableCalls.memo(bytes)
        const nodeId = latestNode + 1
        const recorded = nodes.get(nodeId)
        if (recorded !== undefined) {
          if (!DurableCalls.replays(recorded.call, call)) return differs(recorded, call, invocation)
          latestNode = nodeId
          recorded.entry.replayed = recorded.payload !== undefined
          return Effect.succeed({ _tag: "Memo", branchId: 1, nodeId, existed: true, result: recorded.payload })
        }
        const key = hex(bytes)
        const seeded = seeds.get(key)
        seeds.delete(key)
        nodes.set(nodeId, {
          call,
          entry: { _tag: "Memo", nodeId, key: keyNames.get(key) ?? key, replayed: seeded !== undefined },
          payload: seeded,
          completion: undefined,
          done: undefined
        })
        latestNode = nodeId
        return Effect.succeed({ _tag: "Memo", branchId: 1, nodeId, existed: seeded !== undefined, result: seeded })
      })

    /** The worker's eviction: the invocation stops; it is restored once an entry is satisfied. */
    const evict = (invocation: number) =>
      Effect.suspend(() => {
        if (invocation !== invocationCount || restored !== undefined) return Effect.interrupt
        invocations.at(-1)!.evicted = true
        restored = Deferred.unsafeMake(FiberId.none)
        // an entry satisfied while the eviction was on its way: nothing else would restore it
        const last = nodes.get(latestNode)
        if (last !== undefined && last.entry._tag !== "Memo" && last.completion !== undefined) {
          Deferred.unsafeDone(restored, Effect.void)
        }
        return Effect.interrupt
      })

    const log: TaskExecution.DurableLog = {
      send: (_taskId, invocation, ask) => {
        switch (ask._tag) {
          case "Memo":
            return memo(ask.key, invocation)
          case "WaitFor":
            return Effect.map(wait(ask.conditions, invocation), (nodeId) => ({ _tag: "WaitFor", branchId: 1, nodeId }))
          case "Runs":
            return trigger(ask.requests, invocation)
        }
      },
      completeMemo: (ref, payload) =>
        Effect.sync(() => {
          const node = nodes.get(ref.nodeId)
          if (node === undefined || node.entry._tag !== "Memo" || node.payload !== undefined) return
          node.payload = payload
          memoRan.push(node.entry.key)
        }),
      // as the worker waits (`waiting`): after `evictAfter` the invocation is evicted
      awaitEntry: (_taskId, invocation, _branchId, nodeId) =>
        Effect.suspend(() => {
          const node = nodes.get(nodeId)
          if (node === undefined) return Effect.fail(engineError(`no log entry ${nodeId}`))
          if (node.completion !== undefined) return Effect.succeed(node.completion)
          node.done ??= Deferred.unsafeMake(FiberId.none)
          const completion = Deferred.await(node.done)
          if (evictAfter === undefined) return completion
          return Effect.raceFirst(completion, Effect.as(Effect.sleep(evictAfter), EVICTED)).pipe(
            Effect.flatMap((result) => result === EVICTED ? evict(invocation) : Effect.succeed(result))
          )
        }),
      evict: () => Effect.void,
      forget: () => Effect.void
    }

    const begin = (taskContext: TaskContextShape) =>
      Effect.gen(function*() {
        invocationCount++
        latestNode = 0
        restored = undefined
        invocations.push({ invocationCount, startedAt: yield* Clock.currentTimeMillis, endedAt: undefined, evicted: false })
        const base = yield* TaskExecution.makeDurableContext({ log, taskContext, invocationCount })
        // the context the handler gets: the SDK's, told the memo keys and child definitions it
        // sends (the log sees only their hashes and wire names)
        const context: DurableContextShape = {
          ...base,
          memo: (key, effect, schema) => Effect.suspend(() => (nameKey(key), base.memo(key, effect, schema))),
          runChild: (definition, input, childOptions) =>
            Effect.suspend(() => (remember(definition), base.runChild(definition, input, childOptions))),
          runChildren: (definition, inputs, childOptions) =>
            Effect.suspend(() => (remember(definition), base.runChildren(definition, inputs, childOptions)))
        }
        return context
      })
    const remember = (definition: Workflow.Definition) => definitions.set(wireName(definition), definition)

    const end = Effect.gen(function*() {
      invocations.at(-1)!.endedAt = yield* Clock.currentTimeMillis
      if (restored === undefined) return false
      yield* Deferred.await(restored)
      return true
    })

    const record = (): DurableRecord => {
      const sorted = [...nodes.values()].sort((a, b) => a.entry.nodeId - b.entry.nodeId)
      const memoLog: Record<string, unknown> = {}
      for (const { entry, payload } of sorted) {
        if (entry._tag === "Memo" && payload !== undefined && !(entry.key in memoLog)) {
          memoLog[entry.key] = JSON.parse(decoder.decode(payload))
        }
      }
      const result: DurableRecord = {
        invocationCount,
        invocations: invocations.map((i) => ({ ...i })),
        entries: sorted.map((node) => ({ ...node.entry })),
        memoRan: [...memoRan],
        memoLog,
        nonDeterminism
      }
      snapshots.set(result, {
        taskRunExternalId: taskId,
        nodes: sorted.map((node) => ({ ...node, entry: { ...node.entry }, done: undefined })),
        spawned: new Map(spawned)
      })
      return result
    }
    return { begin, end, record }
  })

/** The name a child is triggered by: its action ids' prefix (no namespace under `TaskTest`). */
const wireName = (definition: Workflow.Definition) => TaskExecution.actionId(definition, "").slice(0, -1)

/** The tag `Workflow.implementation` reads (the effect it returns is that tag). */
const implementationTagOf = (definition: Workflow.Definition) =>
  implementation(definition) as unknown as Context.Tag<any, Workflow.ImplementationShape>

/** A finished child as the engine's `entry_completed`: its output (by task, for a workflow) or its failure text. */
const childCompletion = (
  kind: "workflow" | "task",
  taskName: string,
  outcome: TaskExecution.Outcome
): TaskExecution.DurableCompletion => {
  switch (outcome._tag) {
    case "Completed":
      return {
        payload: encoder.encode(kind === "task" ? outcome.output : `{${JSON.stringify(taskName)}:${outcome.output}}`),
        failure: undefined
      }
    case "Failed":
      return { payload: new Uint8Array(), failure: outcome.payload }
    case "Interrupted":
      return { payload: new Uint8Array(), failure: "the child run was cancelled" }
  }
}
