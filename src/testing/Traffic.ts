/**
 * Synthetic Discord data for the local gateway: a deterministic world of guilds (members, channels,
 * roles) placed on the right shards, and a seeded source of realistic events (MESSAGE_CREATE,
 * PRESENCE_UPDATE, TYPING_START, MESSAGE_REACTION_ADD) shaped like Discord's.
 *
 * Randomness is a seeded generator (mulberry32), so the same seed always yields the same world and
 * the same event sequence; timestamps come from the caller's clock.
 *
 * @since 0.1.0
 */
// from discord-api-types, not our Intents: the benchmark's peer processes load this module, and
// Intents would bring effect/Schema into them
import { GatewayIntentBits } from "discord-api-types/v10"

/**
 * Milliseconds between the Unix epoch and Discord's (2015-01-01).
 *
 * @since 0.1.0
 */
export const discordEpoch = 1_420_070_400_000

/**
 * A snowflake string for a time (one before Discord's epoch as the epoch), an increment (12 bits:
 * 0-4095) and a worker (the 10 bits of worker and process id between them: 0-1023; default 0). An
 * increment or worker past its bits, or not a whole number, is a `RangeError` (it wrapped round to
 * ids already made).
 *
 * @since 0.1.0
 */
export const snowflake = (timestampMs: number, increment: number, worker = 0): string => {
  if (!Number.isSafeInteger(increment) || increment < 0 || increment > 0xfff) {
    throw new RangeError(`snowflake: increment must be a whole number from 0 to 4095, got ${increment}`)
  }
  if (!Number.isSafeInteger(worker) || worker < 0 || worker > 0x3ff) {
    throw new RangeError(`snowflake: worker must be a whole number from 0 to 1023, got ${worker}`)
  }
  return ((BigInt(Math.max(0, Math.floor(timestampMs - discordEpoch))) << 22n) | (BigInt(worker) << 12n) | BigInt(increment)).toString()
}

/**
 * A seeded pseudo-random generator of numbers in `[0, 1)`.
 *
 * @since 0.1.0
 */
export const seeded = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const words = [
  "amber", "basil", "cedar", "delta", "ember", "fjord", "gamma", "harbor", "iris", "juniper", "kelp",
  "lumen", "maple", "nova", "onyx", "pixel", "quartz", "raven", "sable", "tundra", "umber", "vortex",
  "willow", "xenon", "yarrow", "zephyr"
]
const statuses = ["online", "idle", "dnd"] as const
const emojis = ["👍", "🎉", "😂", "❤️", "🔥", "👀"]

const pick = <A>(random: () => number, items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!

/**
 * A synthetic user.
 *
 * @since 0.1.0
 */
export interface User {
  readonly id: string
  readonly username: string
  readonly discriminator: string
  readonly global_name: string | null
  readonly avatar: string | null
  readonly bot: boolean
}

/**
 * A synthetic guild member.
 *
 * @since 0.1.0
 */
export interface Member {
  readonly user: User
  readonly nick: string | null
  readonly roles: ReadonlyArray<string>
  readonly joined_at: string
  readonly deaf: boolean
  readonly mute: boolean
  readonly flags: number
  readonly pending: boolean
  readonly premium_since: string | null
  readonly avatar: string | null
  readonly communication_disabled_until: string | null
}

/**
 * A synthetic guild: its id, its members and channels, and its full GUILD_CREATE fields.
 *
 * @since 0.1.0
 */
export interface Guild {
  readonly id: string
  readonly name: string
  readonly members: ReadonlyArray<Member>
  readonly textChannelIds: ReadonlyArray<string>
  readonly voiceChannelIds: ReadonlyArray<string>
  readonly channels: ReadonlyArray<Record<string, unknown>>
  readonly roles: ReadonlyArray<Record<string, unknown>>
  readonly joinedAt: string
}

/**
 * The synthetic world: the bot user, its application and its guilds.
 *
 * @since 0.1.0
 */
export interface World {
  readonly user: User
  readonly applicationId: string
  readonly guilds: ReadonlyArray<Guild>
}

/**
 * Options for {@link makeWorld}.
 *
 * @since 0.1.0
 */
export interface WorldOptions {
  readonly seed: number
  /** Number of guilds; guild `i` lives on shard `i % shards`. */
  readonly guilds: number
  readonly shards: number
  readonly membersPerGuild: number
}

const worldBaseMs = Date.UTC(2020, 0, 1)
const iso = (ms: number): string => new Date(ms).toISOString()

const makeUser = (random: () => number, id: string, bot: boolean): User => {
  const name = `${pick(random, words)}_${pick(random, words)}${Math.floor(random() * 1000)}`
  return { id, username: name, discriminator: "0", global_name: bot ? null : name.replace("_", " "), avatar: null, bot }
}

const makeMember = (user: User, roles: ReadonlyArray<string>, joinedAt: string): Member => ({
  user,
  nick: null,
  roles,
  joined_at: joinedAt,
  deaf: false,
  mute: false,
  flags: 0,
  pending: false,
  premium_since: null,
  avatar: null,
  communication_disabled_until: null
})

/**
 * Builds the world from a seed. Guild ids are chosen so that guild `i` lives on shard
 * `i % shards` under `(guild_id >> 22) % shards`.
 *
 * @since 0.1.0
 */
export const makeWorld = (options: WorldOptions): World => {
  // as the local gateway refuses them: 2.5 guilds were 3, 2.5 shards a count no session has
  for (const name of ["guilds", "shards", "membersPerGuild"] as const) {
    const count = options[name]
    if (!Number.isSafeInteger(count) || count < (name === "shards" ? 1 : 0)) {
      throw new RangeError(`makeWorld: ${name} must be a whole number of at least ${name === "shards" ? 1 : 0}, got ${count}`)
    }
  }
  const random = seeded(options.seed)
  const shards = options.shards
  const memberStride = Math.max(10_000, options.membersPerGuild)
  const user = makeUser(random, snowflake(worldBaseMs - 86_400_000, 1), true)
  const applicationId = user.id
  const firstMs = worldBaseMs - ((worldBaseMs - discordEpoch) % shards)
  const guilds: Array<Guild> = []
  for (let i = 0; i < options.guilds; i++) {
    const id = snowflake(firstMs + i, 0)
    const createdMs = firstMs + i
    const joinedAt = iso(createdMs + 3_600_000)
    // the guild's own millisecond, an increment range per kind: no id met twice across guilds
    const roleIds = [id, snowflake(createdMs, 1), snowflake(createdMs, 2)]
    const roles = roleIds.map((roleId, position) => ({
      id: roleId,
      name: position === 0 ? "@everyone" : `${pick(random, words)}-role`,
      color: position === 0 ? 0 : Math.floor(random() * 0xffffff),
      hoist: position > 0,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: position === 0 ? "2248473465835073" : "8",
      managed: false,
      mentionable: false,
      flags: 0
    }))
    const textChannelIds = [snowflake(createdMs, 3), snowflake(createdMs, 4), snowflake(createdMs, 5)]
    const voiceChannelIds = [snowflake(createdMs, 6)]
    const channels = [
      ...textChannelIds.map((channelId, position) => ({
        id: channelId,
        type: 0,
        guild_id: id,
        name: position === 0 ? "general" : `${pick(random, words)}-chat`,
        position,
        permission_overwrites: [],
        topic: null,
        nsfw: false,
        last_message_id: null,
        rate_limit_per_user: 0,
        parent_id: null,
        flags: 0
      })),
      ...voiceChannelIds.map((channelId, position) => ({
        id: channelId,
        type: 2,
        guild_id: id,
        name: "Voice",
        position: textChannelIds.length + position,
        permission_overwrites: [],
        bitrate: 64000,
        user_limit: 0,
        rtc_region: null,
        parent_id: null,
        flags: 0
      }))
    ]
    const members = [makeMember(user, [], joinedAt)]
    for (let m = 0; m < options.membersPerGuild; m++) {
      // a millisecond of its own for each member of each guild (past 10,000 a guild, the last of
      // guild i and the first of guild i + 1 shared one)
      const memberUser = makeUser(random, snowflake(worldBaseMs + i * memberStride + m, 7), false)
      members.push(makeMember(memberUser, random() < 0.3 ? [roleIds[1]!] : [], iso(createdMs + 7_200_000 + m * 60_000)))
    }
    guilds.push({
      id,
      name: `${pick(random, words)} ${pick(random, words)} club`,
      members,
      textChannelIds,
      voiceChannelIds,
      channels,
      roles,
      joinedAt
    })
  }
  return { user, applicationId, guilds }
}

/**
 * The GUILD_CREATE payload for a guild, for a session with `intents`. As Discord does, a guild
 * with more members than `largeThreshold` is `large`, and it carries only the bot's own member
 * (members in voice too, of whom this world has none) when it is large or the session lacks the
 * GuildPresences intent.
 *
 * @since 0.1.0
 */
export const guildCreate = (guild: Guild, largeThreshold: number, intents: number): Record<string, unknown> => {
  const large = guild.members.length > largeThreshold
  const botOnly = large || (intents & GatewayIntentBits.GuildPresences) === 0
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.members[guild.members.length > 1 ? 1 : 0]!.user.id,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 1,
    default_message_notifications: 1,
    explicit_content_filter: 2,
    roles: guild.roles,
    emojis: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.textChannelIds[0] ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: "en-US",
    public_updates_channel_id: null,
    nsfw_level: 0,
    stickers: [],
    premium_progress_bar_enabled: false,
    joined_at: guild.joinedAt,
    large,
    unavailable: false,
    member_count: guild.members.length,
    voice_states: [],
    members: botOnly ? guild.members.slice(0, 1) : guild.members,
    channels: guild.channels,
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: []
  }
}

/**
 * A presence for a member, as GUILD_MEMBERS_CHUNK and PRESENCE_UPDATE carry it.
 *
 * @since 0.1.0
 */
export const presenceOf = (member: { readonly user: { readonly id: string } }, guildId: string, status: string): Record<string, unknown> => ({
  user: { id: member.user.id },
  guild_id: guildId,
  status,
  activities: [],
  client_status: { desktop: status }
})

/**
 * A synthetic event: its name and data.
 *
 * @since 0.1.0
 */
export interface Event {
  readonly t: string
  readonly d: Record<string, unknown>
}

/**
 * A deterministic event source over some guilds: each call yields the next event at time `now`.
 *
 * @since 0.1.0
 */
export type Source = (now: number) => Event | undefined

const memberFields = (member: Member): Record<string, unknown> => {
  const { user: _user, ...fields } = member
  return fields
}

/**
 * Creates an event source over `guilds` (those of one shard), seeded by `seed`. Yields nothing
 * when there are no guilds. Its snowflakes carry `worker` (0-1023): sources that run side by side,
 * one per session, each need their own, so that their message ids never meet.
 *
 * @since 0.1.0
 */
export const makeSource = (guilds: ReadonlyArray<Guild>, seed: number, worker = 0): Source => {
  const random = seeded(seed)
  // the millisecond of the last id, and its increment (12 bits): a tick after a pause makes a
  // second's worth of events at one millisecond, so one whose 4096 ran out goes on in the next
  // (the increment wrapped, and about 900 of 10,000 messages shared an id)
  let stampMs = 0
  let increment = 0
  const nextId = (now: number): string => {
    // (a time before Discord's epoch, a `TestClock`'s from 0, is the epoch: ids made a second apart
    // at such times were one id)
    const at = Math.max(Math.floor(now), discordEpoch)
    if (at > stampMs) {
      stampMs = at
      increment = 0
    } else if (increment > 0xfff) {
      stampMs++
      increment = 0
    }
    return snowflake(stampMs, increment++, worker)
  }
  const lastMessage = new Map<string, string>()
  return (now) => {
    if (guilds.length === 0) return undefined
    const guild = pick(random, guilds)
    const humans = guild.members.length > 1 ? guild.members.slice(1) : guild.members
    const member = pick(random, humans)
    const channelId = pick(random, guild.textChannelIds)
    const roll = random()
    if (roll < 0.5) {
      const id = nextId(now)
      lastMessage.set(channelId, id)
      const length = 3 + Math.floor(random() * 12)
      const content = Array.from({ length }, () => pick(random, words)).join(" ")
      return {
        t: "MESSAGE_CREATE",
        d: {
          id,
          type: 0,
          channel_id: channelId,
          guild_id: guild.id,
          author: member.user,
          member: memberFields(member),
          content,
          timestamp: iso(now),
          edited_timestamp: null,
          tts: false,
          mention_everyone: false,
          mentions: [],
          mention_roles: [],
          attachments: [],
          embeds: [],
          pinned: false,
          flags: 0,
          components: [],
          nonce: String(Math.floor(random() * 1e15))
        }
      }
    }
    if (roll < 0.7) {
      const status = pick(random, statuses)
      return {
        t: "PRESENCE_UPDATE",
        d: {
          ...presenceOf(member, guild.id, status),
          activities: random() < 0.5 ? [] : [{ name: pick(random, words), type: 0, created_at: now }]
        }
      }
    }
    if (roll < 0.85) {
      return {
        t: "TYPING_START",
        d: {
          channel_id: channelId,
          guild_id: guild.id,
          user_id: member.user.id,
          timestamp: Math.floor(now / 1000),
          member: { ...memberFields(member), user: member.user }
        }
      }
    }
    return {
      t: "MESSAGE_REACTION_ADD",
      d: {
        user_id: member.user.id,
        type: 0,
        channel_id: channelId,
        message_id: lastMessage.get(channelId) ?? nextId(now),
        guild_id: guild.id,
        member: { ...memberFields(member), user: member.user },
        emoji: { id: null, name: pick(random, emojis) },
        burst: false,
        burst_colors: []
      }
    }
  }
}
