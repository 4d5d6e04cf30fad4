/**
 * Idempotency keys (upstream `pkg/repository/trigger.go` `evalIdempotencyKey`, `ClaimIdempotencyKeys`
 * and `ReleaseIdempotencyKeys` in `sqlcv1/idempotency-keys.sql`; beta upstream).
 *
 * A workflow version with `idempotency` evaluates its CEL expression, in the workflow-string
 * environment over the trigger's `input` and `additional_metadata`, for each run about to be made;
 * the key (a string not starting with `hatchet_internal_`) is claimed for the tenant until
 * `now + ttl_ms`. A key still claimed by another run is a collision: that run is not made, and
 * the trigger reports the run holding the key. A key past its expiry is claimed anew. With the
 * `STATUS` method the key is also released as soon as a task of the run holding it reaches a
 * final state (upstream releases it per task, so the first task of a DAG to end frees it);
 * `ttl_ms` is then the longest it lives.
 *
 * @internal
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire"
import { IdempotencyMethod } from "@effect-hatchet/proto/v1/workflows"
import * as Cel from "@effect-hatchet/shared/Cel"
import { AlreadyExists, Status } from "./errors.js"
import type { JsonObject } from "./json.js"
import { isJsonObject, parseJson } from "./json.js"
import type { EngineState, Task, TenantState, WorkflowVersion } from "./model.js"

const reservedPrefix = "hatchet_internal_"

/** What claiming a run's key gave. */
export type Claim =
  | { readonly _tag: "NoKey" }
  | { readonly _tag: "Claimed"; readonly key: string }
  | { readonly _tag: "Collision"; readonly existingRunId: string }
  | { readonly _tag: "Failed"; readonly message: string }

/** The key of a run about to be made, or why it cannot be evaluated (upstream's messages). */
export const evaluateKey = (
  version: WorkflowVersion,
  inputRaw: string,
  metadata: JsonObject
): { readonly key: string } | { readonly failed: string } | undefined => {
  const config = version.request.idempotency
  if (config === undefined) return undefined
  const fail = (reason: string) => ({ failed: `failed to evaluate idempotency key expression "${config.expression}": ${reason}` })
  const compiled = Cel.compile("workflow", config.expression)
  if (compiled._tag === "Invalid") return fail(compiled.message)
  const input = parseJson(inputRaw)
  const result = Cel.evaluate(compiled.program, {
    input: isJsonObject(input) ? input : {},
    additional_metadata: metadata,
    workflow_run_id: ""
  })
  if (result._tag === "Error") return fail(result.message)
  if (typeof result.value !== "string") return fail(`output must evaluate to a string: got ${Cel.typeName(result.value)}`)
  if (result.value.startsWith(reservedPrefix)) {
    return { failed: `idempotency key "${result.value}" uses reserved prefix "${reservedPrefix}"` }
  }
  return { key: result.value }
}

/** Claims the key of run `runId` of `version` for its TTL, unless another run holds it. */
export const claim = (
  tenant: TenantState,
  version: WorkflowVersion,
  inputRaw: string,
  metadata: JsonObject,
  runId: string,
  now: number
): Claim => {
  const evaluated = evaluateKey(version, inputRaw, metadata)
  if (evaluated === undefined) return { _tag: "NoKey" }
  if ("failed" in evaluated) return { _tag: "Failed", message: evaluated.failed }
  const held = tenant.idempotencyKeys.get(evaluated.key)
  if (held !== undefined && held.expiresAt > now) return { _tag: "Collision", existingRunId: held.runId }
  tenant.idempotencyKeys.set(evaluated.key, { runId, expiresAt: now + Number(version.request.idempotency!.ttlMs) })
  // expired keys are dropped as the table doubles (upstream deletes them periodically)
  const size = tenant.idempotencyKeys.size
  if (size >= 1024 && (size & (size - 1)) === 0) evictExpired(tenant, now)
  return { _tag: "Claimed", key: evaluated.key }
}

/** Releases the key of the task's run when its version uses the `STATUS` method (a task ended). */
export const releaseOnFinal = (state: EngineState, task: Task): void => {
  const key = task.run.idempotencyKey
  if (key === undefined || task.run.version.request.idempotency?.method !== IdempotencyMethod.STATUS) return
  const tenant = state.tenants.get(task.tenantId)
  if (tenant?.idempotencyKeys.get(key)?.runId === task.run.id) tenant.idempotencyKeys.delete(key)
}

/** Forgets the keys past their expiry (upstream's periodic `CleanUpExpiredIdempotencyKeys`). */
export const evictExpired = (tenant: TenantState, now: number): void => {
  for (const [key, held] of tenant.idempotencyKeys) if (held.expiresAt <= now) tenant.idempotencyKeys.delete(key)
}

// -----------------------------------------------------------------------------
// the collision status (`grpc-status-details-bin`)
// -----------------------------------------------------------------------------

const anyOf = (typeName: string, value: Uint8Array) =>
  new BinaryWriter().uint32(10).string(`type.googleapis.com/${typeName}`).uint32(18).bytes(value).finish()

/** A serialized `google.rpc.Status` with one detail. */
const rpcStatus = (code: number, message: string, detail: Uint8Array) =>
  new BinaryWriter().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(detail).finish()

const collisionMessage = "idempotency key collision"

/** ALREADY_EXISTS "idempotency key collision" with `v1.IdempotencyCollisionError` as its detail. */
export const collisionError = (existingRunId: string, collidingRunId?: string): AlreadyExists => {
  const writer = new BinaryWriter().uint32(10).string(existingRunId)
  if (collidingRunId !== undefined) writer.uint32(18).string(collidingRunId)
  return new AlreadyExists({
    message: collisionMessage,
    statusDetails: rpcStatus(Status.ALREADY_EXISTS, collisionMessage, anyOf("v1.IdempotencyCollisionError", writer.finish()))
  })
}

/**
 * ALREADY_EXISTS "idempotency key collision" for a bulk trigger, with
 * `v1.BulkTriggerIdempotencyCollisionError` (the runs made, and each collision) as its detail.
 */
export const bulkCollisionError = (
  successfulRunIds: ReadonlyArray<string>,
  collisions: ReadonlyArray<{ readonly existingRunId: string; readonly collidingRunId: string }>
): AlreadyExists => {
  const writer = new BinaryWriter()
  for (const id of successfulRunIds) writer.uint32(10).string(id)
  for (const collision of collisions) {
    const item = new BinaryWriter().uint32(10).string(collision.existingRunId).uint32(18).string(collision.collidingRunId).finish()
    writer.uint32(18).bytes(item)
  }
  return new AlreadyExists({
    message: collisionMessage,
    statusDetails: rpcStatus(Status.ALREADY_EXISTS, collisionMessage, anyOf("v1.BulkTriggerIdempotencyCollisionError", writer.finish()))
  })
}
