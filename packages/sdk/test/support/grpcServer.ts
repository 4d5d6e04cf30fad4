/**
 * A test-only loopback nice-grpc server: implement a few Hatchet methods, the rest answer
 * UNIMPLEMENTED. Listens on 127.0.0.1:0; force-shut down when the scope closes.
 */
import { DispatcherDefinition } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { EventsServiceDefinition } from "@effect-hatchet/proto/events/events"
import { V1DispatcherDefinition } from "@effect-hatchet/proto/v1/dispatcher"
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import type { ServerCredentials } from "@grpc/grpc-js"
import { Effect } from "effect"
import type { Scope } from "effect"
import type { ServiceImplementation } from "nice-grpc"
import { createServer, ServerError, Status } from "nice-grpc"

type Definitions = {
  readonly dispatcher: typeof DispatcherDefinition
  readonly events: typeof EventsServiceDefinition
  readonly workflows: typeof WorkflowServiceDefinition
  readonly admin: typeof AdminServiceDefinition
  readonly v1Dispatcher: typeof V1DispatcherDefinition
}

const definitions: Definitions = {
  dispatcher: DispatcherDefinition,
  events: EventsServiceDefinition,
  workflows: WorkflowServiceDefinition,
  admin: AdminServiceDefinition,
  v1Dispatcher: V1DispatcherDefinition
}

export type Implementations = {
  readonly [K in keyof Definitions]?: Partial<ServiceImplementation<Definitions[K]>>
}

const unimplemented = (definition: { readonly fullName: string; readonly methods: Record<string, { readonly name: string }> }) =>
  Object.fromEntries(
    Object.entries(definition.methods).map(([key, method]) => [
      key,
      () => {
        throw new ServerError(Status.UNIMPLEMENTED, `${definition.fullName}/${method.name} is not implemented by this test server`)
      }
    ])
  )

export interface LoopbackServer {
  readonly port: number
  readonly hostPort: string
}

export const loopbackServer = (
  implementations: Implementations,
  options?: { readonly credentials?: ServerCredentials }
): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const server = createServer()
      for (const [key, definition] of Object.entries(definitions)) {
        const implementation = implementations[key as keyof Definitions] ?? {}
        server.add(definition, { ...unimplemented(definition), ...implementation } as never)
      }
      const port = await server.listen("127.0.0.1:0", options?.credentials)
      return { server, port }
    }),
    ({ server }) => Effect.sync(() => server.forceShutdown())
  ).pipe(Effect.map(({ port }) => ({ port, hostPort: `127.0.0.1:${port}` })))
