/**
 * `pnpm bench:soak`: does the local engine's memory stay flat under a long steady load?
 *
 * Four processes: the engine (./soak-engine.ts, with `--expose-gc`), our worker
 * (./effect-worker.ts: one no-op task, 100 slots), the REST client (./soak-probe.ts, which makes
 * the list calls below and nothing else, so that its own pauses stay out of the figures) and this
 * one, which triggers `--runs` no-op runs
 * (default 200,000) at a steady `--rate` per second (default 1,000) with `BulkTriggerWorkflow`
 * in ticks of 100 ms. Triggering waits while more than 5 s of runs are unfinished, so a slow
 * machine delays the soak rather than queueing without end.
 *
 * The triggers stop at every 10 % of the runs; once those have completed (as the worker's
 * `hatchet_worker_tasks_completed` counts them), with the engine idle, it prints the
 * engine's RSS and its heap after a full GC, and the p99 of 200 REST list calls in a row as the
 * SDKs make them (`GET /api/v1/stable/tenants/{tenant}/workflow-runs?since=<1 h ago>&only_tasks=false&limit=50`):
 * the list's cost at that size (over `node:http` with a keep-alive connection, as the official
 * SDK's axios client makes it). The same call, made every 50 ms while the runs go on, gives the
 * latency under load (the engine's event loop is busy dispatching then; it pauses while a sample's
 * 200 calls run). While the 200 calls run, the engine's process records its GC pauses (their kind
 * and what each left in the young generation), its event loop's delay and what it allocated in its
 * young generation, shown per call (the robust figure on a loaded machine). The engine also times the
 * list's own work (query, rows, JSON) without HTTP. It ends with the p99s
 * and `memory growth (last half / first half): X.XX`, the mean heap after GC of the samples at
 * 60-100 % over the mean of those at 10-50 % (a flat heap gives 1.00).
 *
 * `BENCH_SOAK_ATTRIBUTE=1` tells, for every call of the samples over 5 ms, what its time went to:
 * the engine's GC pauses (major or scavenge), its event loop blocked while it pruned runs, took a
 * heartbeat or did something else, the engine's or the client's main thread runnable but waiting
 * for a CPU (`/proc/PID/schedstat`), the client's GC or blocked loop; it prints the count of slow
 * calls by the largest share and, per sample, the machine's CPU time against the soak's processes'
 * (the rest is other processes). `BENCH_SOAK_ATTRIBUTE=calls` prints each slow call too. Off by
 * default: it reads the kernel's figures around every call and ticks a 1 ms timer in both processes.
 *
 * `BENCH_DIST=1` runs the engine and the worker on the built packages (`pnpm build` first) instead
 * of the sources through tsx. Flags: `--runs N`, `--rate N` (runs per second), `--engine-options JSON` (`EngineOptions` for
 * the engine, e.g. `'{"retention":{"maxRuns":20000}}'`), `--engine-node-args "ARGS"` (Node/V8
 * flags for the engine process, e.g. `"--trace-gc"` or `"--cpu-prof --cpu-prof-dir=DIR"`).
 */
import * as Admin from "@effect-hatchet/sdk/Admin"
import * as Hatchet from "@effect-hatchet/sdk/Hatchet"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { ChildProcess, Serializable } from "node:child_process"
import * as os from "node:os"
import { spawnChild } from "./child.js"
import type { WorkerReport } from "./report.js"
import { type GapSpan, type GcSpan, machineMs, overlapMs, processRunMs, type SchedStat, type Span } from "./timeline.js"

const flag = (name: string): string | undefined => {
  const args = process.argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    const [key, inline] = args[i]!.split("=", 2) as [string, string | undefined]
    if (key === `--${name}`) return inline ?? args[i + 1]
  }
  return undefined
}

const positive = (name: string, fallback: number) => {
  const value = Number(flag(name) ?? fallback)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer, got ${flag(name)}`)
  return value
}

const total = positive("runs", 200_000)
const rate = positive("rate", 1_000)
const engineOptions = flag("engine-options") ?? "{}"
const engineNodeArgs = (flag("engine-node-args") ?? "").split(" ").filter((arg) => arg !== "")
const slots = 100
const tickMs = 100
const listEveryMs = 50

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const child = (script: string, env: Record<string, string>, nodeArgs: ReadonlyArray<string> = []) =>
  spawnChild(new URL(script, import.meta.url), env, nodeArgs, { source: process.env.BENCH_DIST !== "1" })

/** The next IPC message of `process` that `pick` accepts. */
const message = <A>(process: ChildProcess, pick: (message: unknown) => A | undefined, send?: Serializable) =>
  Effect.async<A>((resume) => {
    const onMessage = (m: unknown) => {
      const picked = pick(m)
      if (picked === undefined) return
      process.off("message", onMessage)
      resume(Effect.succeed(picked))
    }
    process.on("message", onMessage)
    if (send !== undefined) process.send(send)
    return Effect.sync(() => process.off("message", onMessage))
  }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("a benchmark process did not answer") }))

const report = (process: ChildProcess) => message(process, (m) => (m as { report?: WorkerReport }).report, "report")

const completedOf = (r: WorkerReport) => {
  const metric = r.metrics["hatchet_worker_tasks_completed"]
  return metric?._tag === "Number" ? metric.value : 0
}

interface EngineList {
  readonly p50: number
  readonly p99: number
  readonly p99WithoutGc: number
  readonly gcPauses: number
  readonly gcMaxMs: number
  readonly held: number
  readonly allocatedKb: number
}

/** What the engine's process saw while the 200 REST calls of a sample ran. */
interface EngineDuringProbes {
  readonly loopDelayMaxMs: number
  readonly loopDelayP99Ms: number
  /** Each GC: V8's kind (`Scavenge`, `MarkSweepCompact`, ...), its pause, the young generation left after it. */
  readonly gcs: ReadonlyArray<{ readonly kind: string; readonly ms: number; readonly survivedKb: number }>
  /** What the engine allocated in its young generation meanwhile (the calls, and anything else it did). */
  readonly allocatedKb: number
  /** A full GC forced after the calls: its wall time and the process's CPU time in it (all GC threads), ms. */
  readonly fullGc: { readonly ms: number; readonly cpuMs: number }
  /** When each request arrived and was answered, the GC pauses, and the stretches the event loop was blocked. */
  readonly timeline: {
    readonly requests: ReadonlyArray<Span>
    readonly gcs: ReadonlyArray<GcSpan>
    readonly gaps: ReadonlyArray<GapSpan<{ readonly held: number; readonly heartbeats: number }>>
  }
}

/** A REST call of a sample, with what the kernel said of each process's main thread around it. */
interface Call extends Span {
  /** The main threads' (client, engine) and whole processes' (worker, engine's other threads) CPU time. */
  readonly sched: {
    readonly client: Delta
    readonly engine: Delta
    readonly engineOtherThreadsMs: number
    readonly workerMs: number
  }
}

/** What ./soak-probe.ts answers for a sample. */
interface ProbeSample {
  readonly calls: ReadonlyArray<
    Span & {
      readonly before?: { client: SchedStat; engine: SchedStat; engineAll: number; worker: number }
      readonly after?: { client: SchedStat; engine: SchedStat; engineAll: number; worker: number }
    }
  >
  /** The calls under load since the last sample, ms. */
  readonly loaded: ReadonlyArray<number>
  readonly gcs: ReadonlyArray<GcSpan>
  readonly gaps: ReadonlyArray<Span>
}

/** A `SchedStat` difference over a call: ms on a CPU, ms waiting for one. */
type Delta = SchedStat

const slowMs = 5

/**
 * `BENCH_SOAK_ATTRIBUTE=1`: tell what each REST call of the samples over `slowMs` waited on (off by
 * default: the kernel's figures are read around every call, and both processes tick a 1 ms timer);
 * `calls`: print each such call too.
 */
const attributing = process.env.BENCH_SOAK_ATTRIBUTE === "1" || process.env.BENCH_SOAK_ATTRIBUTE === "calls"
  ? process.env.BENCH_SOAK_ATTRIBUTE
  : undefined

/** What a slow call's time went to, ms each (overlapping: the largest is its cause). */
const attribute = (
  call: Call,
  client: { gcs: ReadonlyArray<GcSpan>; gaps: ReadonlyArray<Span> },
  engine: EngineDuringProbes["timeline"]
) => {
  const request = engine.requests.find((r) => r.start >= call.start && r.end <= call.end)
  const gcOf = (gcs: ReadonlyArray<GcSpan>, major: boolean) => overlapMs(call, gcs.filter((gc) => (gc.kind === "Scavenge") !== major))
  const engineGaps = engine.gaps.filter((gap) => gap.end > call.start && gap.start < call.end)
  const pruning = engineGaps.filter((gap) => gap.after.held < gap.before.held)
  const heartbeat = engineGaps.filter((gap) => gap.after.heartbeats !== gap.before.heartbeats && gap.after.held >= gap.before.held)
  const engineGcMs = gcOf(engine.gcs, true) + gcOf(engine.gcs, false)
  const clientGcMs = gcOf(client.gcs, true) + gcOf(client.gcs, false)
  const parts = {
    "engine major GC": gcOf(engine.gcs, true),
    "engine scavenge": gcOf(engine.gcs, false),
    "engine pruning runs": overlapMs(call, pruning),
    "engine heartbeat": overlapMs(call, heartbeat),
    "engine loop blocked, other": Math.max(
      0,
      overlapMs(call, engineGaps) - overlapMs(call, pruning) - overlapMs(call, heartbeat) - engineGcMs -
        call.sched.engine.waitMs
    ),
    "engine waiting for a CPU": call.sched.engine.waitMs,
    "client GC": clientGcMs,
    "client loop blocked, other": Math.max(0, overlapMs(call, client.gaps) - clientGcMs - call.sched.client.waitMs),
    "client waiting for a CPU": call.sched.client.waitMs
  }
  const [cause, ms] = Object.entries(parts).reduce((a, b) => (b[1] > a[1] ? b : a), ["unexplained", 0.5])
  return {
    cause,
    causeMs: ms,
    parts,
    phases: request === undefined
      ? undefined
      : { toEngine: request.start - call.start, inEngine: request.end - request.start, back: call.end - request.end },
    gcs: engine.gcs.filter((gc) => gc.end > call.start && gc.start < call.end)
  }
}

interface Ready {
  readonly env: Record<string, string>
  readonly tenantId: string
}

/** The soak itself, with a client of the engine. */
const soak = (engine: ChildProcess, ready: Ready) =>
  Effect.gen(function*() {
    const worker = yield* child("./effect-worker.ts", { ...ready.env, BENCH_SLOTS: String(slots), BENCH_REPORT_METRICS: "1" })
    // the worker's first report comes once it runs; a first run proves it is registered
    const admin = yield* Admin.Admin
    yield* admin.bulkTriggerWorkflow([{ name: "bench-noop", input: "{}", desiredWorkerLabels: {} }]).pipe(
      Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("60 seconds")))
    )
    const base = yield* Effect.retry(
      Effect.flatMap(report(worker), (r) => completedOf(r) >= 1 ? Effect.succeed(completedOf(r)) : Effect.fail("not yet")),
      Schedule.spaced("100 millis").pipe(Schedule.upTo("60 seconds"))
    )

    // REST list calls, from a process of their own (./soak-probe.ts): one every 50 ms while the soak
    // runs, and 200 in a row at each sample (the calls under load pause meanwhile)
    const probe = yield* child("./soak-probe.ts", {})
    yield* message(probe, (m) => (m as { ready?: boolean }).ready)
    probe.send({
      start: {
        url: `${ready.env.HATCHET_CLIENT_API_URL}/api/v1/stable/tenants/${ready.tenantId}/workflow-runs?only_tasks=false&limit=50`,
        token: ready.env.HATCHET_CLIENT_TOKEN,
        everyMs: listEveryMs
      }
    })
    const pids = { engine: engine.pid!, worker: worker.pid!, probe: probe.pid! }
    const delta = (a: SchedStat | undefined, b: SchedStat | undefined): Delta => ({
      runMs: (b?.runMs ?? 0) - (a?.runMs ?? 0),
      waitMs: (b?.waitMs ?? 0) - (a?.waitMs ?? 0)
    })
    const sample = message(probe, (m) => (m as { sample?: ProbeSample }).sample, { sample: { calls: 200, pids } })

    // steady triggers up to the next sample, waiting while more than 5 s of runs are unfinished
    const completed = yield* Ref.make(0)
    const triggered = yield* Ref.make(0)
    const upTo = yield* Ref.make(Math.round(total / 10))
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000))
    const started = performance.now()
    const trigger = yield* Effect.gen(function*() {
      let due = performance.now()
      for (;;) {
        const sent = yield* Ref.get(triggered)
        if (sent >= total) return
        const until = yield* Ref.get(upTo)
        if (sent < until && sent - (yield* Ref.get(completed)) < rate * 5) {
          const size = Math.min(perTick, until - sent)
          yield* admin.bulkTriggerWorkflow(
            Array.from({ length: size }, () => ({ name: "bench-noop", input: "{}", desiredWorkerLabels: {} }))
          )
          yield* Ref.set(triggered, sent + size)
        }
        due = Math.max(due + tickMs, performance.now() - tickMs)
        yield* Effect.sleep(Duration.millis(Math.max(0, due - performance.now())))
      }
    }).pipe(Effect.fork)
    const awaitCompleted = (atLeast: () => Effect.Effect<number>) =>
      Effect.gen(function*() {
        for (;;) {
          const done = completedOf(yield* report(worker)) - base
          yield* Ref.set(completed, done)
          if (done >= (yield* atLeast())) return done
          yield* Effect.sleep("250 millis")
        }
      })

    // a sample at every 10 %: once the runs up to it have completed, memory and lists, then on
    const heaps: Array<number> = []
    const rss: Array<number> = []
    const quiet: Array<number> = []
    const inEngineP99: Array<number> = []
    const inEngineP99WithoutGc: Array<number> = []
    const allocatedPerCall: Array<number> = []
    const probeGcs: Array<EngineDuringProbes["gcs"][number]> = []
    const fullGcs: Array<EngineDuringProbes["fullGc"]> = []
    const slow: Array<ReturnType<typeof attribute>> = []
    const underLoad: Array<number> = []
    let seen = 0
    for (let step = 1; step <= 10; step++) {
      const target = Math.round((total * step) / 10)
      const done = yield* awaitCompleted(() => Effect.succeed(target))
      // the lists first: the memory report forces a full GC, which shrinks V8's young generation
      const inEngine = yield* message(engine, (m) => (m as { list?: EngineList }).list, "list")
      inEngineP99.push(inEngine.p99)
      inEngineP99WithoutGc.push(inEngine.p99WithoutGc)
      engine.send("probes-start")
      const machineBefore = machineMs()
      const processesRunMs = () => processRunMs("self") + processRunMs(pids.engine) + processRunMs(pids.worker) + processRunMs(pids.probe)
      const oursBefore = attributing ? processesRunMs() : 0
      const sampled = yield* sample
      const calls: Array<Call> = sampled.calls.map((call) => ({
        start: call.start,
        end: call.end,
        sched: {
          client: delta(call.before?.client, call.after?.client),
          engine: delta(call.before?.engine, call.after?.engine),
          engineOtherThreadsMs: (call.after?.engineAll ?? 0) - (call.before?.engineAll ?? 0) -
            delta(call.before?.engine, call.after?.engine).runMs,
          workerMs: (call.after?.worker ?? 0) - (call.before?.worker ?? 0)
        }
      }))
      for (const ms of sampled.loaded) underLoad.push(ms)
      const probes = calls.map((call) => call.end - call.start).sort((a, b) => a - b)
      if (attributing) {
        const machineAfter = machineMs()
        const ours = processesRunMs() - oursBefore
        const machineBusy = machineAfter.busyMs - machineBefore.busyMs
        const wall = calls[calls.length - 1]!.end - calls[0]!.start
        console.log(
          `  the machine during the ${calls.length} calls (${wall.toFixed(0)} ms, 2 CPUs): busy ${machineBusy.toFixed(0)} ms, ` +
            `the soak's four processes ${ours.toFixed(0)} ms, others about ${Math.max(0, machineBusy - ours).toFixed(0)} ms; idle ${
              (machineAfter.idleMs - machineBefore.idleMs).toFixed(0)
            } ms`
        )
      }
      const during = yield* message(engine, (m) => (m as { probes?: EngineDuringProbes }).probes, "probes-end")
      const client = { gcs: sampled.gcs, gaps: sampled.gaps }
      for (const call of attributing ? calls : []) {
        if (call.end - call.start <= slowMs) continue
        const why = attribute(call, client, during.timeline)
        slow.push(why)
        if (attributing === "calls") {
          console.log(
            `  slow call ${(call.end - call.start).toFixed(1)} ms: ${why.cause} ${why.causeMs.toFixed(1)} ms; ${
              Object.entries(why.parts).filter(([, ms]) => ms >= 0.1).map(([part, ms]) => `${part} ${ms.toFixed(1)}`).join(", ")
            }${
              why.phases === undefined
                ? ""
                : `; to the engine ${why.phases.toEngine.toFixed(1)}, in it ${why.phases.inEngine.toFixed(1)}, back ${
                  why.phases.back.toFixed(1)
                } ms`
            }; CPU: engine ${call.sched.engine.runMs.toFixed(1)} (its other threads ${
              call.sched.engineOtherThreadsMs.toFixed(1)
            }), worker ${call.sched.workerMs.toFixed(1)}, client ${call.sched.client.runMs.toFixed(1)} ms${
              why.gcs.map((gc) => `; engine ${gc.kind} ${(gc.end - gc.start).toFixed(1)} ms`).join("")
            }`
          )
        }
      }
      allocatedPerCall.push(during.allocatedKb / 200)
      for (const gc of during.gcs) probeGcs.push(gc)
      fullGcs.push(during.fullGc)
      for (const probe of probes) quiet.push(probe)
      const memory = yield* report(engine)
      yield* Ref.set(upTo, Math.round((total * (step + 1)) / 10))
      const loaded = underLoad.slice(seen).sort((a, b) => a - b)
      seen += loaded.length
      const heap = memory.heapUsedAfterGc ?? memory.heapUsed
      heaps.push(heap)
      rss.push(memory.rss)
      const seconds = (performance.now() - started) / 1000
      console.log(
        `${String(step * 10).padStart(3)} %  ${done.toLocaleString("en-US").padStart(9)} runs  ` +
          `${seconds.toFixed(0).padStart(5)} s  engine RSS ${mib(memory.rss).padStart(10)}  ` +
          `heap after GC ${mib(heap).padStart(10)} (of ${mib(memory.heapTotal)}, external ${mib(memory.external)})  runs held ${
            String(inEngine.held).padStart(7)
          }  ` +
          `list p50 / p99 ${percentile(probes, 50).toFixed(1)} / ${percentile(probes, 99).toFixed(1)} ms ` +
          `(the engine meanwhile: ${(during.allocatedKb / 200).toFixed(1)} KiB allocated a call, ${during.gcs.length} GC pauses${
            during.gcs.map((gc) => ` ${gc.kind} ${gc.ms.toFixed(1)} ms (${gc.survivedKb} KiB left young)`).join(",")
          }, full GC after them ${during.fullGc.ms.toFixed(1)} ms (${during.fullGc.cpuMs.toFixed(1)} ms CPU), ` +
          `event loop delay p99 / max ${during.loopDelayP99Ms.toFixed(1)} / ${during.loopDelayMaxMs.toFixed(1)} ms) ` +
          `(in the engine ${inEngine.p50.toFixed(2)} / ${inEngine.p99.toFixed(2)} ms, ${inEngine.p99WithoutGc.toFixed(2)} without GC, ` +
          `${inEngine.gcPauses} GC pauses up to ${inEngine.gcMaxMs.toFixed(1)} ms, ${
            inEngine.allocatedKb.toFixed(1)
          } KiB allocated a call; ` +
          `under load ${percentile(loaded, 99).toFixed(1)} ms)`
      )
    }
    yield* Fiber.join(trigger)
    const loaded = underLoad.sort((a, b) => a - b)
    quiet.sort((a, b) => a - b)
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
    const seconds = (performance.now() - started) / 1000
    console.log(`${total.toLocaleString("en-US")} runs in ${seconds.toFixed(0)} s (${Math.round(total / seconds)}/s with the pauses)`)
    console.log(
      `list latency at the samples (${quiet.length} calls): p50 ${percentile(quiet, 50).toFixed(1)} ms, p99 ${
        percentile(quiet, 99).toFixed(1)
      } ms`
    )
    const scavenges = probeGcs.filter((gc) => gc.kind === "Scavenge")
    console.log(
      `the engine during those calls: ${Math.min(...allocatedPerCall).toFixed(1)}-${
        Math.max(...allocatedPerCall).toFixed(1)
      } KiB allocated a call; ${probeGcs.length} GC pauses (${scavenges.length} scavenges up to ${
        Math.max(0, ...scavenges.map((gc) => gc.ms)).toFixed(1)
      } ms, ${probeGcs.length - scavenges.length} others up to ${
        Math.max(0, ...probeGcs.filter((gc) => gc.kind !== "Scavenge").map((gc) => gc.ms)).toFixed(1)
      } ms); a full GC after them ${Math.min(...fullGcs.map((gc) => gc.ms)).toFixed(1)}-${
        Math.max(...fullGcs.map((gc) => gc.ms)).toFixed(1)
      } ms (${Math.min(...fullGcs.map((gc) => gc.cpuMs)).toFixed(1)}-${Math.max(...fullGcs.map((gc) => gc.cpuMs)).toFixed(1)} ms of CPU)`
    )
    console.log(
      `list time in the engine (query, rows, JSON), worst sample: p99 ${Math.max(...inEngineP99).toFixed(2)} ms, ${
        Math.max(...inEngineP99WithoutGc).toFixed(2)
      } ms less the GC pauses`
    )
    console.log(
      `list latency under load (${loaded.length} calls): p50 ${percentile(loaded, 50).toFixed(1)} ms, p99 ${
        percentile(loaded, 99).toFixed(1)
      } ms`
    )
    const causes = new Map<string, Array<number>>()
    for (const why of slow) causes.set(why.cause, [...(causes.get(why.cause) ?? []), why.causeMs])
    if (attributing) {
      console.log(
        `calls over ${slowMs} ms at the samples: ${slow.length} of ${quiet.length}, by the largest share of their time:${
          [...causes].sort((a, b) => b[1].length - a[1].length).map(([cause, ms]) =>
            ` ${cause} ${ms.length} (${Math.min(...ms).toFixed(1)}-${Math.max(...ms).toFixed(1)} ms)`
          ).join(",")
        }`
      )
    }
    console.log(`RSS growth (last half / first half): ${(mean(rss.slice(5)) / mean(rss.slice(0, 5))).toFixed(2)}`)
    console.log(`memory growth (last half / first half): ${(mean(heaps.slice(5)) / mean(heaps.slice(0, 5))).toFixed(2)}`)
  })

const program = Effect.gen(function*() {
  console.log(
    `soak: ${total.toLocaleString("en-US")} runs at ${rate}/s, engine options ${engineOptions}${
      engineNodeArgs.length > 0 ? `, engine node args ${engineNodeArgs.join(" ")}` : ""
    }, load ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")}`
  )
  const engine = yield* child("./soak-engine.ts", { BENCH_ENGINE_OPTIONS: engineOptions }, engineNodeArgs)
  const ready = yield* message(engine, (m) => (m as { ready?: Ready }).ready)
  // the client is the engine's, known once the engine process is up
  yield* soak(engine, ready).pipe(Effect.provide(Admin.layer.pipe(Layer.provideMerge(Hatchet.layer({
    token: ready.env.HATCHET_CLIENT_TOKEN,
    hostPort: ready.env.HATCHET_CLIENT_HOST_PORT,
    apiUrl: ready.env.HATCHET_CLIENT_API_URL,
    tlsStrategy: "none",
    logLevel: "ERROR"
  })))))
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
