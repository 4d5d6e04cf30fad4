/**
 * The one error type of the engine's domain layer.
 *
 * A domain operation that rejects its input fails with an `EngineError` carrying the gRPC status
 * code and the exact message upstream Hatchet returns; the gRPC layer turns it into a
 * `ServerError`, and REST handlers map the code to an HTTP status with `httpStatusOf`.
 *
 * @internal
 */
import { Data } from "effect"
import { Status } from "nice-grpc-common"

export { Status }

/** A rejected domain operation: a gRPC status code and the message upstream Hatchet sends. */
export class EngineError extends Data.TaggedError("EngineError")<{
  readonly code: Status
  readonly message: string
  /** A serialized `google.rpc.Status`, sent as the `grpc-status-details-bin` trailer. */
  readonly statusDetails?: Uint8Array | undefined
}> {}

export const invalidArgument = (message: string) => new EngineError({ code: Status.INVALID_ARGUMENT, message })
export const notFound = (message: string) => new EngineError({ code: Status.NOT_FOUND, message })
export const failedPrecondition = (message: string) => new EngineError({ code: Status.FAILED_PRECONDITION, message })
export const unauthenticated = () => new EngineError({ code: Status.UNAUTHENTICATED, message: "invalid auth token" })
export const unimplemented = (message: string) => new EngineError({ code: Status.UNIMPLEMENTED, message })
/** Upstream's error interceptor turns every non-status error into this. */
export const internal = () => new EngineError({ code: Status.INTERNAL, message: "An internal error occurred." })
/** INTERNAL with a message of its own (upstream answers some failures so). */
export const internalWith = (message: string) => new EngineError({ code: Status.INTERNAL, message })

/** The HTTP status a REST handler answers for a domain error. */
export const httpStatusOf = (error: EngineError): number => {
  switch (error.code) {
    case Status.INVALID_ARGUMENT:
    case Status.FAILED_PRECONDITION:
      return 400
    case Status.UNAUTHENTICATED:
      return 401
    case Status.PERMISSION_DENIED:
      return 403
    case Status.NOT_FOUND:
      return 404
    case Status.ALREADY_EXISTS:
      return 409
    case Status.RESOURCE_EXHAUSTED:
      return 429
    case Status.UNIMPLEMENTED:
      return 501
    default:
      return 500
  }
}
