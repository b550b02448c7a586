/**
 * Per-connection stream compressors, as a gateway sends: one context for the whole connection,
 * every message flushed so that the peer can decode it at once. Used by the test and benchmark
 * gateways; not on the client's hot path.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Zlib from "node:zlib"
import { type Compression, zlibWindowBytes } from "./Compression.ts"
import * as ZlibHandle from "./ZlibHandle.ts"
import * as ZstdNative from "./ZstdNative.ts"

/**
 * A compressor could not be created: the optional native zstd binding is missing.
 *
 * @since 0.1.0
 */
export class CompressError extends Data.TaggedError("CompressError")<{
  readonly reason: "ZstdUnavailable"
  readonly message: string
}> {}

/**
 * One connection's compressor. `compress` returns one websocket frame's worth of bytes for one
 * message (for `"none"`, the message's UTF-8 bytes).
 *
 * @since 0.1.0
 */
export interface Compressor {
  readonly compression: Compression
  compress(message: string | Uint8Array): Uint8Array
}

/**
 * Options for {@link make}.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly zlibEngine?: ZlibHandle.ZlibEngine | undefined
}

const encoder = new TextEncoder()
const toBytes = (message: string | Uint8Array): Uint8Array =>
  typeof message === "string" ? encoder.encode(message) : message

const ZLIB_HEADER = Uint8Array.of(0x78, 0x9c)

/**
 * Creates a zlib-stream compressor: one deflate context, every message ends with `00 00 ff ff`.
 * With `"portable"` (or when node's internal is missing) each message is deflated raw with the last
 * 32 KiB of the stream as preset dictionary, which yields a stream the same single inflate context
 * decodes.
 */
const makeZlib = (options?: Options): Compressor => {
  const context = options?.zlibEngine === "portable" ? undefined : ZlibHandle.open("deflate", Number.MAX_SAFE_INTEGER)
  if (context !== undefined) {
    return {
      compression: "zlib-stream",
      compress: (message) => {
        const output = context.process(toBytes(message), Zlib.constants.Z_SYNC_FLUSH)
        if (ZlibHandle.isFailure(output)) throw new Error(output.message)
        return Buffer.from(output)
      }
    }
  }
  let window: Uint8Array | undefined
  return {
    compression: "zlib-stream",
    compress: (message) => {
      const input = toBytes(message)
      const options: Zlib.ZlibOptions = { finishFlush: Zlib.constants.Z_SYNC_FLUSH }
      if (window !== undefined && window.length > 0) options.dictionary = window
      const body = Zlib.deflateRawSync(input, options)
      const frame = window === undefined ? Buffer.concat([ZLIB_HEADER, body]) : body
      const history: Uint8Array = window === undefined ? input : Buffer.concat([window, input])
      window = history.subarray(Math.max(0, history.length - zlibWindowBytes))
      return frame
    }
  }
}

/**
 * Creates a zstd-stream compressor: one zstd context, every message flushed (`ZSTD_e_flush`) without
 * ending the frame. Loads the optional native `zstd-napi` on first use and throws a
 * {@link CompressError} when it is missing.
 */
const unsafeMakeZstd = (): Compressor => {
  const binding = ZstdNative.load()
  if (binding === undefined) {
    throw new CompressError({ reason: "ZstdUnavailable", message: ZstdNative.unavailableMessage() })
  }
  const context = new binding.CCtx()
  const flush = binding.EndDirective.flush
  const outSize = binding.cStreamOutSize()
  return {
    compression: "zstd-stream",
    compress: (message) => {
      let input = toBytes(message)
      const chunks: Array<Uint8Array> = []
      let remaining = 1
      while (remaining !== 0) {
        const output = Buffer.allocUnsafe(outSize)
        const [left, produced, consumed] = context.compressStream2(output, input, flush)
        remaining = left
        input = input.subarray(consumed)
        if (produced > 0) chunks.push(output.subarray(0, produced))
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    }
  }
}

const passthrough: Compressor = { compression: "none", compress: toBytes }

/**
 * Creates a compressor synchronously; throws a {@link CompressError} when zstd-stream is asked
 * for and `zstd-napi` is missing.
 *
 * @since 0.1.0
 */
export const unsafeMake = (compression: Compression, options?: Options): Compressor => {
  switch (compression) {
    case "none":
      return passthrough
    case "zlib-stream":
      return makeZlib(options)
    case "zstd-stream":
      return unsafeMakeZstd()
  }
}

/**
 * Creates a compressor for one connection; fails with {@link CompressError} when zstd-stream is
 * asked for and `zstd-napi` is missing.
 *
 * @since 0.1.0
 */
export const make = (compression: Compression, options?: Options): Effect.Effect<Compressor, CompressError> =>
  compression === "zstd-stream"
    ? Effect.try({
      try: () => unsafeMake(compression, options),
      catch: (error) =>
        error instanceof CompressError
          ? error
          : new CompressError({ reason: "ZstdUnavailable", message: `${ZstdNative.unavailableMessage()}: ${String(error)}` })
    })
    // a zlib context that cannot be made (memory) is no missing zstd: a defect, as it is
    : Effect.sync(() => unsafeMake(compression, options))
