/**
 * Interop of durable tasks: the official `@hatchet-dev/typescript-sdk`'s durable worker with our
 * client, on the local engine over loopback gRPC, under the TestClock (HatchetTest). Our client
 * declares the official worker's durable task by name and Schemas (nothing runs it here), triggers
 * it, awaits its typed result and sends the events that release its waits; the durable task's
 * child runs on our worker. What the task waits on is read from the engine's REST durable event
 * log (`GET /api/v1/stable/tenants/{tenant}/durable-tasks/{task}`), as a user would.
 */
import { Engine } from "@effect-hatchet/engine"
import { Hatchet, Runs, Task } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Layer, Redacted, Schema, TestClock } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

// -----------------------------------------------------------------------------
// our side: the declarations our client triggers, and the child our worker runs
// -----------------------------------------------------------------------------

const OrderInput = Schema.Struct({ orderId: Schema.String })

/** The official worker's durable task, as our client sees it. */
const PlaceOrder = Task.make("interop-durable-order", {
  input: OrderInput,
  output: Schema.Struct({
    orderId: Schema.String,
    placedAt: Schema.Date,
    receipt: Schema.Struct({ receipt: Schema.String }),
    approvedBy: Schema.String
  })
})

/** The official worker's durable task that sleeps a week. */
const Reminder = Task.make("interop-durable-reminder", {
  input: OrderInput,
  output: Schema.Struct({ orderId: Schema.String, sleptMs: Schema.Number })
})

/** The child the official durable task spawns, run by our worker. */
const Receipt = Task.make("interop-durable-receipt", {
  input: OrderInput,
  output: Schema.Struct({ receipt: Schema.String })
})

const receipts: Array<string> = []
const ReceiptLive = Receipt.toLayer(({ orderId }) =>
  Effect.sync(() => {
    receipts.push(orderId)
    return { receipt: `receipt-${orderId}` }
  })
)

// -----------------------------------------------------------------------------
// the official side: a client of the same engine and its durable worker
// -----------------------------------------------------------------------------

const noop = () => undefined
const silent = { debug: noop, info: noop, green: noop, warn: noop, error: noop, util: noop }

/** How many times the official durable task's body began (each invocation counts). */
const invocations = { order: 0 }

/** The official SDK's durable worker, for the scope (stopped, its signal handlers removed, on release). */
const officialWorker = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const hatchet = HatchetClient.init(
    {
      token: Redacted.value(engine.token),
      host_port: engine.grpcAddress,
      api_url: engine.apiUrl,
      tls_config: { tls_strategy: "none" },
      log_level: "ERROR",
      logger: () => silent
    } as Parameters<typeof HatchetClient.init>[0]
  )
  const placeOrder = hatchet.durableTask({
    name: "interop-durable-order",
    executionTimeout: "1h",
    fn: async (input: { orderId: string }, ctx) => {
      invocations.order++
      const placedAt = await ctx.now()
      const receipt = await ctx.spawnChild<{ orderId: string }, { receipt: string }>("interop-durable-receipt", {
        orderId: input.orderId
      })
      const approval = await ctx.waitForEvent("interop:approved", "input.approved == true", undefined, input.orderId, "1h")
      return { orderId: input.orderId, placedAt: placedAt.toISOString(), receipt, approvedBy: String(approval.by) }
    }
  })
  const reminder = hatchet.durableTask({
    name: "interop-durable-reminder",
    executionTimeout: "200h",
    fn: async (input: { orderId: string }, ctx) => ({
      orderId: input.orderId,
      sleptMs: (await ctx.sleepFor("168h")).durationMs
    })
  })
  const signals = ["SIGTERM", "SIGINT"] as const
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]))
  return yield* Effect.acquireRelease(
    Effect.promise(async () => {
      const worker = await hatchet.worker("official-durable-worker", { workflows: [placeOrder, reminder], handleKill: false })
      const running = worker.start().catch(() => undefined)
      await worker.waitUntilReady(10_000)
      return { worker, running }
    }),
    ({ running, worker }) =>
      Effect.promise(async () => {
        await worker.stop().catch(() => undefined)
        await running
        for (const s of signals) {
          for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l as () => void)
        }
      })
  )
})

// -----------------------------------------------------------------------------
// the durable event log, through REST
// -----------------------------------------------------------------------------

interface LogEntry {
  readonly nodeId: number
  readonly kind: "RUN" | "WAIT_FOR" | "MEMO"
  readonly isSatisfied: boolean
  readonly waitData?: ReadonlyArray<{ readonly kind?: string; readonly eventKey?: string; readonly workflowName?: string }>
}

/** The durable event log of the task of `runId` (a standalone task's run id is its task's). */
const eventLog = (runId: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    return yield* Effect.promise(async () => {
      const response = await fetch(`${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/durable-tasks/${runId}`, {
        headers: { authorization: `Bearer ${Redacted.value(engine.token)}` }
      })
      return (await response.json()) as ReadonlyArray<LogEntry>
    })
  })

/** Waits (real time) until the task of `runId` waits on an unsatisfied WAIT_FOR entry. */
const untilWaiting = (runId: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      const log = yield* eventLog(runId)
      if (log.some((entry) => entry.kind === "WAIT_FOR" && !entry.isSatisfied)) return log
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 25)))
    }
    return yield* Effect.dieMessage(`run ${runId} never waited`)
  })

/**
 * The lookbacks of the official SDK start from the worker's `now()`, the wall clock: the engine's
 * clock (the TestClock), which stamps events, starts there too.
 */
const TestLive = Layer.unwrapEffect(Effect.as(TestClock.setTime(Date.now()), HatchetTest.layer({ workflows: [ReceiptLive] })))

layer(TestLive, { timeout: 30_000 })("the official SDK's durable worker with our client", (it) => {
  it.scoped("our client triggers the durable task, its event released by our push after the wait began; the typed result", () =>
    Effect.gen(function*() {
      yield* officialWorker
      receipts.length = 0
      invocations.order = 0
      const handle = yield* Hatchet.runNoWait(PlaceOrder, { orderId: "o-1" })
      const log = yield* untilWaiting(handle.runId)
      // now(), the child, the lookback's own now(), the wait
      expect(log.map((e) => [e.nodeId, e.kind, e.isSatisfied])).toEqual([
        [1, "MEMO", true],
        [2, "RUN", true],
        [3, "MEMO", true],
        [4, "WAIT_FOR", false]
      ])
      expect(log[1]!.waitData).toEqual([{ kind: "CHILD_WORKFLOW", workflowName: "interop-durable-receipt" }])
      expect(log[3]!.waitData).toEqual([{ kind: "USER_EVENT", eventKey: "interop:approved" }])
      // another order's approval, and one the expression refuses: the wait goes on
      yield* Hatchet.push("interop:approved", { approved: true, by: "mallory" }, { scope: "o-2" })
      yield* Hatchet.push("interop:approved", { approved: false, by: "eve" }, { scope: "o-1" })
      yield* Hatchet.push("interop:approved", { approved: true, by: "alice" }, { scope: "o-1" })
      const result = yield* handle.result
      expect(result.orderId).toBe("o-1")
      expect(result.placedAt).toBeInstanceOf(Date)
      expect(result.receipt).toEqual({ receipt: "receipt-o-1" })
      expect(result.approvedBy).toBe("alice")
      expect(receipts).toEqual(["o-1"])
      expect((yield* eventLog(handle.runId)).every((e) => e.isSatisfied)).toBe(true)
    }))

  it.scoped("an approval pushed before the run started is found by the wait's lookback", () =>
    Effect.gen(function*() {
      yield* officialWorker
      yield* Hatchet.push("interop:approved", { approved: true, by: "bob" }, { scope: "o-3" })
      const result = yield* Hatchet.run(PlaceOrder, { orderId: "o-3" })
      expect(result).toMatchObject({ orderId: "o-3", receipt: { receipt: "receipt-o-3" }, approvedBy: "bob" })
    }))

  it.scoped("a durable sleep of a week ends when the engine's clock passes it; the run's details say so", () =>
    Effect.gen(function*() {
      yield* officialWorker
      const handle = yield* Hatchet.runNoWait(Reminder, { orderId: "o-4" })
      yield* untilWaiting(handle.runId)
      yield* TestClock.adjust("7 days")
      expect(yield* handle.result).toEqual({ orderId: "o-4", sleptMs: 7 * 24 * 3_600_000 })
      const runs = yield* Runs.Runs
      expect((yield* runs.get(handle.runId)).run.status).toBe("COMPLETED")
    }))
})
