/**
 * The `v1.V1Dispatcher` gRPC service (durable tasks): not implemented yet, every RPC answers
 * UNIMPLEMENTED.
 *
 * @internal
 */
import type { V1DispatcherServiceImplementation } from "@effect-hatchet/proto/v1/dispatcher"
import { ServerError, Status } from "nice-grpc-common"
import type { TenantContext } from "./auth.js"

const notYet = (method: string) => new ServerError(Status.UNIMPLEMENTED, `${method} is not implemented by this engine`)

export const make = (): V1DispatcherServiceImplementation<TenantContext> => ({
  // eslint-disable-next-line require-yield
  durableTask: async function*() {
    throw notYet("DurableTask")
  },
  registerDurableEvent: () => Promise.reject(notYet("RegisterDurableEvent")),
  // eslint-disable-next-line require-yield
  listenForDurableEvent: async function*() {
    throw notYet("ListenForDurableEvent")
  }
})
