/**
 * Close codes and what a client must do after each.
 *
 * @since 0.1.0
 */

/**
 * Discord's gateway close codes, by name.
 *
 * @since 0.1.0
 */
export const CloseCode = {
  UnknownError: 4000,
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  InvalidSeq: 4007,
  RateLimited: 4008,
  SessionTimedOut: 4009,
  InvalidShard: 4010,
  ShardingRequired: 4011,
  InvalidApiVersion: 4012,
  InvalidIntents: 4013,
  DisallowedIntents: 4014
} as const

/**
 * A Discord gateway close code.
 *
 * @since 0.1.0
 */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/**
 * A close code this client sends to end a connection while keeping the session resumable
 * (anything but 1000 and 1001 keeps it).
 *
 * @since 0.1.0
 */
export const ResumableClose = 4900

/**
 * What a client does after a close: resume the session, start a new one, or stop for good.
 *
 * @since 0.1.0
 */
export type CloseAction = "resume" | "new-session" | "fatal"

const meanings: Record<number, string> = {
  4000: "unknown error",
  4001: "unknown opcode sent",
  4002: "decode error or payload too large",
  4003: "not authenticated",
  4004: "authentication failed: the token was rejected; check it, or reset it in the developer portal",
  4005: "already authenticated",
  4007: "invalid sequence on resume",
  4008: "rate limited",
  4009: "session timed out",
  4010: "invalid shard: the shard count refused (a large bot's must be a multiple of the one GET /gateway/bot recommends)",
  4011: "sharding required: the bot is in too many guilds for one connection; run more shards",
  4012: "invalid API version",
  4013: "invalid intents: the gateway refused the intents value",
  4014: "disallowed intents: enable the privileged intents in the developer portal"
}

const newSession = new Set<number>([4003, 4005, 4007, 4009])
const fatal = new Set<number>([4004, 4010, 4011, 4012, 4013, 4014])

/**
 * Classifies a close (its code, or `undefined` when the connection dropped without one)
 * as the gateway documentation tabulates: fatal codes stop the shard, session-ending codes
 * need a fresh identify, and everything else (including a lost connection) resumes.
 *
 * @since 0.1.0
 */
export const classify = (code: number | undefined): CloseAction =>
  code === undefined ? "resume" : fatal.has(code) ? "fatal" : newSession.has(code) ? "new-session" : "resume"

/**
 * A short human description of a close code.
 *
 * @since 0.1.0
 */
export const describe = (code: number | undefined): string =>
  code === undefined ? "connection lost" : meanings[code] ?? (code === 1000 || code === 1001 ? "normal closure" : `close code ${code}`)
