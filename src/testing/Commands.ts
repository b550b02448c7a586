/**
 * How the local gateway answers the commands of an authenticated connection: Presence Update,
 * Voice State Update, Request Guild Members, Request Soundboard Sounds and Request Channel Info.
 *
 * @since 0.1.0
 */
import { isRecord } from "../internal/record.ts"
import * as Intents from "../protocol/Intents.ts"
import { isSnowflake, show } from "../protocol/internal/schema.ts"
import { Opcode } from "../protocol/Opcode.ts"
import type * as Log from "./Log.ts"
import * as Rules from "./Rules.ts"
import type { Session } from "./Session.ts"
import * as Traffic from "./Traffic.ts"

/**
 * What a command handler needs from its connection.
 *
 * @since 0.1.0
 */
export interface Context {
  readonly user: Traffic.User
  readonly memberChunkSize: number
  readonly memberRequests: Rules.MemberRequestLimiter
  readonly violate: (kind: Log.ViolationKind, detail: string) => void
}

const statuses: ReadonlyArray<unknown> = ["online", "dnd", "idle", "invisible", "offline"]
const isActivity = (u: unknown): boolean => isRecord(u) && typeof u["name"] === "string" && Number.isInteger(u["type"])

/**
 * What makes `d` no payload of a Presence Update or a Voice State Update, as Discord reads them
 * (a field missing or of another type; fields of its own are let through): Discord closes such a
 * connection with 4001 (discord-api-docs#2226, #3854). Other commands' payloads are checked as
 * they are answered.
 *
 * @since 0.1.0
 */
export const invalidPayload = (op: number, d: Record<string, unknown>): string | undefined => {
  switch (op) {
    case Opcode.PresenceUpdate:
      return !(d["since"] === null || Number.isInteger(d["since"]))
        ? "since must be an integer or null"
        : !(Array.isArray(d["activities"]) && d["activities"].every(isActivity))
        ? "activities must be a list of activities with a name and a type"
        : !statuses.includes(d["status"])
        ? "status must be online, dnd, idle, invisible or offline"
        : typeof d["afk"] !== "boolean"
        ? "afk must be a boolean"
        : undefined
    case Opcode.VoiceStateUpdate:
      return typeof d["guild_id"] !== "string"
        ? "guild_id must be a string"
        : !(d["channel_id"] === null || typeof d["channel_id"] === "string")
        ? "channel_id must be a string or null"
        : typeof d["self_mute"] !== "boolean" || typeof d["self_deaf"] !== "boolean"
        ? "self_mute and self_deaf must be booleans"
        : undefined
    default:
      return undefined
  }
}

/**
 * Handles one command (its `d` already known to be an object and no invalid payload) for `session`.
 *
 * @since 0.1.0
 */
export const handle = (op: number, d: Record<string, unknown>, session: Session, context: Context, now: number): void => {
  switch (op) {
    case Opcode.PresenceUpdate:
      if (!session.presences.hit(now)) {
        context.violate("PresenceRateLimited", `more than ${Rules.presenceLimit} presence updates in ${Rules.presenceWindowMs} ms`)
      }
      return
    case Opcode.VoiceStateUpdate:
      return voiceState(d, session, context, now)
    case Opcode.RequestGuildMembers:
      return requestMembers(d, session, context, now)
    case Opcode.RequestSoundboardSounds: {
      const ids: ReadonlyArray<unknown> = Array.isArray(d["guild_ids"]) ? d["guild_ids"] : []
      for (const guildId of ids) {
        const guild = ownGuild(session, guildId, op, context)
        if (guild !== undefined) session.dispatch("SOUNDBOARD_SOUNDS", { guild_id: guild.id, soundboard_sounds: [] }, now)
      }
      return
    }
    case Opcode.RequestChannelInfo: {
      const guild = ownGuild(session, d["guild_id"], op, context)
      if (guild === undefined) return
      const channels = guild.voiceChannelIds.map((id) => ({ id, status: null, voice_start_time: null }))
      session.dispatch("CHANNEL_INFO", { guild_id: guild.id, channels }, now)
      return
    }
  }
}

/**
 * A guild id a client sent, for a message: as sent where it is a snowflake, `show`n otherwise (a
 * client's id may be a long string, or an object whose `toString` throws out of the socket's
 * callback).
 *
 * @internal
 * @since 0.1.0
 */
export const guildText = (guildId: unknown): string => isSnowflake(guildId) ? guildId : show(guildId)

const ownGuild = (session: Session, guildId: unknown, op: number, context: Context): Traffic.Guild | undefined => {
  const guild = session.guilds.find((candidate) => candidate.id === guildId)
  if (guild === undefined) {
    context.violate("InvalidCommand", `op ${op} for guild ${guildText(guildId)}, which is not on shard ${session.shard[0]}`)
  }
  return guild
}

const voiceState = (d: Record<string, unknown>, session: Session, context: Context, now: number): void => {
  const guild = ownGuild(session, d["guild_id"], Opcode.VoiceStateUpdate, context)
  if (guild === undefined) return
  const channelId = typeof d["channel_id"] === "string" ? d["channel_id"] : null
  session.dispatch("VOICE_STATE_UPDATE", {
    guild_id: guild.id,
    channel_id: channelId,
    user_id: context.user.id,
    member: { ...guild.members[0]!, user: context.user },
    session_id: session.id,
    deaf: false,
    mute: false,
    self_deaf: d["self_deaf"] === true,
    self_mute: d["self_mute"] === true,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null
  }, now)
  if (channelId !== null) {
    session.dispatch("VOICE_SERVER_UPDATE", { token: session.id.slice(0, 16), guild_id: guild.id, endpoint: "127.0.0.1:0" }, now)
  }
}

/**
 * The members of `all` a Request Guild Members selects, as Discord answers it: those `userIds`
 * names, or those whose username starts with `query` (in any case), at most `limit` (0: no
 * limit); a selection by ids or by a prefix has at most 100, only the whole list (an empty query)
 * goes past that. With the ids asked for that are no member's.
 *
 * @internal
 * @since 0.1.0
 */
export const selectMembers = <M extends { readonly user: { readonly id: string; readonly username: string } }>(
  all: ReadonlyArray<M>,
  { limit, query, userIds }: { readonly userIds: ReadonlyArray<string> | undefined; readonly query: string | undefined; readonly limit: number }
): { readonly members: ReadonlyArray<M>; readonly notFound: ReadonlyArray<string> } => {
  const prefix = query?.toLowerCase()
  const asked = limit > 0 ? limit : Infinity
  const members = userIds !== undefined
    ? all.filter((member) => userIds.includes(member.user.id)).slice(0, Rules.maxMembersPerSelection)
    : all
      .filter((member) => prefix === undefined || member.user.username.toLowerCase().startsWith(prefix))
      .slice(0, prefix === "" ? asked : Math.min(asked, Rules.maxMembersPerSelection))
  const notFound = userIds?.filter((id) => !all.some((member) => member.user.id === id)) ?? []
  return { members, notFound }
}

/**
 * The GUILD_MEMBERS_CHUNKs answering a request with `selected`: `size` members a chunk (at least
 * one chunk, empty for none), the ids that are no member's in the first, presences (all online)
 * when asked for, the request's nonce in each.
 *
 * @internal
 * @since 0.1.0
 */
export const memberChunks = <M extends { readonly user: { readonly id: string } }>(
  { members, notFound }: { readonly members: ReadonlyArray<M>; readonly notFound: ReadonlyArray<string> },
  { guildId, nonce, presences, size }: { readonly guildId: string; readonly size: number; readonly presences: boolean; readonly nonce: string | undefined }
): ReadonlyArray<Record<string, unknown>> => {
  const perChunk = Math.max(1, size)
  const chunkCount = Math.max(1, Math.ceil(members.length / perChunk))
  return Array.from({ length: chunkCount }, (_, index) => {
    const chunk = members.slice(index * perChunk, (index + 1) * perChunk)
    return {
      guild_id: guildId,
      members: chunk,
      chunk_index: index,
      chunk_count: chunkCount,
      ...(index === 0 && notFound.length > 0 ? { not_found: notFound } : {}),
      ...(presences ? { presences: chunk.map((member) => Traffic.presenceOf(member, guildId, "online")) } : {}),
      ...(nonce === undefined ? {} : { nonce })
    }
  })
}

const requestMembers = (d: Record<string, unknown>, session: Session, context: Context, now: number): void => {
  const guild = ownGuild(session, d["guild_id"], Opcode.RequestGuildMembers, context)
  if (guild === undefined) return
  // as Discord: a nonce too long is ignored
  const nonce = typeof d["nonce"] === "string" && Buffer.byteLength(d["nonce"], "utf8") <= Rules.maxMemberNonceBytes
    ? d["nonce"]
    : undefined
  // as Discord: user_ids is one snowflake or a list of them
  const ids: unknown = d["user_ids"]
  const userIds = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : typeof ids === "string" ? [ids] : undefined
  const query = typeof d["query"] === "string" ? d["query"] : undefined
  const limit = typeof d["limit"] === "number" ? d["limit"] : 0
  // Discord refuses a request that selects nobody; it is not answered here
  if (userIds === undefined && query === undefined) {
    return context.violate("InvalidCommand", `members of guild ${guild.id} requested with neither query nor user_ids`)
  }
  // as Discord: no answer to a whole-list request without the intent, no presences without theirs
  if (userIds === undefined && query === "" && (session.intents & Intents.GuildMembers) === 0) {
    return context.violate("InvalidCommand", `all members of guild ${guild.id} requested without the GuildMembers intent`)
  }
  const presences = d["presences"] === true && (session.intents & Intents.GuildPresences) !== 0
  if (userIds === undefined && query === "" && limit === 0) {
    const retryAfter = context.memberRequests.take(guild.id, now)
    if (retryAfter > 0) {
      context.violate("RequestGuildMembersRateLimited", `all members of guild ${guild.id} requested again within ${Rules.memberRequestCooldownMs} ms`)
      const meta = nonce === undefined ? { guild_id: guild.id } : { guild_id: guild.id, nonce }
      session.dispatch("RATE_LIMITED", { opcode: Opcode.RequestGuildMembers, retry_after: retryAfter, meta }, now)
      return
    }
  }
  const selected = selectMembers(guild.members, { userIds, query, limit })
  for (const chunk of memberChunks(selected, { guildId: guild.id, size: context.memberChunkSize, presences, nonce })) {
    session.dispatch("GUILD_MEMBERS_CHUNK", chunk, now)
  }
}
