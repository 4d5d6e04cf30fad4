/**
 * A fault-injecting fake of `Dispatcher/SubscribeToWorkflowRuns` for `RunListener` tests: every
 * connection is recorded with the run ids it received; tests deliver events on it and break it
 * the ways a real stream dies (server hangup, clean end).
 */
import type { SubscribeToWorkflowRunsRequest, WorkflowRunEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { WorkflowRunEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { Deferred, Effect, Queue, Stream } from "effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../../src/HatchetError.js"
import type { Connect } from "../../src/RunListener.js"

export interface FakeConnection {
  readonly id: number
  /** Run ids received on this connection, with how many times each. */
  readonly sent: Map<string, number>
  readonly saw: (runId: string) => boolean
  /** Sends a server event on this connection. */
  readonly deliver: (event: WorkflowRunEvent) => Effect.Effect<void>
  /** Server hangup: the response stream fails with UNAVAILABLE. */
  readonly breakRecv: Effect.Effect<void>
  /** The server ends the response stream cleanly. */
  readonly stopClean: Effect.Effect<void>
  /** True once the client side released the connection. */
  readonly isClosed: () => boolean
}

export const finished = (workflowRunId: string, results: WorkflowRunEvent["results"] = [
  { taskRunExternalId: "t-1", taskName: "task", jobRunId: "t-1", output: "{}" }
]): WorkflowRunEvent => ({
  workflowRunId,
  eventType: WorkflowRunEventType.WORKFLOW_RUN_EVENT_TYPE_FINISHED,
  eventTimestamp: new Date(0),
  results
})

export const makeFakeRunStream = (options?: {
  /** Runs before each request is recorded (e.g. a random latency). */
  readonly onSend?: ((connection: number, runId: string) => Effect.Effect<void>) | undefined
}) => {
  const connections: Array<FakeConnection> = []
  const connect: Connect = (requests: Stream.Stream<SubscribeToWorkflowRunsRequest>) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const id = connections.length
      const events = yield* Queue.unbounded<WorkflowRunEvent>()
      const end = yield* Deferred.make<void, GrpcError>()
      const sent = new Map<string, number>()
      let closed = false
      const connection: FakeConnection = {
        id,
        sent,
        saw: (runId) => (sent.get(runId) ?? 0) > 0,
        deliver: (event) => Queue.offer(events, event),
        breakRecv: Deferred.fail(
          end,
          new GrpcError({ method: "/Dispatcher/SubscribeToWorkflowRuns", code: Status.UNAVAILABLE, details: "recv on broken stream" })
        ).pipe(Effect.asVoid),
        stopClean: Deferred.succeed(end, undefined).pipe(Effect.asVoid),
        isClosed: () => closed
      }
      connections.push(connection)
      yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))
      yield* requests.pipe(
        Stream.runForEach((request) =>
          Effect.zipRight(
            options?.onSend?.(id, request.workflowRunId) ?? Effect.void,
            Effect.sync(() => sent.set(request.workflowRunId, (sent.get(request.workflowRunId) ?? 0) + 1))
          )
        ),
        Effect.forkScoped
      )
      return Stream.fromQueue(events).pipe(Stream.interruptWhen(Deferred.await(end)))
    }))
  return {
    connect,
    connections,
    last: () => connections[connections.length - 1]
  }
}

/** Polls `check` (real time) until it holds; dies after `timeoutMs`. */
export const eventually = (check: () => boolean, what: string, timeoutMs = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("1 millis")
    }
  })
