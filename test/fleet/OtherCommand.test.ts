/**
 * A fleet's `send(op, d, guildId)`: a command of an opcode this version does not know goes out on
 * the shard of the guild it is about, checked first.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { advance, configureLimiter, guildOn, options, serve, TestLayer } from "./harness.ts"

describe("a fleet's command of an opcode this version does not know", () => {
  it.scoped("goes out on the shard of its guild, as given", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1_000)
      const [onZero, onOne] = [guildOn(0, 2), guildOn(1, 2)]
      yield* fleet.send(44, { guild_id: onOne }, onOne)
      yield* fleet.send(44, { guild_id: onZero, n: 1 }, onZero)
      yield* advance(100)
      expect([0, 1].map((id) => served.commands.get(id) ?? [])).toEqual([[{ op: 44, d: { guild_id: onZero, n: 1 } }], [{ op: 44, d: { guild_id: onOne } }]])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fails with SessionClosed naming its shard and guild when the shard was stopped", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1_000)
      const onOne = guildOn(1, 2)
      yield* Effect.flatMap(fleet.shard(1), (session) => session.disconnect())
      expect(yield* Effect.flip(fleet.send(44, null, onOne))).toMatchObject({ _tag: "SessionClosed", shards: [1], guildIds: [onOne] })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("is refused before it waits for a shard: data that is not plain data, an opcode this version knows, a guild id that is none", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      // shard 1 starts 5 s after shard 0: a refusal comes at once, not once it started
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      const onOne = guildOn(1, 2)
      const refusals = yield* Effect.forEach(
        [
          fleet.send(44, { at: new Date(0) }, onOne),
          fleet.send(4, {}, onOne),
          fleet.send(44, null, "not a guild"),
          // from JavaScript: it went to shard 0 as a command about no guild (rereview101)
          fleet.send(44, null, null as unknown as string)
        ],
        (sending) => Effect.map(Effect.flip(sending), (error) => [error._tag, error._tag === "RouteError" ? error.reason : error.message])
      )
      expect(refusals).toEqual([
        ["InvalidCommand", "Other: d.at must be a list or a plain object, got a Date"],
        ["InvalidCommand", "Other: op 4 has a method of its own: use updateVoiceState"],
        ["RouteError", "InvalidGuildId"],
        ["RouteError", "InvalidGuildId"]
      ])
    }).pipe(Effect.provide(TestLayer)))
})
