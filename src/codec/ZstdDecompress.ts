/**
 * zstd-stream decompression over the native `zstd-napi` binding: one `ZSTD_DCtx` per connection.
 * Each websocket message is one gateway message, flushed but never ending the zstd frame, so all
 * output a message produces is the message. Without `zstd-napi` zstd-stream is unavailable: see
 * {@link isAvailable}.
 *
 * @since 0.1.0
 */
import type { Decompressor } from "./Compression.ts"
import { DecodeError } from "./DecodeError.ts"
import * as ZstdNative from "./ZstdNative.ts"

/**
 * The base-2 log of the largest zstd window accepted (2^27 = 128 MiB, zstd's own default limit),
 * set as `ZSTD_d_windowLogMax`: a frame header asking for more is a `"Zstd"` error (not `"TooLarge"`:
 * no `maxMessageBytes` lets it through) before the decoder allocates anything.
 */
const maxWindowLog = 27

/** zstd's text for `ZSTD_error_frameParameter_windowTooLarge`, the one way it reports the limit. */
const WINDOW_TOO_LARGE = "Frame requires too much memory for decoding"

/**
 * Whether zstd-stream can be decoded here: the native `zstd-napi` binding loads.
 *
 * @since 0.1.0
 */
export const isAvailable = (): boolean => ZstdNative.load() !== undefined

const tooLarge = (maxMessageBytes: number): DecodeError =>
  new DecodeError({ reason: "TooLarge", message: `zstd-stream message over ${maxMessageBytes} bytes` })

// a window over the cap is no message over `maxMessageBytes` (no limit lets it through): not
// TooLarge, which twice at one point ends the session asking for a larger `maxMessageBytes`
const failed = (error: unknown): DecodeError => {
  const message = error instanceof Error ? error.message : String(error)
  return new DecodeError({
    reason: "Zstd",
    message: message === WINDOW_TOO_LARGE ? `zstd: frame window over 2^${maxWindowLog} bytes` : `zstd: ${message}`
  })
}

const unavailable = (): Decompressor => {
  const error = new DecodeError({ reason: "Zstd", message: ZstdNative.unavailableMessage() })
  return { compression: "zstd-stream", push: () => error, close: () => {} }
}

// the size of a block's header: what zstd asks for next at a block's start
const blockHeaderBytes = 3

// a zstd frame's magic number (FD 2F B5 28, little-endian), or a skippable frame's (184D2A5x)
const isZstdMagic = (bytes: Uint8Array): boolean =>
  (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd) ||
  ((bytes[0]! & 0xf0) === 0x50 && bytes[1] === 0x2a && bytes[2] === 0x4d && bytes[3] === 0x18)

// a stream that does not begin as zstd's (zlib's, plain messages): said as zlib-stream says it,
// where zstd's own words ("Unknown frame descriptor") named no cause
const notZstd = (frame: Uint8Array): DecodeError | undefined =>
  frame.length < 4 || isZstdMagic(frame) ? undefined : new DecodeError({
    reason: "Zstd",
    message: `zstd-stream: the stream does not begin with a zstd frame (it begins ${
      [...frame.subarray(0, 4)].map((byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ")
    }): the gateway is not compressing it with zstd`
  })

// The output buffer (zstd's recommended 128 KiB), shared by every context, as zlib's is: calls run
// one at a time and their output is read before the next, so a thousand idle connections hold one
// (each held its own, written through by its first large message)
let sharedChunk: Buffer | undefined

const makeNative = (binding: ZstdNative.ZstdBinding, maxMessageBytes: number): Decompressor => {
  const context = new binding.DCtx()
  context.setParameter(binding.DParameter.windowLogMax, maxWindowLog)
  const chunk = sharedChunk ??= Buffer.allocUnsafe(binding.dStreamOutSize())
  const chunkBytes = chunk.length
  const parts: Array<Uint8Array> = []
  let failure: DecodeError | undefined
  // whether the stream's first message was looked at (one of fewer than 4 bytes is left to zstd)
  let begun = false
  const decode = (frame: Uint8Array): Uint8Array | DecodeError => {
    let input = frame
    let total = 0
    for (;;) {
      const [next, produced, consumed] = context.decompressStream(chunk, input)
      input = input.subarray(consumed)
      total += produced
      if (total > maxMessageBytes) return tooLarge(maxMessageBytes)
      const more = produced === chunkBytes || input.length > 0
      // a whole message, flushed, leaves the stream at a block's start (zstd asks for its 3-byte
      // header) or past a frame's end (0): anything else, a block or a skippable frame cut off,
      // would take the next messages in unread (the connection deaf until a zombie check)
      if (!more && next !== 0 && next !== blockHeaderBytes) return failed("the message ends inside a block or a skippable frame")
      if (!more && parts.length === 0) return chunk.subarray(0, produced)
      if (produced > 0) parts.push(Buffer.from(chunk.subarray(0, produced)))
      if (!more) return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)
      if (produced === 0 && consumed === 0) return failed("no progress")
    }
  }
  return {
    compression: "zstd-stream",
    push: (frame) => {
      if (failure !== undefined) return failure
      // an empty websocket message carries no zstd bytes, so no message (as with zlib-stream)
      if (frame.length === 0) return undefined
      if (!begun) {
        begun = true
        const problem = notZstd(frame)
        if (problem !== undefined) return failure = problem
      }
      let output: Uint8Array | DecodeError
      try {
        output = decode(frame)
      } catch (error) {
        output = failed(error)
      } finally {
        // the copies of a message's chunks go with it: kept, they held the last large message (a
        // GUILD_CREATE) until the next frame, up to a heartbeat interval later
        parts.length = 0
      }
      if (output instanceof DecodeError) failure = output
      return output
    },
    // zstd-napi frees a context only when it is collected, and tells V8 what it holds meanwhile
    close: () => {}
  }
}

/**
 * Creates a zstd-stream decompressor. When `zstd-napi` is missing it returns one whose every `push`
 * is a `"Zstd"` {@link DecodeError} saying so (check {@link isAvailable} first to refuse up front).
 *
 * @since 0.1.0
 */
export const make = (maxMessageBytes: number): Decompressor => {
  const binding = ZstdNative.load()
  return binding === undefined ? unavailable() : makeNative(binding, maxMessageBytes)
}
