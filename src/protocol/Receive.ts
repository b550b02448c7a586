/**
 * What arrives from the gateway: the envelope of every frame, the payloads a session
 * acts on (Hello, Invalid Session, READY), and the typed message they decode into.
 * Dispatch data other than READY is passed through undecoded: that is the hot path.
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
  intBetween,
  NonNegativeInt,
  SessionId,
  ShardPair,
  show,
  Snowflake,
  Str,
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
 * The frame around every payload: `s` and `t` are set for dispatches (op 0) only.
 *
 * @since 0.1.0
 */
export const Envelope = struct({
  op: intBetween(0, 255),
  d: Schema.Unknown,
  s: Schema.optionalWith(Schema.Union(NonNegativeInt, Schema.Null), { default: () => null }),
  t: Schema.optionalWith(Schema.Union(Str, Schema.Null), { default: () => null })
})

/**
 * A decoded frame.
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
 * Op 10 data: how often to heartbeat, in milliseconds.
 *
 * @since 0.1.0
 */
export const Hello = struct({
  heartbeat_interval: checked<number>((u) =>
    typeof u === "number" && Number.isInteger(u) && u > 0 && u <= maxHeartbeatInterval
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
 * The parts of the READY dispatch a session needs.
 *
 * @since 0.1.0
 */
export const Ready = struct({
  v: NonNegativeInt,
  session_id: SessionId,
  resume_gateway_url: WebSocketUrl,
  user: struct({ id: Snowflake }),
  application: struct({ id: Snowflake }),
  shard: Schema.optionalWith(ShardPair, { exact: true })
})

/**
 * The parts of READY a session needs, decoded.
 *
 * @since 0.1.0
 */
export interface Ready extends Schema.Schema.Type<typeof Ready> {}

const failWith = (reason: ProtocolErrorReason, prefix: string) => (problem: string) =>
  new ProtocolError({ reason, message: `${prefix}${problem}` })

const isEnvelope = (u: unknown): u is Envelope => {
  if (typeof u !== "object" || u === null) return false
  const { op, s, t } = u as Record<string, unknown>
  return typeof op === "number" && Number.isInteger(op) && op >= 0 && op <= 255 &&
    (s === null || (typeof s === "number" && Number.isSafeInteger(s) && s >= 0)) &&
    (t === null || typeof t === "string")
}

const envelopeSchema = decoder(Envelope)

/**
 * Checks a parsed frame. A well-formed frame is returned as is, without a copy;
 * otherwise the schema says what is wrong (a frame without `s`/`t` gets them as `null`).
 *
 * @since 0.1.0
 */
export const decodeEnvelope = (input: unknown): Either.Either<Envelope, ProtocolError> =>
  isEnvelope(input)
    ? Either.right(input)
    : Either.mapLeft(envelopeSchema(input), failWith("InvalidEnvelope", "invalid frame: "))

const helloSchema = decoder(Hello)
const invalidSessionSchema = decoder(InvalidSession)
const readySchema = decoder(Ready)

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
