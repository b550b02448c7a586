/**
 * The seam between transport bytes and gateway envelopes: JSON (`Json.ts`) and ETF (`Etf.ts`).
 *
 * @since 0.1.0
 */
import { DecodeError } from "./DecodeError.ts"
import type { Header } from "./JsonHeader.ts"

/**
 * One gateway frame: `op`, payload `d`, and for dispatches (op 0) the sequence `s` and event name
 * `t` (both `null` otherwise).
 *
 * @since 0.1.0
 */
export interface Envelope {
  readonly op: number
  readonly d: unknown
  readonly s: number | null
  readonly t: string | null
}

/**
 * The gateway `encoding` query parameter.
 *
 * @since 0.1.0
 */
export type EncodingName = "json" | "etf"

/**
 * An encoding. `decode` takes one whole (decompressed) message and returns its envelope or a
 * {@link DecodeError}, never throws, and reads byte input synchronously (the bytes may be a view the
 * decompressor reuses); what the message grows to inside the encoding (ETF's compressed terms) is
 * held to `maxMessageBytes`, over which it fails with reason `TooLarge`. `encode` turns an outgoing
 * payload into a frame.
 *
 * @since 0.1.0
 */
export interface Encoding {
  readonly name: EncodingName
  decode(message: string | Uint8Array, maxMessageBytes?: number): Envelope | DecodeError
  encode(payload: unknown): string | Uint8Array
  /**
   * The size of a message once decoded, where the encoding can compress within a message (ETF);
   * its own size otherwise.
   */
  readonly decodedSize?: ((message: string | Uint8Array) => number) | undefined
  /**
   * Reads `op`, `s` and `t` without decoding the whole message, where the encoding can
   * (`undefined` when it cannot, for this message or at all).
   */
  readonly header?: ((message: string | Uint8Array) => Header | undefined) | undefined
  /**
   * Its messages come in binary frames only (ETF): a connection's decoder refuses a text frame
   * without reading it.
   */
  readonly binaryOnly?: boolean | undefined
}

/**
 * How a text frame is refused by an encoding whose messages come in binary frames only (ETF).
 *
 * @since 0.1.0
 */
export const textFrameRefused = (encoding: EncodingName): DecodeError =>
  new DecodeError({ reason: "Envelope", message: `${encoding.toUpperCase()} gateway messages come in binary frames, got a text frame` })

/**
 * The `d` of a dispatch that was not decoded because nobody wanted it (see `FrameDecoder`'s `skip`).
 *
 * @since 0.1.0
 */
export const Skipped: unique symbol = Symbol.for("discord-gateway/Skipped")
