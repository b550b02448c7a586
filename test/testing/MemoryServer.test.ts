/**
 * The testing kit's healthy in-memory gateway: a session or a fleet connects, identifies, resumes
 * and gets its member requests answered with no loop written by the test.
 */
import { describe, expect, it } from "@effect/vitest"
import type { APIGuildMember, GuildMemberFlags } from "discord-api-types/payloads/v10"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { type Connection, GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import { advance, guildOn } from "../fleet/harness.ts"
import { stillReachable } from "../gc.ts"
import { settle } from "../settle.ts"

const token = Redacted.make("test-token")
const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 4, maxConcurrency: 2 }))
const sessionOptions = { token, intents: Intents.Guilds | Intents.GuildMembers, gateway: "ws://gateway.test", compression: "none" } as const

const member = (id: string): APIGuildMember => ({
  user: { id, username: `user-${id}`, discriminator: "0", global_name: null, avatar: null },
  roles: [],
  joined_at: "2020-01-01T00:00:00.000Z",
  deaf: false,
  mute: false,
  flags: 0 as GuildMemberFlags
})

describe("MemoryServer", () => {
  // two servers shared the connections, each seeing some of the shards
  it.scoped("one server at a time answers a gateway: a second serve dies saying so, and a serve after the first's scope closed answers", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(MemoryServer.serve())
      yield* MemoryServer.serve()
      const second = yield* Effect.exit(Effect.scoped(MemoryServer.serve()))
      expect(Exit.isFailure(second) && String(Cause.squash(second.cause))).toBe(
        "Error: MemoryServer.serve: this MemoryGateway is served already (until that serve's scope closes): one server answers every connection"
      )
    }).pipe(Effect.provide(Services)))

  it.scoped("a fleet that asks GET /gateway/bot starts its 4 shards at 2 keys, each READY, and each shard gets the dispatches sent to it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const fleet = yield* Fleet.make({ token, intents: Intents.Guilds, compression: "none" })
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(fleet.events, (event) => event.t === "GUILD_CREATE"), 4)))
      yield* advance(6_000)

      const identifies = yield* served.identifies
      expect(identifies.map(({ at, d }) => [d.shard?.[0], at]).sort((a, b) => a[0]! - b[0]!)).toEqual([[0, 0], [1, 0], [2, 5_000], [3, 5_000]])
      expect(new Set(identifies.map(({ sessionId }) => sessionId)).size).toBe(4)
      for (const shard of [0, 1, 2, 3]) {
        expect((yield* (yield* fleet.shard(shard)).state)).toEqual({ _tag: "Connected", phase: "Ready" })
        yield* served.dispatch(shard, "GUILD_CREATE", { id: String(shard) })
      }
      const received = Chunk.toReadonlyArray(yield* Fiber.join(events))
      expect(received.map((event) => [event.shard, event.sequence, (event.d as { id: string }).id]).sort()).toEqual([
        [0, 2, "0"],
        [1, 2, "1"],
        [2, 2, "2"],
        [3, 2, "3"]
      ])
      expect([...(yield* served.peers).keys()].sort()).toEqual([0, 1, 2, 3])
    }).pipe(Effect.provide(Services)))

  it.scoped("answers heartbeats however long it runs, and keeps each command a session sent with its shard and time", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* advance(600_000, 5_000)
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* served.identifies)).toHaveLength(1)

      yield* session.updatePresence({ since: null, activities: [], status: "idle", afk: false })
      yield* settle
      expect(yield* served.commands).toEqual([{ at: 600_000, shard: [0, 1], payload: { op: 3, d: { since: null, activities: [], status: "idle", afk: false } } }])
    }).pipe(Effect.provide(Services)))

  // a test of "my presence shows after a deploy" rebuilt it from identifies and commands (newuser13)
  it.scoped("presenceOf: what a shard's latest session shows, from its Identify, each update, or a known session's point", () =>
    Effect.gen(function*() {
      const idle = { since: null, activities: [], status: "idle", afk: false } as const
      const dnd = { since: null, activities: [], status: "dnd", afk: false } as const
      const served = yield* MemoryServer.serve({ sessions: [{ sessionId: "restored", shard: [1, 2], sequence: 5, presence: idle }] })
      const fresh = yield* Session.make({ ...sessionOptions, shard: [0, 2] })
      yield* advance(1_000)
      expect(yield* served.presenceOf(0)).toBeNull()
      yield* fresh.updatePresence(dnd)
      yield* settle
      expect(yield* served.presenceOf(0)).toEqual(dnd)
      // a deploy resumes shard 1 from its point, with a presence option of its own: shown after RESUMED
      const point = { sessionId: "restored", shard: [1, 2] as const, sequence: 5, resumeGatewayUrl: "wss://resume.gateway.test" }
      expect(yield* served.presenceOf(1)).toEqual(idle)
      yield* Session.make({ ...sessionOptions, shard: [1, 2], resume: point, presence: dnd })
      yield* advance(1_000)
      expect(yield* served.presenceOf(1)).toEqual(dnd)
      expect(yield* Effect.exit(served.presenceOf(5))).toMatchObject({ _tag: "Failure" })
    }).pipe(Effect.provide(Services)))

  // the README: a program tests its `send` of an opcode this version does not know here
  it.scoped("records a command of an opcode it does not know, as a program's test of its own send reads it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* session.send(44, { guild_id: "81384788765712384" })
      yield* settle
      expect((yield* served.commands).map(({ payload }) => payload)).toEqual([{ op: 44, d: { guild_id: "81384788765712384" } }])
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(Services)))

  // a program's test of its own zombie handling had no way to make the healthy gateway stop ACKing
  it.scoped("setAcks(shard, false) leaves the connection's beats unanswered: the session finds it a zombie and resumes on a new one, which is answered", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      const reasons = yield* Effect.fork(Stream.runCollect(Stream.map(session.transitions, (transition) => transition.reason._tag)))
      yield* advance(1_000)
      const first = (yield* served.peers).get(0)!
      expect(yield* served.setAcks(0, false)).toBe(1)
      yield* advance(30_000, 1_000)
      expect((yield* first.closed).code).toBe(4900)
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true])
      // the new connection is acknowledged: no zombie for ten minutes
      yield* advance(600_000, 5_000)
      yield* session.end()
      const told = Chunk.toReadonlyArray(yield* Fiber.join(reasons))
      expect(told.filter((reason) => reason === "Zombie")).toHaveLength(1)
      expect(told).toContain("Resumed")
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("setAcks(shard, true) before the client notices leaves no zombie; a shard that began no session dies, named", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* served.setAcks("all", false)
      // the first beat comes at 5 s (half the interval's jitter): acknowledged
      yield* advance(2_000)
      expect(yield* served.setAcks(0, true)).toBe(1)
      yield* advance(600_000, 5_000)
      expect(yield* served.resumes).toEqual([])
      expect((yield* session.snapshot).reconnects).toBe(0)
      const exit = yield* Effect.exit(served.setAcks(3, false))
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("MemoryServer.setAcks: shard 3 began no session here")
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // an op 9 sent through a peer left the session resumable here when the client closed first (with
  // 4900, as it does after op 9): a stale point was then resumed where Discord answers op 9
  it.scoped("invalidate(shard, false) ends the session here too: the client identifies anew, and a Resume of that session gets op 9; invalidate(shard, true) keeps it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const { sessionId } = yield* session.snapshot
      expect(yield* served.invalidate(0, true)).toBe(1)
      yield* advance(10_000)
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true])
      expect(yield* served.invalidate(0, false)).toBe(1)
      yield* advance(10_000)
      expect(yield* served.identifies).toHaveLength(2)
      // a point of the invalidated session, as a process stopped before the op 9 stored it
      const point = { sessionId: sessionId!, sequence: 1, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const }
      yield* session.end()
      const next = yield* Session.make({ ...sessionOptions, shard: [0, 1], resume: point })
      yield* advance(10_000)
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true, false])
      yield* next.end()
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("peers gives each connection as the test may use it, one object per connection: its frames are the server's to read", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const peer = (yield* served.peers).get(0)!
      expect((yield* served.peers).get(0)).toBe(peer)
      expect(Object.keys(peer).sort()).toEqual(["close", "closed", "drop", "isOpen", "send", "sendJson"])
      // the server still answers every beat: no zombie for ten minutes
      yield* advance(600_000, 5_000)
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a dropped connection resumes: the dispatches sent while it was down are replayed in order, then RESUMED", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 6)))
      yield* advance(1_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      yield* settle
      const first = (yield* served.peers).get(0)!
      yield* first.drop
      yield* served.dispatch(0, "GUILD_CREATE", { id: "2" })
      yield* served.dispatch(0, "GUILD_CREATE", { id: "3" })
      yield* advance(10_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "4" })

      expect(Chunk.toReadonlyArray(yield* Fiber.join(events)).map((event) => [event.t, event.sequence])).toEqual([
        ["READY", 1],
        ["GUILD_CREATE", 2],
        ["GUILD_CREATE", 3],
        ["GUILD_CREATE", 4],
        ["RESUMED", 5],
        ["GUILD_CREATE", 6]
      ])
      const resumes = yield* served.resumes
      expect(resumes.map(({ d, resumed }) => [d.session_id, d.seq, resumed])).toEqual([["session-1", 2, true]])
      expect((yield* served.peers).get(0)).not.toBe(first)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("resumes a session it was told of (a restored resume point) from its sequence, and answers one it never began, or one from before that sequence, with op 9: the session identifies anew", () =>
    Effect.gen(function*() {
      // named session-1, as its own first session would be: that one is named otherwise
      const served = yield* MemoryServer.serve({ sessions: [{ sessionId: "session-1", shard: [0, 1], sequence: 7 }] })
      const point = { sessionId: "session-1", sequence: 7, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const, encoding: "json" as const }
      const unknown = yield* Session.make({ ...sessionOptions, shard: [1, 2], resume: { ...point, sessionId: "forgotten", shard: [1, 2] } })
      yield* advance(10_000)
      expect(yield* unknown.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* served.identifies).map(({ sessionId }) => sessionId)).toEqual(["session-2"])

      const kept = yield* Session.make({ ...sessionOptions, resume: point })
      yield* advance(1_000)
      expect(yield* kept.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* kept.snapshot).sequence).toBe(8) // RESUMED, numbered after the point
      yield* kept.disconnect()
      // from before the sequence it was told of: what came between is not kept here to replay
      const stale = yield* Session.make({ ...sessionOptions, resume: { ...point, sequence: 5 } })
      yield* advance(10_000)
      expect(yield* stale.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* served.resumes).map(({ d, resumed }) => [d.session_id, d.seq, resumed])).toEqual([["forgotten", 7, false], ["session-1", 7, true], ["session-1", 5, false]])
      expect(yield* served.identifies).toHaveLength(2)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("answers a member request from the test's members as Discord does: 1000 a chunk, by ids (naming those that are no member's) or a prefix up to the limit, presences when asked", () =>
    Effect.gen(function*() {
      const all = Array.from({ length: 1500 }, (_, index) => member(String(index + 1)))
      yield* MemoryServer.serve({ members: (guildId) => guildId === "42" ? all : [] })
      const session = yield* Session.make({ ...sessionOptions, intents: sessionOptions.intents | Intents.GuildPresences })
      yield* advance(1_000)

      const everyone = yield* session.requestGuildMembers({ guild_id: "42", query: "", limit: 0 })
      expect([everyone.guildId, everyone.members.length, everyone.members[1499]?.user.id, everyone.notFound]).toEqual(["42", 1500, "1500", []])
      const some = yield* session.requestGuildMembers({ guild_id: "42", user_ids: ["3", "99999"] })
      expect([some.members.map(({ user }) => user.id), some.notFound]).toEqual([["3"], ["99999"]])
      // by a username prefix (in any case), at most `limit`, with presences when asked for
      const prefixed = yield* session.requestGuildMembers({ guild_id: "42", query: "USER-1", limit: 2, presences: true })
      expect([prefixed.members, prefixed.presences].map((list) => list.map(({ user }) => user.id))).toEqual([["1", "10"], ["1", "10"]])
      // a guild without members
      expect((yield* session.requestGuildMembers({ guild_id: "7", query: "", limit: 0 })).members).toEqual([])
    }).pipe(Effect.provide(Services)))

  // every op 8 was answered at once: a test could not make one slow, answered in chunks of its own,
  // rate limited or never answered without answering the whole connection by hand
  it.scoped("memberRequests: a request left to the test is answered by its dispatch, late and in chunks of its own; one never answered times out; one rate limited fails so", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({
        heartbeatInterval: 10_000,
        memberRequests: (request) => request.guild_id === "13" ? { rateLimited: 12.5 } : "leave"
      })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const request = yield* Effect.fork(session.requestGuildMembers({ guild_id: "42", query: "", limit: 0 }))
      yield* advance(100)
      const [asked] = (yield* served.commands).filter(({ payload }) => payload.op === 8)
      const { nonce } = asked!.payload.d as { readonly nonce: string }
      const chunk = (chunk_index: number, ids: ReadonlyArray<string>) =>
        served.dispatch(0, "GUILD_MEMBERS_CHUNK", { guild_id: "42", members: ids.map(member), chunk_index, chunk_count: 2, nonce })
      yield* advance(20_000)
      yield* chunk(1, ["3"])
      yield* advance(20_000)
      yield* chunk(0, ["1", "2"])
      expect((yield* Fiber.join(request)).members.map(({ user }) => user.id)).toEqual(["1", "2", "3"])

      const unanswered = yield* Effect.fork(Effect.flip(session.requestGuildMembers({ guild_id: "42", query: "a", limit: 1 })))
      yield* advance(31_000)
      expect(yield* Fiber.join(unanswered)).toMatchObject({ _tag: "MemberRequestError", reason: "Timeout", guildId: "42" })
      const limited = yield* Effect.flip(session.requestGuildMembers({ guild_id: "13", query: "", limit: 0 }))
      expect(limited).toMatchObject({ _tag: "MemberRequestError", reason: "RateLimited", retryAfter: 12.5, guildId: "13" })
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("memberRequests giving what is no answer is the option's fault: logged, and the server's next use dies naming it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ memberRequests: () => ({ rateLimited: -1 }) })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* Effect.fork(session.requestGuildMembers({ guild_id: "42", query: "", limit: 0 }))
      yield* advance(100)
      const exit = yield* Effect.exit(served.identifies)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("memberRequests gave { rateLimited: -1 }")
    }).pipe(Effect.provide(Services), Logger.withMinimumLogLevel(LogLevel.None)))

  it.scoped("READY comes readyAfter later, its connection's heartbeats answered meanwhile; a connection it leaves gets no Hello", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 1_000, readyAfter: "20 seconds", leave: (connection) => connection === 0 })
      const session = yield* Session.make({ ...sessionOptions, timeouts: { hello: "5 seconds" } })
      yield* advance(1_000)
      const [left] = yield* served.left
      expect(left?.url).toMatch(/^ws:\/\/gateway\.test/)
      yield* advance(8_000) // no Hello: the session gives that connection up and connects again
      expect((yield* left!.closed).by).toBe("client")

      const connected = yield* served.identifies
      expect(connected).toHaveLength(1)
      yield* advance(15_000)
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Identifying" })
      yield* advance(10_000)
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect(yield* served.identifies).toHaveLength(1)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a session closed with 1000 is ended: its Resume gets op 9, and the shard identifies anew", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const first = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const { sequence, sessionId } = yield* first.snapshot
      const peer = (yield* served.peers).get(0)!
      yield* first.end()
      expect((yield* peer.closed).code).toBe(1000)
      expect(yield* served.peers).toEqual(new Map())
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" }) // no one to send it to: nothing

      const point = { sessionId: sessionId!, sequence: sequence!, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const, encoding: "json" as const }
      const second = yield* Session.make({ ...sessionOptions, resume: point })
      yield* advance(10_000)
      expect(yield* second.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([false])
      expect(yield* served.identifies).toHaveLength(2)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a session resumed on a second connection is taken from the first, which is closed with 4000", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const first = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const point = Option.getOrThrow(yield* first.disconnect())
      yield* Session.make({ ...sessionOptions, resume: point })
      yield* advance(1_000)
      const holder = (yield* served.peers).get(0)!
      yield* Session.make({ ...sessionOptions, resume: point })
      yield* settle
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true, true])
      expect(yield* holder.closed).toEqual({ code: 4000, reason: "Session resumed on another connection.", by: "server" })
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a dispatch before a session's READY (readyAfter) goes to that session right after its READY; its connection is in peers from the Identify", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ readyAfter: "20 seconds" })
      const session = yield* Session.make(sessionOptions)
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 2)))
      yield* advance(1_000)
      expect((yield* served.peers).has(0)).toBe(true)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "42" })
      yield* advance(20_000)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(events)).map((event) => [event.t, event.sequence])).toEqual([["READY", 1], ["GUILD_CREATE", 2]])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("two shard counts at once: a number names a shard id's latest session, a pair the session of that count; a resume of the older one changes neither", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const older = yield* Session.make({ ...sessionOptions, shard: [0, 2] })
      yield* advance(1_000)
      const olderPeer = (yield* served.peers).get(0)!
      const newer = yield* Session.make({ ...sessionOptions, shard: [0, 4] })
      yield* advance(6_000)
      const guildsOf = (session: Session.Session) => Effect.fork(Stream.runCollect(Stream.take(Stream.filter(session.events, (event) => event.t === "GUILD_CREATE"), 1)))
      const toNewer = yield* guildsOf(newer)
      const toOlder = yield* guildsOf(older)
      yield* olderPeer.drop
      yield* advance(10_000)
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true])

      yield* served.dispatch(0, "GUILD_CREATE", { id: "new" })
      yield* served.dispatch([0, 2], "GUILD_CREATE", { id: "old" })
      const idOf = (events: Chunk.Chunk<{ readonly d: unknown }>) => Chunk.toReadonlyArray(events).map((event) => (event.d as { id: string }).id)
      expect(idOf(yield* Fiber.join(toNewer))).toEqual(["new"])
      expect(idOf(yield* Fiber.join(toOlder))).toEqual(["old"])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("an ETF session's connections are left to the test", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      yield* Session.make({ ...sessionOptions, encoding: "etf" })
      yield* advance(1_000)
      const [left] = yield* served.left
      expect(left?.url).toMatch(/encoding=etf/)
      expect(yield* served.identifies).toEqual([])
    }).pipe(Effect.provide(Services)))

  it.scoped("its records leave the token out", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* Session.make({ ...sessionOptions, resume: Option.getOrThrow(yield* session.disconnect()) })
      yield* advance(1_000)
      const records = JSON.stringify([yield* served.identifies, yield* served.resumes])
      expect((yield* served.resumes)).toHaveLength(1)
      expect(records).not.toContain("test-token")
    }).pipe(Effect.provide(Services)))

  it.scoped("dispatch goes by the session's intents, as Discord's does, and to \"all\" where Discord routes it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const fleet = yield* Fleet.make({ token, intents: Intents.Guilds | Intents.GuildMessages, compression: "none" })
      yield* advance(6_000)
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(fleet.events, (event) => event.t !== "READY"), 6)))

      const message = { id: "5", channel_id: "6", guild_id: guildOn(2, 4), author: { id: "9" }, content: "hello", mentions: [], embeds: [] }
      expect(yield* served.dispatch("all", "MESSAGE_CREATE", message)).toBe(1) // shard 2's, its content emptied (no MessageContent)
      expect(yield* served.dispatch(1, "TYPING_START", { channel_id: "6", guild_id: guildOn(1, 4), user_id: "9", timestamp: 0 })).toBe(0) // no GuildMessageTyping
      expect(yield* served.dispatch("all", "GUILD_CREATE", { id: guildOn(3, 4) })).toBe(1)
      expect(yield* served.dispatch("all", "TEST_MARK", {})).toBe(4) // a type of the test's own: every shard

      const events = Chunk.toReadonlyArray(yield* Fiber.join(seen))
      expect(events.filter((event) => (event.t as string) !== "TEST_MARK").map((event) => [event.t, event.shard])).toEqual([["MESSAGE_CREATE", 2], ["GUILD_CREATE", 3]])
      expect((events[0]!.d as { content: string }).content).toBe("")
      expect(events.filter((event) => (event.t as string) === "TEST_MARK").map((event) => event.shard).sort()).toEqual([0, 1, 2, 3])
    }).pipe(Effect.provide(Services)))

  it.scoped("keeps the last replayBufferSize dispatches: a Resume from before them gets op 9, one from ahead of the session 4007, either ending in an Identify", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ replayBufferSize: 2 })
      const first = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const { sessionId } = yield* first.snapshot
      yield* first.disconnect()
      for (const id of ["2", "3", "4"]) yield* served.dispatch(0, "GUILD_CREATE", { id }) // s 2, 3, 4: 2 let go
      const point = { sessionId: sessionId!, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const, encoding: "json" as const }

      const kept = yield* Session.make({ ...sessionOptions, resume: { ...point, sequence: 2 } }) // 3 and 4 kept: replayed
      const replayed = yield* Effect.fork(Stream.runCollect(Stream.take(kept.events, 3)))
      yield* advance(1_000)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(replayed)).map((event) => [event.t, event.sequence])).toEqual([["GUILD_CREATE", 3], ["GUILD_CREATE", 4], ["RESUMED", 5]])
      yield* kept.disconnect()

      yield* Session.make({ ...sessionOptions, resume: { ...point, sequence: 1 } }) // 2 was let go
      yield* advance(10_000)
      yield* Session.make({ ...sessionOptions, resume: { ...point, sequence: 9 } }) // ahead of the session's 5
      yield* advance(10_000)
      expect((yield* served.resumes).map(({ d, resumed }) => [d.seq, resumed])).toEqual([[2, true], [1, false], [9, false]])
      expect(yield* served.identifies).toHaveLength(3)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.effect("refuses a heartbeatInterval no Hello carries and a replayBufferSize that is no whole number, saying which", () =>
    Effect.gen(function*() {
      for (const [options, words] of [[{ heartbeatInterval: 0 }, "heartbeatInterval"], [{ replayBufferSize: -1 }, "replayBufferSize"], [{ replayBufferSize: 1.5 }, "replayBufferSize"]] as const) {
        const exit = yield* Effect.exit(Effect.scoped(MemoryServer.serve(options)))
        expect(String(Exit.isFailure(exit) && Cause.squash(exit.cause))).toMatch(new RegExp(`RangeError: MemoryServer.serve: ${words}`))
      }
    }).pipe(Effect.provide(Services)))

  it.scoped("a Resume's replay misses no event the test dispatches while it runs, however full the replay buffer", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ replayBufferSize: 5_000 })
      const transport = yield* GatewayTransport
      const options = { maxFrameBytes: 1 << 30 }
      // the client side's frames, parsed, until one `until` takes (and the rest of its batch)
      const readUntil = (connection: Connection, until: (frame: { readonly s: number | null; readonly t: string | null }) => boolean) =>
        Effect.gen(function*() {
          const frames: Array<{ readonly s: number | null; readonly t: string | null; readonly d: unknown }> = []
          while (!frames.some(until)) {
            for (const raw of yield* connection.receive) frames.push(JSON.parse(typeof raw === "string" ? raw : "null"))
          }
          return frames
        })

      const first = yield* transport.connect("ws://gateway.test/?v=10&encoding=json", options)
      yield* first.send(JSON.stringify({ op: 2, d: { token: "t", intents: 1, properties: { os: "x", browser: "x", device: "x" }, shard: [0, 1] } }))
      const sessionId = ((yield* readUntil(first, ({ t }) => t === "READY")).at(-1)!.d as { session_id: string }).session_id
      yield* first.close(4000)
      yield* settle
      for (let index = 0; index < 5_000; index++) yield* served.dispatch(0, "TEST_EVENT", { index }) // s 2 to 5001: 1 let go

      const second = yield* transport.connect("ws://resume.gateway.test/?v=10&encoding=json", options)
      yield* second.send(JSON.stringify({ op: 6, d: { token: "t", session_id: sessionId, seq: 3_000 } }))
      // dispatches while the replay runs: each lets the oldest kept go, which moved the replay's
      // place in the buffer and skipped an event
      yield* Effect.forEach(Array.from({ length: 2_000 }, (_, index) => index), (index) =>
        Effect.zipRight(served.dispatch(0, "TEST_LATER", { index }), Effect.yieldNow()), { discard: true })
      const sequences = (yield* readUntil(second, ({ s }) => s === 7_002)).flatMap(({ s }) => s === null ? [] : [s])
      expect(sequences).toEqual(Array.from({ length: 4_002 }, (_, index) => 3_001 + index)) // RESUMED among them
    }).pipe(Effect.provide(Services)))

  it.scoped("dispatches from fibers running at once reach the session in the order of their numbers, READY's early ones first", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ readyAfter: "1 second" })
      const transport = yield* GatewayTransport
      const connection = yield* transport.connect("ws://gateway.test/?v=10&encoding=json", { maxFrameBytes: 1 << 20 })
      yield* connection.send(JSON.stringify({ op: 2, d: { token: "t", intents: 1, properties: { os: "x", browser: "x", device: "x" }, shard: [0, 1] } }))
      yield* settle
      // each fiber is preempted every so many operations (2048), wherever it is: between a
      // dispatch's number and its write too
      const perFiber = 3_000
      const dispatchFrom = (fiber: number) =>
        Effect.forEach(Array.from({ length: perFiber }, (_, index) => index), (index) =>
          // a varying number of steps before each, so the preemptions fall at every step of a dispatch
          Effect.zipRight(Effect.repeatN(Effect.void, index % 7), served.dispatch(0, `FROM_${fiber}`, { index })), { discard: true })
      const early = yield* Effect.fork(Effect.all([dispatchFrom(1), dispatchFrom(2)], { concurrency: "unbounded", discard: true }))
      yield* Fiber.join(early)
      const later = yield* Effect.fork(Effect.all([dispatchFrom(3), dispatchFrom(4)], { concurrency: "unbounded", discard: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(later)
      const frames: Array<{ readonly s: number | null; readonly t: string | null }> = []
      while (frames.length < 4 * perFiber + 2) {
        for (const raw of yield* connection.receive) frames.push(JSON.parse(typeof raw === "string" ? raw : "null"))
      }
      const dispatches = frames.filter(({ s }) => s !== null)
      expect(dispatches.map(({ s }) => s)).toEqual(Array.from({ length: 4 * perFiber + 1 }, (_, index) => index + 1))
      expect(dispatches.slice(0, 2 * perFiber + 1).filter(({ t }) => t !== "FROM_1" && t !== "FROM_2").map(({ t }) => t)).toEqual(["READY"])
    }).pipe(Effect.provide(Services)))

  it.scoped("a Resume from a seq ahead of a session another connection holds is closed with 4007, and that connection goes on", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const holder = yield* Session.make(sessionOptions)
      const guilds = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(holder.events, (event) => event.t === "GUILD_CREATE"), 1)))
      yield* advance(1_000)
      const { sequence, sessionId } = yield* holder.snapshot
      const point = { sessionId: sessionId!, sequence: sequence! + 10, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const, encoding: "json" as const }
      yield* Session.make({ ...sessionOptions, resume: point })
      yield* settle
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([false])
      expect(yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })).toBe(1)
      expect(Chunk.size(yield* Fiber.join(guilds))).toBe(1)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a session whose connection ends before its READY (readyAfter) never began: a dispatch to it goes nowhere, and the shard identifies anew", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000, readyAfter: "20 seconds" })
      yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* (yield* served.peers).get(0)!.drop
      yield* settle
      expect(yield* served.peers).toEqual(new Map())
      expect(yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })).toBe(0)
      yield* advance(30_000, 1_000)
      expect(yield* served.identifies).toHaveLength(2)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a connection the test closes with a code that asks for a new session ends the session here too; one it closes resumably does not", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* (yield* served.peers).get(0)!.close(4000)
      expect(yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })).toBe(1) // kept for the Resume
      yield* advance(2_000)
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true])

      // at once, before the server's fiber for that connection reads the close (it was counted
      // as sent, and kept for a Resume that could never come)
      yield* (yield* served.peers).get(0)!.close(4009)
      expect(yield* served.dispatch(0, "GUILD_CREATE", { id: "2" })).toBe(0) // no one will resume it
      yield* advance(10_000)
      expect((yield* served.identifies).map(({ sessionId }) => sessionId)).toEqual(["session-1", "session-2"])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // it was numbered and kept before it failed to serialise: the next event skipped a number, and
  // each Resume died in its replay (no RESUMED), so the session identified anew
  it.scoped("a dispatch whose data JSON cannot hold dies saying so, numbered nowhere: the next event follows, and a Resume replays what was kept", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      const taken = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 3)))
      yield* advance(1_000)
      const live = yield* Effect.exit(served.dispatch(0, "GUILD_CREATE", { id: 5n }))
      expect(Exit.isFailure(live) && Cause.pretty(live.cause)).toContain("MemoryServer.dispatch: GUILD_CREATE's data cannot be sent as JSON")
      yield* served.dispatch(0, "GUILD_CREATE", { id: "6" })
      yield* (yield* served.peers).get(0)!.drop
      // while the connection is down: kept for the Resume, or refused as above
      expect(Exit.isFailure(yield* Effect.exit(served.dispatch(0, "GUILD_CREATE", { id: 7n })))).toBe(true)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "8" })
      yield* advance(3_000)
      const events = Chunk.toReadonlyArray(yield* Fiber.join(taken))
      expect(events.map((event) => [event.t, event.sequence])).toEqual([["READY", 1], ["GUILD_CREATE", 2], ["GUILD_CREATE", 3]])
      expect((yield* served.resumes).map(({ resumed }) => resumed)).toEqual([true])
      expect(yield* served.identifies).toHaveLength(1)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // the members option's throw killed the connection's fiber unseen: no ACK, a zombie and a
  // resume, and the request ended with a Timeout that named nothing
  it.scoped("a members option that throws is logged, the connection goes on being answered, and the server's next use dies with it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({
        heartbeatInterval: 10_000,
        members: () => {
          throw new Error("members table not loaded")
        }
      })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const request = yield* Effect.fork(Effect.exit(session.requestGuildMembers({ guild_id: "100", query: "", limit: 0 })))
      yield* advance(60_000)
      const used = yield* Effect.exit(served.identifies)
      expect(Exit.isFailure(used) && Cause.pretty(used.cause)).toContain(
        "MemoryServer: answering a member request for guild 100 died: members table not loaded"
      )
      expect(Exit.isFailure(yield* Effect.exit(served.dispatch(0, "GUILD_CREATE", { id: "1" })))).toBe(true)
      // heartbeats still answered: no zombie, no Resume
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* session.snapshot).reconnects).toBe(0)
      expect(Exit.isFailure(yield* Fiber.join(request))).toBe(true)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // a thrown value with no text (no prototype) made the telling throw: the connection was no longer
  // answered, and a `leave` that threw so was not told at all
  it.scoped("an option that throws a value with no text is told all the same: members', the connection still answered; leave's, the server's next use dies", () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (LogLevel.greaterThanEqual(logLevel, LogLevel.Error)) lines.push(String(message))
    })
    const textless = (): never => {
      throw Object.create(null)
    }
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000, members: textless })
        const session = yield* Session.make(sessionOptions)
        yield* advance(1_000)
        yield* Effect.fork(Effect.exit(session.requestGuildMembers({ guild_id: "100", query: "", limit: 0 })))
        yield* advance(60_000)
        expect((yield* session.snapshot).reconnects).toBe(0)
        const used = yield* Effect.exit(served.identifies)
        expect(Exit.isFailure(used) && Cause.pretty(used.cause)).toContain("answering a member request for guild 100 died")
      }))
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000, leave: textless })
      yield* Session.make(sessionOptions)
      yield* advance(1_000)
      expect(lines.filter((line) => line.includes("the leave option died"))).toHaveLength(1)
      expect(Exit.isFailure(yield* Effect.exit(served.left))).toBe(true)
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Effect.provide(Services), Effect.withRandom(Random.fixed([0.5])))
  })

  // checked per session, on each one's view: the session whose view had the embeds emptied got it
  // numbered before the next one's died
  it.scoped("a dispatch to \"all\" whose data JSON cannot hold dies before any session numbers it, whatever each one's view", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const older = yield* Session.make({ ...sessionOptions, intents: Intents.Guilds | Intents.GuildMessages, shard: [0, 2] })
      yield* advance(1_000)
      yield* Session.make({ ...sessionOptions, intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent, shard: [0, 4] })
      yield* advance(6_000)
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(older.events, (event) => event.t !== "READY"), 1)))
      yield* settle
      const message = { id: "5", channel_id: "6", guild_id: guildOn(0, 4), author: { id: "9" }, content: "hi", mentions: [], embeds: [{ size: 1n }] }
      expect(Exit.isFailure(yield* Effect.exit(served.dispatch("all", "MESSAGE_CREATE", message)))).toBe(true)
      yield* served.dispatch([0, 2], "GUILD_CREATE", { id: guildOn(0, 4) })
      yield* advance(1_000)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(events)).map((event) => [event.t, event.sequence])).toEqual([["GUILD_CREATE", 2]])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // each ended session kept its last thousand dispatches as long as the server ran, though nothing
  // can replay them (a day of reconnects with traffic grew without bound)
  it.scoped("an ended session's dispatches are let go", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      yield* advance(1_000)
      const refs: Array<WeakRef<object>> = []
      for (let round = 0; round < 3; round++) {
        // made in a function of its own, so that no frame of the test keeps it
        expect(yield* Effect.suspend(() => {
          const big = { blob: "x".repeat(100_000), round }
          refs.push(new WeakRef(big))
          return served.dispatch(0, "TEST_BIG", big)
        })).toBe(1)
        // ends the session here: the client identifies anew
        expect(yield* served.invalidate(0, false)).toBe(1)
        yield* advance(20_000)
      }
      expect(yield* served.identifies).toHaveLength(3)
      expect(yield* stillReachable(refs)).toBe(0)
      yield* session.end()
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // Discord keeps a dropped session "a few minutes"; a point an hour old resumed here, so a test of
  // a bot that resumes stale points passed
  it.scoped("a session stays resumable for resumeWindow once its connection is gone (default 3 minutes); a Resume after gets op 9, and Infinity keeps it", () =>
    Effect.gen(function*() {
      const resumedAfter = (wait: number, options: MemoryServer.Options = {}) =>
        Effect.scoped(Effect.gen(function*() {
          const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000, ...options })
          const first = yield* Session.make(sessionOptions)
          // past the identify spacing of the run before
          yield* advance(6_000)
          const point = Option.getOrThrow(yield* first.disconnect())
          yield* advance(wait, 10_000)
          const next = yield* Session.make({ ...sessionOptions, resume: point })
          yield* advance(5_000)
          yield* next.end()
          return (yield* served.resumes).map(({ resumed }) => resumed)
        }))
      expect(yield* resumedAfter(170_000)).toEqual([true])
      expect(yield* resumedAfter(190_000)).toEqual([false])
      expect(yield* resumedAfter(50_000, { resumeWindow: "30 seconds" })).toEqual([false])
      expect(yield* resumedAfter(3_600_000, { resumeWindow: Infinity })).toEqual([true])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a session the sessions option names is resumable for resumeWindow from the start", () =>
    Effect.gen(function*() {
      const point = { sessionId: "kept", sequence: 4, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const }
      const resumedAfter = (wait: number) =>
        Effect.scoped(Effect.gen(function*() {
          const served = yield* MemoryServer.serve({ sessions: [point] })
          yield* advance(wait, 10_000)
          const session = yield* Session.make({ ...sessionOptions, resume: point })
          yield* advance(5_000)
          yield* session.end()
          return (yield* served.resumes).map(({ resumed }) => resumed)
        }))
      expect(yield* resumedAfter(0)).toEqual([true])
      expect(yield* resumedAfter(190_000)).toEqual([false])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // a named session ended past its window left its id to the next Identify's session, which its
  // stale point then resumed
  it.scoped("a restored session ended past its resume window never lends its id to a new session, and its stale point is refused", () =>
    Effect.gen(function*() {
      const point = { sessionId: "session-1", sequence: 4, resumeGatewayUrl: "ws://resume.test", shard: [0, 1] as const }
      const served = yield* MemoryServer.serve({ sessions: [point], heartbeatInterval: 10_000 })
      yield* advance(190_000, 10_000)
      // its Resume past the window gets op 9: the session identifies anew
      const session = yield* Session.make({ ...sessionOptions, resume: point })
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      yield* advance(15_000)
      const identifies = yield* served.identifies
      expect(identifies).toHaveLength(1)
      // a few dispatches on the new session
      for (let i = 0; i < 5; i++) yield* served.dispatch(0, "TEST_EVENT", { i })
      yield* advance(1_000)
      // another process's stale copy of the restored point
      const stale = yield* Session.make({ ...sessionOptions, resume: point })
      yield* Effect.forkScoped(Stream.runDrain(stale.events))
      yield* advance(5_000)
      const resumes = yield* served.resumes
      // the stale point resumed the new session (and took its connection from the live process)
      expect(resumes.map(({ d, resumed }) => [d.session_id, resumed]).slice(0, 2)).toEqual([["session-1", false], ["session-1", false]])
      expect(identifies[0]!.sessionId).not.toBe("session-1")
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // its window was looked at only when a Resume of it came: one never resumed kept its last
  // thousand dispatches for the server's life
  it.scoped("a session past its resume window, never resumed, lets go of the dispatches it kept", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const refs: Array<WeakRef<object>> = []
      for (let round = 0; round < 3; round++) {
        const session = yield* Session.make(sessionOptions)
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        yield* advance(6_000)
        // made in a function of its own, so that no frame of the test keeps it
        expect(yield* Effect.suspend(() => {
          const big = { blob: "x".repeat(100_000), round }
          refs.push(new WeakRef(big))
          return served.dispatch(0, "TEST_BIG", big)
        })).toBe(1)
        yield* advance(1_000)
        // a resumable close, its point never used: the session is past its window 3 minutes on
        yield* session.disconnect()
        yield* advance(200_000, 10_000)
      }
      expect(yield* served.identifies).toHaveLength(3)
      expect(yield* stillReachable(refs)).toBe(0)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))
})
