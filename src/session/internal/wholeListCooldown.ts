/**
 * Discord's limit on asking for a guild's whole member list (`query: ""`, `limit: 0`): once a
 * guild per 30 s, a request over it answered with RATE_LIMITED. A session asks no more often: one
 * too soon fails at once, as the gateway's answer would, and nothing goes out.
 *
 * @since 0.1.0
 */
import type * as Commands from "../../protocol/Commands.ts"

/**
 * How long after a guild's whole member list went out it may be asked for again.
 *
 * @since 0.1.0
 */
export const cooldownMs = 30_000

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
  /** Takes `guildId`'s turn at `now`: 0, or the ms left until it may ask again. */
  readonly take: (guildId: string, now: number) => number
  /** The request went out at `now`: its guild's cooldown counts from then. */
  readonly wentOut: (guildId: string, now: number) => void
  /** Gives back a turn taken for a request that never went out. */
  readonly giveBack: (guildId: string) => void
}

/**
 * A session's cooldowns, holding the guilds asked for in the last 30 s only.
 *
 * @since 0.1.0
 */
export const make = (): WholeListCooldown => {
  // when each guild's last request went out (or was taken, while it waits to go out: a second one
  // meanwhile is too soon)
  const askedAt = new Map<string, number>()
  return {
    take: (guildId, now) => {
      for (const [guild, at] of askedAt) if (now - at >= cooldownMs) askedAt.delete(guild)
      const at = askedAt.get(guildId)
      if (at !== undefined) return Math.max(1, cooldownMs - (now - at))
      askedAt.set(guildId, now)
      return 0
    },
    wentOut: (guildId, now) => void askedAt.set(guildId, now),
    giveBack: (guildId) => void askedAt.delete(guildId)
  }
}
