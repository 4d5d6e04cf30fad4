/**
 * A benchmark worker for `pnpm bench:trace`: ours (../effect-worker.ts) or the official SDK's
 * (../official-worker.ts, with TRACE_KIND=official), with its message types marked (./hooks.ts,
 * labels `w:` for ours, `off:` for the official SDK's) and its garbage collections recorded.
 * Answers the parent's `"trace"` message with the marks and collections since the last one.
 */
import { gcs, hookProtos, marks, observeGc } from "./hooks.js"

const official = process.env.TRACE_KIND === "official"
await hookProtos("w:", official ? "off:" : undefined)
observeGc()
process.on("message", (message: unknown) => {
  if (message === "trace") process.send!({ trace: marks.splice(0), gcs: gcs.splice(0) })
})
await import(official ? "../official-worker.js" : "../effect-worker.js")
