import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Compression } from "../../../src/codec/Compression.ts"
import * as Etf from "../../../src/codec/Etf.ts"
import type { GatewayEvent } from "../../../src/protocol/Event.ts"
import * as Session from "../../../src/session/Session.ts"
import * as Log from "../../../src/testing/Log.ts"
import { aGuild, awaitLog, ClientLayer, consume, sessionOptions, startGateway, uncaughtExceptions } from "./support.ts"

const compressions: ReadonlyArray<Compression> = ["none", "zlib-stream", "zstd-stream"]

/** A MESSAGE_CREATE with what ETF makes tricky: snowflakes past 2^53, small digit strings, byte lists, ms timestamps, floats. */
const message = (i: number) => ({
  id: `${1_300_000_000_000_000_000n + BigInt(i)}`,
  channel_id: "80351110224678912",
  guild_id: "80351110224678913",
  nonce: "123",
  content: `héllo ${i} 👋`,
  author: { id: "9007199254740993", username: "someone", discriminator: "0", avatar: null, bot: false, public_flags: 0 },
  mentions: [],
  mention_roles: ["80351110224678914"],
  attachments: [],
  embeds: [{ type: "rich", color: 16_777_215, fields: [{ name: "a", value: "b", inline: true }] }],
  components: [{ type: 1, components: [] }],
  flags: 0,
  tts: false,
  position: [0, 1, 255],
  activity: { type: 1, party_id: "spotify:1", timestamps: { start: 1_700_000_000_123 } },
  score: 0.75,
  edited_timestamp: null,
  timestamp: "2024-01-01T00:00:00.000000+00:00"
})

/** The event as a comparable value: READY's session id differs per session and is left out. */
const comparable = (event: GatewayEvent) =>
  event.t === "READY" ? { t: event.t, sequence: event.sequence, d: { ...event.d, session_id: "" } } : { t: event.t, sequence: event.sequence, d: event.d }

describe("Session over ETF against the local gateway", () => {
  for (const compression of compressions) {
    it.scopedLive(`${compression}: identifies, gets READY and the same events a JSON session gets, sends commands, resumes`, () =>
      Effect.gen(function*() {
        const gateway = yield* startGateway({ guilds: 2 })
        const json = yield* Session.make(sessionOptions(gateway, { compression }))
        const jsonEvents = yield* consume(json)
        yield* awaitLog(gateway, "the JSON session's READY", (log) => Log.sessionIds(log).length === 1)
        const etf = yield* Session.make(sessionOptions(gateway, { compression, encoding: "etf" }))
        const etfEvents = yield* consume(etf)
        yield* awaitLog(gateway, "the ETF session's READY", (log) => Log.sessionIds(log).length === 2)

        for (let i = 0; i < 5; i++) yield* gateway.dispatch("all", "MESSAGE_CREATE", message(i))
        const last = (events: ReadonlyArray<GatewayEvent>) =>
          events.filter((event) => event.t === "MESSAGE_CREATE").length === 5
        yield* jsonEvents.until("five messages over JSON", last)
        yield* etfEvents.until("five messages over ETF", last)

        expect(etfEvents.events.map((event) => event.t)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE", ...Array(5).fill("MESSAGE_CREATE")])
        expect(etfEvents.events.map(comparable)).toEqual(jsonEvents.events.map(comparable))
        const first = etfEvents.events.find((event) => event.t === "MESSAGE_CREATE")
        expect(first?.t === "MESSAGE_CREATE" && first.d).toEqual(message(0))

        // A user command sent as ETF (binary keys, else the gateway would close 4002).
        const members = yield* etf.requestGuildMembers({ guild_id: gateway.world.guilds[0]!.id, query: "", limit: 5 })
        const sameOverJson = yield* json.requestGuildMembers({ guild_id: gateway.world.guilds[0]!.id, query: "", limit: 5 })
        expect(members.members).toHaveLength(5)
        expect(members).toEqual(sameOverJson)

        // Drop the ETF connection; an event sent while it is away is replayed after the resume.
        const before = yield* gateway.log
        const etfConnection = before.connections.find((record) => record.query["encoding"] === "etf")!
        expect(etfConnection.query).toMatchObject({ v: "10", encoding: "etf" })
        // its heartbeats, in ETF too (the first comes up to one interval after Hello, at random)
        yield* awaitLog(gateway, "a heartbeat over ETF", (log) => log.heartbeats.some((beat) => beat.connection === etfConnection.id))
        yield* gateway.drop({ connection: etfConnection.id })
        yield* gateway.dispatch("all", "MESSAGE_CREATE", message(5))
        yield* awaitLog(gateway, "the ETF session's resume", (log) => log.resumes.length === 1)
        yield* etfEvents.until("RESUMED and the replayed message", (events) =>
          events.some((event) => event.t === "RESUMED") &&
          events.some((event) => event.t === "MESSAGE_CREATE" && event.d.id === message(5).id))
        yield* jsonEvents.until("the sixth message over JSON", (events) => events.filter((event) => event.t === "MESSAGE_CREATE").length === 6)
        const replayed = etfEvents.events.find((event) => event.t === "MESSAGE_CREATE" && event.d.id === message(5).id)
        expect(replayed?.d).toEqual(message(5))

        const log = yield* gateway.log
        expect(log.resumes.map((resume) => resume.outcome)).toEqual(["resumed"])
        expect(log.violations).toEqual([])
      }).pipe(Effect.provide(ClientLayer)))
  }

  it.scopedLive("an atom-keyed payload from a client closes the connection with 4002, as Discord does", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway()
      const atomKeyed: typeof Etf.encoding = { ...Etf.encoding, encode: (payload) => Etf.encodeWith(payload, { atomKeys: true }) }
      yield* Session.make(sessionOptions(gateway, { encoding: atomKeyed }))
      const log = yield* awaitLog(gateway, "a 4002 close", (log) => log.connections.some((record) => record.closeCode === 4002))
      expect(log.violations[0]).toMatchObject({ kind: "DecodeError", closeCode: 4002 })
      expect(log.violations[0]!.detail).toContain("atom")
    }).pipe(Effect.provide(ClientLayer)))

  // The gateway writes ETF at any depth, as Discord's erlpack does; the client refuses what is
  // nested deeper than Etf.maxDepth. Its writer refused it: `dispatch` died with the sequence
  // number taken, the sessions after the ETF one never got the event, and the Resume's replay of
  // it threw out of the socket's callback (an uncaught exception, the process ended).
  it.scopedLive("data nested 600 deep, JSON's to hold: sent to an ETF session, which refuses it, resumes and identifies anew; a JSON session beside gets it", () =>
    Effect.gen(function*() {
      const uncaught = yield* uncaughtExceptions
      const gateway = yield* startGateway({ guilds: 1 })
      const etf = yield* consume(yield* Session.make(sessionOptions(gateway, { encoding: "etf" })))
      yield* awaitLog(gateway, "the ETF session's READY", (log) => Log.sessionIds(log).length === 1)
      const json = yield* consume(yield* Session.make(sessionOptions(gateway)))
      yield* awaitLog(gateway, "the JSON session's READY", (log) => Log.sessionIds(log).length === 2)
      let deep: unknown = "x"
      for (let i = 0; i < 600; i++) deep = [deep]
      const content = (events: ReadonlyArray<GatewayEvent>) => events.flatMap((event) => event.t === "MESSAGE_CREATE" ? [event.d.content] : [])
      const sent = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", { guild_id: aGuild, channel_id: aGuild, id: "1300000000000000003", content: "deep", deep }))
      expect(Exit.isSuccess(sent)).toBe(true)
      // three Resumes met it again: a new session
      yield* etf.until("a second READY over ETF", (events) => events.filter((event) => event.t === "READY").length === 2)
      const log = yield* gateway.log
      expect(log.resumes.length).toBe(3)
      yield* gateway.dispatch("all", "MESSAGE_CREATE", { guild_id: aGuild, channel_id: aGuild, id: "1300000000000000004", content: "after" })
      yield* etf.until("the later message over ETF", (events) => content(events).includes("after"))
      yield* json.until("the later message over JSON", (events) => content(events).includes("after"))
      expect([content(etf.events), content(json.events), uncaught]).toEqual([["after"], ["deep", "after"], []])
    }).pipe(Effect.provide(ClientLayer)))

  // data deep enough to overflow the gateway's ETF writer (about 3200 maps in a socket's callback,
  // JSON's own limit about 4100) took a sequence number and was never sent: each Resume's replay
  // was closed 1011, ten of them before the session gave up
  it.scopedLive("data nested more than 1024 deep is a defect of the dispatch, which takes no sequence number", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ guilds: 1 })
      const etf = yield* consume(yield* Session.make(sessionOptions(gateway, { encoding: "etf" })))
      yield* awaitLog(gateway, "the ETF session's READY", (log) => Log.sessionIds(log).length === 1)
      const nested = (depth: number) => {
        let deep: unknown = "x"
        for (let i = 0; i < depth; i++) deep = { a: deep }
        return deep
      }
      const tooDeep = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", { guild_id: aGuild, channel_id: aGuild, id: "1300000000000000003", content: "deep", deep: nested(3500) }))
      expect(Exit.isFailure(tooDeep) && String(Cause.squash(tooDeep.cause))).toContain("nested more than 1024 deep")
      // the most it takes: the client refuses it (a DecodeError), resumes, and identifies anew
      yield* gateway.dispatch("all", "MESSAGE_CREATE", { guild_id: aGuild, channel_id: aGuild, id: "1300000000000000004", content: "deep", deep: nested(1022) })
      yield* etf.until("a second READY over ETF", (events) => events.filter((event) => event.t === "READY").length === 2)
      const log = yield* gateway.log
      expect([log.resumes.length, log.connections.filter((connection) => connection.closeCode === 1011).length]).toEqual([3, 0])
    }).pipe(Effect.provide(ClientLayer)))
})
