/**
 * Cron triggers: runs fired through the engine's Clock-driven timers under TestClock (the
 * crontab grammar and the tick schedule are tested in packages/shared).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import type { CreationIndex } from "../src/internal/domain/creationIndex.js"
import { grpcStatusOf } from "../src/internal/domain/errors.js"
import type { Run } from "../src/internal/domain/model.js"
import { makeHarness, payloadOf, task, tenantId } from "./support/harness.js"

const runsOf = (runs: CreationIndex<Run>, name: string) => runs.all().filter((r) => r.workflow.name === name)

describe("cron runs", () => {
  it.scoped("fire at each tick under TestClock with the cron metadata, input and priority", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("nightly", [task("t")], {
        cronTriggers: ["* * * * *"],
        cronInput: "{\"from\":\"cron\"}",
        defaultPriority: 2
      })
      const w = yield* h.worker(["nightly:t"])
      const runs = h.state.tenants.get(tenantId)!.runs
      yield* h.advance(59_000, [w])
      expect(runsOf(runs, "nightly")).toHaveLength(0)
      yield* h.advance(1_000, [w])
      expect(runsOf(runs, "nightly")).toHaveLength(1)
      const [run] = runsOf(runs, "nightly")
      expect(run!.version.id).toBe(version.id)
      expect(run!.createdAt).toBe(60_000)
      expect(run!.priority).toBe(2)
      expect(run!.metadata).toEqual({
        hatchet__cron_expression: "* * * * *",
        hatchet__cron_name: "",
        hatchet__cron_scheduled_at: "1970-01-01T00:01:00Z",
        traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      })
      const [start] = w.starts()
      expect(payloadOf(start!).input).toEqual({ from: "cron" })
      expect(start!.priority).toBe(2)
      expect(JSON.parse(start!.additionalMetadata!)).toMatchObject({ hatchet__cron_scheduled_at: "1970-01-01T00:01:00Z" })
      yield* h.advance(120_000, [w])
      expect(runsOf(runs, "nightly").map((r) => r.metadata.hatchet__cron_scheduled_at)).toEqual([
        "1970-01-01T00:01:00Z",
        "1970-01-01T00:02:00Z",
        "1970-01-01T00:03:00Z"
      ])
    }))

  it.scoped("one clock jump over several ticks fires each tick once, in order; without cron_input the input is null", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("jump", [task("t")], { cronTriggers: ["*/15 * * * * *", "0 5 * * * *"] })
      yield* h.advance(6 * 60_000, [], 6 * 60_000)
      const runs = runsOf(h.state.tenants.get(tenantId)!.runs, "jump")
      const ticks = runs.map((r) => r.metadata.hatchet__cron_scheduled_at)
      expect(ticks).toHaveLength(6 * 4 + 1)
      expect(ticks.slice(0, 4)).toEqual(["1970-01-01T00:00:15Z", "1970-01-01T00:00:30Z", "1970-01-01T00:00:45Z", "1970-01-01T00:01:00Z"])
      expect(runs.filter((r) => r.metadata.hatchet__cron_expression === "0 5 * * * *").map((r) => r.metadata.hatchet__cron_scheduled_at))
        .toEqual(["1970-01-01T00:05:00Z"])
      expect(runs.every((r) => r.input === undefined && r.priority === 1)).toBe(true)
    }))

  it.scoped("a new version replaces the crons; the same content keeps them; a version without crons stops them", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const v1 = yield* h.putWorkflow("replaced", [task("t")], { cronTriggers: ["0 * * * * *"] })
      yield* h.advance(60_000, [], 60_000)
      // same content: the same version, no second timer
      expect((yield* h.putWorkflow("replaced", [task("t")], { cronTriggers: ["0 * * * * *"] })).id).toBe(v1.id)
      const v2 = yield* h.putWorkflow("replaced", [task("t"), task("u", { parents: ["t"] })], { cronTriggers: ["30 * * * * *"] })
      yield* h.advance(100_000, [], 100_000)
      const runs = () => runsOf(h.state.tenants.get(tenantId)!.runs, "replaced")
      expect(runs().map((r) => [r.version.id, r.metadata.hatchet__cron_scheduled_at])).toEqual([
        [v1.id, "1970-01-01T00:01:00Z"],
        [v2.id, "1970-01-01T00:01:30Z"],
        [v2.id, "1970-01-01T00:02:30Z"]
      ])
      yield* h.putWorkflow("replaced", [task("t")])
      yield* h.advance(10 * 60_000, [], 60_000)
      expect(runs()).toHaveLength(3)
    }))

  it.scoped("registration: a cron_input that is not JSON, duplicate crons, and a zone prefix without a space are refused as upstream", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const failure = (extra: Parameters<typeof h.putWorkflow>[2]) =>
        Effect.map(Effect.flip(h.putWorkflow("bad-cron", [task("t")], extra)), (e) => ({ code: grpcStatusOf(e), message: e.message }))
      const internal = { code: Status.INTERNAL, message: "An internal error occurred." }
      expect(yield* failure({ cronTriggers: ["* * * * *"], cronInput: "{oops" })).toEqual(internal)
      expect(yield* failure({ cronTriggers: ["* * * * *"], cronInput: "" })).toEqual(internal)
      expect(yield* failure({ cronTriggers: ["* * * * *", "* * * * *"] })).toEqual(internal)
      expect(yield* failure({ cronTriggers: ["TZ=UTC"] })).toEqual({ code: Status.INTERNAL, message: "An internal error occurred" })
      expect(yield* failure({ cronTriggers: ["61 * * * *"] })).toEqual({
        code: Status.INVALID_ARGUMENT,
        message:
          "Validation failed with the following errors:\n0: validation failed on field 'CreateWorkflowVersionOpts.CronTriggers[0]': Invalid cron expression\n"
      })
      // cron_input is only stored with crons
      yield* h.putWorkflow("no-cron", [task("t")], { cronInput: "{oops" })
    }))
})
