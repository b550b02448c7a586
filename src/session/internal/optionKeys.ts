/**
 * The options a session and a fleet take, by key, and how a message names an option: the
 * lists that reading options once and telling a misspelt one both go by.
 *
 * @since 0.1.0
 */
import { clipped, printable } from "../../internal/printable.ts"
import { path as pathOf } from "../../protocol/internal/schema.ts"

/**
 * Every option of a session (`SessionOptions` checks the list against its type).
 *
 * @since 0.1.0
 */
export const sessionKeys = {
  token: true,
  intents: true,
  shard: true,
  gateway: true,
  gatewayUrl: true,
  api: true,
  gatewayInfoMaxAge: true,
  compression: true,
  encoding: true,
  largeThreshold: true,
  presence: true,
  properties: true,
  timeouts: true,
  backoff: true,
  resume: true,
  bufferSize: true,
  maxMessageBytes: true,
  events: true
} as const

/**
 * Every option of a session's nested maps (`SessionOptions` checks each list against its type).
 *
 * @since 0.1.0
 */
export const nestedKeys = {
  timeouts: { connect: true, hello: true, ready: true, members: true },
  backoff: { initial: true, max: true, factor: true, stableAfter: true, afterInvalidSession: true },
  properties: { os: true, browser: true, device: true }
} as const

/**
 * A fleet's own options, which a session's given to it are told apart from misspellings by.
 *
 * @since 0.1.0
 */
export const fleetKeys = ["shards", "shardCount", "startupWindow"] as const

/**
 * The path of the option at `keys` as the options spell it: a top-level key as it is, a nested one
 * as `path` writes it (`timeouts.hello`, `timeouts["con ect"]`); escaped and cut short as a message
 * cuts a value (a key is the program's, of any length).
 *
 * @since 0.1.0
 */
export const optionAt = (keys: ReadonlyArray<string>): string => clipped(printable(keys.length === 1 ? keys[0]! : pathOf(keys)), 60)
