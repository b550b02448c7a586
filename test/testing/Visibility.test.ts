import { describe, expect, it } from "@effect/vitest"
import * as Intents from "../../src/protocol/Intents.ts"
import { Visibility } from "../../src/testing/index.ts"

const bot = "1300000000000000000"
const guildMessage = { id: "1", guild_id: "2", author: { id: "3" }, mentions: [], content: "hi", embeds: [{}], attachments: [{}], components: [{}], poll: {} }

describe("Visibility", () => {
  it("delivers a type to a session with one of the intents it needs, a guild's or a direct message's", () => {
    expect(Visibility.delivers(Intents.GuildMessages, bot, "MESSAGE_CREATE", guildMessage)).toBe(true)
    expect(Visibility.delivers(Intents.DirectMessages, bot, "MESSAGE_CREATE", guildMessage)).toBe(false)
    expect(Visibility.delivers(Intents.DirectMessages, bot, "MESSAGE_CREATE", { id: "1", content: "dm" })).toBe(true)
    expect(Visibility.delivers(Intents.GuildMessages, bot, "MESSAGE_CREATE", { id: "1", content: "dm" })).toBe(false)
    expect(Visibility.delivers(Intents.Guilds, bot, "THREAD_MEMBERS_UPDATE", {})).toBe(true)
    expect(Visibility.delivers(Intents.GuildMembers, bot, "THREAD_MEMBERS_UPDATE", {})).toBe(true)
    expect(Visibility.delivers(Intents.Guilds, bot, "PRESENCE_UPDATE", {})).toBe(false)
    // the bot's own member update whatever the intents; another member's with GuildMembers only
    expect(Visibility.delivers(Intents.Guilds, bot, "GUILD_MEMBER_UPDATE", { guild_id: "2", user: { id: bot } })).toBe(true)
    expect(Visibility.delivers(Intents.Guilds, bot, "GUILD_MEMBER_UPDATE", { guild_id: "2", user: { id: "3" } })).toBe(false)
    expect(Visibility.delivers(Intents.GuildMembers, bot, "GUILD_MEMBER_UPDATE", { guild_id: "2", user: { id: "3" } })).toBe(true)
    expect(Visibility.delivers(Intents.GuildMessages, bot, "VOICE_CHANNEL_STATUS_UPDATE", { guild_id: "2" })).toBe(false)
    // types no intent opens, and made-up ones, go to every session
    for (const t of ["READY", "RESUMED", "GUILD_MEMBERS_CHUNK", "VOICE_SERVER_UPDATE", "INTERACTION_CREATE", "TEST_EVENT"]) {
      expect(Visibility.delivers(0, bot, t, {})).toBe(true)
    }
  })

  it("empties a guild message's content without MessageContent, unless the bot wrote it or is mentioned, or it is a direct message", () => {
    expect(Visibility.asSeen(Intents.GuildMessages, bot, "MESSAGE_CREATE", guildMessage)).toEqual({
      id: "1", guild_id: "2", author: { id: "3" }, mentions: [], content: "", embeds: [], attachments: [], components: []
    })
    expect(Visibility.asSeen(Intents.GuildMessages, bot, "MESSAGE_UPDATE", { guild_id: "2", content: "edited" })).toEqual({ guild_id: "2", content: "" })
    for (const readable of [
      { ...guildMessage, author: { id: bot } },
      { ...guildMessage, mentions: [{ id: bot }] },
      { ...guildMessage, guild_id: undefined }
    ]) {
      expect(Visibility.asSeen(Intents.GuildMessages, bot, "MESSAGE_CREATE", readable)).toBe(readable)
    }
    expect(Visibility.asSeen(Intents.GuildMessages | Intents.MessageContent, bot, "MESSAGE_CREATE", guildMessage)).toBe(guildMessage)
    expect(Visibility.asSeen(Intents.GuildMessages, bot, "MESSAGE_DELETE", guildMessage)).toBe(guildMessage)
  })

  // each shard got a guild's event (and a fleet's program handled it once per shard); a DM's
  // interaction went to every shard; a RATE_LIMITED to shard 0, not its member request's
  it("routes a dispatch where Discord sends it: by its guild, else shard 0 for Discord's own types, else every shard", () => {
    const [first, second] = ["81384788765712384", "81384788769906688"]
    expect(Visibility.shardOfDispatch("MESSAGE_CREATE", { guild_id: second }, 2)).toBe(1)
    expect(Visibility.shardOfDispatch("GUILD_UPDATE", { id: second }, 2)).toBe(1)
    expect(Visibility.shardOfDispatch("RATE_LIMITED", { opcode: 8, retry_after: 1, meta: { guild_id: second } }, 2)).toBe(1)
    expect(Visibility.shardOfDispatch("MESSAGE_CREATE", { guild_id: first }, 2)).toBe(0)
    expect(Visibility.shardOfDispatch("MESSAGE_CREATE", { channel_id: "1" }, 2)).toBe(0)
    expect(Visibility.shardOfDispatch("INTERACTION_CREATE", { id: "3", type: 2 }, 2)).toBe(0)
    expect(Visibility.shardOfDispatch("TEST_MARKER", { n: 1 }, 2)).toBeUndefined()
  })
})
