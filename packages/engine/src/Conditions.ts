/**
 * How the engine decides that one condition of a durable wait holds, for test doubles that stand
 * in for the engine with no engine running (`TaskTest`'s durable context): a user event meets a
 * condition by its key, its scope and the condition's CEL expression, evaluated in-process with
 * the engine's own CEL (upstream's `condition` environment: the payload is `input`); a sleep
 * condition lasts its Go duration.
 *
 * @since 0.1.0
 */
import { parseDuration } from "./internal/domain/duration.js"
import * as matches from "./internal/domain/matches.js"

/**
 * A user-event condition of a durable wait, as `wait_for` sends it.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserEventCondition {
  /** The event key (namespaced, as sent). */
  readonly eventKey: string
  /** Only events pushed with this scope meet it; none (or "") accepts any scope. */
  readonly scope?: string | undefined
  /** A CEL expression over `input` (the event's payload); "" holds for any payload. */
  readonly expression: string
}

/**
 * A pushed event.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushedEvent {
  readonly key: string
  /** Its JSON payload; one that is not an object meets no condition (as upstream). */
  readonly payload: unknown
  readonly scope?: string | undefined
}

/**
 * Whether `event` meets `condition`: the same key, the condition's scope (if it has one), and its
 * expression true on the payload (an expression that does not compile, fails or gives no boolean
 * does not hold).
 *
 * @example
 * ```ts
 * import { Conditions } from "@effect-hatchet/engine"
 *
 * const approval = { eventKey: "approval:o-1", expression: "input.amount < 100" }
 * Conditions.userEventMeets(approval, { key: "approval:o-1", payload: { amount: 42 } }) // true
 * Conditions.userEventMeets(approval, { key: "approval:o-1", payload: { amount: 420 } }) // false
 * ```
 *
 * @since 0.1.0
 * @category matching
 */
export const userEventMeets = (condition: UserEventCondition, event: PushedEvent): boolean =>
  matches.userEventMeets(
    { eventKey: condition.eventKey, scope: condition.scope, expression: condition.expression },
    { key: event.key, payload: JSON.stringify(event.payload ?? null), scope: event.scope }
  )

/**
 * How long a sleep condition lasts, in milliseconds: its Go duration (`sleep_for`, e.g. "1h30m")
 * as the engine parses it; `undefined` when the engine would refuse it.
 *
 * @since 0.1.0
 * @category matching
 */
export const sleepMillis = (sleepFor: string): number | undefined => parseDuration(sleepFor)
