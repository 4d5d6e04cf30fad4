/**
 * The W3C `traceparent` the client puts in a run's metadata and the worker reads back.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import * as TraceContext from "../src/internal/traceContext.js"

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const spanId = "00f067aa0ba902b7"

/** A tracer that records spans (Effect's built-in spans, under another tracer). */
const recordingTracer = Effect.map(Effect.tracer, (builtIn) => Tracer.make({ span: builtIn.span, context: builtIn.context }))

describe("TraceContext", () => {
  it("parses a traceparent into the external span it names; formats a span back", () => {
    const parsed = TraceContext.parse(`00-${traceId}-${spanId}-01`)
    expect(Option.map(parsed, ({ sampled, spanId, traceId }) => ({ traceId, spanId, sampled }))).toEqual(
      Option.some({ traceId, spanId, sampled: true })
    )
    expect(Option.getOrThrow(TraceContext.parse(`00-${traceId}-${spanId}-00`)).sampled).toBe(false)
    expect(TraceContext.format(Option.getOrThrow(parsed))).toBe(`00-${traceId}-${spanId}-01`)
    // a later version may append fields
    expect(Option.isSome(TraceContext.parse(`01-${traceId}-${spanId}-01-later`))).toBe(true)
  })

  it("refuses what the W3C recommendation calls invalid", () => {
    for (
      const bad of [
        "",
        "garbage",
        `ff-${traceId}-${spanId}-01`,
        `00-${"0".repeat(32)}-${spanId}-01`,
        `00-${traceId}-${"0".repeat(16)}-01`,
        `00-${traceId.toUpperCase()}-${spanId}-01`,
        `00-${traceId}-${spanId}-01-extra`,
        `00-${traceId.slice(1)}-${spanId}-01`
      ]
    ) expect(TraceContext.parse(bad)).toEqual(Option.none())
  })

  it.effect("the current span's traceparent under a recording tracer; none under Effect's built-in one or when disabled", () =>
    Effect.gen(function*() {
      expect(yield* TraceContext.current.pipe(Effect.withSpan("built-in"))).toEqual(Option.none())

      const tracer = yield* recordingTracer
      const [span, traceparent] = yield* Effect.zip(Effect.currentSpan, TraceContext.current).pipe(
        Effect.withSpan("recorded"),
        Effect.withTracer(tracer)
      )
      expect(traceparent).toEqual(Option.some(`00-${span.traceId}-${span.spanId}-01`))
      expect(yield* TraceContext.current.pipe(Effect.withTracer(tracer))).toEqual(Option.none()) // no span
      expect(
        yield* TraceContext.current.pipe(
          Effect.withSpan("disabled"),
          Effect.withTracer(tracer),
          Effect.provideService(Tracer.DisablePropagation, true)
        )
      ).toEqual(Option.none())
    }))

  it("inject adds the traceparent unless the metadata has one", () => {
    const tp = Option.some(`00-${traceId}-${spanId}-01`)
    expect(TraceContext.inject(undefined, tp)).toEqual({ traceparent: `00-${traceId}-${spanId}-01` })
    expect(TraceContext.inject({ a: "1" }, tp)).toEqual({ traceparent: `00-${traceId}-${spanId}-01`, a: "1" })
    expect(TraceContext.inject({ traceparent: "mine" }, tp)).toEqual({ traceparent: "mine" })
    expect(TraceContext.inject({ a: "1" }, Option.none())).toEqual({ a: "1" })
  })
})
