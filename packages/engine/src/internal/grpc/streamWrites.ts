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
 * Unary responses are left to grpc-js as they are (the interceptor returns the call unchanged).
 *
 * @internal
 */
import { ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from "@grpc/grpc-js"

/** Incomplete writes past which a message waits for an earlier write to complete. */
export const defaultWindow = 64

/**
 * A streaming call whose messages are acknowledged before their write completes (see the module);
 * everything else is grpc-js's pass-through intercepting call.
 */
class UnawaitedWrites extends ServerInterceptingCall {
  /** Messages handed to the HTTP/2 stream whose write has not completed. */
  private incomplete = 0
  /** Acknowledgements held back while `window` writes were incomplete, oldest first. */
  private held: Array<() => void> = []
  private readonly written = () => {
    this.incomplete--
    if (this.held.length > 0) this.held.shift()!()
  }

  constructor(private readonly call: ServerInterceptingCallInterface, private readonly window: number) {
    super(call)
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.incomplete++
    this.call.sendMessage(message, this.written)
    if (this.incomplete <= this.window) callback()
    else this.held.push(callback)
  }
}

/** The interceptor: streaming responses' writes unawaited up to `window` (see the module). */
export const unawaitedStreamWrites = (window: number = defaultWindow): ServerInterceptor => (method, call) =>
  // grpc-js types an interceptor's result as its class, but its server only uses the interface:
  // a unary call goes on as it came, without a pass-through layer
  method.responseStream ? new UnawaitedWrites(call, window) : call as ServerInterceptingCall
