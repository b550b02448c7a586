/**
 * Which shard a guild lives on, and the error for a command this fleet cannot route.
 *
 * @since 0.1.0
 */
import { TaggedError } from "../internal/taggedError.ts"
import { isSnowflake as snowflakeRule, show } from "../protocol/internal/schema.ts"

/**
 * The shard of a guild: `(guild_id >> 22) % shardCount` (see `protocol/Sharding.ts`).
 *
 * @since 0.1.0
 */
export { shardOf } from "../protocol/Sharding.ts"

/**
 * Whether `id` is a snowflake: a decimal string of at most 20 digits, without a leading zero, that
 * fits in 64 bits (the rule every command's ids are checked by).
 *
 * @since 0.1.0
 */
export const isSnowflake: (id: string) => boolean = snowflakeRule

/**
 * A command or lookup this fleet cannot route: `NotRunning` when the shard it belongs to is not
 * one of this fleet's shards, or one the fleet stopped before it started; `InvalidGuildId` when
 * the guild id given to `sessionFor` is not a snowflake.
 *
 * @since 0.1.0
 */
export class RouteError extends TaggedError("RouteError")<{
  readonly reason: "NotRunning" | "InvalidGuildId"
  /** The shard the command belongs to (`NotRunning`). */
  readonly shard?: number | undefined
  /** The guild it was asked for, when one was. */
  readonly guildId?: string | undefined
}> {
  override get message(): string {
    return this.reason === "InvalidGuildId"
      ? `guild id ${show(this.guildId)} is not a snowflake`
      : `${this.shard === undefined ? "its shard" : `shard ${show(this.shard)}`}${this.guildId === undefined ? "" : ` (guild ${this.guildId})`} is not running in this fleet`
  }
}
