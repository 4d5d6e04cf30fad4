/**
 * The `Dispatcher` gRPC service: worker registration, assignment streams, heartbeats, step
 * action events, result and event subscriptions, timeouts and slots.
 *
 * @internal
 */
import {
  type AssignedAction,
  type DispatcherServiceImplementation,
  type SubscribeToWorkflowRunsRequest,
  type WorkflowEvent,
  type WorkflowRunEvent
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import type { EngineCoreService } from "../core.js"
import * as Actions from "../domain/actions.js"
import * as Durable from "../domain/durable.js"
import { invalidArgument, notFound, unimplemented } from "../domain/errors.js"
import { newId, parseUuid } from "../domain/ids.js"
import type { EventSubscriber, MetadataSubscriber, RunSubscriber, Session } from "../domain/model.js"
import * as Publish from "../domain/publish.js"
import * as Workers from "../domain/workers.js"
import { type EffectService, makeQueue } from "./bridge.js"

/**
 * A run id `SubscribeToWorkflowEvents` does not know yet is looked up again, 1 s apart, 10 times
 * in all (as upstream) before NOT_FOUND; the last lookup's answer.
 */
const runLookup = Schedule.spaced("1 second").pipe(
  Schedule.intersect(Schedule.recurs(9)),
  Schedule.whileInput((found: "missing" | "foreign" | "finished" | "subscribed") => found === "missing"),
  Schedule.passthrough
)

export const make = (
  core: EngineCoreService,
  options: { readonly version: string }
): EffectService<DispatcherServiceImplementation> => {
  const { run, runEither, runEitherNow, runSync } = core

  const listen = (workerId: string, tenantId: string, legacy: boolean) =>
    Effect.gen(function*() {
      const worker = yield* runEither((state) => Workers.workerForListen(state, tenantId, workerId))
      const queue = yield* makeQueue<AssignedAction>()
      const session = yield* run((state, now): Session => {
        const created: Session = {
          id: newId(),
          workerId: worker.id,
          establishedAt: now,
          legacy,
          send: (action) => queue.unsafeOffer(action),
          close: (error) => {
            queue.unsafeDone(error === undefined ? Exit.void : Exit.fail(error))
          }
        }
        Workers.openSession(state, worker, created, now)
        return created
      })
      yield* Effect.addFinalizer(() => runSync((state, now) => Workers.closeSession(state, worker, session, now)))
      return queue
    })

  return {
    register: (request, context) =>
      runEither((state, now) =>
        Either.map(
          Workers.registerWorker(state, context.tenantId, request, now),
          (worker) => ({ tenantId: context.tenantId, workerId: worker.id, workerName: worker.name })
        )
      ),

    listen: (request, context) => listen(request.workerId, context.tenantId, true),

    listenV2: (request, context) => listen(request.workerId, context.tenantId, false),

    heartbeat: (request, context) =>
      runEitherNow((state, now) => Either.map(Workers.heartbeat(state, context.tenantId, request.workerId, now), () => ({}))),

    subscribeToWorkflowEvents: (request, context) => {
      const tenantId = context.tenantId
      if (request.workflowRunId !== undefined) {
        const runId = request.workflowRunId
        return Effect.gen(function*() {
          const parsed = parseUuid(runId)
          if (!parsed.ok) return yield* invalidArgument(`invalid workflow run id ${runId}: ${parsed.error}`)
          const id = parsed.value
          const queue = yield* makeQueue<WorkflowEvent>()
          const subscriber: EventSubscriber = {
            send: (event) => queue.unsafeOffer(event),
            close: () => queue.unsafeDone(Exit.void)
          }
          const lookup = runSync((state) => {
            const r = state.runsById.get(id)
            if (r === undefined) return "missing" as const
            if (r.tenantId !== tenantId) return "foreign" as const
            if (r.finishedAt !== undefined) return "finished" as const
            Publish.addEventSubscriber(state, id, subscriber)
            return "subscribed" as const
          })
          const found = yield* Effect.repeat(lookup, runLookup)
          if (found === "finished") {
            yield* queue.end
            return queue
          }
          if (found !== "subscribed") return yield* notFound(`workflow run ${id} not found`)
          yield* Effect.addFinalizer(() => runSync((state) => Publish.removeEventSubscriber(state, id, subscriber)))
          return queue
        })
      }
      if (request.additionalMetaKey !== undefined && request.additionalMetaValue !== undefined) {
        const key = request.additionalMetaKey
        const value = request.additionalMetaValue
        return Effect.gen(function*() {
          const queue = yield* makeQueue<WorkflowEvent>()
          const subscriber: MetadataSubscriber = {
            key,
            value,
            active: new Set(),
            send: (event) => queue.unsafeOffer(event),
            close: () => queue.unsafeDone(Exit.void)
          }
          yield* runSync((state) => {
            state.metadataSubscribers.add(subscriber)
          })
          yield* Effect.addFinalizer(() => runSync((state) => state.metadataSubscribers.delete(subscriber)))
          return queue
        })
      }
      return Effect.fail(invalidArgument("either workflow run id or additional meta key-value must be provided"))
    },

    subscribeToWorkflowRuns: (requests, context) =>
      Effect.gen(function*() {
        const queue = yield* makeQueue<WorkflowRunEvent>()
        const subscriber: RunSubscriber = { send: (event) => queue.unsafeOffer(Publish.cleanResults(event)) }
        const subscribed = new Set<string>()
        yield* Effect.addFinalizer(() =>
          runSync((state) => {
            for (const id of subscribed) Publish.unsubscribeRun(state, id, subscriber)
          })
        )
        const iterator = requests[Symbol.asyncIterator]()
        const consume: Effect.Effect<void> = Effect.gen(function*() {
          for (;;) {
            const next = yield* Effect.tryPromise(() => iterator.next() as Promise<IteratorResult<SubscribeToWorkflowRunsRequest>>)
            if (next.done === true) return
            const parsed = parseUuid(next.value.workflowRunId)
            if (!parsed.ok) continue
            subscribed.add(parsed.value)
            yield* runSync((state, now) => {
              const r = state.runsById.get(parsed.value)
              if (r !== undefined && r.tenantId !== context.tenantId) return
              Publish.subscribeRun(state, parsed.value, subscriber, now)
            })
          }
        }).pipe(Effect.ignore)
        yield* Effect.forkScoped(consume)
        return queue
      }),

    sendStepActionEvent: (request, context) =>
      runEitherNow((state, now) =>
        Either.map(
          Actions.stepActionEvent(state, context.tenantId, request, now),
          () => ({ tenantId: context.tenantId, workerId: request.workerId })
        )
      ),

    sendBatchActionEvent: (request, context) =>
      runEitherNow((state, now) =>
        Either.map(
          Actions.batchActionEvent(state, context.tenantId, request, now),
          () => ({ tenantId: context.tenantId, workerId: request.workerId })
        )
      ),

    sendGroupKeyActionEvent: () => Effect.fail(unimplemented("SendGroupKeyActionEvent is not implemented in engine version v1")),

    putOverridesData: () => Effect.succeed({}),

    unsubscribe: (request, context) =>
      runEither((state) =>
        Either.map(
          Workers.unsubscribe(state, context.tenantId, request.workerId),
          () => ({ tenantId: context.tenantId, workerId: request.workerId })
        )
      ),

    refreshTimeout: (request, context) =>
      runEitherNow((state, now) =>
        Either.map(
          Workers.refreshTimeout(state, context.tenantId, request.taskRunExternalId, request.incrementTimeoutBy, now),
          (timeoutAt) => ({ timeoutAt: new Date(timeoutAt) })
        )
      ),

    releaseSlot: (request, context) =>
      runEitherNow((state, now) => Either.map(Workers.releaseSlot(state, context.tenantId, request.taskRunExternalId, now), () => ({}))),

    restoreEvictedTask: (request, context) =>
      run((state, now) => {
        Durable.restoreEvictedTask(state, context.tenantId, request.taskRunExternalId, now)
        return { requeued: true }
      }),

    upsertWorkerLabels: (request, context) =>
      runEither((state) =>
        Either.map(
          Workers.upsertLabels(state, context.tenantId, request.workerId, request.labels),
          () => ({ tenantId: context.tenantId, workerId: request.workerId })
        )
      ),

    getVersion: () => Effect.succeed({ version: options.version })
  }
}
