/**
 * The one error of the receive path: a frame that cannot be turned into a gateway envelope.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Why a frame could not be decoded: corrupt zlib or zstd data, bad JSON, a JSON value that is not
 * an envelope, a message over the size limit, or bad ETF.
 *
 * @since 0.1.0
 */
export type DecodeErrorReason = "Inflate" | "Zstd" | "Json" | "Envelope" | "TooLarge" | "Etf"

/**
 * A frame could not be decoded. The connection's decoder is dead afterwards: drop the connection.
 *
 * @since 0.1.0
 */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly reason: DecodeErrorReason
  readonly message: string
}> {}

/**
 * Whether a decoder result is a {@link DecodeError}.
 *
 * @since 0.1.0
 */
export const isDecodeError = (value: unknown): value is DecodeError => value instanceof DecodeError
