/**
 * Server-stream writes that do not wait for one another (a grpc-js server interceptor).
 *
 * grpc-js writes a server stream's messages one at a time: its call is a Node `Writable` whose
 * `_write` hands a message to the HTTP/2 stream and waits for that write to complete (a turn of
 * the native side) before it takes the next one. Each `AssignedAction` on a worker's listen stream
 * thus costs its own native write, completion callback and stream bookkeeping: about a third of
 * the engine's CPU time per task in `pnpm bench`. Here a streaming response acknowledges a message
 * as soon as it is handed to the HTTP/2 stream, while fewer than `window` writes are incomplete;
 * the HTTP/2 stream (a `Writable` too) queues the messages written while its first write is out
 * and writes them together (`_writev`: one native call). The bytes on the wire are the same
 * sequence of length-prefixed messages, in the same order; only how many of them share a socket
 * write (and a DATA frame) changes, as with grpc-go's buffered writer. Past `window` incomplete
 * writes, a message is acknowledged only as an earlier write completes, so a client that stops
 * reading still holds the handler back (the stream's flow control), as before.
 *
 * A burst on an idle stream (a tick's STARTs): its first message would be written at once, alone
 * (nothing is out), and the rest queued behind it until that write completed, so the worker got
 * the first START alone and ran that task alone, its events as calls of their own. The HTTP/2
 * stream is therefore corked from a burst's first message on an idle stream until a run of the
 * microtask queue writes nothing more (`whenQuiet`): the burst leaves as one write, and a lone
 * message in the same turn of the event loop as before (Node's HTTP/2 sends its frames in the
 * loop's check phase either way). The HTTP/2 stream is grpc-js's private `stream` of its base call
 * (`http2StreamOf`); where it is missing (another grpc-js, or another interceptor in between),
 * nothing is corked.
 *
 * A unary response is acknowledged as soon as it is handed to the HTTP/2 stream too: grpc-js sends
 * the call's OK status (the trailers) from the acknowledgement, which otherwise came only once the
 * message's write had completed, a turn of the native side later, so that the response left in two
 * socket writes and the client read (and woke for) each: its HEADERS and DATA, then its trailers.
 * Now all three leave together, in the same order. A response grpc-js refuses itself (it does not
 * serialize, or is over the size limit) ends the call with grpc-js's own status, and is not
 * acknowledged. Without the HTTP/2 stream (`http2StreamOf`), a unary call goes on as it came.
 *
 * @internal
 */
import { whenQuiet } from "@effect-hatchet/shared/Microtasks"
import { ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from "@grpc/grpc-js"

/** Incomplete writes past which a message waits for an earlier write to complete. */
export const defaultWindow = 64

/** What corking, and telling an ended call, need of a Node `Writable`. */
export interface Corkable {
  readonly cork: () => void
  readonly uncork: () => void
  readonly writableCorked: number
  readonly writableEnded: boolean
}

/**
 * The HTTP/2 stream under a grpc-js base server call (its private `stream` field, grpc-js 1.14),
 * or `undefined` when the call has none that can be corked.
 */
export const http2StreamOf = (call: ServerInterceptingCallInterface): Corkable | undefined => {
  const stream = (call as { readonly stream?: Partial<Corkable> }).stream
  return stream !== undefined && stream !== null && typeof stream.cork === "function" &&
      typeof stream.uncork === "function" && typeof stream.writableCorked === "number" &&
      typeof stream.writableEnded === "boolean"
    ? stream as Corkable
    : undefined
}

/**
 * A streaming call whose messages are acknowledged before their write completes, and whose
 * bursts on an idle stream leave together (see the module); everything else is grpc-js's
 * pass-through intercepting call.
 */
class UnawaitedWrites extends ServerInterceptingCall {
  /** Messages handed to the HTTP/2 stream whose write has not completed. */
  private incomplete = 0
  /** Acknowledgements held back while `window` writes were incomplete, oldest first. */
  private held: Array<() => void> = []
  /** The HTTP/2 stream is corked until the burst's writes are over. */
  private corked = false
  /** Messages handed to the HTTP/2 stream so far. */
  private sent = 0
  private readonly countSent = () => this.sent
  private readonly written = () => {
    this.incomplete--
    if (this.held.length > 0) this.held.shift()!()
  }
  private readonly uncork = () => {
    this.corked = false
    this.stream!.uncork()
  }

  constructor(
    private readonly call: ServerInterceptingCallInterface,
    private readonly window: number,
    private readonly stream: Corkable | undefined
  ) {
    super(call)
  }

  override sendMessage(message: unknown, callback: () => void): void {
    // an idle stream's first message: the rest of the burst joins it (a busy stream queues anyway)
    if (this.incomplete === 0 && !this.corked && this.stream !== undefined) {
      this.corked = true
      this.stream.cork()
      whenQuiet(this.countSent, this.uncork)
    }
    this.sent++
    this.incomplete++
    this.call.sendMessage(message, this.written)
    if (this.incomplete <= this.window) callback()
    else this.held.push(callback)
  }
}

const ignore = () => {}

/**
 * A unary call whose response is acknowledged once handed to the HTTP/2 stream, so that grpc-js's
 * status follows it in the same turn (see the module).
 */
class UnawaitedUnaryWrite extends ServerInterceptingCall {
  constructor(private readonly call: ServerInterceptingCallInterface, private readonly stream: Corkable) {
    super(call)
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.call.sendMessage(message, ignore)
    // grpc-js ended the call with a status of its own (a response it refused): nothing to acknowledge
    if (!this.stream.writableEnded) callback()
  }
}

/**
 * The interceptor: streaming responses' writes unawaited up to `window`, a unary response's
 * status in the same turn as the response (see the module).
 */
export const unawaitedStreamWrites = (window: number = defaultWindow): ServerInterceptor => (method, call) => {
  if (method.responseStream) return new UnawaitedWrites(call, window, http2StreamOf(call))
  const stream = http2StreamOf(call)
  // grpc-js types an interceptor's result as its class, but its server only uses the interface:
  // without the HTTP/2 stream, a unary call goes on as it came, without a pass-through layer
  return stream === undefined ? call as ServerInterceptingCall : new UnawaitedUnaryWrite(call, stream)
}
