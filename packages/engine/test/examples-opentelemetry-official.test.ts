/**
 * The official SDK's shipped `opentelemetry_instrumentation` example, unchanged, against this
 * engine: its worker script and its run script, each in a child process (support/exampleProcess).
 * Both register the SDK's `HatchetInstrumentor` (`enableHatchetCollector` on by default), which
 * exports spans over OTLP gRPC to the engine's own address with the client's token. Each script
 * is preloaded with support/otel-preload.mjs: the example's `initOtel()` called before the example
 * loads the SDK (as shipped it loads the SDK first, and the instrumentor then patches nothing), and
 * the context manager and W3C propagator an application's OTel setup registers (the example's
 * does not: without them each span is a trace of its own). What the example's code says, and
 * upstream's collector (read in its Go, `internal/services/otelcol`):
 * - the run script opens `trigger_order_processing`, triggers `otel-order-processing-ts` inside
 *   it (the instrumentor's `hatchet.run_workflow` span), prints the run id, awaits the output and
 *   ends its span OK (the OTel SDK drops the message of a status other than ERROR);
 * - the worker runs the DAG's four tasks, each under the instrumentor's
 *   `hatchet.start_step_run.<action>` span (carrying the run's hatchet.* attributes, which its
 *   span processor copies onto the example's own spans): validate-order's `order.validate.*`,
 *   charge-payment's `payment.*`, reserve-inventory's `inventory.*`, send-confirmation's
 *   `notification.*`;
 * - the traceparent travels with the run, so every span is in one trace; upstream keys it to each
 *   task run and to the DAG run, re-parents each step-run span under the run's derived root span
 *   id, and `GET …/traces?run_external_id=` answers the trace.
 * The BatchSpanProcessor's delay is shortened (OTEL_BSP_SCHEDULE_DELAY) so that spans are
 * exported well before the run script exits.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createHash } from "node:crypto"
import * as Engine from "../src/Engine.js"
import * as ExampleProcess from "./support/exampleProcess.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

/** Upstream's `DeriveWorkflowRunSpanID` (the first 8 bytes of sha256 over a prefix and the UUID's bytes). */
const derivedSpanId = (uuid: string) =>
  createHash("sha256").update("hatchet-engine-wf-span:").update(Buffer.from(uuid.replace(/-/g, ""), "hex")).digest("hex").slice(0, 16)

const preload = new URL("./support/otel-preload.mjs", import.meta.url).href

const exampleSpans = [
  "order.validate.schema",
  "order.validate.fraud-check",
  "payment.process",
  "payment.tokenize-card",
  "payment.charge",
  "inventory.check-availability",
  "inventory.reserve",
  "notification.render-template",
  "notification.send-email"
]

layer(Examples.engineLive, { timeout: 60_000 })("official SDK example: opentelemetry_instrumentation", (it) => {
  it.scoped("the worker's and the run script's spans reach the engine and come back through the trace route for the run", () =>
    Effect.gen(function*() {
      const env = { OTEL_BSP_SCHEDULE_DELAY: "100", NODE_OPTIONS: `--import ${preload}` }
      const worker = yield* ExampleProcess.run("opentelemetry_instrumentation/worker.js", 5_000, env)
      const { hatchet } = yield* Examples.client
      yield* Official.eventually(async () => {
        const rows = (await hatchet.workers.list()).rows ?? []
        return rows.some((w) => w.status === "ACTIVE" && w.name === "otel-instrumentation-worker-ts") ? true : undefined
      }, 20_000).pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${worker.output()}`)))

      const script = yield* ExampleProcess.run("opentelemetry_instrumentation/run.js", 5_000, env)
      const runId = yield* Official.eventually(async () => /Started workflow run: (\S+)/.exec(script.output())?.[1], 20_000)
        .pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}`)))
      yield* Official.eventually(async () => script.output().includes("Order completed:") ? true : undefined, 20_000)
        .pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}\n${worker.output()}`)))

      const engine = yield* Engine.Engine
      const traceUrl = (id: string) => `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/traces?run_external_id=${id}`
      const get = (id: string) =>
        fetch(traceUrl(id), { headers: { authorization: `Bearer ${Redacted.value(engine.token)}` } })
          .then(async (response) => ({ status: response.status, body: await response.json() as any }))
      const wanted = [...exampleSpans, "trigger_order_processing"]
      let last: unknown
      const trace = yield* Official.eventually(async () => {
        const reply = await get(runId)
        last = reply
        const names = new Set<string>((reply.body.rows ?? []).map((row: any) => row.spanName))
        return reply.status === 200 && wanted.every((name) => names.has(name)) &&
            [...names].filter((n) => n.startsWith("hatchet.start_step_run")).length === 4
          ? reply.body
          : undefined
      }, 20_000).pipe(
        Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}: ${JSON.stringify(last)}\n${script.output()}\n${worker.output()}`))
      )

      const rows: Array<any> = trace.rows
      // one trace, spans in start order
      expect(new Set(rows.map((row) => row.traceId)).size).toBe(1)
      const starts = rows.map((row) => Date.parse(row.createdAt))
      expect(starts).toEqual([...starts].sort((a, b) => a - b))
      expect(trace.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })

      const byName = (name: string) => rows.find((row) => row.spanName === name)
      // the OTel SDK keeps a status message only with ERROR: "Order processed" is not exported
      expect(byName("trigger_order_processing")).toMatchObject({ statusCode: "OK", retryCount: 0 })
      expect(byName("trigger_order_processing").statusMessage).toBeUndefined()
      expect(byName("trigger_order_processing").parentSpanId).toBeUndefined()
      expect(byName("hatchet.run_workflow")).toMatchObject({
        spanKind: "PRODUCER",
        parentSpanId: byName("trigger_order_processing").spanId
      })

      const details = yield* Effect.promise(() => hatchet.runs.get(runId))
      const taskIds = details.tasks.map((task) => task.taskExternalId)
      expect(taskIds).toHaveLength(4)
      const stepRuns = rows.filter((row) => row.spanName.startsWith("hatchet.start_step_run"))
      for (const stepRun of stepRuns) {
        expect(stepRun).toMatchObject({ spanKind: "CONSUMER", parentSpanId: derivedSpanId(runId) })
        expect(stepRun.spanAttributes["hatchet.workflow_run_id"]).toBe(runId)
      }
      expect(new Set(stepRuns.map((row) => row.spanAttributes["hatchet.step_run_id"]))).toEqual(new Set(taskIds))
      // the example's own spans carry their task's hatchet.* attributes and attributes of their own
      for (const name of exampleSpans) {
        expect(byName(name).spanAttributes["hatchet.workflow_run_id"]).toBe(runId)
        expect(taskIds).toContain(byName(name).spanAttributes["hatchet.step_run_id"])
      }
      expect(byName("payment.charge").spanAttributes).toMatchObject({ "payment.amount_cents": "4999", "payment.currency": "USD" })
      expect(byName("order.validate.fraud-check").spanAttributes).toMatchObject({ "fraud.score": "0.05", "fraud.decision": "allow" })
      expect(byName("inventory.check-availability").spanAttributes).toMatchObject({ "inventory.all_available": "true" })
      expect(byName("payment.process")).toMatchObject({ statusCode: "OK" })
      expect(byName("payment.charge").parentSpanId).toBe(byName("payment.process").spanId)

      // each task run resolves to the same trace
      for (const id of taskIds) {
        const reply = yield* Effect.promise(() => get(id))
        expect(reply.status).toBe(200)
        expect(reply.body.rows[0].traceId).toBe(rows[0].traceId)
      }
    }))
})
