/**
 * Discord's limit on asking for a guild's whole member list (`query: ""`, `limit: 0`): once a
 * guild per 30 s, a request over it answered with RATE_LIMITED. A session asks no more often: one
 * too soon fails at once, as the gateway's answer would, and nothing goes out.
 *
 * @since 0.1.0
 */
import type * as Commands from "../../protocol/Commands.ts"

// how long after a guild's whole member list went out it may be asked for again
const cooldownMs = 30_000

/**
 * Whether `request` asks for the whole member list.
 *
 * @since 0.1.0
 */
export const isWholeList = (request: Commands.RequestGuildMembers): boolean =>
  request.user_ids === undefined && request.query === "" && request.limit === 0

/**
 * The turns of one session's guilds, on the monotonic clock (ms).
 *
 * @since 0.1.0
 */
export interface WholeListCooldown {
  /**
   * Takes `guildId`'s turn at `now` for the request `nonce`: 0, or the ms left until it may ask
   * again (a whole cooldown while a request taken has not gone out yet).
   */
  readonly take: (guildId: string, nonce: string, now: number) => number
  /** The request `nonce` went out at `now`: its guild's cooldown counts from then. */
  readonly wentOut: (guildId: string, nonce: string, now: number) => void
  /** Gives back the turn the request `nonce` took and never used (it never went out). */
  readonly giveBack: (guildId: string, nonce: string) => void
}

// a guild's turn: the request holding it, and when it went out (`undefined` while it waits)
interface Turn {
  readonly nonce: string
  sentAt: number | undefined
}

/**
 * A session's cooldowns, holding the guilds asked for in the last 30 s, and those whose request
 * waits to go out (for an answered connection, or the send limit: a wait past 30 s did not free
 * the turn, and a second request went out right behind the first).
 *
 * @since 0.1.0
 */
export const make = (): WholeListCooldown => {
  const turns = new Map<string, Turn>()
  return {
    take: (guildId, nonce, now) => {
      for (const [guild, turn] of turns) if (turn.sentAt !== undefined && now - turn.sentAt >= cooldownMs) turns.delete(guild)
      const turn = turns.get(guildId)
      if (turn !== undefined) return turn.sentAt === undefined ? cooldownMs : Math.max(1, cooldownMs - (now - turn.sentAt))
      turns.set(guildId, { nonce, sentAt: undefined })
      return 0
    },
    wentOut: (guildId, nonce, now) => {
      const turn = turns.get(guildId)
      if (turn?.nonce === nonce) turn.sentAt = now
    },
    giveBack: (guildId, nonce) => {
      if (turns.get(guildId)?.nonce === nonce) turns.delete(guildId)
    }
  }
}
