/**
 * How the engine identifies a durable call at a node of a durable task's log, for test doubles
 * that stand in for the engine with no engine running (`TaskTest`'s durable context): a call is a
 * memo, a wait or a child run, identified by its kind and an idempotency key; when a task runs
 * again, a call at a node the log holds is answered from the log if it is the same call, and is a
 * non-determinism error otherwise, whose message shows the recorded call and the one received.
 *
 * @since 0.1.0
 */
import type { DurableEventListenerConditions } from "@effect-hatchet/proto/v1/shared/condition"
import * as calls from "./internal/domain/durableCalls.js"

/**
 * A durable call as the log identifies it: its kind, its idempotency key (a replay must ask the
 * same) and what it asks, readable.
 *
 * @since 0.1.0
 * @category models
 */
export interface DurableCall {
  readonly kind: "MEMO" | "WAIT_FOR" | "RUN"
  readonly idempotencyKey: string
  /** "memo", "sleep(24h)", "event(k)", "any of: sleep(1h), event(k)", "run(name)". */
  readonly describe: string
}

const call = (c: calls.DurableCall): DurableCall => ({ kind: c.kind, idempotencyKey: c.idempotencyKey, describe: c.describe })

/**
 * A memo of the key bytes `key` (what the worker sends: a hash of the task run and the memo key).
 *
 * @since 0.1.0
 * @category calls
 */
export const memo = (key: Uint8Array): DurableCall => call(calls.memoCall(key))

/**
 * A wait for `conditions`, as `wait_for` sends them (the or-group ids are not part of its identity).
 *
 * @since 0.1.0
 * @category calls
 */
export const waitFor = (conditions: DurableEventListenerConditions | undefined): DurableCall => call(calls.waitCall(conditions))

/**
 * A child run of the workflow `name` (its wire name) with `input`, the JSON text sent.
 *
 * @since 0.1.0
 * @category calls
 */
export const run = (name: string, input: string): DurableCall => call(calls.runCall(name, input))

/**
 * Whether `call` replays `recorded`: the same kind and idempotency key.
 *
 * @since 0.1.0
 * @category matching
 */
export const replays = (recorded: DurableCall, call: DurableCall): boolean => calls.replays(recorded, call)

/**
 * The engine's message when `received` is asked at the node of task `taskExternalId` whose
 * recorded call is `recorded` (what the worker's `NonDeterminismError` carries).
 *
 * @example
 * ```ts
 * import { DurableCalls } from "@effect-hatchet/engine"
 *
 * DurableCalls.nonDeterminismMessage({
 *   taskExternalId: "t-1",
 *   nodeId: 2,
 *   branchId: 1,
 *   recorded: DurableCalls.memo(new Uint8Array([1])),
 *   received: DurableCalls.run("child", "{}")
 * })
 * // "non-determinism error in task t-1 at node 2:1\n  expected: MEMO\n  received: run(child)"
 * ```
 *
 * @since 0.1.0
 * @category matching
 */
export const nonDeterminismMessage = (options: {
  readonly taskExternalId: string
  readonly nodeId: number
  readonly branchId: number
  readonly recorded: DurableCall
  readonly received: DurableCall
}): string =>
  calls.nonDeterminismMessage({
    taskExternalId: options.taskExternalId,
    nodeId: options.nodeId,
    branchId: options.branchId,
    expected: calls.recordedDescribe(options.recorded),
    received: options.received.describe
  })
