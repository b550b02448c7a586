import { describe, expect, it } from "@effect/vitest"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Visibility from "../../src/testing/Visibility.ts"

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
})
