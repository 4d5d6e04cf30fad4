/**
 * The worker's step action events on their way to the engine, coalesced under load.
 *
 * Every event is queued; a loop takes everything queued whenever fewer than `inFlight` rounds of
 * calls are outstanding, and sends it as one round of concurrent calls. A lone event goes out as
 * `SendStepActionEvent`, as the official SDKs send it. When several STARTED or COMPLETED events
 * have queued up (because a round was in flight), those of one type and action go out together in
 * one `SendBatchActionEvent` (upstream: "instead of one SendStepActionEvent call per task"),
 * within the message size limit. FAILED and CANCELLED events always go one by one. An engine
 * without the batch call (`UNIMPLEMENTED`, before v0.98) gets every event one by one from then on.
 *
 * Two rounds in flight (the default): a task's COMPLETED goes out while its STARTED is still in
 * flight, so a lone task costs one round trip, not two (pnpm bench, one run at a time: 5 ms
 * instead of 8 ms from START sent to result recorded). Under load, a round that starts while
 * another one carrying several events is in flight first lingers 1 ms (real time, whatever the
 * Clock) to gather what else is queued: without it the second round would leave with the first
 * event to arrive, halving batch sizes (pnpm bench: about 10 % fewer tasks per second and 12 %
 * more CPU per task; with it, the throughput and CPU of one round in flight). A lone task's
 * result does not linger: the round in flight carries only its STARTED.
 *
 * `submit` returns at once with an effect that waits for the engine's acknowledgement. Rounds
 * take events in the order submitted, but calls of two rounds in flight may reach the engine in
 * either order: a task's STARTED may arrive after its result, as from the official SDKs (Hatchet
 * records STARTED for monitoring only, apart from the task's state).
 *
 * @internal
 */
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Cause, Clock, Deferred, Duration, Effect, Exit, FiberId, FiberSet, Option, Queue, type Scope } from "effect"
import { Status } from "nice-grpc-common"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcError } from "../HatchetError.js"

/** @internal */
export interface ActionEventSender {
  /** Queues an event; the returned effect waits until the engine acknowledged it (or it failed). */
  readonly submit: (event: Proto.StepActionEvent) => Effect.Effect<Effect.Effect<void, GrpcError>>
  /** Sends an event and waits for the engine's acknowledgement. */
  readonly send: (event: Proto.StepActionEvent) => Effect.Effect<void, GrpcError>
}

/** @internal */
export interface ActionEventOptions {
  readonly dispatcher: DispatcherShape
  /** A batch's payloads stay under this many bytes (UTF-8). */
  readonly maxBatchBytes: number
  /** Events per batch call. Default 500. */
  readonly maxBatchSize?: number | undefined
  /** Rounds of calls outstanding at once. Default 2. */
  readonly inFlight?: number | undefined
  /**
   * How long a round that starts while a round of several events is in flight waits to gather
   * events (real time). Default 1 ms.
   */
  readonly linger?: Duration.DurationInput | undefined
  /** Wraps every call (named by its method): timeouts and retries. */
  readonly call: (method: string, effect: Effect.Effect<void, GrpcError>) => Effect.Effect<void, GrpcError>
}

interface Pending {
  readonly event: Proto.StepActionEvent
  readonly done: Deferred.Deferred<void, GrpcError>
}

const batchable = (type: StepActionEventType) =>
  type === StepActionEventType.STEP_EVENT_TYPE_STARTED || type === StepActionEventType.STEP_EVENT_TYPE_COMPLETED

/** Room for an item's fields besides its payload. */
const ITEM_BYTES = 96

/** UTF-8 size of a payload, measured only when its length alone cannot settle it. */
const payloadBytes = (payload: string, budget: number): number =>
  payload.length * 3 <= budget ? payload.length * 3 : new TextEncoder().encode(payload).length

/**
 * Splits what was queued into calls: batches of STARTED or COMPLETED events of one worker and
 * action (in queue order, within the limits), and single events.
 *
 * @internal
 */
export const plan = (
  pending: ReadonlyArray<Pending>,
  maxBatchBytes: number,
  maxBatchSize: number
): Array<ReadonlyArray<Pending>> => {
  const calls: Array<Array<Pending>> = []
  const open = new Map<string, { items: Array<Pending>; bytes: number }>()
  for (const p of pending) {
    const event = p.event
    if (!batchable(event.eventType)) {
      calls.push([p])
      continue
    }
    const key = `${event.eventType}\u0000${event.workerId}\u0000${event.actionId}`
    const bytes = payloadBytes(event.eventPayload, maxBatchBytes) + ITEM_BYTES
    let group = open.get(key)
    if (group !== undefined && (group.items.length >= maxBatchSize || group.bytes + bytes > maxBatchBytes)) {
      open.delete(key)
      group = undefined
    }
    if (group === undefined) {
      group = { items: [], bytes: 0 }
      open.set(key, group)
      calls.push(group.items)
    }
    group.items.push(p)
    group.bytes += bytes
  }
  return calls
}

/** The batch call for events of one type, worker and action. */
const batchRequest = (group: ReadonlyArray<Pending>): Proto.BatchActionEvent => {
  const first = group[0]!.event
  return {
    workerId: first.workerId,
    jobId: first.jobId,
    actionId: first.actionId,
    batchId: undefined,
    eventTimestamp: first.eventTimestamp,
    eventType: first.eventType,
    items: group.map(({ event }) => ({
      taskRunExternalId: event.taskRunExternalId,
      eventPayload: event.eventPayload,
      retryCount: event.retryCount,
      shouldNotRetry: event.shouldNotRetry
    }))
  }
}

const liveClock = Clock.make()

const isUnimplemented = (exit: Exit.Exit<void, GrpcError>) =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (e) => e.code === Status.UNIMPLEMENTED)

/**
 * Starts the sender in the current scope. Closing the scope stops it: events still queued or in
 * flight are abandoned, so close it after everything that waits on it.
 *
 * @internal
 */
export const make = (options: ActionEventOptions): Effect.Effect<ActionEventSender, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { call, dispatcher, maxBatchBytes } = options
    const maxBatchSize = options.maxBatchSize ?? 500
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
    const calls = yield* FiberSet.make<void, never>()
    const permits = yield* Effect.makeSemaphore(options.inFlight ?? 2)
    let batches = true

    const complete = (group: ReadonlyArray<Pending>, exit: Exit.Exit<void, GrpcError>) =>
      Effect.forEach(group, (p) => Deferred.done(p.done, exit), { discard: true })

    const sendAlone = (p: Pending) =>
      Effect.flatMap(Effect.exit(call("SendStepActionEvent", dispatcher.sendStepActionEvent(p.event))), (exit) => Deferred.done(p.done, exit))

    const sendGroup = (group: ReadonlyArray<Pending>): Effect.Effect<void> => {
      if (group.length === 1 || !batches) return Effect.forEach(group, sendAlone, { concurrency: "unbounded", discard: true })
      return Effect.flatMap(Effect.exit(call("SendBatchActionEvent", dispatcher.sendBatchActionEvent(batchRequest(group)))), (exit) => {
        if (!isUnimplemented(exit)) return complete(group, exit)
        batches = false
        return Effect.forEach(group, sendAlone, { concurrency: "unbounded", discard: true })
      })
    }

    // the linger is a batching heuristic, not a timer of the protocol: real time, even under TestClock
    const lingerFor = Duration.decode(options.linger ?? "1 millis")
    const linger = Duration.isZero(lingerFor) ? Effect.void : liveClock.sleep(lingerFor)
    let rounds = 0
    /** Events in the round that started last. */
    let lastRound = 0
    const endRound = Effect.zipRight(Effect.sync(() => rounds--), permits.release(1))

    yield* permits.take(1).pipe(
      Effect.zipRight(Queue.take(queue)),
      Effect.tap(() => rounds > 0 && lastRound > 1 ? linger : Effect.void),
      Effect.flatMap((first) => Queue.takeUpTo(queue, maxBatchSize * 4 - 1).pipe(Effect.map((rest) => [first, ...rest]))),
      Effect.flatMap((taken) => {
        rounds++
        lastRound = taken.length
        return FiberSet.run(
          calls,
          Effect.forEach(plan(taken, maxBatchBytes, maxBatchSize), sendGroup, {
            concurrency: "unbounded",
            discard: true
          }).pipe(Effect.ensuring(endRound))
        )
      }),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )

    const submit = (event: Proto.StepActionEvent) =>
      Effect.sync(() => {
        const done = Deferred.unsafeMake<void, GrpcError>(FiberId.none)
        Queue.unsafeOffer(queue, { event, done })
        return Deferred.await(done)
      })

    return { submit, send: (event) => Effect.flatten(submit(event)) }
  })
