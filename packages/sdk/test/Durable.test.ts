/**
 * Durable task definitions, engine-free: what `Task.durable` and `Workflow.durableTask` register
 * (`is_durable`, one slot of the durable pool, as the official SDK), the worker's `slot_config`,
 * the engine version they need, the handler types (a `DurableContext` is provided, a `DurableError`
 * may fail the handler), and the memo key (upstream's bytes, so logs written by the official SDK
 * replay).
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Either, Schema } from "effect"
import { createHash } from "node:crypto"
import * as DurableContext from "../src/DurableContext.js"
import { specOf } from "../src/internal/definition.js"
import { memoKey } from "../src/internal/durable.js"
import { capacityCandidate } from "../src/internal/durableAttempts.js"
import { requirementsOf } from "../src/internal/engineVersion.js"
import { compile, registerRequest } from "../src/internal/registration.js"
import * as Task from "../src/Task.js"
import * as Workflow from "../src/Workflow.js"

const Remind = Task.durable("remind", { input: Schema.Struct({ userId: Schema.String }), executionTimeout: "1 hour" })

const Signup = Workflow.make("signup").pipe(
  Workflow.task("create", { output: Schema.Struct({ userId: Schema.String }), slotCost: 2 }),
  Workflow.durableTask("nurture", { parents: ["create"], output: Schema.Struct({ sent: Schema.Number }) })
)

describe("durable task definitions", () => {
  it("register is_durable and one slot of the durable pool (slotCost applies to the default pool only)", () => {
    const task = Either.getOrThrow(compile(specOf(Remind), "")).request.tasks[0]!
    expect(task.isDurable).toBe(true)
    expect(task.slotRequests).toStrictEqual({ durable: 1 })

    const tasks = Either.getOrThrow(compile(specOf(Signup), "")).request.tasks
    expect(tasks.map((t) => [t.readableId, t.isDurable, t.slotRequests])).toStrictEqual([
      ["create", false, { default: 2 }],
      ["nurture", true, { durable: 1 }]
    ])
    expect(Task.isDurableTask(Remind)).toBe(true)
    expect(Task.isDurableTask(Task.make("plain"))).toBe(false)
  })

  it("evictAfter must be a positive duration or \"never\"", () => {
    const issues = (evictAfter: any) =>
      Either.match(compile(specOf(Task.durable("d", { evictAfter })), ""), { onLeft: (e) => e.issues, onRight: () => [] })
    expect(issues("1 hour")).toEqual([])
    expect(issues("never")).toEqual([])
    expect(issues(0)).toEqual([`tasks.d.evictAfter: must be a positive duration or "never", got 0`])
  })

  it("evictionPriority must be a finite number; the eviction settings reach the worker's routes", () => {
    const issues = (evictionPriority: any) =>
      Either.match(compile(specOf(Task.durable("d", { evictionPriority })), ""), { onLeft: (e) => e.issues, onRight: () => [] })
    expect(issues(-2)).toEqual([])
    expect(issues(Number.NaN)).toEqual([`tasks.d.evictionPriority: must be a finite number, got NaN`])
    const nurture = Workflow.make("w").pipe(
      Workflow.durableTask("n", { evictAfter: "never", evictUnderPressure: false, evictionPriority: 3 })
    )
    expect(specOf(nurture).tasks[0]).toMatchObject({ durable: true, evictAfter: "never", evictUnderPressure: false, evictionPriority: 3 })
  })

  it("under capacity pressure: the lowest priority that has waited 10 s, then the longest waiting; else when one will have", () => {
    const entry = (key: string, since: number, evictionPriority = 0, evictUnderPressure = true) =>
      ({ key, attempt: {} as never, since, route: { evictUnderPressure, evictionPriority } }) as const
    const pick = (entries: ReadonlyArray<ReturnType<typeof entry>>, now: number) => {
      const { evict, retryAt } = capacityCandidate(entries, now)
      return { evict: evict?.key, retryAt }
    }
    expect(pick([entry("a", 0), entry("b", 5_000)], 12_000)).toEqual({ evict: "a", retryAt: undefined })
    expect(pick([entry("a", 0, 1), entry("b", 5_000)], 15_000)).toEqual({ evict: "b", retryAt: undefined })
    // the lower priority has not waited long enough: the other goes
    expect(pick([entry("a", 0, 1), entry("b", 5_000)], 12_000)).toEqual({ evict: "a", retryAt: undefined })
    expect(pick([entry("a", 0, 0, false), entry("b", 5_000)], 12_000)).toEqual({ evict: undefined, retryAt: 15_000 })
    expect(pick([entry("a", 0, 0, false)], 60_000)).toEqual({ evict: undefined, retryAt: undefined })
  })

  it("a worker running durable tasks registers its durable slots; others do not", () => {
    const base = { name: "w", actions: ["a:a"], slots: 10, labels: {} }
    expect(registerRequest(base).slotConfig).toStrictEqual({ default: 10 })
    expect(registerRequest({ ...base, durableSlots: 1000 }).slotConfig).toStrictEqual({ default: 10, durable: 1000 })
  })

  it("need an engine of v0.80.0 or newer (the DurableTask stream)", () => {
    const compiled = Either.getOrThrow(compile(specOf(Remind), ""))
    expect(requirementsOf([compiled])).toStrictEqual([
      { workflow: "remind", feature: `task "remind" is a durable task`, minVersion: "v0.80.0" }
    ])
  })

  it("the memo key is upstream's: SHA-256 of the task run id and the JSON of the dependencies", () => {
    const expected = createHash("sha256").update(`task-1${JSON.stringify(["now"])}`).digest()
    expect(Buffer.from(memoKey("task-1", ["now"]))).toStrictEqual(expected)
  })

  it("handlers get DurableContext and may fail with a DurableError; a plain task's may not use it", () => {
    const layer = Remind.toLayer((input) =>
      Effect.gen(function*() {
        const ctx = yield* DurableContext.DurableContext
        yield* ctx.sleep("1 day")
        yield* ctx.memo("greet", Effect.succeed(input.userId), Schema.String)
      })
    )
    expectTypeOf(layer).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"remind">, never, never>>()

    const workflowLayer = Signup.toLayer({
      create: () => Effect.succeed({ userId: "u-1" }),
      nurture: () => Effect.map(DurableContext.now, () => ({ sent: 1 }))
    })
    expectTypeOf(workflowLayer).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"signup">, never, never>>()

    // in a plain task, DurableContext stays a requirement of the layer
    const Plain = Task.make("plain")
    const plainLayer = Plain.toLayer(() => Effect.asVoid(Effect.orDie(DurableContext.now)))
    expectTypeOf(plainLayer).toEqualTypeOf<
      Layer.Layer<Workflow.Implementation<"plain">, never, DurableContext.DurableContext>
    >()
  })
})
