/**
 * Concurrency limits end to end: definitions with `concurrency`, our worker and client, the
 * local engine over loopback gRPC.
 */
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Layer, Ref, Schema } from "effect"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import * as Workflow from "../src/Workflow.js"
import { engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

interface Span {
  readonly key: string
  readonly n: number
  readonly start: number
  readonly end: number
}

const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end

/**
 * A task limited to one run per key (`expression`, `input.account` by default) under
 * `limitStrategy`, on a started worker: run 1 signals `started` and waits for `release`;
 * `executions` records each run that executed.
 */
const gatedTask = (prefix: string, limitStrategy: Workflow.ConcurrencyLimitStrategy, expression = "input.account") =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const executions = yield* Ref.make<Array<number>>([])
    const Gated = Task.make(unique(prefix), {
      input: Schema.Struct({ account: Schema.String, tier: Schema.optional(Schema.String), n: Schema.Number }),
      output: Schema.Struct({ n: Schema.Number }),
      concurrency: { expression, maxRuns: 1, limitStrategy }
    })
    yield* startWorker(Gated.toLayer(({ n }) =>
      Effect.gen(function*() {
        yield* Ref.update(executions, (all) => [...all, n])
        if (n === 1) {
          yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(release)
        }
        return { n }
      })
    ))
    return { Gated, executions, release, started }
  })

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("concurrency limits end to end", (it) => {
  it.scoped("GROUP_ROUND_ROBIN on a workflow: one whole run per key at a time, in order; other keys run alongside", () =>
    Effect.gen(function*() {
      const Sync = Workflow.make(unique("sync"), {
        input: Schema.Struct({ account: Schema.String, n: Schema.Number }),
        concurrency: { expression: "input.account", maxRuns: 1, limitStrategy: "GROUP_ROUND_ROBIN" }
      }).pipe(
        Workflow.task("fetch", { output: Schema.Struct({ at: Schema.Number }) }),
        Workflow.task("store", { parents: ["fetch"], output: Schema.Struct({ start: Schema.Number, end: Schema.Number }) })
      )
      yield* startWorker(Sync.toLayer({
        fetch: () => Effect.sync(() => ({ at: Date.now() })).pipe(Effect.zipLeft(Effect.sleep("100 millis"))),
        store: (_, parents) => Effect.as(Effect.sleep("100 millis"), { start: parents.fetch.at, end: Date.now() })
      }))
      const inputs = [
        { account: "a", n: 0 },
        { account: "a", n: 1 },
        { account: "a", n: 2 },
        { account: "b", n: 3 }
      ]
      const results = yield* Hatchet.runMany(Sync, inputs)
      const spans: Array<Span> = results.map((r, i) => ({ key: inputs[i]!.account, n: i, ...r.store }))
      const [a0, a1, a2, b3] = spans as [Span, Span, Span, Span]
      // same key: each run (both of its tasks) ends before the next one starts, first in first out
      expect(overlaps(a0, a1) || overlaps(a1, a2) || overlaps(a0, a2)).toBe(false)
      expect(a0.end <= a1.start && a1.end <= a2.start).toBe(true)
      // another key is not held back by "a"
      expect(b3.start < a2.start).toBe(true)
    }))

  it.scoped("CANCEL_IN_PROGRESS on a task: a newer run cancels the running one (its fiber is interrupted), and completes", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(false)
      const Render = Task.make(unique("render"), {
        input: Schema.Struct({ doc: Schema.String, version: Schema.Number }),
        output: Schema.Struct({ rendered: Schema.Number }),
        concurrency: { expression: "input.doc", limitStrategy: "CANCEL_IN_PROGRESS" }
      })
      yield* startWorker(Render.toLayer(({ version }) =>
        version === 1
          ? Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Ref.set(interrupted, true))
          )
          : Effect.succeed({ rendered: version })
      ))
      const first = yield* Hatchet.runNoWait(Render, { doc: "d-1", version: 1 })
      yield* Deferred.await(started)
      expect(yield* Hatchet.run(Render, { doc: "d-1", version: 2 })).toEqual({ rendered: 2 })
      const cancelled = yield* Effect.flip(first.result)
      expect(cancelled).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled" })
      expect(yield* Ref.get(interrupted)).toBe(true)
    }))

  it.scoped("a key that is not a string fails that run, saying why; runs with a string key still run", () =>
    Effect.gen(function*() {
      const Count = Task.make(unique("count"), {
        input: Schema.Struct({ group: Schema.Union(Schema.String, Schema.Number) }),
        output: Schema.Struct({ ok: Schema.Boolean }),
        concurrency: { expression: "input.group", limitStrategy: "GROUP_ROUND_ROBIN" }
      })
      yield* startWorker(Count.toLayer(() => Effect.succeed({ ok: true })))
      const failed = yield* Effect.flip(Hatchet.run(Count, { group: 7 }))
      expect(failed).toMatchObject({ _tag: "TaskFailed", kind: "Unknown" })
      expect(failed.message).toContain("expected string output for concurrency key, got int")
      expect(yield* Hatchet.run(Count, { group: "g" })).toEqual({ ok: true })
    }))

  it.scoped("a key computed with CEL beyond member access (ternary, comparison, size(), string functions) groups runs by it", () =>
    Effect.gen(function*() {
      // gold accounts share one lane; the others one lane per account, however it is spelled;
      // an account name longer than 8 characters is cut to its first 8
      const expression = "input.tier == 'gold' ? 'gold-lane' : " +
        "(size(input.account) > 8 ? input.account.trim().lowerAscii().substring(0, 8) : input.account.trim().lowerAscii())"
      const { Gated: Sync, executions, release, started } = yield* gatedTask("cel-key", "CANCEL_NEWEST", expression)
      const first = yield* Hatchet.runNoWait(Sync, { account: "acme-industries", tier: "free", n: 1 })
      yield* Deferred.await(started)
      // the same key once trimmed, lower-cased and cut: cancelled while the first holds it
      const same = yield* Effect.flip(Hatchet.run(Sync, { account: "  ACME-INDustries-eu ", tier: "free", n: 2 }))
      expect(same).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled", message: "Cancelled due to concurrency strategy" })
      // other keys run meanwhile: another account, and the gold lane whatever the account
      expect(yield* Hatchet.run(Sync, { account: "acme", tier: "free", n: 3 })).toEqual({ n: 3 })
      expect(yield* Hatchet.run(Sync, { account: "acme-industries", tier: "gold", n: 4 })).toEqual({ n: 4 })
      yield* Deferred.succeed(release, undefined)
      expect(yield* first.result).toEqual({ n: 1 })
      expect(yield* Ref.get(executions)).toEqual([1, 3, 4])
    }))

  it.scoped("an expression Hatchet's CEL compiler refuses is refused at registration, before the worker runs", () =>
    Effect.gen(function*() {
      const Broken = Task.make(unique("cel-invalid"), {
        input: Schema.Struct({ account: Schema.String }),
        output: Schema.Struct({ ok: Schema.Boolean }),
        concurrency: { expression: "input.account.lower()", limitStrategy: "GROUP_ROUND_ROBIN" }
      })
      const failure = yield* Effect.flip(startWorker(Broken.toLayer(() => Effect.succeed({ ok: true }))))
      expect(String(failure)).toContain("Invalid CEL expression")
    }))

  it.scoped("CANCEL_NEWEST: a run over the limit is cancelled before it starts; the one holding the key completes", () =>
    Effect.gen(function*() {
      const { Gated, executions, release, started } = yield* gatedTask("import", "CANCEL_NEWEST")
      const first = yield* Hatchet.runNoWait(Gated, { account: "s3", n: 1 })
      yield* Deferred.await(started)
      const second = yield* Effect.flip(Hatchet.run(Gated, { account: "s3", n: 2 }))
      expect(second).toMatchObject({ _tag: "TaskFailed", kind: "Cancelled", message: "Cancelled due to concurrency strategy" })
      yield* Deferred.succeed(release, undefined)
      expect(yield* first.result).toEqual({ n: 1 })
      expect(yield* Ref.get(executions)).toEqual([1])
    }))

  it.scoped("CANCEL_QUEUED_EXCEPT_NEWEST: the running run finishes, the latest request runs next, those between are cancelled", () =>
    Effect.gen(function*() {
      const { Gated, executions, release, started } = yield* gatedTask("save", "CANCEL_QUEUED_EXCEPT_NEWEST")
      const first = yield* Hatchet.runNoWait(Gated, { account: "d", n: 1 })
      yield* Deferred.await(started)
      const second = yield* Hatchet.runNoWait(Gated, { account: "d", n: 2 })
      const third = yield* Hatchet.runNoWait(Gated, { account: "d", n: 3 })
      expect(yield* Effect.flip(second.result)).toMatchObject({
        _tag: "TaskFailed",
        kind: "Cancelled",
        message: "Cancelled due to concurrency strategy"
      })
      yield* Deferred.succeed(release, undefined)
      expect(yield* first.result).toEqual({ n: 1 })
      expect(yield* third.result).toEqual({ n: 3 })
      expect(yield* Ref.get(executions)).toEqual([1, 3])
    }))

  it.scoped("a tenant-scoped limit is shared by two workflows; maxRuns as an expression sets each key's limit", () =>
    Effect.gen(function*() {
      const name = unique("shared")
      const shared = { expression: "input.account", maxRuns: 1, limitStrategy: "GROUP_ROUND_ROBIN", name, isTenantScoped: true } as const
      const input = Schema.Struct({ account: Schema.String, n: Schema.Number })
      const output = Schema.Struct({ start: Schema.Number, end: Schema.Number })
      const Export = Task.make(unique("export"), { input, output, concurrency: [shared] })
      const Report = Task.make(unique("report"), { input, output, concurrency: [shared] })
      const Burst = Task.make(unique("burst"), {
        input: Schema.Struct({ tier: Schema.String, n: Schema.Number }),
        output,
        concurrency: { expression: "input.tier", maxRuns: "input.tier == 'premium' ? 3 : 1", limitStrategy: "GROUP_ROUND_ROBIN" }
      })
      const span = Effect.gen(function*() {
        const start = Date.now()
        yield* Effect.sleep("150 millis")
        return { start, end: Date.now() }
      })
      yield* startWorker(Layer.mergeAll(Export.toLayer(() => span), Report.toLayer(() => span), Burst.toLayer(() => span)))
      const [e, r, other] = yield* Effect.all([
        Hatchet.run(Export, { account: "a", n: 1 }),
        Hatchet.run(Report, { account: "a", n: 2 }),
        Hatchet.run(Report, { account: "b", n: 3 })
      ], { concurrency: "unbounded" })
      expect(overlaps({ key: "a", n: 1, ...e }, { key: "a", n: 2, ...r })).toBe(false)
      expect(
        overlaps({ key: "a", n: 1, ...e }, { key: "b", n: 3, ...other }) || overlaps({ key: "a", n: 2, ...r }, { key: "b", n: 3, ...other })
      ).toBe(true)
      const premium = yield* Effect.all([1, 2, 3].map((n) => Hatchet.run(Burst, { tier: "premium", n })), { concurrency: "unbounded" })
      const spans = premium.map((s, n) => ({ key: "premium", n, ...s }))
      expect(overlaps(spans[0]!, spans[1]!) && overlaps(spans[1]!, spans[2]!)).toBe(true)
      const free = yield* Effect.all([1, 2].map((n) => Hatchet.run(Burst, { tier: "free", n })), { concurrency: "unbounded" })
      expect(overlaps({ key: "free", n: 1, ...free[0]! }, { key: "free", n: 2, ...free[1]! })).toBe(false)
    }))

  it.scoped("a tenant-scoped limit without a name, or named twice on a task, is refused before anything is sent", () =>
    Effect.gen(function*() {
      const input = Schema.Struct({ account: Schema.String })
      const limit = { expression: "input.account", limitStrategy: "GROUP_ROUND_ROBIN", isTenantScoped: true } as const
      const Unnamed = Task.make(unique("unnamed"), { input, concurrency: [limit] })
      const failure = yield* Effect.flip(startWorker(Unnamed.toLayer(() => Effect.void)))
      expect(String(failure)).toContain("a tenant-scoped limit needs a name")
      const Twice = Task.make(unique("twice"), { input, concurrency: [{ ...limit, name: "x" }, { ...limit, name: "x" }] })
      const twice = yield* Effect.flip(startWorker(Twice.toLayer(() => Effect.void)))
      expect(String(twice)).toContain(`the tenant-scoped limit "x" is named twice`)
    }))
})
