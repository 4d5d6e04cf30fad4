/**
 * `TaskTest`'s durable context: the SDK's own `DurableContext` (`TaskExecution.makeDurableContext`,
 * the code a worker runs) over an in-process durable log that stands in for the engine, so every
 * call is encoded, answered and decoded exactly as on a worker:
 *
 * - a memo is answered from the log (seeded by the test to simulate a replay) or runs, and its
 *   encoded result is written back;
 * - a wait's wire conditions are armed as the engine arms them: its sleeps on the Effect `Clock`
 *   (so `TestClock.adjust` ends them), its user events met by the events the test supplies, by
 *   key, scope and CEL expression (the engine's own evaluator, `@effect-hatchet/engine`'s
 *   `Conditions`); conditions sharing an or-group are OR-ed, groups AND-ed, and the wait's data is
 *   the engine's `{"CREATE": {<data key>: [<data>]}}`;
 * - a child run is run by `TaskTest` itself (its implementation from the context), its output or
 *   failure text handed back as the engine would.
 *
 * Events: those given up front, then those taken from the test's queue, each delivered to every
 * wait it meets that is armed when it arrives; an event no wait meets yet is kept for the next
 * wait it meets (the engine would drop it unless the wait looks back: a test need not race the
 * task to the wait). `lookback` therefore changes nothing here.
 *
 * @internal
 */
import { Conditions } from "@effect-hatchet/engine"
import type { DurableContextShape } from "@effect-hatchet/sdk/DurableContext"
import { DurableTaskError } from "@effect-hatchet/sdk/DurableContext"
import type { TaskContextShape } from "@effect-hatchet/sdk/TaskContext"
import * as TaskExecution from "@effect-hatchet/sdk/TaskExecution"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import { implementation } from "@effect-hatchet/sdk/Workflow"
import type { Fiber, Scope } from "effect"
import { Clock, Context, Deferred, Effect, FiberId, Option, Queue } from "effect"

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
   * with the memo's Schema, as JSON). The first memo call of a key found here decodes it instead of
   * running (a replay); a later call of the same key (another position of the log) runs.
   */
  readonly memo?: Readonly<Record<string, unknown>> | undefined
  /** `DurableContext.invocationCount`. Default 1. */
  readonly invocationCount?: number | undefined
}

/** One entry of the durable log, in the order the task made its durable calls. */
export type DurableEntry =
  | {
    readonly _tag: "Memo"
    readonly nodeId: number
    readonly key: string
    /** Answered from the log (seeded), not run. */
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
  }

/** What the durable context did during one run. */
export interface DurableRecord {
  readonly invocationCount: number
  /** Every durable call, in log order. */
  readonly entries: ReadonlyArray<DurableEntry>
  /** The memo keys whose effect ran (and was recorded), in order; replayed memos are not here. */
  readonly memoRan: ReadonlyArray<string>
  /**
   * The memo log at the end, by key, encoded: the first value of each key (seeded or run). Given
   * as `memo` to a later run, it replays those memos.
   */
  readonly memoLog: Readonly<Record<string, unknown>>
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

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const engineError = (message: string) => new DurableTaskError({ reason: "Engine", message })

/**
 * A durable context for one test run of a durable task, and what it recorded. The wait's sleeps
 * and the children run in `scope`'s fibers; `runChild` runs a child with `TaskTest`.
 */
export const make = (options: {
  readonly taskContext: TaskContextShape
  readonly durable: DurableOptions
  readonly hub: EventHub
  readonly runChild: RunChild
}): Effect.Effect<
  { readonly context: DurableContextShape; readonly record: () => DurableRecord },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const { hub, taskContext } = options
    const taskId = taskContext.taskRunExternalId
    const invocationCount = options.durable.invocationCount ?? 1
    // children run with the services the test gave (their implementations among them)
    const services = yield* Effect.context<never>()
    const scope = yield* Effect.scope

    const entries: Array<DurableEntry> = []
    const memoRan: Array<string> = []
    /** The seeded memo values by key bytes: each answers one memo call of its key (the first). */
    const seeds = new Map<string, Uint8Array>()
    /** The memos of this run by node: the user's key, and the encoded JSON once known. */
    const memos = new Map<number, { readonly key: string; payload: Uint8Array | undefined }>()
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
    const completions = new Map<number, Deferred.Deferred<TaskExecution.DurableCompletion, DurableTaskError>>()
    let nodeId = 0
    /** The next position of the log. */
    const nextNode = () => ++nodeId
    /** The next position, for an entry the handler awaits (a wait, a child). */
    const nextAwaited = () => {
      const node = nextNode()
      completions.set(node, Deferred.unsafeMake(FiberId.none))
      return node
    }
    const complete = (node: number, completion: TaskExecution.DurableCompletion) =>
      Deferred.unsafeDone(completions.get(node)!, Effect.succeed(completion))

    const arm = (conditions: Extract<TaskExecution.DurableAsk, { _tag: "WaitFor" }>["conditions"]) =>
      Effect.gen(function*() {
        const node = nextAwaited()
        const startedAt = yield* Clock.currentTimeMillis
        const entry = {
          _tag: "Wait" as const,
          nodeId: node,
          sleeps: conditions.sleepConditions.map((c) => c.sleepFor),
          events: conditions.userEventConditions.map((c) => ({
            key: c.userEventKey,
            scope: c.eventScope,
            expression: c.base?.expression ?? ""
          })),
          startedAt,
          endedAt: undefined as number | undefined,
          data: undefined as Record<string, unknown> | undefined
        }
        entries.push(entry)
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
          complete(node, { payload: encoder.encode(JSON.stringify({ CREATE: data })), failure: undefined })
        }
        const clock = yield* Effect.clock
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
        return node
      })

    const trigger = (requests: Extract<TaskExecution.DurableAsk, { _tag: "Runs" }>["requests"]) =>
      Effect.gen(function*() {
        const runs: Array<{ readonly branchId: number; readonly nodeId: number; readonly runId: string }> = []
        for (const request of requests) {
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
          const node = nextAwaited()
          const runId = `${taskId}-child-${node}`
          const input = JSON.parse(request.input) as unknown
          const entry = { _tag: "Child" as const, nodeId: node, name: spec.name, input, runId, run: undefined as unknown }
          entries.push(entry)
          runs.push({ branchId: 1, nodeId: node, runId })
          yield* options.runChild(definition, task.name, {
            runId,
            input,
            additionalMetadata: request.additionalMetadata === undefined ? undefined : JSON.parse(request.additionalMetadata),
            priority: request.priority,
            childIndex: request.childIndex,
            childKey: request.childKey,
            durable: { invocationCount: 1 }
          }).pipe(
            Effect.flatMap(({ outcome, run }) =>
              Effect.sync(() => {
                entry.run = run
                complete(node, childCompletion(spec.kind, task.name, outcome))
              })
            ),
            // (the child's services are the test's: what `runChild` requires is there)
            (effect) => Effect.provide(effect as Effect.Effect<void>, services),
            Effect.forkIn(scope)
          )
        }
        return { _tag: "Runs" as const, entries: runs }
      })

    const log: TaskExecution.DurableLog = {
      send: (_taskId, _invocation, ask) =>
        Effect.suspend((): Effect.Effect<TaskExecution.DurableAck, DurableTaskError> => {
          switch (ask._tag) {
            case "Memo": {
              const node = nextNode()
              const bytes = hex(ask.key)
              const seeded = seeds.get(bytes)
              seeds.delete(bytes)
              const key = keyNames.get(bytes) ?? bytes
              entries.push({ _tag: "Memo", nodeId: node, key, replayed: seeded !== undefined })
              memos.set(node, { key, payload: seeded })
              return Effect.succeed({ _tag: "Memo", branchId: 1, nodeId: node, existed: seeded !== undefined, result: seeded })
            }
            case "WaitFor":
              return Effect.map(arm(ask.conditions), (node) => ({ _tag: "WaitFor", branchId: 1, nodeId: node }))
            case "Runs":
              return trigger(ask.requests)
          }
        }),
      completeMemo: (ref, payload) =>
        Effect.sync(() => {
          const memo = memos.get(ref.nodeId)
          if (memo === undefined || memo.payload !== undefined) return
          memo.payload = payload
          memoRan.push(memo.key)
        }),
      awaitEntry: (_taskId, _invocation, _branchId, node) => {
        const completion = completions.get(node)
        return completion === undefined ? Effect.fail(engineError(`no log entry ${node}`)) : Deferred.await(completion)
      },
      evict: () => Effect.void,
      forget: () => Effect.void
    }

    const base = yield* TaskExecution.makeDurableContext({ log, taskContext, invocationCount })
    // the context the handler gets: the SDK's, told the memo keys and child definitions it sends
    // (the log sees only their hashes and wire names)
    const context: DurableContextShape = {
      ...base,
      memo: (key, effect, schema) => Effect.suspend(() => (nameKey(key), base.memo(key, effect, schema))),
      runChild: (definition, input, childOptions) =>
        Effect.suspend(() => (remember(definition), base.runChild(definition, input, childOptions))),
      runChildren: (definition, inputs, childOptions) =>
        Effect.suspend(() => (remember(definition), base.runChildren(definition, inputs, childOptions)))
    }
    const remember = (definition: Workflow.Definition) => definitions.set(wireName(definition), definition)

    const record = (): DurableRecord => {
      const memoLog: Record<string, unknown> = {}
      for (const { key, payload } of memos.values()) {
        if (payload !== undefined && !(key in memoLog)) memoLog[key] = JSON.parse(decoder.decode(payload))
      }
      return { invocationCount, entries: entries.map((e) => ({ ...e })), memoRan: [...memoRan], memoLog }
    }
    return { context, record }
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
