/**
 * Workflow registration and run triggering over gRPC (`v1.AdminService` and the v0
 * `WorkflowService`, which SDKs still use for triggers).
 *
 * A thin, low-level service over the generated protobuf types; the typed client API is built on it.
 *
 * @since 0.1.0
 */
import type * as V1Trigger from "@effect-hatchet/proto/v1/shared/trigger"
import type * as V1Workflows from "@effect-hatchet/proto/v1/workflows"
import type * as V0Workflows from "@effect-hatchet/proto/workflows/workflows"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GrpcTransport } from "./GrpcTransport.js"
import type { GrpcError } from "./HatchetError.js"
import * as internal from "./internal/admin.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface AdminShape {
  /** `v1.AdminService/PutWorkflow`. */
  readonly putWorkflow: (
    request: V1Workflows.CreateWorkflowVersionRequest
  ) => Effect.Effect<V1Workflows.CreateWorkflowVersionResponse, GrpcError>
  /** `WorkflowService/TriggerWorkflow` (input is a JSON string); returns the workflow run id. */
  readonly triggerWorkflow: (request: V1Trigger.TriggerWorkflowRequest) => Effect.Effect<string, GrpcError>
  /** `WorkflowService/BulkTriggerWorkflow`; returns run ids in request order. */
  readonly bulkTriggerWorkflow: (
    requests: ReadonlyArray<V1Trigger.TriggerWorkflowRequest>
  ) => Effect.Effect<ReadonlyArray<string>, GrpcError>
  /** `v1.AdminService/GetRunDetails`. */
  readonly getRunDetails: (externalId: string) => Effect.Effect<V1Workflows.GetRunDetailsResponse, GrpcError>
  /** `v1.AdminService/CancelTasks`; returns the cancelled task ids. */
  readonly cancelTasks: (request: V1Workflows.CancelTasksRequest) => Effect.Effect<ReadonlyArray<string>, GrpcError>
  /** `v1.AdminService/ReplayTasks`; returns the replayed task ids. */
  readonly replayTasks: (request: V1Workflows.ReplayTasksRequest) => Effect.Effect<ReadonlyArray<string>, GrpcError>
  /** `WorkflowService/PutRateLimit`: creates or updates a rate limit. */
  readonly putRateLimit: (request: V0Workflows.PutRateLimitRequest) => Effect.Effect<void, GrpcError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Admin extends Context.Tag("@effect-hatchet/sdk/Admin")<Admin, AdminShape>() {}

/**
 * `Admin` over the shared gRPC channel of `GrpcTransport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<AdminShape, never, GrpcTransport> = Effect.map(GrpcTransport, internal.make)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Admin, never, GrpcTransport> = Layer.effect(Admin, make)
