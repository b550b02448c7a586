/**
 * What arrives from the gateway: the payloads a session acts on (Hello, Invalid Session, READY),
 * decoded. A frame's envelope is checked by its encoding (src/codec), and dispatch data other than
 * READY is passed through undecoded: that is the hot path.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ProtocolError, type ProtocolErrorReason } from "./ProtocolError.ts"
import {
  Bool,
  checked,
  decoder,
  NonNegativeInt,
  SessionId,
  ShardPairOrNull,
  show,
  Snowflake,
  struct,
  WebSocketUrl
} from "./internal/schema.ts"

/**
 * The longest heartbeat interval accepted, in milliseconds (one hour). Discord sends about 41 s.
 *
 * @since 0.1.0
 */
export const maxHeartbeatInterval = 3_600_000

/**
 * Whether `u` is a heartbeat interval a Hello may carry: a whole number of milliseconds from 1 to
 * {@link maxHeartbeatInterval}.
 *
 * @since 0.1.0
 */
export const isHeartbeatInterval = (u: unknown): u is number =>
  typeof u === "number" && Number.isInteger(u) && u > 0 && u <= maxHeartbeatInterval

/**
 * Op 10 data: how often to heartbeat, in milliseconds.
 *
 * @since 0.1.0
 */
export const Hello = struct({
  heartbeat_interval: checked<number>((u) =>
    isHeartbeatInterval(u)
      ? undefined
      : `must be a positive integer number of milliseconds, at most ${maxHeartbeatInterval}, got ${show(u)}`
  )
})

/**
 * Op 10 data, decoded.
 *
 * @since 0.1.0
 */
export interface Hello extends Schema.Schema.Type<typeof Hello> {}

/**
 * Op 9 data: whether the session may be resumed.
 *
 * @since 0.1.0
 */
export const InvalidSession = Bool

/**
 * The parts of the READY dispatch a session needs to take its session. Its resume URL is read
 * apart ({@link decodeResumeUrl}): a READY whose resume URL cannot be dialled still started a
 * session on the gateway.
 *
 * @since 0.1.0
 */
export const Ready = struct({
  v: NonNegativeInt,
  session_id: SessionId,
  user: struct({ id: Snowflake }),
  application: struct({ id: Snowflake }),
  // (null, as a serializer may write a field it leaves out, names no shard either)
  shard: Schema.optionalWith(ShardPairOrNull, { exact: true })
})

/**
 * READY's `resume_gateway_url`, a URL a session may dial.
 *
 * @since 0.1.0
 */
export const ResumeUrl = struct({ resume_gateway_url: WebSocketUrl })

/**
 * The parts of READY a session needs, decoded.
 *
 * @since 0.1.0
 */
export interface Ready extends Schema.Schema.Type<typeof Ready> {}

const failWith = (reason: ProtocolErrorReason, prefix: string) => (problem: string) =>
  new ProtocolError({ reason, message: `${prefix}${problem}` })

const helloSchema = decoder(Hello)
const invalidSessionSchema = decoder(InvalidSession)
const readySchema = decoder(Ready)
const resumeUrlSchema = decoder(ResumeUrl)

/**
 * Decodes op 10 data.
 *
 * @since 0.1.0
 */
export const decodeHello = (d: unknown): Either.Either<Hello, ProtocolError> =>
  Either.mapLeft(helloSchema(d), failWith("InvalidHello", "invalid Hello (op 10): "))

/**
 * Decodes op 9 data: `true` when the session may be resumed.
 *
 * @since 0.1.0
 */
export const decodeInvalidSession = (d: unknown): Either.Either<boolean, ProtocolError> =>
  Either.mapLeft(invalidSessionSchema(d), failWith("InvalidInvalidSession", "invalid Invalid Session (op 9): d "))

/**
 * Decodes the parts of READY a session needs.
 *
 * @since 0.1.0
 */
export const decodeReady = (d: unknown): Either.Either<Ready, ProtocolError> =>
  Either.mapLeft(readySchema(d), failWith("InvalidReady", "invalid READY: "))

/**
 * Decodes READY's resume URL: a `ws://` or `wss://` URL without a fragment or credentials, of at
 * most 2048 characters, or what is wrong with it.
 *
 * @since 0.1.0
 */
export const decodeResumeUrl = (d: unknown): Either.Either<string, ProtocolError> =>
  Either.mapBoth(resumeUrlSchema(d), { onLeft: failWith("InvalidReady", "READY's "), onRight: (ready) => ready.resume_gateway_url })
