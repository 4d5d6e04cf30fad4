/**
 * Raw nice-grpc clients of an engine, for wire-level tests.
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import { Effect } from "effect"
import { ClientError, createChannel, createClient, Metadata, type Status } from "nice-grpc"

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
