/**
 * `Events` over gRPC (`EventsService`).
 *
 * @internal
 */
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import * as Effect from "effect/Effect"
import type { EventsShape } from "../Events.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import { methodPath, unary } from "./grpc.js"

const path = (method: keyof typeof EventsServiceDefinition.methods & string) => methodPath(EventsServiceDefinition, method)

/** @internal */
export const make = ({ events: client }: GrpcTransportShape): EventsShape => ({
  push: (request) => unary(path("push"), (o) => client.push(request, o)),
  bulkPush: (requests) =>
    unary(path("bulkPush"), (o) => client.bulkPush({ events: [...requests] }, o)).pipe(
      Effect.map((response) => response.events)
    ),
  putLog: (request) => Effect.asVoid(unary(path("putLog"), (o) => client.putLog(request, o))),
  putStreamEvent: (request) => Effect.asVoid(unary(path("putStreamEvent"), (o) => client.putStreamEvent(request, o)))
})
