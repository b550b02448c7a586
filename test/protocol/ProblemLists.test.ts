/**
 * `InvalidCommand.problems` and `InvalidOptions.problems` match their messages.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Commands from "../../src/protocol/Commands.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { options, secret, Session, TestLayer } from "../session/harness.ts"

// the message is the command's name, then the problems joined
const matches = (error: Commands.InvalidCommand) => {
  expect(error.message.startsWith(`${error.command}: `)).toBe(true)
  expect(error.message.slice(error.command.length + 2)).toBe(error.problems.join("; "))
}

// a guild on shard 1 of 2
const otherShardsGuild = String(1 << 22)

describe("problems", () => {
  it.scoped("refusals built without problems (another shard's guild, a missing intent, a guildId no snowflake) get one problem each", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ shard: [0, 2] }))
      const sounds = yield* Effect.flip(session.requestSoundboardSounds([otherShardsGuild]))
      expect(sounds._tag).toBe("InvalidCommand")
      if (sounds._tag !== "InvalidCommand") return
      expect(sounds.problems).toEqual([`guild ${otherShardsGuild} is on shard 1 of 2, not on this session's shard 0`])
      matches(sounds)
      const members = yield* Effect.flip(session.requestGuildMembers({ guild_id: "2", query: "", limit: 0 }))
      expect(members._tag).toBe("InvalidCommand")
      if (members._tag !== "InvalidCommand") return
      expect(members.problems).toEqual([`the whole member list (query "") needs the GuildMembers intent`])
      matches(members)
      const other = yield* Effect.flip(session.send(60, {}, "not a snowflake"))
      expect(other._tag).toBe("InvalidCommand")
      if (other._tag !== "InvalidCommand") return
      expect(other.problems).toHaveLength(1)
      matches(other)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence update quoting the token in several faults: each problem masked, as the message", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const error = yield* Effect.flip(session.updatePresence({
        since: null,
        status: "online",
        afk: false,
        activities: [{ name: secret.repeat(5), type: 0 }, { name: "x", type: 99 as 0 }]
      }))
      expect(error._tag).toBe("InvalidCommand")
      if (error._tag !== "InvalidCommand") return
      expect(error.problems.length).toBeGreaterThanOrEqual(1)
      expect(error.message).not.toContain(secret.slice(0, 20))
      for (const problem of error.problems) expect(problem).not.toContain(secret.slice(0, 20))
      matches(error)
    }).pipe(Effect.provide(TestLayer)))

  it("an Identify refused for several faults: InvalidOptions has one problem each, matching the detail", () => {
    const resolved = SessionOptions.resolve(options({
      presence: { since: null, status: "online", afk: false, activities: Array.from({ length: 12 }, () => ({ name: "", type: 99 as 0 })) }
    }))
    const error = Effect.runSync(Effect.either(resolved))
    expect(Either.isLeft(error)).toBe(true)
    if (Either.isRight(error)) return
    const { detail, problems } = error.left
    expect(problems.map(({ problem }) => problem).join("; ")).toBe(detail)
    expect(problems.length).toBeGreaterThan(1)
  })
})
