/**
 * The client's own error, shared by its request checks, batching and result decoding.
 *
 * @internal
 */
import * as Data from "effect/Data"

/** See `Hatchet.HatchetClientError`. */
export class HatchetClientError extends Data.TaggedError("HatchetClientError")<{
  readonly reason:
    | "InvalidDefinition"
    | "InvalidInput"
    | "InvalidOptions"
    | "PayloadTooLarge"
    | "InvalidOutput"
    | "MissingResult"
    | "PartiallyTriggered"
    | "RunNotFound"
    | "IdempotencyCollision"
  readonly message: string
  readonly runId?: string | undefined
  readonly runIds?: ReadonlyArray<string> | undefined
  /** `IdempotencyCollision`: the runs holding the keys (`runId` is the first, `runIds` the runs made in bulk). */
  readonly existingRunIds?: ReadonlyArray<string> | undefined
  readonly cause?: unknown
}> {}

/** A `HatchetClientError` of this reason. */
export const clientError = (
  reason: HatchetClientError["reason"],
  message: string,
  extra?: {
    readonly runId?: string | undefined
    readonly runIds?: ReadonlyArray<string>
    readonly existingRunIds?: ReadonlyArray<string>
    readonly cause?: unknown
  }
) => new HatchetClientError({ reason, message, ...extra })
