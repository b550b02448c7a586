/**
 * zlib-stream decompression: one inflate context per connection; frames are buffered until the data
 * ends with `00 00 ff ff`, then the message is inflated at once, in order.
 *
 * @since 0.1.0
 */
import { constants } from "node:buffer"
import * as Zlib from "node:zlib"
import { zlibSuffix, zlibWindowBytes } from "./Compression.ts"
import type { Decompressor } from "./Compression.ts"
import { DecodeError } from "./DecodeError.ts"
import * as ZlibHandle from "./ZlibHandle.ts"

/**
 * Inflates one complete message (compressed bytes ending with the sync-flush suffix); `close`
 * frees what the engine holds outside the JS heap.
 */
interface Inflater {
  readonly inflate: (compressed: Uint8Array) => Uint8Array | DecodeError
  readonly close: () => void
}

const SYNC_FLUSH = Zlib.constants.Z_SYNC_FLUSH
const { MAX_LENGTH } = constants

const tooLarge = (maxMessageBytes: number): DecodeError =>
  new DecodeError({ reason: "TooLarge", message: `zlib-stream message over ${maxMessageBytes} bytes` })

/**
 * The fast engine: node's own inflate context driven synchronously (see `ZlibHandle`), or
 * `undefined` when this node version does not allow it.
 */
const nativeInflater = (maxMessageBytes: number): Inflater | undefined => {
  const context = ZlibHandle.open("inflate", maxMessageBytes)
  if (context === undefined) return undefined
  return {
    inflate: (compressed) => {
      const output = context.process(compressed, SYNC_FLUSH)
      if (!ZlibHandle.isFailure(output)) return output
      return output.reason === "TooLarge"
        ? tooLarge(maxMessageBytes)
        : new DecodeError({ reason: "Inflate", message: output.message })
    },
    close: () => context.close()
  }
}

// a zlib stream's first byte: the deflate method (8) and a window of at most 32 KiB
const isZlibFirstByte = (cmf: number): boolean => (cmf & 0x0f) === 8 && cmf >> 4 <= 7
// its first two bytes: that, and the check bits making them, read as a number, a multiple of 31
const isZlibHeader = (cmf: number, flg: number): boolean => isZlibFirstByte(cmf) && ((cmf << 8) | flg) % 31 === 0

// a whole zlib stream's header, without a preset dictionary
const validZlibHeader = (bytes: Uint8Array): boolean => {
  const cmf = bytes[0]
  const flg = bytes[1]
  return cmf !== undefined && flg !== undefined && isZlibHeader(cmf, flg) && (flg & 0x20) === 0
}

// the most bytes Adler-32's sums take before their modulo without leaving exact integers
const adlerRun = 5552

/** `adler` after `bytes` (RFC 1950). */
const addAdler32 = (adler: { a: number; b: number }, bytes: Uint8Array): void => {
  let { a, b } = adler
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + adlerRun, bytes.length)
    for (; i < end; i++) {
      a += bytes[i]!
      b += a
    }
    a %= 65521
    b %= 65521
  }
  adler.a = a
  adler.b = b
}

/** What `inflateRawSync` returns with `info: true` (node's docs; its types say a `Buffer`). */
interface Inflated {
  readonly buffer: Buffer
  readonly engine: { readonly bytesWritten: number }
}

/**
 * The fallback engine, on public node API only: each message is inflated raw with the last 32 KiB
 * of output as preset dictionary. A sync flush ends every message on a byte boundary with no open
 * block, so the window is the only state the next message needs. Slower (a new inflate state and a
 * window copy per message), the same messages from every stream a gateway sends; a damaged flush
 * (which the fast engine keeps as an open block and fails on at the next message) it may get past.
 */
const portableInflater = (maxMessageBytes: number): Inflater["inflate"] => {
  let window: Uint8Array | undefined
  // the Adler-32 of the output so far, for the checksum a stream that ends carries
  const adler = { a: 1, b: 0 }
  // whether the stream ended: anything after it fails, as with the fast engine
  let ended = false
  return (compressed) => {
    if (ended) return new DecodeError({ reason: "Inflate", message: "zlib: data after the end of the stream" })
    let body = compressed
    if (window === undefined) {
      if (!validZlibHeader(compressed)) {
        return new DecodeError({ reason: "Inflate", message: "zlib-stream: the stream does not start with a zlib header" })
      }
      body = compressed.subarray(2)
    }
    // node refuses a maxOutputLength over the largest buffer it can make
    const options: Zlib.ZlibOptions = { finishFlush: SYNC_FLUSH, maxOutputLength: Math.min(maxMessageBytes, MAX_LENGTH) }
    if (window !== undefined && window.length > 0) options.dictionary = window
    let inflated: Inflated
    try {
      inflated = Zlib.inflateRawSync(body, { ...options, info: true }) as unknown as Inflated
    } catch (error) {
      if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") return tooLarge(maxMessageBytes)
      return new DecodeError({ reason: "Inflate", message: `zlib: ${(error as Error).message}` })
    }
    const output = inflated.buffer
    addAdler32(adler, output)
    // raw inflate stops at a final block and leaves the rest, the stream's checksum first, which it
    // does not check: checked here, as the fast engine checks it; the message is given, and what
    // comes after it fails (zlib-stream never ends its stream: it went unread, the connection deaf)
    const used = inflated.engine.bytesWritten
    if (used < body.length) {
      const trailer = body.subarray(used, used + 4)
      const expected = trailer.length === 4 ? new DataView(trailer.buffer, trailer.byteOffset).getUint32(0) : -1
      if (expected !== ((adler.b << 16) | adler.a) >>> 0) {
        return new DecodeError({ reason: "Inflate", message: "zlib: incorrect data check" })
      }
      ended = true
    }
    const history = window === undefined || window.length === 0 ? output : Buffer.concat([window, output])
    window = Buffer.from(history.subarray(Math.max(0, history.length - zlibWindowBytes)))
    return output
  }
}

// What a frame held for a message costs beyond its bytes (the Buffer and its place in the list),
// counted against `maxMessageBytes`: a message sent as a million 1-byte frames would otherwise hold
// about a hundred times its size.
const frameCost = 128

const endsWithSuffix = (chunks: ReadonlyArray<Uint8Array>): boolean => {
  let needed = zlibSuffix.length
  for (let c = chunks.length - 1; c >= 0 && needed > 0; c--) {
    const chunk = chunks[c]!
    for (let i = chunk.length - 1; i >= 0 && needed > 0; i--) {
      needed--
      if (chunk[i] !== zlibSuffix[needed]) return false
    }
  }
  return needed === 0
}

const notCompressed = (bytes: ReadonlyArray<number>): DecodeError =>
  new DecodeError({
    reason: "Inflate",
    message: `zlib-stream: the stream does not begin with a zlib header (it begins ${
      bytes.map((byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ")
    }): the gateway is not compressing it with zlib`
  })

/**
 * Creates a zlib-stream decompressor. Frames are kept as they come and joined only when a message
 * spans several of them; the common one-frame message is inflated straight from the frame.
 *
 * @since 0.1.0
 */
export const make = (maxMessageBytes: number, engine: ZlibHandle.ZlibEngine): Decompressor => {
  // the portable engine holds nothing outside the JS heap between messages
  const { close, inflate } = (engine === "auto" ? nativeInflater(maxMessageBytes) : undefined) ??
    { inflate: portableInflater(maxMessageBytes), close: () => {} }
  const pending: Array<Uint8Array> = []
  let pendingBytes = 0
  let failure: DecodeError | undefined
  // the stream's first byte, once seen (-1 before), until its header was read whole
  let firstByte = -1
  let headerRead = false
  const finish = (output: Uint8Array | DecodeError): Uint8Array | DecodeError => {
    if (output instanceof DecodeError) failure = output
    return output
  }
  // the header's two bytes, read from the stream's first frames (one of a byte has half of it)
  const headerProblem = (frame: Uint8Array): DecodeError | undefined => {
    let at = 0
    if (firstByte < 0) {
      firstByte = frame[at++]!
      if (!isZlibFirstByte(firstByte)) return notCompressed([firstByte])
    }
    if (at === frame.length) return undefined
    headerRead = true
    return isZlibHeader(firstByte, frame[at]!) ? undefined : notCompressed([firstByte, frame[at]!])
  }
  return {
    compression: "zlib-stream",
    push: (frame) => {
      if (failure !== undefined) return failure
      if (frame.length === 0) return undefined
      // a stream that does not begin as zlib's (a gateway or proxy that sends plain messages, or
      // zstd's) never ends a message: the connection waited deaf for its Hello timeout
      if (!headerRead) {
        const notZlib = headerProblem(frame)
        if (notZlib !== undefined) return finish(notZlib)
      }
      const total = pendingBytes + frame.length
      // what the frames held cost in memory: their bytes, and `frameCost` more for each
      const frames = pending.length + 1
      if (total + frames * frameCost > maxMessageBytes) {
        pending.length = 0
        return finish(
          new DecodeError({
            reason: "TooLarge",
            message: `zlib-stream message over ${maxMessageBytes} bytes, counting ${frameCost} more for each of its ${frames} frames`
          })
        )
      }
      pending.push(frame)
      pendingBytes = total
      if (!endsWithSuffix(pending)) return undefined
      const message = pending.length === 1 ? frame : Buffer.concat(pending, total)
      pending.length = 0
      pendingBytes = 0
      return finish(inflate(message))
    },
    close: () => {
      pending.length = 0
      failure ??= new DecodeError({ reason: "Inflate", message: "zlib: the context was closed" })
      close()
    }
  }
}
