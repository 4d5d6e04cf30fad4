/**
 * Step conditions without an engine: what a worker registers for them (over FakeDispatcher), and
 * how a task sees a skipped parent and the conditions' data, through FakeDispatcher and TaskTest.
 */
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import { Worker } from "@effect-hatchet/sdk"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as FakeDispatcher from "../src/FakeDispatcher.js"
import * as TaskTest from "../src/TaskTest.js"
import { aDay, Branches, BranchesLive, Sleepy, SleepyLive } from "./conditionFlows.js"

describe("conditions, engine-free", () => {
  it.scoped("the worker registers each task's conditions; a skipped parent reaches the task as None", () =>
    Effect.gen(function*() {
      const fake = yield* FakeDispatcher.make
      yield* Layer.launch(Layer.scoped(Worker.Worker, Worker.make({ name: "conditions", workflows: [BranchesLive, SleepyLive] }))).pipe(
        Effect.provide(fake.layer),
        Effect.forkScoped
      )
      const calls = yield* fake.waitFor((c) => (c.listen.length > 0 ? c : undefined))
      const branches = calls.putWorkflow.find((r) => r.name === "condition-branches")!
      const left = branches.tasks.find((t) => t.readableId === "left")!
      expect(left.conditions?.parentOverrideConditions.map((c) => [c.parentReadableId, c.base?.action, c.base?.expression])).toEqual([
        ["start", Action.SKIP, "output.n > 50"]
      ])
      const sleepy = calls.putWorkflow.find((r) => r.name === "condition-sleepy")!
      expect(sleepy.tasks[1]!.conditions?.sleepConditions.map((c) => [c.sleepFor, c.base?.readableDataKey, c.base?.action])).toEqual([
        ["24h", "sleep-24h", Action.QUEUE]
      ])

      const sum = yield* fake.assignTask(Branches, "sum", {
        input: { n: 60 },
        parents: { start: { n: 60 }, left: Option.none(), right: Option.some({ n: 62 }) }
      })
      // the skipped parent is sent as Hatchet marks it
      expect(JSON.parse(sum.action.actionPayload).parents.left).toEqual({ skipped: true })
      expect(yield* sum.result).toEqual({ total: 122, skipped: ["left"], leftSkipped: true })
    }))

  it.effect("TaskTest: parents that may be skipped are Options; the conditions' data is read by condition", () =>
    Effect.gen(function*() {
      expect(yield* TaskTest.result(Branches, "after-left", { input: { n: 1 }, parents: { left: Option.some({ n: 7 }) } }))
        .toEqual({ n: 7 })
      expect(yield* TaskTest.result(Branches, "after-left", { input: { n: 1 }, parents: { left: Option.none() } }))
        .toEqual({ n: -1 })
      const woke = yield* TaskTest.result(Sleepy, "after-a-day", {
        input: {},
        parents: { start: undefined },
        triggers: { "sleep-24h": { sleep_duration: "24h" } }
      })
      expect(woke).toEqual({ woke: { sleep_duration: "24h" } })
      expect(aDay.duration).toBe("1 day")
      const check = () => {
        // @ts-expect-error: "left" may be skipped, so its output is given as an Option
        TaskTest.run(Branches, "after-left", { input: { n: 1 }, parents: { left: { n: 7 } } })
      }
      expectTypeOf(check).toBeFunction()
    }).pipe(Effect.provide(Layer.mergeAll(BranchesLive, SleepyLive))))
})
