/**
 * Workflows with step conditions, shared by the engine-free and the end-to-end condition tests:
 * a branch skipped on a parent's output (after upstream's `conditions` example), a day-long
 * sleep, an event with an expression, and cancellation on a parent's output.
 */
import { Condition, TaskContext, Workflow } from "@effect-hatchet/sdk"
import { Deferred, Effect, FiberId, Option, Schema } from "effect"

const Number = Schema.Struct({ n: Schema.Number })

/** `start` gives `input.n`; `left` is skipped over 50, `right` at 50 or under; `sum` adds what ran. */
export const Branches = Workflow.make("condition-branches", { input: Number }).pipe(
  Workflow.task("start", { output: Number }),
  Workflow.task("left", { parents: ["start"], output: Number, skipIf: Condition.parentOutput("start", "output.n > 50") }),
  Workflow.task("right", { parents: ["start"], output: Number, skipIf: Condition.parentOutput("start", "output.n <= 50") }),
  // its only parent may be skipped, so it may be too
  Workflow.task("after-left", { parents: ["left"], output: Number }),
  Workflow.task("sum", {
    parents: ["start", "left", "right"],
    output: Schema.Struct({ total: Schema.Number, skipped: Schema.Array(Schema.String), leftSkipped: Schema.Boolean })
  })
)

/** Which handlers ran, in order (the engine-free and e2e tests read it). */
export const ran: Array<string> = []

export const BranchesLive = Branches.toLayer({
  start: (input) => Effect.sync(() => (ran.push("start"), { n: input.n })),
  left: (_, parents) => Effect.sync(() => (ran.push("left"), { n: parents.start.n + 1 })),
  right: (_, parents) => Effect.sync(() => (ran.push("right"), { n: parents.start.n + 2 })),
  "after-left": (_, parents) =>
    Effect.sync(() => (ran.push("after-left"), { n: Option.getOrElse(Option.map(parents.left, (l) => l.n), () => -1) })),
  sum: (_, parents) =>
    Effect.gen(function*() {
      ran.push("sum")
      const context = yield* TaskContext.TaskContext
      const value = (parent: Option.Option<{ readonly n: number }>) => Option.match(parent, { onNone: () => 0, onSome: (p) => p.n })
      return {
        total: parents.start.n + value(parents.left) + value(parents.right),
        skipped: context.skippedParents,
        leftSkipped: yield* TaskContext.wasSkipped("left")
      }
    })
})

/** Waits a day after `start`, then says what woke it. */
export const aDay = Condition.sleep("1 day")
export const Sleepy = Workflow.make("condition-sleepy").pipe(
  Workflow.task("start"),
  Workflow.task("after-a-day", {
    parents: ["start"],
    waitFor: aDay,
    output: Schema.Struct({ woke: Schema.NullOr(Schema.Unknown) })
  })
)
export const SleepyLive = Sleepy.toLayer({
  start: () => Effect.void,
  "after-a-day": () => Effect.map(TaskContext.conditionData(aDay), (data) => ({ woke: Option.getOrNull(data) }))
})

/** `start` holds until `gate` opens; then `approved` waits for an approval event with `ok == true`. */
export const Approval = Schema.Struct({ ok: Schema.Boolean, by: Schema.String })
export const approvalKey = "condition:approval"
export const approved = Condition.event(approvalKey, { expression: "input.ok == true" })
export const gate = Deferred.unsafeMake<void>(FiberId.none)
export const Approvals = Workflow.make("condition-approvals").pipe(
  Workflow.task("start"),
  Workflow.task("approved", {
    parents: ["start"],
    waitFor: approved,
    output: Schema.Struct({ by: Schema.NullOr(Schema.String) })
  })
)
export const ApprovalsLive = Approvals.toLayer({
  start: () => Deferred.await(gate),
  approved: () =>
    Effect.map(
      Effect.orDie(TaskContext.decodeConditionData(approved, Approval)),
      (data) => ({ by: Option.getOrNull(Option.map(data, (a) => a.by)) })
    )
})

/** `guarded` is cancelled when `start` gives more than 50, and its child with it. */
export const Guarded = Workflow.make("condition-guarded", { input: Number }).pipe(
  Workflow.task("start", { output: Number }),
  Workflow.task("guarded", { parents: ["start"], output: Number, cancelIf: Condition.parentOutput("start", "output.n > 50") }),
  Workflow.task("after-guarded", { parents: ["guarded"], output: Number })
)
export const GuardedLive = Guarded.toLayer({
  start: (input) => Effect.succeed({ n: input.n }),
  guarded: (_, parents) => Effect.succeed({ n: parents.start.n * 2 }),
  "after-guarded": (_, parents) => Effect.succeed({ n: parents.guarded.n + 1 })
})
