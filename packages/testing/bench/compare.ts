/**
 * `pnpm bench`: the same N no-op tasks through the official SDK's worker (@hatchet-dev/typescript-sdk)
 * and through ours, one after the other, each on a fresh local engine, with the same slots, trigger
 * method and warm-up. The engine runs in this process; each worker runs in a child process of its own.
 * `pnpm bench` (scripts/bench.mjs) runs this process and the workers compiled to JavaScript on
 * plain Node, as a user's build runs them (BENCH_TSX=1: through tsx, from the TypeScript).
 *
 * Per worker: start it and wait until the engine sees it; warm up (BENCH_WARMUP runs); then trigger
 * BENCH_TASKS runs with `BulkTriggerWorkflow` (BENCH_BATCH per call, over gRPC) and time from the
 * first trigger call to the last task's completion as the engine recorded it. Every measured run
 * must end COMPLETED on that worker. The worker reports its memory, CPU time and metrics over IPC
 * before and after. Then runs triggered at a steady half of the measured tasks per second for
 * BENCH_STEADY_SECONDS (10), every BENCH_STEADY_TICK_MS (10) those due by then, each read as it
 * finishes (./finishedRuns.ts), give the engine's dispatch latency (run created → START sent)
 * without a backlog: its p99 over the phase, and the p99 of each 9,000 of its runs in a row
 * (./phaseLength.ts: the phase's length in earlier benches, which read its runs at its end),
 * printed next to the old measure (the same rate for 3 s in bursts every 50 ms). Then a latency
 * probe runs BENCH_PROBE runs one at a time (no queueing), and the worker is stopped. The probe's figures are read on this process's monotonic clock
 * (`performance.now()`, sub-millisecond): START handed to the worker's stream → result recorded
 * (the engine round trip), and trigger call → result recorded; each run's finish is observed as the
 * engine records it (a run subscriber in this process), not polled, and the next run starts 1 ms
 * later. The engine's own clock (whole milliseconds) gives the same round trip as before, printed
 * next to it. The bench ends with the p50 and p99 ratios (ours / official) of these probes.
 *
 * Each phase's probe meets the machine at a different minute, so a slow stretch of the machine can
 * fall on one worker only. After the phases, the interleaved probe (`interleavedProbe`) starts both
 * workers again, each on a fresh engine of its own in this process (the workflow `bench-noop` on
 * each; both engines share this process's heap and CPUs), brings each as far as its phase's
 * worker came before its probe (the warm-up, then BENCH_TASKS runs in bulk unless BENCH_PROBE_ONLY),
 * and then runs BENCH_INTERLEAVED lone runs per worker (default BENCH_PROBE; 0 skips it),
 * alternating between the workers in A B B A order, each run timed as the phases' probe times it
 * (the same code) with the same 1 ms gap after it. Each worker's runs then come half as often as
 * in its phase's probe, so its figures are to be set against the other worker's in the same probe,
 * not against the phases'. It prints both workers' figures and ends the output with the
 * `interleaved single-run` p50 and p99 ratios. It runs with BENCH_PROBE_ONLY too, and not when
 * BENCH_ORDER leaves a worker out or with BENCH_*_ATTRIBUTE's traced workers.
 *
 * Options (environment): BENCH_TASKS (default 10000), BENCH_SLOTS (100; e.g. 500 to see what many
 * slots do to throughput and round trip), BENCH_BATCH (500),
 * BENCH_WARMUP (1000), BENCH_PROBE (3000), BENCH_ORDER ("official,ours"; either may be left out),
 * BENCH_PROFILE=<dir> (CPU profiles over each phase's measured runs only, of the worker process,
 * `worker-<kind>.cpuprofile`, and of this process, the engine's, `engine-<kind>.cpuprofile`; and over
 * the single-run probe, `worker-<kind>-probe.cpuprofile` and `engine-<kind>-probe.cpuprofile`),
 * BENCH_DIST=1 (our worker loads the packages' built `dist` (`pnpm build` first) instead of their
 * sources compiled in), BENCH_COMPRESSION (our worker's `grpcCompression`; by default none,
 * the engine being on loopback: `gzip` to see what gzip of the event batches costs both processes)
 * and BENCH_COMPRESSION_MIN_BYTES (its `grpcCompressionMinBytes`). `pnpm bench:trace`
 * (./trace/run.ts) times one run's path message by message.
 *
 * BENCH_ENGINE_HEAP_PROFILE=<file> samples this process's heap over the steady phase at half throughput
 * and over the single-run probe (`heapSampled`).
 *
 * BENCH_PROBE_ONLY=1 runs only the warm-up and the single-run probe of each worker (and prints only
 * those rows). BENCH_PROBE_ATTRIBUTE=1 tells where the probe's slow runs (over BENCH_PROBE_SLOW_MS,
 * 4 ms) lose their time, counted by cause (`runs`: each run too; ./probeAttribution.ts): the worker
 * then runs as bench:trace's traced worker, and both processes record their collections and
 * event-loop gaps, so its figures are not the bench's. BENCH_STEADY_ATTRIBUTE=1 does the same for
 * the runs of the steady phase that waited BENCH_STEADY_SLOW_MS (5 ms) or more for a slot (`runs`:
 * every episode of overlapping waits, with the CPU and messages in it; ./probeAttribution.ts).
 * BENCH_RETENTION_PROBE=1 prints how long the engine's retention sweeps (or their slices) held its
 * loop during the steady phase (./retentionProbe.ts).
 */
import { Admin } from "@effect-hatchet/sdk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as inspector from "node:inspector/promises"
import * as os from "node:os"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Engine } from "../../engine/src/Engine.js"
import { EngineCore, type EngineCoreService } from "../../engine/src/internal/core.js"
import * as InternalEngine from "../../engine/src/internal/engine.js"
import { clientLayer } from "../src/internal/hatchetTest.js"
import { askChild, spawnChild } from "./child.js"
import { completedTimes, FinishedRuns, type TaskTimes } from "./finishedRuns.js"
import { startHeapSampling } from "./heapSampling.js"
import { phaseRunCap, phaseSeconds } from "./phaseLength.js"
import {
  attributeMode,
  printAttribution,
  printSteadyAttribution,
  type ProbeAttribution,
  probeAttribution,
  steadyAttributeMode,
  type SteadyAttribution,
  steadyAttribution
} from "./probeAttribution.js"
import type { MetricValue, WorkerReport } from "./report.js"
import { retentionLine, retentionProbeOn, watchRetention } from "./retentionProbe.js"
import { observeRuns } from "./runObserver.js"
import { lastAtOrBefore } from "./sorted.js"
import { hrMs, machineMs, processRunMs, schedstat } from "./timeline.js"

const total = Number(process.env.BENCH_TASKS ?? 10_000)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
const batch = Number(process.env.BENCH_BATCH ?? 500)
const warmup = Number(process.env.BENCH_WARMUP ?? 1000)
const probe = Number(process.env.BENCH_PROBE ?? 3000)
const order = (process.env.BENCH_ORDER ?? "official,ours").split(",").map((s) => s.trim()) as Array<Kind>
const profileDir = process.env.BENCH_PROFILE
const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 10)
/** How long the old measure's 50 ms bursts go on (at most `phaseRunCap` runs). */
const burstSeconds = 3
/** BENCH_WORKER_NODE_ARGS: node (V8) flags of the worker processes, e.g. "--trace-gc --trace-gc-nvp". */
const workerNodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
/** BENCH_PROBE_ONLY=1: only the warm-up and the single-run probe. */
const probeOnly = process.env.BENCH_PROBE_ONLY === "1"
/** BENCH_INTERLEAVED: lone runs per worker of the interleaved probe (default BENCH_PROBE; 0: none). */
const interleavedRuns = Number(process.env.BENCH_INTERLEAVED ?? probe)

type Kind = "official" | "ours"

const workerScripts: Record<Kind, URL> = {
  official: new URL("./official-worker.ts", import.meta.url),
  ours: new URL("./effect-worker.ts", import.meta.url)
}
const labels: Record<Kind, string> = {
  official: "official SDK 1.33.2",
  ours: "effect-hatchet"
}

/** One worker's single-run probe, sequential (its phase's) or interleaved. */
interface ProbeFigures {
  readonly kind: Kind
  /** Engine clock: START sent to the worker → result recorded, for runs triggered one at a time. */
  readonly probeRoundTrip: Quantiles
  /** The probe on this process's monotonic clock (ms, fractional): START sent → result recorded, trigger → result recorded. */
  readonly probeHiRes: LoneRunTimes
  /** CPU time per probe run (ms) of the worker's process and of this one (engine, trigger client). */
  readonly probeCpuPerRun: { readonly worker: number; readonly engine: number }
}

/** One worker's figures; `measured` is absent with BENCH_PROBE_ONLY. */
interface PhaseResult extends ProbeFigures {
  readonly measured: Measured | undefined
  /** Our overhead histogram over the probe. */
  readonly probeOverhead: Histogram | undefined
  /** With BENCH_PROBE_ATTRIBUTE: where the probe's slow runs lost their time. */
  readonly attribution: ProbeAttribution | undefined
  /** After the probe. */
  readonly report: WorkerReport
}

/** The measured runs and the runs at half throughput. */
interface Measured {
  readonly seconds: number
  readonly tasksPerSecond: number
  /** Engine clock: START sent to the worker → result recorded, per task (ms). */
  readonly roundTrip: Quantiles
  /** Runs triggered at a steady half of `tasksPerSecond`: that rate, and run created → START sent (ms). */
  readonly steadyRate: number
  readonly steadyDispatch: Dispatch
  /** The dispatch p99 of each `phaseRunCap` runs of the phase in a row (as long as the phase of earlier benches). */
  readonly steadyWindowP99s: ReadonlyArray<number>
  /** The engine round trip (START sent → result recorded) of those runs. */
  readonly steadyRoundTrip: Quantiles
  /** The machine over the steady phase (ms): what its two processes and the rest used, and how long each main thread waited for a CPU. */
  readonly steadyMachine: PhaseMachine
  /** With BENCH_STEADY_ATTRIBUTE: where the steady phase's waiting runs lost their time. */
  readonly steadyAttribution: SteadyAttribution | undefined
  /** The same in 50 ms bursts (the old measure, `triggerInBursts`). */
  readonly burstRate: number
  readonly burstDispatch: Dispatch
  readonly burstRoundTrip: Quantiles
  /** The worker process's CPU time per measured task, in ms. */
  readonly cpuPerTask: { readonly user: number; readonly system: number }
  /** This process's (engine, trigger client, polling) CPU time per measured task, in ms. */
  readonly engineCpuPerTask: number
  /** After the measured runs. */
  readonly report: WorkerReport
  /** Our overhead histogram over the measured runs. */
  readonly overhead: Histogram | undefined
}

/** The machine over a phase (ms of CPU): the engine's and worker's processes, everything else, idle; each main thread's wait for a CPU. */
interface PhaseMachine {
  readonly oursMs: number
  readonly othersMs: number
  readonly idleMs: number
  readonly engineWaitMs: number
  readonly workerWaitMs: number
  /** Each main thread's time on a CPU, and the phase's wall time. */
  readonly engineRunMs: number
  readonly workerRunMs: number
  readonly wallMs: number
}

/** Reads the machine now; the function returned gives what happened since (`PhaseMachine`). */
const machineSince = (child: ChildProcess) => {
  const read = () => ({
    at: performance.now(),
    machine: machineMs(),
    ours: processRunMs("self") + processRunMs(child.pid!),
    engine: schedstat("self"),
    worker: schedstat(child.pid!)
  })
  const before = read()
  return (): PhaseMachine => {
    const after = read()
    const ours = after.ours - before.ours
    return {
      oursMs: ours,
      othersMs: Math.max(0, after.machine.busyMs - before.machine.busyMs - ours),
      idleMs: after.machine.idleMs - before.machine.idleMs,
      engineWaitMs: after.engine.waitMs - before.engine.waitMs,
      workerWaitMs: after.worker.waitMs - before.worker.waitMs,
      engineRunMs: after.engine.runMs - before.engine.runMs,
      workerRunMs: after.worker.runMs - before.worker.runMs,
      wallMs: after.at - before.at
    }
  }
}

interface Quantiles {
  readonly p50: number
  readonly p99: number
}

type Histogram = Extract<MetricValue, { _tag: "Histogram" }>

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** A quantile read from cumulative histogram buckets, interpolated inside its bucket. */
const histogramQuantile = (h: Histogram, q: number): number => {
  const rank = q * h.count
  let lower = 0
  let below = 0
  for (const [bound, cumulative] of h.buckets) {
    if (cumulative >= rank && cumulative > below) {
      const upper = Number.isFinite(bound) ? Math.min(bound, h.max) : h.max
      const from = Math.max(lower, h.min)
      return from + ((upper - from) * (rank - below)) / (cumulative - below)
    }
    if (Number.isFinite(bound)) lower = bound
    below = cumulative
  }
  return h.max
}

/** What a histogram recorded between two reports (min and max are the later report's). */
const histogramDelta = (name: string, from: WorkerReport, to: WorkerReport): Histogram | undefined => {
  const a = from.metrics[name]
  const b = to.metrics[name]
  if (b?._tag !== "Histogram") return undefined
  if (a?._tag !== "Histogram") return b
  return {
    ...b,
    buckets: b.buckets.map(([bound, n], i) => [bound, n - (a.buckets[i]?.[1] ?? 0)] as const),
    count: b.count - a.count,
    sum: b.sum - a.sum
  }
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(" / ")

// ---------------------------------------------------------------------------------------------
// one worker
// ---------------------------------------------------------------------------------------------

/** Either attribution runs the traced worker and marks this process's messages. */
const traced = attributeMode !== undefined || steadyAttributeMode !== undefined

/** A worker's environment: its slots; only ours reads its Effect metrics (./report.ts). */
const workerEnv = (kind: Kind) => ({ BENCH_SLOTS: String(slots), BENCH_REPORT_METRICS: kind === "ours" ? "1" : "0" })

const spawnWorker = (kind: Kind, env: Record<string, string>) =>
  !traced
    ? spawnChild(workerScripts[kind], { ...env, ...workerEnv(kind) }, workerNodeArgs, {
      source: process.env.BENCH_DIST !== "1"
    })
    : spawnChild(
      new URL("./trace/worker.ts", import.meta.url),
      {
        ...env,
        ...workerEnv(kind),
        TRACE_KIND: kind,
        TRACE_GAPS: "1"
      },
      workerNodeArgs,
      { source: process.env.BENCH_DIST !== "1" }
    )

/** Asks the worker process (./report.ts) to start or stop its CPU profiler; waits for its answer. */
const workerProfiler = (child: ChildProcess, message: { readonly profile: "start" | "stop"; readonly file?: string }) =>
  askChild(child, message, (answer) => (answer as { profiled?: string }).profiled === message.profile ? true : undefined).pipe(
    Effect.asVoid,
    Effect.timeout("30 seconds")
  )

/**
 * Profiles this process (the engine and the trigger client) and the worker's while `effect` runs,
 * with BENCH_PROFILE: `engine-<name>.cpuprofile` and `worker-<name>.cpuprofile`.
 */
const profiled = <A, E, R>(name: string, child: ChildProcess, effect: Effect.Effect<A, E, R>) =>
  profileDir === undefined ? effect : Effect.acquireUseRelease(
    Effect.zipRight(
      workerProfiler(child, { profile: "start" }),
      Effect.promise(async () => {
        const session = new inspector.Session()
        session.connect()
        await session.post("Profiler.enable")
        await session.post("Profiler.start")
        return session
      })
    ),
    () => effect,
    (session) =>
      Effect.promise(async () => {
        const { profile } = await session.post("Profiler.stop")
        fs.mkdirSync(profileDir, { recursive: true })
        fs.writeFileSync(`${profileDir}/engine-${name}.cpuprofile`, JSON.stringify(profile))
        session.disconnect()
      }).pipe(
        Effect.zipRight(workerProfiler(child, { profile: "stop", file: `${profileDir}/worker-${name}.cpuprofile` })),
        Effect.orDie
      )
  )

/**
 * With BENCH_ENGINE_HEAP_PROFILE=<file>, V8's sampling heap profiler (./heapSampling.ts) samples
 * this process (the engine, the trigger client and the phase's own bookkeeping) while `effect`
 * runs and writes `<file>-<name>.heapprofile`, as BENCH_HEAP_PROFILE does for the worker.
 */
const heapSampled = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) => {
  const file = process.env.BENCH_ENGINE_HEAP_PROFILE
  return file === undefined ? effect : Effect.acquireUseRelease(
    Effect.promise(() => startHeapSampling()),
    () => effect,
    (stop) => Effect.promise(() => stop(`${file}-${name}.heapprofile`))
  )
}

const askReport = (child: ChildProcess) =>
  askChild(child, "report", (message) => (message as { report?: WorkerReport }).report).pipe(Effect.timeout("30 seconds"))

/** The id of the worker registered after `since` that is active and heartbeating. */
const awaitWorker = (core: EngineCoreService, child: ChildProcess, since: number) =>
  Effect.suspend(() => {
    if (child.exitCode !== null) return Effect.dieMessage("the benchmark worker exited")
    for (const w of core.state.workersById.values()) {
      if (w.createdAt >= since && w.isActive && w.lastHeartbeatAt !== undefined) return Effect.succeed(w.id)
    }
    return Effect.fail("not yet" as const)
  }).pipe(Effect.retry(Schedule.spaced("20 millis")), Effect.timeout("60 seconds"))

/** Triggers `count` no-op runs in bulk calls of `batch`; returns their ids. */
const triggerRuns = (count: number) =>
  Effect.gen(function*() {
    const admin = yield* Admin.Admin
    const ids: Array<string> = []
    for (let offset = 0; offset < count; offset += batch) {
      const size = Math.min(batch, count - offset)
      const requests = Array.from({ length: size }, () => ({ name: "bench-noop", input: "{}", desiredWorkerLabels: {} }))
      for (const id of yield* admin.bulkTriggerWorkflow(requests)) ids.push(id)
    }
    return ids
  })

/**
 * Polls `done` every `poll` until it holds; dies after 10 minutes, saying how many runs (`left`)
 * had not finished.
 */
const pollUntil = (done: () => boolean, left: () => number, poll: Duration.DurationInput = "10 millis") =>
  Effect.gen(function*() {
    const deadline = Date.now() + 600_000
    while (!done()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`${left()} runs did not finish in 10 minutes`)
      yield* Effect.sleep(poll)
    }
  })

/**
 * Waits until every run has finished; returns the latest finish time (engine clock, ms). Each poll
 * reads on from the first run not seen finished and stops at the next unfinished one (runs finish
 * about in trigger order), so the polling costs this process (whose CPU time is the engine's
 * figure) next to nothing; a full pass at the end checks them all.
 */
const awaitRuns = (core: EngineCoreService, ids: ReadonlyArray<string>, poll: Duration.DurationInput = "10 millis") =>
  Effect.gen(function*() {
    const finishedAt = (id: string) => core.state.runsById.get(id)?.finishedAt
    let next = 0
    const allFinished = () => {
      while (next < ids.length && finishedAt(ids[next]!) !== undefined) next++
      if (next < ids.length) return false
      const unfinished = ids.findIndex((id) => finishedAt(id) === undefined)
      if (unfinished === -1) return true
      next = unfinished
      return false
    }
    yield* pollUntil(allFinished, () => ids.length - next, poll)
    let last = 0
    for (const id of ids) last = Math.max(last, finishedAt(id)!)
    return last
  })

/** Dispatch of a set of runs: all of them, and the engine's own part for those that waited. */
interface Dispatch extends Quantiles {
  /** How many runs waited for a slot (START not sent at their creation). */
  readonly waited: number
  /**
   * The runs that waited: their START sent → the last result recorded before it, whose operation
   * freed the slot (0 when that operation sent the START); the worst of them (engine clock, ms).
   */
  readonly afterSlotFreedMax: number
}

/** Each task of `ids` (engine clock); every one must have COMPLETED on `workerId`. */
const taskTimes = (core: EngineCoreService, ids: ReadonlyArray<string>, workerId: string): Array<TaskTimes> => {
  const times: Array<TaskTimes> = []
  for (const id of ids) {
    for (const task of core.state.runsById.get(id)!.tasks.values()) times.push(completedTimes(id, task, workerId))
  }
  return times
}

/** Run created → START sent to the worker (engine clock), per task of a phase. */
const dispatchLatency = (tasks: ReadonlyArray<TaskTimes>): Dispatch => {
  const latencies: Array<number> = []
  const waitedSentAt: Array<number> = []
  for (const { created, sent } of tasks) {
    latencies.push(sent - created)
    if (sent > created) waitedSentAt.push(sent)
  }
  latencies.sort((a, b) => a - b)
  // the phase's results (each freed a slot), in time order: the runs before it had all finished
  const results = tasks.map((t) => t.recorded).sort((a, b) => a - b)
  let afterSlotFreedMax = 0
  for (const sentAt of waitedSentAt) {
    const freed = lastAtOrBefore(results, sentAt)
    if (freed !== undefined) afterSlotFreedMax = Math.max(afterSlotFreedMax, sentAt - freed)
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), waited: waitedSentAt.length, afterSlotFreedMax }
}

/** The dispatch p99 of each `size` tasks in a row (their runs' trigger order), in order. */
const windowP99s = (tasks: ReadonlyArray<TaskTimes>, size: number): Array<number> => {
  const p99s: Array<number> = []
  for (let from = 0; from + size <= tasks.length; from += size) {
    const latencies = tasks.slice(from, from + size).map((t) => t.sent - t.created).sort((a, b) => a - b)
    p99s.push(percentile(latencies, 99))
  }
  return p99s
}

/** How many of `p99s` passed 10 ms, of how many. */
const overTenMs = (p99s: ReadonlyArray<number>) => `${p99s.filter((p99) => p99 > 10).length} of ${p99s.length}`

/** Each task's wait for dispatch (run created → START sent) on `hrMs`'s clock (from the engine's whole ms). */
const dispatchWaits = (tasks: ReadonlyArray<TaskTimes>) => {
  const offset = hrMs() - Date.now()
  return tasks.map(({ created, sent }) => ({ start: created + offset, end: sent + offset }))
}

/** The engine's round trips (last START sent → result recorded), per task. */
const roundTrips = (tasks: ReadonlyArray<TaskTimes>): Quantiles => {
  const trips = tasks.map((t) => t.recorded - t.lastSent).sort((a, b) => a - b)
  return { p50: percentile(trips, 50), p99: percentile(trips, 99) }
}

/**
 * The old measure: triggers runs at `rate` a second for `seconds` in bursts of `rate / 20` every
 * 50 ms (the next burst 50 ms after this one's trigger call), waits for them all; returns their
 * ids. At half of a throughput near 4,000 tasks a second a burst is as large as the worker's 100
 * slots and keeps the worker at full speed for about half the tick: a stall that holds a burst's
 * results past the next tick makes the whole next burst wait, and one such tick (100 runs of 6,000)
 * sets the p99 (above 4,000 a second, part of every burst waits).
 */
const triggerInBursts = (core: EngineCoreService, rate: number, seconds: number) =>
  Effect.gen(function*() {
    const perTick = Math.max(1, Math.round(rate / 20))
    const ids: Array<string> = []
    for (let tick = 0; tick < seconds * 20; tick++) {
      const due = Date.now() + 50
      for (const id of yield* triggerRuns(perTick)) ids.push(id)
      yield* Effect.sleep(Math.max(0, due - Date.now()))
    }
    yield* awaitRuns(core, ids)
    return { rate: perTick * 20, ids }
  })

/** How often `triggerSteadily` triggers (BENCH_STEADY_TICK_MS, 10 ms). */
const steadyTickMs = Number(process.env.BENCH_STEADY_TICK_MS ?? 10)

/**
 * Triggers runs at a steady `rate` a second for `seconds`: every `steadyTickMs` (10 ms), in one
 * bulk call, the runs due by then (`rate × elapsed`, so a late tick catches up and the rate
 * holds), as many clients triggering independently would. `runs` reads them as they finish (each
 * tick, then until the last one has): a phase at half throughput makes more runs than the engine
 * keeps. `onTrigger` is told each call's size as it is made.
 */
const triggerSteadily = (
  rate: number,
  seconds: number,
  runs: FinishedRuns,
  onTrigger?: (runs: number) => void
) =>
  Effect.gen(function*() {
    const total = Math.round(rate * seconds)
    let triggered = 0
    const start = performance.now()
    for (let tick = 1; triggered < total; tick++) {
      const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000) + 1)
      if (due > triggered) {
        onTrigger?.(due - triggered)
        runs.add(yield* triggerRuns(due - triggered))
        triggered = due
      }
      runs.read()
      yield* Effect.sleep(Math.max(0, start + tick * steadyTickMs - performance.now()))
    }
    yield* pollUntil(() => {
      runs.read()
      return runs.unread === 0
    }, () => runs.unread)
    return { rate: Math.round(rate) }
  })

/** Every run COMPLETED on `workerId`; the engine's per-task round trips (START sent → finished). */
const checkRuns = (core: EngineCoreService, ids: ReadonlyArray<string>, workerId: string): Quantiles =>
  roundTrips(taskTimes(core, ids, workerId))

/** The measured runs (BENCH_TASKS in bulk) and the runs at half of their throughput. */
const measure = (kind: Kind, core: EngineCoreService, child: ChildProcess, workerId: string) =>
  Effect.gen(function*() {
    const before = yield* askReport(child)
    const engineCpu = process.cpuUsage()
    const started = Date.now()
    const { finished, ids } = yield* profiled(
      kind,
      child,
      Effect.gen(function*() {
        const ids = yield* triggerRuns(total)
        return { ids, finished: yield* awaitRuns(core, ids) }
      })
    )
    const seconds = (finished - started) / 1000
    const engineCpuUsed = process.cpuUsage(engineCpu)
    const roundTrip = checkRuns(core, ids, workerId)
    const report = yield* askReport(child)
    const cpuPerTask = {
      user: (report.cpuUserMicros - before.cpuUserMicros) / 1000 / total,
      system: (report.cpuSystemMicros - before.cpuSystemMicros) / 1000 / total
    }

    // dispatch latency at half the throughput just measured: the old measure in 50 ms bursts (3 s,
    // read at its end, so at most `phaseRunCap` runs), then the steady phase (BENCH_STEADY_SECONDS,
    // 10 s by default, its runs read as they finish)
    const halfRate = total / seconds / 2
    const burstPhase = phaseSeconds(halfRate, burstSeconds)
    if (burstPhase < burstSeconds) console.log(`${kind}: the 50 ms bursts last ${burstPhase.toFixed(2)} s (${phaseRunCap} runs)`)
    const bursts = yield* triggerInBursts(core, halfRate, burstPhase)
    const burstTasks = taskTimes(core, bursts.ids, workerId)
    const burstDispatch = dispatchLatency(burstTasks)
    const burstRoundTrip = roundTrips(burstTasks)
    const slotsInUse = () => core.state.workersById.get(workerId)?.slotsUsed.get("default") ?? 0
    const attributing = steadyAttributeMode === undefined ? undefined : steadyAttribution(child, slotsInUse)
    if (attributing !== undefined) yield* attributing.start
    const retention = retentionProbeOn ? watchRetention(core.state) : undefined
    const steadyMachine = machineSince(child)
    const steadyRuns = new FinishedRuns(core, workerId)
    const steady = yield* heapSampled(
      `${kind}-steady`,
      triggerSteadily(
        halfRate,
        steadySeconds,
        steadyRuns,
        attributing === undefined ? undefined : (runs) => attributing.triggered(runs, slots - slotsInUse())
      )
    )
    const steadyMachineUsed = steadyMachine()
    if (retention !== undefined) console.log(`${kind}, half throughput, retention: ${retentionLine(retention.take())}`)
    const steadyTasks = steadyRuns.tasks.toArray()
    const steadyAttributed = attributing === undefined ? undefined : yield* attributing.finish(dispatchWaits(steadyTasks))
    const steadyDispatch = dispatchLatency(steadyTasks)
    const steadyWindowP99s = windowP99s(steadyTasks, phaseRunCap)
    const steadyRoundTrip = roundTrips(steadyTasks)
    return {
      seconds,
      tasksPerSecond: total / seconds,
      roundTrip,
      steadyRate: steady.rate,
      steadyDispatch,
      steadyWindowP99s,
      steadyRoundTrip,
      steadyMachine: steadyMachineUsed,
      steadyAttribution: steadyAttributed,
      burstRate: bursts.rate,
      burstDispatch,
      burstRoundTrip,
      cpuPerTask,
      engineCpuPerTask: (engineCpuUsed.user + engineCpuUsed.system) / 1000 / total,
      report,
      overhead: histogramDelta("hatchet_worker_task_overhead", before, report)
    } satisfies Measured
  })

/**
 * A full garbage collection of this process (the engine's and the trigger client's): V8's `gc`
 * exposed for the call, as `--expose-gc` would.
 */
const collectGarbage = () => {
  v8.setFlagsFromString("--expose-gc")
  ;(vm.runInNewContext("gc") as () => void)()
}

const phase = (kind: Kind) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* Engine
    const core = yield* EngineCore
    const since = Date.now()
    const child = yield* spawnWorker(kind, engine.env)
    const workerId = yield* awaitWorker(core, child, since)

    yield* awaitRuns(core, yield* triggerRuns(warmup))

    const measured = probeOnly ? undefined : yield* measure(kind, core, child, workerId)
    const beforeProbe = yield* askReport(child)

    // latency with nothing queued: one run at a time
    const engineCpu = process.cpuUsage()
    const { attribution, hiRes: probeHiRes, ids: probeIds } = yield* profiled(
      `${kind}-probe`,
      child,
      heapSampled(`${kind}-probe`, probeOneAtATime(core, child, workerId))
    )
    const engineCpuUsed = process.cpuUsage(engineCpu)
    const afterProbe = yield* askReport(child)
    return {
      kind,
      measured,
      probeRoundTrip: checkRuns(core, probeIds, workerId),
      probeHiRes,
      probeOverhead: histogramDelta("hatchet_worker_task_overhead", beforeProbe, afterProbe),
      probeCpuPerRun: {
        worker: (afterProbe.cpuUserMicros + afterProbe.cpuSystemMicros - beforeProbe.cpuUserMicros - beforeProbe.cpuSystemMicros) /
          1000 / probe,
        engine: (engineCpuUsed.user + engineCpuUsed.system) / 1000 / probe
      },
      attribution,
      report: afterProbe
    } satisfies PhaseResult
  }))

/** A probe's lone runs on this process's monotonic clock (ms, fractional). */
interface LoneRunTimes {
  /** START handed to the worker's stream → result recorded. */
  readonly roundTrip: Quantiles
  /** Trigger call → result recorded. */
  readonly fromTrigger: Quantiles
  /** Runs whose START was not sent during their trigger (none expected). */
  readonly late: number
}

/**
 * Lone runs of one worker, for the single-run probes (sequential and interleaved): `run` triggers
 * one run (with the trigger client of `core`'s engine, captured here), waits until its result is
 * recorded and then 1 ms more, and times it on this process's monotonic clock (./runObserver.ts):
 * the trigger call, the worker's START handed to its stream, the result recorded. `start` before
 * the first run, `finish` after the last gives the runs' ids and times. With `attribute` (the
 * sequential probe) BENCH_PROBE_ATTRIBUTE tells where the slow runs lost their time.
 */
const loneRuns = (core: EngineCoreService, child: ChildProcess, workerId: string, attribute: boolean) =>
  Effect.gen(function*() {
    const admin = yield* Admin.Admin
    const attributing = !attribute || attributeMode === undefined ? undefined : probeAttribution(child)
    const observer = observeRuns(core, workerId, attributing?.hooks)
    const ids: Array<string> = []
    const roundTrips: Array<number> = []
    const fromTrigger: Array<number> = []
    let late = 0
    const quantiles = (xs: Array<number>): Quantiles => {
      xs.sort((a, b) => a - b)
      return { p50: percentile(xs, 50), p99: percentile(xs, 99) }
    }
    return {
      start: Effect.zipRight(
        attributing?.start ?? Effect.void,
        Effect.sync(() => observer.setActive(true))
      ),
      run: Effect.gen(function*() {
        attributing?.runStarted()
        const triggeredAt = performance.now()
        const [id] = yield* Effect.provideService(triggerRuns(1), Admin.Admin, admin)
        const recorded = yield* observer.recorded(id!)
        attributing?.runEnded()
        if (recorded.late) late++
        ids.push(id!)
        fromTrigger.push(recorded.at - triggeredAt)
        roundTrips.push(recorded.at - (observer.sentAt(id!) ?? Number.NaN))
        yield* Effect.sleep("1 millis")
      }),
      finish: Effect.gen(function*() {
        observer.setActive(false)
        const attribution = attributing === undefined ? undefined : yield* attributing.finish
        const hiRes: LoneRunTimes = { roundTrip: quantiles(roundTrips), fromTrigger: quantiles(fromTrigger), late }
        return { ids, attribution, hiRes }
      })
    }
  })

/**
 * The single-run probe of a worker's phase: `probe` lone runs (`loneRuns`), each triggered 1 ms
 * after the last one's result was recorded.
 */
const probeOneAtATime = (core: EngineCoreService, child: ChildProcess, workerId: string) =>
  Effect.gen(function*() {
    const lone = yield* loneRuns(core, child, workerId, true)
    yield* lone.start
    for (let i = 0; i < probe; i++) yield* lone.run
    return yield* lone.finish
  })

/**
 * The interleaved probe (BENCH_INTERLEAVED runs per worker): both workers alive at once, each on a
 * fresh engine of its own in this process (`PhaseEngine` built twice: each engine serves one
 * worker and holds only its runs, as in the phases, and the workflow stays `bench-noop`), each
 * brought as far as its phase's worker came before its probe; then lone runs (`loneRuns`)
 * alternating between the workers in A B B A order, so that a slow stretch of the machine falls on
 * both alike and neither always follows the other. The engine process's CPU per run is what this
 * process used from a run's trigger to the next run's (its 1 ms gap included), summed per worker;
 * the worker's is its process's over the whole probe (the other worker's turns included) per run.
 */
const interleavedProbe = (kinds: readonly [Kind, Kind]) =>
  Effect.scoped(Effect.gen(function*() {
    const sides = []
    for (const kind of kinds) {
      const context = yield* Layer.build(PhaseEngine)
      const engine = Context.get(context, Engine)
      const core = Context.get(context, EngineCore)
      const since = Date.now()
      const child = yield* spawnWorker(kind, engine.env)
      const workerId = yield* awaitWorker(core, child, since)
      // warmed up as far as its phase's worker was before its probe: the warm-up, then (unless
      // BENCH_PROBE_ONLY) as many runs in bulk as the measured runs (the official worker's CPU
      // per lone run still falls past the warm-up); each set read before the engine's retention
      // of 10,000 finished runs prunes it
      yield* awaitRuns(core, yield* Effect.provide(triggerRuns(warmup), context))
      if (!probeOnly) yield* awaitRuns(core, yield* Effect.provide(triggerRuns(total), context))
      const lone = yield* Effect.provide(loneRuns(core, child, workerId, false), context)
      sides.push({ kind, core, child, workerId, lone, engineMicros: 0 })
    }
    const before = yield* Effect.forEach(sides, (side) => askReport(side.child))
    for (const side of sides) yield* side.lone.start
    for (let i = 0; i < interleavedRuns; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
        const cpu = process.cpuUsage()
        yield* side.lone.run
        const used = process.cpuUsage(cpu)
        side.engineMicros += used.user + used.system
      }
    }
    const after = yield* Effect.forEach(sides, (side) => askReport(side.child))
    return yield* Effect.forEach(sides, (side, i) =>
      Effect.map(side.lone.finish, ({ hiRes, ids }): ProbeFigures => ({
        kind: side.kind,
        probeRoundTrip: checkRuns(side.core, ids, side.workerId),
        probeHiRes: hiRes,
        probeCpuPerRun: {
          worker: (after[i]!.cpuUserMicros + after[i]!.cpuSystemMicros - before[i]!.cpuUserMicros - before[i]!.cpuSystemMicros) /
            1000 / interleavedRuns,
          engine: side.engineMicros / 1000 / interleavedRuns
        }
      })))
  }))

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

const ratio = (a: number, b: number) => (a / b).toFixed(2)

/** The p50 and p99 ratio lines (ours / official) of a single-run probe, hi-res with the engine clock's in parentheses. */
const probeRatios = (name: string, ours: ProbeFigures, official: ProbeFigures) => {
  for (const q of ["p50", "p99"] as const) {
    console.log(
      `${name} ${q} ratio (ours / official): ${ratio(ours.probeHiRes.roundTrip[q], official.probeHiRes.roundTrip[q])} (hi-res; ${
        ratio(ours.probeRoundTrip[q], official.probeRoundTrip[q])
      } on the engine's whole-ms clock)`
    )
  }
}

const hiRes = (q: Quantiles) => `${q.p50.toFixed(2)} / ${q.p99.toFixed(2)} ms`

/** A table row: a label, then one cell per worker. */
const tableRow = <R>(columns: ReadonlyArray<R>, label: string, cell: (r: R) => string) =>
  console.log(`  ${label.padEnd(38)}${columns.map((r) => cell(r).padStart(22)).join("")}`)

/** The probe's rows: engine clock, hi-res, trigger → result, CPU per run. */
const probeRows = (columns: ReadonlyArray<ProbeFigures>, label: string) => {
  const row = (label: string, cell: (r: ProbeFigures) => string) => tableRow(columns, label, cell)
  row(label, (r) => `${r.probeRoundTrip.p50} / ${r.probeRoundTrip.p99} ms`)
  row("    the same, hi-res clock", (r) => hiRes(r.probeHiRes.roundTrip))
  row(
    "    trigger → result recorded, hi-res",
    (r) => `${hiRes(r.probeHiRes.fromTrigger)}${r.probeHiRes.late > 0 ? ` (${r.probeHiRes.late} late)` : ""}`
  )
  row("    CPU per run: worker / engine", (r) => `${r.probeCpuPerRun.worker.toFixed(2)} / ${r.probeCpuPerRun.engine.toFixed(2)} ms`)
}

const print = (results: ReadonlyArray<PhaseResult>, interleaved: ReadonlyArray<ProbeFigures>, loadBefore: string) => {
  const byKind = new Map(results.map((r) => [r.kind, r]))
  const columns = order.filter((k) => byKind.has(k))
  const row = (label: string, cell: (r: PhaseResult) => string) => tableRow(columns.map((k) => byKind.get(k)!), label, cell)
  /** A row of the measured runs' figures (none with BENCH_PROBE_ONLY). */
  const measuredRow = (label: string, cell: (m: Measured) => string) => {
    if (!probeOnly) row(label, (r) => cell(r.measured!))
  }
  console.log("")
  row("", (r) => labels[r.kind])
  measuredRow("tasks per second", (m) => m.tasksPerSecond.toFixed(0))
  measuredRow("first trigger → last completion", (m) => `${m.seconds.toFixed(2)} s`)
  measuredRow("engine round trip p50 / p99", (m) => `${m.roundTrip.p50} / ${m.roundTrip.p99} ms`)
  probeRows(columns.map((k) => byKind.get(k)!), `  one run at a time (${probe} runs)`)
  const waitedCell = (d: Dispatch) => `${d.waited}; at most ${d.afterSlotFreedMax} ms`
  measuredRow("at half throughput: rate", (m) => `${m.steadyRate}/s`)
  measuredRow(`  dispatch p50 / p99 (${steadyTickMs} ms ticks)`, (m) => `${m.steadyDispatch.p50} / ${m.steadyDispatch.p99} ms`)
  measuredRow("    runs that waited; START after a slot", (m) => waitedCell(m.steadyDispatch))
  measuredRow(
    `    p99 of each ${phaseRunCap} runs: worst; over 10 ms`,
    (m) => `${Math.max(0, ...m.steadyWindowP99s)} ms; ${overTenMs(m.steadyWindowP99s)}`
  )
  measuredRow("  engine round trip p50 / p99", (m) => `${m.steadyRoundTrip.p50} / ${m.steadyRoundTrip.p99} ms`)
  measuredRow("  CPU meanwhile: ours / others / idle", (m) => {
    const c = m.steadyMachine
    return `${(c.oursMs / 1000).toFixed(2)} / ${(c.othersMs / 1000).toFixed(2)} / ${(c.idleMs / 1000).toFixed(2)} s`
  })
  measuredRow(
    "    main threads busy: engine / worker",
    (m) =>
      `${(100 * m.steadyMachine.engineRunMs / m.steadyMachine.wallMs).toFixed(0)} / ${
        (100 * m.steadyMachine.workerRunMs / m.steadyMachine.wallMs).toFixed(0)
      } %`
  )
  measuredRow(
    "    waiting for a CPU: engine / worker",
    (m) => `${m.steadyMachine.engineWaitMs.toFixed(0)} / ${m.steadyMachine.workerWaitMs.toFixed(0)} ms`
  )
  measuredRow("  in 50 ms bursts (old): dispatch", (m) => `${m.burstDispatch.p50} / ${m.burstDispatch.p99} ms`)
  measuredRow("    runs that waited; START after a slot", (m) => waitedCell(m.burstDispatch))
  measuredRow("    engine round trip p50 / p99", (m) => `${m.burstRoundTrip.p50} / ${m.burstRoundTrip.p99} ms`)
  measuredRow(
    "worker CPU per task (user + system)",
    (m) =>
      `${(m.cpuPerTask.user + m.cpuPerTask.system).toFixed(2)} (${m.cpuPerTask.user.toFixed(2)} + ${m.cpuPerTask.system.toFixed(2)}) ms`
  )
  measuredRow("engine process CPU per task", (m) => `${m.engineCpuPerTask.toFixed(2)} ms`)
  /** Memory after the measured runs, or after the probe with BENCH_PROBE_ONLY. */
  const memory = (r: PhaseResult) => r.measured?.report ?? r.report
  row("worker RSS", (r) => mib(memory(r).rss))
  row(
    "worker heap used",
    (r) => `${mib(memory(r).heapUsed)} (${memory(r).heapUsedAfterGc === undefined ? "?" : mib(memory(r).heapUsedAfterGc!)})`
  )
  console.log("  (engine round trip: START sent to the worker → result recorded, engine clock, whole milliseconds;")
  console.log("   hi-res: the probe on this process's monotonic clock, START handed to the worker's stream → result")
  console.log("   recorded, and our client's trigger call → result recorded, each run's end observed, not polled;")
  if (!probeOnly) {
    console.log(
      `   half throughput: runs triggered at a steady half of the tasks per second for ${steadySeconds} s, every ${steadyTickMs} ms`
    )
    console.log("   those due by then, read as each finishes; dispatch: run created → START sent, 0 when a slot is free,")
    console.log(`   the trigger's operation assigning the run at once; the p99 of each ${phaseRunCap} runs in a row (the phase's`)
    console.log("   length in earlier benches): the worst, and how many passed 10 ms; the old measure triggered the same")
    console.log(`   rate for ${burstSeconds} s (at most ${phaseRunCap} runs) in bursts every 50 ms, bursts as large as the worker's`)
    console.log("   100 slots at half of 4,000 tasks a second; START after a slot: a run that waited,")
    console.log("   its START sent → the last result recorded before it, which freed the slot, 0 when the same operation;")
    console.log("   CPU meanwhile: over the steady phase, both processes' threads, the rest of the machine (/proc/stat) and")
    console.log("   idle; each main thread's share of the phase on a CPU, and how long it was runnable but waited for one")
    console.log("   (schedstat): a main thread near 100 % queues the runs, others' CPU slows both;")
  }
  console.log(
    probeOnly
      ? `   memory: after ${warmup + probe} tasks (BENCH_PROBE_ONLY); heap after a full GC in parentheses)`
      : `   memory: after ${total + warmup} tasks; heap after a full GC in parentheses)`
  )
  for (const r of results) if (r.attribution !== undefined) printAttribution(`${labels[r.kind]}, attributed`, r.attribution)
  for (const r of results) {
    const a = r.measured?.steadyAttribution
    if (a !== undefined) printSteadyAttribution(`${labels[r.kind]}, half throughput, attributed`, a)
  }

  const ours = byKind.get("ours")
  if (ours !== undefined) {
    const m = ours.report.metrics
    const count = (name: string) => {
      const v = m[name]
      return v?._tag === "Number" ? v.value : 0 // a metric never updated is absent
    }
    const describe = (h: Histogram | undefined) =>
      h === undefined || h.count === 0
        ? "no data"
        : `p50 ${histogramQuantile(h, 0.5).toFixed(2)} ms, p99 ${histogramQuantile(h, 0.99).toFixed(2)} ms, mean ${
          (h.sum / h.count).toFixed(2)
        } ms (${h.count} tasks)`
    console.log("")
    console.log("  our SDK overhead per task (WorkerMetrics.taskOverhead: assignment received → COMPLETED queued for")
    console.log("  sending, handler excluded; quantiles read from its 20%-wide buckets):")
    if (ours.measured !== undefined) {
      console.log(`    ${String(slots).padStart(3)} in flight (the measured runs): ${describe(ours.measured.overhead)}`)
    }
    console.log(`      1 in flight (the probe):        ${describe(ours.probeOverhead)}`)
    console.log("    (the calls that carry the events are in the engine round trip above; under load the")
    console.log("     worker's CPU time per task is the cost)")
    console.log(
      `  our worker's counters: started ${count("hatchet_worker_tasks_started")}, completed ${
        count("hatchet_worker_tasks_completed")
      }, failed ${count("hatchet_worker_tasks_failed")}, interrupted ${count("hatchet_worker_tasks_interrupted")}; slots in use now ${
        count("hatchet_worker_slots_in_use")
      }`
    )
  }
  if (interleaved.length > 0) {
    console.log("")
    console.log(
      `  interleaved: both workers alive, each on its own engine, lone runs alternating ${
        interleaved.map((r) => labels[r.kind]).join(" / ")
      } in A B B A order`
    )
    tableRow(interleaved, "", (r) => labels[r.kind])
    probeRows(interleaved, `  one run at a time (${interleavedRuns} runs each)`)
    console.log("  (engine CPU: this process from each run's trigger to the next run's; worker CPU: its process over")
    console.log("   the whole interleaved probe, the other worker's turns included)")
  }
  console.log("")
  console.log(`  load average (1 / 5 / 15 min): ${loadBefore} before, ${loadavg()} after`)
  const official = byKind.get("official")
  if (ours !== undefined && official !== undefined) {
    console.log("")
    if (ours.measured !== undefined && official.measured !== undefined) {
      console.log(`throughput ratio (ours / official): ${ratio(ours.measured.tasksPerSecond, official.measured.tasksPerSecond)}`)
    }
    probeRatios("single-run", ours, official)
  }
  if (ours?.measured !== undefined) {
    const m = ours.measured
    console.log(
      `dispatch p99 at half throughput (ours, ${m.steadyRate}/s for ${steadySeconds} s): ${m.steadyDispatch.p99} ms (engine round trip p99 ${m.steadyRoundTrip.p99} ms; others used ${
        (m.steadyMachine.othersMs / 1000).toFixed(1)
      } s of CPU meanwhile; p99 of each ${phaseRunCap} runs: ${m.steadyWindowP99s.join(" ")} ms, over 10 ms in ${
        overTenMs(m.steadyWindowP99s)
      }); in 50 ms bursts of ${m.burstRate / 20} (the old measure): ${m.burstDispatch.p99} ms (round trip p99 ${m.burstRoundTrip.p99} ms)`
    )
  }
  const interleavedOurs = interleaved.find((r) => r.kind === "ours")
  const interleavedOfficial = interleaved.find((r) => r.kind === "official")
  if (interleavedOurs !== undefined && interleavedOfficial !== undefined) {
    probeRatios("interleaved single-run", interleavedOurs, interleavedOfficial)
  }
}

/** The trigger client: our SDK's, on one channel to the engine (as the test layers build it). */
const TriggerClient = clientLayer({})

/**
 * A fresh engine (with its trigger client) for each worker's phase, so that the second worker
 * does not meet an engine holding the first one's runs (a larger heap, longer collections).
 */
const PhaseEngine = Admin.layer.pipe(Layer.provideMerge(TriggerClient), Layer.provideMerge(InternalEngine.layer()))

const program = Effect.gen(function*() {
  const cpus = os.cpus()
  const loadBefore = loadavg()
  console.log(`pnpm bench: ${total} no-op tasks per worker, ${slots} slots, bulk triggers of ${batch}, warm-up ${warmup} tasks`)
  console.log(
    `  machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? "?"}, node ${process.version}; load average ${loadBefore} (1 / 5 / 15 min)`
  )
  console.log(`  the local engine and the trigger client run in this process; each worker in a child process; order: ${order.join(", ")}`)
  if (traced) {
    // the engine's messages marked and its collections recorded before its server exists
    const { hookProtos, observeGc } = yield* Effect.promise(() => import("./trace/hooks.js"))
    yield* Effect.promise(() => hookProtos("e:"))
    observeGc()
  }
  const results: Array<PhaseResult> = []
  for (const kind of order) {
    // what an earlier phase's engine left is garbage: collected before this phase, as a fresh
    // process would start without it
    if (results.length > 0) collectGarbage()
    console.log(`  running ${labels[kind]} ...`)
    results.push(yield* Effect.provide(phase(kind), PhaseEngine))
  }
  // the interleaved probe: both workers, not with the traced workers of BENCH_*_ATTRIBUTE
  let interleaved: ReadonlyArray<ProbeFigures> = []
  if (interleavedRuns > 0 && !traced && order.includes("official") && order.includes("ours")) {
    if (results.length > 0) collectGarbage()
    console.log(`  running the interleaved probe (${labels[order[0]!]}, ${labels[order[1]!]}) ...`)
    interleaved = yield* interleavedProbe([order[0]!, order[1]!])
  }
  print(results, interleaved, loadBefore)
})

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
