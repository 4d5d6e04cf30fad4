/**
 * Engine throughput benchmark (`pnpm bench:engine`): no-op tasks through the engine with the
 * official SDK's worker (100 slots) in a separate process, triggered in bulk by the official
 * client in this process. Reports tasks per second (trigger of the first run to the last result)
 * and the engine's dispatch latency per task (run created to START sent to the worker), p50 and
 * p99: under the bulk load (queueing behind busy slots included), under a steady load of half the
 * measured throughput for 5 s (`steady`: no backlog builds up), and for runs triggered one at a
 * time (`idle`), with the client-observed round trip (trigger to result) of the latter.
 *
 * Options (environment): BENCH_TASKS (default 5000), BENCH_SLOTS (default 100),
 * BENCH_BATCH (runs per bulk trigger, default 500), BENCH_WORKER_PROFILE (a directory for a CPU
 * profile of the worker process).
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Engine } from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "../test/support/official.js"

const total = Number(process.env.BENCH_TASKS ?? 5000)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
const batch = Number(process.env.BENCH_BATCH ?? 500)
/** BENCH_WORKER_PROFILE=<dir> writes a CPU profile of the worker process there. */
const profileArgs = process.env.BENCH_WORKER_PROFILE !== undefined
  ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_WORKER_PROFILE}`]
  : []

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** What the benchmark uses of the SDK's `WorkflowRunRef`. */
interface RunRef {
  readonly output: Promise<unknown>
  readonly getWorkflowRunId: () => Promise<string>
}

const program = Effect.gen(function*() {
  const engine = yield* Engine
  const core = yield* EngineCore
  const hatchet = Official.client(engine)
  const task = hatchet.task({ name: "bench-noop", fn: async () => ({}) })
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [
        ...profileArgs,
        "--import",
        tsx,
        "--conditions=@effect-hatchet/source",
        fileURLToPath(new URL("./worker.ts", import.meta.url))
      ], {
        stdio: "inherit",
        env: { ...process.env, ...engine.env, BENCH_SLOTS: String(slots) }
      })
    ),
    (c) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          c.once("exit", () => resolve())
          c.kill("SIGTERM")
        })
      )
  )
  // wait for the worker's first heartbeat, so it is schedulable
  yield* Effect.promise(async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error("the benchmark worker exited")
      const w = [...core.state.workersById.values()][0]
      if (w?.lastHeartbeatAt !== undefined && w.isActive) return
      await new Promise((r) => setTimeout(r, 20))
    }
  })

  // warm-up
  yield* Effect.promise(() => task.run(Array.from({ length: 200 }, () => ({}))))

  const started = performance.now()
  const refs: Array<RunRef> = []
  for (let offset = 0; offset < total; offset += batch) {
    const size = Math.min(batch, total - offset)
    const inputs = Array.from({ length: size }, () => ({}))
    for (const ref of yield* Effect.promise(() => task.runNoWait(inputs) as unknown as Promise<Array<RunRef>>)) refs.push(ref)
  }
  const triggered = performance.now()
  yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
  const finished = performance.now()

  /** Run created to START sent, per run, sorted. */
  const dispatchLatencies = (runs: ReadonlyArray<RunRef>) =>
    Effect.promise(async () => {
      const latencies: Array<number> = []
      for (const id of await Promise.all(runs.map((ref) => ref.getWorkflowRunId()))) {
        const t = core.state.tasksByExternalId.get(id)
        const sent = (t === undefined ? undefined : eventsOf(t))?.find((e) => e.eventType === "SENT_TO_WORKER")
        if (t !== undefined && sent !== undefined) latencies.push(sent.timestamp - t.createdAt)
      }
      return latencies.sort((a, b) => a - b)
    })
  const latencies = yield* dispatchLatencies(refs)
  const seconds = (finished - started) / 1000

  // steady load: half the measured throughput, in ticks of 50 ms, for 5 s
  const perTick = Math.max(1, Math.round((total / seconds) / 2 / 20))
  const steadyRefs: Array<RunRef> = []
  for (let tick = 0; tick < 100; tick++) {
    const due = performance.now() + 50
    const inputs = Array.from({ length: perTick }, () => ({}))
    for (const ref of yield* Effect.promise(() => task.runNoWait(inputs) as unknown as Promise<Array<RunRef>>)) steadyRefs.push(ref)
    yield* Effect.sleep(Math.max(0, due - performance.now()))
  }
  yield* Effect.promise(() => Promise.all(steadyRefs.map((ref) => ref.output)))
  const steady = yield* dispatchLatencies(steadyRefs)
  // one run at a time: dispatch latency without a backlog, and the client's round trip
  const idle: Array<number> = []
  const roundTrips: Array<number> = []
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now()
    const ref = (yield* Effect.promise(() => task.runNoWait({}))) as unknown as RunRef
    yield* Effect.promise(() => ref.output)
    roundTrips.push(performance.now() - t0)
    const t = core.state.tasksByExternalId.get(yield* Effect.promise(() => ref.getWorkflowRunId()))
    const sent = (t === undefined ? undefined : eventsOf(t))?.find((e) => e.eventType === "SENT_TO_WORKER")
    if (t !== undefined && sent !== undefined) idle.push(sent.timestamp - t.createdAt)
  }
  idle.sort((a, b) => a - b)
  roundTrips.sort((a, b) => a - b)
  console.log(JSON.stringify(
    {
      tasks: total,
      slots,
      batch,
      triggerSeconds: Number(((triggered - started) / 1000).toFixed(2)),
      totalSeconds: Number(seconds.toFixed(2)),
      tasksPerSecond: Math.round(total / seconds),
      dispatchLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      steadyTasksPerSecond: perTick * 20,
      steadyDispatchLatencyMs: { p50: percentile(steady, 50), p99: percentile(steady, 99), max: steady.at(-1) },
      idleDispatchLatencyMs: { p50: percentile(idle, 50), p99: percentile(idle, 99) },
      idleRoundTripMs: { p50: Math.round(percentile(roundTrips, 50)), p99: Math.round(percentile(roundTrips, 99)) }
    },
    null,
    2
  ))
})

Effect.runPromise(program.pipe(Effect.provide(InternalEngine.layer()), Effect.scoped)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
