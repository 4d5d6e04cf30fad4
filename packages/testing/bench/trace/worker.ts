/**
 * A benchmark worker for `pnpm bench:trace`: ours (../effect-worker.ts) or the official SDK's
 * (../official-worker.ts, with TRACE_KIND=official), with its message types marked (./hooks.ts,
 * labels `w:` for ours, `off:` for the official SDK's) and its garbage collections recorded.
 * Answers the parent's `"trace"` message with the marks and collections since the last one; with
 * TRACE_GAPS=1 (`pnpm bench`'s BENCH_PROBE_ATTRIBUTE), also the stretches its event loop was
 * blocked (../timeline.ts `gapRecorder`, a 1 ms interval, from the first `"trace"` on).
 */
import { gapRecorder, type GapSpan } from "../timeline.js"
import { gcs, hookProtos, marks, observeGc } from "./hooks.js"

const official = process.env.TRACE_KIND === "official"
await hookProtos("w:", official ? "off:" : undefined)
observeGc()
const gaps = process.env.TRACE_GAPS === "1" ? gapRecorder(() => undefined) : undefined
process.on("message", (message: unknown) => {
  if (message !== "trace") return
  const blocked: ReadonlyArray<GapSpan<undefined>> = gaps?.take() ?? []
  gaps?.start()
  process.send!({ trace: marks.splice(0), gcs: gcs.splice(0), gaps: blocked.map(({ end, start }) => ({ start, end })) })
})
await import(official ? "../official-worker.js" : "../effect-worker.js")
