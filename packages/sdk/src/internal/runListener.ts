/**
 * The shared `SubscribeToWorkflowRuns` stream: waiters by run id, one outbox per connection,
 * replay of every pending run id on each new connection.
 *
 * All state changes happen in synchronous blocks (`Effect.sync`), so "register a waiter and send
 * its id on the current outbox" and "install a new outbox and replay every pending id" cannot
 * interleave: whichever runs second sees the other's effect. That is the whole invariant.
 *
 * @internal
 */
import {
  DispatcherDefinition,
  type StepRunResult,
  type SubscribeToWorkflowRunsRequest,
  type WorkflowRunEvent
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import { type GetRunDetailsResponse, RunStatus } from "@effect-hatchet/proto/v1/workflows"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AdminShape } from "../Admin.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import type { GrpcError } from "../HatchetError.js"
import type { RunListenerOptions, RunListenerShape } from "../RunListener.js"
import { reconnectBackoff } from "./retry.js"

type Waiter = Deferred.Deferred<WorkflowRunEvent>

/** How one connection of the shared stream ended. */
export interface ConnectionEnd {
  readonly exit: Exit.Exit<void, GrpcError>
  /** Whether it delivered at least one event. */
  readonly received: boolean
  /** How many runs were still awaited when it ended. */
  readonly pending: number
}

/**
 * When the shared stream opens again after a connection ended: with `reconnectBackoff` (jittered
 * exponential from `initial`, capped at `max`, no give-up cap), back to `initial` after a
 * connection that delivered an event, and at once when no run is awaited (the next connection
 * then waits for a subscription). `attempt` counts the connections since the last reset, from 1.
 */
export const reconnectSchedule = (
  initial: Duration.DurationInput,
  max: Duration.DurationInput
): Schedule.Schedule<{ readonly end: ConnectionEnd; readonly delay: Duration.Duration; readonly attempt: number }, ConnectionEnd> =>
  Schedule.identity<ConnectionEnd>().pipe(
    Schedule.intersect(reconnectBackoff(initial, max)),
    Schedule.intersect(Schedule.count),
    Schedule.map(([[end, delay], count]) => ({ end, delay, attempt: count + 1 })),
    Schedule.resetWhen(({ end }) => end.received),
    Schedule.modifyDelay(({ end }, delay) => (end.pending === 0 ? Duration.zero : delay))
  )

/** @internal */
export const make = (options: RunListenerOptions): Effect.Effect<RunListenerShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const initialDelay = Duration.decode(options.reconnect?.initialDelay ?? "100 millis")
    const maxDelay = Duration.decode(options.reconnect?.maxDelay ?? "5 seconds")

    const waiters = new Map<string, Set<Waiter>>()
    /** The outbox of the open connection, if any. */
    let outbox: Queue.Queue<SubscribeToWorkflowRunsRequest> | undefined
    let started = false
    let connections = 0
    /** Open while runs are awaited. */
    const hasWaiters = yield* Effect.makeLatch(false)

    const register = (runId: string, waiter: Waiter) =>
      Effect.sync(() => {
        let set = waiters.get(runId)
        if (set === undefined) {
          set = new Set()
          waiters.set(runId, set)
          // A run id already in the map was sent on this outbox (or replayed into it).
          if (outbox !== undefined) outbox.unsafeOffer({ workflowRunId: runId })
        }
        set.add(waiter)
        hasWaiters.unsafeOpen()
      })

    const remove = (runId: string) => {
      waiters.delete(runId)
      if (waiters.size === 0) hasWaiters.unsafeClose()
    }

    const unregister = (runId: string, waiter: Waiter) =>
      Effect.sync(() => {
        const set = waiters.get(runId)
        if (set === undefined) return
        set.delete(waiter)
        if (set.size === 0) remove(runId)
      })

    const deliver = (event: WorkflowRunEvent) =>
      Effect.sync(() => {
        const set = waiters.get(event.workflowRunId)
        if (set === undefined) return // not awaited (any more): ignore
        remove(event.workflowRunId)
        for (const waiter of set) Deferred.unsafeDone(waiter, Exit.succeed(event))
      })

    /** One connection: install a fresh outbox, replay every pending id, consume events until the stream ends. */
    const connection = Effect.gen(function*() {
      const queue = yield* Queue.unbounded<SubscribeToWorkflowRunsRequest>()
      yield* Effect.sync(() => {
        connections++
        outbox = queue
        for (const runId of waiters.keys()) queue.unsafeOffer({ workflowRunId: runId })
      })
      let received = false
      const exit = yield* options.connect(Stream.fromQueue(queue)).pipe(
        Stream.runForEach((event) => {
          received = true
          return deliver(event)
        }),
        Effect.exit
      )
      yield* Effect.sync(() => {
        if (outbox === queue) outbox = undefined
      })
      yield* Queue.shutdown(queue)
      return { received, exit }
    })

    /** Opens a connection once runs are awaited; says how it ended and how many runs are still awaited. */
    const connectWhenAwaited = Effect.zipRight(
      hasWaiters.await,
      Effect.map(connection, ({ exit, received }): ConnectionEnd => ({ exit, received, pending: waiters.size }))
    )

    const loop = Effect.repeat(
      connectWhenAwaited,
      reconnectSchedule(initialDelay, maxDelay).pipe(
        Schedule.tapOutput(({ attempt, delay, end }) =>
          end.pending === 0
            ? Effect.logDebug("SubscribeToWorkflowRuns ended; no run is awaited, reconnecting on demand")
            : Effect.logWarning(
              `SubscribeToWorkflowRuns ${Exit.isSuccess(end.exit) ? "ended" : "failed"}; ${end.pending} run(s) awaited, ` +
                `reconnecting in ${Duration.format(delay)} (attempt ${attempt})`,
              ...(Exit.isFailure(end.exit) ? [end.exit.cause] : [])
            )
        )
      )
    ).pipe(Effect.annotateLogs({ service: "RunListener" }))

    const ensureStarted = Effect.suspend(() => {
      if (started) return Effect.void
      started = true
      return loop.pipe(Effect.interruptible, Effect.forkIn(scope), Effect.asVoid)
    })

    // Closing the listener interrupts waiters that are still pending.
    const fiberId = yield* Effect.fiberId
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const set of waiters.values()) for (const waiter of set) Deferred.unsafeDone(waiter, Exit.interrupt(fiberId))
        waiters.clear()
        outbox = undefined
      })
    )

    const withResults = (event: WorkflowRunEvent): Effect.Effect<WorkflowRunEvent, GrpcError> =>
      event.results.length > 0
        ? Effect.succeed(event)
        : Effect.map(options.details(event.workflowRunId), (results) => ({ ...event, results: [...results] }))

    const subscribe: RunListenerShape["subscribe"] = (runId) =>
      Effect.zipRight(
        ensureStarted,
        Effect.acquireRelease(
          Effect.tap(Deferred.make<WorkflowRunEvent>(), (waiter) => register(runId, waiter)),
          (waiter) => unregister(runId, waiter)
        )
      ).pipe(Effect.map((waiter) => Effect.flatMap(Deferred.await(waiter), withResults)))

    return {
      subscribe,
      await: (runId) => Effect.scoped(Effect.flatten(subscribe(runId))),
      pending: Effect.sync(() => waiters.size),
      connections: Effect.sync(() => connections)
    } satisfies RunListenerShape
  })

const decoder = new TextDecoder()

/**
 * `StepRunResult`s from `GetRunDetails`, shaped as the stream would have sent them: outputs as
 * JSON text, failures as their error text, cancelled tasks with an empty error.
 *
 * @internal
 */
export const resultsFromDetails = (details: GetRunDetailsResponse): Array<StepRunResult> => {
  const results: Array<StepRunResult> = []
  for (const [key, task] of Object.entries(details.taskRuns)) {
    const base = {
      taskRunExternalId: task.externalId,
      taskName: task.readableId === "" ? key : task.readableId,
      jobRunId: task.externalId
    }
    switch (task.status) {
      case RunStatus.COMPLETED:
        results.push({ ...base, output: task.output === undefined ? "null" : decoder.decode(task.output) })
        break
      case RunStatus.FAILED:
        results.push({ ...base, error: task.error ?? "the task failed without an error message" })
        break
      case RunStatus.CANCELLED:
        results.push({ ...base, error: task.error ?? "" })
        break
      default:
        break
    }
  }
  return results
}

/** @internal */
export const grpcOptions = (
  transport: GrpcTransportShape,
  admin: AdminShape
): Pick<RunListenerOptions, "connect" | "details"> => ({
  // straight on grpc-js: one run at a time, nice-grpc's generators and queues took about as long
  // as the engine's round trip (the README's Benchmarks)
  connect: (requests) => transport.bidi(DispatcherDefinition.fullName, DispatcherDefinition.methods.subscribeToWorkflowRuns, requests),
  details: (runId) => Effect.map(admin.getRunDetails(runId), resultsFromDetails)
})
