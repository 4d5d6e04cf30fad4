/**
 * The engine's domain errors: one tagged class per way a request is refused.
 *
 * Parsing and validation of untrusted input (request bodies, query parameters, proto fields,
 * JSON payloads, expressions, ids) return these as typed failures (`Either` in the synchronous
 * domain, the error channel of an `Effect` at the edge); the edge maps each class to the status
 * upstream Hatchet answers with `grpcStatusOf` (gRPC) and `httpStatusOf` (REST), and sends its
 * `message` (the exact wording upstream sends). Defects (broken invariants) are not among them.
 *
 * @internal
 */
import * as Data from "effect/Data"
import { Status } from "nice-grpc-common"

export { Status }

/** INVALID_ARGUMENT (400 over REST): the request is malformed. `cause` is what the parser said. */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** NOT_FOUND (404 over REST): the request names something the engine does not have. */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** FAILED_PRECONDITION (400 over REST): the request does not fit the current state. */
export class FailedPrecondition extends Data.TaggedError("FailedPrecondition")<{
  readonly message: string
}> {}

/** UNIMPLEMENTED (501 over REST): a feature upstream has and this engine does not. */
export class Unimplemented extends Data.TaggedError("Unimplemented")<{
  readonly message: string
}> {}

/**
 * INTERNAL (500 over REST): what upstream answers where its database or its error interceptor
 * refuses the input ("An internal error occurred." unless given).
 */
export class Internal extends Data.TaggedError("Internal")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** ALREADY_EXISTS (409 over REST), with a serialized `google.rpc.Status` for the trailer. */
export class AlreadyExists extends Data.TaggedError("AlreadyExists")<{
  readonly message: string
  /** A serialized `google.rpc.Status`, sent as the `grpc-status-details-bin` trailer. */
  readonly statusDetails?: Uint8Array | undefined
}> {}

/** A status given by its code (the fault injection of a test ends streams with any status). */
export class RpcStatus extends Data.TaggedError("RpcStatus")<{
  readonly code: Status
  readonly message: string
}> {}

/** Every way a domain operation refuses a request. */
export type EngineError =
  | InvalidArgument
  | NotFound
  | FailedPrecondition
  | Unimplemented
  | Internal
  | AlreadyExists
  | RpcStatus

export const invalidArgument = (message: string, cause?: unknown) => new InvalidArgument({ message, cause })
export const notFound = (message: string) => new NotFound({ message })
export const failedPrecondition = (message: string) => new FailedPrecondition({ message })
export const unimplemented = (message: string) => new Unimplemented({ message })
/** Upstream's error interceptor turns every non-status error into this. */
export const internal = () => new Internal({ message: "An internal error occurred." })
/** INTERNAL with a message of its own (upstream answers some failures so). */
export const internalWith = (message: string) => new Internal({ message })

/** Whether a value is one of the domain errors. */
export const isEngineError = (u: unknown): u is EngineError =>
  u instanceof InvalidArgument || u instanceof NotFound || u instanceof FailedPrecondition || u instanceof Unimplemented ||
  u instanceof Internal || u instanceof AlreadyExists || u instanceof RpcStatus

/** The gRPC status code the edge answers for a domain error. */
export const grpcStatusOf = (error: EngineError): Status => {
  switch (error._tag) {
    case "InvalidArgument":
      return Status.INVALID_ARGUMENT
    case "NotFound":
      return Status.NOT_FOUND
    case "FailedPrecondition":
      return Status.FAILED_PRECONDITION
    case "Unimplemented":
      return Status.UNIMPLEMENTED
    case "Internal":
      return Status.INTERNAL
    case "AlreadyExists":
      return Status.ALREADY_EXISTS
    case "RpcStatus":
      return error.code
  }
}

/** The `grpc-status-details-bin` trailer of a domain error, if it has one. */
export const statusDetailsOf = (error: EngineError): Uint8Array | undefined =>
  error._tag === "AlreadyExists" ? error.statusDetails : undefined

/** The HTTP status a REST handler answers for a domain error. */
export const httpStatusOf = (error: EngineError): number => {
  switch (grpcStatusOf(error)) {
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
