/**
 * One trace from the client to the worker, over loopback gRPC on the local engine: a run
 * triggered inside a recorded span carries it as `traceparent` metadata, the task's span
 * continues it, and so does a child run the task triggers. Without one, the task continues the
 * traceparent the engine gives every run (under the built-in tracer without a span of its own).
 */
import { Hatchet, Task, TaskContext, TaskError } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema, Tracer } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

const Seen = Schema.Struct({
  traceId: Schema.String,
  parentSpanId: Schema.NullOr(Schema.String),
  traceparent: Schema.NullOr(Schema.String)
})

/**
 * What the task's trace and metadata look like from inside the handler: under a recording tracer
 * the task's own span and its parent; under the built-in tracer (no task span is made) the span
 * the run's traceparent names, which the handler's spans continue.
 */
const seen = Effect.gen(function*() {
  const span = yield* Effect.currentParentSpan.pipe(Effect.orDie)
  const ctx = yield* TaskContext.TaskContext
  const traceparent = ctx.additionalMetadata.traceparent
  return {
    traceId: span.traceId,
    parentSpanId: span._tag === "ExternalSpan"
      ? span.spanId
      : Option.match(span.parent, { onNone: () => null, onSome: (parent) => parent.spanId }),
    traceparent: typeof traceparent === "string" ? traceparent : null
  }
})

const Leaf = Task.make("trace-leaf", { output: Seen })
const Branch = Task.make("trace-branch", { output: Schema.Struct({ branch: Seen, leaf: Seen }) })

const TracedLive = Layer.mergeAll(
  Leaf.toLayer(() => seen),
  Branch.toLayer(() => Effect.all({ branch: seen, leaf: Hatchet.run(Leaf, {}) }).pipe(TaskError.undeclared))
)

/** Effect's built-in spans under a tracer of our own, which records them (and so propagates). */
const recording = Effect.gen(function*() {
  const spans: Array<Tracer.Span> = []
  const builtIn = yield* Effect.tracer
  const tracer = Tracer.make({
    span: (...args) => {
      const span = builtIn.span(...args)
      spans.push(span)
      return span
    },
    context: builtIn.context
  })
  return { spans, tracer }
})

describe("trace context across the engine", () => {
  it.effect(
    "the task's span continues the trace of the trigger; a child run's task, that of its parent task",
    () =>
      Effect.gen(function*() {
        const { spans, tracer } = yield* recording
        yield* Effect.gen(function*() {
          const request = yield* Effect.currentSpan
          const result = yield* Hatchet.run(Branch, {})
          const triggers = spans.filter((span) => span.name === "hatchet.trigger")
          const branchTrigger = triggers.find((span) => Option.exists(span.parent, (p) => p.spanId === request.spanId))!
          const leafTrigger = triggers.find((span) => span !== branchTrigger)!

          expect(result.branch).toEqual({
            traceId: request.traceId,
            parentSpanId: branchTrigger.spanId,
            traceparent: `00-${request.traceId}-${branchTrigger.spanId}-01`
          })
          expect(result.leaf).toEqual({
            traceId: request.traceId,
            parentSpanId: leafTrigger.spanId,
            traceparent: `00-${request.traceId}-${leafTrigger.spanId}-01`
          })
          // the leaf's trigger ran inside the branch's task span
          const branchTask = spans.find((span) =>
            span.name === "hatchet.task" && Option.exists(span.parent, (p) => p.spanId === branchTrigger.spanId)
          )!
          expect(Option.map(leafTrigger.parent, (p) => p.spanId)).toEqual(Option.some(branchTask.spanId))
        }).pipe(
          Effect.withSpan("request"),
          Effect.provide(HatchetTest.layer({ workflows: [TracedLive] })),
          Effect.withTracer(tracer)
        )
      }),
    30_000
  )

  it.effect(
    "under Effect's built-in tracer or with propagation disabled, the engine's traceparent; the caller's own wins",
    () =>
      Effect.gen(function*() {
        const { tracer } = yield* recording
        /** The task continued the engine's traceparent (upstream derives one for a run without), not the caller's. */
        const continuedEngineTrace = (seen: typeof Seen.Type, request: Tracer.Span) => {
          expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
          expect(seen.traceparent).toBe(`00-${seen.traceId}-${seen.parentSpanId}-01`)
          expect(seen.traceId).not.toBe(request.traceId)
        }
        yield* Effect.gen(function*() {
          const [builtIn, builtInRequest] = yield* Effect.zip(Hatchet.run(Leaf, {}), Effect.currentSpan).pipe(
            Effect.withSpan("request")
          )
          continuedEngineTrace(builtIn, builtInRequest)

          const [disabled, disabledRequest] = yield* Effect.zip(Hatchet.run(Leaf, {}), Effect.currentSpan).pipe(
            Effect.withSpan("request"),
            Effect.withTracer(tracer),
            Effect.provideService(Tracer.DisablePropagation, true)
          )
          continuedEngineTrace(disabled, disabledRequest)

          const mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
          const own = yield* Hatchet.run(Leaf, {}, { additionalMetadata: { traceparent: mine } }).pipe(
            Effect.withSpan("request"),
            Effect.withTracer(tracer)
          )
          expect(own).toEqual({ traceId: "0af7651916cd43dd8448eb211c80319c", parentSpanId: "b7ad6b7169203331", traceparent: mine })
        }).pipe(Effect.provide(HatchetTest.layer({ workflows: [TracedLive] })))
      }),
    30_000
  )
})
