// An official durable worker in its own process, for worker-death tests: the engine kills it with
// SIGKILL mid-wait and another process of this script finishes the task. Its client comes from
// the environment (HATCHET_CLIENT_*), its name from WORKER_NAME; every execution of the durable
// task's body and of its child task appends one JSON line to COUNT_FILE, so the test counts what
// ran where. Over IPC it tells its parent "loaded" once the SDK is imported, waits for "start",
// and tells "ready" once registered and listening (so a test can load it ahead of time).
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { appendFileSync } from "node:fs"

process.send("loaded")
await new Promise((resolve) => process.once("message", resolve))

const countFile = process.env.COUNT_FILE
const workerName = process.env.WORKER_NAME
const record = (line) => appendFileSync(countFile, `${JSON.stringify({ worker: workerName, ...line })}\n`)

const noop = () => undefined
const silent = { debug: noop, info: noop, green: noop, warn: noop, error: noop, util: noop }
const hatchet = HatchetClient.init({ log_level: "ERROR", logger: () => silent })

/** The side effect that must happen once: a charge, as a child run. */
const charge = hatchet.task({
  name: "worker-death-charge",
  fn: async (input) => {
    record({ kind: "charge", amount: input.amount })
    return { charged: input.amount }
  }
})

/** Memoizes now(), charges once (a child run), then waits for an approval. */
const flow = hatchet.durableTask({
  name: "worker-death-flow",
  executionTimeout: "10m",
  fn: async (input, ctx) => {
    const started = await ctx.now()
    record({ kind: "invocation", invocationCount: ctx.invocationCount, started: started.toISOString() })
    const charged = await ctx.spawnChild(charge, { amount: input.amount })
    record({ kind: "charged", invocationCount: ctx.invocationCount })
    const approval = await ctx.waitForEvent("worker-death:approve")
    return { started: started.toISOString(), charged, approval }
  }
})

const worker = await hatchet.worker(workerName, { workflows: [charge, flow], handleKill: false })
void worker.start()
await worker.waitUntilReady(10_000)
process.send("ready")
