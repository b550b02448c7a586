/**
 * What a fleet's command says when it fails: the shard it could not go out on, the guild it was
 * for, and for a command split over shards, which parts went out.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import { secret } from "../session/harness.ts"
import { advance, configureLimiter, guildOn, options, type Served, serve, TestLayer } from "./harness.ts"

const sent = (served: Served, shard: number, op: number) => (served.commands.get(shard) ?? []).filter((p) => p.op === op).map((p) => p.d)
const voice = (guild_id: string) => ({ guild_id, channel_id: null, self_mute: false, self_deaf: false })
describe("Fleet: what a failed command says", () => {
  it.scoped("a soundboard request split over shards, one shard ending while the parts wait: the failure names that shard (its part failed, the other's went out)", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      // both shards' reconnects get no Hello: the parts wait for ready connections
      const served = yield* serve({ silent: (n) => n === 2 || n === 3 })
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      yield* served.peers.get(0)!.close(4000, "")
      yield* served.peers.get(1)!.close(4000, "")
      yield* advance(6_000)
      const request = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(0, 2), guildOn(1, 2)])))
      yield* advance(100)
      yield* (yield* fleet.shard(1)).end()
      yield* advance(40_000)
      // shard 0's part went out; shard 1's did not
      expect(sent(served, 0, 31)).toEqual([{ guild_ids: [guildOn(0, 2)] }])
      const error = yield* Fiber.join(request)
      expect(error._tag).toBe("SessionClosed")
      // what the caller can act on: which part failed, and which went out (so it asks again for
      // that part only, not the whole list, which would ask shard 0 twice); it named neither
      expect(error.message).toBe(`session closed: shard 1 was disconnected or ended before the command for guild ${guildOn(1, 2)} went out; the part of shard 0 went out`)
      // and as fields: the guilds to ask again for, without reading the prose
      expect(error).toMatchObject({ shards: [1], guildIds: [guildOn(1, 2)] })
    }).pipe(Effect.provide(TestLayer)), 60_000)

  it.scoped("a voice state update routed to a shard stopped through shard(id) fails naming that shard, as the soundboard check does", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      yield* (yield* fleet.shard(1)).disconnect()
      yield* advance(100)
      // the guild too, as every routed command's (it said only the shard)
      const sounds = yield* Effect.flip(fleet.requestSoundboardSounds([guildOn(1, 2)]))
      expect(sounds.message).toBe(`session closed: shard 1 was disconnected or ended before the command for guild ${guildOn(1, 2)} went out`)
      expect(sounds).toMatchObject({ _tag: "SessionClosed", shards: [1], guildIds: [guildOn(1, 2)] })
      const voiceError = yield* Effect.flip(fleet.updateVoiceState(voice(guildOn(1, 2))))
      expect(voiceError).toMatchObject({ _tag: "SessionClosed", shards: [1], guildIds: [guildOn(1, 2)] })
      expect(voiceError.message).toBe(`session closed: shard 1 was disconnected or ended before the command for guild ${guildOn(1, 2)} went out`)
    }).pipe(Effect.provide(TestLayer)), 60_000)

  // it named only the stopped shard's guilds: a caller asking again for those, as the README says,
  // lost the others, which had not gone out either
  it.scoped("a soundboard request over shards two of which were stopped sends nothing, and its SessionClosed names both shards and every guild", () =>
    Effect.gen(function*() {
      yield* configureLimiter(3)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 3 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      yield* (yield* fleet.shard(1)).disconnect()
      yield* (yield* fleet.shard(2)).end()
      yield* advance(100)
      const guilds = [guildOn(0, 3), guildOn(1, 3), guildOn(2, 3)]
      const error = yield* Effect.flip(fleet.requestSoundboardSounds(guilds))
      expect(error).toMatchObject({ _tag: "SessionClosed", shards: [1, 2], guildIds: guilds })
      expect(error.message).toBe(
        `session closed: shard 1 was disconnected or ended before the command for guild ${guilds[1]} went out; ` +
          `shard 2 was disconnected or ended before the command for guild ${guilds[2]} went out; no part went out`
      )
      yield* advance(100)
      expect(sent(served, 0, 31)).toEqual([])
    }).pipe(Effect.provide(TestLayer)), 60_000)

  it.scoped("a member request sent on a shard that is then stopped fails with SessionClosed naming that shard and guild, as not answered (it went out)", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      const guild = guildOn(1, 2)
      const request = yield* Effect.fork(Effect.flip(fleet.requestGuildMembers({ guild_id: guild, query: "ab", limit: 5 })))
      yield* advance(100)
      expect(sent(served, 1, 8)).toHaveLength(1)
      yield* (yield* fleet.shard(1)).end()
      yield* advance(100)
      const error = yield* Fiber.join(request)
      expect(error).toMatchObject({ _tag: "SessionClosed", shards: [1], guildIds: [guild] })
      expect(error.message).toBe(`session closed: shard 1 was disconnected or ended before the member request for guild ${guild} was answered`)
    }).pipe(Effect.provide(TestLayer)), 60_000)

  it.scoped("a soundboard request whose queued shard the fleet stopped before it started: the NotRunning names the guild it was asked for, as every other routed command's does", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 3, startupWindow: 1 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      const guild = guildOn(2, 3)
      const sounds = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(0, 3), guild])))
      const voiceCall = yield* Effect.fork(Effect.flip(fleet.updateVoiceState(voice(guild))))
      yield* advance(100)
      yield* fleet.disconnect()
      yield* advance(100)
      expect(yield* Fiber.join(voiceCall)).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 2, guildId: guild })
      expect(yield* Fiber.join(sounds)).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 2, guildId: guild })
    }).pipe(Effect.provide(TestLayer)), 60_000)
})

/** A fleet of two shards, both ready. */
const twoShardsReady = Effect.gen(function*() {
  yield* serve()
  const fleet = yield* Fleet.make(options({ shardCount: 2 }))
  yield* advance(12_000)
  return fleet
})

describe("Fleet: commands and lookups given what the types refuse (from JavaScript)", () => {
  it.scoped("a presence that refers to itself fails with InvalidCommand (it overflowed the stack)", () =>
    Effect.gen(function*() {
      const fleet = yield* twoShardsReady
      const presence: Record<string, unknown> = { since: null, activities: [], status: "online", afk: false }
      presence["self"] = presence
      const error = yield* Effect.flip(fleet.updatePresence(presence as unknown as Commands.Presence))
      expect(error).toMatchObject({ _tag: "InvalidCommand", message: "PresenceUpdate: self.self refers to an object it is in" })
    }).pipe(Effect.provide(TestLayer)))

  // a value read from the wrong variable: RouteError and InvalidCommand quoted 44 of its characters
  it.scoped("a guild id holding the token: sessionFor's RouteError and a command's InvalidCommand mask it", () =>
    Effect.gen(function*() {
      const fleet = yield* twoShardsReady
      const wrong = `https://bot.test/${secret}`
      const route = yield* Effect.flip(fleet.sessionFor(wrong))
      const command = yield* Effect.flip(fleet.updateVoiceState(voice(wrong)))
      for (const text of [route.message, route.guildId ?? "", command.message]) {
        expect(text).toContain("<token>")
        expect(text).not.toContain(secret.slice(0, 12))
      }
    }).pipe(Effect.provide(TestLayer)))

  // it said "shard 0 is not running in this fleet" while shard 0 ran
  it.scoped("shard('0'), a string, is not running: the message quotes it, telling it from shard 0", () =>
    Effect.gen(function*() {
      const fleet = yield* twoShardsReady
      expect((yield* fleet.shard(0)).shard).toEqual([0, 2])
      expect((yield* Effect.flip(fleet.shard("0" as unknown as number))).message).toBe(`shard "0" is not running in this fleet`)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("disconnect('5 secondz') dies at once naming the call, stopping nothing", () =>
    Effect.gen(function*() {
      const fleet = yield* twoShardsReady
      const exit = yield* Effect.exit(fleet.disconnect("5 secondz" as unknown as "5 seconds"))
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause).split("\n")[0]).toBe(
        `RuntimeException: Fleet.disconnect: the timeout must be a duration ("5 seconds", or milliseconds), got "5 secondz"`
      )
      const states = yield* Effect.forEach(yield* fleet.status, (status) => Effect.succeed(status.state._tag))
      expect(states).toEqual(["Connected", "Connected"])
    }).pipe(Effect.provide(TestLayer)))
})

// it succeeded, sending nothing: a program updating its presence after a stop was told it was
// taken, though no shard would ever show it
describe("Fleet: a presence update no shard will show", () => {
  // a fleet of two shards, both READY, its events taken
  const twoShardsRunning = Effect.gen(function*() {
    yield* configureLimiter(2)
    const served = yield* serve()
    const fleet = yield* Fleet.make(options({ shardCount: 2 }))
    yield* Effect.forkScoped(Stream.runDrain(fleet.events))
    yield* advance(500)
    return { fleet, served }
  })
  const presence: Commands.Presence = { since: null, activities: [], status: "idle", afk: false }
  for (const stop of ["end", "disconnect"] as const) {
    it.scoped(`updatePresence after the fleet's ${stop} fails with SessionClosed naming every shard, and sends nothing`, () =>
      Effect.gen(function*() {
        const { fleet, served } = yield* twoShardsRunning
        yield* fleet.updatePresence(presence)
        yield* advance(100)
        expect([sent(served, 0, 3).length, sent(served, 1, 3).length]).toEqual([1, 1])
        yield* fleet[stop]()
        const error = yield* Effect.flip(fleet.updatePresence(presence))
        expect(error).toMatchObject({ _tag: "SessionClosed", shards: [0, 1], guildIds: [] })
        expect(error.message).toBe("session closed: the fleet was stopped: no shard shows the presence")
        yield* advance(100)
        expect([sent(served, 0, 3).length, sent(served, 1, 3).length]).toEqual([1, 1])
      }).pipe(Effect.provide(TestLayer)), 60_000)
  }

  it.scoped("updatePresence once every shard ended through shard(id) fails with SessionClosed; while one runs it goes to that one", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* twoShardsRunning
      yield* (yield* fleet.shard(0)).end()
      yield* advance(100)
      yield* fleet.updatePresence(presence)
      yield* advance(100)
      expect([sent(served, 0, 3).length, sent(served, 1, 3).length]).toEqual([0, 1])
      yield* (yield* fleet.shard(1)).end()
      yield* advance(100)
      const error = yield* Effect.flip(fleet.updatePresence(presence))
      expect(error).toMatchObject({ _tag: "SessionClosed", shards: [0, 1], guildIds: [] })
      expect(error.message).toBe("session closed: the fleet ended: no shard shows the presence")
    }).pipe(Effect.provide(TestLayer)), 60_000)

  // it was checked only as the call began: one waiting for a shard's connection when the fleet
  // ended succeeded, gone out nowhere
  it.scoped("an update waiting for a reconnect when the fleet ends fails with SessionClosed, and sends nothing", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      // the reconnect gets no Hello: the update waits
      const served = yield* serve({ silent: (n) => n === 1 })
      const fleet = yield* Fleet.make(options({ shardCount: 1 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      yield* served.peers.get(0)!.close(4000, "")
      yield* advance(6_000)
      const update = yield* Effect.fork(Effect.flip(fleet.updatePresence(presence)))
      yield* advance(100)
      expect(update.unsafePoll()).toBeNull()
      yield* fleet.end("1 second")
      yield* advance(2_000)
      expect(yield* Fiber.join(update)).toMatchObject({ _tag: "SessionClosed", shards: [0], guildIds: [] })
      expect(sent(served, 0, 3)).toEqual([])
    }).pipe(Effect.provide(TestLayer)), 30_000)

  // the count of sessions it went out on was read as the update was built (always 0): one that went
  // out on a shard, another waiting, failed as gone out nowhere once the fleet ended
  it.scoped("an update that went out on shard 0 while shard 1 waited for its reconnect, the fleet ending then, succeeds", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      // shard 1's reconnect gets no Hello: its part of the update waits
      const served = yield* serve({ silent: (n) => n === 2 })
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(500)
      yield* served.peers.get(1)!.close(4000, "")
      yield* advance(6_000)
      const update = yield* Effect.fork(Effect.either(fleet.updatePresence(presence)))
      yield* advance(100)
      expect(sent(served, 0, 3).length).toBe(1)
      expect(update.unsafePoll()).toBeNull()
      yield* fleet.end("1 second")
      yield* advance(2_000)
      const result = yield* Fiber.join(update)
      expect(result._tag === "Left" ? result.left.message : "went out").toBe("went out")
    }).pipe(Effect.provide(TestLayer)), 30_000)
})
