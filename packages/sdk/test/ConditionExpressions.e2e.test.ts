/**
 * A condition's CEL is compiled before the worker registers its workflow. Hatchet does not check
 * it at registration and skips an expression that does not compile when it matches (it only logs
 * the error), so a typo would leave the task waiting for ever, or never skipped or cancelled. Our
 * worker and client on the local engine over loopback gRPC.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as Condition from "../src/Condition.js"
import * as Hatchet from "../src/Hatchet.js"
import * as Workflow from "../src/Workflow.js"
import * as Workflows from "../src/Workflows.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const reviewFlow = (name: string, skipWhen: string) =>
  Workflow.make(name, { input: Schema.Struct({ score: Schema.Number }) }).pipe(
    Workflow.task("score", { output: Schema.Struct({ score: Schema.Number }) }),
    Workflow.task("review", {
      parents: ["score"],
      output: Schema.Struct({ reviewed: Schema.Boolean }),
      skipIf: Condition.parentOutput("score", skipWhen)
    })
  )

const implement = (flow: ReturnType<typeof reviewFlow>) =>
  flow.toLayer({
    score: (input) => Effect.succeed({ score: input.score }),
    review: () => Effect.succeed({ reviewed: true })
  })

layer(engineWithClient(), { timeout: 30_000, excludeTestServices: true })("condition expressions end to end", (it) => {
  it.scoped("a worker refuses a definition whose condition does not compile, and registers nothing", () =>
    Effect.gen(function*() {
      const name = unique("review")
      const error = yield* Effect.flip(startWorker(implement(reviewFlow(name, "output.score >> 0.9"))))
      expect(error).toMatchObject({ _tag: "WorkerError", reason: "InvalidWorkflow" })
      expect(error.message).toContain(`Invalid workflow "${name}":\n  - tasks.review.skipIf[0].expression: does not compile:`)
      expect(error.message).toContain("ERROR: <input>:1:14: Syntax error: found > but expecting end of input\n       | output.score >> 0.9")
      const workflows = yield* Workflows.Workflows
      expect(Option.isNone(yield* workflows.findByName(name))).toBe(true)

      // corrected, it registers, and the engine evaluates it: a high score skips the review
      const fixed = reviewFlow(name, "output.score > 0.9")
      yield* startWorker(implement(fixed))
      expect(Option.isSome(yield* workflows.findByName(name))).toBe(true)
      expect(yield* Hatchet.run(fixed, { score: 0.95 })).toEqual({ score: { score: 0.95 }, review: Option.none() })
      expect(yield* Hatchet.run(fixed, { score: 0.5 })).toEqual({
        score: { score: 0.5 },
        review: Option.some({ reviewed: true })
      })
    }))
})
