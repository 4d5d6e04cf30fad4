import { TaskContext, TaskError, Workflow } from "@effect-hatchet/sdk"
import { Context, Deferred, Effect, Ref, Schema } from "effect"

export class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}

export const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })

/** validate -> charge, plus a few tasks that exercise the worker. */
export const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
  Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
  Workflow.task("charge", {
    parents: ["validate"],
    output: Schema.Struct({ chargeId: Schema.String, at: Schema.DateFromString }),
    error: CardDeclined
  })
)

/** Scripts what handlers do, per test. */
export class Script extends Context.Tag("test/Script")<Script, {
  readonly runs: Ref.Ref<number>
  readonly finalized: Ref.Ref<number>
  readonly gate: Deferred.Deferred<void>
}>() {}

export const OrderFlowLive = OrderFlow.toLayer(Effect.gen(function*() {
  const script = yield* Script
  return {
    validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
    charge: (input, parents) =>
      Effect.gen(function*() {
        yield* Ref.update(script.runs, (n) => n + 1)
        if (!parents.validate.valid) return yield* new CardDeclined({ reason: "invalid order" })
        if (input.amount === 13) return yield* TaskError.nonRetryable(Effect.fail(new CardDeclined({ reason: "unlucky" })))
        if (input.amount === 666) return yield* Effect.die(new Error("boom"))
        return { chargeId: `ch-${input.orderId}`, at: new Date(0) }
      })
  }
}))

/** Tasks that wait on the script's gate, log, stream, release slots, cancel themselves. */
export const Jobs = Workflow.make("jobs", { input: Schema.Struct({ mode: Schema.String, size: Schema.optional(Schema.Number) }) }).pipe(
  Workflow.task("work", { output: Schema.Struct({ result: Schema.String }), slotCost: 1 })
)

export const JobsLive = Jobs.toLayer(Effect.gen(function*() {
  const script = yield* Script
  return {
    work: (input) =>
      Effect.gen(function*() {
        yield* Ref.update(script.runs, (n) => n + 1)
        const ctx = yield* TaskContext.TaskContext
        switch (input.mode) {
          case "wait":
            yield* Deferred.await(script.gate)
            break
          case "forever":
            yield* Effect.never
            break
          case "release":
            yield* ctx.releaseSlot
            yield* Deferred.await(script.gate)
            break
          case "cancel-self":
            yield* ctx.cancel
            break
          case "log":
            yield* Effect.log("hello from", ctx.taskRunExternalId)
            yield* Effect.logWarning("careful").pipe(Effect.annotateLogs({ user: "u-1" }))
            yield* Effect.logError("x".repeat(20_000))
            yield* ctx.putStream("chunk-0")
            yield* ctx.putStream(new Uint8Array([1, 2]))
            break
          case "big":
            return { result: "y".repeat(input.size ?? 0) }
        }
        return { result: `done ${ctx.retryCount}` }
      }).pipe(TaskError.undeclared, Effect.onInterrupt(() => Ref.update(script.finalized, (n) => n + 1)))
  }
}))

export const ScriptLive = Effect.gen(function*() {
  return {
    runs: yield* Ref.make(0),
    finalized: yield* Ref.make(0),
    gate: yield* Deferred.make<void>()
  }
})
