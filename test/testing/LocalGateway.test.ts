import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Etf from "../../src/codec/Etf.ts"
import { CloseCode } from "../../src/protocol/CloseCode.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { shardOf } from "../../src/testing/Rules.ts"
import { anyControl } from "../controls.ts"
import { freePort } from "../freePort.ts"
import { connect, dispatch, hello } from "./rawClient.ts"
import type { RawClient } from "./rawClient.ts"

const token = "secret-token-value"
const query = "?v=10&encoding=json"

// a minute's slack unless a test gives its own: most compare the violations with none, and a loaded
// machine's stall past 2.5 s (1.5 intervals and the default second) drew a HeartbeatMissed they do
// not check; the tests of missed beats give theirs
const gatewayWith = (options: Partial<LocalGateway.Options> = {}) =>
  LocalGateway.make({ token: Redacted.make(token), heartbeatInterval: "1 second", heartbeatSlack: "1 minute", ...options })

const identify = (shard: [number, number] = [0, 1], extra: Record<string, unknown> = {}) => ({
  op: 2,
  d: { token, intents: 513, properties: { os: "linux", browser: "test", device: "test" }, shard, ...extra }
})

/** Connects, waits for Hello, identifies (with `intents`, if given) and waits for READY. */
const ready = (gateway: LocalGateway.LocalGateway, shard: [number, number] = [0, 1], intents?: number) =>
  Effect.gen(function*() {
    const client = yield* connect(gateway.url + query)
    yield* client.next(hello)
    yield* client.send(identify(shard, intents === undefined ? {} : { intents }))
    const readyFrame = yield* client.next(dispatch("READY"))
    return { client, ready: readyFrame }
  })

const expectClose = (client: RawClient, code: number) =>
  Effect.map(client.closed, (closed) => expect(closed.code).toBe(code))

/** A gateway with a session whose connection closed with 4900: resumable, held by none. */
const leftResumable = Effect.gen(function*() {
  const gateway = yield* gatewayWith({ guilds: 0 })
  const { client, ready: readyFrame } = yield* ready(gateway)
  yield* client.close(4900)
  yield* gateway.awaitLog((log) => log.connections[0]!.closedAt !== undefined)
  return { gateway, sessionId: readyFrame.d.session_id as string }
})

const kinds = (gateway: LocalGateway.LocalGateway) =>
  Effect.map(gateway.violations, (violations) => violations.map((v) => v.kind))

describe("LocalGateway HTTP", () => {
  it.scopedLive("a port another server holds fails make with LocalGatewayError, not a defect", () =>
    Effect.gen(function*() {
      const first = yield* gatewayWith()
      const port = Number(new URL(first.apiUrl).port)
      const error = yield* Effect.flip(Effect.scoped(gatewayWith({ port })))
      expect(error).toMatchObject({ _tag: "LocalGatewayError", reason: "Listen", port, code: "EADDRINUSE" })
      expect(error.message).toBe(`the local gateway cannot listen on 127.0.0.1:${port} (EADDRINUSE)`)
    }))

  it.live("make interrupted before its server listens leaves no server listening", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      // interrupted at each of its first turns: at one of them it waits for listen's callback
      for (let turns = 0; turns < 40; turns++) {
        const making = yield* Effect.fork(Effect.scoped(gatewayWith({ port })))
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(making)
      }
      // a server left listening would hold the port: EADDRINUSE
      const again = yield* Effect.either(Effect.scoped(gatewayWith({ port })))
      expect(again._tag).toBe("Right")
    }))

  it.scopedLive("answers /gateway/bot, refuses a bad token, and counts identifies", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ shards: 3, sessionStartLimit: { total: 50, remaining: 40, maxConcurrency: 2 } })
      const get = (auth: string) =>
        Effect.promise(() => fetch(`${gateway.apiUrl}/v10/gateway/bot`, { headers: { authorization: auth } }))
      const bad = yield* get("Bot wrong")
      expect(bad.status).toBe(401)
      expect(yield* Effect.promise(() => bad.json())).toEqual({ message: "401: Unauthorized", code: 0 })
      const good = yield* get(`Bot ${token}`).pipe(Effect.flatMap((response) => Effect.promise(() => response.json())))
      expect(good).toMatchObject({
        url: gateway.url,
        shards: 3,
        session_start_limit: { total: 50, remaining: 40, max_concurrency: 2 }
      })
      yield* ready(gateway, [0, 3])
      expect((yield* gateway.gatewayBot).session_start_limit.remaining).toBe(39)
      expect(yield* gateway.violations).toEqual([])
    }))
}, 20_000)

describe("LocalGateway sessions", () => {
  it.scopedLive("sends Hello, READY with s=1, then the shard's guilds, and ACKs heartbeats", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ shards: 2, guilds: 6 })
      const client = yield* connect(gateway.url + query)
      const helloFrame = yield* client.next(hello)
      expect(helloFrame.d.heartbeat_interval).toBe(1000)
      expect(client.frames[0]).toMatchObject({ op: 10, s: null, t: null })
      yield* client.send({ op: 1, d: null })
      yield* client.next((f) => f.op === 11)
      yield* client.send(identify([1, 2]))
      const readyFrame = yield* client.next(dispatch("READY"))
      expect(readyFrame.s).toBe(1)
      expect(readyFrame.d).toMatchObject({
        v: 10,
        shard: [1, 2],
        resume_gateway_url: `${gateway.url}/resume`,
        application: { id: gateway.world.applicationId },
        user: { id: gateway.world.user.id, bot: true }
      })
      expect(readyFrame.d.session_id).toMatch(/^[0-9a-f]{32}$/)
      const expected = gateway.world.guilds.filter((g) => shardOf(g.id, 2) === 1).map((g) => g.id)
      expect(expected).toHaveLength(3)
      expect(readyFrame.d.guilds).toEqual(expected.map((id) => ({ id, unavailable: true })))
      yield* Effect.forEach(expected, (id) => client.next((f) => f.t === "GUILD_CREATE" && f.d.id === id))
      const creates = client.frames.filter(dispatch("GUILD_CREATE"))
      expect(creates.map((f) => f.s)).toEqual([2, 3, 4])
      // without the GuildPresences intent (513 is Guilds and GuildMessages), only the bot's own member
      expect(creates.map((f) => f.d.members.map((m: { user: { id: string } }) => m.user.id))).toEqual(expected.map(() => [gateway.world.user.id]))
      const log = yield* gateway.log
      expect(log.identifies).toMatchObject([{ shard: [1, 2], rateLimitKey: 0, outcome: "ready" }])
      expect(log.heartbeats).toMatchObject([{ d: null, requested: false }])
      expect(JSON.stringify(log)).not.toContain(token)
      expect(log.commands[0]!.d).toMatchObject({ token: "<redacted>" })
      expect(log.violations).toEqual([])
    }))

  it.scopedLive("resume replays exactly the missed dispatches, in order, then RESUMED", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client, ready: readyFrame } = yield* ready(gateway)
      const sessionId: string = readyFrame.d.session_id
      yield* client.next(dispatch("GUILD_CREATE"))
      yield* gateway.dispatch({ shard: 0 }, "TEST_EVENT", { n: 1 })
      yield* client.next(dispatch("TEST_EVENT"))
      yield* gateway.drop("all")
      yield* client.closed
      expect(yield* gateway.dispatch({ session: sessionId }, "TEST_EVENT", { n: 2 })).toBe(1)
      yield* gateway.dispatch("all", "TEST_EVENT", { n: 3 })
      const resumed = yield* connect(`${readyFrame.d.resume_gateway_url}${query}`)
      yield* resumed.next(hello)
      yield* resumed.send({ op: 6, d: { token, session_id: sessionId, seq: 2 } })
      yield* resumed.next(dispatch("RESUMED"))
      const replay = resumed.frames.filter((f) => f.op === 0)
      expect(replay.map((f) => [f.s, f.t, f.d.n])).toEqual([
        [3, "TEST_EVENT", 1],
        [4, "TEST_EVENT", 2],
        [5, "TEST_EVENT", 3],
        [6, "RESUMED", undefined]
      ])
      const log = yield* gateway.log
      expect(log.resumes).toMatchObject([{ sessionId, seq: 2, outcome: "resumed", replayed: 3 }])
      expect(log.connections.map((c) => [c.path, c.closedBy, c.sessionId])).toEqual([
        ["/", "server-drop", sessionId],
        ["/resume", undefined, sessionId]
      ])
      expect(log.violations).toEqual([])
    }))

  it.scopedLive("refuses resumes: unknown session (op 9), seq ahead (4007), session ended by a 1000 close (op 9)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client, ready: readyFrame } = yield* ready(gateway)
      const sessionId: string = readyFrame.d.session_id
      const resume = (id: string, seq: number) =>
        Effect.gen(function*() {
          const c = yield* connect(gateway.url + query)
          yield* c.next(hello)
          yield* c.send({ op: 6, d: { token, session_id: id, seq } })
          return c
        })
      const unknown = yield* resume("0".repeat(32), 1)
      expect((yield* unknown.next((f) => f.op === 9)).d).toBe(false)
      const ahead = yield* resume(sessionId, 5)
      yield* expectClose(ahead, CloseCode.InvalidSeq)
      yield* client.close(1000)
      yield* client.closed
      yield* gateway.awaitLog((log) => log.connections[0]!.closedAt !== undefined)
      const ended = yield* resume(sessionId, 1)
      expect((yield* ended.next((f) => f.op === 9)).d).toBe(false)
      expect((yield* gateway.log).resumes.map((r) => r.outcome)).toEqual(["invalid-session", "invalid-seq", "invalid-session"])
      expect(yield* kinds(gateway)).toEqual(["InvalidSeq"])
    }))

  // The Resume's connection was not yet the session's: the close ended nothing, and the same
  // session was resumed afterwards, where Discord's 4007 says to start a new one.
  it.scopedLive("a Resume closed with 4007 ends its session: a later Resume of it, with a right seq, gets op 9 false", () =>
    Effect.gen(function*() {
      const { gateway, sessionId } = yield* leftResumable
      const resume = (seq: number) =>
        Effect.gen(function*() {
          const c = yield* connect(gateway.url + query)
          yield* c.next(hello)
          yield* c.send({ op: 6, d: { token, session_id: sessionId, seq } })
          return c
        })
      yield* expectClose(yield* resume(5), CloseCode.InvalidSeq)
      const again = yield* resume(1)
      expect((yield* again.next((f) => f.op === 9 || f.op === 0)).d).toBe(false)
      expect((yield* gateway.log).resumes.map((r) => r.outcome)).toEqual(["invalid-seq", "invalid-session"])
    }))

  // Ending it there left the connection holding it open on an ended session: no event reached it.
  it.scopedLive("a Resume with a bad seq of a session another connection holds is closed with 4007, and the session goes on there", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client: holder, ready: readyFrame } = yield* ready(gateway)
      const sessionId: string = readyFrame.d.session_id
      const other = yield* connect(gateway.url + query)
      yield* other.next(hello)
      yield* other.send({ op: 6, d: { token, session_id: sessionId, seq: 99 } })
      yield* expectClose(other, CloseCode.InvalidSeq)
      expect(yield* gateway.dispatch({ session: sessionId }, "MESSAGE_CREATE", { id: "4242", channel_id: "1", guild_id: "1", content: "" })).toBe(1)
      expect((yield* holder.next(dispatch("MESSAGE_CREATE"))).d.id).toBe("4242")
    }))

  // Discord resumes a session only over the encoding it began with: a JSON session was resumed
  // on an ETF connection without a word, so a client changing encodings passed here.
  it.scopedLive("a Resume over another encoding than the session began with gets op 9 false, and the breach is recorded", () =>
    Effect.gen(function*() {
      const { gateway, sessionId } = yield* leftResumable
      const etf = yield* connect(gateway.url + "?v=10&encoding=etf")
      yield* gateway.awaitLog((log) => log.connections.length === 2)
      yield* etf.sendRaw(Etf.encode({ op: 6, d: { token, session_id: sessionId, seq: 1 } }))
      const log = yield* gateway.awaitLog((log) => log.resumes.length === 1)
      expect(log.resumes.map((r) => r.outcome)).toEqual(["invalid-session"])
      expect(yield* kinds(gateway)).toEqual(["ResumeEncodingChanged"])
      // the session was left as it was: over JSON it resumes
      const json = yield* connect(gateway.url + query)
      yield* json.next(hello)
      yield* json.send({ op: 6, d: { token, session_id: sessionId, seq: 1 } })
      yield* json.next(dispatch("RESUMED"))
    }))

  // a seq of "3" resumed from 0 and replayed every event, READY included
  it.scopedLive("a Resume without a session_id string and a seq integer is refused with 4002, nothing replayed", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client, ready: readyFrame } = yield* ready(gateway)
      yield* client.close(4900)
      yield* client.closed
      yield* gateway.awaitLog((log) => log.connections[0]!.closedAt !== undefined)
      const sessionId: string = readyFrame.d.session_id
      for (const d of [{ session_id: sessionId, seq: "1" }, { session_id: sessionId, seq: null }, { session_id: sessionId, seq: -1 }, { seq: 1 }]) {
        const c = yield* connect(gateway.url + query)
        yield* c.next(hello)
        yield* c.send({ op: 6, d: { token, ...d } })
        yield* expectClose(c, CloseCode.DecodeError)
        expect(c.frames.filter((f) => f.op === 0)).toEqual([])
      }
      expect(yield* kinds(gateway)).toEqual(Array(4).fill("DecodeError"))
      expect((yield* gateway.log).resumes).toEqual([])
      // the session is still there to resume
      const resumed = yield* connect(gateway.url + query)
      yield* resumed.next(hello)
      yield* resumed.send({ op: 6, d: { token, session_id: sessionId, seq: 1 } })
      yield* resumed.next(dispatch("RESUMED"))
    }))

  it.scopedLive("a session stays resumable only for the resume window", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, resumeWindow: "100 millis" })
      const { client, ready: readyFrame } = yield* ready(gateway)
      yield* client.close(4900)
      yield* client.closed
      yield* Effect.sleep("200 millis")
      const late = yield* connect(gateway.url + query)
      yield* late.next(hello)
      yield* late.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: 1 } })
      expect((yield* late.next((f) => f.op === 9)).d).toBe(false)
    }))

  it.scopedLive("answers Request Guild Members with chunks, not_found, presences and nonce", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, membersPerGuild: 5, memberChunkSize: 2 })
      const { client } = yield* ready(gateway, [0, 1], Intents.Guilds | Intents.GuildMembers | Intents.GuildPresences)
      const guild = gateway.world.guilds[0]!
      yield* client.send({ op: 8, d: { guild_id: guild.id, query: "", limit: 0, presences: true, nonce: "all" } })
      yield* client.next((f) => f.t === "GUILD_MEMBERS_CHUNK" && f.d.chunk_index === 2)
      const chunks = client.frames.filter(dispatch("GUILD_MEMBERS_CHUNK"))
      expect(chunks.map((c) => [c.d.chunk_index, c.d.chunk_count, c.d.members.length, c.d.nonce])).toEqual([
        [0, 3, 2, "all"],
        [1, 3, 2, "all"],
        [2, 3, 2, "all"]
      ])
      expect(chunks[0]!.d.presences).toHaveLength(2)
      const known = guild.members[1]!.user.id
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: [known, "42"], nonce: "ids" } })
      const byId = yield* client.next((f) => f.t === "GUILD_MEMBERS_CHUNK" && f.d.nonce === "ids")
      expect(byId.d.members.map((m: { user: { id: string } }) => m.user.id)).toEqual([known])
      expect(byId.d.not_found).toEqual(["42"])
      expect(byId.d.presences).toBeUndefined()
      yield* client.send({ op: 8, d: { guild_id: guild.id, query: "", limit: 0, nonce: "again" } })
      const limited = yield* client.next(dispatch("RATE_LIMITED"))
      expect(limited.d).toMatchObject({ opcode: 8, meta: { guild_id: guild.id, nonce: "again" } })
      expect(limited.d.retry_after).toBeGreaterThan(29)
      expect(yield* kinds(gateway)).toEqual(["RequestGuildMembersRateLimited"])
    }))

  it.scopedLive("as Discord, leaves a whole-list member request unanswered without GuildMembers, and presences out without GuildPresences", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, membersPerGuild: 3 })
      const { client } = yield* ready(gateway, [0, 1], Intents.Guilds)
      const guild = gateway.world.guilds[0]!
      yield* client.send({ op: 8, d: { guild_id: guild.id, query: "", limit: 10, nonce: "all" } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: [guild.members[0]!.user.id], presences: true, nonce: "ids" } })
      const byId = yield* client.next((f) => f.t === "GUILD_MEMBERS_CHUNK")
      expect([byId.d.nonce, byId.d.members.length, byId.d.presences]).toEqual(["ids", 1, undefined])
      expect(client.frames.filter(dispatch("GUILD_MEMBERS_CHUNK"))).toHaveLength(1)
      expect(yield* gateway.violations).toMatchObject([
        { kind: "InvalidCommand", detail: `all members of guild ${guild.id} requested without the GuildMembers intent` }
      ])
    }))

  it.scopedLive("as Discord, answers user_ids given as one snowflake with that member, and no request that selects nobody", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, membersPerGuild: 5 })
      const { client } = yield* ready(gateway, [0, 1], Intents.Guilds | Intents.GuildMembers)
      const guild = gateway.world.guilds[0]!
      const wanted = guild.members[2]!.user.id
      yield* client.send({ op: 8, d: { guild_id: guild.id, nonce: "nobody" } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: wanted, nonce: "one" } })
      const chunk = yield* client.next((f) => f.t === "GUILD_MEMBERS_CHUNK")
      expect([chunk.d.nonce, chunk.d.members.map((m: { user: { id: string } }) => m.user.id)]).toEqual(["one", [wanted]])
      expect(yield* gateway.violations).toMatchObject([
        { kind: "InvalidCommand", detail: `members of guild ${guild.id} requested with neither query nor user_ids` }
      ])
    }))

  it.scopedLive("as Discord, ignores a nonce over 32 bytes, and answers a prefix or a list of ids with at most 100 members", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, membersPerGuild: 4000, memberChunkSize: 2000 })
      const { client } = yield* ready(gateway, [0, 1], Intents.Guilds | Intents.GuildMembers)
      const guild = gateway.world.guilds[0]!
      // the commonest first letter of the members' names
      const counts = new Map<string, number>()
      for (const { user } of guild.members) {
        const letter = user.username[0]!.toLowerCase()
        counts.set(letter, (counts.get(letter) ?? 0) + 1)
      }
      const [prefix, matching] = [...counts].sort((a, b) => b[1] - a[1])[0]!
      expect(matching).toBeGreaterThan(100)
      const ids = guild.members.slice(0, 120).map((member) => member.user.id)
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: [ids[0]], nonce: "n".repeat(33) } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: [ids[0]], nonce: "é".repeat(16) } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, query: prefix, limit: 1000, nonce: "prefix" } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, user_ids: ids, nonce: "ids" } })
      yield* client.send({ op: 8, d: { guild_id: guild.id, query: "", limit: 0, nonce: "all" } })
      yield* client.next((f) => f.t === "GUILD_MEMBERS_CHUNK" && f.d.nonce === "all" && f.d.chunk_index === f.d.chunk_count - 1)
      // members answered per request, in order
      const answered = new Map<string | undefined, number>()
      for (const chunk of client.frames.filter(dispatch("GUILD_MEMBERS_CHUNK"))) {
        answered.set(chunk.d.nonce, (answered.get(chunk.d.nonce) ?? 0) + chunk.d.members.length)
      }
      expect([...answered]).toEqual([
        [undefined, 1],
        ["é".repeat(16), 1],
        ["prefix", 100],
        ["ids", 100],
        ["all", guild.members.length]
      ])
      expect(yield* gateway.violations).toEqual([])
    }))

  it.scopedLive("answers voice state, soundboard and channel info requests", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client } = yield* ready(gateway, [0, 1], 513 | Intents.GuildVoiceStates)
      const guild = gateway.world.guilds[0]!
      yield* client.send({ op: 4, d: { guild_id: guild.id, channel_id: guild.voiceChannelIds[0], self_mute: true, self_deaf: false } })
      expect((yield* client.next(dispatch("VOICE_STATE_UPDATE"))).d).toMatchObject({ guild_id: guild.id, self_mute: true })
      yield* client.next(dispatch("VOICE_SERVER_UPDATE"))
      yield* client.send({ op: 31, d: { guild_ids: [guild.id] } })
      expect((yield* client.next(dispatch("SOUNDBOARD_SOUNDS"))).d).toEqual({ guild_id: guild.id, soundboard_sounds: [] })
      yield* client.send({ op: 43, d: { guild_id: guild.id, fields: ["status"] } })
      expect((yield* client.next(dispatch("CHANNEL_INFO"))).d.channels[0].id).toBe(guild.voiceChannelIds[0])
      yield* client.send({ op: 3, d: { since: null, activities: [], status: "online", afk: false } })
      yield* gateway.awaitLog((log) => log.commands.some((c) => c.op === 3))
      expect(yield* gateway.violations).toEqual([])
    }))

  // a fault aimed at a shard not connected yet did nothing, and said nothing
  it.scopedLive("a fault says how many connections it reached: none for a shard with no connection, one for a connected shard, every open one for all", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      expect(yield* gateway.setAcks({ shard: 1 }, false)).toBe(0)
      const { client } = yield* ready(gateway, [0, 2])
      const { client: other } = yield* ready(gateway, [1, 2])
      expect(yield* gateway.setAcks({ shard: 1 }, false)).toBe(1)
      expect(yield* gateway.requestHeartbeat("all")).toBe(2)
      expect(yield* gateway.drop({ shard: 0 })).toBe(1)
      yield* client.closed
      yield* gateway.awaitLog((log) => log.connections.filter((c) => c.closedAt !== undefined).length === 1)
      expect(yield* gateway.close({ shard: 0 }, 4000)).toBe(0)
      expect(yield* gateway.reconnect("all")).toBe(1)
      yield* other.next((f) => f.op === 7)
    }))
}, 20_000)

describe("LocalGateway rules", () => {
  /** Connects, waits for Hello and optionally identifies, then runs `act` and expects a close and one violation. */
  const breach = (
    act: (client: RawClient) => Effect.Effect<void>,
    code: number,
    kind: string,
    options: { readonly identified?: boolean; readonly url?: string; readonly gateway?: Partial<LocalGateway.Options> } = {}
  ) =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, ...options.gateway })
      const client = options.identified ? (yield* ready(gateway)).client : yield* connect(gateway.url + (options.url ?? query))
      if (!options.identified && options.url === undefined) yield* client.next(hello)
      yield* act(client)
      yield* expectClose(client, code)
      const violations = yield* gateway.violations
      expect(violations.map((v) => v.kind)).toContain(kind)
      expect(violations.find((v) => v.kind === kind)).toMatchObject({ connection: 1, closeCode: code })
      expect(violations.every((v) => typeof v.at === "number" && v.at > 0)).toBe(true)
      const log = yield* gateway.log
      expect(log.connections[0]).toMatchObject({ closedBy: "server", closeCode: code })
    })

  it.scopedLive("what a client sent is quoted in a breach's detail and warning with no control character in it", () => {
    // each line with its annotations
    const lines: Array<string> = []
    const layer = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, message }) => void lines.push([String(message), ...HashMap.values(annotations)].join(" ")))
    )
    return Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      // ESC [2J (clear the screen) and ESC ]0;...BEL (retitle the terminal), percent-encoded
      const client = yield* connect(`${gateway.url}/?v=%1B%5B2J%1B%5D0%3Bowned%07&encoding=json`)
      expect((yield* client.closed).code).toBe(CloseCode.InvalidApiVersion)
      const [violation] = yield* gateway.violations
      expect(violation?.detail).toBe("v=\\u001b[2J\\u001b]0;owned\\u0007")
      expect(lines).toContainEqual(expect.stringMatching(/^gateway rule broken: InvalidApiVersion .*v=/))
      expect(lines.filter((line) => anyControl.test(line))).toEqual([])
    }).pipe(Effect.provide(layer))
  })
  it.scopedLive("v other than 10 closes 4012", () => breach(() => Effect.void, CloseCode.InvalidApiVersion, "InvalidApiVersion", { url: "?v=9&encoding=json" }))
  it.scopedLive("an unknown encoding closes 4002", () => breach(() => Effect.void, CloseCode.DecodeError, "InvalidEncoding", { url: "?v=10&encoding=xml" }))
  it.scopedLive("unknown opcode closes 4001", () => breach((c) => c.send({ op: 5, d: null }), CloseCode.UnknownOpcode, "UnknownOpcode"))
  // Discord closes an invalid payload for an opcode with 4001 (discord-api-docs#2226, #3854); it
  // was let through (a presence without since and afk) or closed with 4002 (d null)
  it.scopedLive("a Presence Update without since and afk closes 4001, as Discord does", () =>
    breach((c) => c.send({ op: 3, d: { activities: [], status: "online" } }), CloseCode.UnknownOpcode, "InvalidPayload", { identified: true }))
  it.scopedLive("a Presence Update whose d is null closes 4001", () =>
    breach((c) => c.send({ op: 3, d: null }), CloseCode.UnknownOpcode, "InvalidPayload", { identified: true }))
  it.scopedLive("a Voice State Update without self_deaf closes 4001", () =>
    breach((c) => c.send({ op: 4, d: { guild_id: "1", channel_id: null, self_mute: false } }), CloseCode.UnknownOpcode, "InvalidPayload", { identified: true }))
  it.scopedLive("invalid JSON closes 4002", () => breach((c) => c.sendRaw("{op: 1"), CloseCode.DecodeError, "DecodeError"))
  it.scopedLive("a payload over 4096 bytes closes 4002", () =>
    breach((c) => c.send({ op: 3, d: { pad: "x".repeat(4100) } }), CloseCode.DecodeError, "PayloadTooLarge"))
  it.scopedLive("a payload over 1 MiB is recorded and closes 4002 too, not 1009 from the websocket server", () =>
    breach((c) => c.send({ op: 3, d: { pad: "x".repeat(2 * 1024 * 1024) } }), CloseCode.DecodeError, "PayloadTooLarge"))
  it.scopedLive("a payload the websocket server refuses (over 64 MiB) is recorded, with ws's 1009", () =>
    breach((c) => c.sendRaw(Buffer.alloc(64 * 1024 * 1024 + 1, 0x20)), 1009, "PayloadTooLarge"))
  it.scopedLive("a command before identify closes 4003", () =>
    breach((c) => c.send({ op: 3, d: { since: null, activities: [], status: "online", afk: false } }), CloseCode.NotAuthenticated, "NotAuthenticated"))
  it.scopedLive("a bad token closes 4004", () =>
    breach((c) => c.send({ ...identify(), d: { ...identify().d, token: "nope" } }), CloseCode.AuthenticationFailed, "AuthenticationFailed"))
  it.scopedLive("an Identify with a bad token is in log.identifies as refused; with an invalid shard pair as well, it is a violation only", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      for (const shard of [[1, 2], [2, 2]] as const) {
        const client = yield* connect(gateway.url + query)
        yield* client.next(hello)
        yield* client.send(identify([...shard], { token: "nope" }))
        yield* expectClose(client, CloseCode.AuthenticationFailed)
      }
      expect((yield* gateway.log).identifies).toEqual([
        { at: expect.any(Number), connection: 1, shard: [1, 2], rateLimitKey: 0, intents: 513, outcome: "refused", sessionId: undefined }
      ])
      expect((yield* gateway.violations).map((violation) => [violation.connection, violation.kind])).toEqual([
        [1, "AuthenticationFailed"],
        [2, "AuthenticationFailed"]
      ])
    }))
  it.scopedLive("a second identify closes 4005", () => breach((c) => c.send(identify()), CloseCode.AlreadyAuthenticated, "AlreadyAuthenticated", { identified: true }))
  it.scopedLive("a shard id >= count closes 4010", () => breach((c) => c.send(identify([2, 2])), CloseCode.InvalidShard, "InvalidShard"))
  it.scopedLive("a shard count other than the required one closes 4010 when strict", () =>
    breach((c) => c.send(identify([0, 3])), CloseCode.InvalidShard, "InvalidShard", { gateway: { shards: 2, strictShardCount: true } }))
  it.scopedLive("unknown intent bits close 4013", () =>
    breach((c) => c.send(identify([0, 1], { intents: 1 << 30 })), CloseCode.InvalidIntents, "InvalidIntents"))
  it.scopedLive("more than 120 payloads in 60 s closes 4008", () =>
    breach((c) => Effect.forEach(Array.from({ length: 121 }), () => c.send({ op: 1, d: null }), { discard: true }), CloseCode.RateLimited, "SendRateLimited"))

  it.scopedLive("a payload before Hello is recorded", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      yield* gateway.delayNextHello("200 millis")
      const client = yield* connect(gateway.url + query)
      yield* client.send({ op: 1, d: null })
      yield* client.next(hello)
      expect(yield* kinds(gateway)).toEqual(["PayloadBeforeHello"])
      const second = yield* connect(gateway.url + query)
      yield* second.next(hello)
      expect(yield* kinds(gateway)).toEqual(["PayloadBeforeHello"])
    }))

  it.scopedLive("a second identify on the same rate_limit_key within 5 s gets op 9 false, and still spends a session start", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, shards: 4, sessionStartLimit: { maxConcurrency: 2 } })
      yield* ready(gateway, [0, 4])
      yield* ready(gateway, [1, 4])
      const third = yield* connect(gateway.url + query)
      yield* third.next(hello)
      yield* third.send(identify([2, 4]))
      expect((yield* third.next((f) => f.op === 9)).d).toBe(false)
      const log = yield* gateway.log
      expect(log.identifies.map((i) => [i.shard[0], i.rateLimitKey, i.outcome])).toEqual([
        [0, 0, "ready"],
        [1, 1, "ready"],
        [2, 0, "rate-limited"]
      ])
      expect(log.violations.map((v) => [v.kind, v.connection])).toEqual([["IdentifyRateLimited", 3]])
      // two READYs and the Identify refused (it was not counted: a client that identified too
      // early in a loop never ran out here, where Discord resets its token)
      expect((yield* gateway.gatewayBot).session_start_limit.remaining).toBe(997)
    }))

  it.scopedLive("identifies too early in a loop spend the day's session starts: the token is reset", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, sessionStartLimit: { total: 2 } })
      const { client: first } = yield* ready(gateway)
      for (let i = 0; i < 2; i++) {
        const early = yield* connect(gateway.url + query)
        yield* early.next(hello)
        yield* early.send(identify())
        if (i === 0) expect((yield* early.next((f) => f.op === 9)).d).toBe(false)
        else yield* expectClose(early, CloseCode.AuthenticationFailed)
      }
      expect((yield* gateway.gatewayBot).session_start_limit.remaining).toBe(0)
      yield* expectClose(first, CloseCode.AuthenticationFailed)
      expect(yield* kinds(gateway)).toEqual(["IdentifyRateLimited", "SessionStartLimitExhausted"])
    }))

  it.scopedLive("an exhausted session_start_limit is refused", () =>
    breach((c) => c.send(identify()), CloseCode.AuthenticationFailed, "SessionStartLimitExhausted", { gateway: { sessionStartLimit: { remaining: 0 } } }))

  it.scopedLive("a session_start_limit made spent refills once its reset_after passed: the next Identify is READY, not a token reset", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, sessionStartLimit: { remaining: 0, resetAfter: "200 millis" } })
      // it counts down from when the gateway was made (it stayed at 200 ms, and never refilled)
      yield* Effect.sleep("250 millis")
      expect((yield* gateway.gatewayBot).session_start_limit).toMatchObject({ remaining: 1000, reset_after: 200 })
      yield* ready(gateway)
      expect((yield* gateway.log).identifies.map((i) => i.outcome)).toEqual(["ready"])
    }))

  it.scopedLive("running out of session_start_limit resets the token: every session ends with 4004, and the token is refused from then on", () =>
    Effect.gen(function*() {
      // gateway.mdx, Session Start Limit: "all active sessions for the app will be terminated, the bot token will be reset"
      const gateway = yield* gatewayWith({ guilds: 0, shards: 3, sessionStartLimit: { total: 2, maxConcurrency: 3 } })
      const { client: attached } = yield* ready(gateway, [0, 3])
      const { client: dropped, ready: droppedReady } = yield* ready(gateway, [1, 3])
      yield* gateway.drop({ connection: 2 })
      yield* dropped.closed
      const waiting = yield* connect(gateway.url + query)
      yield* waiting.next(hello)

      const over = yield* connect(gateway.url + query)
      yield* over.next(hello)
      yield* over.send(identify([2, 3]))
      yield* expectClose(over, CloseCode.AuthenticationFailed)
      // the attached session is ended with its connection; the detached one is no longer resumable
      expect(yield* attached.closed.pipe(Effect.timeout("2 seconds"))).toEqual({ code: CloseCode.AuthenticationFailed, reason: "Authentication failed." })
      expect(yield* gateway.dispatch("all", "TEST_EVENT", {})).toBe(0)

      const resume = yield* connect(gateway.url + query)
      yield* resume.next(hello)
      yield* resume.send({ op: 6, d: { token, session_id: droppedReady.d.session_id, seq: 1 } })
      yield* expectClose(resume, CloseCode.AuthenticationFailed)
      yield* waiting.send(identify([2, 3]))
      yield* expectClose(waiting, CloseCode.AuthenticationFailed)
      const bot = yield* Effect.promise(() => fetch(`${gateway.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } }))
      expect(bot.status).toBe(401)

      const log = yield* gateway.log
      expect(log.violations.map((v) => [v.kind, v.connection])).toEqual([
        ["SessionStartLimitExhausted", 4],
        ["AuthenticationFailed", 5],
        ["AuthenticationFailed", 3]
      ])
      expect(log.connections.map((c) => [c.id, c.closedBy, c.closeCode])).toEqual([
        [1, "server", CloseCode.AuthenticationFailed],
        [2, "server-drop", undefined],
        [3, "server", CloseCode.AuthenticationFailed],
        [4, "server", CloseCode.AuthenticationFailed],
        [5, "server", CloseCode.AuthenticationFailed]
      ])
      expect(log.resumes).toMatchObject([{ outcome: "refused" }])
    }))

  it.scopedLive("heartbeats far too early are recorded; a beat answering op 1 is not", () =>
    Effect.gen(function*() {
      // an interval long enough that a loaded machine's stall keeps the third beat far too early
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "4 seconds" })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
      yield* gateway.requestHeartbeat("all")
      yield* client.next((f) => f.op === 1)
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 2)
      expect(yield* gateway.violations).toEqual([])
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.violations.length === 1)
      const log = yield* gateway.log
      expect(log.heartbeats.map((h) => h.requested)).toEqual([false, true, false])
      expect(log.violations.map((v) => v.kind)).toEqual(["HeartbeatTooEarly"])
    }))

  it.scopedLive("op 1 left unanswered, or op 7 with the connection kept open, past answerWithin is recorded; answered, neither is", () =>
    Effect.gen(function*() {
      // a second to answer in: the obeying client's answers go through this test's fiber, which a
      // loaded machine may hold up for a few hundred ms
      const gateway = yield* gatewayWith({ guilds: 0, answerWithin: "1 second", heartbeatInterval: "4 seconds", shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      const { client: obeying } = yield* ready(gateway)
      yield* gateway.requestHeartbeat({ connection: 1 })
      yield* obeying.next((f) => f.op === 1)
      yield* obeying.send({ op: 1, d: 1 })
      yield* gateway.reconnect({ connection: 1 })
      yield* obeying.next((f) => f.op === 7)
      obeying.socket.close(4000)
      yield* obeying.closed
      const { client: ignoring } = yield* ready(gateway, [1, 2])
      yield* gateway.requestHeartbeat({ connection: 2 })
      yield* gateway.reconnect({ connection: 2 })
      yield* ignoring.next((f) => f.op === 7)
      const log = yield* gateway.awaitLog((log) => log.violations.length === 2)
      expect(log.violations.map((v) => [v.connection, v.kind, v.detail])).toEqual([
        [2, "HeartbeatRequestIgnored", "no heartbeat within 1000 ms of op 1"],
        [2, "ReconnectIgnored", "the connection still open 1000 ms after op 7"]
      ])
      // the first connection's answers cancelled its timers: nothing more is recorded
      yield* Effect.sleep("1200 millis")
      expect((yield* gateway.violations).length).toBe(2)
    }))

  // answered at once, an early heartbeat's ACK and an early Identify's READY and GUILD_CREATEs went
  // out ahead of a delayed Hello, an order no Discord connection has
  it.scopedLive("a heartbeat and an Identify sent before a delayed Hello: recorded, and answered after the Hello", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, heartbeatInterval: "10 seconds", helloDelay: "300 millis" })
      const client = yield* connect(gateway.url + query)
      yield* client.send({ op: 1, d: null })
      yield* client.send(identify())
      yield* client.next(dispatch("GUILD_CREATE"))
      expect(client.frames.map((f) => f.op === 0 ? f.t : f.op)).toEqual([10, 11, "READY", "GUILD_CREATE"])
      expect((yield* gateway.violations).map((v) => v.kind)).toEqual(["PayloadBeforeHello", "PayloadBeforeHello"])
    }))

  // the second op 1, written while the first waited, went unchecked: two ignored, one recorded
  it.scopedLive("two op 1s left unanswered, the second written while the first waited: each is recorded", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, answerWithin: "300 millis", heartbeatInterval: "60 seconds" })
      const { client } = yield* ready(gateway)
      yield* gateway.requestHeartbeat({ connection: 1 })
      yield* Effect.sleep("200 millis")
      yield* gateway.requestHeartbeat({ connection: 1 })
      yield* client.next((f) => f.op === 1)
      const log = yield* gateway.awaitLog((log) => log.violations.length === 2)
      expect(log.violations.map((v) => v.kind)).toEqual(["HeartbeatRequestIgnored", "HeartbeatRequestIgnored"])
    }))

  // as a client that answers op 1s at most a second apart (ours) does, and Discord takes: one beat
  // answers every op 1 before it; the next regular beat was taken for the second's answer, unjudged
  it.scopedLive("two op 1s answered by one heartbeat: nothing recorded, and the next beat is judged as a regular one", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, answerWithin: "1 second", heartbeatInterval: "4 seconds" })
      const { client } = yield* ready(gateway)
      yield* client.send({ op: 1, d: 1 })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
      yield* gateway.requestHeartbeat({ connection: 1 })
      yield* gateway.requestHeartbeat({ connection: 1 })
      yield* client.next((f) => f.op === 1)
      yield* client.next((f) => f.op === 1)
      yield* client.send({ op: 1, d: 1 })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 2)
      yield* Effect.sleep("1200 millis")
      expect(yield* gateway.violations).toEqual([])
      // far too early after the first regular beat
      yield* client.send({ op: 1, d: 1 })
      const log = yield* gateway.awaitLog((log) => log.violations.length === 1)
      expect(log.heartbeats.map((h) => h.requested)).toEqual([false, true, false])
      expect(log.violations.map((v) => v.kind)).toEqual(["HeartbeatTooEarly"])
    }))

  it.scopedLive("a missing heartbeat is recorded, and closes 4009 when asked for that code", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "40 millis", heartbeatSlack: "20 millis", closeOnMissedHeartbeat: 4009 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* expectClose(client, CloseCode.SessionTimedOut)
      expect(yield* kinds(gateway)).toEqual(["HeartbeatMissed"])
    }))

  // Discord: a connection that misses its heartbeat is closed, and the client is forced to Resume;
  // `true` closed with 4009, which ended the session
  it.scopedLive("closeOnMissedHeartbeat: true closes with 4000 and leaves the session resumable; a code no frame carries dies at make", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "400 millis", heartbeatSlack: "50 millis", closeOnMissedHeartbeat: true })
      const { client, ready: readyFrame } = yield* ready(gateway)
      yield* expectClose(client, CloseCode.UnknownError)
      const again = yield* connect(gateway.url + query)
      yield* again.next(hello)
      yield* again.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: readyFrame.s } })
      yield* again.next(dispatch("RESUMED"))
      expect(yield* kinds(gateway)).toEqual(["HeartbeatMissed"])
      const refused = yield* Effect.scoped(gatewayWith({ closeOnMissedHeartbeat: 1004 })).pipe(
        Effect.as("made"),
        Effect.catchAllDefect((defect) => Effect.succeed(String(defect)))
      )
      expect(refused).toContain("RangeError: closeOnMissedHeartbeat: close code 1004 cannot be sent")
    }))

  // a window per connection let a resume in a burst of updates send five more at once
  it.scopedLive("more than 5 presence updates in 20 s of one session are recorded, across a resume too", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client, ready: readyFrame } = yield* ready(gateway)
      const presence = { op: 3, d: { since: null, activities: [], status: "idle", afk: false } }
      yield* Effect.forEach(Array.from({ length: 5 }), () => client.send(presence), { discard: true })
      yield* gateway.awaitLog((log) => log.commands.filter((c) => c.op === 3).length === 5)
      yield* client.close(4900)
      const resumed = yield* connect(`${readyFrame.d.resume_gateway_url}${query}`)
      yield* resumed.next(hello)
      yield* resumed.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: 1 } })
      yield* resumed.next(dispatch("RESUMED"))
      yield* resumed.send(presence)
      yield* gateway.awaitLog((log) => log.commands.filter((c) => c.op === 3).length === 6)
      expect(yield* kinds(gateway)).toEqual(["PresenceRateLimited"])
    }))
}, 20_000)

describe("LocalGateway controls and compression", () => {
  it.scopedLive("closes, drops, reconnects, invalidates and corrupts on demand", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      const a = (yield* ready(gateway, [0, 2])).client
      const b = (yield* ready(gateway, [1, 2])).client
      yield* gateway.reconnect({ shard: 1 })
      yield* b.next((f) => f.op === 7)
      yield* gateway.invalidateSession({ connection: 2 }, true)
      expect((yield* b.next((f) => f.op === 9)).d).toBe(true)
      yield* gateway.sendMalformed({ shard: 0 })
      yield* Effect.promise(() => new Promise((resolve) => a.socket.once("message", resolve)))
      expect(a.malformed).toHaveLength(1)
      yield* gateway.close({ shard: 0 }, 4321, "because")
      expect(yield* a.closed).toEqual({ code: 4321, reason: "because" })
      yield* gateway.drop({ connection: 2 })
      expect((yield* b.closed).code).toBe(1006)
      const log = yield* gateway.log
      expect(log.connections.map((c) => [c.closedBy, c.closeCode])).toEqual([["server", 4321], ["server-drop", undefined]])
      expect(log.violations).toEqual([])
    }))

  // each shard got it, and a fleet's program handled one message once per shard
  it.scopedLive("dispatch to all sends a guild's event to its guild's shard only, a direct message's to shard 0, a test's own type to every shard", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      const clients = [(yield* ready(gateway, [0, 2], Intents.all)).client, (yield* ready(gateway, [1, 2], Intents.all)).client]
      const guildIds = ["81384788765712384", "81384788769906688"]
      expect(guildIds.map((id) => shardOf(id, 2))).toEqual([0, 1])
      for (const [shard, guildId] of guildIds.entries()) {
        expect(yield* gateway.dispatch("all", "TYPING_START", { guild_id: guildId, channel_id: "1", user_id: "2", timestamp: 0 })).toBe(1)
        expect((yield* clients[shard]!.next(dispatch("TYPING_START"))).d.guild_id).toBe(guildId)
      }
      // a guild named by `id`, as GUILD_UPDATE names it; a message with no guild (a DM)
      expect(yield* gateway.dispatch("all", "GUILD_UPDATE", { id: guildIds[1], name: "renamed" })).toBe(1)
      expect((yield* clients[1]!.next(dispatch("GUILD_UPDATE"))).d.id).toBe(guildIds[1])
      expect(yield* gateway.dispatch("all", "TYPING_START", { channel_id: "1", user_id: "2", timestamp: 0 })).toBe(1)
      yield* clients[0]!.next((frame) => frame.t === "TYPING_START" && frame.d.guild_id === undefined)
      // a DM's interaction: a type of Discord's outside the intents' table, to shard 0 too
      expect(yield* gateway.dispatch("all", "INTERACTION_CREATE", { id: "3", type: 2, channel_id: "1" })).toBe(1)
      yield* clients[0]!.next(dispatch("INTERACTION_CREATE"))
      expect(yield* gateway.dispatch("all", "TEST_MARKER", { n: 1 })).toBe(2)
      // a target named is the program's own choice
      expect(yield* gateway.dispatch({ shard: 1 }, "TYPING_START", { guild_id: guildIds[0], channel_id: "1", user_id: "2", timestamp: 0 })).toBe(1)
    }))

  // a typo passed while no connection was open
  it.scopedLive("close with a code no close frame carries dies whether or not a connection is targeted", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      expect(yield* Effect.flip(Effect.sandbox(gateway.close("all", 2000)))).toMatchObject({ _tag: "Die" })
      expect(yield* Effect.flip(Effect.sandbox(gateway.close({ shard: 5 }, 4000, "x".repeat(124))))).toMatchObject({ _tag: "Die" })
      yield* gateway.close("all", 1006)
    }))

  it.scopedLive("stopped ACKs leave heartbeats unanswered until resumed", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* gateway.setAcks("all", false)
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
      yield* gateway.setAcks("all", true)
      yield* gateway.requestHeartbeat("all")
      yield* client.next((f) => f.op === 1)
      yield* client.send({ op: 1, d: null })
      yield* client.next((f) => f.op === 11)
      expect(client.frames.filter((f) => f.op === 11)).toHaveLength(1)
    }))

  for (const compression of ["zlib-stream", "zstd-stream"] as const) {
    it.scopedLive(`${compression}: every frame is binary and decodes in order`, () =>
      Effect.gen(function*() {
        const gateway = yield* gatewayWith({ guilds: 2 })
        const client = yield* connect(`${gateway.url}${query}&compress=${compression}`, compression)
        yield* client.next(hello)
        yield* client.send(identify())
        yield* client.next((f) => f.t === "GUILD_CREATE" && f.s === 3)
        yield* gateway.dispatch("all", "TEST_EVENT", { text: "é".repeat(2000) })
        const event = yield* client.next(dispatch("TEST_EVENT"))
        expect(event.d.text).toBe("é".repeat(2000))
        expect(client.frames.map((f) => f.s)).toEqual([null, 1, 2, 3, 4])
        expect(client.binaryFrames).toBe(5)
      }))
  }

  it.scopedLive("synthetic traffic reaches each shard's session with events of its own guilds", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ shards: 2, guilds: 4, sessionStartLimit: { maxConcurrency: 2 } })
      // every intent: each synthetic type reaches it
      const a = (yield* ready(gateway, [0, 2], Intents.all)).client
      const b = (yield* ready(gateway, [1, 2], Intents.all)).client
      yield* gateway.startTraffic(200)
      yield* a.next((f) => f.op === 0 && (f.s ?? 0) > 20)
      yield* b.next((f) => f.op === 0 && (f.s ?? 0) > 20)
      yield* gateway.stopTraffic
      for (const [client, shard] of [[a, 0], [b, 1]] as const) {
        const events = client.frames.filter((f) => f.op === 0 && f.t !== "READY" && f.t !== "GUILD_CREATE")
        expect(events.every((f) => shardOf(f.d.guild_id, 2) === shard)).toBe(true)
        expect(new Set(events.map((f) => f.t)).size).toBeGreaterThan(1)
      }
      expect(yield* gateway.violations).toEqual([])
    }))

  it.scopedLive("synthetic traffic below one event per second still arrives", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 2 })
      const { client } = yield* ready(gateway)
      yield* client.next(dispatch("GUILD_CREATE"))
      const synthetic = (f: { readonly op: number; readonly t: string | null }) => f.op === 0 && f.t !== "READY" && f.t !== "GUILD_CREATE"
      yield* gateway.startTraffic(0.8)
      // the first is due after 1.25 s; the rest of the bound is slack for a busy machine
      const first = yield* client.next(synthetic).pipe(Effect.timeout("2500 millis"), Effect.option)
      yield* gateway.stopTraffic
      expect(first._tag).toBe("Some")
    }))

  it.live("closing the scope closes the server and every socket", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const gateway = yield* gatewayWith({ guilds: 0 })
        const client = yield* connect(gateway.url + query)
        yield* client.next(hello)
        return { client, url: gateway.apiUrl }
      }))
      expect((yield* outcome.client.closed).code).toBe(1006)
      const refused = yield* Effect.promise(() => fetch(`${outcome.url}/v10/gateway`).then(() => false, () => true))
      expect(refused).toBe(true)
    }))
}, 20_000)

describe("LocalGateway stalls and slow links", () => {
  /** Records when each frame reaches the client (ms since the epoch). */
  const arrivals = (client: RawClient) => {
    const at: Array<number> = []
    client.socket.on("message", () => at.push(Date.now()))
    return at
  }

  for (const compression of ["none", "zlib-stream"] as const) {
    it.scopedLive(`${compression}: a stalled connection sends nothing, then everything held, in order`, () =>
      Effect.gen(function*() {
        const gateway = yield* gatewayWith({ guilds: 0 })
        const compress = compression === "none" ? "" : `&compress=${compression}`
        const client = yield* connect(`${gateway.url}${query}${compress}`, compression)
        yield* client.next(hello)
        yield* client.send(identify())
        yield* client.next(dispatch("READY"))
        const before = client.frames.length
        const arrived = arrivals(client)
        const stalledAt = Date.now()
        yield* gateway.stall("all", "600 millis")
        yield* gateway.requestHeartbeat("all")
        yield* gateway.dispatch("all", "TEST_EVENT", { n: 1 })
        yield* client.send({ op: 1, d: 1 })
        // a beat sent before op 1 could reach the client does not answer it
        const log = yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
        expect(log.heartbeats).toMatchObject([{ requested: false }])
        yield* gateway.dispatch("all", "TEST_EVENT", { n: 2 })
        yield* gateway.reconnect("all")
        yield* client.next((f) => f.op === 7)
        // nothing reached the client before the stall ended; then all five frames, in send order
        expect(arrived).toHaveLength(5)
        for (const at of arrived) expect(at - stalledAt).toBeGreaterThanOrEqual(590)
        expect(client.frames.slice(before).map((f) => [f.op, f.s, f.d?.n])).toEqual([
          [1, null, undefined],
          [0, 2, 1],
          [11, null, undefined],
          [0, 3, 2],
          [7, null, undefined]
        ])
        expect(yield* gateway.violations).toEqual([])
      }))
  }

  // the stall's timer and the missed-heartbeat timer are the connection's; closing clears both
  // (told by the timers made and cleared, not by the whole process's count, which any other
  // timer made meanwhile held up)
  it.scopedLive("closing a stalled connection drops what it held and leaves no timer; a resume replays it", () =>
    Effect.gen(function*() {
      const made = vi.spyOn(globalThis, "setTimeout")
      const cleared = vi.spyOn(globalThis, "clearTimeout")
      yield* Effect.addFinalizer(() => Effect.sync(() => vi.restoreAllMocks()))
      // a missed heartbeat is told 1.5 intervals and the slack after the last beat: 3.25 s here
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "1500 millis", heartbeatSlack: "1 second" })
      const { client, ready: readyFrame } = yield* ready(gateway)
      yield* gateway.stall("all", "1 minute")
      yield* gateway.dispatch("all", "TEST_EVENT", { n: 1 })
      const connectionTimers = made.mock.calls.flatMap(([, ms], i) => ms === 60_000 || ms === 3_250 ? [made.mock.results[i]!.value] : [])
      expect(connectionTimers).toHaveLength(2)
      yield* gateway.close("all", 4000)
      expect((yield* client.closed).code).toBe(4000)
      expect(client.frames.filter(dispatch("TEST_EVENT"))).toEqual([])
      const clearedTimers = new Set(cleared.mock.calls.map(([timer]) => timer))
      expect(connectionTimers.filter((timer) => !clearedTimers.has(timer))).toEqual([])
      const resumed = yield* connect(gateway.url + query)
      yield* resumed.next(hello)
      yield* resumed.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: 1 } })
      yield* resumed.next(dispatch("RESUMED"))
      expect(resumed.frames.filter((f) => f.op === 0).map((f) => [f.s, f.t])).toEqual([[2, "TEST_EVENT"], [3, "RESUMED"]])
    }))

  it.scopedLive("a slow link delays each frame and keeps their order", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client } = yield* ready(gateway)
      const arrived = arrivals(client)
      const sentAt = Date.now()
      yield* gateway.slow("all", "200 millis", "5 seconds")
      for (const n of [1, 2, 3]) yield* gateway.dispatch("all", "TEST_EVENT", { n })
      yield* client.next((f) => f.t === "TEST_EVENT" && f.d.n === 3)
      expect(arrived).toHaveLength(3)
      for (const at of arrived) expect(at - sentAt).toBeGreaterThanOrEqual(190)
      expect(client.frames.filter(dispatch("TEST_EVENT")).map((f) => [f.s, f.d.n])).toEqual([[2, 1], [3, 2], [4, 3]])
    }))
}, 20_000)

// a heartbeat whose extra string holds a UTF-8 sequence cut in the middle (E2 82 is the start of "€")
const brokenUtf8 = Buffer.concat([Buffer.from("{\"op\":1,\"d\":null,\"x\":\""), Buffer.from([0xe2, 0x82]), Buffer.from("\"}")])

describe("LocalGateway: payloads that are not valid UTF-8", () => {
  it.scopedLive("a text frame with invalid UTF-8 is recorded as a breach, the gateway closing it (it was logged as a connection lost, no rule broken)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ heartbeatInterval: "10 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      client.socket.send(brokenUtf8, { binary: false })
      const closed = yield* client.closed
      // the gateway side ended it with a close frame (ws: 1007)
      expect(closed.code).not.toBe(1006)
      const log = yield* gateway.awaitLog((l) => l.connections[0]?.closedAt !== undefined)
      expect(log.connections[0]!.closedBy).toBe("server")
      expect(log.violations.map((v) => v.kind)).toContain("DecodeError")
    }))

  it.scopedLive("a binary JSON frame with invalid UTF-8 is a decode error, 4002 (it was read with U+FFFD and answered)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ heartbeatInterval: "10 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      client.socket.send(brokenUtf8, { binary: true })
      const outcome = yield* Effect.raceFirst(
        client.closed.pipe(Effect.map((c) => `closed ${c.code}`)),
        client.next((f) => f.op === 11).pipe(Effect.as("acked"))
      )
      expect(outcome).toBe("closed 4002")
      expect((yield* gateway.violations).map((v) => v.kind)).toContain("DecodeError")
    }))

  it.scopedLive("a bad text frame that crosses the gateway's close is no breach of its own, as no frame after the close is read (it was recorded as a second one)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ heartbeatInterval: "10 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      // an unknown opcode: the gateway closes with 4001; the bad frame goes out in the same tick,
      // before the client could read the close
      client.socket.send(JSON.stringify({ op: 99, d: null }))
      client.socket.send(brokenUtf8, { binary: false })
      const closed = yield* client.closed
      expect(closed.code).toBe(4001)
      const log = yield* gateway.awaitLog((l) => l.connections[0]?.closedAt !== undefined)
      yield* Effect.sleep("50 millis")
      const violations = yield* gateway.violations
      expect(log.connections[0]).toMatchObject({ closedBy: "server", closeCode: 4001 })
      expect(violations.map((v) => v.kind)).toEqual(["UnknownOpcode"])
    }))
})
