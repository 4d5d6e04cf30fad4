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
 *
 * `steadyAttribution` does the same for `pnpm bench`'s steady phase (BENCH_STEADY_ATTRIBUTE): the
 * runs that waited for a slot (run created → START sent), by the same parts, and the episodes of
 * overlapping waits with the CPU, messages, trigger calls and loop gaps around them.
 */
import * as Effect from "effect/Effect"
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

/** What one process recorded: its collections and the stretches its event loop was blocked. */
interface Recorded {
  readonly gcs: ReadonlyArray<GcMark>
  readonly gaps: ReadonlyArray<Span>
}

/**
 * The parts of `run` (ms) that each suspect overlapped: either process's scavenges and major GCs,
 * its main thread waiting for a CPU (`waits`, from schedstat), its loop blocked otherwise.
 */
const partsOf = (
  run: Span,
  worker: Recorded,
  engine: Recorded,
  waits: { readonly worker: number; readonly engine: number }
): Record<string, number> => {
  const gcMs = (list: ReadonlyArray<GcMark>, scavenge: boolean) =>
    overlapMs(run, list.filter((gc) => isScavenge(gc) === scavenge).map(span))
  const blockedMs = (gaps: ReadonlyArray<Span>, gc: number, wait: number) => Math.max(0, overlapMs(run, gaps) - gc - wait)
  const workerGc = gcMs(worker.gcs, true) + gcMs(worker.gcs, false)
  const engineGc = gcMs(engine.gcs, true) + gcMs(engine.gcs, false)
  return {
    "worker scavenge": gcMs(worker.gcs, true),
    "worker major GC": gcMs(worker.gcs, false),
    "worker waiting for a CPU": waits.worker,
    "worker loop blocked, other": blockedMs(worker.gaps, workerGc, waits.worker),
    "engine scavenge": gcMs(engine.gcs, true),
    "engine major GC": gcMs(engine.gcs, false),
    "engine waiting for a CPU": waits.engine,
    "engine loop blocked, other": blockedMs(engine.gaps, engineGc, waits.engine)
  }
}

/** The largest part, if it is 1 ms or more. */
const causeOf = (parts: Readonly<Record<string, number>>): string | undefined => {
  const [cause, ms] = Object.entries(parts).reduce((a, b) => (b[1] > a[1] ? b : a), ["", 1])
  return ms > 1 && cause !== "" ? cause : undefined
}

/** The collections of either process that overlapped `run`, as text. */
const gcsIn = (run: Span, worker: Recorded, engine: Recorded) => [
  ...worker.gcs.filter((gc) => gc.at < run.end && gc.at + gc.ms > run.start).map((gc) => `worker ${gc.kind} ${gc.ms.toFixed(1)}`),
  ...engine.gcs.filter((gc) => gc.at < run.end && gc.at + gc.ms > run.start).map((gc) => `engine ${gc.kind} ${gc.ms.toFixed(1)}`)
]

/** The collections of a list by kind: how many, mean and longest. */
const collections = (list: ReadonlyArray<GcMark>) => {
  const byKind = new Map<string, Array<number>>()
  for (const gc of list) byKind.set(gc.kind, [...(byKind.get(gc.kind) ?? []), gc.ms])
  return [...byKind].map(([kind, ms]) =>
    `${ms.length} ${kind} (mean ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(1)}, max ${Math.max(...ms).toFixed(1)} ms)`
  ).join(", ") || "none"
}

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
        const parts = partsOf(run, worker, engine, {
          worker: window.after.worker.waitMs - window.before.worker.waitMs,
          engine: window.after.engine.waitMs - window.before.engine.waitMs
        })
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
        const longestPhase = phases === undefined
          ? "phases unknown"
          : Object.entries(phases).reduce((a, b) => (b[1] > a[1] ? b : a))[0]
        slow.push({
          roundTrip,
          cause: causeOf(parts) ?? `unexplained: ${longestPhase}`,
          parts,
          phases,
          gcs: gcsIn(run, worker, engine)
        })
      }
      roundTrips.sort((a, b) => a - b)
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

/** Both processes' collections and the machine's CPU over `what` (an attribution's figures). */
const printMachine = (
  what: string,
  a: {
    readonly collections: { readonly worker: string; readonly engine: string }
    readonly machine: { readonly wallMs: number; readonly busyMs: number; readonly processesMs: number; readonly idleMs: number }
  }
) => {
  console.log(`    collections during ${what}: worker ${a.collections.worker}; engine ${a.collections.engine}`)
  console.log(
    `    the machine during ${what} (${a.machine.wallMs.toFixed(0)} ms, 2 CPUs): busy ${a.machine.busyMs.toFixed(0)} ms, ` +
      `the engine's and worker's processes ${a.machine.processesMs.toFixed(0)} ms, others about ${
        Math.max(0, a.machine.busyMs - a.machine.processesMs).toFixed(0)
      } ms; idle ${a.machine.idleMs.toFixed(0)} ms`
  )
}

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
  printMachine("the probe", a)
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

/** BENCH_STEADY_ATTRIBUTE: `1` counts the steady phase's waiting runs by cause, `runs` prints each episode found. */
export const steadyAttributeMode = process.env.BENCH_STEADY_ATTRIBUTE === "1" || process.env.BENCH_STEADY_ATTRIBUTE === "runs"
  ? process.env.BENCH_STEADY_ATTRIBUTE
  : undefined

/** Runs of the steady phase whose dispatch is at least this (ms) are attributed (BENCH_STEADY_SLOW_MS). */
const steadySlowMs = Number(process.env.BENCH_STEADY_SLOW_MS ?? 5)

/** What the steady recorder reads every 10 ms: both main threads, both processes' threads, the machine, the slots. */
interface Sample {
  readonly at: number
  readonly engine: SchedStat
  readonly worker: SchedStat
  readonly processesMs: number
  readonly machine: { readonly busyMs: number; readonly idleMs: number }
  readonly slotsInUse: number
}

/** A stretch in which runs waited for a slot: the union of overlapping waits. */
export interface Episode extends Span {
  readonly runs: number
  readonly worstMs: number
  readonly slotsAtStart: number
  readonly cause: string
  readonly parts: Readonly<Record<string, number>>
  /** CPU in the episode (ms): each main thread's run and wait, all threads of both processes, the rest of the machine, idle. */
  readonly cpu: Readonly<Record<string, number>>
  /** Messages marked in the episode, by label. */
  readonly messages: Readonly<Record<string, number>>
  /** The trigger calls from 100 ms before the episode to its end: when (ms from its start) and how many runs. */
  readonly triggers: ReadonlyArray<readonly [number, number]>
  /**
   * The trigger call that opened the episode (the last one at or before its first wait): its runs,
   * the slots free as it was made, and the time since the call before it (the ticks are 10 ms apart
   * when the trigger loop, on the engine's event loop, is on time).
   */
  readonly opening: { readonly runs: number; readonly free: number; readonly sinceLastMs: number } | undefined
  /** Either loop's gaps of 5 ms or more from 100 ms before the episode to its end: whose, when (ms from its start), how long. */
  readonly gaps: ReadonlyArray<readonly [string, number, number]>
  readonly gcs: ReadonlyArray<string>
}

/** The messages an episode counts: STARTs reaching the worker, results leaving it and reaching the engine, the answers. */
const episodeMessages: Record<string, RegExp> = {
  "worker STARTs decoded": /^w:AssignedAction\.decode$/,
  "worker result calls": /^w:(StepActionEvent|BatchActionEvent)\.encode$/,
  "engine result calls decoded": /^e:(StepActionEvent|BatchActionEvent)\.decode$/,
  "worker answers decoded": /^w:ActionEventResponse\.decode$/
}

/**
 * The recorder of `pnpm bench`'s steady phase (BENCH_STEADY_ATTRIBUTE) against the traced worker
 * `child`: between `start` and `finish` it records what the probe's recorder records, and every
 * 10 ms both main threads' schedstat, both processes' CPU, the machine's and the slots in use
 * (`slotsInUse`). `finish` takes each run's wait (run created → START sent, on `hrMs`'s clock)
 * and sets the waits of at least BENCH_STEADY_SLOW_MS (5 ms) against what overlapped them, each
 * run by its largest part, and the episodes (overlapping waits) with the CPU and messages in them.
 */
export const steadyAttribution = (child: ChildProcess, slotsInUse: () => number) => {
  const engineGaps = gapRecorder(() => undefined)
  let samples: Array<Sample> = []
  let triggers: Array<readonly [number, number, number]> = []
  let timer: ReturnType<typeof setInterval> | undefined
  const sample = () =>
    samples.push({
      at: hrMs(),
      engine: schedstat("self"),
      worker: schedstat(child.pid!),
      processesMs: processRunMs("self") + processRunMs(child.pid!),
      machine: machineMs(),
      slotsInUse: slotsInUse()
    })
  /** A cumulative figure at `t`, read linearly between the samples around it. */
  const at = (t: number, pick: (s: Sample) => number): number => {
    let i = 0
    while (i < samples.length - 1 && samples[i + 1]!.at <= t) i++
    const a = samples[i]!
    const b = samples[Math.min(i + 1, samples.length - 1)]!
    if (b.at <= a.at || t <= a.at) return pick(a)
    return pick(a) + ((pick(b) - pick(a)) * (Math.min(t, b.at) - a.at)) / (b.at - a.at)
  }
  const over = (s: Span, pick: (s: Sample) => number) => at(s.end, pick) - at(s.start, pick)
  /** The last trigger call at or before `t` (the engine clock's whole ms: 1 ms of slack). */
  const openingCall = (t: number) => {
    let i = triggers.length - 1
    while (i >= 0 && triggers[i]![0] > t + 1) i--
    if (i < 0) return undefined
    const [at, runs, free] = triggers[i]!
    return { runs, free, sinceLastMs: i === 0 ? Number.NaN : at - triggers[i - 1]![0] }
  }
  return {
    start: Effect.gen(function*() {
      yield* workerMarks(child)
      marks.splice(0)
      gcs.splice(0)
      engineGaps.start()
      samples = []
      triggers = []
      sample()
      timer = setInterval(sample, 10)
    }),
    /** A trigger call of `runs` runs is made now, with `free` slots free. */
    triggered: (runs: number, free: number) => {
      triggers.push([hrMs(), runs, free])
    },
    finish: (waits: ReadonlyArray<Span>) =>
      Effect.gen(function*() {
        if (timer !== undefined) clearInterval(timer)
        sample()
        const worker = yield* workerMarks(child)
        const engine = { gcs: gcs.splice(0), gaps: engineGaps.take() }
        const all = [...marks.splice(0), ...worker.trace].sort((a, b) => a[1] - b[1])
        const waitsOver = (s: Span) => ({
          worker: over(s, (x) => x.worker.waitMs),
          engine: over(s, (x) => x.engine.waitMs)
        })
        const slow = waits.filter((w) => w.end - w.start >= steadySlowMs).sort((a, b) => a.start - b.start)
        const causes = slow.map((w) => causeOf(partsOf(w, worker, engine, waitsOver(w))) ?? "unexplained")
        const episodes: Array<Episode> = []
        for (let i = 0; i < slow.length;) {
          let end = slow[i]!.end
          let j = i
          let worst = 0
          while (j < slow.length && slow[j]!.start <= end) {
            end = Math.max(end, slow[j]!.end)
            worst = Math.max(worst, slow[j]!.end - slow[j]!.start)
            j++
          }
          const episode: Span = { start: slow[i]!.start, end }
          const parts = partsOf(episode, worker, engine, waitsOver(episode))
          const busy = over(episode, (x) => x.machine.busyMs)
          const processes = over(episode, (x) => x.processesMs)
          const messages: Record<string, number> = {}
          for (const [name, label] of Object.entries(episodeMessages)) {
            messages[name] = all.filter(([l, t]) => label.test(l) && t >= episode.start && t <= episode.end).length
          }
          episodes.push({
            ...episode,
            runs: j - i,
            worstMs: worst,
            slotsAtStart: samples.filter((s) => s.at <= episode.start).at(-1)?.slotsInUse ?? Number.NaN,
            cause: causeOf(parts) ?? "unexplained",
            parts,
            cpu: {
              "engine thread run": over(episode, (x) => x.engine.runMs),
              "engine thread wait": over(episode, (x) => x.engine.waitMs),
              "worker thread run": over(episode, (x) => x.worker.runMs),
              "worker thread wait": over(episode, (x) => x.worker.waitMs),
              "both processes, all threads": processes,
              "others (machine, 10 ms ticks)": Math.max(0, busy - processes),
              "idle": over(episode, (x) => x.machine.idleMs)
            },
            messages,
            triggers: triggers.filter(([t]) => t >= episode.start - 100 && t <= episode.end).map(([t, n]) => [t - episode.start, n]),
            opening: openingCall(episode.start),
            gaps: [
              ...engine.gaps.map((g) => ["engine", g] as const),
              ...worker.gaps.map((g) => ["worker", g] as const)
            ].filter(([, g]) => g.end - g.start >= 5 && g.end >= episode.start - 100 && g.start <= episode.end)
              .sort((x, y) => x[1].start - y[1].start)
              .map(([who, g]) => [who, g.start - episode.start, g.end - g.start]),
            gcs: gcsIn({ start: episode.start - 100, end: episode.end }, worker, engine)
          })
          i = j
        }
        const first = samples[0]!
        const last = samples.at(-1)!
        const calls = triggers.map(([, runs]) => runs).sort((a, b) => a - b)
        return {
          startedAt: first.at,
          medianCall: calls[Math.floor(calls.length / 2)] ?? 0,
          runs: waits.length,
          slow: slow.length,
          causes,
          episodes,
          collections: { worker: collections(worker.gcs), engine: collections(engine.gcs) },
          machine: {
            wallMs: last.at - first.at,
            busyMs: last.machine.busyMs - first.machine.busyMs,
            processesMs: last.processesMs - first.processesMs,
            idleMs: last.machine.idleMs - first.machine.idleMs
          }
        }
      })
  }
}

/** What `steadyAttribution`'s `finish` gives. */
export type SteadyAttribution = Effect.Effect.Success<ReturnType<ReturnType<typeof steadyAttribution>["finish"]>>

/** Prints the steady phase's waiting runs by cause and its largest episodes (every one with `runs`). */
export const printSteadyAttribution = (label: string, a: SteadyAttribution) => {
  const list = (r: Readonly<Record<string, number>>) =>
    Object.entries(r).filter(([, x]) => x >= 0.5).map(([k, x]) => `${k} ${x.toFixed(Number.isInteger(x) ? 0 : 1)}`).join(", ")
  console.log("")
  console.log(
    `  ${label}: ${a.slow} of ${a.runs} runs waited ${steadySlowMs} ms or more for a slot, in ${a.episodes.length} episodes (overlapping waits)`
  )
  const counts = new Map<string, number>()
  for (const cause of a.causes) counts.set(cause, (counts.get(cause) ?? 0) + 1)
  for (const [cause, n] of [...counts].sort((x, y) => y[1] - x[1])) {
    console.log(`    ${cause.padEnd(46)}${String(n).padStart(5)} runs`)
  }
  const catchUps = a.episodes.filter((e) => e.opening !== undefined && e.opening.runs > 2 * a.medianCall)
  const runsIn = (es: ReadonlyArray<Episode>) => es.reduce((n, e) => n + e.runs, 0)
  console.log(
    `    opened by a catch-up call (over twice the median call of ${a.medianCall} runs: the trigger loop, on the engine's loop, was late): ${catchUps.length} episodes, ${
      runsIn(catchUps)
    } runs; opened by an ordinary call that found the slots full: ${a.episodes.length - catchUps.length} episodes, ${
      runsIn(a.episodes) - runsIn(catchUps)
    } runs`
  )
  printMachine("the phase", a)
  const shown = steadyAttributeMode === "runs" ? a.episodes : [...a.episodes].sort((x, y) => y.runs - x.runs).slice(0, 3)
  for (const e of shown) {
    console.log(
      `    episode at +${(e.start - a.startedAt).toFixed(0)} ms into the phase: ${e.runs} runs waited (worst ${
        e.worstMs.toFixed(1)
      } ms) over ${(e.end - e.start).toFixed(1)} ms, ${e.slotsAtStart} slots in use at its start; ${e.cause}`
    )
    if (e.opening !== undefined) {
      console.log(
        `      opened by a trigger call of ${e.opening.runs} runs with ${e.opening.free} slots free, ${
          e.opening.sinceLastMs.toFixed(0)
        } ms after the call before`
      )
    }
    console.log(`      parts: ${list(e.parts) || "none"}; gc from 100 ms before: ${e.gcs.join(", ") || "none"}`)
    console.log(`      CPU ms: ${list(e.cpu)}`)
    console.log(`      messages: ${list(e.messages)}`)
    const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(0)}`
    console.log(`      trigger calls from 100 ms before (at, runs): ${e.triggers.map(([t, n]) => `${signed(t)}:${n}`).join(" ")}`)
    console.log(
      `      loop gaps from 100 ms before (at, ms): ${e.gaps.map(([who, t, ms]) => `${who} ${signed(t)}:${ms.toFixed(0)}`).join(" ")}`
    )
  }
}
