/**
 * `pnpm bench:trace`: where the time of one run goes, one run at a time, for the official SDK's
 * worker and ours on the local engine (the processes `pnpm bench` uses: the engine and the
 * trigger client in this process, each worker in a child process). Every protobuf message on the
 * run's path is marked when it is encoded (about to be sent) or decoded (just received), in every
 * process, on the machine's monotonic clock (./hooks.ts): `e:` this process (engine and our
 * client), `oc:` the official client here, `w:` our worker, `off:` the official worker.
 *
 * Per worker, after a warm-up: TRACE_RUNS (default 200) runs triggered one at a time as
 * `pnpm bench`'s single-run probe triggers them (BulkTriggerWorkflow of one, the result awaited as
 * the engine records it, ../runObserver.ts, the next run 1 ms later),
 * then, unless TRACE_CLIENT=0, as many runs through each client, triggered and awaited:
 * `Hatchet.run` (ours: TriggerWorkflow, then SubscribeToWorkflowRuns) and the official SDK's
 * `hatchet.run`. For each, the marks in order of their median time from the trigger (p10 / p50 /
 * p90), and per run the step from the mark before (its p50 and mean). For the probe, also the
 * slowest runs (TRACE_OUTLIERS, 10): each one's longest step and the garbage collections of the
 * engine's and the worker's process that overlap it (`PerformanceObserver`, same clock).
 *
 * The figures are wall time on a shared machine: a process that waits for a CPU shows up as a
 * long step: run it on a quiet machine, never under real-time scheduling (`chrt`), where a
 * process that stalls starves the whole machine. TRACE_ORDER ("official,ours") picks the workers.
 */
import * as os from "node:os"
import { eventsOf } from "../../../engine/src/internal/domain/taskEvents.js"
import { type GcMark, gcs, hookProtos, mark, marks, observeGc } from "./hooks.js"

// before any client or server exists
await hookProtos("e:", "oc:")
observeGc()
const { Admin, Hatchet, Task } = await import("@effect-hatchet/sdk")
const { Effect, Layer, Schedule, Schema } = await import("effect")
const { Engine } = await import("../../../engine/src/Engine.js")
const { EngineCore } = await import("../../../engine/src/internal/core.js")
const InternalEngine = await import("../../../engine/src/internal/engine.js")
const Official = await import("../../../engine/test/support/official.js")
const { clientLayer } = await import("../../src/internal/hatchetTest.js")
const { spawnChild } = await import("../child.js")
const { observeRuns } = await import("../runObserver.js")
const { workerMarks } = await import("./workerTrace.js")

const runs = Number(process.env.TRACE_RUNS ?? 200)
const kinds = (process.env.TRACE_ORDER ?? "official,ours").split(",").map((k) => k.trim())
const throughClients = process.env.TRACE_CLIENT !== "0"

const quantile = (xs: ReadonlyArray<number>, q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}
const ms = (x: number) => x.toFixed(3)
const describe = (xs: ReadonlyArray<number>) =>
  `p10 ${ms(quantile(xs, 0.1))}  p50 ${ms(quantile(xs, 0.5))}  p90 ${ms(quantile(xs, 0.9))}  p99 ${ms(quantile(xs, 0.99))}`

/**
 * Each run's marks (both processes) between its start and end, relative to its start, the n-th
 * repeat of a label as `label#n`; printed as a timeline.
 */
const timeline = (title: string, windows: ReadonlyArray<readonly [number, number]>, all: ReadonlyArray<readonly [string, number]>) => {
  const sorted = [...all].sort((a, b) => a[1] - b[1])
  const perRun = windows.map(([from, to]) => {
    const seen = new Map<string, number>()
    for (const [label, at] of sorted) {
      if (at < from || at > to) continue
      let key = label
      for (let n = 2; seen.has(key); n++) key = `${label}#${n}`
      seen.set(key, at - from)
    }
    return seen
  })
  const offsets = new Map<string, Array<number>>()
  for (const run of perRun) for (const [key, at] of run) offsets.set(key, [...(offsets.get(key) ?? []), at])
  const order = [...offsets].filter(([, xs]) => xs.length >= windows.length / 2).sort((a, b) => quantile(a[1], 0.5) - quantile(b[1], 0.5))
  console.log(`\n${title}`)
  console.log(`  ${"from the trigger: p10 / p50 / p90".padEnd(36)}${"step from the mark before: p50 / mean".padEnd(40)}mark [runs]`)
  let previous: string | undefined
  for (const [key, xs] of order) {
    const steps: Array<number> = []
    if (previous !== undefined) {
      for (const run of perRun) {
        const a = run.get(previous)
        const b = run.get(key)
        if (a !== undefined && b !== undefined) steps.push(b - a)
      }
    }
    const step = steps.length === 0 ? "" : `${ms(quantile(steps, 0.5))} / ${ms(steps.reduce((s, x) => s + x, 0) / steps.length)}`
    console.log(
      `  ${`${ms(quantile(xs, 0.1))} / ${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.9))}`.padEnd(36)}${
        step.padEnd(40)
      }${key} [${xs.length}]`
    )
    previous = key
  }
}

const now = () => Number(process.hrtime.bigint()) / 1e6

/**
 * The slowest runs, by the engine's round trip on the marks' clock (its `AssignedAction` encoded →
 * the result recorded): for each, its longest step between two consecutive marks, and the garbage
 * collections of either process that overlap the round trip. Then how the round trip differs
 * between runs with and without a collection in it.
 */
const outliers = (
  windows: ReadonlyArray<readonly [number, number]>,
  all: ReadonlyArray<readonly [string, number]>,
  collections: ReadonlyArray<readonly [string, GcMark]>
) => {
  const sorted = [...all].sort((a, b) => a[1] - b[1])
  const rows = windows.flatMap(([from, to]) => {
    const inRun = sorted.filter(([, at]) => at >= from && at <= to)
    const start = inRun.find(([label]) => label === "e:AssignedAction.encode")?.[1]
    const end = inRun.find(([label]) => label === "e:result recorded")?.[1]
    if (start === undefined || end === undefined || end < start) return []
    let longest = { ms: 0, from: "", to: "" }
    for (let i = 1; i < inRun.length; i++) {
      const step = inRun[i]![1] - inRun[i - 1]![1]
      if (inRun[i]![1] > start && inRun[i - 1]![1] < end && step > longest.ms) {
        longest = { ms: step, from: inRun[i - 1]![0], to: inRun[i]![0] }
      }
    }
    const overlapping = collections.filter(([, gc]) => gc.at < end && gc.at + gc.ms > start)
    return [{ roundTrip: end - start, longest, overlapping, start }]
  })
  rows.sort((a, b) => b.roundTrip - a.roundTrip)
  const shown = Number(process.env.TRACE_OUTLIERS ?? 10)
  console.log(`\n  the ${shown} slowest engine round trips (assignment encoded → result recorded, ms):`)
  for (const row of rows.slice(0, shown)) {
    const gc = row.overlapping.map(([who, g]) => `${who}${g.kind} ${g.ms.toFixed(1)} ms at +${(g.at - row.start).toFixed(1)}`)
    console.log(
      `    ${ms(row.roundTrip).padStart(8)}  longest step ${ms(row.longest.ms)} ${row.longest.from} → ${row.longest.to}${
        gc.length > 0 ? `; gc: ${gc.join(", ")}` : ""
      }`
    )
  }
  const withGc = rows.filter((r) => r.overlapping.length > 0).map((r) => r.roundTrip)
  const without = rows.filter((r) => r.overlapping.length === 0).map((r) => r.roundTrip)
  const top = rows.slice(0, Math.max(1, Math.ceil(rows.length / 100)))
  console.log(
    `  with a collection in the round trip: ${withGc.length} runs (${describe(withGc)}); without: ${without.length} (${
      describe(without)
    }); of the slowest 1 %: ${top.filter((r) => r.overlapping.length > 0).length} of ${top.length} with one`
  )
}

const phase = (kind: string) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* Engine
    const core = yield* EngineCore
    const admin = yield* Admin.Admin
    const since = Date.now()
    const child = yield* spawnChild(new URL("./worker.ts", import.meta.url), {
      ...engine.env,
      BENCH_SLOTS: "100",
      TRACE_KIND: kind
    })
    yield* Effect.suspend(() => {
      for (const w of core.state.workersById.values()) {
        if (w.createdAt >= since && w.isActive && w.lastHeartbeatAt !== undefined) return Effect.void
      }
      return Effect.fail("not yet")
    }).pipe(Effect.retry(Schedule.spaced("20 millis")), Effect.timeout("60 seconds"))
    const trigger = (n: number) =>
      admin.bulkTriggerWorkflow(Array.from({ length: n }, () => ({ name: "bench-noop", input: "{}", desiredWorkerLabels: {} })))
    const finished = (id: string) => core.state.runsById.get(id)?.finishedAt !== undefined
    const awaitRun = (id: string, poll: "1 millis" | "5 millis") =>
      Effect.gen(function*() {
        while (!finished(id)) yield* Effect.sleep(poll)
      })
    const one = Effect.flatMap(trigger(1), ([id]) => Effect.as(awaitRun(id!, "1 millis"), id!))
    yield* Effect.forEach(yield* trigger(500), (id) => awaitRun(id, "5 millis"), { discard: true })
    yield* Effect.repeatN(one, 50)

    // the bench's single-run probe: the result awaited as the engine records it (../runObserver.ts)
    const workerId = [...core.state.workersById.values()].find((w) => w.createdAt >= since && w.isActive)!.id
    const observer = observeRuns(core, workerId, {
      onSent: () => mark("e:START handed to the stream"),
      onRecorded: () => mark("e:result recorded")
    })
    marks.splice(0)
    gcs.splice(0)
    yield* workerMarks(child)
    const windows: Array<readonly [number, number]> = []
    const roundTrips: Array<number> = []
    observer.setActive(true)
    for (let i = 0; i < runs; i++) {
      const from = now()
      mark("trigger")
      const [id] = yield* trigger(1)
      yield* observer.recorded(id!)
      windows.push([from, now()])
      const task = [...core.state.runsById.get(id!)!.tasks.values()][0]!
      const sent = eventsOf(task).filter((e) => e.eventType === "SENT_TO_WORKER").at(-1)!
      if (task.state._tag === "Completed") roundTrips.push(task.state.at - sent.timestamp)
      yield* Effect.sleep("1 millis")
    }
    observer.setActive(false)
    const fromWorker = yield* workerMarks(child)
    console.log(`\n== ${kind} worker: ${runs} runs one at a time (load average ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")})`)
    console.log(`  engine round trip as pnpm bench reports it (START sent → result recorded, whole ms): ${describe(roundTrips)}`)
    const probeMarks = [...marks.splice(0), ...fromWorker.trace]
    timeline(`  ${kind} worker, triggered as pnpm bench's probe triggers:`, windows, probeMarks)
    outliers(windows, probeMarks, [
      ...gcs.splice(0).map((g) => ["engine ", g] as const),
      ...fromWorker.gcs.map((g) => ["worker ", g] as const)
    ])

    if (!throughClients) return
    const Noop = Task.make("bench-noop", { output: Schema.Struct({}) })
    const official = Official.client(engine)
    const clients = [
      ["our client (Hatchet.run)", Effect.asVoid(Hatchet.run(Noop, {}))],
      ["the official client (hatchet.run)", Effect.promise(() => official.run("bench-noop", {}))]
    ] as const
    for (const [name, runOnce] of clients) {
      yield* Effect.repeatN(runOnce, 30)
      marks.splice(0)
      yield* workerMarks(child)
      const windows: Array<readonly [number, number]> = []
      for (let i = 0; i < runs; i++) {
        const from = now()
        mark("client: run")
        yield* runOnce
        mark("client: result")
        windows.push([from, now()])
        yield* Effect.sleep("3 millis")
      }
      const fromWorker = yield* workerMarks(child)
      console.log(`\n  ${name} → ${kind} worker: trigger → result ${describe(windows.map(([a, b]) => b - a))} ms`)
      timeline(`  ${name} → ${kind} worker:`, windows, [...marks.splice(0), ...fromWorker.trace])
    }
  }))

await Effect.runPromise(
  Effect.forEach(kinds, phase, { discard: true }).pipe(
    Effect.provide(Admin.layer.pipe(Layer.provideMerge(clientLayer({})), Layer.provideMerge(InternalEngine.layer())))
  )
)
process.exit(0)
