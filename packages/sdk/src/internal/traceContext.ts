/**
 * W3C trace context in a run's additional metadata, under the key `traceparent` as the official
 * Python SDK's OpenTelemetry instrumentor carries it: a trigger or a push made inside a span
 * carries that span, and the worker's task span continues its trace.
 *
 * It propagates when there is a current span and a tracer that records spans is installed, unless
 * `Tracer.DisablePropagation` is set. Under Effect's built-in tracer, whose spans go nowhere, the
 * engine's own traceparent is left in place (Hatchet gives every run without one a traceparent
 * derived from its root run, so a run and its children share a trace). A `traceparent` the
 * caller put in the metadata wins.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** The metadata key. */
export const TRACEPARENT = "traceparent"

const pattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/

/** The `traceparent` of a span: version 00, sampled flag from the span. */
export const format = (span: Tracer.AnySpan): string => `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

/**
 * The span a `traceparent` names, if it is well formed (version `ff`, an all-zero trace or span
 * id are invalid, as the W3C recommendation says; a later version may append fields).
 */
export const parse = (value: string): Option.Option<Tracer.ExternalSpan> => {
  const match = pattern.exec(value.trim())
  if (match === null) return Option.none()
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string]
  if (version === "ff" || (version === "00" && value.trim().length !== 55)) return Option.none()
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return Option.none()
  return Option.some(new ParsedSpan(traceId, spanId, (parseInt(flags, 16) & 1) === 1))
}

/**
 * The span a `traceparent` names, as `Tracer.externalSpan` makes it. A class rather than an
 * object literal: the worker parses one per attempt (see ./attempt.ts on V8's pretenuring).
 */
class ParsedSpan implements Tracer.ExternalSpan {
  readonly _tag = "ExternalSpan"
  readonly context = Context.empty()
  constructor(readonly traceId: string, readonly spanId: string, readonly sampled: boolean) {}
}

/** Effect's built-in tracer, whose spans go nowhere. */
export const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** The `traceparent` to add to a request's metadata: the current span's, when it is recorded. */
export const current: Effect.Effect<Option.Option<string>> = Effect.flatMap(
  Effect.zip(Tracer.DisablePropagation, Effect.tracer),
  ([disabled, tracer]) =>
    disabled || tracer === builtInTracer
      ? Effect.succeedNone
      : Effect.map(Effect.option(Effect.currentParentSpan), Option.map(format))
)

/** `metadata` with `traceparent` added unless it has one. */
export const inject = (
  metadata: Readonly<Record<string, string>> | undefined,
  traceparent: Option.Option<string>
): Readonly<Record<string, string>> | undefined =>
  Option.isNone(traceparent) || (metadata !== undefined && TRACEPARENT in metadata)
    ? metadata
    : { [TRACEPARENT]: traceparent.value, ...metadata }
