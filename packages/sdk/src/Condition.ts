/**
 * Step conditions of a DAG task, as values: what a task waits for (`waitFor`), what skips it
 * (`skipIf`) and what cancels it (`cancelIf`), declared on `Workflow.task`.
 *
 * A condition is a sleep (a `Duration` from the moment the task's parents are done, or from the
 * run's start for a task without parents), a user event pushed with a key (optionally only one
 * whose payload a CEL `expression` over `input` accepts), or the output of one of the task's
 * parents (a CEL `expression` over `output`). Conditions given in a list must all hold; `or`
 * groups conditions of which any one is enough. Hatchet evaluates them on the engine: nothing runs
 * on the worker until the task is queued.
 *
 * - `waitFor`: the task is queued once its conditions hold (after its parents completed).
 * - `skipIf`: the task is not run and counts as completed, with no output: its children see it
 *   as skipped (a handler receives `Option.none()` for it), and a task whose parents were all
 *   skipped is skipped too.
 * - `cancelIf`: the task is cancelled, so is the run, as any cancelled task.
 *
 * An event pushed before the task starts waiting (before its parents are done) does not count:
 * Hatchet matches the events that arrive while the task waits.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Condition, Workflow } from "@effect-hatchet/sdk"
 *
 * const Review = Workflow.make("review", { input: Schema.Struct({ docId: Schema.String }) }).pipe(
 *   Workflow.task("score", { output: Schema.Struct({ score: Schema.Number }) }),
 *   Workflow.task("human-review", {
 *     parents: ["score"],
 *     // high scores need no review
 *     skipIf: Condition.parentOutput("score", "output.score > 0.9"),
 *     // a reviewer approves, or a day passes
 *     waitFor: Condition.or(Condition.event("review:approved", { expression: "input.approved" }), Condition.sleep("1 day")),
 *     cancelIf: Condition.event("review:withdrawn")
 *   }),
 *   Workflow.task("publish", { parents: ["score", "human-review"] })
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-hatchet/sdk/Condition")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Holds once `duration` has passed since the task began waiting (Hatchet's sleep condition).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sleep {
  readonly [TypeId]: TypeId
  readonly _tag: "Sleep"
  readonly duration: Duration.DurationInput
  /**
   * The key under which the task finds this condition's data (`TaskContext.triggers`).
   * Default `sleep-<duration>` (e.g. `sleep-24h`), as the official SDKs name it.
   */
  readonly dataKey: string | undefined
}

/**
 * Holds when an event is pushed with `key` (namespaced on the wire as any event key) and, with an
 * `expression`, when that CEL expression over the event's payload (`input`) is true.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly [TypeId]: TypeId
  readonly _tag: "Event"
  readonly key: string
  /** A CEL expression over `input` (the event's payload); none means any event with the key. */
  readonly expression: string | undefined
  /**
   * The key under which the task finds the event's payload (`TaskContext.triggers`). Default:
   * the event key, as the official SDKs name it.
   */
  readonly dataKey: string | undefined
}

/**
 * Holds when the parent task `parent` completes with an output the CEL `expression` (over
 * `output`) accepts. The parent must be one of the task's declared parents.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParentOutput<Parent extends string = string> {
  readonly [TypeId]: TypeId
  readonly _tag: "ParentOutput"
  readonly parent: Parent
  readonly expression: string
}

/**
 * One condition: a sleep, an event, or a parent's output.
 *
 * @since 0.1.0
 * @category models
 */
export type Single<Parent extends string = string> = Sleep | Event | ParentOutput<Parent>

/**
 * A group of conditions of which any one is enough (Hatchet's `Or(...)`: one or-group).
 *
 * @since 0.1.0
 * @category models
 */
export interface Or<Parent extends string = string> {
  readonly [TypeId]: TypeId
  readonly _tag: "Or"
  readonly conditions: ReadonlyArray<Single<Parent>>
}

/**
 * A condition, or an `or` group. `Parent` is the parents a `ParentOutput` may name (`never` for
 * conditions that name none).
 *
 * @since 0.1.0
 * @category models
 */
export type Condition<Parent extends string = string> = Single<Parent> | Or<Parent>

/**
 * What `waitFor`, `skipIf` and `cancelIf` take: one condition, or a list of conditions that must
 * all hold (each an or-group of its own, unless it is an `or`).
 *
 * @since 0.1.0
 * @category models
 */
export type Conditions<Parent extends string = string> = Condition<Parent> | ReadonlyArray<Condition<Parent>>

/**
 * The parents a set of conditions names.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ParentsOf<C> = C extends ReadonlyArray<infer E> ? ParentsOf<E>
  : C extends ParentOutput<infer P> ? P
  : C extends Or<infer P> ? P
  : never

/**
 * Whether a string type is the empty string literal.
 *
 * @since 0.1.0
 * @category type-level
 */
type NonEmpty<S extends string> = S extends "" ? never : S

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category guards
 */
export const isCondition = (u: unknown): u is Condition => Predicate.hasProperty(u, TypeId)

/**
 * Holds once `duration` has passed since the task began waiting: from when its parents are done,
 * or from the run's start for a task without parents. A whole number of milliseconds, positive.
 *
 * @example
 * ```ts
 * import { Condition, Workflow } from "@effect-hatchet/sdk"
 *
 * const Onboarding = Workflow.make("onboarding").pipe(
 *   Workflow.task("signup"),
 *   Workflow.task("follow-up", { parents: ["signup"], waitFor: Condition.sleep("1 day") })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const sleep = (
  duration: Duration.DurationInput,
  options?: { readonly dataKey?: string | undefined }
): Sleep => ({ [TypeId]: TypeId, _tag: "Sleep", duration, dataKey: options?.dataKey })

/**
 * Holds when an event with `key` is pushed while the task waits and, with `expression`, when that
 * CEL expression over the event's payload (`input`) is true, e.g. `"input.approved == true"`.
 *
 * @example
 * ```ts
 * import { Condition, Workflow } from "@effect-hatchet/sdk"
 *
 * const Fulfilment = Workflow.make("fulfilment").pipe(
 *   Workflow.task("pack"),
 *   Workflow.task("ship", { parents: ["pack"], waitFor: Condition.event("order:paid", { expression: "input.amount > 0" }) })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const event = <const Key extends string>(
  key: NonEmpty<Key>,
  options?: {
    readonly expression?: string | undefined
    readonly dataKey?: string | undefined
  }
): Event => ({ [TypeId]: TypeId, _tag: "Event", key, expression: options?.expression, dataKey: options?.dataKey })

/**
 * Holds when the parent task `parent` completes with an output the CEL `expression` over
 * `output` accepts, e.g. `"output.score > 0.9"`. `parent` must be one of the task's `parents`
 * (a type error otherwise).
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Condition, Workflow } from "@effect-hatchet/sdk"
 *
 * const Review = Workflow.make("review").pipe(
 *   Workflow.task("score", { output: Schema.Struct({ score: Schema.Number }) }),
 *   Workflow.task("review", { parents: ["score"], skipIf: Condition.parentOutput("score", "output.score > 0.9") })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parentOutput = <const Parent extends string>(
  parent: NonEmpty<Parent>,
  expression: string
): ParentOutput<Parent> => ({ [TypeId]: TypeId, _tag: "ParentOutput", parent, expression })

/**
 * Any one of `conditions` is enough (one or-group). Nested `or`s are flattened into it.
 *
 * @example
 * ```ts
 * import { Condition } from "@effect-hatchet/sdk"
 *
 * // approved, or a day passed
 * const approvedOrLate = Condition.or(Condition.event("review:approved"), Condition.sleep("1 day"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const or = <const Conditions extends ReadonlyArray<Condition<string>>>(
  ...conditions: Conditions
): Or<ParentsOf<Conditions>> => ({
  [TypeId]: TypeId,
  _tag: "Or",
  conditions: conditions.flatMap((condition) => condition._tag === "Or" ? condition.conditions : [condition]) as any
})

/**
 * The conditions as a list (a single condition or `or` becomes a one-element list).
 *
 * @since 0.1.0
 * @category utils
 */
export const toArray = <P extends string>(conditions: Conditions<P> | undefined): ReadonlyArray<Condition<P>> =>
  conditions === undefined ? [] : Array.isArray(conditions) ? conditions : [conditions as Condition<P>]
