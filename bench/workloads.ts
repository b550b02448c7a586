/**
 * The benchmark's workloads: deterministic synthetic gateway traffic, generated once per run by
 * the benchmark gateway (and nowhere on a client's measured path).
 *
 * @since 0.1.0
 */
import type { Compression } from "../src/codec/Compression.ts"
import * as Traffic from "../src/testing/Traffic.ts"

/**
 * What a workload's events look like.
 *
 * - `small`: MESSAGE_CREATE-like events of about 1.3 KB JSON.
 * - `large`: GUILD_CREATE with a few hundred members, about 100 KB JSON.
 * - `mixed`: ten event types in equal shares; the program of the filtered run wants one of them.
 *
 * @since 0.1.0
 */
export type Kind = "small" | "large" | "mixed"

/**
 * One measured workload: a kind of traffic, a transport compression, how many events are sent
 * before measuring starts (`warmup`) and how many are measured (`events`), and the event types the
 * program asks for (`undefined`: all of them).
 *
 * @since 0.1.0
 */
export interface Workload {
  readonly name: string
  readonly kind: Kind
  readonly compression: Compression
  readonly warmup: number
  readonly events: number
  readonly wanted: ReadonlyArray<string> | undefined
}

/**
 * The event the gateway sends between the warm-up events and the measured ones: clients measure
 * from there.
 *
 * @since 0.1.0
 */
export const startMarker = "BENCH_START"

/**
 * The event the gateway sends after the last measured event: clients stop measuring there.
 *
 * @since 0.1.0
 */
export const endMarker = "BENCH_END"

/**
 * The event type the filtered run's program wants: one of the ten types of the `mixed` kind.
 *
 * @since 0.1.0
 */
export const filteredType = "MESSAGE_CREATE"

/**
 * The event types of the `mixed` kind, each 10% of the events.
 *
 * @since 0.1.0
 */
export const mixedTypes: ReadonlyArray<string> = [
  "MESSAGE_CREATE",
  "MESSAGE_UPDATE",
  "MESSAGE_DELETE",
  "MESSAGE_REACTION_ADD",
  "TYPING_START",
  "PRESENCE_UPDATE",
  "GUILD_MEMBER_UPDATE",
  "VOICE_STATE_UPDATE",
  "CHANNEL_UPDATE",
  "THREAD_UPDATE"
]

/**
 * Every workload `npm run bench` measures, in the order it measures them.
 *
 * @since 0.1.0
 */
export const all = (counts: {
  readonly small: number
  readonly large: number
  readonly smallWarmup: number
  readonly largeWarmup: number
}): ReadonlyArray<Workload> => {
  const list: Array<Workload> = []
  const warmup = { small: counts.smallWarmup, large: counts.largeWarmup }
  for (const kind of ["small", "large"] as const) {
    for (const compression of ["zlib-stream", "zstd-stream", "none"] as const) {
      list.push({ name: `${kind} ${compression}`, kind, compression, warmup: warmup[kind], events: counts[kind], wanted: undefined })
    }
  }
  for (const compression of ["zlib-stream", "none"] as const) {
    list.push({
      name: `filtered ${compression}`,
      kind: "mixed",
      compression,
      warmup: counts.smallWarmup,
      events: counts.small,
      wanted: [filteredType]
    })
  }
  return list
}

/**
 * How many of `all` events a client of `workload` handles, given the events' counts by type: all of
 * them, or those of the wanted types.
 *
 * @since 0.1.0
 */
export const handled = (workload: Workload, byType: Readonly<Record<string, number>>, all: number): number =>
  workload.wanted === undefined ? all : workload.wanted.reduce((sum, t) => sum + (byType[t] ?? 0), 0)

/**
 * A generator of synthetic Discord data, seeded.
 *
 * @since 0.1.0
 */
export class Synth {
  private readonly random: () => number
  private readonly vocabulary: ReadonlyArray<string>
  readonly guildId: string
  readonly channels: ReadonlyArray<string>
  readonly users: ReadonlyArray<Record<string, unknown>>

  constructor(seed: number) {
    this.random = Traffic.seeded(seed)
    this.vocabulary = Array.from({ length: 400 }, () => this.word())
    this.guildId = this.snowflake()
    this.channels = Array.from({ length: 12 }, () => this.snowflake())
    this.users = Array.from({ length: 200 }, () => this.user())
  }

  int(below: number): number {
    return Math.floor(this.random() * below)
  }

  pick<A>(list: ReadonlyArray<A>): A {
    return list[this.int(list.length)]!
  }

  snowflake(): string {
    const timestamp = BigInt(1_500_000_000_000 + this.int(250_000_000_000) - 1_420_070_400_000)
    return String((timestamp << 22n) | BigInt(this.int(4_194_304)))
  }

  hex(length: number): string {
    let out = ""
    for (let i = 0; i < length; i++) out += "0123456789abcdef"[this.int(16)]
    return out
  }

  word(): string {
    const letters = "abcdefghijklmnopqrstuvwxyz"
    let out = ""
    for (let i = 2 + this.int(8); i > 0; i--) out += letters[this.int(26)]
    return out
  }

  sentence(words: number): string {
    return Array.from({ length: words }, () => this.pick(this.vocabulary)).join(" ")
  }

  timestamp(): string {
    return new Date(1_600_000_000_000 + this.int(150_000_000_000)).toISOString().replace("Z", "000+00:00")
  }

  user(): Record<string, unknown> {
    const name = this.word()
    return {
      id: this.snowflake(),
      username: name,
      global_name: `${name} ${this.word()}`,
      avatar: this.hex(32),
      discriminator: "0",
      public_flags: this.int(2) * 64,
      avatar_decoration_data: null,
      clan: null,
      primary_guild: null
    }
  }

  member(user?: Record<string, unknown>): Record<string, unknown> {
    return {
      ...(user === undefined ? {} : { user }),
      roles: Array.from({ length: 1 + this.int(3) }, () => this.snowflake()),
      premium_since: null,
      pending: false,
      nick: this.int(4) === 0 ? this.word() : null,
      mute: false,
      joined_at: this.timestamp(),
      flags: 0,
      deaf: false,
      communication_disabled_until: null,
      banner: null,
      avatar: null
    }
  }

  embed(): Record<string, unknown> {
    return {
      type: "rich",
      title: this.sentence(4),
      description: this.sentence(20),
      url: `https://example.com/${this.word()}/${this.hex(12)}`,
      color: this.int(16_777_216),
      fields: Array.from({ length: 2 }, () => ({ name: this.word(), value: this.sentence(6), inline: true })),
      footer: { text: this.sentence(3) }
    }
  }

  messageCreate(): Record<string, unknown> {
    const author = this.pick(this.users)
    return {
      type: 0,
      tts: false,
      timestamp: this.timestamp(),
      pinned: false,
      nonce: this.snowflake(),
      mentions: this.int(3) === 0 ? [{ ...this.pick(this.users), member: this.member() }] : [],
      mention_roles: [],
      mention_everyone: false,
      member: this.member(),
      id: this.snowflake(),
      flags: 0,
      embeds: this.int(4) === 0 ? [this.embed()] : [],
      edited_timestamp: null,
      content: this.sentence(8 + this.int(40)),
      components: [],
      channel_id: this.pick(this.channels),
      attachments: [],
      author,
      guild_id: this.guildId
    }
  }

  private role(): Record<string, unknown> {
    return {
      id: this.snowflake(),
      name: this.sentence(2),
      color: this.int(16_777_216),
      hoist: this.int(2) === 0,
      icon: null,
      unicode_emoji: null,
      position: this.int(50),
      permissions: String(this.int(2_147_483_648)),
      managed: false,
      mentionable: this.int(2) === 0,
      flags: 0,
      tags: {}
    }
  }

  private channel(guildId: string): Record<string, unknown> {
    return {
      id: this.snowflake(),
      type: this.pick([0, 0, 0, 2, 4, 5, 13, 15]),
      guild_id: guildId,
      name: this.word(),
      position: this.int(60),
      parent_id: this.int(3) === 0 ? null : this.snowflake(),
      topic: this.int(2) === 0 ? this.sentence(10) : null,
      nsfw: false,
      rate_limit_per_user: 0,
      last_message_id: this.snowflake(),
      permission_overwrites: Array.from({ length: this.int(3) }, () => ({
        id: this.snowflake(),
        type: this.int(2),
        allow: String(this.int(1_048_576)),
        deny: String(this.int(1_048_576))
      })),
      flags: 0
    }
  }

  guildCreate(): Record<string, unknown> {
    const id = this.snowflake()
    const members = Array.from({ length: 200 }, () => this.member(this.user()))
    return {
      id,
      name: this.sentence(3),
      icon: this.hex(32),
      splash: null,
      banner: null,
      description: this.sentence(12),
      owner_id: (members[0]!["user"] as { id: string }).id,
      region: "deprecated",
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 1,
      default_message_notifications: 1,
      explicit_content_filter: 2,
      features: ["COMMUNITY", "NEWS", "ANIMATED_ICON", "INVITE_SPLASH"],
      mfa_level: 0,
      system_channel_id: this.snowflake(),
      system_channel_flags: 0,
      rules_channel_id: this.snowflake(),
      vanity_url_code: null,
      premium_tier: 1,
      premium_subscription_count: this.int(30),
      preferred_locale: "en-US",
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      max_members: 500_000,
      max_video_channel_users: 25,
      roles: Array.from({ length: 20 }, () => this.role()),
      emojis: Array.from({ length: 12 }, () => ({
        id: this.snowflake(),
        name: this.word(),
        roles: [],
        require_colons: true,
        managed: false,
        animated: this.int(3) === 0,
        available: true
      })),
      stickers: [],
      joined_at: this.timestamp(),
      large: true,
      unavailable: false,
      member_count: 1000 + this.int(50_000),
      voice_states: [],
      members,
      channels: Array.from({ length: 30 }, () => this.channel(id)),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: []
    }
  }

  /** One event of the `mixed` kind, of type `t`. */
  mixed(t: string): Record<string, unknown> {
    switch (t) {
      case "MESSAGE_CREATE":
        return this.messageCreate()
      case "MESSAGE_UPDATE":
        return { ...this.messageCreate(), edited_timestamp: this.timestamp() }
      case "MESSAGE_DELETE":
        return { id: this.snowflake(), channel_id: this.pick(this.channels), guild_id: this.guildId }
      case "MESSAGE_REACTION_ADD":
        return {
          user_id: (this.pick(this.users)["id"] as string),
          type: 0,
          message_id: this.snowflake(),
          message_author_id: (this.pick(this.users)["id"] as string),
          member: this.member(this.pick(this.users)),
          emoji: { name: "\u{1F44D}", id: null },
          channel_id: this.pick(this.channels),
          burst: false,
          guild_id: this.guildId
        }
      case "TYPING_START":
        return {
          user_id: (this.pick(this.users)["id"] as string),
          timestamp: 1_700_000_000 + this.int(10_000_000),
          member: this.member(this.pick(this.users)),
          channel_id: this.pick(this.channels),
          guild_id: this.guildId
        }
      case "PRESENCE_UPDATE":
        return {
          user: { id: this.pick(this.users)["id"] },
          status: this.pick(["online", "idle", "dnd"]),
          guild_id: this.guildId,
          client_status: { desktop: "online" },
          activities: Array.from({ length: 1 + this.int(2) }, () => ({
            type: this.int(4),
            name: this.sentence(2),
            state: this.sentence(5),
            details: this.sentence(4),
            created_at: 1_700_000_000_000 + this.int(1_000_000_000),
            application_id: this.snowflake(),
            timestamps: { start: 1_700_000_000_000 + this.int(1_000_000_000) },
            assets: { large_image: this.hex(24), large_text: this.sentence(3) }
          }))
        }
      case "GUILD_MEMBER_UPDATE":
        return { ...this.member(this.pick(this.users)), guild_id: this.guildId }
      case "VOICE_STATE_UPDATE":
        return {
          member: this.member(this.pick(this.users)),
          user_id: (this.pick(this.users)["id"] as string),
          suppress: false,
          session_id: this.hex(32),
          self_video: false,
          self_mute: this.int(2) === 0,
          self_deaf: false,
          request_to_speak_timestamp: null,
          mute: false,
          guild_id: this.guildId,
          deaf: false,
          channel_id: this.pick(this.channels)
        }
      case "CHANNEL_UPDATE":
        return this.channel(this.guildId)
      default:
        return {
          ...this.channel(this.guildId),
          type: 11,
          owner_id: this.pick(this.users)["id"],
          member_count: this.int(50),
          message_count: this.int(500),
          thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: this.timestamp(), locked: false }
        }
    }
  }
}

/**
 * The dispatches of a workload, in order: `[t, d]` pairs (READY and the markers excluded).
 * The `mixed` kind shuffles the ten types within every block of ten, so exactly one event in ten
 * is of the wanted type.
 *
 * @since 0.1.0
 */
export const dispatches = (kind: Kind, count: number): ReadonlyArray<readonly [string, unknown]> => {
  const synth = new Synth(kind === "small" ? 1 : kind === "large" ? 2 : 3)
  const out: Array<readonly [string, unknown]> = []
  let block: Array<string> = []
  for (let i = 0; i < count; i++) {
    switch (kind) {
      case "small":
        out.push(["MESSAGE_CREATE", synth.messageCreate()])
        break
      case "large":
        out.push(["GUILD_CREATE", synth.guildCreate()])
        break
      case "mixed": {
        if (block.length === 0) {
          block = [...mixedTypes]
          for (let j = block.length - 1; j > 0; j--) {
            const k = synth.int(j + 1)
            ;[block[j], block[k]] = [block[k]!, block[j]!]
          }
        }
        const t = block.pop()!
        out.push([t, synth.mixed(t)])
        break
      }
    }
  }
  return out
}
