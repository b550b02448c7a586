/**
 * Discord's gateway rules as small synchronous checks, so the local gateway can enforce them on
 * every frame without allocating effects: payload decoding and size, send and presence windows,
 * identify buckets, heartbeat timing, shard and intents validation.
 *
 * @since 0.1.0
 */
import { ApplicationFlags, GatewayIntentBits } from "discord-api-types/v10"
import { isDecodeError } from "../codec/DecodeError.ts"
import * as Etf from "../codec/Etf.ts"

/**
 * The largest payload a client may send, in bytes. Stated here apart from the client's own
 * (`Commands.maxPayloadBytes`), as every rule the gateway enforces is: a client that got it wrong
 * is caught, not agreed with.
 *
 * @since 0.1.0
 */
export const maxPayloadBytes = 4096

/**
 * Payloads a connection may send per {@link sendWindowMs}.
 *
 * @since 0.1.0
 */
export const sendLimit = 120

/**
 * The send-rate window, in milliseconds.
 *
 * @since 0.1.0
 */
export const sendWindowMs = 60_000

/**
 * Presence updates a connection may send per {@link presenceWindowMs}.
 *
 * @since 0.1.0
 */
export const presenceLimit = 5

/**
 * The presence-update window, in milliseconds.
 *
 * @since 0.1.0
 */
export const presenceWindowMs = 20_000

/**
 * How often a guild's full member list may be requested, in milliseconds.
 *
 * @since 0.1.0
 */
export const memberRequestCooldownMs = 30_000

/**
 * The longest Request Guild Members nonce, in UTF-8 bytes: a longer one is ignored, and the
 * answer carries none.
 *
 * @since 0.1.0
 */
export const maxMemberNonceBytes = 32

/**
 * The most members a Request Guild Members by prefix (`query`) or by `user_ids` is answered with.
 *
 * @since 0.1.0
 */
export const maxMembersPerSelection = 100

/**
 * The most guilds one shard may hold: an Identify for a shard that would hold more is closed
 * with 4011 (sharding required).
 *
 * @since 0.1.0
 */
export const maxGuildsPerShard = 2500

/**
 * A sliding-window counter: at most `limit` hits in any `windowMs`.
 *
 * @since 0.1.0
 */
export class SlidingWindow {
  private readonly hits: Array<number> = []
  constructor(readonly limit: number, readonly windowMs: number) {}

  /** Records a hit at `now`; false when it exceeds the limit (the hit is still counted). */
  hit(now: number): boolean {
    const since = now - this.windowMs
    let expired = 0
    while (expired < this.hits.length && this.hits[expired]! <= since) expired++
    if (expired > 0) this.hits.splice(0, expired)
    this.hits.push(now)
    return this.hits.length <= this.limit
  }
}

/**
 * A decoded client payload, or why it could not be decoded.
 *
 * @since 0.1.0
 */
export type Decoded =
  | { readonly _tag: "Payload"; readonly op: number; readonly d: unknown }
  | { readonly _tag: "TooLarge"; readonly bytes: number }
  | { readonly _tag: "Invalid"; readonly detail: string }

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Decodes one client frame (JSON text or UTF-8 bytes) into `{ op, d }`.
 *
 * @since 0.1.0
 */
export const decode = (frame: Uint8Array): Decoded => {
  if (frame.byteLength > maxPayloadBytes) return { _tag: "TooLarge", bytes: frame.byteLength }
  let text: string
  try {
    text = utf8.decode(frame)
  } catch {
    // as a text frame's would be (a binary one's was read with U+FFFD in its place and taken)
    return { _tag: "Invalid", detail: "payload is not valid UTF-8" }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { _tag: "Invalid", detail: "payload is not valid JSON" }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { _tag: "Invalid", detail: "payload is not a JSON object" }
  }
  return payloadOf(value)
}

const payloadOf = (value: object): Decoded => {
  const op = (value as { readonly op?: unknown }).op
  if (typeof op !== "number" || !Number.isInteger(op)) return { _tag: "Invalid", detail: "payload has no integer op" }
  return { _tag: "Payload", op, d: (value as { readonly d?: unknown }).d }
}

/**
 * Decodes one client frame in ETF into `{ op, d }`. Like Discord, it refuses maps with atom keys
 * (a client must send binary keys). It also refuses a compressed term, which a client never sends
 * (whatever Discord makes of one): 4096 compressed bytes would pass a payload many times the limit.
 *
 * @since 0.1.0
 */
export const decodeEtf = (frame: Uint8Array): Decoded => {
  if (frame.byteLength > maxPayloadBytes) return { _tag: "TooLarge", bytes: frame.byteLength }
  if (Etf.isCompressed(frame)) return { _tag: "Invalid", detail: "a compressed term (tag 80): a client's frames are never compressed" }
  const value = Etf.decodeTerm(frame, { rejectAtomKeys: true })
  if (isDecodeError(value)) return { _tag: "Invalid", detail: value.message }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { _tag: "Invalid", detail: "payload is not an ETF map" }
  }
  return payloadOf(value)
}

/**
 * Identify buckets: `rate_limit_key = shard_id % max_concurrency`, one identify per key per cooldown.
 *
 * @since 0.1.0
 */
export class IdentifyBuckets {
  private readonly last = new Map<number, number>()
  constructor(readonly cooldownMs: number) {}

  /** The bucket key of a shard. */
  static key(shardId: number, maxConcurrency: number): number {
    return shardId % Math.max(1, maxConcurrency)
  }

  /** Takes the key's slot at `now`; false when the key identified less than a cooldown ago. */
  take(key: number, now: number): boolean {
    const last = this.last.get(key)
    if (last !== undefined && now - last < this.cooldownMs) return false
    this.last.set(key, now)
    return true
  }
}

/**
 * Per-guild cooldown for requesting every member of a guild.
 *
 * @since 0.1.0
 */
export class MemberRequestLimiter {
  private readonly last = new Map<string, number>()
  constructor(readonly cooldownMs: number) {}

  /** Takes the guild's slot; returns 0 when allowed, else the seconds to wait. */
  take(guildId: string, now: number): number {
    const last = this.last.get(guildId)
    if (last !== undefined && now - last < this.cooldownMs) return (this.cooldownMs - (now - last)) / 1000
    this.last.set(guildId, now)
    return 0
  }
}

/**
 * Heartbeat timing on one connection. A beat is "far too early" when it comes less than half an
 * interval after the previous regular beat. A beat within `answerWithinMs` of an op 1 the server
 * wrote answers it: it is exempt and does not restart the count.
 *
 * @since 0.1.0
 */
export class HeartbeatClock {
  private lastRegularAt: number | undefined
  /**
   * When each op 1 not answered yet was written: each exempts one beat from the too-early check,
   * within `answerWithinMs` (one past it exempts none: two op 1s that one beat answered took the
   * next regular beat, much later, for the second's answer, exempt from the too-early check).
   */
  private readonly requests: Array<number> = []
  constructor(readonly intervalMs: number, readonly answerWithinMs: number) {}

  /** The server asked for a beat (op 1) at `now`. */
  requested(now: number): void {
    this.requests.push(now)
  }

  /** A beat arrived at `now`. */
  beat(now: number): { readonly requested: boolean; readonly tooEarlyBy: number | undefined } {
    while (this.requests.length > 0 && now - this.requests[0]! > this.answerWithinMs) this.requests.shift()
    if (this.requests.length > 0) {
      this.requests.shift()
      return { requested: true, tooEarlyBy: undefined }
    }
    const previous = this.lastRegularAt
    this.lastRegularAt = now
    if (previous === undefined) return { requested: false, tooEarlyBy: undefined }
    const gap = now - previous
    return { requested: false, tooEarlyBy: gap < this.intervalMs / 2 ? gap : undefined }
  }
}

const knownIntents = Object.values(GatewayIntentBits)
  .filter((value): value is number => typeof value === "number")
  .reduce((mask, bit) => mask | bit, 0)

/**
 * Whether `intents` is a valid intents bitfield (an integer made of known bits).
 *
 * @since 0.1.0
 */
export const validIntents = (intents: unknown): intents is number =>
  // `&` keeps only 32 bits: a bit above them is unknown too
  typeof intents === "number" && Number.isInteger(intents) && intents >= 0 && intents <= knownIntents && (intents & ~knownIntents) === 0

/**
 * READY's `application.flags` for an application allowed `privilegedIntents`: the "limited" flag
 * of each, as for a bot in fewer than 100 servers (enabled in the portal, no review needed).
 *
 * @since 0.1.0
 */
export const applicationFlags = (privilegedIntents: number): number =>
  ((privilegedIntents & GatewayIntentBits.GuildPresences) === 0 ? 0 : ApplicationFlags.GatewayPresenceLimited) |
  ((privilegedIntents & GatewayIntentBits.GuildMembers) === 0 ? 0 : ApplicationFlags.GatewayGuildMembersLimited) |
  ((privilegedIntents & GatewayIntentBits.MessageContent) === 0 ? 0 : ApplicationFlags.GatewayMessageContentLimited)

/**
 * Checks an Identify's `shard` field. Absent means `[0, 1]`. Returns the pair, or why it is invalid.
 * With `expectedCount`, the count must equal it.
 *
 * @since 0.1.0
 */
export const validShard = (
  shard: unknown,
  expectedCount: number | undefined
): readonly [number, number] | string => {
  const pair: unknown = shard ?? [0, 1]
  if (!Array.isArray(pair) || pair.length !== 2) return "shard must be [shard_id, shard_count]"
  const [id, count] = pair as [unknown, unknown]
  // safe integers: the count of `[0, 1e300]` is an integer, and no shard count
  if (typeof id !== "number" || typeof count !== "number" || !Number.isSafeInteger(id) || !Number.isSafeInteger(count)) {
    return "shard values must be integers"
  }
  if (count < 1 || id < 0 || id >= count) return `shard [${id}, ${count}] is out of range`
  if (expectedCount !== undefined && count !== expectedCount) {
    return `shard count ${count} does not match the required ${expectedCount}`
  }
  return [id, count]
}

/**
 * The shard a guild lives on: `(guild_id >> 22) % shard_count` (the client's rule,
 * `protocol/Sharding.ts`).
 *
 * @since 0.1.0
 */
export { shardOf } from "../protocol/Sharding.ts"

/**
 * The daily identify budget of `/gateway/bot`'s `session_start_limit`: `total` identifies per
 * `resetAfterMs`, counted from the first identify of the window. Made (at `madeAt`) with less than
 * `total` remaining, it is in a window already, which ends `resetAfterMs` later: a budget made
 * spent (remaining 0) never refilled, and an Identify sent once `reset_after` had passed reset the
 * token.
 *
 * @since 0.1.0
 */
export class SessionStartLimit {
  private used = 0
  private windowStart: number | undefined
  constructor(
    readonly total: number,
    private readonly initialRemaining: number,
    readonly resetAfterMs: number,
    madeAt: number
  ) {
    if (initialRemaining < total) this.windowStart = madeAt
  }

  private refresh(now: number): void {
    if (this.windowStart !== undefined && now - this.windowStart >= this.resetAfterMs) {
      this.windowStart = undefined
      this.used = this.initialRemaining - this.total
    }
  }

  /** The budget left and the milliseconds until it resets. */
  current(now: number): { readonly remaining: number; readonly resetAfter: number } {
    this.refresh(now)
    return {
      remaining: Math.max(0, this.initialRemaining - this.used),
      resetAfter: this.windowStart === undefined ? this.resetAfterMs : this.resetAfterMs - (now - this.windowStart)
    }
  }

  /** Spends one identify; false when the budget is exhausted. */
  take(now: number): boolean {
    if (this.current(now).remaining <= 0) return false
    this.windowStart ??= now
    this.used++
    return true
  }
}
