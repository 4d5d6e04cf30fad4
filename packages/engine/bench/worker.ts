/**
 * The official SDK worker of the engine benchmark, in its own process: one no-op task, `BENCH_SLOTS`
 * slots; connects with the `HATCHET_CLIENT_*` environment the parent passes.
 */
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js"

const noop = () => undefined
const silent = { debug: noop, info: noop, green: noop, warn: noop, error: noop, util: noop }

const hatchet = HatchetClient.init({ log_level: "ERROR", logger: () => silent } as Parameters<typeof HatchetClient.init>[0])
const task = hatchet.task({ name: "bench-noop", fn: async () => ({}) })
const worker = await hatchet.worker("bench-worker", {
  workflows: [task],
  slots: Number(process.env.BENCH_SLOTS ?? 100),
  handleKill: false
})
process.on("SIGTERM", () => {
  void worker.stop().finally(() => process.exit(0))
})
await worker.start()
