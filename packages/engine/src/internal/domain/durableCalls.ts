/**
 * What identifies a durable call at a node of a durable task's log, and how the engine tells a
 * replay from a different call (upstream `pkg/repository/durable_events.go`): each call has a kind
 * (MEMO, WAIT_FOR, RUN), an idempotency key (a memo's key bytes as hex, the SHA-256 of a wait's
 * sorted conditions, of a child's input and name) and a readable description; a call at a recorded
 * node replays it when kind and key are the same, else it is a non-determinism error whose message
 * shows what the log holds and what was asked.
 *
 * Shared by the engine (`durable.ts`) and, through the public `DurableCalls` module, by test
 * doubles of the log (`TaskTest`).
 *
 * @internal
 */
import type { DurableEventListenerConditions } from "@effect-hatchet/proto/v1/shared/condition"
import { createHash } from "node:crypto"
import { formatGoDuration, parseDuration } from "./duration.js"
import type { DurableEntryKind, DurableWaitCondition, DurableWaitData } from "./model.js"

/** A durable call as the log identifies it. */
export interface DurableCall {
  readonly kind: DurableEntryKind
  /** What was asked, hashed (a memo's key as hex): a replay must ask the same. */
  readonly idempotencyKey: string
  /** What was asked, readable ("memo", "sleep(24h)", "event(k)", "run(name)"). */
  readonly describe: string
  /** What a RUN or WAIT_FOR call waits for (upstream `WaitData`). */
  readonly waitData: DurableWaitData | undefined
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** A memo of key `key` (the worker's key bytes). */
export const memoCall = (key: Uint8Array): DurableCall => ({
  kind: "MEMO",
  idempotencyKey: Buffer.from(key).toString("hex"),
  describe: "memo",
  waitData: undefined
})

/** One condition of a wait, as its identity reads it. */
interface WaitCondition {
  readonly kind: "SLEEP" | "USER_EVENT"
  readonly expression: string
  readonly readableDataKey: string
  readonly orGroupId: string
  readonly sleepFor: string | undefined
  readonly eventKey: string | undefined
}

const waitConditions = (conditions: DurableEventListenerConditions | undefined): Array<WaitCondition> => [
  ...(conditions?.sleepConditions ?? []).map((c): WaitCondition => ({
    kind: "SLEEP",
    expression: c.base?.expression ?? "",
    readableDataKey: c.base?.readableDataKey ?? "",
    orGroupId: c.base?.orGroupId ?? "",
    sleepFor: c.sleepFor,
    eventKey: undefined
  })),
  ...(conditions?.userEventConditions ?? []).map((c): WaitCondition => ({
    kind: "USER_EVENT",
    expression: c.base?.expression ?? "",
    readableDataKey: c.base?.readableDataKey ?? "",
    orGroupId: c.base?.orGroupId ?? "",
    sleepFor: undefined,
    eventKey: c.userEventKey
  }))
]

/** The idempotency key of a wait: the SHA-256 of its kind and its sorted conditions (`createIdempotencyKey`). */
const waitIdempotencyKey = (conditions: ReadonlyArray<WaitCondition>): string => {
  const compare = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b ? 0 : a < b ? -1 : 1
  const sorted = [...conditions].sort((a, b) =>
    compare(a.expression, b.expression) ||
    compare(a.readableDataKey, b.readableDataKey) ||
    compare(a.kind, b.kind) ||
    compare(a.sleepFor, b.sleepFor) ||
    compare(a.eventKey, b.eventKey)
  )
  let text = "WAIT_FOR"
  for (const c of sorted) text += c.expression + c.readableDataKey + c.kind + (c.sleepFor ?? "") + (c.eventKey ?? "")
  return sha256(text)
}

/** What a wait waits for, by or-group (`waitDataFromWaitForConditions`). */
const waitDataOf = (conditions: ReadonlyArray<WaitCondition>): DurableWaitData => {
  const groups = new Map<string, Array<DurableWaitCondition>>()
  for (const c of conditions) {
    const group = groups.get(c.orGroupId) ?? []
    group.push(
      c.kind === "SLEEP"
        ? { kind: "SLEEP", sleepDurationMs: parseDuration(c.sleepFor ?? "") }
        : { kind: "USER_EVENT", eventKey: c.eventKey }
    )
    groups.set(c.orGroupId, group)
  }
  const all = [...groups.values()]
  return { conditions: all.filter((g) => g.length === 1).map((g) => g[0]!), orGroups: all.filter((g) => g.length > 1) }
}

const describeCondition = (c: DurableWaitCondition): string => {
  switch (c.kind) {
    case "SLEEP":
      return c.sleepDurationMs === undefined ? "sleep" : `sleep(${formatGoDuration(c.sleepDurationMs)})`
    case "USER_EVENT":
      return c.eventKey === undefined ? "event" : `event(${c.eventKey})`
    case "CHILD_WORKFLOW":
      return c.workflowName === undefined ? "run" : `run(${c.workflowName})`
  }
}

/** What an entry waits for, as upstream shows it ("sleep(10s)", "any of: sleep(10s), event(k)"; `ToReadableMessage`). */
const describeWaitData = (data: DurableWaitData): string => {
  const parts = [
    ...data.conditions.map(describeCondition),
    ...data.orGroups.map((group) => `any of: ${group.map(describeCondition).join(", ")}`)
  ]
  return parts.length === 0 ? "waiting" : parts.join(" and ")
}

/** A wait for `conditions` (as `wait_for` sends them). */
export const waitCall = (conditions: DurableEventListenerConditions | undefined): DurableCall => {
  const parsed = waitConditions(conditions)
  const waitData = waitDataOf(parsed)
  return { kind: "WAIT_FOR", idempotencyKey: waitIdempotencyKey(parsed), describe: describeWaitData(waitData), waitData }
}

/** A child run of workflow `name` with input `inputRaw` (the JSON text sent). */
export const runCall = (name: string, inputRaw: string): DurableCall => {
  const waitData: DurableWaitData = { conditions: [{ kind: "CHILD_WORKFLOW", workflowName: name }], orGroups: [] }
  return { kind: "RUN", idempotencyKey: sha256(`RUN${inputRaw}${name}`), describe: describeWaitData(waitData), waitData }
}

/** How the log describes a call it records (a memo as "MEMO", as upstream stores it). */
export const recordedDescribe = (call: Pick<DurableCall, "kind" | "describe">): string => call.kind === "MEMO" ? "MEMO" : call.describe

/** Whether `call` replays the call recorded as `recorded` (same kind and idempotency key). */
export const replays = (
  recorded: Pick<DurableCall, "kind" | "idempotencyKey">,
  call: Pick<DurableCall, "kind" | "idempotencyKey">
): boolean => recorded.kind === call.kind && recorded.idempotencyKey === call.idempotencyKey

/** The engine's message of a call that differs from the entry recorded at its node. */
export const nonDeterminismMessage = (options: {
  readonly taskExternalId: string
  readonly nodeId: number
  readonly branchId: number
  /** The recorded entry's description (`recordedDescribe`). */
  readonly expected: string
  /** The call's (`DurableCall.describe`). */
  readonly received: string
}): string =>
  `non-determinism error in task ${options.taskExternalId} at node ${options.nodeId}:${options.branchId}` +
  `\n  expected: ${options.expected}\n  received: ${options.received}`
