/**
 * The per-connection receive pipeline: websocket frame -> decompress -> decode envelope.
 *
 * `push` is a plain synchronous function that returns a union (`Envelope | undefined |
 * DecodeError`) rather than an `Either` or an `Effect`: a frame costs the parsed envelope and
 * nothing else (no wrapper per frame); errors are allocated only when they happen. The session tells
 * the cases apart with `=== undefined` and `instanceof DecodeError` (or `_tag`), and can `yield*` the
 * error directly because it is a `Data.TaggedError`.
 *
 * @since 0.1.0
 */
import type { Compression } from "./Compression.ts"
import * as Decompress from "./Decompress.ts"
import { DecodeError } from "./DecodeError.ts"
import { type Encoding, type Envelope, Skipped, textFrameRefused } from "./Encoding.ts"
import { TextFrame } from "./TextFrame.ts"
import type { ZlibEngine } from "./ZlibHandle.ts"

/**
 * A gateway envelope `{ op, d, s, t }` (re-exported from `Encoding`).
 *
 * @since 0.1.0
 */
export type { Envelope }

/**
 * Options for {@link make}: the connection's compression and encoding, the message size limit
 * (default 64 MiB) and the zlib engine (see `Decompress.Options`).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly compression: Compression
  readonly encoding: Encoding
  readonly maxMessageBytes?: number | undefined
  readonly zlibEngine?: ZlibEngine | undefined
  /**
   * Dispatch types nobody wants: where the encoding can read the header without decoding the
   * message (JSON), such a dispatch comes back with `d` = {@link Skipped}, never parsed. The header
   * is `op`, `s` and `t` before `d`; nothing after `d` is read but the message's closing `}` (a
   * key repeated there goes unseen, and the rest of a skipped message is not checked).
   */
  readonly skip?: ((t: string) => boolean) | undefined
}

/**
 * One connection's decoder. `push` returns the envelope a frame completes, `undefined` while a
 * message is incomplete, or a {@link DecodeError}; after an error it returns that error for every
 * frame (drop the connection). Text frames (a `string` or a {@link TextFrame}) are taken as whole
 * uncompressed messages, or refused by an encoding that is `binaryOnly`.
 *
 * @since 0.1.0
 */
export interface FrameDecoder {
  push(frame: string | TextFrame | Uint8Array): Envelope | undefined | DecodeError
  /**
   * The size of the last message `push` completed: bytes once decompressed (a string's length; an
   * ETF compressed term's once inflated).
   */
  readonly lastMessageSize: number
  /**
   * Lets go of the decompression context (the connection ended): zlib's is freed now, not at a
   * garbage collection; zstd-napi frees its own only when collected (it tells V8 what it holds).
   */
  close(): void
}

/**
 * Creates the decoder for a new connection (a new decompression context each time).
 *
 * @since 0.1.0
 */
export const make = (options: Options): FrameDecoder => {
  const maxMessageBytes = options.maxMessageBytes ?? Decompress.defaultMaxMessageBytes
  const decompressor = Decompress.make(options.compression, {
    maxMessageBytes,
    zlibEngine: options.zlibEngine
  })
  const encoding = options.encoding
  const skip = options.skip
  let failure: DecodeError | undefined
  let lastMessageSize = 0
  const fail = (error: DecodeError): DecodeError => (failure = error)
  return {
    get lastMessageSize() {
      return lastMessageSize
    },
    close: () => decompressor.close(),
    push: (frame) => {
      if (failure !== undefined) return failure
      let message: string | Uint8Array
      if (typeof frame === "string" || frame instanceof TextFrame) {
        message = typeof frame === "string" ? frame : frame.bytes
        // an empty message is no message, in a text frame as in a binary one, whatever the encoding
        if (message.length === 0) return undefined
        if (encoding.binaryOnly === true) return fail(textFrameRefused(encoding.name))
        // a string's UTF-8 bytes, counted only when its length allows it to be over the limit
        const size = typeof message === "string" && message.length * 3 > maxMessageBytes ? Buffer.byteLength(message) : message.length
        if (size > maxMessageBytes) {
          return fail(new DecodeError({ reason: "TooLarge", message: `message over ${maxMessageBytes} bytes` }))
        }
      } else {
        const bytes = decompressor.push(frame)
        if (bytes === undefined) return undefined
        if (bytes instanceof DecodeError) return fail(bytes)
        // no byte of a message (an empty sync flush, `00 00 00 ff ff`, or an empty zstd block): no
        // message, as an empty websocket message is; it was a decode error, and a reconnect
        if (bytes.length === 0) return undefined
        message = bytes
      }
      lastMessageSize = encoding.decodedSize === undefined ? message.length : encoding.decodedSize(message)
      if (skip !== undefined && encoding.header !== undefined) {
        const header = encoding.header(message)
        if (header !== undefined && header.op === 0 && header.t !== null && skip(header.t)) {
          return { op: 0, s: header.s, t: header.t, d: Skipped }
        }
      }
      const envelope = encoding.decode(message, maxMessageBytes)
      return envelope instanceof DecodeError ? fail(envelope) : envelope
    }
  }
}
