/**
 * zstd-stream decompression: one streaming context per connection. Each websocket message is one
 * gateway message, flushed but never ending the zstd frame, so all output a message produces is the
 * message.
 *
 * @since 0.1.0
 */
import { Decompress as FzstdStream, decompress as fzstdDecompress } from "fzstd"
import type { Decompressor } from "./Decompress.ts"
import { DecodeError } from "./DecodeError.ts"
import * as ZstdNative from "./ZstdNative.ts"

/**
 * Which zstd engine to use: `"auto"` takes the native `zstd-napi` when it is installed (much faster,
 * see bench/INFLATE.md) and the pure JS `fzstd` otherwise; `"portable"` always takes `fzstd`.
 *
 * @since 0.1.0
 */
export type ZstdEngine = "auto" | "portable"

/**
 * The largest zstd window accepted (zstd's own default limit, 128 MiB): a hostile frame header
 * cannot make the decoder allocate more.
 *
 * @since 0.1.0
 */
export const maxWindowBytes = 128 * 1024 * 1024

const tooLarge = (maxMessageBytes: number): DecodeError =>
  new DecodeError({ reason: "TooLarge", message: `zstd-stream message over ${maxMessageBytes} bytes` })

const corrupt = (error: unknown): DecodeError =>
  new DecodeError({ reason: "Zstd", message: `zstd: ${error instanceof Error ? error.message : String(error)}` })

const join = (parts: ReadonlyArray<Uint8Array>, total: number): Uint8Array =>
  parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)

/**
 * A native decompressor over `zstd-napi`'s `ZSTD_decompressStream`, or `undefined` when the package
 * is not installed.
 *
 * @since 0.1.0
 */
export const makeNative = (maxMessageBytes: number): Decompressor | undefined => {
  const binding = ZstdNative.load()
  if (binding === undefined) return undefined
  const context = new binding.DCtx()
  const chunkBytes = binding.dStreamOutSize()
  const chunk = Buffer.allocUnsafe(chunkBytes)
  const parts: Array<Uint8Array> = []
  let failure: DecodeError | undefined
  const decode = (frame: Uint8Array): Uint8Array | DecodeError => {
    let input = frame
    let total = 0
    parts.length = 0
    for (;;) {
      const [, produced, consumed] = context.decompressStream(chunk, input)
      input = input.subarray(consumed)
      total += produced
      if (total > maxMessageBytes) return tooLarge(maxMessageBytes)
      const more = produced === chunkBytes || input.length > 0
      if (!more && parts.length === 0) return chunk.subarray(0, produced)
      if (produced > 0) parts.push(Buffer.from(chunk.subarray(0, produced)))
      if (!more) return join(parts, total)
      if (produced === 0 && consumed === 0) return corrupt("no progress")
    }
  }
  return {
    compression: "zstd-stream",
    push: (frame) => {
      if (failure !== undefined) return failure
      let output: Uint8Array | DecodeError
      try {
        output = decode(frame)
      } catch (error) {
        output = corrupt(error)
      }
      if (output instanceof DecodeError) failure = output
      return output
    }
  }
}

/** fzstd's private state, read to work around its wait for 18 bytes at the start of a frame. */
interface FzstdInternals {
  readonly s?: unknown
  readonly l?: unknown
  readonly c?: unknown
}

const heldFrameStart = (stream: FzstdStream): ReadonlyArray<Uint8Array> | undefined => {
  const internals = stream as unknown as FzstdInternals
  if (internals.s !== undefined && internals.s !== 0) return undefined
  return typeof internals.l === "number" && internals.l > 0 && Array.isArray(internals.c)
    ? internals.c as ReadonlyArray<Uint8Array>
    : undefined
}

const isFrameStart = (stream: FzstdStream): boolean => {
  const state = (stream as unknown as FzstdInternals).s
  return state === undefined || state === 0
}

/**
 * The window size a zstd frame header asks for, or `undefined` when `bytes` does not start with a
 * complete zstd frame header.
 *
 * @since 0.1.0
 */
export const frameWindowBytes = (bytes: Uint8Array): number | undefined => {
  if (bytes.length < 6 || bytes[0] !== 0x28 || bytes[1] !== 0xb5 || bytes[2] !== 0x2f || bytes[3] !== 0xfd) {
    return undefined
  }
  const descriptor = bytes[4]!
  const singleSegment = (descriptor >> 5) & 1
  if (singleSegment === 0) {
    const exponent = bytes[5]! >> 3
    const base = 2 ** (10 + exponent)
    return base + (base / 8) * (bytes[5]! & 7)
  }
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!
  const sizeBytes = [1, 2, 4, 8][descriptor >> 6]!
  const offset = 5 + dictionaryBytes
  if (bytes.length < offset + sizeBytes) return undefined
  let size = 0
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + bytes[offset + i]!
  return sizeBytes === 2 ? size + 256 : size
}

const LAST_EMPTY_BLOCK = Uint8Array.of(0x01, 0x00, 0x00)

/**
 * Decodes what fzstd holds back at a frame start (it waits for 18 bytes there) by completing a copy
 * of it into a whole frame with an empty last block. The stream emits the same bytes again once it
 * has enough input; `skip` counts those already returned.
 */
const decodeHeld = (held: ReadonlyArray<Uint8Array>): Uint8Array => {
  const bytes = Buffer.concat(held)
  try {
    return fzstdDecompress(bytes)
  } catch {
    return fzstdDecompress(Buffer.concat([bytes, LAST_EMPTY_BLOCK]))
  }
}

class OutputOverLimit extends Error {}

/**
 * A pure JS decompressor over `fzstd`'s streaming `Decompress`. It needs no compiler; it is much
 * slower than the native one on long streams (fzstd shifts its whole window for every block).
 *
 * @since 0.1.0
 */
export const makePortable = (maxMessageBytes: number): Decompressor => {
  const parts: Array<Uint8Array> = []
  let total = 0
  let skip = 0
  const stream = new FzstdStream((block) => {
    total += block.length
    if (total > maxMessageBytes + skip) throw new OutputOverLimit()
    parts.push(block)
  })
  let failure: DecodeError | undefined
  const decode = (frame: Uint8Array): Uint8Array | DecodeError => {
    if (frame.length > maxMessageBytes) return tooLarge(maxMessageBytes)
    if (isFrameStart(stream)) {
      const held = heldFrameStart(stream)
      const window = frameWindowBytes(held === undefined ? frame : Buffer.concat([...held, frame]))
      if (window !== undefined && window > maxWindowBytes) {
        return new DecodeError({ reason: "TooLarge", message: `zstd: window of ${window} bytes over ${maxWindowBytes}` })
      }
    }
    parts.length = 0
    total = 0
    try {
      stream.push(frame)
    } catch (error) {
      return error instanceof OutputOverLimit ? tooLarge(maxMessageBytes) : corrupt(error)
    }
    let output = join(parts, total)
    if (skip > 0) {
      const skipped = Math.min(skip, output.length)
      output = output.subarray(skipped)
      skip -= skipped
    }
    const held = heldFrameStart(stream)
    if (held === undefined) return output
    const early = decodeHeld(held)
    if (early.length > maxMessageBytes) return tooLarge(maxMessageBytes)
    const fresh = early.subarray(skip)
    skip = early.length
    return output.length === 0 ? fresh : Buffer.concat([output, fresh])
  }
  return {
    compression: "zstd-stream",
    push: (frame) => {
      if (failure !== undefined) return failure
      let output: Uint8Array | DecodeError
      try {
        output = decode(frame)
      } catch (error) {
        output = corrupt(error)
      }
      if (output instanceof DecodeError) failure = output
      return output
    }
  }
}

/**
 * Creates a zstd-stream decompressor with the chosen engine.
 *
 * @since 0.1.0
 */
export const make = (maxMessageBytes: number, engine: ZstdEngine): Decompressor =>
  (engine === "auto" ? makeNative(maxMessageBytes) : undefined) ?? makePortable(maxMessageBytes)
