/**
 * The transport compressions a gateway connection can negotiate.
 *
 * @since 0.1.0
 */
import type { DecodeError } from "./DecodeError.ts"

/**
 * A gateway transport compression: the `compress` query parameter, or `"none"` when it is absent.
 *
 * @since 0.1.0
 */
export type Compression = "none" | "zlib-stream" | "zstd-stream"

/**
 * Every supported transport compression.
 *
 * @since 0.1.0
 */
export const compressions: ReadonlyArray<Compression> = ["none", "zlib-stream", "zstd-stream"]

/**
 * The four bytes that end every zlib-stream gateway message (the trailer of a `Z_SYNC_FLUSH`).
 *
 * @since 0.1.0
 */
export const zlibSuffix: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff)

/**
 * The bytes of history a zlib stream can refer back to (deflate's 32 KiB window): what a
 * compressor or decompressor started anew must be given to go on with the same stream.
 *
 * @since 0.1.0
 */
export const zlibWindowBytes = 32 * 1024

/**
 * One connection's decompressor. `push` takes one websocket frame and returns the bytes of the
 * message it completes, `undefined` while a message is still incomplete, or a `DecodeError`
 * (after which the decompressor stays dead and returns the same error). Returned bytes may be a view
 * into a buffer the next `push` of any decompressor reuses (one buffer serves every connection of a
 * kind): decode or copy them before pushing again.
 *
 * @since 0.1.0
 */
export interface Decompressor {
  readonly compression: Compression
  push(frame: Uint8Array): Uint8Array | undefined | DecodeError
  /**
   * Lets go of the context (the connection ended): zlib's is freed now, not at a garbage
   * collection; zstd-napi frees its own only when collected (it tells V8 what it holds).
   */
  close(): void
}
