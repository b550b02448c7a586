/**
 * The error for a payload from Discord that does not follow the protocol.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Which payload was malformed.
 *
 * @since 0.1.0
 */
export type ProtocolErrorReason =
  | "InvalidHello"
  | "InvalidInvalidSession"
  | "InvalidReady"
  | "InvalidGatewayBot"

/**
 * A payload from Discord that does not follow the protocol; `message` says what is wrong.
 *
 * @since 0.1.0
 */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{
  readonly reason: ProtocolErrorReason
  readonly message: string
}> {}
