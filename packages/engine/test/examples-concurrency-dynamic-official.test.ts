/**
 * The official SDK's shipped `concurrency-rr` (its second workflow), `multiple_wf_concurrency` and
 * `concurrency_dynamic` examples, unchanged, on an official worker against this engine. Upstream
 * has no e2e test of them; what is checked is what upstream's engine does with them:
 * - concurrency-rr's `multipleConcurrencyKeys` (two GROUP_ROUND_ROBIN keys of one run each, on
 *   `input.Tier` and `input.Account`): every run completes, and no two runs of one tier or of one
 *   account overlap, judged from the runs' start and finish as `runs.list` reports them (its
 *   first workflow is byte for byte `concurrency_limit_rr`'s, run by
 *   examples-concurrency-keys-official);
 * - multiple_wf_concurrency: its `run` script's inputs have no `UserId`, its second key's
 *   expression: upstream evaluates the keys when it creates the task, and a key that fails to
 *   evaluate creates it FAILED with the CEL error (`pkg/repository/task.go`), so every run fails,
 *   as the script's `run` does;
 * - concurrency_dynamic (a task-level key on `input.account` whose limit is the expression
 *   `input.tier == 'premium' ? 10 : 1`): with no worker to take them, ten runs of a premium
 *   account hold its slots and one of a basic account, the others wait; a worker then runs them
 *   all, each returning its account.
 */
import { expect, layer } from "@effect/vitest"
import type * as RrModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency-rr/workflow.js"
import type * as DynamicModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_dynamic/workflow.js"
import type * as MultipleModule from "@hatchet-dev/typescript-sdk/v1/examples/multiple_wf_concurrency/workflow.js"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Client = Official.Client

/** The rows of a test run's runs (by its metadata), once there are `count` and none is queued or running. */
const settledRuns = (hatchet: Client, testRunId: string, count: number) =>
  Official.eventually(async () => {
    const listed = await hatchet.runs.list({ additionalMetadata: { test_run_id: testRunId }, onlyTasks: true })
    const rows = listed.rows ?? []
    return rows.length === count && rows.every((row) => row.status !== "QUEUED" && row.status !== "RUNNING") ? rows : undefined
  }, 20_000)

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: dynamic concurrency", (it) => {
  it.scoped("concurrency-rr multipleConcurrencyKeys: all complete; no two runs of a tier or of an account overlap", () =>
    Effect.gen(function*() {
      const { multipleConcurrencyKeys: wf } = yield* Examples.load<typeof RrModule>("concurrency-rr/workflow.js")
      const { hatchet } = yield* Examples.worker("simple-concurrency-worker", [wf], { slots: 10 })
      const testRunId = randomUUID()
      const inputs = ["gold", "silver"].flatMap((Tier) =>
        ["acme", "globex", "initech"].map((Account) => ({ Message: `${Tier} ${Account}`.toUpperCase(), GroupKey: Tier, Tier, Account }))
      )
      const outputs = yield* Effect.promise(() =>
        Promise.all(
          inputs.map((input) => wf.run(input, { additionalMetadata: { test_run_id: testRunId, tier: input.Tier, account: input.Account } }))
        )
      )
      expect(outputs.map((o) => o["to-lower"].TransformedMessage)).toEqual(inputs.map((i) => i.Message.toLowerCase()))
      const rows = yield* settledRuns(hatchet, testRunId, inputs.length)
      expect(rows.map((row) => row.status)).toEqual(inputs.map(() => "COMPLETED"))
      // one run at a time per key: sorted by start, each starts no sooner than the one before it finished
      for (const key of ["tier", "account"]) {
        const byKey = new Map<unknown, Array<{ start: number; end: number }>>()
        for (const row of rows) {
          const value = Official.runMetadata(row)[key]
          const spans = byKey.get(value) ?? []
          spans.push({ start: Date.parse(row.startedAt!), end: Date.parse(row.finishedAt!) })
          byKey.set(value, spans)
        }
        for (const spans of byKey.values()) {
          spans.sort((a, b) => a.start - b.start)
          for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end)
        }
      }
    }))

  it.scoped("multiple_wf_concurrency: its run script's inputs have no UserId, so each run is created FAILED with the CEL error", () =>
    Effect.gen(function*() {
      const { multiConcurrency: wf } = yield* Examples.load<typeof MultipleModule>("multiple_wf_concurrency/workflow.js")
      yield* Examples.worker("simple-concurrency-worker", [wf], { slots: 10 })
      const inputs = [
        { Message: "Hello World", GroupKey: "A" },
        { Message: "Goodbye Moon", GroupKey: "A" },
        { Message: "Hello World B", GroupKey: "B" }
      ]
      const runs = yield* Effect.all(inputs.map((input) => Examples.trigger(() => wf.runNoWait(input))))
      for (const run of runs) {
        expect(yield* run.failure).toBeDefined()
        const details = yield* Examples.ended(run.id)
        expect(details.run.status).toBe("FAILED")
        expect(details.tasks.map((t) => [t.status, t.errorMessage])).toEqual([
          ["FAILED", "failed to parse step expression (input.UserId): no such key: UserId"]
        ])
      }
    }))

  it.scoped("concurrency_dynamic: a premium account's key holds ten runs, a basic one's one; all then complete", () =>
    Effect.gen(function*() {
      const { concurrencyDynamicWorkflow: wf } = yield* Examples.load<typeof DynamicModule>("concurrency_dynamic/workflow.js")
      // registered by a worker that is then stopped: the runs wait for one
      const { core } = yield* Effect.scoped(Examples.worker("concurrency-dynamic-register", [wf], { slots: 20 }))
      yield* Official.eventually(() => ([...core.state.workersById.values()].every((w) => !w.isActive) ? true : undefined))
      const inputs = [
        ...Array.from({ length: 12 }, () => ({ account: "premium-acct", tier: "premium" })),
        ...Array.from({ length: 3 }, () => ({ account: "basic-acct", tier: "basic" }))
      ]
      const runs = yield* Effect.all(inputs.map((input) => Examples.trigger(() => wf.runNoWait(input))))
      const ids = new Set(runs.map((run) => run.id))
      /** How many of the runs' tasks hold a filled slot of their key, by key. */
      const holding = () => {
        const counts: Record<string, number> = {}
        for (const task of core.state.tasksByExternalId.values()) {
          const slot = task.concurrencySlots[0]
          if (ids.has(task.run.id) && slot?.filled === true) counts[slot.key] = (counts[slot.key] ?? 0) + 1
        }
        return counts
      }
      yield* Official.eventually(() => (Object.keys(holding()).length === 2 ? true : undefined))
      expect(holding()).toEqual({ "premium-acct": 10, "basic-acct": 1 })
      yield* Examples.worker("concurrency-dynamic-worker", [wf], { slots: 20 })
      const outputs = yield* Effect.all(runs.map((run) => run.output), { concurrency: "unbounded" })
      expect(outputs).toEqual(inputs.map((input) => ({ "dynamic-task": { account: input.account } })))
    }))
})
