/**
 * Step conditions: a document is scored; a human reviews it unless the score is high (`skipIf`),
 * within a day (`waitFor` an approval event, or a day's sleep), unless the request is withdrawn
 * (`cancelIf`); publishing sees whether the review ran.
 *
 * An event condition matches by key and payload, not by run: one `review:approved` event wakes
 * every review waiting at that moment (its expression sees the event's payload, not the run).
 */
import { Condition, TaskContext, Workflow } from "@effect-hatchet/sdk"
import { Effect, Option, Schema } from "effect"

export const Document = Schema.Struct({ docId: Schema.String, score: Schema.Number })

/** A reviewer's answer, pushed as the event `review:approved`. */
export const Approval = Schema.Struct({ docId: Schema.String, approved: Schema.Boolean, by: Schema.String })

export const approved = Condition.event("review:approved", { expression: "input.approved == true" })

export const Review = Workflow.make("review", { input: Document }).pipe(
  Workflow.task("score", { output: Schema.Struct({ score: Schema.Number }) }),
  Workflow.task("human-review", {
    parents: ["score"],
    output: Schema.Struct({ reviewer: Schema.NullOr(Schema.String) }),
    // no review for high scores
    skipIf: Condition.parentOutput("score", "output.score > 0.9"),
    // a reviewer approves, or a day passes
    waitFor: Condition.or(approved, Condition.sleep("1 day")),
    cancelIf: Condition.event("review:withdrawn")
  }),
  Workflow.task("publish", {
    parents: ["score", "human-review"],
    output: Schema.Struct({ reviewedBy: Schema.String })
  })
)

export const ReviewLive = Review.toLayer({
  score: (input) => Effect.succeed({ score: input.score }),
  // the approval that woke the task, or none when the day passed
  "human-review": () =>
    Effect.map(
      Effect.orDie(TaskContext.decodeConditionData(approved, Approval)),
      (approval) => ({ reviewer: Option.getOrNull(Option.map(approval, (a) => a.by)) })
    ),
  // a skipped review is None: its output is not there to read
  publish: (_, parents) =>
    Effect.succeed({
      reviewedBy: Option.match(parents["human-review"], {
        onNone: () => "nobody: the score was high enough",
        onSome: (review) => review.reviewer ?? "nobody: a day passed"
      })
    })
})
