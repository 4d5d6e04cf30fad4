/**
 * The details of a gRPC error status (`grpc-status-details-bin`: an encoded `google.rpc.Status`,
 * whose `details` are `google.protobuf.Any`), and Hatchet's idempotency-collision details in it.
 *
 * A minimal protobuf reader: the two messages have only varint and length-delimited fields.
 *
 * @internal
 */
import { BulkTriggerIdempotencyCollisionError, IdempotencyCollisionError } from "@effect-hatchet/proto/v1/workflows"

/** The length-delimited fields of a message by number (other wire types skipped), or undefined if malformed. */
const fieldsOf = (bytes: Uint8Array): Array<readonly [number, Uint8Array]> | undefined => {
  const fields: Array<readonly [number, Uint8Array]> = []
  let pos = 0
  const varint = (): number | undefined => {
    let result = 0
    let shift = 0
    while (pos < bytes.length && shift < 64) {
      const byte = bytes[pos++]!
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
    return undefined
  }
  while (pos < bytes.length) {
    const tag = varint()
    if (tag === undefined) return undefined
    const field = Math.floor(tag / 8)
    switch (tag & 7) {
      case 0:
        if (varint() === undefined) return undefined
        break
      case 1:
        pos += 8
        break
      case 2: {
        const length = varint()
        if (length === undefined || pos + length > bytes.length) return undefined
        fields.push([field, bytes.subarray(pos, pos + length)])
        pos += length
        break
      }
      case 5:
        pos += 4
        break
      default:
        return undefined
    }
  }
  return fields
}

/** The `Any` details of an encoded `google.rpc.Status`: type URL and value. */
export const statusDetails = (bytes: Uint8Array): Array<{ readonly typeUrl: string; readonly value: Uint8Array }> =>
  (fieldsOf(bytes) ?? []).filter(([field]) => field === 3).flatMap(([, any]) => {
    const parts = fieldsOf(any) ?? []
    const typeUrl = parts.find(([field]) => field === 1)
    const value = parts.find(([field]) => field === 2)
    return typeUrl === undefined ? [] : [{ typeUrl: new TextDecoder().decode(typeUrl[1]), value: value?.[1] ?? new Uint8Array() }]
  })

/** What an idempotency collision says: the runs holding the keys, and (in bulk) the runs made. */
export interface Collision {
  readonly existingRunIds: ReadonlyArray<string>
  readonly triggeredRunIds: ReadonlyArray<string>
}

/** Hatchet's idempotency-collision details in a status, if any. */
export const idempotencyCollision = (bytes: Uint8Array | undefined): Collision | undefined => {
  if (bytes === undefined) return undefined
  for (const detail of statusDetails(bytes)) {
    try {
      if (detail.typeUrl.endsWith("/v1.BulkTriggerIdempotencyCollisionError")) {
        const bulk = BulkTriggerIdempotencyCollisionError.decode(detail.value)
        return {
          existingRunIds: bulk.collisions.map((c) => c.existingRunExternalId),
          triggeredRunIds: bulk.successfulWorkflowRunExternalIds
        }
      }
      if (detail.typeUrl.endsWith("/v1.IdempotencyCollisionError")) {
        return { existingRunIds: [IdempotencyCollisionError.decode(detail.value).existingRunExternalId], triggeredRunIds: [] }
      }
    } catch {
      return undefined
    }
  }
  return undefined
}
