import { describe, expect, it } from "@effect/vitest"
import * as Intents from "../../src/protocol/Intents.ts"
import { shardOf } from "../../src/testing/Rules.ts"
import * as Traffic from "../../src/testing/Traffic.ts"

const world = Traffic.makeWorld({ seed: 9, guilds: 6, shards: 3, membersPerGuild: 60 })
const snowflake = /^\d{17,20}$/

describe("Traffic", () => {
  it("builds the same world from the same seed, with guild i on shard i % shards", () => {
    expect(Traffic.makeWorld({ seed: 9, guilds: 6, shards: 3, membersPerGuild: 60 })).toEqual(world)
    expect(world.guilds.map((g) => shardOf(g.id, 3))).toEqual([0, 1, 2, 0, 1, 2])
    expect(world.guilds.every((g) => snowflake.test(g.id) && g.members.length === 61)).toBe(true)
    expect(new Set(world.guilds.flatMap((g) => g.members.map((m) => m.user.id))).size).toBe(6 * 60 + 1)
  })

  it("GUILD_CREATE carries roles and channels, and only the bot member when large or without the GuildPresences intent", () => {
    const guild = world.guilds[0]!
    const small = Traffic.guildCreate(guild, 250, Intents.Guilds | Intents.GuildPresences)
    expect(small).toMatchObject({ id: guild.id, large: false, member_count: 61, unavailable: false })
    expect((small["members"] as Array<unknown>).length).toBe(61)
    expect((small["roles"] as Array<{ id: string }>)[0]!.id).toBe(guild.id)
    expect((small["channels"] as Array<unknown>).length).toBe(4)
    const large = Traffic.guildCreate(guild, 50, Intents.Guilds | Intents.GuildPresences)
    expect(large["large"]).toBe(true)
    expect(large["members"]).toEqual([guild.members[0]])
    const withoutPresences = Traffic.guildCreate(guild, 250, Intents.Guilds)
    expect([withoutPresences["large"], withoutPresences["members"], withoutPresences["member_count"]]).toEqual([false, [guild.members[0]], 61])
  })

  it("a source yields the same events for the same seed, shaped like Discord's", () => {
    const guilds = world.guilds.filter((g) => shardOf(g.id, 3) === 1)
    const run = () => {
      const source = Traffic.makeSource(guilds, 5)
      return Array.from({ length: 200 }, (_, i) => source(Date.UTC(2024, 0, 1) + i * 10)!)
    }
    const events = run()
    expect(run()).toEqual(events)
    expect(new Set(events.map((e) => e.t))).toEqual(new Set(["MESSAGE_CREATE", "PRESENCE_UPDATE", "TYPING_START", "MESSAGE_REACTION_ADD"]))
    expect(events.every((e) => shardOf(e.d["guild_id"] as string, 3) === 1)).toBe(true)
    const message = events.find((e) => e.t === "MESSAGE_CREATE")!.d
    expect(message["id"]).toMatch(snowflake)
    expect(message["timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(BigInt(message["id"] as string) >> 22n).toBe(BigInt(Date.parse(message["timestamp"] as string) - Traffic.discordEpoch))
    expect(Traffic.makeSource([], 1)(0)).toBeUndefined()
  })

  it("no snowflake of a world is met twice (but @everyone's, its guild's id, as on Discord)", () => {
    const many = Traffic.makeWorld({ seed: 3, guilds: 50, shards: 4, membersPerGuild: 5 })
    const ids = [
      many.user.id,
      ...many.guilds.flatMap((guild) => [
        guild.id,
        ...guild.roles.slice(1).map((role) => role.id),
        ...guild.channels.map((channel) => channel.id),
        ...guild.members.slice(1).map((member) => member.user.id)
      ])
    ]
    expect(new Set(ids).size).toBe(ids.length)
    expect(many.guilds.every((guild) => guild.roles[0]!.id === guild.id)).toBe(true)
  })

  it("sources side by side, each with its worker, never make the same message id at the same instant", () => {
    const sources = [0, 1, 2].map((shard) =>
      Traffic.makeSource(world.guilds.filter((g) => shardOf(g.id, 3) === shard), 5, shard)
    )
    const ids: Array<string> = []
    for (let tick = 0; tick < 200; tick++) {
      for (const source of sources) {
        const event = source(Date.UTC(2024, 0, 1))
        if (event?.t === "MESSAGE_CREATE") ids.push(event.d["id"] as string)
      }
    }
    expect(ids.length).toBeGreaterThan(100)
    expect(new Set(ids).size).toBe(ids.length)
    // the worker sits between the time and the increment
    expect(Traffic.snowflake(Traffic.discordEpoch + 1, 5, 3)).toBe(String((1n << 22n) | (3n << 12n) | 5n))
  })

  // a TestClock's times, from 0, come before Discord's epoch: every such id was "0" plus the
  // increment, started over at each new millisecond, so messages a second apart shared one
  it("messages made at times before Discord's epoch (a TestClock's) have ids of their own", () => {
    const world = Traffic.makeWorld({ seed: 1, guilds: 1, shards: 1, membersPerGuild: 5 })
    const source = Traffic.makeSource(world.guilds, 7)
    const ids: Array<string> = []
    for (let now = 0; ids.length < 20; now += 1000) {
      const event = source(now)!
      if (event.t === "MESSAGE_CREATE") ids.push(event.d["id"] as string)
    }
    expect(new Set(ids).size).toBe(20)
  })

  // member m of guild i was stamped at i * 10,000 + m: past 10,000 members a guild, the last of one
  // and the first of the next shared an id, each with its own name
  it("a world of guilds past 10,000 members meets no user id twice", () => {
    const world = Traffic.makeWorld({ seed: 3, guilds: 2, shards: 1, membersPerGuild: 10_001 })
    const ids = world.guilds.flatMap((guild) => guild.members.slice(1).map((member) => member.user.id))
    expect(new Set(ids).size).toBe(ids.length)
  })

  // wrapped round to ids already made, unsaid (as the LocalGateway refuses such counts at `make`)
  it("snowflake and makeWorld refuse what their bits or counts cannot hold, naming it", () => {
    const at = Traffic.discordEpoch + 1000
    expect(() => Traffic.snowflake(at, 4096)).toThrow("snowflake: increment must be a whole number from 0 to 4095, got 4096")
    expect(() => Traffic.snowflake(at, 0, 1024)).toThrow("snowflake: worker must be a whole number from 0 to 1023, got 1024")
    expect(() => Traffic.snowflake(at, 1.5)).toThrow(RangeError)
    expect(Traffic.snowflake(at, 4095, 1023)).toBe(((1000n << 22n) | (1023n << 12n) | 4095n).toString())
    expect(() => Traffic.makeWorld({ seed: 1, guilds: 2.5, shards: 1, membersPerGuild: 1 })).toThrow("makeWorld: guilds must be a whole number of at least 0, got 2.5")
    expect(() => Traffic.makeWorld({ seed: 1, guilds: 2, shards: 0, membersPerGuild: 1 })).toThrow("makeWorld: shards must be a whole number of at least 1, got 0")
  })
})
