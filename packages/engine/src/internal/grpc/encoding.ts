/**
 * How the server encodes its responses: as nice-grpc does for a generated (ts-proto) service
 * (`fromPartial`, then `encode`), but into one writer reused across messages instead of a new one
 * per message. A new writer starts at 128 bytes and doubles (copying) until the message fits,
 * which costs more than the encoding itself (the README's Benchmarks). `finish` copies the bytes out, so the writer is free again at once; encoding is
 * synchronous, so no two messages share it. A writer grown past `keptWriterBytes` by a large
 * message is dropped rather than kept. Its ASCII strings of 33 to 127 characters (every UUID, a
 * START's payload and metadata) are copied as bytes (`AsciiWriter`), as the library's own writer
 * does only up to 32.
 *
 * @internal
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire"
import type { MethodDefinition } from "@grpc/grpc-js"
import type { TsProtoServiceDefinition } from "nice-grpc"

/** Messages longer than this leave the writer to the garbage collector. */
export const keptWriterBytes = 64 * 1024

/** The longest string `AsciiWriter` copies itself: its length prefix is one byte. */
const maxAsciiLength = 127

/** The library writer's own ASCII path ends here (`ASCII_MAX_LENGTH` of `@bufbuild/protobuf`). */
const libraryAsciiLength = 32

/** One scratch array for `AsciiWriter`'s strings, and a view of its first n bytes per length n (each made once). */
const scratch = new Uint8Array(maxAsciiLength)
const scratchViews: Array<Uint8Array | undefined> = []

/**
 * A writer whose ASCII strings of up to 127 characters go in byte for byte (length, then the
 * bytes, through `scratch`). The library writer copies only those of up to 32 characters so; a
 * longer one (every UUID: 36) takes its UTF-8 path, a `subarray` view and an `encodeInto` result
 * object per field: about 1 KB of garbage per START. The bytes written are the same.
 */
export class AsciiWriter extends BinaryWriter {
  override string(value: string): this {
    if (typeof value !== "string") return super.string(value)
    const length = value.length
    if (length <= libraryAsciiLength || length > maxAsciiLength) return super.string(value)
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i)
      if (code > 0x7f) return super.string(value)
      scratch[i] = code
    }
    const view = scratchViews[length] ??= scratch.subarray(0, length)
    return this.uint32(length).raw(view)
  }
}

let writer: BinaryWriter = new AsciiWriter()

interface Encodable<M> {
  readonly encode: (message: M, writer?: BinaryWriter) => BinaryWriter
  readonly fromPartial?: (object: unknown) => M
}

/** Encodes `message` into the shared writer; a throw leaves a new writer (no half-written bytes kept). */
const encodeShared = <M>(type: Encodable<M>, message: M): BinaryWriter => {
  try {
    return type.encode(message, writer)
  } catch (error) {
    writer = new AsciiWriter()
    throw error
  }
}

/** The shared writer's bytes, copied out; a writer grown past `keptWriterBytes` is dropped. */
const finishShared = (written: BinaryWriter): Uint8Array => {
  const bytes = written.finish()
  if (bytes.length > keptWriterBytes) writer = new AsciiWriter()
  return bytes
}

/** The bytes of `message`, encoded into the shared writer. */
export const encodeReusing = <M>(type: Encodable<M>, message: M): Uint8Array => finishShared(encodeShared(type, message))

/** `bytes` as a `Buffer` without copying them. */
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** What `takeWritten` reads of a `BinaryWriter` (its private fields, `@bufbuild/protobuf` 2.x). */
interface WriterInternals {
  buffer?: unknown
  pos?: unknown
  stackPos?: unknown
}

/**
 * The bytes written so far, as a view of the writer's own buffer (no copy), the writer emptied
 * for the next message; undefined where the writer's fields are not as expected (another
 * `@bufbuild/protobuf`), or a fork is open.
 */
const takeWritten = (written: BinaryWriter): Buffer | undefined => {
  const internals = written as unknown as WriterInternals
  const { buffer, pos, stackPos } = internals
  if (!(buffer instanceof Uint8Array) || typeof pos !== "number" || !Array.isArray(stackPos) || stackPos.length > 0) return undefined
  internals.pos = 0
  return Buffer.from(buffer.buffer, buffer.byteOffset, pos)
}

/**
 * The bytes of `message`, encoded into the shared writer, as a view of its buffer: valid only
 * until the next message is encoded, so only for a caller that copies them at once. grpc-js's
 * server does (`serializeMessage` copies a response into its length-prefixed frame as soon as it
 * is serialized), so a response leaves without `finish`'s copy of its bytes (a new `ArrayBuffer`
 * per message). Without the writer's fields (`takeWritten`), a copy as `encodeReusing` makes.
 */
export const encodeTransient = <M>(type: Encodable<M>, message: M): Buffer => {
  const written = encodeShared(type, message)
  const view = takeWritten(written)
  if (view === undefined) return asBuffer(finishShared(written))
  if (view.length > keptWriterBytes) writer = new AsciiWriter()
  return view
}

/**
 * The grpc-js definition of a generated (ts-proto) service: its responses encoded by
 * `encodeTransient` (defaults still filled in by `fromPartial`, as handlers may return partial
 * messages), except the methods listed in `complete`, whose handlers build every message whole
 * (their type has no partial fields to fill: `fromPartial` would only copy it), and handed to
 * grpc-js's server as a view of the shared writer's buffer, which it copies into the response's
 * frame at once. A request is decoded from grpc-js's `Buffer` as it comes; requests (encoded only
 * by a client of this definition, such as a test's, which may hold them) are copied out.
 */
export const serverDefinition = <D extends TsProtoServiceDefinition>(
  definition: D,
  complete: ReadonlyArray<keyof D["methods"]> = []
): { readonly [K in keyof D["methods"]]: MethodDefinition<unknown, unknown> } => {
  const methods: Record<string, MethodDefinition<unknown, unknown>> = {}
  for (const [key, method] of Object.entries(definition.methods)) {
    const whole = complete.includes(key)
    const request = method.requestType as unknown as Encodable<unknown> & { readonly decode: (bytes: Uint8Array) => unknown }
    const response = method.responseType as unknown as Encodable<unknown> & { readonly decode: (bytes: Uint8Array) => unknown }
    const fill = (value: unknown, type: Encodable<unknown>) => type.fromPartial === undefined ? value : type.fromPartial(value)
    methods[key] = {
      path: `/${definition.fullName}/${method.name}`,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: (value: unknown) => asBuffer(encodeReusing(request, fill(value, request))),
      requestDeserialize: request.decode,
      responseSerialize: whole
        ? (value: unknown) => encodeTransient(response, value)
        : (value: unknown) => encodeTransient(response, fill(value, response)),
      responseDeserialize: response.decode
    }
  }
  return methods as { readonly [K in keyof D["methods"]]: MethodDefinition<unknown, unknown> }
}
