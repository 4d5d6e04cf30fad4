/**
 * An attempt's fiber as tracing and logging see it: its log annotations, the span `hatchet.task`
 * it runs in, and the trace it continues (the run's `traceparent` metadata).
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { Attempt } from "./attempt.js"
import * as TraceContext from "./traceContext.js"

/** The span a run's `traceparent` metadata names. */
export const traceParentOf = (metadata: Readonly<Record<string, unknown>>): Option.Option<Tracer.ExternalSpan> => {
  const value = metadata[TraceContext.TRACEPARENT]
  return typeof value === "string" ? TraceContext.parse(value) : Option.none()
}

/**
 * What names an attempt in its log lines and its span: the action, the task run, the workflow run
 * and the retry count.
 */
export const attemptAnnotations = (
  action: Pick<DispatcherProto.AssignedAction, "actionId" | "taskRunExternalId" | "workflowRunId" | "retryCount">
): Record<string, string | number> => ({
  "hatchet.action": action.actionId,
  "hatchet.task_run_id": action.taskRunExternalId,
  "hatchet.workflow_run_id": action.workflowRunId,
  "hatchet.retry_count": action.retryCount
})

/**
 * The refs of an attempt's fiber, set as it is forked (the `updateRefs` of its fork, one
 * copy of the refs the fork makes anyway): its log annotations. The metric labels it starts with
 * are read here once for the hot path's synchronous updates. (The fiber's context stays the
 * worker's: a context of its own per attempt would cost a copy of every service, twice, as the
 * handler's services are merged over it.)
 */
export const attemptRefs =
  (action: DispatcherProto.AssignedAction, attempt: Attempt) =>
  (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime): FiberRefs.FiberRefs => {
    attempt.metricLabels = FiberRefs.getOrDefault(refs, FiberRef.currentMetricLabels)
    // one mutation: the keys without a copy of the map per key
    const added = attemptAnnotations(action)
    const annotations = HashMap.mutate(FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations), (map) => {
      for (const key in added) HashMap.set(map, key, added[key])
    })
    return FiberRefs.updateManyAs(refs, { entries: [[FiberRef.currentLogAnnotations, [[fiberId, annotations]]]] })
  }

/**
 * Runs an attempt with its span `hatchet.task`, for a tracer that records spans. The attempt has
 * a fiber of its own (whose refs `attemptRefs` set), so the span is set on that fiber once, with
 * nothing to restore (as `Effect.withSpan` would); the span ends with the attempt. The span
 * continues the trace of the run's `traceparent` metadata, or starts one. (Under Effect's
 * built-in tracer, whose spans go nowhere, the worker makes no span: the run's `traceparent` is
 * the parent span in the handler's services (`TaskExecution.execute`'s `parentSpan`), so that
 * spans the handler makes continue its trace.)
 */
export const inTaskSpan = (
  clock: Clock.Clock,
  action: DispatcherProto.AssignedAction,
  attempt: Attempt,
  effect: Effect.Effect<void>
): Effect.Effect<void> => {
  const traceParent = traceParentOf(attempt.metadata)
  /** Sets the span as the parent span of what runs on the attempt's fiber. */
  const setParentSpan = (span: Tracer.AnySpan) =>
    Effect.updateFiberRefs((fiberId, refs) => {
      const context = Context.add(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Tracer.ParentSpan, span)
      return FiberRefs.updateAs(refs, { fiberId, fiberRef: FiberRef.currentContext, value: context })
    })
  return Effect.flatMap(
    Effect.makeSpan("hatchet.task", {
      kind: "consumer",
      ...Option.match(traceParent, {
        onNone: () => ({ root: true }),
        onSome: (parent) => ({ parent })
      }),
      captureStackTrace: false,
      attributes: attemptAnnotations(action)
    }),
    (span) =>
      Effect.zipRight(
        setParentSpan(span),
        Effect.onExit(effect, (exit) =>
          Effect.withFiberRuntime((fiber) => {
            span.end(fiber.getFiberRef(FiberRef.currentTracerTimingEnabled) ? clock.unsafeCurrentTimeNanos() : 0n, exit)
            return Effect.void
          }))
      )
  )
}
