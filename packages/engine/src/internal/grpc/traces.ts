/**
 * The OTLP `TraceService` gRPC service (`opentelemetry.proto.collector.trace.v1`): Export, the
 * spans the SDKs' `HatchetInstrumentor` sends to the engine (`domain/traces.ts`).
 *
 * @internal
 */
import type { TraceServiceImplementation } from "@effect-hatchet/proto/opentelemetry/proto/collector/trace/v1/trace_service"
import type { EngineCoreService } from "../core.js"
import * as Traces from "../domain/traces.js"
import type { EffectService } from "./bridge.js"

export const make = (core: EngineCoreService): EffectService<TraceServiceImplementation> => ({
  export: (request, context) => core.runEither((state, now) => Traces.exportSpans(state, context.tenantId, request, now))
})
