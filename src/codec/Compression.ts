/**
 * The transport compressions a gateway connection can negotiate.
 *
 * @since 0.1.0
 */

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
