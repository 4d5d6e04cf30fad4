/**
 * Step conditions on DAG tasks, without an engine: what the types accept and refuse, the exact
 * `TaskConditions` sent in `PutWorkflow` (as the official TypeScript SDK builds them), the checks
 * before sending, and how a task reads skipped parents and the conditions' data.
 */
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import * as Condition from "../src/Condition.js"
import { specOf } from "../src/internal/definition.js"
import { compile } from "../src/internal/registration.js"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskExecution from "../src/TaskExecution.js"
import * as Workflow from "../src/Workflow.js"
import { testTaskContext } from "./support/taskContext.js"

const Score = Schema.Struct({ score: Schema.Number })

const Review = Workflow.make("review", { input: Schema.Struct({ docId: Schema.String }) }).pipe(
  Workflow.task("score", { output: Score }),
  Workflow.task("human-review", {
    parents: ["score"],
    output: Schema.Struct({ approved: Schema.Boolean }),
    skipIf: Condition.parentOutput("score", "output.score > 0.9"),
    waitFor: Condition.or(
      Condition.event("review:approved", { expression: "input.approved == true" }),
      Condition.sleep("1 day")
    ),
    cancelIf: Condition.event("review:withdrawn")
  }),
  Workflow.task("publish", { parents: ["score", "human-review"], output: Schema.Struct({ url: Schema.String }) }),
  Workflow.task("archive", { parents: ["human-review"] }),
  Workflow.onSuccess()
)

describe("conditions (types)", () => {
  it("a task with skipIf, and a task whose parents may all be skipped, are seen as Options", () => {
    expectTypeOf<Workflow.Result<typeof Review>>().toEqualTypeOf<{
      readonly score: { readonly score: number }
      readonly "human-review": Option.Option<{ readonly approved: boolean }>
      readonly publish: { readonly url: string }
      readonly archive: Option.Option<void>
      readonly "on-success-task": void
    }>()
    Review.toLayer({
      score: () => Effect.succeed({ score: 0.5 }),
      "human-review": (_, parents) => {
        expectTypeOf(parents).toEqualTypeOf<{ readonly score: { readonly score: number } }>()
        return Effect.succeed({ approved: true })
      },
      publish: (_, parents) => {
        expectTypeOf(parents).toEqualTypeOf<{
          readonly score: { readonly score: number }
          readonly "human-review": Option.Option<{ readonly approved: boolean }>
        }>()
        return Effect.succeed({ url: "u" })
      },
      archive: (_, parents) => {
        expectTypeOf(parents["human-review"]).toEqualTypeOf<Option.Option<{ readonly approved: boolean }>>()
        return Effect.void
      },
      "on-success-task": (_, parents) => {
        // the leaves: publish (one parent may not be skipped) and archive (its only parent may)
        expectTypeOf(parents).toEqualTypeOf<{ readonly publish: { readonly url: string }; readonly archive: Option.Option<void> }>()
        return Effect.void
      }
    })
  })

  it("accepts conditions in a list, or-groups and conditions on any declared parent", () => {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const Flow = Workflow.make("accepted").pipe(
      Workflow.task("a", { output: Score, waitFor: [Condition.sleep("10 seconds"), Condition.event("go")] }),
      Workflow.task("b", { output: Score }),
      Workflow.task("c", {
        parents: ["a", "b"],
        waitFor: Condition.parentOutput("a", "output.score > 1"),
        cancelIf: [Condition.or(Condition.parentOutput("b", "output.score < 0"), Condition.sleep("1 hour"))]
      })
    )
    expectTypeOf<Workflow.Result<typeof Flow>["c"]>().toEqualTypeOf<void>()
    expectTypeOf(Condition.or(Condition.parentOutput("a", "true"), Condition.sleep(5))).toEqualTypeOf<Condition.Or<"a">>()
  })

  it("refuses a parent that is not declared, an empty event key, and a condition that is not one", () => {
    const Base = Workflow.make("refused").pipe(Workflow.task("a", { output: Score }))
    // "c" is not a parent of "b"
    // @ts-expect-error
    Base.pipe(Workflow.task("b", { parents: ["a"], skipIf: Condition.parentOutput("c", "output.score > 1") }))
    // "d" has no parents, so no parent condition, also inside an or-group
    // @ts-expect-error
    Base.pipe(Workflow.task("d", { waitFor: Condition.or(Condition.sleep("1 minute"), Condition.parentOutput("a", "true")) }))
    // a plain object is not a condition
    // @ts-expect-error
    Base.pipe(Workflow.task("e", { cancelIf: { sleepFor: "1m" } }))
    // @ts-expect-error an event key cannot be empty
    Condition.event("")
    // @ts-expect-error a parent name cannot be empty
    Condition.parentOutput("", "true")
  })
})

const requestOf = (definition: Workflow.Definition, namespace = "") => Either.getOrThrow(compile(specOf(definition), namespace)).request

describe("conditions (PutWorkflow request)", () => {
  it("are sent as the official SDK sends them: actions, data keys, namespaced event keys, or-groups", () => {
    const request = requestOf(Review, "team_")
    const [score, review, publish] = request.tasks
    // a task without conditions still sends the (empty) message, as the official SDK
    expect(score!.conditions).toEqual({ parentOverrideConditions: [], sleepConditions: [], userEventConditions: [] })
    expect(publish!.parents).toEqual(["score", "human-review"])
    const conditions = review!.conditions!
    const or = conditions.userEventConditions[0]!.base!.orGroupId
    expect(conditions.userEventConditions).toEqual([
      {
        base: { readableDataKey: "review:approved", action: Action.QUEUE, orGroupId: or, expression: "input.approved == true" },
        userEventKey: "team_review:approved",
        eventScope: undefined,
        considerEventsSince: undefined
      },
      {
        base: { readableDataKey: "review:withdrawn", action: Action.CANCEL, orGroupId: expect.any(String), expression: "" },
        userEventKey: "team_review:withdrawn",
        eventScope: undefined,
        considerEventsSince: undefined
      }
    ])
    expect(conditions.sleepConditions).toEqual([
      { base: { readableDataKey: "sleep-24h", action: Action.QUEUE, orGroupId: or, expression: "" }, sleepFor: "24h" }
    ])
    expect(conditions.parentOverrideConditions).toEqual([
      {
        base: { readableDataKey: "parent-score", action: Action.SKIP, orGroupId: expect.any(String), expression: "output.score > 0.9" },
        parentReadableId: "score"
      }
    ])
    // the or-group is one UUID; each condition outside one has its own
    const groups = [
      or,
      conditions.userEventConditions[1]!.base!.orGroupId,
      conditions.parentOverrideConditions[0]!.base!.orGroupId
    ]
    for (const id of groups) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(new Set(groups).size).toBe(3)
    // the same definition gives the same request (no new workflow version on each start)
    expect(requestOf(Review, "team_")).toEqual(request)
  })

  it("a list is one group per condition; a custom data key replaces the default", () => {
    const Flow = Workflow.make("keys").pipe(
      Workflow.task("a", {
        waitFor: [
          Condition.sleep("90 seconds", { dataKey: "cool-down" }),
          Condition.event("ping", { dataKey: "first-ping" }),
          Condition.sleep(1500)
        ]
      }),
      Workflow.task("b", { parents: ["a"] })
    )
    const conditions = requestOf(Flow).tasks[0]!.conditions!
    expect(conditions.sleepConditions.map((c) => [c.base!.readableDataKey, c.sleepFor])).toEqual([
      ["cool-down", "90s"],
      ["sleep-1500ms", "1500ms"]
    ])
    expect(conditions.userEventConditions.map((c) => [c.base!.readableDataKey, c.userEventKey])).toEqual([["first-ping", "ping"]])
    const ids = [...conditions.sleepConditions, ...conditions.userEventConditions].map((c) => c.base!.orGroupId)
    expect(new Set(ids).size).toBe(3)
  })

  it("reports bad conditions before sending, with where and what", () => {
    const Bad = Workflow.make("bad").pipe(
      Workflow.task("a", { output: Score }),
      Workflow.task("b", {
        parents: ["a"],
        waitFor: [Condition.sleep(-5), Condition.sleep("1.5 millis" as any), Condition.or()],
        skipIf: Condition.event("  " as any, { expression: "  " }),
        cancelIf: [
          Condition.parentOutput("zz" as any, "output.x"),
          Condition.parentOutput("a", ""),
          { _tag: "Sleep", duration: "1 second" } as any
        ]
      })
    )
    const result = Effect.runSync(Effect.either(Workflow.validate(Bad)))
    expect(Either.isLeft(result) && result.left.issues).toEqual([
      "tasks.b.waitFor[0]: a sleep's duration -5 must be positive",
      "tasks.b.waitFor[1]: a sleep's duration \"1.5 millis\" must be a whole number of milliseconds (Hatchet durations use ms, s, m or h)",
      "tasks.b.waitFor[2]: an or-group needs at least one condition",
      "tasks.b.cancelIf[0]: \"zz\" is not a parent of this task (parents: \"a\")",
      "tasks.b.cancelIf[1].expression: a CEL expression over output is required, e.g. \"output.ok == true\"",
      "tasks.b.cancelIf[2]: not a condition (make one with Condition.sleep, Condition.event, Condition.parentOutput or Condition.or)",
      "tasks.b.skipIf[0]: an event condition needs a non-empty event key",
      "tasks.b.skipIf[0].expression: must be a CEL expression over input (leave it out to accept any event)"
    ])
  })

  it.effect("compiles the conditions' CEL as Hatchet would, and refuses what it would skip, with cel-go's message", () =>
    Effect.gen(function*() {
      const Typos = Workflow.make("typos").pipe(
        Workflow.task("a", { output: Score }),
        Workflow.task("b", {
          parents: ["a"],
          waitFor: Condition.or(Condition.event("ok", { expression: "input.ok ==" }), Condition.sleep("1 hour")),
          // a condition sees `input` and `output` only, and no strings extension
          skipIf: Condition.parentOutput("a", "payload.score > 1"),
          cancelIf: Condition.event("stop", { expression: "input.name.lowerAscii() == 'x'" })
        })
      )
      const error = yield* Effect.flip(Workflow.validate(Typos))
      expect(error.issues).toEqual([
        "tasks.b.waitFor[0].or[0].expression: does not compile:\n" +
        "      ERROR: <input>:1:10: Syntax error: found = but expecting end of input\n" +
        "       | input.ok ==\n" +
        "       | .........^",
        "tasks.b.cancelIf[0].expression: does not compile:\n" +
        "      ERROR: <input>:1:22: undeclared reference to 'lowerAscii' (in container '')\n" +
        "       | input.name.lowerAscii() == 'x'\n" +
        "       | .....................^",
        "tasks.b.skipIf[0].expression: does not compile:\n" +
        "      ERROR: <input>:1:1: undeclared reference to 'payload' (in container '')\n" +
        "       | payload.score > 1\n" +
        "       | ^"
      ])
      expect(error.message).toContain(`Invalid workflow "typos":\n  - tasks.b.waitFor[0].or[0].expression: does not compile:`)
      // what compiles passes: the standard library over input and output
      yield* Workflow.validate(Review)
      yield* Workflow.validate(
        Workflow.make("fine").pipe(
          Workflow.task("a", { output: Score }),
          Workflow.task("b", {
            parents: ["a"],
            waitFor: Condition.event("ok", { expression: "input.name.startsWith('a') && size(input.tags) > 2" }),
            skipIf: Condition.parentOutput("a", "output.score >= 0.5 || !has(output.score)")
          })
        )
      )
    }))

  it("refuses conditions on a workflow's only task, which Hatchet would never evaluate", () => {
    const Lone = Workflow.make("lone").pipe(Workflow.task("a", { waitFor: Condition.sleep("1 minute") }))
    const result = Effect.runSync(Effect.either(Workflow.validate(Lone)))
    expect(Either.isLeft(result) && result.left.issues).toEqual([
      "tasks.a: waitFor, skipIf and cancelIf need a workflow of more than one task (Hatchet evaluates them only in a DAG, so its runs would never start): add a task, or an on-failure or on-success task"
    ])
    expect(Either.isRight(compile(specOf(Lone.pipe(Workflow.onFailure())), ""))).toBe(true)
    expect(Either.isRight(compile(specOf(Lone.pipe(Workflow.onSuccess())), ""))).toBe(true)
  })
})

describe("conditions (the task's side)", () => {
  const Branch = Workflow.make("branch").pipe(
    Workflow.task("start", { output: Score }),
    Workflow.task("left", { parents: ["start"], output: Score, skipIf: Condition.parentOutput("start", "output.score > 50") }),
    Workflow.task("sum", {
      parents: ["start", "left"],
      output: Schema.Struct({ total: Schema.Number, skipped: Schema.Boolean, woke: Schema.NullOr(Schema.String) })
    })
  )
  const approved = Condition.event("approved")
  const BranchLive = Branch.toLayer({
    start: () => Effect.succeed({ score: 1 }),
    left: () => Effect.succeed({ score: 2 }),
    sum: (_, parents) =>
      Effect.gen(function*() {
        const data = yield* TaskContext.decodeConditionData(approved, Schema.Struct({ by: Schema.String }))
        return {
          total: parents.start.score + Option.match(parents.left, { onNone: () => 0, onSome: (left) => left.score }),
          skipped: yield* TaskContext.wasSkipped("left"),
          woke: Option.getOrNull(Option.map(data, (d) => d.by))
        }
      }).pipe(Effect.orDie)
  })
  const runSum = (parents: Record<string, unknown>, triggers: Record<string, unknown> = {}) =>
    Effect.gen(function*() {
      const impl = yield* Workflow.implementation(Branch)
      const payload = JSON.stringify({ input: {}, parents, triggers: { filter_payload: null, ...triggers } })
      const context = yield* testTaskContext()
      return yield* TaskExecution.execute(impl, "sum", payload, context)
    }).pipe(Effect.provide(BranchLive))

  it.effect("a skipped parent is None, and wasSkipped says so", () =>
    Effect.gen(function*() {
      const outcome = yield* runSum({ start: { score: 60 }, left: { skipped: true } })
      expect(outcome).toEqual(TaskExecution.Outcome.Completed({ output: JSON.stringify({ total: 60, skipped: true, woke: null }) }))
    }))

  it.effect("a parent that ran is Some, and the conditions' data is read by its condition", () =>
    Effect.gen(function*() {
      const outcome = yield* runSum({ start: { score: 1 }, left: { score: 2 } }, { approved: { by: "ada" } })
      expect(outcome).toEqual(TaskExecution.Outcome.Completed({ output: JSON.stringify({ total: 3, skipped: false, woke: "ada" }) }))
    }))
})
