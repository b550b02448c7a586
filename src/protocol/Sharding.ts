/**
 * Which shard a guild lives on: Discord's rule, which the gateway routes a guild's events and
 * commands by.
 *
 * @since 0.1.0
 */

import { isSnowflake, show } from "./internal/schema.ts"

/**
 * The shard of a guild: `(guild_id >> 22) % shardCount`. DMs and guild-less commands
 * (`null`/`undefined`) belong to shard 0. Throws a `RangeError` for a `guildId` that is no
 * snowflake (a decimal string of at most 20 digits without a leading zero, or a `bigint`, below
 * 2^64) or a `shardCount`
 * that is no positive integer: `BigInt` alone reads `" 1 "`, `"0x10"` and `"-4194304"` (shard -1).
 *
 * @since 0.1.0
 */
export const shardOf = (guildId: string | bigint | null | undefined, shardCount: number): number => {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shardOf: shard count ${typeof shardCount === "bigint" ? `${shardCount}n` : show(shardCount)} is not a positive integer`)
  }
  if (guildId === null || guildId === undefined) return 0
  const id = typeof guildId === "bigint" ? guildId : isSnowflake(guildId) ? BigInt(guildId) : undefined
  if (id === undefined || id < 0n || id >= 2n ** 64n) {
    throw new RangeError(`shardOf: guild id ${typeof guildId === "bigint" ? `${guildId}n` : show(guildId)} is not a snowflake`)
  }
  return Number((id >> 22n) % BigInt(shardCount))
}
