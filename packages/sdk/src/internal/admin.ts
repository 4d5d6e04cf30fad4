/**
 * `Admin` over gRPC (`v1.AdminService` and `WorkflowService`), as the official TypeScript SDK
 * calls them.
 *
 * @internal
 */
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import * as Effect from "effect/Effect"
import type { AdminShape } from "../Admin.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import { methodPath, unary } from "./grpc.js"

const v1 = (method: keyof typeof AdminServiceDefinition.methods & string) => methodPath(AdminServiceDefinition, method)
const v0 = (method: keyof typeof WorkflowServiceDefinition.methods & string) => methodPath(WorkflowServiceDefinition, method)
const v0Service = WorkflowServiceDefinition.fullName
const v0Methods = WorkflowServiceDefinition.methods

/** @internal */
export const make = ({ admin, call, workflows }: GrpcTransportShape): AdminShape => ({
  putWorkflow: (request) => unary(v1("putWorkflow"), (o) => admin.putWorkflow(request, o)),
  // the client's hot calls: straight on grpc-js (`GrpcTransport.call`), the request completed with
  // its defaults as nice-grpc's client completes it
  triggerWorkflow: (request) =>
    call(v0Service, v0Methods.triggerWorkflow, v0Methods.triggerWorkflow.requestType.fromPartial(request)).pipe(
      Effect.map((response) => response.workflowRunId)
    ),
  bulkTriggerWorkflow: (requests) =>
    call(
      v0Service,
      v0Methods.bulkTriggerWorkflow,
      v0Methods.bulkTriggerWorkflow.requestType.fromPartial({ workflows: [...requests] })
    ).pipe(
      Effect.map((response) => response.workflowRunIds)
    ),
  getRunDetails: (externalId) => unary(v1("getRunDetails"), (o) => admin.getRunDetails({ externalId }, o)),
  cancelTasks: (request) =>
    unary(v1("cancelTasks"), (o) => admin.cancelTasks(request, o)).pipe(
      Effect.map((response) => response.cancelledTasks)
    ),
  replayTasks: (request) =>
    unary(v1("replayTasks"), (o) => admin.replayTasks(request, o)).pipe(
      Effect.map((response) => response.replayedTasks)
    ),
  putRateLimit: (request) => Effect.asVoid(unary(v0("putRateLimit"), (o) => workflows.putRateLimit(request, o)))
})
