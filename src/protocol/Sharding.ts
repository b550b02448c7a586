/**
 * Which shard a guild lives on: Discord's rule, which the gateway routes a guild's events and
 * commands by.
 *
 * @since 0.1.0
 */

/**
 * The shard of a guild: `(guild_id >> 22) % shardCount`. DMs and guild-less commands
 * (`null`/`undefined`) belong to shard 0. `guildId` must be a snowflake.
 *
 * @since 0.1.0
 */
export const shardOf = (guildId: string | bigint | null | undefined, shardCount: number): number =>
  guildId === null || guildId === undefined ? 0 : Number((BigInt(guildId) >> 22n) % BigInt(shardCount))
