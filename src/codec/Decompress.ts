/**
 * Per-connection decompressors: the first step of the receive hot path.
 *
 * @since 0.1.0
 */
import type { Compression, Decompressor } from "./Compression.ts"
import { DecodeError } from "./DecodeError.ts"
import * as Inflate from "./Inflate.ts"
import type { ZlibEngine } from "./ZlibHandle.ts"
import * as ZstdDecompress from "./ZstdDecompress.ts"

/**
 * One connection's decompressor (see `Compression.ts`).
 *
 * @since 0.1.0
 */
export type { Decompressor } from "./Compression.ts"

/**
 * Options for {@link make}.
 *
 * - `maxMessageBytes`: the most bytes one message may buffer (compressed) or inflate to; more is a
 *   `"TooLarge"` {@link DecodeError}. Default 64 MiB.
 * - `zlibEngine`: `"auto"` (default) drives node's zlib synchronously when possible, `"portable"`
 *   forces the fallback on public node API.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly maxMessageBytes?: number | undefined
  readonly zlibEngine?: ZlibEngine | undefined
}

/**
 * The default limit on one message, compressed or not: 64 MiB.
 *
 * @since 0.1.0
 */
export const defaultMaxMessageBytes = 64 * 1024 * 1024

const makePassthrough = (maxMessageBytes: number): Decompressor => {
  let failure: DecodeError | undefined
  return {
    compression: "none",
    push: (frame) => {
      if (failure === undefined && frame.length > maxMessageBytes) {
        failure = new DecodeError({ reason: "TooLarge", message: `message over ${maxMessageBytes} bytes` })
      }
      return failure ?? frame
    },
    close: () => {}
  }
}

/**
 * Whether this environment can decode `compression`: `"none"` and `"zlib-stream"` always,
 * `"zstd-stream"` only when the optional native `zstd-napi` loads. Check it before asking the
 * gateway for a compression.
 *
 * @since 0.1.0
 */
export const isAvailable = (compression: Compression): boolean =>
  compression === "zstd-stream" ? ZstdDecompress.isAvailable() : true

/**
 * Creates the decompressor for a new connection. For `"zstd-stream"` without `zstd-napi` (see
 * {@link isAvailable}) every `push` returns a `"Zstd"` {@link DecodeError} saying so.
 *
 * @since 0.1.0
 */
export const make = (compression: Compression, options?: Options): Decompressor => {
  const maxMessageBytes = options?.maxMessageBytes ?? defaultMaxMessageBytes
  switch (compression) {
    case "none":
      return makePassthrough(maxMessageBytes)
    case "zlib-stream":
      return Inflate.make(maxMessageBytes, options?.zlibEngine ?? "auto")
    case "zstd-stream":
      return ZstdDecompress.make(maxMessageBytes)
  }
}
