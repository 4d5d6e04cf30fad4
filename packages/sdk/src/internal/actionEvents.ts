/**
 * The worker's step action events on their way to the engine, coalesced under load.
 *
 * Every event is queued. When fewer than `inFlight` rounds of calls are outstanding, a round
 * starts in a fiber of its own, which follows what the event loop's current callback submits to
 * its end (`gather`: no later than the loop would have written its calls), then takes everything
 * queued by then and sends it as one round of concurrent calls. The STARTs that one read of the
 * listen stream delivers, and the tasks they start, run in that callback: their events leave in
 * one round, though the first task's STARTED started it. A fast task's STARTED and result are
 * thus submitted before the round takes its events and leave together, the result first (it is
 * what the engine and the run's waiters need; Hatchet records STARTED for monitoring only, apart from the
 * task's state): the result's call is made from the round's fiber, then the STARTED call. A round
 * of a lone run (its STARTED and its result, two events) makes both calls in the same turn of the
 * event loop, so Node's HTTP/2 writes them in one write (one syscall, one read for the engine,
 * one loop turn less than writing STARTED a turn later); in a larger round the STARTED calls
 * wait until the event loop has written the results' calls (one turn), so that the results do
 * not wait for the encoding and framing of many STARTED events. A lone event goes out as
 * `SendStepActionEvent`, as the official SDKs send it. With the SDK's own dispatcher (its event
 * calls in callback form, ./dispatcher.ts) a round has no fiber: it follows the burst (or
 * lingers) with a callback, makes its calls in callback form (no fiber, effect or wait per call)
 * and ends when every call is back; only a call that failed (made again through the retrying
 * effect, which sees that failure first) or an event's callback that asks for an effect gets a
 * fiber. A fake's or a wrapper's rounds and calls run on fibers as described.
 * When several STARTED or COMPLETED events have queued up, those of one type and action go out
 * together in one `SendBatchActionEvent` (upstream: "instead of one SendStepActionEvent call per
 * task"), within the message size limit. FAILED and CANCELLED events always go one by one. An
 * engine without the batch call (`UNIMPLEMENTED`, before v0.98) gets every event one by one from
 * then on.
 *
 * Two rounds in flight (the default): a task's result can leave while an earlier round is in
 * flight. Under load, a round that starts while another one carrying several events is in flight
 * first lingers 1 ms (real time, whatever the Clock) to gather what else is queued: without it the
 * second round would leave with the first events to arrive, halving batch sizes (the README's
 * Benchmarks says what that costs). A lone task's events do not linger.
 *
 * `submit` returns at once with an effect that waits for the engine's acknowledgement;
 * `unsafePost` waits for nothing and hands the outcome to a callback (a task's fiber ends with its
 * result queued), and `idle` waits until every event queued has been answered (a draining worker). Rounds
 * take events in the order submitted, but calls of one round, or of two rounds in flight, may
 * reach the engine in either order: a task's STARTED may arrive after its result, as from the
 * official SDKs.
 *
 * @internal
 */
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { whenQuiet } from "@effect-hatchet/shared/Microtasks"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { Status } from "nice-grpc-common"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcError } from "../HatchetError.js"
import type { DirectCalls } from "./dispatcher.js"

/** @internal */
export interface ActionEventSender {
  /**
   * Queues an event; the returned effect waits until the engine acknowledged it (or it failed).
   * Run it once.
   */
  readonly submit: (event: Proto.StepActionEvent) => Effect.Effect<Effect.Effect<void, GrpcError>>
  /** `submit`, queuing the event as it is called (for a caller already in an effect). */
  readonly unsafeSubmit: (event: Proto.StepActionEvent) => Effect.Effect<void, GrpcError>
  /**
   * Queues an event as it is called, and waits for nothing: `onDone` gets the call's outcome from
   * the fiber of the round that sent it, which runs the effect it returns (e.g. a log line).
   */
  readonly unsafePost: (
    event: Proto.StepActionEvent,
    onDone: (exit: Exit.Exit<void, GrpcError>) => Effect.Effect<void> | undefined
  ) => void
  /** Waits until every event queued so far has been sent and answered (or has failed). */
  readonly idle: Effect.Effect<void>
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
  /** Each call's deadline (real time). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Wraps every call (named by its method): retries. */
  readonly call: (method: string, effect: Effect.Effect<void, GrpcError>) => Effect.Effect<void, GrpcError>
  /**
   * The dispatcher's two event calls in callback form (./dispatcher.ts `unsafeEventCallOf`), when
   * it has them: a round then makes its calls under one wait of its fiber, with no fiber per call;
   * a call that fails is made again through `call`, whose retries see that failure first.
   */
  readonly direct?: DirectCalls | undefined
}

/** A call that failed: its events, and its failure. */
type Failed = readonly [ReadonlyArray<Pending>, Exit.Exit<unknown, GrpcError>]

interface Pending {
  readonly event: Proto.StepActionEvent
  /** Called once, with the call's outcome; the effect it returns runs on the round's fiber. */
  readonly done: (exit: Exit.Exit<void, GrpcError>) => Effect.Effect<void> | undefined | void
}

/**
 * A queued event: a class rather than an object literal, made per event and kept until the
 * engine answers (see ./attempt.ts on V8's pretenuring).
 */
class QueuedEvent implements Pending {
  constructor(
    readonly event: Proto.StepActionEvent,
    readonly done: (exit: Exit.Exit<void, GrpcError>) => Effect.Effect<void> | undefined | void
  ) {}
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
  // a lone run's round (its result and its STARTED, or one event): no grouping to do
  if (pending.length === 1 || (pending.length === 2 && pending[0]!.event.eventType !== pending[1]!.event.eventType)) {
    return pending.map((p) => [p])
  }
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

/** How long closing the sender waits for the events queued before (real time). */
const CLOSE_WAIT = Duration.seconds(15)

const isUnimplemented = (exit: Exit.Exit<void, GrpcError>) =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (e) => e.code === Status.UNIMPLEMENTED)

/** Results first: a round's STARTED events go out after the results gathered with them. */
const resultsFirst = (taken: Array<Pending>): Array<Pending> => {
  let started = 0
  for (const p of taken) if (p.event.eventType === StepActionEventType.STEP_EVENT_TYPE_STARTED) started++
  if (started === 0 || started === taken.length) return taken
  const ordered: Array<Pending> = []
  for (const p of taken) if (p.event.eventType !== StepActionEventType.STEP_EVENT_TYPE_STARTED) ordered.push(p)
  for (const p of taken) if (p.event.eventType === StepActionEventType.STEP_EVENT_TYPE_STARTED) ordered.push(p)
  return ordered
}

const isStarted = (group: ReadonlyArray<Pending>) => group[0]!.event.eventType === StepActionEventType.STEP_EVENT_TYPE_STARTED

/** `effect`, whose first run fails with `first` (a failure already seen) when there is one. */
const replaying = (first: Exit.Exit<unknown, GrpcError> | undefined, effect: Effect.Effect<void, GrpcError>) => {
  if (first === undefined) return effect
  let replay = true
  return Effect.suspend(() => {
    if (!replay) return effect
    replay = false
    return first as Exit.Exit<void, GrpcError>
  })
}

/**
 * Resumes once the event loop has written what the calls made so far queued: Node's HTTP/2 sends
 * a session's pending frames in the loop's check phase, before the callbacks `setImmediate`
 * queued. The STARTED events of a round larger than a lone run wait for it, so that the calls carrying its results leave
 * first, without STARTED's encoding and framing before them.
 */
const afterWrites: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Starts the sender in the current scope. Closing the scope first waits (at most 15 s) until what
 * was queued has been answered, then stops it: what is still queued or in flight is abandoned.
 *
 * @internal
 */
export const make = (options: ActionEventOptions): Effect.Effect<ActionEventSender, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { call, direct, dispatcher, maxBatchBytes } = options
    const callOptions = { timeout: options.timeout }
    const maxBatchSize = options.maxBatchSize ?? 500
    const maxInFlight = options.inFlight ?? 2
    const calls = yield* FiberSet.make<void, never>()
    // rounds run with the sender's own context (not the context of the task that submitted)
    const runRound = yield* FiberSet.runtime(calls)<never>()
    let batches = true
    let closed = false
    // what was queued before the scope closes is still sent (an attempt interrupted as the worker's
    // scope closes queues its FAILED and ends), for at most CLOSE_WAIT of real time
    yield* Effect.addFinalizer(() =>
      idle.pipe(
        Effect.timeoutOption(CLOSE_WAIT),
        Effect.withClock(liveClock),
        Effect.zipRight(Effect.sync(() => {
          closed = true
          for (const cancel of directRounds.splice(0)) cancel()
        }))
      )
    )

    /** Events queued and not yet answered, and what waits for there to be none. */
    let outstanding = 0
    let idleWaiters: Array<() => void> = []

    /**
     * Hands a call's outcome to its events (as it arrives); returns what their callbacks ask to
     * run on the round's fiber, if anything.
     */
    const settle = (group: ReadonlyArray<Pending>, exit: Exit.Exit<void, GrpcError>): Effect.Effect<void> | undefined => {
      let after: Array<Effect.Effect<void>> | undefined
      for (const p of group) {
        const effect = p.done(exit)
        if (effect !== undefined) (after ??= []).push(effect)
      }
      outstanding -= group.length
      if (outstanding === 0 && idleWaiters.length > 0) {
        const waiters = idleWaiters
        idleWaiters = []
        for (const resume of waiters) resume()
      }
      return after === undefined ? undefined : Effect.all(after, { discard: true })
    }

    const complete = (group: ReadonlyArray<Pending>, exit: Exit.Exit<void, GrpcError>) =>
      Effect.suspend(() => settle(group, exit) ?? Effect.void)

    /** One event's call (through `call`, which sees `first` first when the call failed already). */
    const sendAlone = (p: Pending, first?: Exit.Exit<unknown, GrpcError>) =>
      Effect.flatMap(
        Effect.exit(call("SendStepActionEvent", replaying(first, dispatcher.sendStepActionEvent(p.event, callOptions)))),
        (exit) => complete([p], exit)
      )

    const sendEachAlone = (group: ReadonlyArray<Pending>) =>
      Effect.forEach(group, (p) => sendAlone(p), { concurrency: "unbounded", discard: true })

    /** A call of the plan (through `call`, which sees `first` first when the call failed already). */
    const sendGroup = (group: ReadonlyArray<Pending>, first?: Exit.Exit<unknown, GrpcError>): Effect.Effect<void> => {
      if (group.length === 1) return sendAlone(group[0]!, first)
      if (!batches) return sendEachAlone(group)
      return Effect.flatMap(
        Effect.exit(call("SendBatchActionEvent", replaying(first, dispatcher.sendBatchActionEvent(batchRequest(group), callOptions)))),
        (exit) => {
          if (!isUnimplemented(exit)) return complete(group, exit)
          batches = false
          return sendEachAlone(group)
        }
      )
    }

    /**
     * Starts a round's calls in the dispatcher's callback form (no fiber, effect or wait per
     * call): in plan order, the STARTED calls of a round with results once the event loop wrote
     * the results' calls (as `afterWrites`). Each call's events are settled as its answer
     * arrives; once every call is back, `onEnd` gets the calls that failed and what the events'
     * callbacks asked to run, if any. Returns what cancels the calls still out (their events are
     * abandoned, as an interrupted call fiber's are).
     */
    const startDirect = (
      direct: DirectCalls,
      planned: ReadonlyArray<ReadonlyArray<Pending>>,
      startedAfterWrites: boolean,
      onEnd: (failed: Array<Failed> | undefined, after: Array<Effect.Effect<void>> | undefined) => void
    ): () => void => {
      let failed: Array<Failed> | undefined
      let after: Array<Effect.Effect<void>> | undefined
      // the calls out, and one for the starting itself (a call may fail as it starts)
      let out = 1
      let cancelled = false
      const cancels: Array<() => void> = []
      const ended = () => {
        if (--out === 0) onEnd(failed, after)
      }
      const start = (group: ReadonlyArray<Pending>) => {
        out++
        const onExit = (exit: Exit.Exit<unknown, GrpcError>) => {
          if (cancelled) return
          if (Exit.isSuccess(exit)) {
            const effect = settle(group, Exit.void)
            if (effect !== undefined) (after ??= []).push(effect)
          } else {
            ;(failed ??= []).push([group, exit])
          }
          ended()
        }
        const cancel = group.length === 1
          ? direct.sendStepActionEvent(group[0]!.event, callOptions, onExit)
          : direct.sendBatchActionEvent(batchRequest(group), callOptions, onExit)
        if (cancel !== undefined) cancels.push(cancel)
      }
      let later: Array<ReadonlyArray<Pending>> | undefined
      for (const group of planned) {
        if (startedAfterWrites && isStarted(group)) (later ??= []).push(group)
        else start(group)
      }
      let handle: ReturnType<typeof setImmediate> | undefined
      if (later !== undefined) {
        const startLater = later
        out++
        handle = setImmediate(() => {
          handle = undefined
          for (const group of startLater) start(group)
          ended()
        })
      }
      ended()
      return () => {
        cancelled = true
        if (handle !== undefined) clearImmediate(handle)
        for (const cancel of cancels) cancel()
      }
    }

    /**
     * What is left of a round of direct calls, on a fiber: the effects its events' callbacks
     * asked for, then its failed calls again through `sendGroup` (the retries, the fallback to
     * single calls), concurrently.
     */
    const afterDirect = (failed: Array<Failed> | undefined, after: Array<Effect.Effect<void>> | undefined) => {
      const effects = after === undefined ? Effect.void : Effect.all(after, { discard: true })
      if (failed === undefined) return effects
      return Effect.zipRight(
        effects,
        Effect.forEach(failed, ([group, exit]) => sendGroup(group, exit), { concurrency: "unbounded", discard: true })
      )
    }

    // the linger is a batching heuristic, not a timer of the protocol: real time, even under TestClock
    const lingerFor = Duration.decode(options.linger ?? "1 millis")
    const linger = Duration.isZero(lingerFor) ? Effect.void : liveClock.sleep(lingerFor)
    const lingerMillis = Duration.toMillis(lingerFor)

    /** Events submitted and not yet taken by a round. */
    let pending: Array<Pending> = []
    /** Events submitted so far. */
    let submitted = 0
    const readSubmitted = () => submitted
    /** Rounds started and not ended (one of them may not have taken its events yet). */
    let rounds = 0
    /** A round has started that has not taken its events yet. */
    let starting = false
    /** Events in the round that took its events last. */
    let lastRound = 0

    /**
     * Starts a round when events wait, none is starting and fewer than `inFlight` are out. The
     * round's fiber starts once the submitting fiber yields, so what it submits in the same run
     * (a fast task's STARTED and result) leaves in the same round.
     */
    const maybeStart = (): void => {
      if (starting || closed || pending.length === 0 || rounds >= maxInFlight) return
      starting = true
      rounds++
      if (direct === undefined || !batches) {
        runRound(round, { immediate: false })
      } else if (rounds > 1 && lastRound > 1 && lingerMillis > 0) {
        setTimeout(directRound, lingerMillis)
      } else {
        whenQuiet(readSubmitted, directRound)
      }
    }

    const endRound = Effect.sync(() => {
      rounds--
      maybeStart()
    })

    /**
     * Takes what is queued for a round, planned into calls; `results`: the round has results and
     * more than a lone run's two events (results come first), so its STARTED calls wait until
     * the results' calls were written.
     */
    const take = (): { readonly planned: Array<ReadonlyArray<Pending>>; readonly results: boolean } => {
      starting = false
      const taken = pending.length <= maxBatchSize * 4 ? pending : pending.slice(0, maxBatchSize * 4)
      pending = taken === pending ? [] : pending.slice(taken.length)
      lastRound = taken.length
      // another round may start for what is left
      maybeStart()
      const planned = plan(resultsFirst(taken), maxBatchBytes, maxBatchSize)
      return { planned, results: !isStarted(planned[0]!) && taken.length > 2 }
    }

    /** What cancels each round of direct calls in flight (closing the sender cancels them). */
    const directRounds: Array<() => void> = []

    /**
     * A round of direct calls, without a fiber (started once the burst ended, or after its
     * linger): it ends when every call is back, on a fiber only when a call failed or an event's
     * callback asked for an effect.
     */
    const directRound = (): void => {
      if (closed) return
      const { planned, results } = take()
      // (set once started: a round whose calls all fail as they start ends before)
      let cancel: (() => void) | undefined = undefined
      let ended = false
      cancel = startDirect(direct!, planned, results, (failed, after) => {
        ended = true
        if (cancel !== undefined) directRounds.splice(directRounds.indexOf(cancel), 1)
        if (failed === undefined && after === undefined) {
          rounds--
          return maybeStart()
        }
        runRound(Effect.ensuring(afterDirect(failed, after), endRound))
      })
      if (!ended) directRounds.push(cancel)
    }

    const takeAndSend = Effect.suspend(() => {
      const { planned, results } = take()
      const first = sendGroup(planned[0]!)
      if (planned.length === 1) return first
      // the first call on the round's fiber, each other one on a fiber of its own, started right
      // after it in plan order (lighter than a concurrent `forEach`)
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (let i = 1; i < planned.length; i++) {
        const group = planned[i]!
        fibers.push(runRound(results && isStarted(group) ? Effect.zipRight(afterWrites, sendGroup(group)) : sendGroup(group), {
          immediate: false
        }))
      }
      return Effect.zipRight(first, Effect.asVoid(Fiber.awaitAll(fibers)))
    })

    /**
     * Follows a burst to its end (`whenQuiet`): grpc-js delivers a read's messages one per tick,
     * each then decoded and handled in microtasks, so the STARTs of one read, the tasks they start
     * and the events those submit arrive over as many runs of the microtask queue; a run that
     * submits nothing ends it. A lone task's events wait for two runs, not for a turn of the event
     * loop: its calls are written when they would have been.
     */
    const gather: Effect.Effect<void> = Effect.async<void>((resume) => Effect.sync(whenQuiet(readSubmitted, () => resume(Effect.void))))

    /**
     * One round: under load (another round of several events in flight) it first lingers to
     * gather events, else it follows a burst to its end (`gather`); then it takes what is queued
     * and sends it as concurrent calls.
     */
    const round: Effect.Effect<void> = Effect.ensuring(
      Effect.suspend(() => Effect.zipRight(rounds > 1 && lastRound > 1 ? linger : gather, takeAndSend)),
      endRound
    )

    const unsafePost: ActionEventSender["unsafePost"] = (event, done) => {
      outstanding++
      submitted++
      pending.push(new QueuedEvent(event, done))
      maybeStart()
    }

    const idle: Effect.Effect<void> = Effect.async<void>((resume) => {
      if (outstanding === 0) return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      idleWaiters.push(waiter)
      return Effect.sync(() => {
        idleWaiters = idleWaiters.filter((w) => w !== waiter)
      })
    })

    const unsafeSubmit = (event: Proto.StepActionEvent): Effect.Effect<void, GrpcError> => {
      // the acknowledgement, awaited once (lighter than a Deferred, made per event)
      let outcome: Exit.Exit<void, GrpcError> | undefined
      let resume: ((exit: Exit.Exit<void, GrpcError>) => void) | undefined
      unsafePost(event, (exit) => {
        if (resume !== undefined) resume(exit)
        else outcome = exit
        return undefined
      })
      // acknowledged already by the time it is awaited: no suspension
      return Effect.suspend(() =>
        outcome !== undefined ? outcome : Effect.async<void, GrpcError>((callback) => {
          if (outcome !== undefined) callback(outcome)
          else resume = callback
        })
      )
    }

    return {
      submit: (event) => Effect.sync(() => unsafeSubmit(event)),
      unsafeSubmit,
      unsafePost,
      idle,
      send: (event) => Effect.suspend(() => unsafeSubmit(event))
    }
  })
