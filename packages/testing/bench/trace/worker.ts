/**
 * A benchmark worker for `pnpm bench:trace`: ours (../effect-worker.ts) or the official SDK's
 * (../official-worker.ts, with TRACE_KIND=official), with its message types marked (./hooks.ts,
 * labels `w:` for ours, `off:` for the official SDK's). Answers the parent's `"trace"` message
 * with the marks since the last one.
 */
import { hookProtos, marks } from "./hooks.js"

const official = process.env.TRACE_KIND === "official"
await hookProtos("w:", official ? "off:" : undefined)
process.on("message", (message: unknown) => {
  if (message === "trace") process.send!({ trace: marks.splice(0) })
})
await import(official ? "../official-worker.js" : "../effect-worker.js")
