/**
 * Raw nice-grpc clients of an engine, for wire-level tests.
 */
import { type AssignedAction, DispatcherDefinition, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import { Effect, Redacted } from "effect"
import { ClientError, createChannel, createClient, Metadata, type Status } from "nice-grpc"
import * as Engine from "../../src/Engine.js"

/** Clients of every service over one channel, sending `authorization: <auth>` when given. */
export const clients = (address: string, authorization?: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const channel = createChannel(address)
      const options = authorization === undefined ? {} : { "*": { metadata: Metadata({ authorization }) } }
      return {
        channel,
        dispatcher: createClient(DispatcherDefinition, channel, options),
        events: createClient(EventsServiceDefinition, channel, options),
        workflows: createClient(WorkflowServiceDefinition, channel, options),
        admin: createClient(AdminServiceDefinition, channel, options),
        durable: createClient(V1DispatcherDefinition, channel, options)
      }
    }),
    ({ channel }) => Effect.sync(() => channel.close())
  )

/** The gRPC status of a call that must fail. */
export const statusOf = (call: () => Promise<unknown>) =>
  Effect.promise(async () => {
    try {
      await call()
    } catch (error) {
      if (error instanceof ClientError) return { code: error.code as Status, details: error.details }
      throw error
    }
    throw new Error("the call succeeded")
  })

/** The status a server stream ends with (or "ended" when it ends cleanly), collecting messages. */
export const streamOutcome = <A>(stream: AsyncIterable<A>, onMessage: (a: A) => void = () => {}) =>
  Effect.promise(async () => {
    try {
      for await (const message of stream) onMessage(message)
      return "ended" as const
    } catch (error) {
      if (error instanceof ClientError) return { code: error.code as Status, details: error.details }
      throw error
    }
  })

/** Polls `check` until it returns a defined value (real time, for loopback tests). */
export const eventually = <A>(check: () => A | undefined | Promise<A | undefined>, timeoutMs = 10_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = await check()
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error("condition not met in time")
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  })

export type Clients = Effect.Effect.Success<ReturnType<typeof clients>>

/**
 * A registered, listening, heartbeating raw worker of the `Engine` in context, for the actions
 * given (`<name>:t` by default), recording every action it receives.
 */
export const rawWorker = (name: string, actions: ReadonlyArray<string> = [`${name}:t`]) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const c = yield* clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
    const { workerId } = yield* Effect.promise(() => c.dispatcher.register({ workerName: name, actions: [...actions] }))
    const received: Array<AssignedAction> = []
    const outcome = yield* Effect.fork(streamOutcome(c.dispatcher.listenV2({ workerId }), (a) => received.push(a)))
    yield* eventually(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }).then(() => true, () => undefined))
    /** Reports the attempt of `action` COMPLETED with `output`. */
    const complete = (action: AssignedAction, output = "{}") =>
      Effect.promise(() =>
        c.dispatcher.sendStepActionEvent({
          workerId,
          taskRunExternalId: action.taskRunExternalId,
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          eventPayload: output,
          retryCount: action.retryCount
        })
      )
    return { c, workerId, received, outcome, complete }
  })

/** Registers the one-task workflow `name` (action `name:t`). */
export const putWorkflow = (c: Clients, name: string) =>
  Effect.promise(() => c.admin.putWorkflow({ name, tasks: [{ readableId: "t", action: `${name}:t`, timeout: "60s", inputs: "{}" }] }))
