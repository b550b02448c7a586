/**
 * The ETF encoding through a whole session, compared with JSON, and opt-in
 * validation of a session's events. In-memory transport, TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Etf from "../../src/codec/Etf.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as Session from "../../src/session/Session.ts"
import * as Validated from "../../src/stream/Validated.ts"
import type { OutgoingFrame } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { dispatch, options, TestLayer } from "../session/harness.ts"

type Enc = "json" | "etf"

const decodeOut = (frame: OutgoingFrame, encoding: Enc): { op: number; d: unknown } => {
  if (encoding === "json") {
    expect(typeof frame).toBe("string")
    return JSON.parse(frame as string)
  }
  expect(frame).toBeInstanceOf(Uint8Array)
  const value = Etf.decodeTerm(frame as Uint8Array, { rejectAtomKeys: true })
  if (value instanceof Error) throw value
  return value as { op: number; d: unknown }
}

/** The client's next payload that is no heartbeat (heartbeats are answered with an ACK). */
const nextCommand = (peer: MemoryTransport.MemoryPeer, encoding: Enc): Effect.Effect<{ op: number; d: unknown }, unknown> =>
  Effect.flatMap(peer.received, (frame) => {
    const payload = decodeOut(frame, encoding)
    return payload.op === 1 ? Effect.zipRight(send(peer, encoding, { op: 11 }), nextCommand(peer, encoding)) : Effect.succeed(payload)
  })

const send = (peer: MemoryTransport.MemoryPeer, encoding: Enc, payload: unknown) =>
  encoding === "json" ? peer.sendJson(payload) : peer.send(Etf.encodeWith(payload, Etf.gatewayStyle))

const ready = (s: number) =>
  dispatch(s, "READY", {
    v: 10,
    session_id: "abcdef0123456789",
    resume_gateway_url: "ws://resume.test",
    user: { id: "1300000000000000001", username: "bot", bot: true, flags: 0 },
    application: { id: "1300000000000000002", flags: 8_650_752 },
    guilds: [{ id: "80351110224678913", unavailable: true }],
    shard: [0, 1],
    _trace: ["[\"gateway-prd\",{\"micros\":123}]"]
  })

/** What ETF makes tricky: numbers of every size and sign, floats, nulls, booleans, unicode, empty containers. */
const richMessage = {
  id: "1300000000000000003",
  channel_id: "80351110224678912",
  guild_id: "80351110224678913",
  content: "héllo 👋 \u0000 \u2028 ☃",
  author: { id: "9007199254740993", username: "someone", avatar: null, bot: false, public_flags: 0 },
  mentions: [],
  embeds: [{ color: 16_777_215, fields: [] }],
  reactions: [{ count: 300, me: true, emoji: { id: null, name: "👍" } }],
  member: {},
  position: -5,
  big_negative: -2_147_483_649,
  timestamp_ms: 1_700_000_000_123,
  score: 0.75,
  negative_float: -1.5e-7,
  empty: "",
  nested: [[[]], [{}], [1, [2, [3]]]],
  flags: 0,
  tts: false,
  pinned: true,
  edited_timestamp: null
}

const messageEvents = [
  dispatch(2, "MESSAGE_CREATE", richMessage),
  dispatch(3, "GUILD_MEMBER_UPDATE", { guild_id: "80351110224678913", roles: [], user: { id: "80351110224678914" }, nick: null }),
  dispatch(4, "TYPING_START", { channel_id: "80351110224678912", user_id: "80351110224678914", timestamp: 1_700_000_000 })
]

/** One scenario run against a scripted gateway in `encoding`: what the program got, what the gateway got. */
const scenario = (encoding: Enc) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const session = yield* Session.make(options({
      encoding,
      intents: 513 | 2 | 256,
      shard: [0, 1],
      presence: { since: 1_700_000_000_000, activities: [{ name: "é 👋", type: 0, state: null }], status: "idle", afk: true }
    }))
    const events: Array<GatewayEvent> = []
    yield* Effect.fork(Stream.runForEach(session.events, (event) => Effect.sync(() => void events.push(event))))
    const peer = yield* gateway.accept
    yield* send(peer, encoding, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
    const sent: Array<unknown> = [yield* nextCommand(peer, encoding)]
    yield* send(peer, encoding, ready(1))
    for (const event of messageEvents) yield* send(peer, encoding, event)

    yield* session.updatePresence({ since: null, activities: [], status: "online", afk: false })
    sent.push(yield* nextCommand(peer, encoding))
    yield* session.updateVoiceState({ guild_id: "80351110224678913", channel_id: null, self_mute: false, self_deaf: true })
    sent.push(yield* nextCommand(peer, encoding))
    yield* session.updateVoiceState({ guild_id: "80351110224678913", channel_id: "80351110224678912", self_mute: true, self_deaf: false })
    sent.push(yield* nextCommand(peer, encoding))
    yield* session.requestSoundboardSounds(["80351110224678913", "18446744073709551615"])
    sent.push(yield* nextCommand(peer, encoding))
    const members = yield* Effect.fork(session.requestGuildMembers({ guild_id: "80351110224678913", user_ids: ["80351110224678914"], presences: true }))
    const request = yield* nextCommand(peer, encoding)
    sent.push({ ...request, d: { ...(request.d as object), nonce: "<nonce>" } })
    const nonce = (request.d as { nonce: string }).nonce
    yield* send(peer, encoding, dispatch(5, "GUILD_MEMBERS_CHUNK", {
      guild_id: "80351110224678913",
      members: [{ user: { id: "80351110224678914", username: "u" }, roles: [], nick: null }],
      chunk_index: 0,
      chunk_count: 1,
      not_found: [],
      presences: [],
      nonce
    }))
    const got = yield* Fiber.join(members)
    const memberRequest = yield* Effect.fork(session.requestGuildMembers({ guild_id: "80351110224678913", query: "", limit: 0 }))
    const second = yield* nextCommand(peer, encoding)
    sent.push({ ...second, d: { ...(second.d as object), nonce: "<nonce>" } })
    yield* send(peer, encoding, dispatch(6, "RATE_LIMITED", {
      opcode: 8,
      retry_after: 27.5,
      meta: { guild_id: "80351110224678913", nonce: (second.d as { nonce: string }).nonce }
    }))
    const limited = yield* Effect.flip(Fiber.join(memberRequest))
    yield* TestClock.adjust("1 millis")
    const snapshot = yield* session.snapshot
    // the nonces are random per session: masked
    const masked = (d: unknown) => JSON.parse(JSON.stringify(d).replace(/"nonce":"[^"]*"/g, "\"nonce\":\"<nonce>\""))
    return { events: events.map((e) => ({ t: e.t, s: e.sequence, d: e.t === "MESSAGE_CREATE" ? e.d : masked(e.d) })), sent, got, limited: { ...limited }, reconnects: snapshot.reconnects }
  }).pipe(Effect.provide(TestLayer))

describe("a session over ETF gets and sends exactly what one over JSON does", () => {
  it.scoped("Identify, presence, voice state (null channel), soundboard, member requests, READY and dispatches: equal over both", () =>
    Effect.gen(function*() {
      const json = yield* scenario("json")
      const etf = yield* scenario("etf")
      expect(json.reconnects).toBe(0)
      expect(etf.reconnects).toBe(0)
      expect(etf.sent).toEqual(json.sent)
      expect(etf.events).toEqual(json.events)
      expect(etf.got).toEqual(json.got)
      expect(etf.limited).toEqual(json.limited)
      // what JSON carries: snowflakes as strings, the token, the shard pair and the presence
      const identify = json.sent[0] as { op: number; d: Record<string, unknown> }
      expect(identify.op).toBe(2)
      expect(identify.d["shard"]).toEqual([0, 1])
      expect(identify.d["token"]).toBe(Redacted.value(options().token))
    }))
})

const ackingReady = (peer: MemoryTransport.MemoryPeer) =>
  Effect.gen(function*() {
    yield* send(peer, "etf", { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
    const identify = yield* nextCommand(peer, "etf")
    expect(identify.op).toBe(2)
    yield* send(peer, "etf", ready(1))
  })

describe("malformed ETF from the gateway", () => {
  const bad: ReadonlyArray<[string, Uint8Array]> = [
    ["a truncated map", Etf.encodeWith({ op: 0, s: 2, t: "MESSAGE_CREATE", d: { id: "1" } }, Etf.gatewayStyle).subarray(0, 20)],
    ["an improper list", new Uint8Array([131, 116, 0, 0, 0, 1, 100, 0, 2, 111, 112, 108, 0, 0, 0, 1, 97, 1, 97, 2])],
    ["no version byte", new Uint8Array([116, 0, 0, 0, 0])],
    ["an atom running past the end", new Uint8Array([131, 119, 200, 65])],
    ["a list longer than the message", new Uint8Array([131, 108, 255, 255, 255, 255, 106])]
  ]
  for (const [what, frame] of bad) {
    it.scoped(`${what}: the connection ends with DecodeFailed (kind Etf or Envelope), the session resumes and gets the next events`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(options({ encoding: "etf" }))
        const events: Array<GatewayEvent> = []
        yield* Effect.fork(Stream.runForEach(session.events, (event) => Effect.sync(() => void events.push(event))))
        const reasons: Array<string> = []
        yield* Effect.fork(Stream.runForEach(session.transitions, (t) => Effect.sync(() => void reasons.push(JSON.stringify(t.reason)))))
        const first = yield* gateway.accept
        yield* ackingReady(first)
        yield* send(first, "etf", dispatch(2, "MESSAGE_CREATE", { id: "1300000000000000003", content: "a" }))
        yield* first.send(frame)
        const closed = yield* first.closed
        expect(closed.by).toBe("client")
        yield* TestClock.adjust("10 seconds")
        const second = yield* gateway.accept
        yield* send(second, "etf", { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
        const resume = yield* nextCommand(second, "etf")
        expect(resume).toMatchObject({ op: 6, d: { session_id: "abcdef0123456789", seq: 2 } })
        yield* send(second, "etf", dispatch(3, "MESSAGE_CREATE", { id: "1300000000000000004", content: "b" }))
        yield* send(second, "etf", dispatch(4, "RESUMED", null))
        yield* TestClock.adjust("1 millis")
        expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4])
        expect(reasons.some((r) => r.includes("DecodeFailed") && (r.includes("\"Etf\"") || r.includes("\"Envelope\"")))).toBe(true)
        expect((yield* session.state)._tag).toBe("Connected")
      }).pipe(Effect.provide(TestLayer)))
  }
})

describe("Validated on a session's events", () => {
  const MessageCreate = Schema.Struct({ id: Schema.BigInt, content: Schema.String })
  for (const encoding of ["json", "etf"] as const) {
    it.scoped(`${encoding}: a failing schema drops that event only: typed InvalidEvent, the events after it delivered, no reconnect`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(options({ encoding }))
        const invalid: Array<Validated.InvalidEvent> = []
        const got: Array<[number, string, unknown]> = []
        yield* Effect.fork(Stream.runForEach(
          session.events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }, {
            onInvalid: (bad) => Effect.sync(() => void invalid.push(bad))
          })),
          (event) => Effect.sync(() => void got.push([event.sequence, event.t, event.t === "MESSAGE_CREATE" ? event.d.id : null]))
        ))
        const peer = yield* gateway.accept
        yield* send(peer, encoding, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
        yield* nextCommand(peer, encoding)
        yield* send(peer, encoding, ready(1))
        yield* send(peer, encoding, dispatch(2, "MESSAGE_CREATE", { id: "1300000000000000003", content: "ok" }))
        yield* send(peer, encoding, dispatch(3, "MESSAGE_CREATE", { id: "1300000000000000004", content: 5 }))
        yield* send(peer, encoding, dispatch(4, "MESSAGE_CREATE", { id: "not a number", content: "x" }))
        yield* send(peer, encoding, dispatch(5, "TYPING_START", { channel_id: "80351110224678912" }))
        yield* send(peer, encoding, dispatch(6, "MESSAGE_CREATE", { id: "1300000000000000006", content: "ok" }))
        yield* TestClock.adjust("1 millis")
        expect(got).toEqual([
          [1, "READY", null],
          [2, "MESSAGE_CREATE", 1300000000000000003n],
          [5, "TYPING_START", null],
          [6, "MESSAGE_CREATE", 1300000000000000006n]
        ])
        expect(invalid.map((bad) => [bad._tag, bad.t, bad.sequence])).toEqual([
          ["InvalidEvent", "MESSAGE_CREATE", 3],
          ["InvalidEvent", "MESSAGE_CREATE", 4]
        ])
        expect((yield* session.snapshot).reconnects).toBe(0)
        expect(yield* peer.isOpen).toBe(true)
        expect((yield* gateway.attempts).length).toBe(1)
      }).pipe(Effect.provide(TestLayer)))
  }
})

describe("Validated stopping at a bad event (onInvalid: Effect.fail)", () => {
  const MessageCreate = Schema.Struct({ id: Schema.BigInt, content: Schema.String })
  for (const encoding of ["json", "etf"] as const) {
    it.scoped(`${encoding}: the stream fails with the typed InvalidEvent; the session stays connected and a new run gets the later events`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(options({ encoding }))
        const got: Array<number> = []
        const run = yield* Effect.fork(Stream.runForEach(
          session.events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }, { onInvalid: Effect.fail })),
          (event) => Effect.sync(() => void got.push(event.sequence))
        ).pipe(Effect.either))
        const peer = yield* gateway.accept
        yield* send(peer, encoding, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
        yield* nextCommand(peer, encoding)
        yield* send(peer, encoding, ready(1))
        yield* TestClock.adjust("1 millis")
        yield* send(peer, encoding, dispatch(2, "MESSAGE_CREATE", { id: "1300000000000000003", content: 5 }))
        const result = yield* Fiber.join(run)
        expect(result._tag).toBe("Left")
        expect(result._tag === "Left" && result.left._tag).toBe("InvalidEvent")
        expect(got).toEqual([1])
        yield* send(peer, encoding, dispatch(3, "MESSAGE_CREATE", { id: "1300000000000000004", content: "ok" }))
        const next = yield* Stream.runHead(session.events)
        expect(next._tag === "Some" && next.value.sequence).toBe(3)
        expect((yield* session.snapshot).reconnects).toBe(0)
        expect(yield* peer.isOpen).toBe(true)
      }).pipe(Effect.provide(TestLayer)))
  }
})
