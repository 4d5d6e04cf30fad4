/**
 * Following a burst of work to its end without waiting for another turn of the event loop, for
 * the SDK's worker (its step action events) and the local engine (its listen streams' writes).
 *
 * A tick queued from a microtask (`queueMicrotask` then `process.nextTick`) runs once the
 * microtask queue has run empty, before the event loop moves on. One read of an HTTP/2 stream is
 * handled over several such runs: grpc-js hands a client each message of a read in a tick of its
 * own, which is then decoded and handled in microtasks; a server's stream handler writes what it
 * took in microtasks. `whenQuiet` waits for runs of the microtask queue for as long as the last
 * one changed what `count` counts, so a burst is followed to its end, and something alone waits
 * for two runs only: what is then written still leaves in the same turn of the event loop (Node's
 * HTTP/2 sends what a turn queued in its check phase either way).
 *
 * @since 0.1.0
 */

/**
 * Calls `done` once a run of the microtask queue has passed without `count()` changing (read
 * between runs, in a tick). Returns a function that cancels the wait.
 *
 * @since 0.1.0
 */
export const whenQuiet = (count: () => number, done: () => void): () => void => {
  let waiting = true
  let seen: number | undefined
  const check = () => {
    if (!waiting) return
    const now = count()
    if (now === seen) {
      waiting = false
      return done()
    }
    seen = now
    queueMicrotask(hop)
  }
  const hop = () => process.nextTick(check)
  queueMicrotask(hop)
  return () => {
    waiting = false
  }
}
