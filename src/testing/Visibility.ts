/**
 * What Discord lets a session see, by the intents it identified with: the dispatch types each
 * intent opens (guild events and their direct-message twins apart), and a message's content only
 * with the MessageContent intent. A bot that forgot an intent gets no such event (nor the
 * sequence number it would have taken), as it would from Discord.
 *
 * @since 0.1.0
 */
import { isRecord } from "../internal/record.ts"
import { knownTypeNames } from "../protocol/Event.ts"
import { isSnowflake } from "../protocol/internal/schema.ts"
import * as Intents from "../protocol/Intents.ts"
import { shardOf } from "../protocol/Sharding.ts"

// the intents a dispatch needs (any one of them; none: 0), by its data and the bot's user id
type Needs = number | ((d: Readonly<Record<string, unknown>>, botId: string) => number)

const inGuild = (d: Readonly<Record<string, unknown>>): boolean => typeof d["guild_id"] === "string"
const guildOrDirect = (guild: number, direct: number): Needs => (d) => inGuild(d) ? guild : direct

const byType = (intent: Needs, types: ReadonlyArray<string>): ReadonlyArray<readonly [string, Needs]> =>
  types.map((t) => [t, intent] as const)

// Discord's table of intents (developers/events/gateway.mdx, "List of Intents"); a type not in
// it needs none
const needs: ReadonlyMap<string, Needs> = new Map([
  ...byType(Intents.Guilds, [
    "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE",
    "THREAD_LIST_SYNC", "THREAD_MEMBER_UPDATE", "STAGE_INSTANCE_CREATE", "STAGE_INSTANCE_UPDATE", "STAGE_INSTANCE_DELETE",
    "VOICE_CHANNEL_STATUS_UPDATE", "VOICE_CHANNEL_START_TIME_UPDATE"
  ]),
  ...byType(Intents.Guilds | Intents.GuildMembers, ["THREAD_MEMBERS_UPDATE"]),
  ...byType(guildOrDirect(Intents.Guilds, Intents.DirectMessages), ["CHANNEL_PINS_UPDATE"]),
  ...byType(Intents.GuildMembers, ["GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"]),
  // the bot's own member is told of whatever the intents ("Caveats")
  ...byType((d, botId) => isRecord(d["user"]) && d["user"]["id"] === botId ? 0 : Intents.GuildMembers, ["GUILD_MEMBER_UPDATE"]),
  ...byType(Intents.GuildModeration, ["GUILD_AUDIT_LOG_ENTRY_CREATE", "GUILD_BAN_ADD", "GUILD_BAN_REMOVE"]),
  ...byType(Intents.GuildExpressions, [
    "GUILD_EMOJIS_UPDATE", "GUILD_STICKERS_UPDATE", "GUILD_SOUNDBOARD_SOUND_CREATE", "GUILD_SOUNDBOARD_SOUND_UPDATE",
    "GUILD_SOUNDBOARD_SOUND_DELETE", "GUILD_SOUNDBOARD_SOUNDS_UPDATE"
  ]),
  ...byType(Intents.GuildIntegrations, ["GUILD_INTEGRATIONS_UPDATE", "INTEGRATION_CREATE", "INTEGRATION_UPDATE", "INTEGRATION_DELETE"]),
  ...byType(Intents.GuildWebhooks, ["WEBHOOKS_UPDATE"]),
  ...byType(Intents.GuildInvites, ["INVITE_CREATE", "INVITE_DELETE"]),
  ...byType(Intents.GuildVoiceStates, ["VOICE_CHANNEL_EFFECT_SEND", "VOICE_STATE_UPDATE"]),
  ...byType(Intents.GuildPresences, ["PRESENCE_UPDATE"]),
  ...byType(guildOrDirect(Intents.GuildMessages, Intents.DirectMessages), [
    "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"
  ]),
  ...byType(guildOrDirect(Intents.GuildMessageReactions, Intents.DirectMessageReactions), [
    "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI"
  ]),
  ...byType(guildOrDirect(Intents.GuildMessageTyping, Intents.DirectMessageTyping), ["TYPING_START"]),
  ...byType(Intents.GuildScheduledEvents, [
    "GUILD_SCHEDULED_EVENT_CREATE", "GUILD_SCHEDULED_EVENT_UPDATE", "GUILD_SCHEDULED_EVENT_DELETE",
    "GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE"
  ]),
  ...byType(Intents.AutoModerationConfiguration, ["AUTO_MODERATION_RULE_CREATE", "AUTO_MODERATION_RULE_UPDATE", "AUTO_MODERATION_RULE_DELETE"]),
  ...byType(Intents.AutoModerationExecution, ["AUTO_MODERATION_ACTION_EXECUTION"]),
  ...byType(guildOrDirect(Intents.GuildMessagePolls, Intents.DirectMessagePolls), ["MESSAGE_POLL_VOTE_ADD", "MESSAGE_POLL_VOTE_REMOVE"])
])

/**
 * Whether a session with `intents`, of the bot `botId`, is sent dispatch `t` with data `d`: it
 * has one of the intents the type needs (for a guild, or for a direct message), or the type needs
 * none (the bot's own GUILD_MEMBER_UPDATE needs none).
 *
 * @since 0.1.0
 */
export const delivers = (intents: number, botId: string, t: string, d: unknown): boolean => {
  const need = needs.get(t)
  if (need === undefined) return true
  const bits = typeof need === "number" ? need : need(isRecord(d) ? d : {}, botId)
  return bits === 0 || (intents & bits) !== 0
}

const withContent = new Set(["MESSAGE_CREATE", "MESSAGE_UPDATE"])

// whether the bot may read the message without the intent: a direct message, one it wrote, one
// that mentions it
const readableWithout = (d: Readonly<Record<string, unknown>>, botId: string): boolean => {
  const author = d["author"]
  const mentions = d["mentions"]
  return !inGuild(d) ||
    (isRecord(author) && author["id"] === botId) ||
    (Array.isArray(mentions) && mentions.some((user) => isRecord(user) && user["id"] === botId))
}

/**
 * Dispatch `t`'s data as a session with `intents` sees it: a guild message neither by nor
 * mentioning the bot `botId` has its content, embeds, attachments, components and poll emptied
 * without the MessageContent intent.
 *
 * @since 0.1.0
 */
export const asSeen = (intents: number, botId: string, t: string, d: unknown): unknown => {
  if ((intents & Intents.MessageContent) !== 0 || !withContent.has(t) || !isRecord(d) || readableWithout(d, botId)) return d
  const { poll: _poll, ...rest } = d
  return {
    ...rest,
    ...("content" in d ? { content: "" } : {}),
    ...("embeds" in d ? { embeds: [] } : {}),
    ...("attachments" in d ? { attachments: [] } : {}),
    ...("components" in d ? { components: [] } : {})
  }
}

// the guild events that name their guild as `id`
const namedById = new Set(["GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"])

/**
 * The shard Discord sends a dispatch to, of `shardCount`: its guild's (`guild_id`, the `id` of
 * `GUILD_CREATE`, `GUILD_UPDATE`, `GUILD_DELETE`, or a `RATE_LIMITED`'s `meta.guild_id`); shard 0 for one of Discord's types without a
 * guild (a direct message's, a DM's interaction); `undefined`, every shard, for a type Discord
 * does not send (a marker of a test's own).
 *
 * @since 0.1.0
 */
export const shardOfDispatch = (t: string, d: unknown, shardCount: number): number | undefined => {
  const data = isRecord(d) ? d : {}
  // a RATE_LIMITED names the guild of the member request it answers in its `meta`
  const meta = isRecord(data["meta"]) ? data["meta"] : {}
  const guildId = isSnowflake(data["guild_id"])
    ? data["guild_id"]
    : namedById.has(t) && isSnowflake(data["id"])
    ? data["id"]
    : t === "RATE_LIMITED" && isSnowflake(meta["guild_id"])
    ? meta["guild_id"]
    : undefined
  if (guildId !== undefined) return shardOf(guildId, shardCount)
  return knownTypeNames.has(t) || needs.has(t) ? 0 : undefined
}
