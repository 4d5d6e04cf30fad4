/**
 * The worker's side of durable tasks (engine semantics §9.3): one `V1Dispatcher/DurableTask`
 * stream per worker (`makeListener`), and each attempt's `DurableContext` over it (`makeContext`).
 *
 * The stream. Every (re)connect begins with `register_worker`, then a `worker_status` of the
 * entries still awaited (the engine sends again what was satisfied meanwhile). A request waits for
 * its ack, keyed by (task, invocation) as upstream's SDK keys it, so each invocation has at most
 * one request in flight (the context serializes them). Completions (`entry_completed`) are keyed
 * by (task, invocation, branch, node); one that arrives before its waiter is kept until the
 * waiter asks. While entries are awaited, a `worker_status` goes out every second (upstream's
 * polling fallback). A stream that breaks fails the requests in flight (`Disconnected`); awaited
 * entries survive and are asked for again on the next connection. `server_evict` interrupts the
 * invocation it names (the worker's `onServerEvict`).
 *
 * @internal
 */
import type { StepRunResult } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { DurableEventLogEntryRef, DurableTaskRequest, DurableTaskResponse } from "@effect-hatchet/proto/v1/dispatcher"
import { DurableTaskErrorType } from "@effect-hatchet/proto/v1/dispatcher"
import { Action, type DurableEventListenerConditions } from "@effect-hatchet/proto/v1/shared/condition"
import type { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as Condition from "../Condition.js"
import {
  type ChildOptions,
  type DurableContextShape,
  type DurableError,
  DurableTaskError,
  NonDeterminismError,
  type WaitResult
} from "../DurableContext.js"
import type { GrpcError } from "../HatchetError.js"
import type { TaskContextShape } from "../TaskContext.js"
import type { Definition } from "../Workflow.js"
import { HatchetClientError } from "./clientError.js"
import { checkExpressions, type ConditionExpression, groupId, taskConditions } from "./conditions.js"
import { specOf } from "./definition.js"
import { formatParseError } from "./failure.js"
import { workflowWireName } from "./naming.js"
import { encodeInput } from "./payload.js"
import { reconnectBackoff } from "./retry.js"
import { decodeResult } from "./runResult.js"
import { triggerRequest } from "./triggerBatching.js"

/** What an ack of a memo, wait or child-run request says. */
export type Ack =
  | {
    readonly _tag: "Memo"
    readonly branchId: number
    readonly nodeId: number
    readonly existed: boolean
    readonly result: Uint8Array | undefined
  }
  | { readonly _tag: "WaitFor"; readonly branchId: number; readonly nodeId: number }
  | {
    readonly _tag: "Runs"
    readonly entries: ReadonlyArray<{ readonly branchId: number; readonly nodeId: number; readonly runId: string }>
  }

/** A satisfied entry: its JSON payload, or a failed child's message. */
export interface Completion {
  readonly payload: Uint8Array
  readonly failure: string | undefined
}

/** What a request asks (the task and invocation are added by `send`). */
export type Ask =
  | { readonly _tag: "Memo"; readonly key: Uint8Array }
  | { readonly _tag: "WaitFor"; readonly conditions: DurableEventListenerConditions; readonly label?: string | undefined }
  | { readonly _tag: "Runs"; readonly requests: ReadonlyArray<TriggerWorkflowRequest> }

/** The worker's durable stream. */
export interface DurableListener {
  /** Sends a request of `(taskId, invocation)` and waits for its ack. */
  readonly send: (taskId: string, invocation: number, ask: Ask) => Effect.Effect<Ack, DurableError>
  /** `complete_memo`: the value computed for a memo the log did not have (no reply). */
  readonly completeMemo: (ref: DurableEventLogEntryRef, payload: Uint8Array, key: Uint8Array) => Effect.Effect<void>
  /** Waits until the entry is satisfied (interruptible). */
  readonly awaitEntry: (
    taskId: string,
    invocation: number,
    branchId: number,
    nodeId: number
  ) => Effect.Effect<Completion, DurableError>
  /** `evict_invocation`, waiting for its ack (at most `EVICTION_ACK_TIMEOUT`). */
  readonly evict: (taskId: string, invocation: number, reason: string) => Effect.Effect<void, DurableError>
  /** Forgets what the stream holds for an invocation (it ended). */
  readonly forget: (taskId: string, invocation: number) => Effect.Effect<void>
}

/** How long an eviction waits for the engine's ack (upstream: 30 s). */
const EVICTION_ACK_TIMEOUT = Duration.seconds(30)
/** How often awaited entries are reported while some are (upstream: 1 s). */
const WORKER_STATUS_INTERVAL = Duration.seconds(1)

const invocationKey = (taskId: string, invocation: number) => `${taskId}:${invocation}`
const entryKey = (taskId: string, invocation: number, branchId: number, nodeId: number) => `${taskId}:${invocation}:${branchId}:${nodeId}`

/** The real clock (see the polling fallback). */
const liveClock = Clock.make()

const disconnected = (message: string) => new DurableTaskError({ reason: "Disconnected", message })

/**
 * The worker's durable stream, connected (and reconnected, with backoff) for as long as the scope
 * lives, once the worker has an id. `connect` opens one `DurableTask` call over `requests`.
 */
export const makeListener = (options: {
  /** The worker's current id, once it registered (waits until then). */
  readonly workerId: Effect.Effect<string>
  readonly connect: (requests: Stream.Stream<DurableTaskRequest>) => Stream.Stream<DurableTaskResponse, GrpcError>
  readonly onServerEvict: (taskId: string, invocation: number, reason: string) => Effect.Effect<void>
}): Effect.Effect<DurableListener, never, Scope.Scope> =>
  Effect.gen(function*() {
    const outgoing = yield* Queue.unbounded<DurableTaskRequest>()
    const acks = new Map<string, Deferred.Deferred<Ack, DurableError>>()
    const evictions = new Map<string, Deferred.Deferred<void, DurableError>>()
    const waiters = new Map<string, Deferred.Deferred<Completion, DurableError>>()
    const arrived = new Map<string, Completion>()
    let connected = false

    const failInFlight = (error: DurableError) =>
      Effect.gen(function*() {
        yield* Queue.takeAll(outgoing)
        for (const deferred of acks.values()) yield* Deferred.fail(deferred, error)
        acks.clear()
        for (const deferred of evictions.values()) yield* Deferred.fail(deferred, error)
        evictions.clear()
      })

    const workerStatus = (workerId: string): DurableTaskRequest => ({
      workerStatus: {
        workerId,
        waitingEntries: [...waiters.keys()].map((key) => {
          const [durableTaskExternalId, invocation, branchId, nodeId] = key.split(":")
          return {
            durableTaskExternalId: durableTaskExternalId!,
            invocationCount: Number(invocation),
            branchId: Number(branchId),
            nodeId: Number(nodeId)
          }
        })
      }
    })

    const settleAck = (taskId: string, invocation: number, ack: Ack) =>
      Effect.suspend(() => {
        const key = invocationKey(taskId, invocation)
        const deferred = acks.get(key)
        if (deferred === undefined) return Effect.void
        acks.delete(key)
        return Deferred.succeed(deferred, ack)
      })

    const refKey = (ref: DurableEventLogEntryRef | undefined) =>
      ref === undefined ? "" : entryKey(ref.durableTaskExternalId, ref.invocationCount, ref.branchId, ref.nodeId)

    const handle = (response: DurableTaskResponse): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (response.memoAck !== undefined) {
          const { memoAlreadyExisted, memoResultPayload, ref } = response.memoAck
          if (ref === undefined) return Effect.void
          return settleAck(ref.durableTaskExternalId, ref.invocationCount, {
            _tag: "Memo",
            branchId: ref.branchId,
            nodeId: ref.nodeId,
            existed: memoAlreadyExisted,
            result: memoResultPayload
          })
        }
        if (response.waitForAck !== undefined) {
          const ref = response.waitForAck.ref
          if (ref === undefined) return Effect.void
          return settleAck(ref.durableTaskExternalId, ref.invocationCount, {
            _tag: "WaitFor",
            branchId: ref.branchId,
            nodeId: ref.nodeId
          })
        }
        if (response.triggerRunsAck !== undefined) {
          const ack = response.triggerRunsAck
          return settleAck(ack.durableTaskExternalId, ack.invocationCount, {
            _tag: "Runs",
            entries: ack.runEntries.map((e) => ({ branchId: e.branchId, nodeId: e.nodeId, runId: e.workflowRunExternalId }))
          })
        }
        if (response.entryCompleted !== undefined) {
          const completed = response.entryCompleted
          const key = refKey(completed.ref)
          const completion: Completion = {
            payload: completed.payload,
            failure: completed.isFailure ? (completed.errorMessage ?? "the child run failed") : undefined
          }
          const waiter = waiters.get(key)
          if (waiter === undefined) {
            arrived.set(key, completion)
            return Effect.void
          }
          waiters.delete(key)
          return Deferred.succeed(waiter, completion)
        }
        if (response.evictionAck !== undefined) {
          const key = invocationKey(response.evictionAck.durableTaskExternalId, response.evictionAck.invocationCount)
          const deferred = evictions.get(key)
          evictions.delete(key)
          return deferred === undefined ? Effect.void : Deferred.succeed(deferred, undefined)
        }
        if (response.serverEvict !== undefined) {
          const { durableTaskExternalId, invocationCount, reason } = response.serverEvict
          return options.onServerEvict(durableTaskExternalId, invocationCount, reason)
        }
        if (response.error !== undefined) {
          const { errorMessage, errorType, ref } = response.error
          if (ref === undefined) return Effect.void
          const error: DurableError = errorType === DurableTaskErrorType.DURABLE_TASK_ERROR_TYPE_NONDETERMINISM
            ? new NonDeterminismError({
              taskRunExternalId: ref.durableTaskExternalId,
              invocationCount: ref.invocationCount,
              nodeId: ref.nodeId,
              message: errorMessage
            })
            : new DurableTaskError({ reason: "Engine", message: errorMessage })
          const key = invocationKey(ref.durableTaskExternalId, ref.invocationCount)
          const effects: Array<Effect.Effect<boolean>> = []
          const ack = acks.get(key)
          if (ack !== undefined) {
            acks.delete(key)
            effects.push(Deferred.fail(ack, error))
          }
          const eviction = evictions.get(key)
          if (eviction !== undefined) {
            evictions.delete(key)
            effects.push(Deferred.fail(eviction, error))
          }
          const waiter = waiters.get(refKey(ref))
          if (waiter !== undefined) {
            waiters.delete(refKey(ref))
            effects.push(Deferred.fail(waiter, error))
          }
          return Effect.all(effects, { discard: true })
        }
        return Effect.void
      })

    /** One connection: its requests are `register_worker`, the awaited entries, then the queue. */
    const connectOnce = (workerId: string) =>
      Effect.suspend(() => {
        const first: Array<DurableTaskRequest> = [{ registerWorker: { workerId } }]
        if (waiters.size > 0) first.push(workerStatus(workerId))
        const requests = Stream.concat(Stream.fromIterable(first), Stream.fromQueue(outgoing))
        return options.connect(requests).pipe(
          Stream.runForEach((response) => {
            connected = true
            return handle(response)
          })
        )
      })

    /** One connection of the durable stream, to its end; the calls in flight fail with why. */
    const connectionOnce = Effect.gen(function*() {
      const workerId = yield* options.workerId
      const exit = yield* Effect.exit(connectOnce(workerId))
      connected = false
      const reason = exit._tag === "Success" ? "the durable stream ended" : `the durable stream failed: ${Cause.pretty(exit.cause)}`
      yield* failInFlight(disconnected(reason))
      yield* Effect.logDebug(`${reason}; reconnecting`)
    })
    // reconnects for as long as the worker lives, with a jittered backoff from 250 ms up to 5 s
    const connection = Effect.repeat(connectionOnce, reconnectBackoff("250 millis", "5 seconds"))
    yield* Effect.forkScoped(Effect.interruptible(connection))

    // upstream's polling fallback: the awaited entries, every second while there are some. A
    // transport matter, so on real time whatever the `Clock` (a `TestClock` jump of a week would
    // otherwise run it 600 000 times)
    yield* Effect.gen(function*() {
      if (waiters.size === 0 || !connected) return
      yield* Queue.offer(outgoing, workerStatus(yield* options.workerId))
    }).pipe(
      Effect.zipRight(liveClock.sleep(WORKER_STATUS_INTERVAL)),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )

    const send = (taskId: string, invocation: number, ask: Ask): Effect.Effect<Ack, DurableError> =>
      Effect.gen(function*() {
        const deferred = yield* Deferred.make<Ack, DurableError>()
        const key = invocationKey(taskId, invocation)
        const previous = acks.get(key)
        if (previous !== undefined) Deferred.unsafeDone(previous, Effect.fail(disconnected("another request of the invocation was sent")))
        acks.set(key, deferred)
        const base = { invocationCount: invocation, durableTaskExternalId: taskId }
        yield* Queue.offer(
          outgoing,
          ask._tag === "Memo"
            ? { memo: { ...base, key: ask.key } }
            : ask._tag === "WaitFor"
            ? { waitFor: { ...base, waitForConditions: ask.conditions, label: ask.label } }
            : { triggerRuns: { ...base, triggerOpts: [...ask.requests] } }
        )
        return yield* Deferred.await(deferred).pipe(
          Effect.onInterrupt(() => Effect.sync(() => acks.get(key) === deferred && acks.delete(key)))
        )
      })

    const awaitEntry = (taskId: string, invocation: number, branchId: number, nodeId: number) =>
      Effect.suspend(() => {
        const key = entryKey(taskId, invocation, branchId, nodeId)
        const ready = arrived.get(key)
        if (ready !== undefined) {
          arrived.delete(key)
          return Effect.succeed(ready)
        }
        let waiter = waiters.get(key)
        if (waiter === undefined) {
          waiter = Deferred.unsafeMake<Completion, DurableError>(FiberId.none)
          waiters.set(key, waiter)
        }
        return Deferred.await(waiter)
      })

    const evict = (taskId: string, invocation: number, reason: string) =>
      Effect.gen(function*() {
        const deferred = yield* Deferred.make<void, DurableError>()
        const key = invocationKey(taskId, invocation)
        evictions.set(key, deferred)
        yield* Queue.offer(outgoing, { evictInvocation: { invocationCount: invocation, durableTaskExternalId: taskId, reason } })
        yield* Deferred.await(deferred).pipe(
          Effect.timeoutFail({
            duration: EVICTION_ACK_TIMEOUT,
            onTimeout: () => disconnected(`no eviction ack for task ${taskId} invocation ${invocation}`)
          }),
          // a transport matter, in real time (a `TestClock` jump must not time out an ack on its way)
          Effect.withClock(liveClock),
          Effect.ensuring(Effect.sync(() => evictions.get(key) === deferred && evictions.delete(key)))
        )
      })

    const forget = (taskId: string, invocation: number) =>
      Effect.sync(() => {
        const prefix = `${taskId}:`
        for (const map of [waiters, arrived] as const) {
          for (const key of map.keys()) {
            if (key.startsWith(prefix) && Number(key.split(":")[1]) <= invocation) map.delete(key)
          }
        }
      })

    return {
      send,
      completeMemo: (ref, payload, key) => Queue.offer(outgoing, { completeMemo: { ref, payload, memoKey: key } }),
      awaitEntry,
      evict,
      forget
    } satisfies DurableListener
  })

// -----------------------------------------------------------------------------
// the context of an attempt
// -----------------------------------------------------------------------------

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Upstream's memo key: SHA-256 of the task run id followed by the JSON of the dependencies. */
export const memoKey = (taskRunExternalId: string, deps: ReadonlyArray<unknown>): Uint8Array =>
  new Uint8Array(createHash("sha256").update(taskRunExternalId + JSON.stringify(deps)).digest())

const invalidArgument = (message: string) => new DurableTaskError({ reason: "InvalidArgument", message })
const invalidPayload = (message: string, cause?: unknown) => new DurableTaskError({ reason: "InvalidPayload", message, cause })

/** The JSON of a payload; `undefined` for an empty one. */
const parsePayload = (bytes: Uint8Array): Either.Either<unknown, unknown> => {
  if (bytes.length === 0) return Either.right(undefined)
  return Either.try(() => JSON.parse(decoder.decode(bytes)) as unknown)
}

/** The data of each condition that held: `{"CREATE": {"<data key>": [<data>, ...]}}` read by key. */
const waitResult = (payload: unknown): WaitResult => {
  const created = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>)["CREATE"] : undefined
  const result: Record<string, unknown> = {}
  if (typeof created !== "object" || created === null) return result
  for (const [key, values] of Object.entries(created)) result[key] = Array.isArray(values) ? values[0] : values
  return result
}

/** What an attempt of a durable task runs with. */
export interface ContextOptions {
  readonly listener: DurableListener
  readonly taskContext: TaskContextShape
  readonly invocationCount: number
  readonly namespace: string
  /** Runs `effect` while the attempt waits for the engine (eviction may interrupt it). */
  readonly waiting: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/** An attempt's `DurableContext`. */
export const makeContext = (options: ContextOptions): Effect.Effect<DurableContextShape> =>
  Effect.gen(function*() {
    const { invocationCount, listener, namespace, taskContext, waiting } = options
    const taskId = taskContext.taskRunExternalId
    // one request in flight per invocation: acks are keyed by (task, invocation)
    const lock = yield* Effect.makeSemaphore(1)
    const send = (ask: Ask) => lock.withPermits(1)(listener.send(taskId, invocationCount, ask))
    let waits = 0

    const awaitEntry = (branchId: number, nodeId: number) => waiting(listener.awaitEntry(taskId, invocationCount, branchId, nodeId))

    const waitForConditions = (conditions: DurableEventListenerConditions): Effect.Effect<WaitResult, DurableError> =>
      Effect.gen(function*() {
        const ack = yield* send({ _tag: "WaitFor", conditions })
        if (ack._tag !== "WaitFor") return yield* invalidPayload("the engine acknowledged a wait as another request")
        const completion = yield* awaitEntry(ack.branchId, ack.nodeId)
        const parsed = parsePayload(completion.payload)
        if (Either.isLeft(parsed)) return yield* invalidPayload("a wait's data is not JSON", parsed.left)
        return waitResult(parsed.right)
      })

    /**
     * The wire conditions of `conditions`, as a step's are built, with the action CREATE; their CEL
     * compiled first (Hatchet records a wait whose expression does not compile, and it never holds).
     */
    const toWire = (
      conditions: Condition.Conditions<never>,
      events?: { readonly scope?: string | undefined; readonly since?: Date | undefined }
    ): Effect.Effect<DurableEventListenerConditions, DurableTaskError> => {
      const issues: Array<string> = []
      const expressions: Array<ConditionExpression> = []
      const built = taskConditions(
        issues,
        "conditions",
        {
          waitFor: Condition.toArray(conditions),
          skipIf: [],
          cancelIf: []
        },
        [],
        { workflow: taskId, task: `durable-${invocationCount}`, namespace },
        expressions
      )
      if (built.parentOverrideConditions.length > 0) issues.push("a durable wait cannot wait for a parent's output")
      if (built.sleepConditions.length + built.userEventConditions.length === 0) issues.push("no condition to wait for")
      if (issues.length > 0) return Effect.fail(invalidArgument(`invalid wait: ${issues.join("; ")}`))
      return Effect.map(
        Effect.mapError(checkExpressions(taskId, expressions), (error) => invalidArgument(`invalid wait: ${error.issues.join("; ")}`)),
        () => wireOf(built, events)
      )
    }

    const wireOf = (
      built: ReturnType<typeof taskConditions>,
      events?: { readonly scope?: string | undefined; readonly since?: Date | undefined }
    ): DurableEventListenerConditions => {
      // the or-group ids are not part of the wait's identity: derived per wait, they stay readable
      const wait = waits++
      const regroup = new Map<string, string>()
      const base = <B extends { readonly orGroupId: string }>(b: B): B => {
        let id = regroup.get(b.orGroupId)
        if (id === undefined) {
          id = groupId(taskId, `wait-${invocationCount}-${wait}`, regroup.size)
          regroup.set(b.orGroupId, id)
        }
        return { ...b, orGroupId: id, action: Action.CREATE }
      }
      return {
        sleepConditions: built.sleepConditions.map((c) => ({ ...c, base: c.base === undefined ? undefined : base(c.base) })),
        userEventConditions: built.userEventConditions.map((c) => ({
          ...c,
          base: c.base === undefined ? undefined : base(c.base),
          eventScope: events?.scope,
          considerEventsSince: events?.since
        }))
      }
    }

    const waitFor = (conditions: Condition.Conditions<never>) => Effect.flatMap(toWire(conditions), waitForConditions)

    const memo = <A, I, E, R>(key: string, effect: Effect.Effect<A, E, R>, schema: Schema.Schema<A, I, never>) =>
      Effect.gen(function*() {
        const bytes = memoKey(taskId, [key])
        const ack = yield* send({ _tag: "Memo", key: bytes })
        if (ack._tag !== "Memo") return yield* invalidPayload("the engine acknowledged a memo as another request")
        if (ack.existed && ack.result !== undefined && ack.result.length > 0) {
          const parsed = parsePayload(ack.result)
          if (Either.isLeft(parsed)) return yield* invalidPayload(`the memo "${key}" in the log is not JSON`, parsed.left)
          return yield* Schema.decodeUnknown(schema)(parsed.right).pipe(
            Effect.mapError((error) => invalidPayload(`the memo "${key}" in the log does not decode: ${formatParseError(error)}`, error))
          )
        }
        const value = yield* effect
        const encoded = yield* Schema.encode(schema)(value).pipe(
          Effect.mapError((error) => invalidArgument(`the value of memo "${key}" does not encode: ${formatParseError(error)}`))
        )
        const ref = { durableTaskExternalId: taskId, invocationCount, branchId: ack.branchId, nodeId: ack.nodeId }
        yield* listener.completeMemo(ref, encoder.encode(JSON.stringify(encoded ?? null)), bytes)
        return value
      })

    const NowSchema = Schema.Struct({ ts: Schema.String })
    const now = Effect.map(
      memo("now", Effect.map(Clock.currentTimeMillis, (ms) => ({ ts: new Date(ms).toISOString() })), NowSchema),
      ({ ts }) => new Date(ts)
    )

    const sleep = (duration: Duration.DurationInput) => Effect.asVoid(waitFor(Condition.sleep(duration)))

    const runChildren = (definition: Definition, inputs: ReadonlyArray<unknown>, childOptions: ChildOptions = {}) =>
      Effect.gen(function*() {
        const spec = specOf(definition)
        if (inputs.length === 0) return []
        if (childOptions.key !== undefined && inputs.length > 1) {
          return yield* invalidArgument("a key names one child: spawn keyed children one at a time")
        }
        const requests: Array<TriggerWorkflowRequest> = []
        for (const input of inputs) {
          const json = yield* encodeInput(spec, input).pipe(
            Effect.mapError((error) => invalidArgument(`invalid input for child workflow "${spec.name}": ${formatParseError(error)}`))
          )
          const childIndex = yield* taskContext.nextChildIndex
          requests.push(
            triggerRequest(workflowWireName(spec.name, namespace), json, childOptions, { parent: taskContext, childIndex })
          )
        }
        const ack = yield* send({ _tag: "Runs", requests })
        if (ack._tag !== "Runs") return yield* invalidPayload("the engine acknowledged child runs as another request")
        return yield* Effect.forEach(ack.entries, (entry) =>
          Effect.gen(function*() {
            const completion = yield* awaitEntry(entry.branchId, entry.nodeId)
            return yield* decodeResult(definition, entry.runId, childResults(definition, entry.runId, completion)).pipe(
              Effect.mapError((error) => error instanceof HatchetClientError ? invalidPayload(error.message, error) : error)
            )
          }), { concurrency: "unbounded" })
      })

    return {
      invocationCount,
      sleep,
      sleepUntil: (at) =>
        Effect.flatMap(now, (current) => sleep(Duration.seconds(Math.max(0, Math.ceil((at.getTime() - current.getTime()) / 1000))))),
      waitForEvent: (key, eventOptions) =>
        Effect.gen(function*() {
          const since = eventOptions.lookback === undefined
            ? undefined
            : new Date((yield* now).getTime() - Duration.toMillis(Duration.decode(eventOptions.lookback)))
          const conditions = yield* toWire(
            Condition.event(key, { expression: eventOptions.expression }),
            { scope: eventOptions.scope, since }
          )
          const result = yield* waitForConditions(conditions)
          return yield* Schema.decodeUnknown(eventOptions.schema)(result[key] ?? {}).pipe(
            Effect.mapError((error) => invalidPayload(`the payload of event "${key}" does not decode: ${formatParseError(error)}`, error))
          )
        }),
      waitFor,
      now,
      memo,
      runChild: (definition, input, childOptions) =>
        Effect.map(runChildren(definition, [input], childOptions), (results) => results[0]) as any,
      runChildren: runChildren as any
    } satisfies DurableContextShape
  })

/** A finished child's `entry_completed`, as the results `Hatchet.run` decodes. */
const childResults = (definition: Definition, runId: string, completion: Completion): Array<StepRunResult> => {
  const spec = specOf(definition)
  const base = { taskRunExternalId: runId, jobRunId: runId }
  const single = spec.kind === "task" ? spec.name : spec.tasks[0]?.name ?? spec.name
  if (completion.failure !== undefined) return [{ ...base, taskName: single, error: completion.failure }]
  const text = completion.payload.length === 0 ? "null" : decoder.decode(completion.payload)
  if (spec.kind === "task") return [{ ...base, taskName: spec.name, output: text }]
  const parsed = parsePayload(completion.payload)
  const outputs = Either.isRight(parsed) && typeof parsed.right === "object" && parsed.right !== null
    ? parsed.right as Record<string, unknown>
    : {}
  return Object.entries(outputs).map(([taskName, output]) => ({ ...base, taskName, output: JSON.stringify(output ?? null) }))
}
