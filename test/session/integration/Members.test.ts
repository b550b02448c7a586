import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { Opcode } from "../../../src/protocol/Opcode.ts"
import * as Session from "../../../src/session/Session.ts"
import { awaitTransition, ClientLayer, consume, sessionOptions, startGateway } from "./support.ts"

describe("Session against the local gateway: request guild members", () => {
  it.scopedLive("collects every chunk, reports unknown user ids, and refuses a second full request within 30 s itself, breaking no limit", () =>
    Effect.gen(function*() {
      // 1 bot + 10 members per guild, 3 per chunk: 4 chunks for the full list.
      const gateway = yield* startGateway({ memberChunkSize: 3, membersPerGuild: 10 })
      const guild = gateway.world.guilds[0]!
      const session = yield* Session.make(sessionOptions(gateway))
      const received = yield* consume(session)
      yield* awaitTransition(session, "READY", (t) => t.to._tag === "Connected" && t.to.phase === "Ready")

      const all = yield* session.requestGuildMembers({ guild_id: guild.id, query: "", limit: 0 })
      expect(all.guildId).toBe(guild.id)
      expect(all.members.map((m) => m.user.id).sort()).toEqual(guild.members.map((m) => m.user.id).sort())
      expect(all.members).toHaveLength(11)
      expect(all.notFound).toEqual([])

      const known = guild.members.slice(1, 3).map((m) => m.user.id)
      const unknown = ["123456789012345678", "223456789012345678"]
      const some = yield* session.requestGuildMembers({ guild_id: guild.id, user_ids: [...known, ...unknown] })
      expect(some.members.map((m) => m.user.id).sort()).toEqual([...known].sort())
      expect([...some.notFound].sort()).toEqual(unknown)

      const again = yield* Effect.flip(session.requestGuildMembers({ guild_id: guild.id, query: "", limit: 0 }))
      expect(again._tag).toBe("MemberRequestError")
      expect(again._tag === "MemberRequestError" && again.reason).toBe("RateLimited")
      expect(again._tag === "MemberRequestError" && again.guildId).toBe(guild.id)
      expect(again._tag === "MemberRequestError" && again.retryAfter).toBeGreaterThan(25)

      // refused before it went out: Discord's limit is 1 per guild per 30 s
      const log = yield* gateway.log
      const requests = log.commands.filter((c) => c.op === Opcode.RequestGuildMembers)
      expect(requests).toHaveLength(2)
      const nonces = requests.map((c) => (c.d as { nonce: string }).nonce)
      expect(new Set(nonces).size).toBe(2)
      // The chunks are events too, delivered in order like any other.
      yield* received.until("the answers", (events) => events.filter((e) => e.t === "GUILD_MEMBERS_CHUNK").length === 5)
      expect(received.events.some((e) => e.t === "RATE_LIMITED")).toBe(false)
      expect(log.violations).toEqual([])
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error), Effect.provide(ClientLayer)))
})
