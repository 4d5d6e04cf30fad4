/**
 * The official SDK's shipped `concurrency_limit_rr`, `concurrency_multiple_keys` and
 * `concurrency_workflow_level` examples, unchanged, on an official worker against this engine,
 * with the facts upstream's own tests of them check:
 * - `concurrency_limit_rr` (GROUP_ROUND_ROBIN, one run per `input.GroupKey`, a worker of one
 *   slot): a bulk run of four inputs over two groups completes, each with its own output.
 *   Upstream's test stops there (it finds the timing too unreliable to check more); with one slot
 *   the order is set all the same, and checked here: the groups take turns (a, c, b, d), as
 *   upstream's queue (priority, then arrival) sees a group's next run only once its last ended.
 * - `concurrency_multiple_keys` and `concurrency_workflow_level` (two GROUP_ROUND_ROBIN keys on
 *   the workflow: at most 8 runs per `input.digit` and 3 per `input.name`): every run completes,
 *   and at no instant do more runs of one digit or one name run than its limit, judged from the
 *   runs' start and finish as `runs.list` reports them (upstream groups overlapping runs the same
 *   way). Upstream picks 100 random inputs; here 36 chosen so that both limits bind (each digit
 *   has three names of three runs each, nine runs, against its limit of 8), which keeps the
 *   workflow-level example (two 2-second tasks per run) to a few rounds.
 */
import { expect, layer } from "@effect/vitest"
import type * as LimitRrModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_limit_rr/workflow.js"
import type * as MultipleKeysModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_multiple_keys/workflow.js"
import type * as WorkflowLevelModule from "@hatchet-dev/typescript-sdk/v1/examples/concurrency_workflow_level/workflow.js"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Client = Official.Client
type LimitRr = typeof LimitRrModule
type MultipleKeys = typeof MultipleKeysModule
type WorkflowLevel = typeof WorkflowLevelModule
type KeyedInput = { name: string; digit: string }
interface KeyedWorkflow {
  readonly name: string
  readonly runNoWait: (
    input: KeyedInput,
    options: { additionalMetadata: Record<string, string> }
  ) => Promise<{ readonly output: Promise<unknown> }>
}

const CHARACTERS = ["Anna", "Vronsky", "Stiva", "Dolly", "Levin", "Karenin"] as const

/** 36 inputs: each name six times, each digit on three names (so nine runs could hold a digit at once, one more than its limit). */
const inputs: ReadonlyArray<KeyedInput> = Array.from({ length: 36 }, (_, i) => ({ name: CHARACTERS[i % 6]!, digit: String(i % 2) }))

interface Span {
  readonly name: string
  readonly digit: string
  readonly start: number
  readonly end: number
}

/** The most spans of one value of `key` running at any one instant (a span runs from its start, inclusive, to its end, exclusive). */
const peak = (spans: ReadonlyArray<Span>, key: "name" | "digit") => {
  let most = 0
  for (const at of spans) {
    const alongside = spans.filter((s) => s[key] === at[key] && s.start <= at.start && at.start < s.end)
    most = Math.max(most, alongside.length)
  }
  return most
}

/** Runs `inputs` of the workflow together and returns each run's span (from `runs.list`), once all completed. */
const runAll = (hatchet: Client, wf: KeyedWorkflow) =>
  Effect.gen(function*() {
    const testRunId = randomUUID()
    const refs = yield* Effect.promise(() =>
      Promise.all(
        inputs.map((input) =>
          wf.runNoWait(input, { additionalMetadata: { test_run_id: testRunId, key: `${input.name}-${input.digit}`, ...input } })
        )
      )
    )
    yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
    const listed = yield* Effect.promise(() =>
      hatchet.runs.list({ workflowNames: [wf.name], additionalMetadata: { test_run_id: testRunId }, limit: 1000, onlyTasks: false })
    )
    const rows = listed.rows ?? []
    expect(rows).toHaveLength(inputs.length)
    expect(rows.every((row) => row.status === "COMPLETED")).toBe(true)
    // every input ran: the keys listed are those triggered
    expect(new Set(rows.map((row) => Official.runMetadata(row).key))).toEqual(new Set(inputs.map((i) => `${i.name}-${i.digit}`)))
    return rows.map((row): Span => ({
      name: String(Official.runMetadata(row).name),
      digit: String(Official.runMetadata(row).digit),
      start: Date.parse(row.startedAt!),
      end: Date.parse(row.finishedAt!)
    }))
  })

/**
 * Runs every input through the example's workflow on a 100-slot worker: every run completes, and
 * no more than its limits of one digit or one name run at once.
 */
const keysHold = <M extends { readonly DIGIT_MAX_RUNS: number; readonly NAME_MAX_RUNS: number }>(
  path: string,
  workflowOf: (example: M) => unknown
) =>
  Effect.gen(function*() {
    const example = yield* Examples.load<M>(path)
    const wf = workflowOf(example) as KeyedWorkflow
    const { hatchet } = yield* Examples.worker(`${wf.name}-worker`, [wf], { slots: 100 })
    const spans = yield* runAll(hatchet, wf)
    expect(peak(spans, "digit")).toBeLessThanOrEqual(example.DIGIT_MAX_RUNS)
    expect(peak(spans, "name")).toBeLessThanOrEqual(example.NAME_MAX_RUNS)
  })

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK examples: concurrency keys", (it) => {
  it.scoped("concurrency_limit_rr: a bulk run over two round-robin groups on a one-slot worker completes, each input its own output", () =>
    Effect.gen(function*() {
      const { simpleConcurrency } = yield* Examples.load<LimitRr>("concurrency_limit_rr/workflow.js")
      const { hatchet } = yield* Examples.worker("concurrency-rr-worker", [simpleConcurrency], { slots: 1 })
      const results = yield* Effect.promise(() =>
        simpleConcurrency.run([
          { Message: "a", GroupKey: "A" },
          { Message: "b", GroupKey: "A" },
          { Message: "c", GroupKey: "B" },
          { Message: "d", GroupKey: "B" }
        ])
      )
      expect(results).toEqual(["a", "b", "c", "d"].map((m) => ({ "to-lower": { TransformedMessage: m } })))
      const listed = yield* Effect.promise(() => hatchet.runs.list({ workflowNames: [simpleConcurrency.name], onlyTasks: true }))
      // one slot, one run per group: the groups take turns (a, then c of the other group, ...)
      const at = (iso: string | undefined) => Date.parse(iso!)
      const started = [...(listed.rows ?? [])].sort((x, y) => at(x.startedAt) - at(y.startedAt) || at(x.finishedAt) - at(y.finishedAt))
      expect(started.map((row) => (row.input as { Message: string }).Message)).toEqual(["a", "c", "b", "d"])
    }))

  it.scoped("concurrency_multiple_keys: no more than 8 runs of a digit nor 3 of a name at once, and every run completes", () =>
    keysHold<MultipleKeys>("concurrency_multiple_keys/workflow.js", (e) => e.concurrencyMultipleKeysWorkflow))

  it.scoped("concurrency_workflow_level: the keys hold for the whole run of two tasks, and every run completes", () =>
    keysHold<WorkflowLevel>("concurrency_workflow_level/workflow.js", (e) => e.concurrencyWorkflowLevelWorkflow))
})
