/**
 * Concurrency strategies, in process under TestClock (`docs/engine.md` §7.1, §5): task-level and
 * workflow-level GROUP_ROUND_ROBIN, CANCEL_IN_PROGRESS and CANCEL_NEWEST, retries, schedule
 * timeouts, key evaluation and registration checks.
 */
import { ConcurrencyLimitStrategy } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import * as Admin from "../src/internal/domain/admin.js"
import { type EngineError, grpcStatusOf } from "../src/internal/domain/errors.js"
import { runStatus, taskError, taskStatus } from "../src/internal/domain/model.js"
import { runEventsGraceMs } from "../src/internal/domain/publish.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

type Harness = Effect.Effect.Success<typeof makeHarness>

const {
  CANCEL_IN_PROGRESS,
  CANCEL_NEWEST,
  CANCEL_QUEUED_EXCEPT_NEWEST,
  CANCEL_QUEUED_EXCEPT_OLDEST,
  DROP_NEWEST,
  GROUP_ROUND_ROBIN
} = ConcurrencyLimitStrategy

const byGroup = (limitStrategy: ConcurrencyLimitStrategy, maxRuns?: number) => ({
  expression: "input.group",
  limitStrategy,
  ...(maxRuns !== undefined ? { maxRuns } : {})
})

/** The run ids a worker was sent, in order. */
const startedRuns = (w: { readonly starts: () => ReadonlyArray<{ readonly workflowRunId: string }> }) =>
  w.starts().map((s) => s.workflowRunId)

const statusOf = (h: Harness, runId: string) => Effect.map(h.getRun(runId), runStatus)

const lastEvent = (h: Harness, runId: string, readableId = "t") =>
  Effect.map(h.taskOf(runId, readableId), (t) => eventsOf(t)[eventsOf(t).length - 1]!)

describe("task-level concurrency", () => {
  it.scoped("GROUP_ROUND_ROBIN: at most max_runs per key run at once, FIFO; other keys are independent", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("grr", [task("t", { concurrency: [byGroup(GROUP_ROUND_ROBIN)] })])
      const w = yield* h.worker(["grr:t"], 10)
      const a1 = yield* h.trigger("grr", { group: "a" })
      const a2 = yield* h.trigger("grr", { group: "a" })
      const b1 = yield* h.trigger("grr", { group: "b" })
      const a3 = yield* h.trigger("grr", { group: "a" })
      expect(startedRuns(w)).toEqual([a1, b1])
      expect(taskStatus(yield* h.taskOf(a2, "t"))).toBe("QUEUED")
      yield* h.complete(w.starts()[0]!, "{}")
      expect(startedRuns(w)).toEqual([a1, b1, a2])
      // a failure frees the slot too
      yield* h.fail(w.starts()[2]!, "boom")
      expect(startedRuns(w)).toEqual([a1, b1, a2, a3])
      expect(yield* statusOf(h, a2)).toBe("FAILED")
    }))

  it.scoped("a task's QUEUED event says what its concurrency keys evaluated to, in strategy order (upstream's signal controller)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("keys", [
        task("t", { concurrency: [byGroup(GROUP_ROUND_ROBIN, 5), { ...byGroup(GROUP_ROUND_ROBIN, 5), expression: "input.tier" }] })
      ])
      yield* h.putWorkflow("plain", [task("t")])
      const keyed = yield* h.trigger("keys", { group: "a", tier: "gold" })
      const plain = yield* h.trigger("plain", {})
      expect(eventsOf(yield* h.taskOf(keyed, "t"))[0]).toMatchObject({
        eventType: "QUEUED",
        message: "concurrency keys evaluated as: a gold"
      })
      expect(eventsOf(yield* h.taskOf(plain, "t"))[0]).toMatchObject({ eventType: "QUEUED", message: "" })
    }))

  it.scoped("GROUP_ROUND_ROBIN with max_runs 2", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("grr2", [task("t", { concurrency: [byGroup(GROUP_ROUND_ROBIN, 2)] })])
      const w = yield* h.worker(["grr2:t"], 10)
      const runs = []
      for (let i = 0; i < 4; i++) runs.push(yield* h.trigger("grr2", { group: "g" }))
      expect(startedRuns(w)).toEqual(runs.slice(0, 2))
      yield* h.complete(w.starts()[1]!, "{}")
      expect(startedRuns(w)).toEqual(runs.slice(0, 3))
    }))

  it.scoped("CANCEL_IN_PROGRESS (the default): a newer run cancels the older one, running or queued", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cip", [task("t", { concurrency: [{ expression: "input.group" }] })])
      const version = yield* h.run((state) => state.tenants.values().next().value!.workflowsByName.get("cip")!.versions[0]!)
      expect(version.steps[0]!.concurrency).toMatchObject([{ settings: { maxRuns: 1, limitStrategy: "CANCEL_IN_PROGRESS" } }])
      const w = yield* h.worker(["cip:t"], 10)
      const first = yield* h.trigger("cip", { group: "a" })
      const events = yield* h.watchEvents(first)
      const other = yield* h.trigger("cip", { group: "b" })
      expect(startedRuns(w)).toEqual([first, other])
      const second = yield* h.trigger("cip", { group: "a" })
      // the running attempt is told to stop; the run ends CANCELLED with an empty error
      expect(w.cancels().map((c) => [c.workflowRunId, c.retryCount])).toEqual([[first, 0]])
      expect(startedRuns(w)).toEqual([first, other, second])
      const cancelled = yield* h.taskOf(first, "t")
      expect(cancelled).toMatchObject({ state: { _tag: "Cancelled" } })
      expect(yield* lastEvent(h, first)).toMatchObject({ eventType: "CANCELLED", message: "Cancelled due to concurrency strategy" })
      expect(yield* statusOf(h, first)).toBe("CANCELLED")
      yield* h.advance(runEventsGraceMs)
      expect(events.some((e) => e.hangup)).toBe(true)
      // a late result of the cancelled attempt changes nothing
      yield* h.complete(w.starts()[0]!, "{}")
      expect(taskStatus(yield* h.taskOf(first, "t"))).toBe("CANCELLED")
      yield* h.complete(w.starts()[2]!, "{}")
      expect(yield* statusOf(h, second)).toBe("COMPLETED")
      expect(yield* statusOf(h, other)).toBe("RUNNING")
    }))

  it.scoped("CANCEL_IN_PROGRESS keeps the newest max_runs when nothing runs yet", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cipq", [task("t", { concurrency: [byGroup(CANCEL_IN_PROGRESS, 2)] })])
      const runs = []
      for (let i = 0; i < 4; i++) runs.push(yield* h.trigger("cipq", { group: "g" }))
      const statuses = []
      for (const runId of runs) statuses.push(taskStatus(yield* h.taskOf(runId, "t")))
      expect(statuses).toEqual(["CANCELLED", "CANCELLED", "QUEUED", "QUEUED"])
      const w = yield* h.worker(["cipq:t"], 10)
      expect(startedRuns(w)).toEqual(runs.slice(2))
      expect(w.cancels()).toHaveLength(0)
    }))

  it.scoped("CANCEL_NEWEST: newer arrivals beyond max_runs are cancelled, the oldest keep running", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cn", [task("t", { concurrency: [byGroup(CANCEL_NEWEST)] })])
      const w = yield* h.worker(["cn:t"], 10)
      const first = yield* h.trigger("cn", { group: "a" })
      const second = yield* h.trigger("cn", { group: "a" })
      const other = yield* h.trigger("cn", { group: "b" })
      expect(startedRuns(w)).toEqual([first, other])
      expect(w.cancels()).toHaveLength(0)
      expect(yield* lastEvent(h, second)).toMatchObject({ eventType: "CANCELLED", message: "Cancelled due to concurrency strategy" })
      expect(yield* statusOf(h, second)).toBe("CANCELLED")
      yield* h.complete(w.starts()[0]!, "{}")
      expect(yield* statusOf(h, first)).toBe("COMPLETED")
      // the slot is free again
      const third = yield* h.trigger("cn", { group: "a" })
      expect(startedRuns(w)).toEqual([first, other, third])
    }))

  it.scoped("a retry must acquire its slot again; the older slot keeps its place", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("retry", [task("t", { retries: 1, concurrency: [byGroup(GROUP_ROUND_ROBIN)] })])
      const w = yield* h.worker(["retry:t"], 10)
      const first = yield* h.trigger("retry", { group: "a" })
      const second = yield* h.trigger("retry", { group: "a" })
      yield* h.fail(w.starts()[0]!, "boom")
      expect(w.starts().map((s) => [s.workflowRunId, s.retryCount])).toEqual([[first, 0], [first, 1]])
      yield* h.complete(w.starts()[1]!, "{}")
      expect(startedRuns(w)).toEqual([first, first, second])
    }))

  it.scoped("a retry with backoff gives its slot up meanwhile and comes back last in line", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("retry-cip", [task("t", { retries: 1, backoffFactor: 2, concurrency: [byGroup(CANCEL_IN_PROGRESS, 2)] })])
      const w = yield* h.worker(["retry-cip:t"], 10)
      const first = yield* h.trigger("retry-cip", { group: "a" })
      yield* h.fail(w.starts()[0]!, "boom")
      expect((yield* h.taskOf(first, "t")).concurrencySlots).toEqual([])
      const second = yield* h.trigger("retry-cip", { group: "a" })
      expect(startedRuns(w)).toEqual([first, second])
      yield* h.advance(2_000, [w])
      expect(w.starts().map((s) => [s.workflowRunId, s.retryCount])).toEqual([[first, 0], [second, 0], [first, 1]])
      // the retry is now the newer slot: a third run pushes the second one out
      const third = yield* h.trigger("retry-cip", { group: "a" })
      expect(w.cancels().map((c) => [c.workflowRunId, c.retryCount])).toEqual([[second, 0]])
      expect(startedRuns(w)).toEqual([first, second, first, third])
    }))

  it.scoped("a replayed task acquires a slot again", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("replay", [task("t", { concurrency: [byGroup(GROUP_ROUND_ROBIN)] })])
      const w = yield* h.worker(["replay:t"], 10)
      const first = yield* h.trigger("replay", { group: "a" })
      yield* h.complete(w.starts()[0]!, "{}")
      const second = yield* h.trigger("replay", { group: "a" })
      yield* h.runEither((state, now) => Admin.replayTasks(state, tenantId, { externalIds: [first] }, now))
      // the replay waits behind the run that holds the key
      expect(startedRuns(w)).toEqual([first, second])
      expect((yield* h.taskOf(first, "t")).concurrencySlots.map((slot) => slot.filled)).toEqual([false])
      yield* h.complete(w.starts()[1]!, "{}")
      expect(w.starts().map((s) => [s.workflowRunId, s.retryCount])).toEqual([[first, 0], [second, 0], [first, 1]])
    }))

  it.scoped("an unfilled slot past the schedule timeout is cancelled as SCHEDULING_TIMED_OUT", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("sto", [task("t", { scheduleTimeout: "10s", concurrency: [byGroup(GROUP_ROUND_ROBIN)] })])
      const w = yield* h.worker(["sto:t"], 10)
      const first = yield* h.trigger("sto", { group: "a" })
      const second = yield* h.trigger("sto", { group: "a" })
      yield* h.advance(11_000, [w])
      expect(taskStatus(yield* h.taskOf(first, "t"))).toBe("RUNNING")
      expect(yield* lastEvent(h, second)).toMatchObject({ eventType: "SCHEDULING_TIMED_OUT" })
      expect(yield* statusOf(h, second)).toBe("CANCELLED")
      expect(w.cancels()).toHaveLength(0)
    }))

  it.scoped("the key: input, additional_metadata, workflow_run_id, member and index access, +, string()", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("key", [task("t", {
        concurrency: [{
          expression: "input.user['tier'] + \"-\" + additional_metadata.tenant + ':' + string(input.n)",
          limitStrategy: GROUP_ROUND_ROBIN
        }]
      })])
      const w = yield* h.worker(["key:t"], 10)
      const meta = { additionalMetadata: JSON.stringify({ tenant: "acme" }) }
      const a = yield* h.trigger("key", { user: { tier: "gold" }, n: 1.5 }, meta)
      const b = yield* h.trigger("key", { user: { tier: "gold" }, n: 1.5 }, meta)
      const c = yield* h.trigger("key", { user: { tier: "gold" }, n: 1000000 }, meta)
      expect(startedRuns(w)).toEqual([a, c])
      expect((yield* h.taskOf(a, "t")).concurrencyKeys?.keys).toEqual(["gold-acme:1.5"])
      expect((yield* h.taskOf(c, "t")).concurrencyKeys?.keys).toEqual(["gold-acme:1e+06"])
      expect(taskStatus(yield* h.taskOf(b, "t"))).toBe("QUEUED")

      yield* h.putWorkflow("by-run", [task("t", { concurrency: [{ expression: "workflow_run_id", limitStrategy: GROUP_ROUND_ROBIN }] })])
      const runId = yield* h.trigger("by-run")
      expect((yield* h.taskOf(runId, "t")).concurrencyKeys?.keys).toEqual([runId])
    }))

  it.scoped("a key that fails to evaluate or is not a string creates the task FAILED with upstream's message", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bad-key", [task("t", { concurrency: [byGroup(GROUP_ROUND_ROBIN)] })])
      const w = yield* h.worker(["bad-key:t"], 10)
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{}, "no such key: group"],
        [{ group: 1 }, "expected string output for concurrency key, got int"],
        [{ group: true }, "output must evaluate to a string or integer: got bool"],
        [{ group: null }, "output must evaluate to a string or integer: got null_type"],
        [{ group: { x: "y" } }, "output must evaluate to a string or integer: got map"]
      ]
      for (const [input, reason] of cases) {
        const runId = yield* h.trigger("bad-key", input)
        const failed = yield* h.taskOf(runId, "t")
        expect(failed).toMatchObject({ state: { _tag: "Failed", error: `failed to parse step expression (input.group): ${reason}` } })
        expect(eventsOf(failed).map((e) => e.eventType)).toEqual(["FAILED"])
        expect(yield* statusOf(h, runId)).toBe("FAILED")
      }
      expect(w.starts()).toHaveLength(0)
    }))

  it.scoped("a DAG task's key failing cancels its descendants", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dag-key", [
        task("a"),
        task("b", { parents: ["a"], concurrency: [{ expression: "input.missing" }] }),
        task("c", { parents: ["b"] })
      ])
      const w = yield* h.worker(["dag-key:a", "dag-key:b", "dag-key:c"], 10)
      const runId = yield* h.trigger("dag-key")
      yield* h.complete(w.starts()[0]!, "{}")
      expect(taskStatus(yield* h.taskOf(runId, "b"))).toBe("FAILED")
      expect(taskStatus(yield* h.taskOf(runId, "c"))).toBe("CANCELLED")
      expect(yield* statusOf(h, runId)).toBe("FAILED")
    }))
})

describe("several strategies, applied in sequence", () => {
  it.scoped("a task passes each of its strategies in turn, holding the earlier slots", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("chain", [task("t", {
        concurrency: [
          { expression: "input.a", limitStrategy: GROUP_ROUND_ROBIN },
          { expression: "input.b", limitStrategy: GROUP_ROUND_ROBIN }
        ]
      })])
      const w = yield* h.worker(["chain:t"], 10)
      const r1 = yield* h.trigger("chain", { a: "x", b: "p" })
      const r2 = yield* h.trigger("chain", { a: "y", b: "p" })
      const r3 = yield* h.trigger("chain", { a: "x", b: "q" })
      expect(startedRuns(w)).toEqual([r1])
      // r2 passed its first strategy and waits in the second, r3 waits in the first
      expect((yield* h.taskOf(r2, "t")).concurrencySlots.map((slot) => [slot.key, slot.filled])).toEqual([["y", true], ["p", false]])
      expect((yield* h.taskOf(r3, "t")).concurrencySlots.map((slot) => [slot.key, slot.filled])).toEqual([["x", false]])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(new Set(startedRuns(w))).toEqual(new Set([r1, r2, r3]))
    }))

  it.scoped("a workflow-level strategy, then a step's own, on a DAG", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("wf-chain", [
        task("s1", { concurrency: [{ expression: "input.user", limitStrategy: GROUP_ROUND_ROBIN }] }),
        task("s2", { parents: ["s1"] })
      ], { concurrency: byGroup(GROUP_ROUND_ROBIN, 2) })
      expect(version.steps.map((step) => step.concurrency.map((c) => c.settings.expression))).toEqual([["input.group", "input.user"], [
        "input.group"
      ]])
      const w = yield* h.worker(["wf-chain:s1", "wf-chain:s2"], 10)
      const r1 = yield* h.trigger("wf-chain", { group: "g", user: "1" })
      const r2 = yield* h.trigger("wf-chain", { group: "g", user: "1" })
      const r3 = yield* h.trigger("wf-chain", { group: "g", user: "2" })
      const started = () => w.starts().map((s) => `${[r1, r2, r3].indexOf(s.workflowRunId) + 1}.${s.taskName}`)
      // r1 and r2 hold the workflow's 2 slots; r2 waits for user 1; r3 waits for the workflow
      expect(started()).toEqual(["1.s1"])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(new Set(started())).toEqual(new Set(["1.s1", "1.s2", "2.s1"]))
      yield* h.complete(w.starts().find((s) => s.workflowRunId === r1 && s.taskName === "s2")!, "{}")
      expect(yield* statusOf(h, r1)).toBe("COMPLETED")
      expect(started()).toContain("3.s1")
    }))

  it.scoped("two workflow-level strategies gate a DAG's runs in turn", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("wf-two", [task("s1"), task("s2", { parents: ["s1"] })], {
        concurrencyArr: [
          { expression: "input.a", limitStrategy: GROUP_ROUND_ROBIN },
          { expression: "input.b", limitStrategy: GROUP_ROUND_ROBIN }
        ]
      })
      expect(version.concurrency.map((c) => c.children.length)).toEqual([2, 2])
      const w = yield* h.worker(["wf-two:s1", "wf-two:s2"], 10)
      const r1 = yield* h.trigger("wf-two", { a: "x", b: "p" })
      const r2 = yield* h.trigger("wf-two", { a: "y", b: "p" })
      const r3 = yield* h.trigger("wf-two", { a: "x", b: "q" })
      expect(startedRuns(w)).toEqual([r1])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(startedRuns(w)).toEqual([r1, r1])
      yield* h.complete(w.starts()[1]!, "{}")
      expect(yield* statusOf(h, r1)).toBe("COMPLETED")
      expect(new Set(startedRuns(w).slice(2))).toEqual(new Set([r2, r3]))
    }))

  it.scoped("merged onto a single task, the workflow's strategies come first", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("merged", [task("t", { concurrency: [{ expression: "input.own" }] })], {
        concurrency: { expression: "input.first" },
        concurrencyArr: [{ expression: "input.second" }]
      })
      expect(version.concurrency).toEqual([])
      expect(version.steps[0]!.concurrency.map((c) => [c.settings.expression, c.parent])).toEqual([
        ["input.first", undefined],
        ["input.second", undefined],
        ["input.own", undefined]
      ])
    }))
})

describe("workflow-level concurrency", () => {
  const dag = (h: Harness, name: string, concurrency: ReturnType<typeof byGroup>) =>
    h.putWorkflow(name, [task("s1"), task("s2", { parents: ["s1"] })], { concurrency })

  it.scoped("a single-task workflow holds it on its task", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("single", [task("t")], { concurrencyArr: [byGroup(GROUP_ROUND_ROBIN, 3)] })
      expect(version.concurrency).toEqual([])
      expect(version.steps[0]!.concurrency).toMatchObject([{
        settings: { expression: "input.group", maxRuns: 3, limitStrategy: "GROUP_ROUND_ROBIN" },
        parent: undefined
      }])
      const withOnFailure = yield* h.putWorkflow("single-of", [task("t")], {
        concurrency: byGroup(GROUP_ROUND_ROBIN),
        onFailureTask: task("on-failure-task")
      })
      expect(withOnFailure.concurrency).toMatchObject([{ settings: { limitStrategy: "GROUP_ROUND_ROBIN", maxRuns: 1 } }])
      expect(withOnFailure.steps.map((s) => s.concurrency.map((c) => c.parent === withOnFailure.concurrency[0]))).toEqual([[true], []])
    }))

  it.scoped("each DEFAULT task's QUEUED event names the workflow-level key first, then its step's own (upstream's non-operator DAG path)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("wf-msg", [task("s1"), task("s2", { parents: ["s1"], concurrency: [{ expression: "input.tier" }] })], {
        concurrency: byGroup(GROUP_ROUND_ROBIN),
        onFailureTask: { readableId: "on-failure", action: "wf-msg:on-failure" }
      })
      const w = yield* h.worker(["wf-msg:s1", "wf-msg:s2", "wf-msg:on-failure"], 10)
      const run = yield* h.trigger("wf-msg", { group: "x", tier: "gold" })
      yield* h.complete(w.starts()[0]!, "{}")
      const queued = (readableId: string) => Effect.map(h.taskOf(run, readableId), (t) => eventsOf(t)[0]!.message)
      expect(yield* queued("s1")).toBe("concurrency keys evaluated as: x")
      expect(yield* queued("s2")).toBe("concurrency keys evaluated as: x gold")
      yield* h.fail(w.starts()[1]!, "{\"message\":\"boom\"}")
      // the on-failure step is not a DEFAULT step: no workflow-level strategy, no keys
      expect(yield* queued("on-failure")).toBe("")
    }))

  it.scoped("GROUP_ROUND_ROBIN gates whole runs: the next run of a key starts when the previous one finishes", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* dag(h, "wf-grr", byGroup(GROUP_ROUND_ROBIN))
      const w = yield* h.worker(["wf-grr:s1", "wf-grr:s2"], 10)
      const a = yield* h.trigger("wf-grr", { group: "x" })
      const b = yield* h.trigger("wf-grr", { group: "x" })
      const c = yield* h.trigger("wf-grr", { group: "y" })
      const started = () => w.starts().map((s) => `${s.workflowRunId === a ? "a" : s.workflowRunId === b ? "b" : "c"}.${s.taskName}`)
      expect(started()).toEqual(["a.s1", "c.s1"])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(started()).toEqual(["a.s1", "c.s1", "a.s2"])
      yield* h.complete(w.starts()[2]!, "{}")
      expect(yield* statusOf(h, a)).toBe("COMPLETED")
      expect(started()).toEqual(["a.s1", "c.s1", "a.s2", "b.s1"])
      expect(yield* statusOf(h, c)).toBe("RUNNING")
    }))

  it.scoped("GROUP_ROUND_ROBIN orders waiting runs by priority, then creation", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* dag(h, "wf-prio", byGroup(GROUP_ROUND_ROBIN))
      const w = yield* h.worker(["wf-prio:s1", "wf-prio:s2"], 10)
      // the ranking counts runs already holding the key: a higher-priority newcomer would join them
      const a = yield* h.trigger("wf-prio", { group: "x" }, { priority: 3 })
      const low = yield* h.trigger("wf-prio", { group: "x" }, { priority: 1 })
      const high = yield* h.trigger("wf-prio", { group: "x" }, { priority: 3 })
      yield* h.complete(w.starts()[0]!, "{}")
      yield* h.complete(w.starts()[1]!, "{}")
      expect(startedRuns(w)).toEqual([a, a, high])
      expect(taskStatus(yield* h.taskOf(low, "s1"))).toBe("QUEUED")
    }))

  it.scoped("CANCEL_IN_PROGRESS: a newer run cancels the older run's running task, and its descendants", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* dag(h, "wf-cip", byGroup(CANCEL_IN_PROGRESS))
      const w = yield* h.worker(["wf-cip:s1", "wf-cip:s2"], 10)
      const a = yield* h.trigger("wf-cip", { group: "x" })
      const b = yield* h.trigger("wf-cip", { group: "x" })
      expect(w.cancels().map((c) => [c.workflowRunId, c.taskName])).toEqual([[a, "s1"]])
      expect(yield* lastEvent(h, a, "s1")).toMatchObject({ eventType: "CANCELLED", message: "Cancelled due to concurrency strategy" })
      expect(taskStatus(yield* h.taskOf(a, "s2"))).toBe("CANCELLED")
      expect(yield* statusOf(h, a)).toBe("CANCELLED")
      expect(startedRuns(w)).toEqual([a, b])
      yield* h.complete(w.starts()[1]!, "{}")
      yield* h.complete(w.starts()[2]!, "{}")
      expect(yield* statusOf(h, b)).toBe("COMPLETED")
    }))

  it.scoped("CANCEL_NEWEST: a run arriving while another of its key is in progress is cancelled", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* dag(h, "wf-cn", byGroup(CANCEL_NEWEST))
      const w = yield* h.worker(["wf-cn:s1", "wf-cn:s2"], 10)
      const a = yield* h.trigger("wf-cn", { group: "x" })
      yield* h.complete(w.starts()[0]!, "{}")
      // a is at its second step: its run still holds the key
      const b = yield* h.trigger("wf-cn", { group: "x" })
      expect(yield* statusOf(h, b)).toBe("CANCELLED")
      expect(taskStatus(yield* h.taskOf(b, "s1"))).toBe("CANCELLED")
      expect(w.cancels()).toHaveLength(0)
      yield* h.complete(w.starts()[1]!, "{}")
      expect(yield* statusOf(h, a)).toBe("COMPLETED")
      // once a is done, the key is free
      const c = yield* h.trigger("wf-cn", { group: "x" })
      expect(startedRuns(w)).toEqual([a, a, c])
    }))
})

/** The code and message a registration is refused with. */
const refused = (
  h: Harness,
  name: string,
  tasks: Parameters<Harness["putWorkflow"]>[1],
  extra: Parameters<Harness["putWorkflow"]>[2] = {}
) =>
  Effect.map(
    Effect.flip(h.putWorkflow(name, tasks, extra)),
    (error: EngineError) => ({ code: grpcStatusOf(error), message: error.message })
  )

describe("concurrency registration", () => {
  it.scoped("an expression is required; the strategy must be one of the five; the expression must compile", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      expect(yield* refused(h, "e1", [task("t", { concurrency: [{ expression: "" }] })])).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: "CEL expression is required for concurrency (step t)"
      })
      expect(yield* refused(h, "e2", [task("t")], { concurrencyArr: [{ expression: "" }] })).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: "CEL expression is required for concurrency"
      })
      expect(yield* refused(h, "e3", [task("t", { concurrency: [{ expression: "input.g", limitStrategy: DROP_NEWEST }] })])).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: "Validation failed with the following errors:\n0: validation failed on field " +
          "'CreateWorkflowVersionOpts.Tasks[0].Concurrency[0].LimitStrategy': on condition 'oneof' " +
          "[ CANCEL_IN_PROGRESS GROUP_ROUND_ROBIN CANCEL_NEWEST CANCEL_QUEUED_EXCEPT_NEWEST CANCEL_QUEUED_EXCEPT_OLDEST ]: got 'DROP_NEWEST'\n"
      })
      // `parents` is not declared in upstream's workflow-string environment
      for (const expression of ["parents.a.key", "input.", "workflow_run_id.x", "string(input)", "input + 'x'", "'open", "input.a #"]) {
        expect(yield* refused(h, "e4", [task("t", { concurrency: [{ expression }] })]), expression).toEqual({
          code: Status.INVALID_ARGUMENT,
          message: "Validation failed with the following errors:\n0: validation failed on field " +
            "'CreateWorkflowVersionOpts.Tasks[0].Concurrency[0].Expression': Invalid CEL expression\n"
        })
      }
      expect((yield* refused(h, "e5", [task("t")], { concurrency: { expression: "nope" } })).message).toContain(
        "'CreateWorkflowVersionOpts.Concurrency[0].Expression': Invalid CEL expression"
      )
    }))

  it.scoped("any CEL the workflow-string environment checks is accepted; the parser limits are INVALID_ARGUMENT, quickly", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      for (
        const expression of [
          "input.tier == 'gold' ? 'a' : 'b'",
          "checksum(input.a)",
          "input.user.lowerAscii()",
          "size(input.items) > 2 ? 'many' : 'few'",
          "input.tags.exists(t, t == 'vip') ? 'vip' : string(input.n)",
          "'%s-%s'.format([input.a, additional_metadata.region])"
        ]
      ) {
        const version = yield* h.putWorkflow("any-cel", [task("t", { concurrency: [{ expression }] })])
        expect(version.steps[0]!.concurrency.map((c) => c.settings.expression), expression).toEqual([expression])
      }
      const invalid = (message: string) => ({
        code: Status.INVALID_ARGUMENT,
        message: "Validation failed with the following errors:\n0: validation failed on field " +
          `'CreateWorkflowVersionOpts.Tasks[0].Concurrency[0].Expression': ${message}\n`
      })
      // issue 8: 100k nested brackets, 50k `+` terms, and more than cel-go's 100,000 code points
      for (
        const expression of [
          "(".repeat(100_000) + "input.a" + ")".repeat(100_000),
          Array.from({ length: 50_000 }, () => "input.a").join(" + "),
          Array.from({ length: 50_000 }, () => "1").join("+"),
          "[".repeat(40_000) + "]".repeat(40_000),
          `'${"x".repeat(100_001)}'`
        ]
      ) {
        expect(yield* refused(h, "limits", [task("t", { concurrency: [{ expression }] })])).toEqual(invalid("Invalid CEL expression"))
      }
    }))
})

describe("CANCEL_QUEUED_EXCEPT_NEWEST and _OLDEST", () => {
  it.scoped("EXCEPT_NEWEST: a running task is never cancelled; of the waiting, only the newest max_runs stay", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cqn", [task("t", { concurrency: [byGroup(CANCEL_QUEUED_EXCEPT_NEWEST)] })])
      const w = yield* h.worker(["cqn:t"], 10)
      const runs = []
      for (let i = 0; i < 4; i++) runs.push(yield* h.trigger("cqn", { group: "a" }))
      const other = yield* h.trigger("cqn", { group: "b" })
      expect(startedRuns(w)).toEqual([runs[0], other])
      for (const cancelled of [runs[1]!, runs[2]!]) {
        expect(yield* statusOf(h, cancelled)).toBe("CANCELLED")
        expect(yield* lastEvent(h, cancelled)).toMatchObject({ eventType: "CANCELLED", message: "Cancelled due to concurrency strategy" })
      }
      expect(yield* statusOf(h, runs[3]!)).toBe("QUEUED")
      expect(w.cancels()).toEqual([])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(startedRuns(w)).toEqual([runs[0], other, runs[3]])
    }))

  it.scoped("EXCEPT_OLDEST with max_runs 2: two run, the next two wait, newer arrivals are cancelled", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cqo", [task("t", { concurrency: [byGroup(CANCEL_QUEUED_EXCEPT_OLDEST, 2)] })])
      const w = yield* h.worker(["cqo:t"], 10)
      const runs = []
      for (let i = 0; i < 6; i++) runs.push(yield* h.trigger("cqo", { group: "a" }))
      expect(startedRuns(w)).toEqual(runs.slice(0, 2))
      expect([yield* statusOf(h, runs[2]!), yield* statusOf(h, runs[3]!)]).toEqual(["QUEUED", "QUEUED"])
      expect([yield* statusOf(h, runs[4]!), yield* statusOf(h, runs[5]!)]).toEqual(["CANCELLED", "CANCELLED"])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(startedRuns(w)).toEqual(runs.slice(0, 3))
      // one place in the queue is free again
      const late = yield* h.trigger("cqo", { group: "a" })
      expect(yield* statusOf(h, late)).toBe("QUEUED")
    }))

  it.scoped("at the workflow level of a DAG: whole runs wait or are cancelled, a running run never", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("cqn-dag", [task("s1"), task("s2", { parents: ["s1"] })], {
        concurrency: byGroup(CANCEL_QUEUED_EXCEPT_NEWEST)
      })
      const w = yield* h.worker(["cqn-dag:s1", "cqn-dag:s2"], 10)
      const runs = []
      for (let i = 0; i < 3; i++) runs.push(yield* h.trigger("cqn-dag", { group: "a" }))
      expect(startedRuns(w)).toEqual([runs[0]])
      expect(yield* statusOf(h, runs[1]!)).toBe("CANCELLED")
      expect(yield* statusOf(h, runs[2]!)).toBe("QUEUED")
      yield* h.complete(w.starts()[0]!, "{}")
      // the run keeps its place between its tasks
      expect(startedRuns(w)).toEqual([runs[0], runs[0]])
      const newest = yield* h.trigger("cqn-dag", { group: "a" })
      expect(yield* statusOf(h, runs[2]!)).toBe("CANCELLED")
      yield* h.complete(w.starts()[1]!, "{}")
      expect(yield* statusOf(h, runs[0]!)).toBe("COMPLETED")
      expect(startedRuns(w)).toEqual([runs[0], runs[0], newest])
    }))
})

describe("max_runs_expression", () => {
  const dynamic = (maxRunsExpression: string) => ({
    expression: "input.group",
    limitStrategy: GROUP_ROUND_ROBIN,
    maxRuns: 1,
    maxRunsExpression
  })

  it.scoped("a key's limit is the value its newest task evaluated; 0 holds the key until a newer task raises it", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dyn", [task("t", { concurrency: [dynamic("int(input.limit)")] })])
      const w = yield* h.worker(["dyn:t"], 10)
      const a = []
      for (let i = 0; i < 3; i++) a.push(yield* h.trigger("dyn", { group: "premium", limit: 3 }))
      const b1 = yield* h.trigger("dyn", { group: "free", limit: 1 })
      const b2 = yield* h.trigger("dyn", { group: "free", limit: 1 })
      expect(startedRuns(w)).toEqual([...a, b1])
      expect(yield* statusOf(h, b2)).toBe("QUEUED")
      const held = yield* h.trigger("dyn", { group: "zero", limit: 0 })
      expect(yield* statusOf(h, held)).toBe("QUEUED")
      // a newer task of the key raises its limit: both run
      const raised = yield* h.trigger("dyn", { group: "zero", limit: 2 })
      expect(startedRuns(w)).toEqual([...a, b1, held, raised])
      // a JSON number is a double: truncated as a step expression's int
      yield* h.putWorkflow("dyn-double", [task("t", { concurrency: [dynamic("input.limit")] })])
      const w2 = yield* h.worker(["dyn-double:t"], 10)
      for (let i = 0; i < 3; i++) yield* h.trigger("dyn-double", { group: "g", limit: 2.7 })
      expect(w2.starts()).toHaveLength(2)
    }))

  it.scoped("a result that is not an int of 0 or more creates the task FAILED", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dyn-bad", [task("t", { concurrency: [dynamic("input.limit")] })])
      const cases: Array<[unknown, string]> = [
        ["x", "failed to parse step expression (input.limit): expected int output for max runs, got string"],
        [-2, "failed to parse step expression (input.limit): max runs must not be negative, got -2"],
        [undefined, "failed to parse step expression (input.limit): no such key: limit"]
      ]
      for (const [limit, message] of cases) {
        const run = yield* h.trigger("dyn-bad", { group: "g", ...(limit !== undefined ? { limit } : {}) })
        const t = yield* h.taskOf(run, "t")
        expect(taskStatus(t)).toBe("FAILED")
        expect(taskError(t)).toBe(message)
      }
    }))

  it.scoped("an expression that does not compile is refused at registration", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      expect((yield* refused(h, "dyn-invalid", [task("t", { concurrency: [dynamic("input.")] })])).message).toContain(
        "'CreateWorkflowVersionOpts.Tasks[0].Concurrency[0].MaxRunsExpression': Invalid CEL expression"
      )
      expect(yield* refused(h, "dyn-dag", [task("a"), task("b")], { concurrencyArr: [dynamic("input.n")] })).toMatchObject({
        code: Status.UNIMPLEMENTED
      })
    }))
})

describe("tenant-scoped strategies", () => {
  const shared = (maxRuns: number, extra: object = {}) => ({
    expression: "input.group",
    limitStrategy: GROUP_ROUND_ROBIN,
    maxRuns,
    name: "shared-limit",
    isTenantScoped: true,
    ...extra
  })

  it.scoped("one limit per key across the workflows that name it; a registration updates it in place", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("shared-a", [task("t", { concurrency: [shared(1)] })])
      yield* h.putWorkflow("shared-b", [task("t", { concurrency: [shared(1)] })])
      const w = yield* h.worker(["shared-a:t", "shared-b:t"], 10)
      const a = yield* h.trigger("shared-a", { group: "g" })
      const b = yield* h.trigger("shared-b", { group: "g" })
      const other = yield* h.trigger("shared-b", { group: "h" })
      expect(startedRuns(w)).toEqual([a, other])
      expect(yield* statusOf(h, b)).toBe("QUEUED")
      // raising the limit from either workflow lets the waiting run in
      yield* h.putWorkflow("shared-a", [task("t", { concurrency: [shared(2)] })])
      expect(startedRuns(w)).toEqual([a, other, b])
    }))

  it.scoped("mixed with an inline strategy, both apply", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("mixed", [task("t", {
        concurrency: [{ expression: "input.inline", limitStrategy: GROUP_ROUND_ROBIN, maxRuns: 1 }, shared(1)]
      })])
      const w = yield* h.worker(["mixed:t"], 10)
      const r1 = yield* h.trigger("mixed", { inline: "x", group: "g" })
      const r2 = yield* h.trigger("mixed", { inline: "y", group: "g" })
      const r3 = yield* h.trigger("mixed", { inline: "x", group: "h" })
      expect(startedRuns(w)).toEqual([r1])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(startedRuns(w)).toEqual([r1, r2, r3])
    }))

  it.scoped("upstream's refusals: no name, a name twice on a step, chains ordering two names both ways, workflow level on a DAG", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const internal = { code: Status.INTERNAL, message: "An internal error occurred." }
      expect(yield* refused(h, "no-name", [task("t", { concurrency: [shared(1, { name: "" })] })])).toEqual(internal)
      expect(yield* refused(h, "twice", [task("t", { concurrency: [shared(1), shared(1)] })])).toEqual(internal)
      yield* h.putWorkflow("order-ab", [task("t", { concurrency: [shared(1, { name: "a" }), shared(1, { name: "b" })] })])
      expect(yield* refused(h, "order-ba", [task("t", { concurrency: [shared(1, { name: "b" }), shared(1, { name: "a" })] })])).toEqual(
        internal
      )
      expect(yield* refused(h, "dag", [task("x"), task("y")], { concurrencyArr: [shared(1)] })).toEqual({
        code: Status.UNIMPLEMENTED,
        message:
          "tenant-scoped concurrency (name shared-limit) is not supported at the workflow level unless the workflow is a single task or uses the DAG operator"
      })
      expect((yield* refused(h, "bad-name", [task("t", { concurrency: [shared(1, { name: "a b" })] })])).message).toContain(
        "'CreateWorkflowVersionOpts.Tasks[0].Concurrency[0].Name'"
      )
      // a single-task workflow holds a workflow-level one on its task
      yield* h.putWorkflow("single", [task("t")], { concurrencyArr: [shared(1)] })
    }))
})
