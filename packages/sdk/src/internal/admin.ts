/**
 * `Admin` over gRPC (`v1.AdminService` and `WorkflowService`), as the official TypeScript SDK
 * calls them.
 *
 * @internal
 */
import { AdminServiceDefinition } from "@effect-hatchet/proto/v1/workflows"
import { WorkflowServiceDefinition } from "@effect-hatchet/proto/workflows/workflows"
import { Effect } from "effect"
import type { AdminShape } from "../Admin.js"
import type { GrpcTransportShape } from "../GrpcTransport.js"
import { methodPath, unary } from "./grpc.js"

const v1 = (method: keyof typeof AdminServiceDefinition.methods & string) => methodPath(AdminServiceDefinition, method)
const v0 = (method: keyof typeof WorkflowServiceDefinition.methods & string) => methodPath(WorkflowServiceDefinition, method)

/** @internal */
export const make = ({ admin, workflows }: GrpcTransportShape): AdminShape => ({
  putWorkflow: (request) => unary(v1("putWorkflow"), (o) => admin.putWorkflow(request, o)),
  triggerWorkflow: (request) =>
    unary(v0("triggerWorkflow"), (o) => workflows.triggerWorkflow(request, o)).pipe(
      Effect.map((response) => response.workflowRunId)
    ),
  bulkTriggerWorkflow: (requests) =>
    unary(v0("bulkTriggerWorkflow"), (o) => workflows.bulkTriggerWorkflow({ workflows: [...requests] }, o)).pipe(
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
