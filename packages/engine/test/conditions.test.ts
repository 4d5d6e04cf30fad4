/**
 * Step conditions in process under TestClock, as upstream's matches decide them: `wait_for`
 * (QUEUE), `skip_if` (SKIP) and `cancel_if` (CANCEL) with sleeps, user events (key and a CEL
 * expression over the payload) and parents' outputs; or-groups; the default conditions on each
 * parent; what a skipped task means for its children and for the run; an event pushed before a
 * wait begins is not seen (upstream drops unmatched events).
 */
import { PushEventRequest } from "@effect-hatchet/proto/events/events"
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import type { CreateTaskOpts, DeepPartial } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import * as Admin from "../src/internal/domain/admin.js"
import { type EngineError, grpcStatusOf } from "../src/internal/domain/errors.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import { runStatus, taskOutput, taskStatus } from "../src/internal/domain/model.js"
import { makeHarnessWith, payloadOf, task, tenantId } from "./support/harness.js"

const SECOND = 1_000
const DAY = 86_400_000

/** A harness whose workers stay alive while the clock jumps (liveness by connection). */
const harness = makeHarnessWith({ workerLiveness: "connection" })
type Harness = Effect.Effect.Success<typeof harness>

const base = (readableDataKey: string, action: Action, orGroupId = "", expression = "") => ({
  readableDataKey,
  action,
  orGroupId,
  expression
})
const sleep = (key: string, sleepFor: string, action: Action, group?: string) => ({ base: base(key, action, group), sleepFor })
const event = (key: string, eventKey: string, action: Action, expression = "", group?: string) => ({
  base: base(key, action, group, expression),
  userEventKey: eventKey
})
const parent = (parentReadableId: string, action: Action, expression: string, group?: string) => ({
  base: base(parentReadableId, action, group, expression),
  parentReadableId
})

const push = (h: Harness, key: string, payload: unknown) =>
  h.runEither((state, now) =>
    Ingest.pushEvent(state, tenantId, PushEventRequest.fromPartial({ key, payload: JSON.stringify(payload) }), now)
  )

/** The readable ids of the run's created tasks, with their REST status. */
const statuses = (h: Harness, runId: string) =>
  Effect.map(
    h.getRun(runId),
    (run) =>
      Object.fromEntries(
        [...run.tasks.values()].map((t) => [t.step.readableId, t.state._tag === "Completed" && t.state.skipped ? "SKIPPED" : taskStatus(t)])
      )
  )

const started = (w: { readonly starts: () => ReadonlyArray<{ readonly actionId: string }> }) => w.starts().map((a) => a.actionId)

describe("step conditions", () => {
  it.scoped("wait_for a day-long sleep after the parent: the sleep starts when the parent completes; its data is in triggers", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("nap", [
        task("a", { timeout: "2h" }),
        task("b", { parents: ["a"], conditions: { sleepConditions: [sleep("nap", "24h", Action.QUEUE)] } })
      ])
      const w = yield* h.worker(["nap:a", "nap:b"])
      const runId = yield* h.trigger("nap", { n: 1 })
      // the parent takes an hour: the day counts from its completion
      yield* h.advance(3_600 * SECOND, [], 3_600 * SECOND)
      yield* h.complete(w.starts()[0]!, JSON.stringify({ done: 1 }))
      expect(yield* statuses(h, runId)).toEqual({ a: "COMPLETED" })
      yield* h.advance(DAY - SECOND, [], DAY)
      expect(started(w)).toEqual(["nap:a"])
      expect(runStatus(yield* h.getRun(runId))).toBe("RUNNING")
      yield* h.advance(SECOND, [], SECOND)
      expect(started(w)).toEqual(["nap:a", "nap:b"])
      const payload = payloadOf(w.starts()[1]!)
      expect(payload.parents).toEqual({ a: { done: 1 } })
      expect(payload.triggers).toEqual({ nap: { sleep_duration: "24h" }, filter_payload: null })
      yield* h.complete(w.starts()[1]!, "{}")
      expect(runStatus(yield* h.getRun(runId))).toBe("COMPLETED")
    }))

  it.scoped("wait_for an event: one pushed before the wait begins is not seen, one after is, if its expression holds", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("ev", [
        task("a"),
        task("b", {
          parents: ["a"],
          conditions: { userEventConditions: [event("approval", "order:approved", Action.QUEUE, "input.ok == true")] }
        })
      ])
      const w = yield* h.worker(["ev:a", "ev:b"])
      const runId = yield* h.trigger("ev")
      // before the parent completes the wait has not begun: dropped, as upstream drops unmatched events
      yield* push(h, "order:approved", { ok: true, early: true })
      yield* h.complete(w.starts()[0]!, "{}")
      expect(started(w)).toEqual(["ev:a"])
      // the expression does not hold, or the key differs: still waiting
      yield* push(h, "order:approved", { ok: false })
      yield* push(h, "order:rejected", { ok: true })
      expect(started(w)).toEqual(["ev:a"])
      yield* push(h, "order:approved", { ok: true, by: "ann" })
      expect(started(w)).toEqual(["ev:a", "ev:b"])
      expect(payloadOf(w.starts()[1]!).triggers).toEqual({ approval: { ok: true, by: "ann" }, filter_payload: null })
      // satisfied once: a later event changes nothing
      yield* push(h, "order:approved", { ok: true })
      expect(started(w)).toHaveLength(2)
      yield* h.complete(w.starts()[1]!, "{}")
      expect(runStatus(yield* h.getRun(runId))).toBe("COMPLETED")
    }))

  it.scoped("a root step waiting on an event: armed with the run, so the event that triggers a run also satisfies it", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("root", [
        task("now"),
        task("later", { conditions: { userEventConditions: [event("go", "root:go", Action.QUEUE)] } })
      ], { eventTriggers: ["root:start"] })
      const w = yield* h.worker(["root:now", "root:later"])
      yield* push(h, "root:go", {})
      const runId = yield* h.trigger("root")
      expect(started(w)).toEqual(["root:now"])
      yield* push(h, "root:go", { x: 1 })
      expect(started(w)).toEqual(["root:now", "root:later"])
      // a root step's own conditions feed no triggers (upstream reads them as its parents' data)
      expect(payloadOf(w.starts()[1]!).triggers).toEqual({ filter_payload: null })
      for (const a of w.starts()) yield* h.complete(a, "{}")
      expect(runStatus(yield* h.getRun(runId))).toBe("COMPLETED")
      // an event both triggers a run and satisfies its root step's wait (triggers first, then matches)
      yield* h.putWorkflow("self", [
        task("now"),
        task("later", { conditions: { userEventConditions: [event("go", "self:go", Action.QUEUE)] } })
      ], { eventTriggers: ["self:go"] })
      const w2 = yield* h.worker(["self:now", "self:later"])
      yield* push(h, "self:go", {})
      expect(started(w2).sort()).toEqual(["self:later", "self:now"])
    }))

  it.scoped("or-groups: a sleep OR an event queues at the first; separate groups need both", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("either", [
        task("a"),
        task("b", {
          parents: ["a"],
          conditions: {
            sleepConditions: [sleep("slept", "1m", Action.QUEUE, "11111111-1111-4111-8111-111111111111")],
            userEventConditions: [event("woken", "either:wake", Action.QUEUE, "", "11111111-1111-4111-8111-111111111111")]
          }
        })
      ])
      yield* h.putWorkflow("both", [
        task("a"),
        task("b", {
          parents: ["a"],
          conditions: {
            sleepConditions: [sleep("slept", "1m", Action.QUEUE)],
            userEventConditions: [event("woken", "both:wake", Action.QUEUE)]
          }
        })
      ])
      const w = yield* h.worker(["either:a", "either:b", "both:a", "both:b"])
      const either = yield* h.trigger("either")
      const both = yield* h.trigger("both")
      for (const a of w.starts()) yield* h.complete(a, "{}")
      yield* push(h, "either:wake", { n: 1 })
      yield* push(h, "both:wake", { n: 2 })
      expect(started(w)).toEqual(["either:a", "both:a", "either:b"])
      expect(payloadOf(w.starts()[2]!).triggers).toEqual({ woken: { n: 1 }, filter_payload: null })
      // the sleep of the satisfied match is gone; the other match still needs its sleep
      expect((yield* h.getRun(either)).matches.size).toBe(0)
      yield* h.advance(60 * SECOND, [], 60 * SECOND)
      expect(started(w)).toEqual(["either:a", "both:a", "either:b", "both:b"])
      expect(payloadOf(w.starts()[3]!).triggers).toEqual({ slept: { sleep_duration: "1m" }, woken: { n: 2 }, filter_payload: null })
      expect((yield* h.getRun(both)).matches.size).toBe(0)
    }))

  it.scoped("skip_if an event while waiting on a sleep: skipped, its only child skipped, a child with another parent runs", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("skips", [
        task("start"),
        task("maybe", {
          parents: ["start"],
          conditions: {
            sleepConditions: [sleep("slept", "10s", Action.QUEUE)],
            userEventConditions: [event("skip", "skips:skip", Action.SKIP)]
          }
        }),
        task("after", { parents: ["maybe"] }),
        task("sum", { parents: ["start", "maybe", "after"] })
      ])
      const w = yield* h.worker(["skips:start", "skips:maybe", "skips:after", "skips:sum"])
      const runId = yield* h.trigger("skips")
      const events = yield* h.awaitRun(runId)
      yield* h.complete(w.starts()[0]!, JSON.stringify({ n: 7 }))
      yield* push(h, "skips:skip", {})
      expect(yield* statuses(h, runId)).toEqual({ start: "COMPLETED", maybe: "SKIPPED", after: "SKIPPED", sum: "RUNNING" })
      const maybe = yield* h.taskOf(runId, "maybe")
      expect(taskOutput(maybe)).toBe("{\"skipped\":true}")
      // the sleep ends later: nothing left to satisfy
      yield* h.advance(10 * SECOND, [], 10 * SECOND)
      expect(started(w)).toEqual(["skips:start", "skips:sum"])
      // a skipped parent's output is the skipped marker
      expect(payloadOf(w.starts()[1]!).parents).toEqual({ start: { n: 7 }, maybe: { skipped: true }, after: { skipped: true } })
      yield* h.complete(w.starts()[1]!, JSON.stringify({ total: 7 }))
      const run = yield* h.getRun(runId)
      expect(runStatus(run)).toBe("COMPLETED")
      expect(events).toHaveLength(1)
      expect(Object.fromEntries(events[0]!.results.map((r) => [r.taskName, JSON.parse(r.output ?? "null")]))).toEqual({
        start: { n: 7 },
        maybe: { skipped: true },
        after: { skipped: true },
        sum: { total: 7 }
      })
    }))

  it.scoped("skip_if on a parent's output: of two branches exactly one runs; the join runs with both parents", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const branches: ReadonlyArray<DeepPartial<CreateTaskOpts>> = [
        task("pick"),
        task("left", { parents: ["pick"], conditions: { parentOverrideConditions: [parent("pick", Action.SKIP, "output.n > 50")] } }),
        task("right", { parents: ["pick"], conditions: { parentOverrideConditions: [parent("pick", Action.SKIP, "output.n <= 50")] } }),
        task("join", { parents: ["left", "right"] })
      ]
      yield* h.putWorkflow("branch", branches)
      const w = yield* h.worker(branches.map((t) => `branch:${t.readableId}`))
      for (const n of [80, 20]) {
        const runId = yield* h.trigger("branch")
        const before = w.starts().length
        yield* h.complete(w.starts()[before - 1]!, JSON.stringify({ n }))
        const ran = w.starts().slice(before).map((a) => a.actionId)
        expect(ran).toEqual([n > 50 ? "branch:right" : "branch:left"])
        yield* h.complete(w.starts()[before]!, JSON.stringify({ side: n > 50 ? "right" : "left" }))
        const join = w.starts()[before + 1]!
        expect(join.actionId).toBe("branch:join")
        expect(payloadOf(join).parents).toEqual(
          n > 50
            ? { pick: { n }, left: { skipped: true }, right: { side: "right" } }
            : { pick: { n }, left: { side: "left" }, right: { skipped: true } }
        )
        yield* h.complete(join, "{}")
        expect(runStatus(yield* h.getRun(runId))).toBe("COMPLETED")
      }
    }))

  it.scoped("cancel_if on a parent's output or an event: cancelled, its children cancelled, the run CANCELLED", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("guard", [
        task("check"),
        task("charge", { parents: ["check"], conditions: { parentOverrideConditions: [parent("check", Action.CANCEL, "output.fraud")] } }),
        task("ship", { parents: ["charge"] })
      ])
      yield* h.putWorkflow("abort", [
        task("a"),
        task("b", {
          parents: ["a"],
          conditions: {
            sleepConditions: [sleep("s", "1h", Action.QUEUE)],
            userEventConditions: [event("stop", "abort:stop", Action.CANCEL)]
          }
        })
      ])
      const w = yield* h.worker(["guard:check", "guard:charge", "guard:ship", "abort:a", "abort:b"])
      const fraud = yield* h.trigger("guard")
      yield* h.complete(w.starts()[0]!, JSON.stringify({ fraud: true }))
      expect(yield* statuses(h, fraud)).toEqual({ check: "COMPLETED", charge: "CANCELLED", ship: "CANCELLED" })
      expect(runStatus(yield* h.getRun(fraud))).toBe("CANCELLED")
      const fine = yield* h.trigger("guard")
      yield* h.complete(w.starts()[1]!, JSON.stringify({ fraud: false }))
      expect(started(w).slice(2)).toEqual(["guard:charge"])
      yield* h.complete(w.starts()[2]!, "{}")
      yield* h.complete(w.starts()[3]!, "{}")
      expect(runStatus(yield* h.getRun(fine))).toBe("COMPLETED")

      const aborted = yield* h.trigger("abort")
      yield* h.complete(w.starts().find((a) => a.actionId === "abort:a")!, "{}")
      yield* push(h, "abort:stop", {})
      expect(yield* statuses(h, aborted)).toEqual({ a: "COMPLETED", b: "CANCELLED" })
      expect(runStatus(yield* h.getRun(aborted))).toBe("CANCELLED")
      // its sleep was disarmed with the match
      yield* h.advance(3_600 * SECOND, [], 3_600 * SECOND)
      expect(started(w).filter((a) => a === "abort:b")).toEqual([])
    }))

  it.scoped("default parent conditions: a failed parent cancels a waiting child before its sleep is armed; on-failure runs", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("fails", [
        task("a"),
        task("b", { parents: ["a"], conditions: { sleepConditions: [sleep("s", "10s", Action.QUEUE)] } }),
        task("c")
      ], { onFailureTask: task("on-failure-task") })
      const w = yield* h.worker(["fails:a", "fails:b", "fails:c", "fails:on-failure-task"])
      const runId = yield* h.trigger("fails")
      yield* h.fail(w.starts().find((a) => a.actionId === "fails:a")!, "boom")
      expect(yield* statuses(h, runId)).toEqual({ a: "FAILED", b: "CANCELLED", c: "RUNNING", "on-failure-task": "RUNNING" })
      const onFailure = w.starts().find((a) => a.actionId === "fails:on-failure-task")!
      expect(payloadOf(onFailure).step_run_errors).toEqual({ a: "boom" })
      yield* h.complete(w.starts().find((a) => a.actionId === "fails:c")!, "{}")
      yield* h.complete(onFailure, "{}")
      expect(runStatus(yield* h.getRun(runId))).toBe("FAILED")
    }))

  it.scoped("registration: conditions on a workflow's only task are INVALID_ARGUMENT (upstream never evaluates them)", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const error: EngineError = yield* Effect.flip(
        h.putWorkflow("lonely", [task("t", { conditions: { sleepConditions: [sleep("s", "1s", Action.QUEUE)] } })])
      )
      expect(grpcStatusOf(error)).toBe(Status.INVALID_ARGUMENT)
      expect(error.message).toContain("task 't' has conditions (wait_for / skip_if / cancel_if)")
      // with an on-failure task the workflow is a DAG: accepted, and the condition is evaluated
      yield* h.putWorkflow("lonely", [task("t", { conditions: { sleepConditions: [sleep("s", "1s", Action.QUEUE)] } })], {
        onFailureTask: task("on-failure-task")
      })
      const w = yield* h.worker(["lonely:t", "lonely:on-failure-task"])
      yield* h.trigger("lonely")
      expect(started(w)).toEqual([])
      yield* h.advance(SECOND, [], SECOND)
      expect(started(w)).toEqual(["lonely:t"])
    }))

  it.scoped("cancelling a run whose task is still only a match cancels nothing, as upstream: the run's created tasks are cancelled, the waiting step later runs", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.putWorkflow("later", [
        task("first", { conditions: { sleepConditions: [sleep("wait", "1h", Action.QUEUE)] } }),
        task("second", { parents: ["first"] })
      ])
      const w = yield* h.worker(["later:first", "later:second"])
      const runId = yield* h.trigger("later")
      // CancelTasks flattens a run to the tasks it has created: none yet; the ids are echoed
      expect(yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [runId] }, now))).toEqual([runId])
      const run = yield* h.getRun(runId)
      expect(run.tasks.size).toBe(0)
      expect(runStatus(run)).toBe("QUEUED")
      yield* h.advance(3_600_000, [w], 600_000)
      expect(started(w)).toEqual(["later:first"])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(started(w)).toEqual(["later:first", "later:second"])
      yield* h.complete(w.starts()[1]!, "{}")
      expect(runStatus(run)).toBe("COMPLETED")
      // a run with a created task: that task is cancelled, and the step waiting on it with it
      const second = yield* h.trigger("later")
      yield* h.advance(3_600_000, [w], 600_000)
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [second] }, now))
      expect(yield* statuses(h, second)).toEqual({ first: "CANCELLED", second: "CANCELLED" })
    }))
})
