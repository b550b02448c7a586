import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { isSnowflake, RouteError, shardOf } from "../../src/fleet/Routing.ts"
import { advance, configureLimiter, guildOn, options, serve, TestLayer } from "./harness.ts"

describe("shardOf", () => {
  it("puts a guild on (id >> 22) % count", () => {
    // 197038439483310086 >> 22 = 46977624770
    expect(shardOf("197038439483310086", 5)).toBe(0)
    expect(shardOf("197038439483310086", 7)).toBe(46977624770 % 7)
    // 81384788765712384 >> 22 = 19403645698
    expect(shardOf("81384788765712384", 2)).toBe(0)
    expect(shardOf("81384788765712384", 3)).toBe(1)
    expect(shardOf("81384788765712384", 5)).toBe(3)
    expect(shardOf(613425648685547541n, 16)).toBe(8)
    expect(shardOf("222078108977594368", 1)).toBe(0)
  })

  it("sends DMs and guild-less commands to shard 0", () => {
    expect(shardOf(null, 16)).toBe(0)
    expect(shardOf(undefined, 16)).toBe(0)
  })

  it("handles snowflakes beyond 2^53 without losing precision", () => {
    const big = 2n ** 62n + (12345n << 22n)
    const id = big.toString()
    expect(shardOf(id, 1000)).toBe(Number((big >> 22n) % 1000n))
    expect(isSnowflake(id)).toBe(true)
    expect(isSnowflake("18446744073709551616")).toBe(false)
    expect(isSnowflake("12a")).toBe(false)
    expect(isSnowflake("")).toBe(false)
  })
})

describe("shardOf, given no snowflake", () => {
  it("throws a RangeError that says so: BigInt read \"-4194304\" as shard -1, and routed \"\", \" 1 \" and \"0x10\"", () => {
    for (const id of ["-4194304", "", " 197038439483310086 ", "0x4000000000", "-0", "abc", "18446744073709551616"]) {
      expect(() => shardOf(id, 2)).toThrow(new RangeError(`shardOf: guild id ${JSON.stringify(id)} is not a snowflake`))
    }
    expect(() => shardOf(-(1n << 22n), 2)).toThrow(new RangeError("shardOf: guild id -4194304n is not a snowflake"))
    expect(() => shardOf(1n << 64n, 2)).toThrow(RangeError)
    expect(shardOf((1n << 64n) - 1n, 2)).toBe(1)
    for (const count of [0, -1, 1.5, NaN]) expect(() => shardOf("1", count)).toThrow(RangeError)
    // a bigint count (the guild id may be one) named by its value, not as "bigint"
    expect(() => shardOf("1", 4n as unknown as number)).toThrow(new RangeError("shardOf: shard count 4n is not a positive integer"))
  })
})

describe("RouteError", () => {
  it("names a guild id that is no snowflake in a short message, however long it is", () => {
    expect(new RouteError({ reason: "InvalidGuildId", guildId: "12a" }).message).toBe(`guild id "12a" is not a snowflake`)
    expect(new RouteError({ reason: "InvalidGuildId", guildId: "9".repeat(100_000) }).message.length).toBeLessThan(100)
  })
})

describe("Fleet routing", () => {
  const count = 7
  const running = [0, 2, 5]

  const readyFleet = Effect.gen(function*() {
    yield* configureLimiter(count)
    const served = yield* serve()
    const fleet = yield* Fleet.make(options({ shards: running, shardCount: count }))
    yield* advance(1000)
    expect(served.identifies.map((i) => i.shard).sort()).toEqual(running)
    const sent = (shard: number, op: number) => (served.commands.get(shard) ?? []).filter((p) => p.op === op)
    return { fleet, served, sent }
  })

  it.scoped("sends a guild's command to the guild's shard only", () =>
    Effect.gen(function*() {
      const { fleet, sent } = yield* readyFleet
      const guild = guildOn(2, count)
      yield* fleet.updateVoiceState({ guild_id: guild, channel_id: null, self_mute: false, self_deaf: false })
      yield* fleet.requestChannelInfo({ guild_id: guildOn(5, count), fields: ["status"] })
      yield* advance(1000)
      expect(sent(2, 4).map((p) => p.d)).toEqual([{ guild_id: guild, channel_id: null, self_mute: false, self_deaf: false }])
      expect(sent(0, 4)).toEqual([])
      expect(sent(5, 4)).toEqual([])
      expect(sent(5, 43).map((p) => (p.d as { guild_id: string }).guild_id)).toEqual([guildOn(5, count)])
      expect(yield* fleet.sessionFor(guild)).toBe(yield* fleet.shard(2))
      expect(yield* fleet.sessionFor(null)).toBe(yield* fleet.shard(0))
      expect(yield* fleet.sessionFor(undefined)).toBe(yield* fleet.shard(0))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a command given null (from JavaScript or a parsed file) fails with InvalidCommand, as a session's does (it threw a TypeError at the call)", () =>
    Effect.gen(function*() {
      const { fleet } = yield* readyFleet
      const given = null as never
      const refused = yield* Effect.all([
        Effect.flip(Effect.suspend(() => fleet.updateVoiceState(given))),
        Effect.flip(Effect.suspend(() => fleet.requestChannelInfo(given))),
        Effect.flip(Effect.suspend(() => fleet.requestGuildMembers(given)))
      ])
      expect(refused.map((error) => error._tag)).toEqual(["InvalidCommand", "InvalidCommand", "InvalidCommand"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fails with RouteError for a shard it does not run, and for a bad guild id; a split request sends nothing if any part fails", () =>
    Effect.gen(function*() {
      const { fleet, sent } = yield* readyFleet
      const elsewhere = guildOn(1, count)
      const voice = yield* Effect.flip(fleet.updateVoiceState({ guild_id: elsewhere, channel_id: null, self_mute: false, self_deaf: false }))
      expect(voice).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 1, guildId: elsewhere })
      expect(voice.message).toContain("shard 1")
      expect(yield* Effect.flip(fleet.shard(3))).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 3 })
      expect(yield* Effect.flip(fleet.sessionFor("not-a-snowflake"))).toMatchObject({ reason: "InvalidGuildId" })
      // a command's guild id is one of its fields: checked with the rest, as a session checks it
      const badId = " 12"
      const refused = yield* Effect.all([
        Effect.flip(fleet.updateVoiceState({ guild_id: badId, channel_id: null, self_mute: false, self_deaf: false })),
        Effect.flip(fleet.requestChannelInfo({ guild_id: badId, fields: ["status"] })),
        Effect.flip(fleet.requestGuildMembers({ guild_id: badId, query: "", limit: 0 })),
        Effect.flip(fleet.requestSoundboardSounds([guildOn(0, count), badId])),
        Effect.flatMap(fleet.shard(0), (session) => Effect.flip(session.updateVoiceState({ guild_id: badId, channel_id: null, self_mute: false, self_deaf: false })))
      ])
      expect(refused.map((error) => error._tag)).toEqual(Array(5).fill("InvalidCommand"))
      // a split request with one unroutable guild sends nothing at all
      const sounds = yield* Effect.flip(fleet.requestSoundboardSounds([guildOn(0, count), elsewhere]))
      expect(sounds).toMatchObject({ _tag: "RouteError", shard: 1 })
      // nor does one whose part for a running shard fills many frames
      const many = Array.from({ length: 400 }, (_, i) => guildOn(5, count, i))
      const unroutable = yield* Effect.flip(fleet.requestSoundboardSounds([...many, elsewhere]))
      expect(unroutable).toMatchObject({ _tag: "RouteError", shard: 1 })
      yield* advance(1000)
      for (const shard of running) expect(sent(shard, 31)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("names the guild in the RouteError of a shard the fleet stopped before it started", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 3, startupWindow: 1 }))
      yield* advance(500)
      const guild = guildOn(2, 3)
      const waiting = yield* Effect.fork(Effect.flip(fleet.updateVoiceState({ guild_id: guild, channel_id: null, self_mute: false, self_deaf: false })))
      yield* advance(100)
      yield* fleet.disconnect()
      const error = yield* Fiber.join(waiting)
      expect(error).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 2, guildId: guild })
      expect(error.message).toBe(`shard 2 (guild ${guild}) is not running in this fleet`)
      expect(yield* Effect.flip(fleet.sessionFor(guild))).toMatchObject({ reason: "NotRunning", shard: 2, guildId: guild })
      expect(yield* Effect.flip(fleet.shard(2))).toStrictEqual(new RouteError({ reason: "NotRunning", shard: 2 }))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("splits soundboard requests by shard and sends presence to every shard", () =>
    Effect.gen(function*() {
      const { fleet, sent } = yield* readyFleet
      const [a, b, c, d] = [guildOn(0, count), guildOn(5, count), guildOn(0, count, 1), guildOn(2, count)]
      yield* fleet.requestSoundboardSounds([a, b, c, d])
      yield* fleet.updatePresence({ since: null, activities: [], status: "idle", afk: false })
      yield* advance(1000)
      expect(sent(0, 31).map((p) => p.d)).toEqual([{ guild_ids: [a, c] }])
      expect(sent(2, 31).map((p) => p.d)).toEqual([{ guild_ids: [d] }])
      expect(sent(5, 31).map((p) => p.d)).toEqual([{ guild_ids: [b] }])
      for (const shard of running) expect(sent(shard, 3).map((p) => (p.d as { status: string }).status)).toEqual(["idle"])
    }).pipe(Effect.provide(TestLayer)))
})
