/**
 * The REST client of `pnpm bench:soak`, in a small process of its own: it makes the run-list calls
 * (`GET /api/v1/stable/tenants/{tenant}/workflow-runs?since=<1 h ago>&only_tasks=false&limit=50`,
 * over a keep-alive `node:http` connection, as the official SDK's axios client makes them) and
 * nothing else, so that what it measures is the engine's answer, not the pauses of the soak's own
 * process (which triggers the runs and follows tens of thousands of them).
 *
 * The parent sends `{ start: { url, token, everyMs } }` once: from then on a call every `everyMs`
 * (the latency under load). `{ sample: { calls, pids } }` pauses those, makes `calls` calls in a
 * row and answers `{ sample: { calls: [...], loaded: [...], gcs, gaps } }`: each call's start and
 * end (ms of the shared monotonic clock, ./timeline.ts) with, when `BENCH_SOAK_ATTRIBUTE` is set,
 * what the kernel said of the engine's, the worker's and this process's threads around it; the
 * latencies under load since the last sample; this process's GC pauses and blocked stretches.
 */
import * as http from "node:http"
import { gapRecorder, gcRecorder, hrMs, processRunMs, schedstat } from "./timeline.js"

interface Start {
  readonly url: string
  readonly token: string
  readonly everyMs: number
}

const attributing = (process.env.BENCH_SOAK_ATTRIBUTE ?? "") !== ""
let target: Start | undefined
let agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** One list call: resolves with its status once the answer is read. */
const listOnce = (start: Start) =>
  new Promise<number>((resolve, reject) => {
    const url = `${start.url}&since=${new Date(Date.now() - 3_600_000).toISOString()}`
    const request = http.get(url, { headers: { authorization: `Bearer ${start.token}` }, agent }, (response) => {
      response.on("data", () => {})
      response.on("end", () => resolve(response.statusCode ?? 0))
    })
    request.on("error", reject)
  })

const checked = async (start: Start) => {
  const status = await listOnce(start)
  if (status !== 200) throw new Error(`the run list answered ${status}`)
}

// the calls under load, paused while a sample runs
let loaded: Array<number> = []
let sampling = false
const underLoad = async () => {
  for (;;) {
    const start = target!
    if (!sampling) {
      const began = performance.now()
      await checked(start)
      loaded.push(performance.now() - began)
    }
    await new Promise((resolve) => setTimeout(resolve, start.everyMs))
  }
}

const gcs = gcRecorder()
const gaps = gapRecorder(() => undefined)

const sample = async (count: number, pids: { readonly engine: number; readonly worker: number }) => {
  sampling = true
  // a call under load may still be under way: let it end
  await new Promise((resolve) => setTimeout(resolve, 20))
  const sched = () =>
    attributing
      ? {
        client: schedstat("self"),
        engine: schedstat(pids.engine),
        engineAll: processRunMs(pids.engine),
        worker: processRunMs(pids.worker),
        clientAll: processRunMs("self")
      }
      : undefined
  if (attributing) {
    gcs.start()
    gaps.start()
  }
  const calls: Array<{ start: number; end: number; before: ReturnType<typeof sched>; after: ReturnType<typeof sched> }> = []
  for (let i = 0; i < count; i++) {
    const before = sched()
    const start = hrMs()
    await checked(target!)
    const end = hrMs()
    calls.push({ start, end, before, after: sched() })
  }
  // the GC observer's entries come a tick late
  await new Promise((resolve) => setTimeout(resolve, 10))
  const taken = loaded
  loaded = []
  sampling = false
  return { calls, loaded: taken, gcs: attributing ? gcs.take() : [], gaps: attributing ? gaps.take() : [] }
}

process.on("message", (message: { start?: Start; sample?: { calls: number; pids: { engine: number; worker: number } } }) => {
  if (message.start !== undefined) {
    target = message.start
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    underLoad().catch((error) => {
      console.error(error)
      process.exit(1)
    })
  } else if (message.sample !== undefined) {
    sample(message.sample.calls, message.sample.pids).then((result) => process.send?.({ sample: result }), (error) => {
      console.error(error)
      process.exit(1)
    })
  }
})
process.send?.({ ready: true })
