/**
 * The worker's calls to the engine: how long one may take, how a hung one fails, and the wrapper
 * of the calls that report to the engine (a timeout, and retries while it is unreachable).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Status } from "nice-grpc-common"
import { GrpcError } from "../HatchetError.js"
import { reportRetry, retryAfterFailure } from "./retry.js"

/** How long one of the worker's calls to the engine may take. */
export const CALL_TIMEOUT = Duration.seconds(10)

/** A hung call, as the transport would report a deadline. */
export const timeoutError = (method: string): GrpcError =>
  new GrpcError({ method: `/Dispatcher/${method}`, code: Status.DEADLINE_EXCEEDED, details: `${method} timed out` })

/** A call that reports to the engine: a timeout, and retries while the engine is unreachable. */
export const callEngine = <E extends GrpcError>(method: string, effect: Effect.Effect<void, E>): Effect.Effect<void, E | GrpcError> =>
  retryAfterFailure(
    Effect.timeoutFail(effect, { duration: CALL_TIMEOUT, onTimeout: () => timeoutError(method) }),
    reportRetry
  )
