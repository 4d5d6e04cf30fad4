/**
 * Errors shared by every service that talks to a Hatchet engine.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Status } from "nice-grpc-common"

/**
 * A gRPC call failed. Keeps the gRPC status `code` (see `nice-grpc-common` `Status`), the full
 * `method` path (e.g. `/Dispatcher/Heartbeat`) and the server's `details` message.
 * `statusDetails` is the raw `grpc-status-details-bin` trailer (an encoded `google.rpc.Status`)
 * when the server sent one, e.g. Hatchet's idempotency-collision details.
 *
 * @since 0.1.0
 * @category errors
 */
export class GrpcError extends Schema.TaggedError<GrpcError>("@effect-hatchet/sdk/GrpcError")("GrpcError", {
  method: Schema.String,
  code: Schema.Number,
  details: Schema.String,
  statusDetails: Schema.optional(Schema.Uint8ArrayFromBase64),
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * The status name, e.g. `UNAVAILABLE`.
   *
   * @since 0.1.0
   */
  get status(): string {
    return Status[this.code] ?? `STATUS_${this.code}`
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.method} failed with ${this.status} (${this.code}): ${this.details}`
  }
}

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
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const what = this.reason === "StatusCode"
      ? `answered ${this.status}`
      : this.reason === "Decode"
      ? `answered${this.status === undefined ? "" : ` ${this.status}`} with a body that does not match the expected schema`
      : this.reason === "Encode"
      ? "could not encode the request body"
      : "failed in transport"
    const cause = this.reason === "StatusCode" || this.cause === undefined
      ? ""
      : `: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
    const body = this.body === undefined || this.body === ""
      ? ""
      : ` (body: ${this.body.length > 500 ? `${this.body.slice(0, 500)}…` : this.body})`
    return `${this.method} ${this.url} ${what}${cause}${body}`
  }
}
