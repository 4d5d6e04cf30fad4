/**
 * `Runs.trace` end to end on the local engine: spans exported to the engine's OTLP collector
 * (`TraceService/Export` over raw gRPC, as the official SDKs' instrumentor sends them) are read
 * back for their task run and their DAG run, decoded with the SDK's Schemas; a run no span names
 * is the route's 404.
 */
import { Engine } from "@effect-hatchet/engine"
import { TraceServiceDefinition } from "@effect-hatchet/proto/opentelemetry/proto/collector/trace/v1/trace_service"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createChannel, createClient, Metadata } from "nice-grpc"
import * as Runs from "../src/Runs.js"
import { engineWithClient } from "./support/engine.js"

const taskRunId = "5a5a5a5a-1111-4111-8111-aaaaaaaaaaaa"
const workflowRunId = "5a5a5a5a-2222-4222-8222-bbbbbbbbbbbb"
const hex = (text: string) => Buffer.from(text, "hex")

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("Runs.trace end to end", (it) => {
  it.scoped("a run's exported spans come back decoded; an unknown run is a 404 RestError", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const channel = createChannel(engine.grpcAddress)
      yield* Effect.addFinalizer(() => Effect.sync(() => channel.close()))
      const collector = createClient(TraceServiceDefinition, channel, {
        "*": { metadata: Metadata({ authorization: `Bearer ${Redacted.value(engine.token)}` }) }
      })
      const start = 1_800_000_000_000_000_000n
      const attributes = [
        { key: "hatchet.step_run_id", value: { stringValue: taskRunId } },
        { key: "hatchet.workflow_run_id", value: { stringValue: workflowRunId } },
        { key: "attempt", value: { intValue: "2" } }
      ]
      yield* Effect.promise(() =>
        collector.export({
          resourceSpans: [{
            resource: { attributes: [{ key: "service.name", value: { stringValue: "orders" } }] },
            scopeSpans: [{
              scope: { name: "orders-worker" },
              spans: [
                {
                  traceId: hex("0af7651916cd43dd8448eb211c80319c"),
                  spanId: hex("b7ad6b7169203331"),
                  name: "charge",
                  kind: 1,
                  startTimeUnixNano: String(start),
                  endTimeUnixNano: String(start + 1_500n),
                  attributes,
                  status: { code: 2, message: "card declined" }
                }
              ]
            }]
          }]
        })
      )
      const runs = yield* Runs.Runs
      const trace = yield* runs.trace(taskRunId)
      expect(trace.rows).toEqual([{
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        spanName: "charge",
        spanKind: "INTERNAL",
        serviceName: "orders",
        statusCode: "ERROR",
        statusMessage: "card declined",
        durationNs: 1500,
        createdAt: new Date(Number(start / 1_000_000n)),
        resourceAttributes: { "service.name": "orders" },
        spanAttributes: { "hatchet.step_run_id": taskRunId, "hatchet.workflow_run_id": workflowRunId, attempt: "2" },
        scopeName: "orders-worker",
        scopeVersion: "orders-worker",
        retryCount: 0
      }])
      expect(yield* runs.trace(workflowRunId)).toEqual(trace)
      expect(yield* runs.trace(taskRunId, { offset: 1 })).toEqual({ rows: [] })
      expect(yield* Effect.flip(runs.trace(crypto.randomUUID()))).toMatchObject({ _tag: "RestError", status: 404 })
    }))
})
