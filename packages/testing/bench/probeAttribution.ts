/**
 * `pnpm bench`'s BENCH_PROBE_ATTRIBUTE: where the slow runs of the single-run probe lose their time.
 * The worker runs as `pnpm bench:trace`'s traced worker (./trace/worker.ts: its messages marked, its
 * garbage collections and event-loop gaps recorded); this process (the engine) marks its own
 * messages (./trace/hooks.ts, hooked before the engine is built), records its collections and
 * gaps (./timeline.ts) and reads both main threads' `/proc/PID/schedstat` around every run, all on
 * the machine's monotonic clock.
 *
 * Each run's round trip (START handed to the stream → result recorded, as the probe times it) is cut
 * into four phases by the marks (the START's way to the worker, the worker from decoding it to
 * encoding the result, the result's way back, the engine from decoding it to recording it), and the
 * time of each slow run (over BENCH_PROBE_SLOW_MS, 4 ms) is set against what overlapped it: either
 * process's scavenges or major GC (incremental marking included), its main thread runnable but
 * waiting for a CPU, its event loop blocked otherwise. The largest part (1 ms or more) is the run's
 * cause; a run with none is "unexplained" and named by its longest phase. Costs: a 1 ms interval in
 * both processes, a mark per message, two `/proc` reads per run: the figures of an attributed run
 * are not the bench's.
 */
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import { gapRecorder, hrMs, machineMs, overlapMs, processRunMs, type SchedStat, schedstat, type Span } from "./timeline.js"
import { type GcMark, gcs, mark, marks } from "./trace/hooks.js"
import { workerMarks } from "./trace/workerTrace.js"

/** BENCH_PROBE_ATTRIBUTE: `1` counts the slow runs by cause, `runs` prints each of them too. */
export const attributeMode = process.env.BENCH_PROBE_ATTRIBUTE === "1" || process.env.BENCH_PROBE_ATTRIBUTE === "runs"
  ? process.env.BENCH_PROBE_ATTRIBUTE
  : undefined

/** Runs slower than this (ms, hi-res round trip) are attributed (BENCH_PROBE_SLOW_MS). */
const slowMs = Number(process.env.BENCH_PROBE_SLOW_MS ?? 4)

const labels = {
  sent: "e:START handed to the stream",
  recorded: "e:result recorded"
}
const workerDecode = /^(w|off):AssignedAction\.decode$/
const workerEncode = /^(w|off):(StepActionEvent|BatchActionEvent)\.encode$/
const engineDecode = /^e:(StepActionEvent|BatchActionEvent)\.decode$/

interface RunWindow extends Span {
  readonly before: { readonly engine: SchedStat; readonly worker: SchedStat }
  readonly after: { readonly engine: SchedStat; readonly worker: SchedStat }
}

/** One slow run: its round trip, phases and the parts of it each suspect overlapped (ms). */
export interface SlowRun {
  readonly roundTrip: number
  readonly cause: string
  readonly parts: Readonly<Record<string, number>>
  readonly phases: Readonly<Record<string, number>> | undefined
  readonly gcs: ReadonlyArray<string>
}

const isScavenge = (gc: GcMark) => gc.kind === "minor"
const span = (gc: GcMark): Span => ({ start: gc.at, end: gc.at + gc.ms })

/**
 * The recorder of one probe against the traced worker `child`: `hooks` go to the run observer,
 * `runStarted` / `runEnded` around each run (trigger → result), `start` before the first and
 * `finish` after the last.
 */
export const probeAttribution = (child: ChildProcess) => {
  const engineGaps = gapRecorder(() => undefined)
  const windows: Array<RunWindow> = []
  let current: Omit<RunWindow, "end" | "after"> | undefined
  let machineBefore = machineMs()
  let processesBefore = 0
  const processesRunMs = () => processRunMs("self") + processRunMs(child.pid!)
  const sched = () => ({ engine: schedstat("self"), worker: schedstat(child.pid!) })
  return {
    hooks: { onSent: () => mark(labels.sent), onRecorded: () => mark(labels.recorded) },
    start: Effect.gen(function*() {
      yield* workerMarks(child) // drops what came before; starts the worker's gap recorder
      marks.splice(0)
      gcs.splice(0)
      engineGaps.start()
      machineBefore = machineMs()
      processesBefore = processesRunMs()
    }),
    runStarted: () => {
      current = { before: sched(), start: hrMs() }
    },
    runEnded: () => {
      windows.push({ ...current!, end: hrMs(), after: sched() })
    },
    finish: Effect.gen(function*() {
      const machine = machineMs()
      const processes = processesRunMs() - processesBefore
      const worker = yield* workerMarks(child)
      const engine = { gcs: gcs.splice(0), gaps: engineGaps.take() }
      const all = [...marks.splice(0), ...worker.trace].sort((a, b) => a[1] - b[1])
      const slow: Array<SlowRun> = []
      const roundTrips: Array<number> = []
      let from = 0
      for (const window of windows) {
        while (from < all.length && all[from]![1] < window.start) from++
        let to = from
        while (to < all.length && all[to]![1] <= window.end) to++
        const inRun = all.slice(from, to)
        from = to
        const at = (label: string | RegExp, after = -Infinity, last = false) => {
          const found = inRun.filter(([l, t]) => (typeof label === "string" ? l === label : label.test(l)) && t >= after)
          return (last ? found.at(-1) : found[0])?.[1]
        }
        const sent = at(labels.sent)
        const recorded = at(labels.recorded, sent)
        if (sent === undefined || recorded === undefined) continue
        const roundTrip = recorded - sent
        roundTrips.push(roundTrip)
        if (roundTrip <= slowMs) continue
        const run: Span = { start: sent, end: recorded }
        const gcMs = (list: ReadonlyArray<GcMark>, scavenge: boolean) =>
          overlapMs(run, list.filter((gc) => isScavenge(gc) === scavenge).map(span))
        const waitMs = (who: "engine" | "worker") => window.after[who].waitMs - window.before[who].waitMs
        const blockedMs = (gaps: ReadonlyArray<Span>, gc: number, wait: number) => Math.max(0, overlapMs(run, gaps) - gc - wait)
        const workerGc = gcMs(worker.gcs, true) + gcMs(worker.gcs, false)
        const engineGc = gcMs(engine.gcs, true) + gcMs(engine.gcs, false)
        const parts: Record<string, number> = {
          "worker scavenge": gcMs(worker.gcs, true),
          "worker major GC": gcMs(worker.gcs, false),
          "worker waiting for a CPU": waitMs("worker"),
          "worker loop blocked, other": blockedMs(worker.gaps, workerGc, waitMs("worker")),
          "engine scavenge": gcMs(engine.gcs, true),
          "engine major GC": gcMs(engine.gcs, false),
          "engine waiting for a CPU": waitMs("engine"),
          "engine loop blocked, other": blockedMs(engine.gaps, engineGc, waitMs("engine"))
        }
        const decoded = at(workerDecode, sent)
        const encoded = at(workerEncode, decoded, true)
        const back = at(engineDecode, encoded, true)
        const phases = decoded === undefined || encoded === undefined || back === undefined || back > recorded
          ? undefined
          : {
            "to the worker": decoded - sent,
            "in the worker": encoded - decoded,
            "back to the engine": back - encoded,
            "in the engine": recorded - back
          }
        const [cause, ms] = Object.entries(parts).reduce((a, b) => (b[1] > a[1] ? b : a), ["", 1])
        const longestPhase = phases === undefined
          ? "phases unknown"
          : Object.entries(phases).reduce((a, b) => (b[1] > a[1] ? b : a))[0]
        slow.push({
          roundTrip,
          cause: ms > 1 && cause !== "" ? cause : `unexplained: ${longestPhase}`,
          parts,
          phases,
          gcs: [
            ...worker.gcs.filter((gc) => gc.at < run.end && gc.at + gc.ms > run.start).map((gc) => `worker ${gc.kind} ${gc.ms.toFixed(1)}`),
            ...engine.gcs.filter((gc) => gc.at < run.end && gc.at + gc.ms > run.start).map((gc) => `engine ${gc.kind} ${gc.ms.toFixed(1)}`)
          ]
        })
      }
      roundTrips.sort((a, b) => a - b)
      const collections = (list: ReadonlyArray<GcMark>) => {
        const byKind = new Map<string, Array<number>>()
        for (const gc of list) byKind.set(gc.kind, [...(byKind.get(gc.kind) ?? []), gc.ms])
        return [...byKind].map(([kind, ms]) =>
          `${ms.length} ${kind} (mean ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(1)}, max ${Math.max(...ms).toFixed(1)} ms)`
        ).join(", ") || "none"
      }
      return {
        runs: roundTrips.length,
        p99: roundTrips[Math.min(roundTrips.length - 1, Math.floor(0.99 * roundTrips.length))] ?? Number.NaN,
        slow,
        collections: { worker: collections(worker.gcs), engine: collections(engine.gcs) },
        machine: {
          busyMs: machine.busyMs - machineBefore.busyMs,
          idleMs: machine.idleMs - machineBefore.idleMs,
          processesMs: processes,
          wallMs: windows.length === 0 ? 0 : windows.at(-1)!.end - windows[0]!.start
        }
      }
    })
  }
}

/** What `probeAttribution`'s `finish` gives. */
export type ProbeAttribution = Effect.Effect.Success<ReturnType<typeof probeAttribution>["finish"]>

/** Prints the counts of slow runs by cause (and each slow run with `runs`). */
export const printAttribution = (label: string, a: ProbeAttribution) => {
  const top = [...a.slow].sort((x, y) => y.roundTrip - x.roundTrip).slice(0, Math.ceil(a.runs / 100))
  console.log("")
  console.log(
    `  ${label}: ${a.slow.length} of ${a.runs} probe runs over ${slowMs} ms (round trip on the marks' clock, p99 ${a.p99.toFixed(2)} ms)`
  )
  const counts = new Map<string, { n: number; top: number; ms: number }>()
  for (const run of a.slow) {
    const c = counts.get(run.cause) ?? { n: 0, top: 0, ms: 0 }
    counts.set(run.cause, { n: c.n + 1, top: c.top + (top.includes(run) ? 1 : 0), ms: c.ms + run.roundTrip })
  }
  for (const [cause, c] of [...counts].sort((x, y) => y[1].n - x[1].n)) {
    console.log(`    ${cause.padEnd(46)}${String(c.n).padStart(4)} runs (mean ${(c.ms / c.n).toFixed(1)} ms); of the slowest 1 %: ${c.top}`)
  }
  console.log(`    collections during the probe: worker ${a.collections.worker}; engine ${a.collections.engine}`)
  console.log(
    `    the machine during the probe (${a.machine.wallMs.toFixed(0)} ms, 2 CPUs): busy ${a.machine.busyMs.toFixed(0)} ms, ` +
      `the engine's and worker's processes ${a.machine.processesMs.toFixed(0)} ms, others about ${
        Math.max(0, a.machine.busyMs - a.machine.processesMs).toFixed(0)
      } ms; idle ${a.machine.idleMs.toFixed(0)} ms`
  )
  if (attributeMode !== "runs") return
  for (const run of [...a.slow].sort((x, y) => y.roundTrip - x.roundTrip)) {
    const list = (r: Readonly<Record<string, number>>) =>
      Object.entries(r).filter(([, ms]) => ms >= 0.1).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join(", ")
    console.log(
      `    ${run.roundTrip.toFixed(2).padStart(7)} ms ${run.cause}; ${list(run.parts)}${
        run.phases === undefined ? "" : `; phases: ${list(run.phases)}`
      }${run.gcs.length > 0 ? `; gc: ${run.gcs.join(", ")}` : ""}`
    )
  }
}
