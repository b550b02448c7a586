/**
 * The answer of `GET /gateway/bot`: where to connect, how many shards Discord recommends,
 * and how many sessions the bot may still start.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ProtocolError } from "./ProtocolError.ts"
import { decoder, intBetween, maxShardCount, NonNegativeInt, struct, WebSocketUrl } from "./internal/schema.ts"

/**
 * How many sessions the bot may start: `remaining` of `total` until `reset_after`
 * milliseconds have passed, and `max_concurrency` identifies per 5 s window.
 *
 * @since 0.1.0
 */
export const SessionStartLimit = struct({
  total: NonNegativeInt,
  remaining: NonNegativeInt,
  reset_after: NonNegativeInt,
  max_concurrency: intBetween(1, 65_535)
})

/**
 * How many sessions the bot may start.
 *
 * @since 0.1.0
 */
export interface SessionStartLimit extends Schema.Schema.Type<typeof SessionStartLimit> {}

/**
 * The answer of `GET /gateway/bot`.
 *
 * @since 0.1.0
 */
export const GatewayBot = struct({
  url: WebSocketUrl,
  shards: intBetween(1, maxShardCount),
  session_start_limit: SessionStartLimit
})

/**
 * The answer of `GET /gateway/bot`.
 *
 * @since 0.1.0
 */
export interface GatewayBot extends Schema.Schema.Type<typeof GatewayBot> {}

const check = decoder(GatewayBot)

/**
 * Decodes a parsed `GET /gateway/bot` body.
 *
 * @since 0.1.0
 */
export const decode = (body: unknown): Either.Either<GatewayBot, ProtocolError> =>
  Either.mapLeft(check(body), (problem) =>
    new ProtocolError({ reason: "InvalidGatewayBot", message: `invalid GET /gateway/bot answer: ${problem}` }))
