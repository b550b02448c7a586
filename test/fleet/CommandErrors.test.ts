/**
 * What a fleet's command says when it fails: the shard it could not go out on, the guild it was
 * for, and for a command split over shards, which parts went out.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
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
      const voiceError = yield* Effect.flip(fleet.updateVoiceState(voice(guildOn(1, 2))))
      expect(voiceError._tag).toBe("SessionClosed")
      expect(voiceError.message).toContain("shard 1")
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
