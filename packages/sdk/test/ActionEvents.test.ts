/**
 * The worker's step action event sender (internal/actionEvents): lone events go one by one, events
 * that queue up while a call is in flight go together, FAILED never does, an engine without
 * `SendBatchActionEvent` gets single calls, a second round in flight lingers to gather events,
 * what a task submits before its fiber yields leaves in one round, its result first (within the
 * turn of the event loop), what the tasks of one burst submit leaves in one round too (fibers one
 * after another, or messages delivered a tick each as grpc-js does), and a submitter interrupted
 * while it waits loses nothing. A round takes its events once a run of the microtask queue
 * submitted nothing, so the tests let the event loop turn (`settle`) rather than only yield.
 */
import type * as Proto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, type Duration, Effect, Exit, Fiber, FiberId, Queue, Runtime, Scope } from "effect"
import { Status } from "nice-grpc-common"
import type { CallOptions, DispatcherShape } from "../src/Dispatcher.js"
import { GrpcError } from "../src/HatchetError.js"
import * as ActionEvents from "../src/internal/actionEvents.js"
import type { DirectCalls, UnsafeEventCall } from "../src/internal/dispatcher.js"

const { STEP_EVENT_TYPE_COMPLETED: COMPLETED, STEP_EVENT_TYPE_FAILED: FAILED, STEP_EVENT_TYPE_STARTED: STARTED } = StepActionEventType

const event = (id: string, eventType: StepActionEventType, over: Partial<Proto.StepActionEvent> = {}): Proto.StepActionEvent => ({
  workerId: "w",
  jobId: "job-a",
  jobRunId: `jr-${id}`,
  taskId: "step-a",
  taskRunExternalId: id,
  actionId: "wf:a",
  eventTimestamp: new Date(0),
  eventType,
  eventPayload: `{"id":"${id}"}`,
  retryCount: 0,
  shouldNotRetry: undefined,
  ...over
})

type Call = { readonly method: "single"; readonly event: Proto.StepActionEvent } | {
  readonly method: "batch"
  readonly batch: Proto.BatchActionEvent
}

/** A dispatcher whose event calls wait for `release` (one permit per call) and are recorded. */
const recordingDispatcher = (options: { readonly batch?: "ok" | "unimplemented" | "fails" } = {}) =>
  Effect.gen(function*() {
    const calls: Array<Call> = []
    const gate = yield* Queue.unbounded<void>()
    const answer = (call: Call) =>
      Effect.zipRight(
        Effect.sync(() => calls.push(call)),
        Queue.take(gate)
      )
    const dispatcher = {
      sendStepActionEvent: (e: Proto.StepActionEvent) => answer({ method: "single", event: e }),
      sendBatchActionEvent: (b: Proto.BatchActionEvent) =>
        options.batch === "unimplemented"
          ? Effect.zipRight(
            Effect.sync(() => calls.push({ method: "batch", batch: b })),
            new GrpcError({ method: "/Dispatcher/SendBatchActionEvent", code: Status.UNIMPLEMENTED, details: "unknown method" })
          )
          : options.batch === "fails"
          ? Effect.zipRight(
            answer({ method: "batch", batch: b }),
            new GrpcError({ method: "/Dispatcher/SendBatchActionEvent", code: Status.INTERNAL, details: "boom" })
          )
          : answer({ method: "batch", batch: b })
    } as unknown as DispatcherShape
    const release = (n: number) => Queue.offerAll(gate, Array.from({ length: n }, () => undefined))
    return { calls, dispatcher, release }
  })

/**
 * The dispatcher's event calls in callback form (what ./dispatcher.ts registers for a real
 * transport), each running the dispatcher's effect on a fiber of its own.
 */
const directOf = (dispatcher: DispatcherShape): DirectCalls => {
  const unsafe = <I>(method: (request: I, options?: CallOptions) => Effect.Effect<void, GrpcError>): UnsafeEventCall<I> =>
  (
    request,
    options,
    onExit
  ) => {
    const fiber = Effect.runFork(method(request, options))
    fiber.addObserver(onExit)
    return () => {
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
  }
  return {
    sendStepActionEvent: unsafe(dispatcher.sendStepActionEvent),
    sendBatchActionEvent: unsafe(dispatcher.sendBatchActionEvent)
  }
}

/** A sender whose rounds call the dispatcher's effects, or (`direct`) their callback form. */
const senderFor = (direct: boolean) => (dispatcher: DispatcherShape, inFlight = 1, linger: Duration.DurationInput = 0) =>
  ActionEvents.make({
    dispatcher,
    maxBatchBytes: 10_000,
    maxBatchSize: 3,
    inFlight,
    linger,
    call: (_method, effect) => effect,
    direct: direct ? directOf(dispatcher) : undefined
  })

/** One turn of the event loop (past its check phase). */
const loopTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
/**
 * Lets the sender's rounds and call fibers run: a round takes its events once the turn's
 * microtasks have run, and the STARTED calls of a round larger than a lone run's wait one more
 * turn after its results.
 */
const settle = Effect.repeatN(loopTurn, 2)

const shape = (call: Call) =>
  call.method === "single"
    ? [StepActionEventType[call.event.eventType], call.event.taskRunExternalId]
    : [`batch ${StepActionEventType[call.batch.eventType]}`, call.batch.items.map((i) => i.taskRunExternalId).join(",")]

describe.each(["effects", "callbacks"] as const)("ActionEvents (calls as %s)", (calls) => {
  const makeSender = senderFor(calls === "callbacks")

  it("plan: batches STARTED and COMPLETED per worker and action, in order, within the count and byte limits", () => {
    const pending = (e: Proto.StepActionEvent) => ({ event: e, done: undefined as never })
    const calls = ActionEvents.plan(
      [
        pending(event("1", STARTED)),
        pending(event("2", STARTED)),
        pending(event("3", FAILED)),
        pending(event("4", STARTED, { actionId: "wf:b" })),
        pending(event("5", STARTED)),
        pending(event("6", STARTED)),
        pending(event("7", COMPLETED)),
        pending(event("8", COMPLETED, { eventPayload: "x".repeat(600) })),
        pending(event("9", COMPLETED))
      ],
      900,
      3
    )
    expect(calls.map((call) => call.map((p) => p.event.taskRunExternalId))).toEqual([
      ["1", "2", "5"], // STARTED of wf:a, full at 3
      ["3"], // FAILED goes alone
      ["4"], // another action
      ["6"],
      ["7", "8"], // 600 characters could be 1,800 bytes: measured, they are 600 and fit
      ["9"] // over 900 bytes with it
    ])
  })

  it.scoped("sends a lone event as SendStepActionEvent and events queued meanwhile in one batch", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher)
      const first = yield* sender.submit(event("1", STARTED))
      yield* settle
      const queued = yield* Effect.forEach(["2", "3", "4"], (id) => sender.submit(event(id, STARTED)))
      const failed = yield* sender.submit(event("5", FAILED))
      const completed = yield* sender.submit(event("6", COMPLETED))
      yield* release(1)
      yield* first
      yield* settle
      yield* release(10)
      yield* Effect.all([...queued, failed, completed], { discard: true })
      // the round's results first, its STARTED events once those calls were written
      expect(calls.map(shape)).toEqual([
        ["STEP_EVENT_TYPE_STARTED", "1"],
        ["STEP_EVENT_TYPE_FAILED", "5"],
        ["STEP_EVENT_TYPE_COMPLETED", "6"],
        ["batch STEP_EVENT_TYPE_STARTED", "2,3,4"]
      ])
      const batch = calls[3]
      if (batch.method !== "batch") throw new Error("not a batch")
      expect(batch.batch).toMatchObject({ workerId: "w", jobId: "job-a", actionId: "wf:a", eventType: STARTED })
      expect(batch.batch.items[0]).toEqual({ taskRunExternalId: "2", eventPayload: `{"id":"2"}`, retryCount: 0, shouldNotRetry: undefined })
    }))

  it.scoped("what a fiber submits before it yields leaves in one round, results before STARTED", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 1)
      // a fast task: its STARTED and its result are submitted in one run of its fiber
      const started = yield* sender.submit(event("1", STARTED))
      const completed = yield* sender.submit(event("1", COMPLETED))
      expect(calls).toHaveLength(0)
      // both calls are made within the turn (a lone task's round waits for no other turn), the
      // result's first, so that the event loop writes them together
      yield* loopTurn
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_COMPLETED", "1"], ["STEP_EVENT_TYPE_STARTED", "1"]])
      yield* release(2)
      yield* Effect.all([started, completed], { discard: true })
    }))

  it.scoped("what several fibers submit within one turn of the event loop leaves in one round, though the first started it", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 1)
      // a burst of STARTs: one task after another, each yielding between its STARTED and its result
      // (as fibers do), the round started by the first task's STARTED
      const task = (id: string) =>
        Effect.gen(function*() {
          const started = yield* sender.submit(event(id, STARTED))
          yield* Effect.repeatN(Effect.yieldNow(), 5)
          const completed = yield* sender.submit(event(id, COMPLETED))
          return [started, completed] as const
        })
      const acks = yield* Effect.forEach(["1", "2", "3"], (id) => Effect.zipLeft(task(id), Effect.yieldNow()))
      expect(calls).toHaveLength(0)
      // a round larger than a lone run's: its results' call within the turn, STARTED's one turn later
      yield* loopTurn
      expect(calls.map(shape)).toEqual([["batch STEP_EVENT_TYPE_COMPLETED", "1,2,3"]])
      yield* loopTurn
      expect(calls.map(shape)).toEqual([
        ["batch STEP_EVENT_TYPE_COMPLETED", "1,2,3"],
        ["batch STEP_EVENT_TYPE_STARTED", "1,2,3"]
      ])
      yield* release(2)
      yield* Effect.all(acks.flat(), { discard: true })
    }))

  it.scoped("a burst delivered as grpc-js delivers a read (a message per tick, each handled in microtasks) leaves in one round", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 1)
      const runtime = yield* Effect.runtime<never>()
      const acks: Array<Effect.Effect<void, unknown>> = []
      // each message's task: a fiber of its own, its STARTED and its result submitted in one run
      const task = (id: string) =>
        Effect.gen(function*() {
          acks.push(yield* sender.submit(event(id, STARTED)))
          acks.push(yield* sender.submit(event(id, COMPLETED)))
        })
      const ids = ["1", "2", "3", "4"]
      const deliver = (i: number): void =>
        process.nextTick(() =>
          Promise.resolve().then(() => {
            Runtime.runFork(runtime)(task(ids[i]!))
            if (i + 1 < ids.length) deliver(i + 1)
          })
        )
      deliver(0)
      yield* settle
      // one round (a batch holds 3 at most here): its results first
      expect(calls.map(shape)).toEqual([
        ["batch STEP_EVENT_TYPE_COMPLETED", "1,2,3"],
        ["STEP_EVENT_TYPE_COMPLETED", "4"],
        ["batch STEP_EVENT_TYPE_STARTED", "1,2,3"],
        ["STEP_EVENT_TYPE_STARTED", "4"]
      ])
      yield* release(4)
      yield* Effect.all(acks, { discard: true })
    }))

  it.scoped("a submitter interrupted while it waits loses nothing: its event is still sent, and idle waits for it", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 1)
      const waiting = yield* Effect.fork(sender.send(event("1", COMPLETED)))
      yield* Effect.yieldNow()
      // interrupted before its round has taken the event (and again once its call is in flight)
      yield* Fiber.interrupt(waiting)
      const second = yield* Effect.fork(sender.send(event("2", COMPLETED)))
      yield* settle
      yield* Fiber.interrupt(second)
      expect(calls.map(shape)).toEqual([["batch STEP_EVENT_TYPE_COMPLETED", "1,2"]])
      const idle = yield* Effect.fork(sender.idle)
      yield* settle
      expect(idle.unsafePoll()).toBeNull()
      yield* release(1)
      yield* idle.await
    }))

  it.scoped("a posted event's outcome goes to its callback, whose effect runs; idle waits until every event was answered", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher({ batch: "fails" })
      const sender = yield* makeSender(dispatcher)
      const outcomes: Array<string> = []
      const logged: Array<string> = []
      const post = (id: string) =>
        sender.unsafePost(event(id, STARTED), (exit) => {
          outcomes.push(`${id} ${exit._tag}`)
          return Exit.isFailure(exit) ? Effect.sync(() => logged.push(id)) : undefined
        })
      yield* sender.idle // nothing queued: at once
      post("1")
      yield* settle
      post("2")
      post("3")
      const idle = yield* Effect.fork(sender.idle)
      yield* release(1)
      yield* settle
      expect(outcomes).toEqual(["1 Success"])
      expect(idle.unsafePoll()).toBeNull()
      // the batch of 2 and 3 fails: both callbacks get the failure, their effects run
      yield* release(1)
      yield* idle.await
      expect(outcomes).toEqual(["1 Success", "2 Failure", "3 Failure"])
      expect(logged).toEqual(["2", "3"])
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_STARTED", "1"], ["batch STEP_EVENT_TYPE_STARTED", "2,3"]])
    }))

  it.scoped("closing the sender's scope waits until what was queued before has been answered", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const scope = yield* Scope.make()
      const sender = yield* Scope.extend(makeSender(dispatcher), scope)
      const outcomes: Array<string> = []
      sender.unsafePost(event("1", COMPLETED), (exit) => {
        outcomes.push(exit._tag)
        return undefined
      })
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      expect(closing.unsafePoll()).toBeNull()
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_COMPLETED", "1"]])
      yield* release(1)
      yield* Fiber.join(closing)
      expect(outcomes).toEqual(["Success"])
    }))

  it.scoped("an engine without SendBatchActionEvent gets every event alone, from then on", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher({ batch: "unimplemented" })
      const sender = yield* makeSender(dispatcher)
      const first = yield* sender.submit(event("1", COMPLETED))
      yield* settle
      const queued = yield* Effect.forEach(["2", "3"], (id) => sender.submit(event(id, COMPLETED)))
      yield* release(1)
      yield* first
      yield* settle
      yield* release(2)
      yield* Effect.all(queued, { discard: true })
      const later = yield* Effect.forEach(["4", "5"], (id) => sender.submit(event(id, COMPLETED)))
      yield* release(2)
      yield* Effect.all(later, { discard: true })
      expect(calls.map(shape)).toEqual([
        ["STEP_EVENT_TYPE_COMPLETED", "1"],
        ["batch STEP_EVENT_TYPE_COMPLETED", "2,3"],
        ["STEP_EVENT_TYPE_COMPLETED", "2"],
        ["STEP_EVENT_TYPE_COMPLETED", "3"],
        ["STEP_EVENT_TYPE_COMPLETED", "4"],
        ["STEP_EVENT_TYPE_COMPLETED", "5"]
      ])
    }))

  it.scoped("a failed batch fails every event in it", () =>
    Effect.gen(function*() {
      const { dispatcher, release } = yield* recordingDispatcher({ batch: "fails" })
      const sender = yield* makeSender(dispatcher)
      const first = yield* sender.submit(event("1", STARTED))
      yield* settle
      const queued = yield* Effect.forEach(["2", "3"], (id) => sender.submit(event(id, STARTED)))
      yield* release(2)
      expect(Exit.isSuccess(yield* Effect.exit(first))).toBe(true)
      const exits = yield* Effect.forEach(queued, Effect.exit)
      expect(exits.map((e) => Exit.isFailure(e))).toEqual([true, true])
    }))

  it.scoped("keeps up to inFlight calls outstanding", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 2)
      const acks = yield* Effect.forEach(["1", "2", "3"], (id) =>
        Effect.zipLeft(sender.submit(event(id, STARTED, { actionId: `wf:${id}` })), settle))
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_STARTED", "1"], ["STEP_EVENT_TYPE_STARTED", "2"]])
      const done = yield* Deferred.make<void>()
      yield* Effect.forkScoped(Effect.zipRight(Effect.all(acks, { discard: true }), Deferred.succeed(done, void 0)))
      yield* release(3)
      yield* Deferred.await(done)
      expect(calls).toHaveLength(3)
    }))

  it.scoped("under load, a round that starts while another is in flight lingers, and takes what queued meanwhile", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 2, "50 millis")
      const started = yield* Effect.forEach(["1", "2"], (id) => sender.submit(event(id, STARTED)))
      yield* settle
      expect(calls.map(shape)).toEqual([["batch STEP_EVENT_TYPE_STARTED", "1,2"]])
      // a round of two events is in flight: the next round waits 50 ms (real time) before it leaves
      const first = yield* sender.submit(event("1", COMPLETED))
      yield* settle
      const second = yield* sender.submit(event("2", COMPLETED))
      yield* settle
      expect(calls).toHaveLength(1)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 80)))
      yield* settle
      expect(calls.map(shape)).toEqual([
        ["batch STEP_EVENT_TYPE_STARTED", "1,2"],
        ["batch STEP_EVENT_TYPE_COMPLETED", "1,2"]
      ])
      yield* release(2)
      yield* Effect.all([...started, first, second], { discard: true })
    }))

  it.scoped("a lone task's result leaves while its STARTED is in flight, without lingering", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 2, "1 hour")
      const started = yield* sender.submit(event("1", STARTED))
      yield* settle
      const completed = yield* sender.submit(event("1", COMPLETED))
      yield* settle
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_STARTED", "1"], ["STEP_EVENT_TYPE_COMPLETED", "1"]])
      yield* release(2)
      yield* Effect.all([started, completed], { discard: true })
    }))

  it.scoped("a round that starts while none is in flight leaves at once", () =>
    Effect.gen(function*() {
      const { calls, dispatcher, release } = yield* recordingDispatcher()
      const sender = yield* makeSender(dispatcher, 2, "1 hour")
      const first = yield* sender.submit(event("1", STARTED))
      yield* settle
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_STARTED", "1"]])
      yield* release(1)
      yield* first
      yield* settle // the round has ended
      const second = yield* sender.submit(event("1", COMPLETED))
      yield* settle
      expect(calls.map(shape)).toEqual([["STEP_EVENT_TYPE_STARTED", "1"], ["STEP_EVENT_TYPE_COMPLETED", "1"]])
      yield* release(1)
      yield* second
    }))

  it.scoped("a failed call is made again through `call`, whose retries see its first failure", () =>
    Effect.gen(function*() {
      const made: Array<string> = []
      let failures = 1
      const dispatcher = {
        sendStepActionEvent: (e: Proto.StepActionEvent) =>
          Effect.suspend(() => {
            made.push(e.taskRunExternalId)
            return failures-- > 0
              ? new GrpcError({ method: "/Dispatcher/SendStepActionEvent", code: Status.UNAVAILABLE, details: "down" })
              : Effect.void
          }),
        sendBatchActionEvent: () => Effect.void
      } as unknown as DispatcherShape
      const seen: Array<number> = []
      const sender = yield* ActionEvents.make({
        dispatcher,
        maxBatchBytes: 10_000,
        call: (_method, effect) => Effect.retry(Effect.tapError(effect, (e) => Effect.sync(() => seen.push(e.code))), { times: 1 }),
        direct: calls === "callbacks" ? directOf(dispatcher) : undefined
      })
      yield* sender.send(event("1", COMPLETED))
      expect(made).toEqual(["1", "1"])
      expect(seen).toEqual([Status.UNAVAILABLE])
    }))
})
