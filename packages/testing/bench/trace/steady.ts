/**
 * `pnpm bench:steady`: where `pnpm bench`'s "dispatch p99 at half throughput" comes from. Our
 * worker (./worker.ts: its messages marked, its garbage collections recorded) on the local engine
 * in this process, as `pnpm bench` runs them. After a warm-up, the throughput is measured as
 * `pnpm bench` measures it (STEADY_TASKS, 10,000, in bulk triggers of 500) unless STEADY_RATE gives
 * the rate; then STEADY_REPEATS (5) rounds, each of them one phase per mode of STEADY_TICKS
 * ("bench,10", alternated in that order), every phase STEADY_SECONDS (3; at most 9,000 runs, see
 * ../phaseLength.ts) of runs triggered at that
 * rate, each tick's runs in one `BulkTriggerWorkflow`. `bench` paces 50 ms bursts as the old
 * measure of `pnpm bench` does (the next burst 50 ms after this one's trigger call, so a slow call
 * lowers the rate); a number is a tick length in ms, each tick triggering the runs due by then
 * (`rate × elapsed`, so a late tick catches up), as `pnpm bench`'s `triggerSteadily`.
 *
 * Per phase: dispatch (run created → START sent, engine clock, whole ms) p50 / p99 / max and how
 * many runs waited; the ticks' bursts on the machine's monotonic clock (from the trigger call:
 * the call's return, the last START sent, the last result recorded; p50 / p90 / max over ticks)
 * and how many ticks found all but fewer slots free than they brought runs; then the STEADY_SHOWN
 * (3) ticks whose runs waited longest: slots in use when the trigger was called and when it
 * returned, and, from the tick before's trigger call to this tick's last START: the tick before's
 * STARTs sent and results recorded, the worker's START decodes and batch encodes, the garbage
 * collections of the engine's process and the worker's, and the engine's event-loop gaps of 8 ms
 * or more (a 1 ms interval that fired late).
 *
 * Where the CPU per run goes: before the measures, 3 s with nothing to do give both processes'
 * idle CPU; the throughput measure prints both processes' CPU per run, their garbage collections
 * and the worker's messages per run (STARTs decoded, `SendStepActionEvent` and
 * `SendBatchActionEvent` calls, answers), and so does every paced phase, to set side by side.
 * STEADY_PROFILE=<dir> writes CPU profiles of this process (the engine, the trigger client and
 * this script's hooks) and of the worker over the idle time (`idle-*`), the throughput measure
 * (`bulk-*`) and each phase (`<mode>-<round>-*`); the profiler itself costs some of the CPU it
 * samples.
 */
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as inspector from "node:inspector/promises"
import * as os from "node:os"
import { eventsOf } from "../../../engine/src/internal/domain/taskEvents.js"
import type { WorkerReport } from "../report.js"
import { type GcMark, gcs, observeGc } from "./hooks.js"

observeGc()
const { Admin } = await import("@effect-hatchet/sdk")
const { Effect, Layer, Schedule } = await import("effect")
const { Engine } = await import("../../../engine/src/Engine.js")
const { EngineCore } = await import("../../../engine/src/internal/core.js")
const InternalEngine = await import("../../../engine/src/internal/engine.js")
const { clientLayer } = await import("../../src/internal/hatchetTest.js")
const { askChild, spawnChild } = await import("../child.js")
const { workerMarks } = await import("./workerTrace.js")
const { lastAtOrBefore } = await import("../sorted.js")
const { observeRuns } = await import("../runObserver.js")
const { phaseRunCap, phaseSeconds } = await import("../phaseLength.js")

const repeats = Number(process.env.STEADY_REPEATS ?? 5)
const seconds = Number(process.env.STEADY_SECONDS ?? 3)
/** `bench`: `pnpm bench`'s old 50 ms bursts; a number: ticks of that many ms, each triggering the runs due. */
const modes = (process.env.STEADY_TICKS ?? "bench,10").split(",").map((m) => m.trim())
const fixedRate = process.env.STEADY_RATE === undefined ? undefined : Number(process.env.STEADY_RATE)
const tasks = Number(process.env.STEADY_TASKS ?? 10_000)
const shown = Number(process.env.STEADY_SHOWN ?? 3)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
/** STEADY_WORKER_NODE_ARGS: node options for the worker's process (e.g. `--trace-gc`), split on spaces. */
const workerNodeArgs = (process.env.STEADY_WORKER_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
/** STEADY_PROFILE=<dir>: CPU profiles of this process and the worker's over each paced phase. */
const profileDir = process.env.STEADY_PROFILE

/** How many of each of the worker's marks (./hooks.ts labels) per run. */
const messagesPerRun = (trace: ReadonlyArray<readonly [string, number]>, runs: number) => {
  const counts = new Map<string, number>()
  for (const [label] of trace) counts.set(label, (counts.get(label) ?? 0) + 1)
  return [...counts].map(([label, count]) => `${label} ${(count / runs).toFixed(3)}`).join(", ")
}
/** The longest collection and its kind. */
const longestGc = (xs: ReadonlyArray<GcMark>) => {
  const longest = xs.reduce<GcMark | undefined>((a, g) => (a === undefined || g.ms > a.ms ? g : a), undefined)
  return longest === undefined ? "none" : `${fixed(longest.ms)} ${longest.kind}`
}
const gcTotal = (xs: ReadonlyArray<GcMark>) => `${xs.length} (${fixed(xs.reduce((sum, g) => sum + g.ms, 0))} ms)`

/** `process.hrtime` in ms: the clock of the worker's marks and of every process's GC marks. */
const now = () => Number(process.hrtime.bigint()) / 1e6
const hrtimeOffset = now() - performance.now()
const fixed = (x: number) => x.toFixed(1)
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const spread = (xs: Array<number>) => {
  xs.sort((a, b) => a - b)
  return `${fixed(percentile(xs, 50))} / ${fixed(percentile(xs, 90))} / ${fixed(xs.at(-1)!)}`
}
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" / ")

/** Gaps of this process's event loop over 3 ms (a 1 ms interval that fired late), on `now()`'s clock. */
const loopGaps: Array<{ readonly at: number; readonly ms: number }> = []
let lastBeat = now()
setInterval(() => {
  const t = now()
  if (t - lastBeat > 3) loopGaps.push({ at: lastBeat, ms: t - lastBeat })
  lastBeat = t
}, 1).unref()

/** The worker process's CPU time so far (µs), from its report (../report.ts). */
const workerCpu = (child: ChildProcess) =>
  askChild(child, "report", (message) => {
    const report = (message as { report?: WorkerReport }).report
    return report === undefined ? undefined : report.cpuUserMicros + report.cpuSystemMicros
  })

interface Tick {
  readonly calledAt: number
  readonly returnedAt: number
  readonly busyBefore: number
  readonly busyAfter: number
  readonly ids: ReadonlyArray<string>
}

const program = Effect.gen(function*() {
  const engine = yield* Engine
  const core = yield* EngineCore
  const admin = yield* Admin.Admin
  const since = Date.now()
  const child = yield* spawnChild(
    new URL("./worker.ts", import.meta.url),
    { ...engine.env, BENCH_SLOTS: String(slots) },
    workerNodeArgs
  )
  const workerId = yield* Effect.suspend(() => {
    for (const w of core.state.workersById.values()) {
      if (w.createdAt >= since && w.isActive && w.lastHeartbeatAt !== undefined) return Effect.succeed(w.id)
    }
    return Effect.fail("not yet")
  }).pipe(Effect.retry(Schedule.spaced("20 millis")), Effect.timeout("60 seconds"))
  const worker = core.state.workersById.get(workerId)!
  const busy = () => worker.slotsUsed.get("default") ?? 0

  /** With STEADY_PROFILE: starts the CPU profiler of this process and the worker's. */
  const startProfiles = Effect.gen(function*() {
    if (profileDir === undefined) return undefined
    const session = yield* Effect.promise(async () => {
      const session = new inspector.Session()
      session.connect()
      await session.post("Profiler.enable")
      await session.post("Profiler.start")
      return session
    })
    yield* askChild(child, { profile: "start" }, (a) => (a as { profiled?: string }).profiled === "start" ? true : undefined)
    return session
  })
  /** Writes the profiles started by `startProfiles` as `<name>-engine` and `<name>-worker`. */
  const stopProfiles = (session: inspector.Session | undefined, name: string) =>
    Effect.gen(function*() {
      if (session === undefined) return
      yield* Effect.promise(async () => {
        const { profile } = await session.post("Profiler.stop")
        fs.mkdirSync(profileDir!, { recursive: true })
        fs.writeFileSync(`${profileDir}/${name}-engine.cpuprofile`, JSON.stringify(profile))
        session.disconnect()
      })
      yield* askChild(
        child,
        { profile: "stop", file: `${profileDir}/${name}-worker.cpuprofile` },
        (a) => (a as { profiled?: string }).profiled === "stop" ? true : undefined
      )
    })
  const trigger = (n: number) =>
    admin.bulkTriggerWorkflow(Array.from({ length: n }, () => ({ name: "bench-noop", input: "{}", desiredWorkerLabels: {} })))
  const triggerMany = (n: number) =>
    Effect.gen(function*() {
      const ids: Array<string> = []
      for (let offset = 0; offset < n; offset += 500) {
        for (const id of yield* trigger(Math.min(500, n - offset))) ids.push(id)
      }
      return ids
    })
  const awaitAll = (ids: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const finished = (id: string) => core.state.runsById.get(id)?.finishedAt !== undefined
      let next = 0
      for (;;) {
        while (next < ids.length && finished(ids[next]!)) next++
        if (next === ids.length) return
        yield* Effect.sleep("10 millis")
      }
    })

  yield* awaitAll(yield* triggerMany(1000))
  {
    yield* Effect.sleep("500 millis")
    const idleProfile = yield* startProfiles
    const wBefore = yield* workerCpu(child)
    const eBefore = process.cpuUsage()
    yield* Effect.sleep("3 seconds")
    const eUsed = process.cpuUsage(eBefore)
    const wUsed = (yield* workerCpu(child)) - wBefore
    yield* stopProfiles(idleProfile, "idle")
    console.log(
      `idle 3 s: CPU worker ${(wUsed / 1000).toFixed(1)} ms, engine process ${((eUsed.user + eUsed.system) / 1000).toFixed(1)} ms`
    )
  }
  let rate = fixedRate
  if (rate === undefined) {
    yield* workerMarks(child)
    gcs.splice(0)
    const bulkProfile = yield* startProfiles
    const wBefore = yield* workerCpu(child)
    const eBefore = process.cpuUsage()
    const started = Date.now()
    const ids = yield* triggerMany(tasks)
    yield* awaitAll(ids)
    const eUsed = process.cpuUsage(eBefore)
    const wUsed = (yield* workerCpu(child)) - wBefore
    yield* stopProfiles(bulkProfile, "bulk")
    const bulkMarks = yield* workerMarks(child)
    console.log(
      `bulk: CPU per run: worker ${(wUsed / 1000 / tasks).toFixed(3)} ms, engine process ${
        ((eUsed.user + eUsed.system) / 1000 / tasks).toFixed(3)
      } ms; worker messages per run: ${messagesPerRun(bulkMarks.trace, tasks)}; GCs: engine ${gcTotal(gcs)}, worker ${
        gcTotal(bulkMarks.gcs)
      }; load ${load()}`
    )
    const last = Math.max(...ids.map((id) => core.state.runsById.get(id)!.finishedAt!))
    rate = tasks / ((last - started) / 1000) / 2
    console.log(`throughput ${(rate * 2).toFixed(0)} tasks/s over ${tasks}; half: ${rate.toFixed(0)}/s`)
  }
  /** Each phase's length: `seconds`, shorter where the rate would make more runs than the engine keeps. */
  const phaseLength = phaseSeconds(rate, seconds)
  console.log(
    `steady: ${fixed(rate)} runs/s, ticks: ${modes.join(", ")}, ${fixed(phaseLength)} s${
      phaseLength < seconds ? ` (at most ${phaseRunCap} runs)` : ""
    }, ${repeats} rounds, ${slots} slots; load ${load()}`
  )

  const observer = observeRuns(core, workerId)
  const task = (id: string) => [...core.state.runsById.get(id)!.tasks.values()][0]!
  const dispatch = (id: string) => {
    const t = task(id)
    return eventsOf(t).find((e) => e.eventType === "SENT_TO_WORKER")!.timestamp - t.createdAt
  }
  const sentAt = (id: string) => (observer.sentAt(id) ?? Number.NaN) + hrtimeOffset

  /** `pnpm bench`'s pacing: `perTick` runs, the next tick `tickMs` after this one's trigger call. */
  const benchTicks = (tickMs: number, perTick: number, record: (tick: Tick) => void) =>
    Effect.gen(function*() {
      for (let k = 0; k < (phaseLength * 1000) / tickMs; k++) {
        const calledAt = now()
        const due = calledAt + tickMs
        const busyBefore = busy()
        const ids = yield* trigger(perTick)
        record({ calledAt, returnedAt: now(), busyBefore, busyAfter: busy(), ids })
        yield* Effect.sleep(Math.max(0, due - now()))
      }
    })
  /** Every `tickMs`, the runs due by then at `rate` (a late tick catches up). */
  const paced = (tickMs: number, rate: number, record: (tick: Tick) => void) =>
    Effect.gen(function*() {
      const start = now()
      const total = Math.round(rate * phaseLength)
      let triggered = 0
      for (let k = 0; triggered < total; k++) {
        const calledAt = now()
        const due = Math.min(total, Math.floor((rate * (calledAt - start)) / 1000) + 1)
        if (due > triggered) {
          const busyBefore = busy()
          const ids = yield* trigger(due - triggered)
          triggered = due
          record({ calledAt, returnedAt: now(), busyBefore, busyAfter: busy(), ids })
        }
        yield* Effect.sleep(Math.max(0, start + (k + 1) * tickMs - now()))
      }
    })

  const p99s = new Map<string, Array<number>>(modes.map((m) => [m, []]))
  for (let r = 0; r < repeats; r++) {
    for (const mode of modes) {
      const tickMs = mode === "bench" ? 50 : Number(mode)
      yield* Effect.sleep("1 second")
      gcs.splice(0)
      loopGaps.splice(0)
      yield* workerMarks(child)
      observer.setActive(true)
      const ticks: Array<Tick> = []
      const record = (tick: Tick) => ticks.push(tick)
      const perTick = Math.max(1, Math.round((rate * tickMs) / 1000))
      const profiling = yield* startProfiles
      const workerCpuBefore = yield* workerCpu(child)
      const engineCpuBefore = process.cpuUsage()
      const started = now()
      if (mode === "bench") yield* benchTicks(tickMs, perTick, record)
      else yield* paced(tickMs, rate, record)
      const elapsed = now() - started
      const ids = ticks.flatMap((t) => t.ids)
      yield* awaitAll(ids)
      const engineCpu = process.cpuUsage(engineCpuBefore)
      const workerCpuUsed = (yield* workerCpu(child)) - workerCpuBefore
      yield* stopProfiles(profiling, `${mode}-${r + 1}`)
      observer.setActive(false)
      const fromWorker = yield* workerMarks(child)
      const recorded = new Map<string, number>()
      for (const id of ids) recorded.set(id, (yield* observer.recorded(id)).at + hrtimeOffset)

      const all = ids.map(dispatch).sort((a, b) => a - b)
      const p99 = percentile(all, 99)
      p99s.get(mode)!.push(p99)
      console.log(
        `\nround ${r + 1}, ${mode === "bench" ? "pnpm bench's 50 ms bursts" : `${tickMs} ms ticks`} (${
          fixed((ids.length * 1000) / elapsed)
        } runs/s, ${fixed(ids.length / ticks.length)} a tick): dispatch p50 ${percentile(all, 50)} / p99 ${p99} / max ${all.at(-1)} ms; ${
          all.filter((x) => x >= 10).length
        } of ${all.length} runs waited >= 10 ms, ${all.filter((x) => x > 0).length} at all; GCs: engine ${gcs.length} (${
          fixed(gcs.reduce((s, g) => s + g.ms, 0))
        } ms, longest ${longestGc(gcs)}), worker ${fromWorker.gcs.length} (${
          fixed(fromWorker.gcs.reduce((s, g) => s + g.ms, 0))
        } ms, longest ${longestGc(fromWorker.gcs)}); CPU per run: worker ${
          (workerCpuUsed / 1000 / ids.length).toFixed(3)
        } ms, engine process ${((engineCpu.user + engineCpu.system) / 1000 / ids.length).toFixed(3)} ms; load ${
          os.loadavg()[0]!.toFixed(2)
        }`
      )
      console.log(`  worker messages per run: ${messagesPerRun(fromWorker.trace, ids.length)}`)
      const short = ticks.filter((t) => slots - t.busyBefore < t.ids.length)
      console.log(
        `  ticks, from the trigger call (p50 / p90 / max ms): call returned ${
          spread(ticks.map((t) => t.returnedAt - t.calledAt))
        }, last START sent ${spread(ticks.map((t) => Math.max(...t.ids.map(sentAt)) - t.calledAt))}, last result recorded ${
          spread(ticks.map((t) => Math.max(...t.ids.map((id) => recorded.get(id)!)) - t.calledAt))
        }; ${short.length} of ${ticks.length} ticks found fewer slots free than they brought runs`
      )
      // a run that waited for a slot: how long after the last result recorded before its START (the
      // result that freed its slot) the START went out, on the monotonic clock
      const results = [...recorded.values()].sort((a, b) => a - b)
      const afterResult = ids.filter((id) => dispatch(id) > 0).map((id) => {
        const sent = sentAt(id)
        return sent - (lastAtOrBefore(results, sent) ?? Number.NaN)
      }).filter((x) => !Number.isNaN(x))
      if (afterResult.length > 0) {
        console.log(
          `  the ${afterResult.length} runs that waited went out after the result before them (freeing their slot) by (p50 / p90 / max ms): ${
            spread(afterResult)
          }`
        )
      }
      const rows = ticks.map((tick, k) => ({ tick, k, worst: Math.max(...tick.ids.map(dispatch)) }))
        .filter((row) => row.worst > 0)
        .sort((a, b) => b.worst - a.worst)
        .slice(0, shown)
      for (const { k, tick, worst } of rows) {
        const previous = ticks[k - 1]
        const from = previous?.calledAt ?? tick.calledAt
        const to = Math.max(...tick.ids.map(sentAt))
        const at = (x: number) => fixed(x - from)
        const inWindow = <A extends { readonly at: number }>(xs: ReadonlyArray<A>) => xs.filter((x) => x.at >= from - 5 && x.at <= to)
        const waited = tick.ids.filter((id) => dispatch(id) > 0).length
        const marks = (label: string) => fromWorker.trace.filter(([l, t]) => l === label && t >= from && t <= to)
        const span = (xs: ReadonlyArray<number>) =>
          xs.length === 0 ? "none" : `+${at(Math.min(...xs))}..+${at(Math.max(...xs))} (${xs.length})`
        console.log(
          `  tick ${k}: ${waited} of ${tick.ids.length} runs waited, worst ${worst} ms; slots in use ${tick.busyBefore} → ${tick.busyAfter}; trigger called at +${
            at(tick.calledAt)
          }, returned +${at(tick.returnedAt)}; its last START sent +${at(to)}`
        )
        if (previous !== undefined) {
          console.log(
            `    tick before: STARTs sent ${span(previous.ids.map(sentAt))}, results recorded ${
              span(previous.ids.map((id) => recorded.get(id)!))
            }`
          )
        }
        console.log(
          `    worker: START decodes ${span(marks("w:AssignedAction.decode").map(([, t]) => t))}, batch encodes ${
            span(marks("w:BatchActionEvent.encode").map(([, t]) => t))
          }, answers decoded ${span(marks("w:ActionEventResponse.decode").map(([, t]) => t))}`
        )
        const gcText = (who: string, xs: ReadonlyArray<GcMark>) =>
          inWindow(xs).map((g) => `${who} ${g.kind} ${fixed(g.ms)} ms at +${at(g.at)}`)
        const gaps = inWindow(loopGaps).filter((g) => g.ms >= 8).map((g) => `engine loop gap ${fixed(g.ms)} ms at +${at(g.at)}`)
        const notes = [...gcText("engine", gcs), ...gcText("worker", fromWorker.gcs), ...gaps]
        if (notes.length > 0) console.log(`    ${notes.join("; ")}`)
      }
    }
  }
  console.log("")
  for (const [mode, xs] of p99s) console.log(`dispatch p99, ${mode}: ${xs.join(" / ")} ms`)
  console.log(`load ${load()}`)
})

await Effect.runPromise(
  Effect.scoped(program).pipe(
    Effect.provide(Admin.layer.pipe(Layer.provideMerge(clientLayer({})), Layer.provideMerge(InternalEngine.layer())))
  )
)
process.exit(0)
