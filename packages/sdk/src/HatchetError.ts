/**
 * Errors shared by every service that talks to a Hatchet engine.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A gRPC call failed. Keeps the gRPC status `code` (see `nice-grpc-common` `Status`), the full
 * `method` path (e.g. `/Dispatcher/Heartbeat`) and the server's `details` message.
 *
 * @since 0.1.0
 * @category errors
 */
export class GrpcError extends Schema.TaggedError<GrpcError>("@effect-hatchet/sdk/GrpcError")("GrpcError", {
  method: Schema.String,
  code: Schema.Number,
  details: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A REST call to the Hatchet API failed: the transport failed, the status was not 2xx, or the
 * body did not decode.
 *
 * @since 0.1.0
 * @category errors
 */
export class RestError extends Schema.TaggedError<RestError>("@effect-hatchet/sdk/RestError")("RestError", {
  reason: Schema.Literal("Transport", "StatusCode", "Decode", "Encode"),
  method: Schema.String,
  url: Schema.String,
  status: Schema.optional(Schema.Number),
  body: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}
