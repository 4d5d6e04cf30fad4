/**
 * Task rate limits, in process under TestClock (`docs/engine.md` §7.2, §5): static and dynamic
 * keys, fixed windows and refills, units, schedule timeouts, evaluation failures at task
 * creation, `PutRateLimit` updates, and registration checks; plus the exact rate-limit messages
 * the official TypeScript SDK sends.
 */
import {
  ConcurrencyLimitStrategy,
  type CreateTaskOpts,
  CreateWorkflowVersionRequest,
  type DeepPartial,
  RateLimitDuration
} from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import * as OfficialWire from "@hatchet-dev/typescript-sdk/protoc/v1/workflows.js"
import * as OfficialProto from "@hatchet-dev/typescript-sdk/v1/client/worker/workflow-proto.js"
import * as OfficialSdk from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import { type EngineError, grpcStatusOf } from "../src/internal/domain/errors.js"
import { taskError, taskStatus } from "../src/internal/domain/model.js"
import * as RateLimits from "../src/internal/domain/rateLimits.js"
import * as Registry from "../src/internal/domain/registry.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import { type FakeWorker, makeHarness, task, tenantId } from "./support/harness.js"

type Harness = Effect.Effect.Success<typeof makeHarness>

const { MINUTE, SECOND } = RateLimitDuration

const putLimit = (h: Harness, key: string, limit: number, duration: number = SECOND) =>
  h.runEither((state, now) => RateLimits.putRateLimit(state, tenantId, { key, limit, duration }, now))

/** A small projection of a stored key (the state objects are not compared whole). */
const keyOf = (h: Harness, key: string) =>
  h.core.runSync((state) => {
    const limit = state.tenants.get(tenantId)!.rateLimits.get(key)
    return limit === undefined
      ? undefined
      : { limitValue: limit.limitValue, value: limit.value, window: limit.window, lastRefill: limit.lastRefill }
  })

/** The run ids a worker was sent, in order. */
const startedRuns = (w: FakeWorker) => w.starts().map((s) => s.workflowRunId)

const statusOf = (h: Harness, runId: string) => Effect.map(h.taskOf(runId, "t"), (t) => taskStatus(t))

const failureOf = (h: Harness, runId: string) => Effect.map(h.taskOf(runId, "t"), (t) => ({ status: taskStatus(t), error: taskError(t) }))

const triggerMany = (h: Harness, name: string, inputs: ReadonlyArray<unknown>) => Effect.forEach(inputs, (input) => h.trigger(name, input))

describe("static keys", () => {
  it.scoped("a task consumes its units when assigned; the others wait for the window's refill", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "api", 2)
      yield* h.putWorkflow("rl", [task("t", { rateLimits: [{ key: "api", units: 1 }] })])
      const w = yield* h.worker(["rl:t"], 10)
      const runs = yield* triggerMany(h, "rl", [1, 2, 3, 4, 5].map((n) => ({ n })))
      expect(startedRuns(w)).toEqual(runs.slice(0, 2))
      expect(yield* statusOf(h, runs[2]!)).toBe("QUEUED")
      expect(yield* keyOf(h, "api")).toMatchObject({ limitValue: 2, value: 0, window: "SECOND" })
      // finishing gives nothing back
      yield* h.complete(w.starts()[0]!, "{}")
      yield* h.complete(w.starts()[1]!, "{}")
      expect(startedRuns(w)).toHaveLength(2)
      yield* h.advance(999, [w])
      expect(startedRuns(w)).toHaveLength(2)
      // the refill wakes the queue by itself
      yield* h.advance(1, [w])
      expect(startedRuns(w)).toEqual(runs.slice(0, 4))
      yield* h.advance(1000, [w])
      expect(startedRuns(w)).toEqual(runs)
      expect(yield* keyOf(h, "api")).toMatchObject({ value: 1, lastRefill: 2000 })
    }))

  it.scoped("several keys on one task, units above 1: every key must hold enough", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "a", 3)
      yield* putLimit(h, "b", 10, MINUTE)
      yield* h.putWorkflow("multi", [task("t", { rateLimits: [{ key: "a", units: 2 }, { key: "b", units: 4 }] })])
      const w = yield* h.worker(["multi:t"], 10)
      const runs = yield* triggerMany(h, "multi", [1, 2, 3])
      expect(startedRuns(w)).toEqual(runs.slice(0, 1))
      expect(yield* keyOf(h, "a")).toMatchObject({ value: 1 })
      expect(yield* keyOf(h, "b")).toMatchObject({ value: 6 })
      yield* h.advance(1000, [w])
      expect(startedRuns(w)).toEqual(runs.slice(0, 2))
      // "a" refills every second, "b" only after a minute
      yield* h.advance(1000, [w])
      expect(startedRuns(w)).toEqual(runs.slice(0, 2))
      expect(yield* keyOf(h, "a")).toMatchObject({ value: 3 })
      expect(yield* keyOf(h, "b")).toMatchObject({ value: 2 })
      yield* h.advance(58_000, [w])
      expect(startedRuns(w)).toEqual(runs)
      expect(yield* keyOf(h, "b")).toMatchObject({ value: 6, lastRefill: 60_000 })
    }))

  it.scoped("a key that does not exist is never scheduled; PutRateLimit creating it wakes the queue", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      // the official SDK's static key: an expression path with limit -1, not checked at registration
      yield* h.putWorkflow("late", [task("t", { rateLimits: [{ key: "late-key", units: 1, limitValuesExpr: "-1" }] })])
      const w = yield* h.worker(["late:t"], 10)
      const runId = yield* h.trigger("late")
      yield* h.advance(10_000, [w])
      expect(startedRuns(w)).toEqual([])
      expect(yield* keyOf(h, "late-key")).toBeUndefined()
      yield* putLimit(h, "late-key", 1, MINUTE)
      expect(startedRuns(w)).toEqual([runId])
      // -1 upserts nothing: the limit set by PutRateLimit stays
      yield* h.trigger("late")
      expect(yield* keyOf(h, "late-key")).toMatchObject({ limitValue: 1, value: 0, window: "MINUTE" })
    }))

  it.scoped("a task needing more units than the limit never runs and ends on its schedule timeout; tasks behind it run", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "k", 2)
      yield* h.putWorkflow("big", [
        task("t", { scheduleTimeout: "5s", rateLimits: [{ key: "k", unitsExpr: "input.units", limitValuesExpr: "-1" }] })
      ])
      const w = yield* h.worker(["big:t"], 10)
      const [tooBig, small] = yield* triggerMany(h, "big", [{ units: 3 }, { units: 1 }])
      expect(startedRuns(w)).toEqual([small])
      yield* h.advance(4_000, [w])
      expect(yield* statusOf(h, tooBig!)).toBe("QUEUED")
      yield* h.advance(1_000, [w])
      const timedOut = yield* h.taskOf(tooBig!, "t")
      expect({ status: taskStatus(timedOut), last: eventsOf(timedOut)[eventsOf(timedOut).length - 1]!.eventType }).toEqual({
        status: "CANCELLED",
        last: "SCHEDULING_TIMED_OUT"
      })
      expect(startedRuns(w)).toEqual([small])
    }))

  it.scoped("a refill more than 2 s away takes the task out of the queue until then: it re-enters last", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "slow", 1, MINUTE)
      yield* h.putWorkflow("park", [task("t", { scheduleTimeout: "10m", rateLimits: [{ key: "slow" }] })])
      const w = yield* h.worker(["park:t"], 10)
      const [first, second, third] = yield* triggerMany(h, "park", [1, 2, 3])
      expect(startedRuns(w)).toEqual([first])
      yield* h.advance(59_000, [w])
      // one second before the refill: this one waits in place, ahead of the two taken out
      const late = yield* h.trigger("park")
      yield* h.advance(1_000, [w])
      expect(startedRuns(w)).toEqual([first, late])
      yield* h.advance(60_000, [w])
      expect(startedRuns(w)).toEqual([first, late, second])
      yield* h.advance(60_000, [w])
      expect(startedRuns(w)).toEqual([first, late, second, third])
    }))

  it.scoped("retries consume units again; tasks without a rate limit in the same queue are not held", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "k", 1)
      yield* h.putWorkflow("retry", [task("t", { retries: 1, rateLimits: [{ key: "k" }] })])
      const w = yield* h.worker(["retry:t"], 10)
      const runId = yield* h.trigger("retry")
      yield* h.fail(w.starts()[0]!, "boom")
      expect(w.starts()).toHaveLength(1)
      yield* h.advance(1000, [w])
      expect(w.starts().map((s) => [s.workflowRunId, s.retryCount])).toEqual([[runId, 0], [runId, 1]])
    }))
})

describe("dynamic keys", () => {
  const byGroup = { key: "input.group", keyExpr: "input.group", units: 1, limitValuesExpr: "1", duration: SECOND }

  it.scoped("keys evaluated per input value are upserted and have independent windows", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("dyn", [task("t", { rateLimits: [byGroup] })])
      const w = yield* h.worker(["dyn:t"], 10)
      const [a1, a2, b1, a3, b2] = yield* triggerMany(h, "dyn", ["a", "a", "b", "a", "b"].map((group) => ({ group })))
      expect(startedRuns(w)).toEqual([a1, b1])
      expect(yield* keyOf(h, "a")).toEqual({ limitValue: 1, value: 0, window: "SECOND", lastRefill: 0 })
      expect((yield* h.taskOf(a2!, "t")).rateLimits).toEqual([{ key: "a", units: 1, limit: 1, window: "SECOND" }])
      yield* h.advance(1000, [w])
      expect(startedRuns(w)).toEqual([a1, b1, a2, b2])
      yield* h.advance(1000, [w])
      expect(startedRuns(w)).toEqual([a1, b1, a2, b2, a3])
    }))

  it.scoped("without a duration the window is a minute; when tasks disagree the smaller limit wins", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("disagree", [
        task("t", { rateLimits: [{ key: "shared", keyExpr: "'shared'", units: 1, limitValuesExpr: "input.limit" }] })
      ])
      const w = yield* h.worker(["disagree:t"], 1)
      const first = yield* h.trigger("disagree", { limit: 5 })
      expect(startedRuns(w)).toEqual([first])
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 5, value: 4, window: "MINUTE" })
      // the worker is full: both wait, and the pass upserts the smaller limit, clamping the units left
      yield* h.trigger("disagree", { limit: 5 })
      yield* h.trigger("disagree", { limit: 2 })
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 2, value: 2 })
    }))

  it.scoped("keys are registered when a task is created: the smaller limit wins whichever task came first, the longer window too", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("reg", [
        task("t", {
          rateLimits: [{ key: "k", keyExpr: "'shared'", units: 1, limitValuesExpr: "input.limit" }]
        })
      ])
      yield* h.putWorkflow("reg-hour", [
        task("t", { rateLimits: [{ key: "k", keyExpr: "'shared'", units: 1, limitValuesExpr: "90", duration: RateLimitDuration.HOUR }] })
      ])
      // no worker: the tasks wait, and every creation upserts what all waiting tasks ask for
      yield* h.trigger("reg", { limit: 20 })
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 20, window: "MINUTE" })
      yield* h.trigger("reg", { limit: 50 })
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 20, window: "MINUTE" })
      yield* h.trigger("reg-hour")
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 20, window: "HOUR" })
      expect(h.state.tenants.get(tenantId)!.dynamicKeys.get("shared")?.tasks).toBe(3)
      // once they are assigned they no longer ask: the next task alone sets the key
      const w = yield* h.worker(["reg:t", "reg-hour:t"], 10)
      expect(w.starts()).toHaveLength(3)
      expect(h.state.tenants.get(tenantId)!.dynamicKeys.size).toBe(0)
      yield* h.trigger("reg", { limit: 70 })
      expect(yield* keyOf(h, "shared")).toMatchObject({ limitValue: 70, window: "MINUTE" })
    }))

  it.scoped("a backlog of tasks with a key each drains in order, one pass per freed slot", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("each", [
        task("t", { rateLimits: [{ key: "user", keyExpr: "input.user", units: 1, limitValuesExpr: "1", duration: SECOND }] })
      ])
      const w = yield* h.worker(["each:t"], 1)
      const runs = yield* triggerMany(h, "each", Array.from({ length: 500 }, (_, i) => ({ user: `u${i}` })))
      for (let i = 0; i < runs.length; i++) {
        expect(startedRuns(w)).toHaveLength(i + 1)
        yield* h.complete(w.starts()[i]!, "{}")
      }
      expect(startedRuns(w)).toEqual(runs)
      expect(h.state.tenants.get(tenantId)!.rateLimits.size).toBe(500)
      expect(h.state.tenants.get(tenantId)!.dynamicKeys.size).toBe(0)
    }))

  it.scoped("a dynamic limit overrides PutRateLimit on the next pass; units may be an expression (doubles truncated)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "u", 100, MINUTE)
      yield* h.putWorkflow("units", [
        task("t", { rateLimits: [{ key: "u", unitsExpr: "input.cost", limitValuesExpr: "10", duration: RateLimitDuration.HOUR }] })
      ])
      const w = yield* h.worker(["units:t"], 10)
      const runId = yield* h.trigger("units", { cost: 2.9 })
      expect(startedRuns(w)).toEqual([runId])
      expect((yield* h.taskOf(runId, "t")).rateLimits).toEqual([{ key: "u", units: 2, limit: 10, window: "HOUR" }])
      expect(yield* keyOf(h, "u")).toMatchObject({ limitValue: 10, value: 8, window: "HOUR" })
    }))
})

type Limits = NonNullable<DeepPartial<CreateTaskOpts>["rateLimits"]>

describe("evaluation at task creation", () => {
  const created = (h: Harness, name: string, limit: Limits, input: unknown, extra: DeepPartial<CreateTaskOpts> = {}) =>
    Effect.gen(function*() {
      yield* h.putWorkflow(name, [task("t", { rateLimits: limit, ...extra })])
      return yield* failureOf(h, yield* h.trigger(name, input))
    })

  it.scoped("any CEL the environment checks: functions, ternaries, comparisons, arithmetic, checksum", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("full-cel", [task("t", {
        rateLimits: [{
          key: "per-user",
          keyExpr: "'user-' + input.user.lowerAscii().trim() + (input.items.size() > 2 ? '-bulk' : '')",
          unitsExpr: "input.items.exists(i, i.heavy) ? int(input.n) * 2 : 1",
          limitValuesExpr: "input.plan == 'pro' ? 100 : size(input.plan) + 1"
        }, {
          key: "sum",
          keyExpr: "checksum(input.user).substring(0, 8)",
          units: 1,
          limitValuesExpr: "10"
        }]
      })])
      const runId = yield* h.trigger("full-cel", { user: " Ada ", items: [{ heavy: false }, { heavy: true }, {}], n: 3.7, plan: "free" })
      expect((yield* h.taskOf(runId, "t")).rateLimits).toEqual([
        { key: "user-ada-bulk", units: 6, limit: 5, window: "MINUTE" },
        // the hex SHA-256 of " Ada "
        { key: "3eaff92d", units: 1, limit: 10, window: "MINUTE" }
      ])
    }))

  it.scoped("a key that is not a string, units or a limit that are not ints, an evaluation error: the task is created FAILED", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const cases: ReadonlyArray<readonly [Limits, unknown, string]> = [
        [
          [{ key: "k", keyExpr: "input.n", units: 1, limitValuesExpr: "1" }],
          { n: 1 },
          "failed to parse step expression (input.n): expected string output for dynamic rate limit key, got int"
        ],
        [
          [{ key: "k", keyExpr: "input.s", unitsExpr: "input.u", limitValuesExpr: "1" }],
          { s: "x", u: "many" },
          "failed to parse step expression (input.u): expected int output for dynamic rate limit units, got string"
        ],
        [
          [{ key: "k", keyExpr: "input.s", units: 1, limitValuesExpr: "input.l" }],
          { s: "x", l: "ten" },
          "failed to parse step expression (input.l): expected int output for dynamic rate limit value, got string"
        ],
        [
          [{ key: "k", keyExpr: "input.missing", units: 1, limitValuesExpr: "1" }],
          {},
          "failed to parse step expression (input.missing): no such key: missing"
        ],
        [
          [{ key: "k", keyExpr: "input.flag", units: 1, limitValuesExpr: "1" }],
          { flag: true },
          "failed to parse step expression (input.flag): output must evaluate to a string or integer: got bool"
        ],
        // a duration outside the enum becomes a window expression that evaluates to an int
        [
          [{ key: "k", units: 1, limitValuesExpr: "1", duration: 9 as RateLimitDuration }],
          {},
          "failed to parse step expression (9): expected string output for dynamic rate limit window, got int"
        ]
      ]
      let i = 0
      for (const [limits, input, error] of cases) {
        expect(yield* created(h, `fail-${i++}`, limits, input), error).toEqual({ status: "FAILED", error })
      }
      // a rate-limit failure is reported over a concurrency key's
      expect(
        yield* created(h, "both", [{ key: "k", keyExpr: "input.n", units: 1, limitValuesExpr: "1" }], { n: 1 }, {
          concurrency: [{ expression: "input.missing", limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN }]
        })
      ).toEqual({
        status: "FAILED",
        error: "failed to parse step expression (input.n): expected string output for dynamic rate limit key, got int"
      })
    }))
})

describe("PutRateLimit", () => {
  it.scoped("an update sets the limit and window and clamps the units left; the window keeps its start", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "k", 5, MINUTE)
      yield* h.putWorkflow("upd", [task("t", { rateLimits: [{ key: "k" }] })])
      const w = yield* h.worker(["upd:t"], 10)
      yield* triggerMany(h, "upd", [1, 2, 3])
      expect(yield* keyOf(h, "k")).toMatchObject({ value: 2 })
      yield* h.advance(10_000, [w])
      yield* putLimit(h, "k", 1, MINUTE)
      expect(yield* keyOf(h, "k")).toEqual({ limitValue: 1, value: 1, window: "MINUTE", lastRefill: 0 })
      yield* putLimit(h, "k", 10, MINUTE)
      expect(yield* keyOf(h, "k")).toMatchObject({ limitValue: 10, value: 1 })
      yield* triggerMany(h, "upd", [4, 5])
      expect(startedRuns(w)).toHaveLength(4)
      yield* h.advance(50_000, [w])
      expect(startedRuns(w)).toHaveLength(5)
      expect(yield* keyOf(h, "k")).toMatchObject({ value: 9, lastRefill: 60_000 })
    }))

  it.scoped("errors: an empty key is INVALID_ARGUMENT, a duration outside the enum INTERNAL", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const error = (key: string, duration: number) =>
        Effect.map(Effect.flip(putLimit(h, key, 1, duration)), (e: EngineError) => ({ code: grpcStatusOf(e), message: e.message }))
      expect(yield* error("", SECOND)).toEqual({ code: Status.INVALID_ARGUMENT, message: "key is required" })
      expect(yield* error("k", 7)).toEqual({ code: Status.INTERNAL, message: "An internal error occurred." })
      expect(yield* keyOf(h, "k")).toBeUndefined()
    }))
})

describe("registration", () => {
  const refusal = (h: Harness, name: string, tasks: ReadonlyArray<DeepPartial<CreateTaskOpts>>) =>
    Effect.map(Effect.flip(h.putWorkflow(name, tasks)), (error: EngineError) => ({ code: grpcStatusOf(error), message: error.message }))
  const internal = { code: Status.INTERNAL, message: "An internal error occurred." }

  it.scoped("upstream's validation and storage errors", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* putLimit(h, "exists", 1)
      expect(
        yield* refusal(h, "v1", [task("t", {
          rateLimits: [
            { key: "", units: 1 },
            { key: "k", keyExpr: "input.", unitsExpr: "'a' + 1", limitValuesExpr: "nope" }
          ]
        })])
      ).toEqual({
        code: Status.INVALID_ARGUMENT,
        message: "Validation failed with the following errors:\n" +
          "0: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].RateLimits[0].Key': on condition 'required'\n" +
          "1: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].RateLimits[1].KeyExpr': Invalid CEL expression\n" +
          "2: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].RateLimits[1].UnitsExpr': Invalid CEL expression\n" +
          "3: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].RateLimits[1].LimitExpr': Invalid CEL expression\n"
      })
      // a static key must exist, once per task; an expression key once per task
      expect(yield* refusal(h, "v2", [task("t", { rateLimits: [{ key: "missing", units: 1 }] })])).toEqual(internal)
      expect(yield* refusal(h, "v3", [task("t", { rateLimits: [{ key: "exists" }, { key: "exists", units: 2 }] })])).toEqual(internal)
      expect(
        yield* refusal(h, "v4", [task("t", {
          rateLimits: [{ key: "dup", units: 1, limitValuesExpr: "1" }, { key: "dup", units: 2, limitValuesExpr: "-1" }]
        })])
      ).toEqual(internal)
      // a static key and an expression one of the same name are stored apart
      const version = yield* h.putWorkflow("ok", [
        task("t", { rateLimits: [{ key: "exists" }, { key: "exists", units: 3, limitValuesExpr: "-1" }] })
      ])
      expect(version.steps[0]!.rateLimits.map((l) =>
        l._tag === "Static"
          ? { key: l.key, units: l.units }
          : { key: l.key, exprs: [l.keyExpr.source, l.limitExpr?.source, l.unitsExpr.source, l.windowExpr.source] }
      )).toEqual([
        { key: "exists", units: 1 },
        { key: "exists", exprs: ["\"exists\"", "-1", "3", "\"MINUTE\""] }
      ])
    }))

  it.scoped("what Hatchet's validation accepts but its evaluation cannot compile fails each task, with cel-go's error", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const failed = (name: string, limits: Limits) =>
        Effect.gen(function*() {
          yield* h.putWorkflow(name, [task("t", { rateLimits: limits })])
          return yield* failureOf(h, yield* h.trigger(name, {}))
        })
      // `parents` is declared where upstream validates, not where it evaluates
      expect(yield* failed("u2", [{ key: "k", keyExpr: "parents.a.b", units: 1, limitValuesExpr: "1" }])).toEqual({
        status: "FAILED",
        error: "failed to parse step expression (parents.a.b): ERROR: <input>:1:1: undeclared reference to 'parents' (in container '')\n" +
          " | parents.a.b\n | ^"
      })
      // no units at all: upstream stores an empty expression
      expect(yield* failed("u3", [{ key: "k", keyExpr: "'k'", limitValuesExpr: "1" }])).toEqual({
        status: "FAILED",
        error: "failed to parse step expression (): ERROR: <input>:1:1: Syntax error: mismatched input '<EOF>' expecting " +
          "{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n |" +
          " \n | ^"
      })
      // a literal key that is no CEL string once quoted
      const quoted = yield* failed("u4", [{ key: "say \"hi\"", units: 1, limitValuesExpr: "-1" }])
      expect(quoted.status).toBe("FAILED")
      expect(quoted.error).toMatch(/^failed to parse step expression \("say "hi""\): ERROR: <input>:1:\d+: Syntax error: /)
    }))
})

// -----------------------------------------------------------------------------
// the official SDK's messages
// -----------------------------------------------------------------------------

/** The rate limits of the first task the official SDK registers for a declaration, as decoded here. */
const officialRateLimits = (declaration: Parameters<typeof OfficialProto.workflowToProto>[0]) => {
  const message = OfficialProto.workflowToProto(declaration)
  const bytes = OfficialWire.CreateWorkflowVersionRequest.encode(OfficialWire.CreateWorkflowVersionRequest.fromPartial(message)).finish()
  return CreateWorkflowVersionRequest.decode(bytes).tasks[0]!.rateLimits
}

describe("the official SDK's rate limits", () => {
  it("a static key is sent with limit_values_expr \"-1\", a dynamic one with its limit and duration", () => {
    const noop = async () => ({})
    expect(officialRateLimits(OfficialSdk.CreateTaskWorkflow({
      name: "sdk-static",
      rateLimits: [{ staticKey: "api", units: 2 }],
      fn: noop
    }))).toEqual([{ key: "api", units: 2, limitValuesExpr: "-1" }])
    expect(officialRateLimits(OfficialSdk.CreateTaskWorkflow({
      name: "sdk-dynamic",
      rateLimits: [{ dynamicKey: "input.group", units: "input.cost", limit: 3, duration: OfficialSdk.RateLimitDuration.SECOND }],
      fn: noop
    }))).toEqual([{ key: "input.group", keyExpr: "input.group", unitsExpr: "input.cost", limitValuesExpr: "3", duration: SECOND }])
  })

  it.scoped("both register and run here", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const declaration = OfficialSdk.CreateTaskWorkflow({
        name: "sdk-both",
        rateLimits: [{ staticKey: "api", units: 1 }, { dynamicKey: "input.group", units: 1, limit: 1 }],
        fn: async () => ({})
      })
      const request = CreateWorkflowVersionRequest.decode(
        OfficialWire.CreateWorkflowVersionRequest.encode(
          OfficialWire.CreateWorkflowVersionRequest.fromPartial(OfficialProto.workflowToProto(declaration))
        ).finish()
      )
      expect(Registry.unsupportedFeatures(request)).toEqual([])
      yield* h.runEither((state, now) => Registry.putWorkflow(state, tenantId, request, now))
      yield* putLimit(h, "api", 10, MINUTE)
      const w = yield* h.worker([request.tasks[0]!.action], 10)
      const runs = yield* triggerMany(h, "sdk-both", [{ group: "a" }, { group: "a" }, { group: "b" }])
      expect(startedRuns(w)).toEqual([runs[0], runs[2]])
      expect(yield* keyOf(h, "api")).toMatchObject({ limitValue: 10, value: 8, window: "MINUTE" })
      expect(yield* keyOf(h, "a")).toMatchObject({ limitValue: 1, value: 0, window: "MINUTE" })
    }))
})
