/**
 * The presence of a session that resumes a point: a Resume carries none (the gateway session keeps
 * the one it had), so a session with a `presence` option shows it once its Resume is answered,
 * unless the point says it shows it already; `disconnect`'s point says what it shows.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type * as Commands from "../../src/protocol/Commands.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import type { MemoryPeer } from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, dispatch, options, ready, Session, sentPayloads, settle, TestLayer } from "./harness.ts"

const presence = (status: Commands.Presence["status"], name = "the gateway"): Commands.Presence => ({
  since: null,
  activities: [{ name, type: 3 }],
  status,
  afk: false
})
const point = (shows?: Commands.Presence | null): SessionOptions.ResumePoint => ({
  sessionId: "session-1",
  sequence: 4,
  resumeGatewayUrl: "ws://resume.test/",
  shard: [0, 1],
  ...(shows === undefined ? {} : { presence: shows })
})

// the presences the client sent on `peer` since the last look (op 3's `d`)
const presencesSent = (peer: MemoryPeer) =>
  Effect.map(sentPayloads(peer), (payloads) => payloads.filter((payload) => payload.op === 3).map((payload) => payload.d))

// a session made with `given`, whose first connection resumes: the peer, once it answered RESUMED
const resumed = (given: Partial<Parameters<typeof options>[0]>) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options(given))
    const { first, peer } = yield* acceptAndHello(60_000)
    expect(first.op).toBe(6)
    yield* settle
    const beforeAnswer = yield* presencesSent(peer)
    yield* peer.sendJson(dispatch(5, "RESUMED", {}))
    yield* settle
    return { session, peer, beforeAnswer }
  })

describe("the presence of a resumed session", () => {
  it.scoped("a point saying another presence than the option: the option goes out once the Resume is answered, not before", () =>
    Effect.gen(function*() {
      const { beforeAnswer, peer } = yield* resumed({ presence: presence("dnd"), resume: point(presence("online")) })
      expect(beforeAnswer).toEqual([])
      expect(yield* presencesSent(peer)).toEqual([presence("dnd")])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a point saying none (Discord's default) or not saying (an older one, or pointAfter's): the option goes out", () =>
    Effect.gen(function*() {
      for (const said of [null, undefined]) {
        const { peer, session } = yield* resumed({ presence: presence("idle"), resume: point(said) })
        expect(yield* presencesSent(peer)).toEqual([presence("idle")])
        yield* session.end()
      }
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a point saying the option's presence (stored as JSON and read back): nothing goes out", () =>
    Effect.gen(function*() {
      const stored = JSON.parse(JSON.stringify(point(presence("idle")))) as SessionOptions.ResumePoint
      const { peer } = yield* resumed({ presence: presence("idle"), resume: stored })
      yield* TestClock.adjust("30 seconds")
      expect(yield* presencesSent(peer)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("without a presence option nothing goes out: the session keeps what its gateway session shows, and its point says it", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* resumed({ resume: point(presence("dnd")) })
      expect(yield* presencesSent(peer)).toEqual([])
      const handed = yield* session.disconnect("1 second")
      expect(Option.map(handed, (p) => p.presence)).toEqual(Option.some(presence("dnd")))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a program's update made before the Resume is answered wins: only it goes out, and the point says it", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ presence: presence("dnd"), resume: point(presence("online")) }))
      const update = yield* Effect.fork(session.updatePresence(presence("idle")))
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(dispatch(5, "RESUMED", {}))
      yield* settle
      yield* Fiber.join(update)
      yield* TestClock.adjust("30 seconds")
      expect(yield* presencesSent(peer)).toEqual([presence("idle")])
      const handed = yield* session.disconnect("1 second")
      expect(Option.map(handed, (p) => p.presence)).toEqual(Option.some(presence("idle")))
    }).pipe(Effect.provide(TestLayer)))

  // the option's show was dropped as moot while the program's update waited behind it; that update,
  // carried to the next connection and given up on there, left the old process's presence shown
  it.scoped("a program's update given up on after a dropped connection carried it over: the option goes out on the next connection", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ presence: presence("dnd"), resume: point(presence("online")) }))
      const update = yield* Effect.fork(session.updatePresence(presence("idle")))
      const first = yield* acceptAndHello(60_000)
      yield* first.peer.sendJson(dispatch(5, "RESUMED", {}))
      yield* first.peer.drop
      yield* settle
      expect(yield* presencesSent(first.peer)).toEqual([])
      yield* Fiber.interrupt(update)
      yield* TestClock.adjust("10 seconds")
      const second = yield* acceptAndHello(60_000)
      expect(second.first.op).toBe(6)
      yield* second.peer.sendJson(dispatch(6, "RESUMED", {}))
      yield* settle
      yield* TestClock.adjust("30 seconds")
      expect(yield* presencesSent(second.peer)).toEqual([presence("dnd")])
      const handed = yield* session.disconnect("1 second")
      expect(Option.map(handed, (p) => p.presence)).toEqual(Option.some(presence("dnd")))
    }).pipe(Effect.provide(TestLayer)))

  // the point's own object was kept: a program that changed it afterwards changed the point handed back
  it.scoped("disconnect's point says a copy of the loaded point's presence, read once", () =>
    Effect.gen(function*() {
      const loaded = presence("idle")
      const session = yield* Session.make(options({ resume: point(loaded) }))
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(dispatch(5, "RESUMED", {}))
      yield* settle
      ;(loaded as { status: string }).status = "dnd"
      const handed = yield* session.disconnect("1 second")
      expect(Option.map(handed, (p) => p.presence)).toEqual(Option.some(presence("idle")))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a point saying what no command could carry (a number, a string, too large, a part of one) says nothing: the option goes out, and without one nothing is handed on", () =>
    Effect.gen(function*() {
      const tooLarge = { ...presence("online"), activities: Array.from({ length: 5_000 }, (_, i) => ({ name: `a${i}`, type: 0 })) }
      for (const said of [42, "online", tooLarge, { status: "online" }] as ReadonlyArray<unknown>) {
        const resume = { ...point(), presence: said } as SessionOptions.ResumePoint
        const { peer, session } = yield* resumed({ presence: presence("dnd"), resume })
        expect(yield* presencesSent(peer)).toEqual([presence("dnd")])
        expect(Option.map(yield* session.disconnect("1 second"), (p) => p.presence)).toEqual(Option.some(presence("dnd")))
      }
      const { session } = yield* resumed({ resume: { ...point(), presence: 42 } as unknown as SessionOptions.ResumePoint })
      expect(Option.map(yield* session.disconnect("1 second"), (p) => "presence" in p)).toEqual(Option.some(false))
    }).pipe(Effect.provide(TestLayer)))

  // a point of another encoding, handed back unresumed, gave back the caller's own presence object
  it.scoped("a point handed back unresumed (saved over another encoding) says a copy of its presence", () =>
    Effect.gen(function*() {
      const loaded = presence("idle")
      const session = yield* Session.make(options({ resume: { ...point(loaded), encoding: "etf" } }))
      const handed = Option.getOrThrow(yield* session.disconnect("1 second"))
      expect(handed.presence).toEqual(loaded)
      expect(handed.presence).not.toBe(loaded)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a session stopped before its Resume is answered sends nothing, and its point says the point's presence still", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ presence: presence("dnd"), resume: point(presence("online")) }))
      const { first, peer } = yield* acceptAndHello(60_000)
      expect(first.op).toBe(6)
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("2 seconds")
      expect(Option.map(yield* Fiber.join(stopping), (p) => p.presence)).toEqual(Option.some(presence("online")))
      expect(yield* presencesSent(peer)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a Resume refused: the Identify carries the option, and no op 3 follows", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ presence: presence("dnd"), resume: point(presence("online")) }))
      const first = yield* acceptAndHello(60_000)
      expect(first.first.op).toBe(6)
      yield* first.peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* TestClock.adjust("6 seconds")
      const second = yield* acceptAndHello(60_000)
      expect(second.first.op).toBe(2)
      expect(second.first.d.presence).toMatchObject({ status: "dnd" })
      yield* second.peer.sendJson(ready(1, "session-2"))
      yield* settle
      yield* TestClock.adjust("30 seconds")
      expect([...(yield* presencesSent(first.peer)), ...(yield* presencesSent(second.peer))]).toEqual([])
      const handed = yield* session.disconnect("1 second")
      expect(Option.map(handed, (p) => [p.sessionId, p.presence])).toEqual(Option.some(["session-2", presence("dnd")]))
    }).pipe(Effect.provide(TestLayer)))

  for (const updates of [[], [presence("idle"), presence("dnd", "other")]]) {
    it.scoped(`disconnect's point says the presence shown: ${updates.length === 0 ? "none after an Identify without one" : "the last update that went out"}`, () =>
      Effect.gen(function*() {
        const session = yield* Session.make(options())
        const { peer } = yield* acceptAndHello(60_000)
        yield* peer.sendJson(ready())
        yield* settle
        yield* Effect.forEach(updates, (update) => session.updatePresence(update))
        const handed = yield* session.disconnect("1 second")
        expect(Option.map(handed, (p) => p.presence)).toEqual(Option.some(updates.at(-1) ?? null))
      }).pipe(Effect.provide(TestLayer)), 5_000)
  }

  it("pointAfter's points never say the presence: the program may have changed it since", () => {
    const said = { ...point(presence("idle")), encoding: "json" as const, intents: 513 }
    expect(SessionOptions.pointAfter(said, { shard: 0, sequence: 5, t: "MESSAGE_CREATE" })).toEqual({ ...point(), sequence: 5, encoding: "json", intents: 513 })
    // also where the sequence does not move
    expect(SessionOptions.pointAfter(said, { shard: 0, sequence: 3, t: "MESSAGE_CREATE" })).toEqual({ ...point(), encoding: "json", intents: 513 })
  })
})

describe("a session without a presence option identifies with what its point says was shown", () => {
  // README: "The presence set last is the one a new session identifies with (after op 9, 4007, 4009
  // or failed resumes), so the bot comes back as it was": the point's presence, the old process's
  // last, was kept for the point but not identified with (the bot came back with none)
  it.scoped("after an op 9 that follows the Resume", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ resume: point(presence("dnd")) }))
      const { first, peer } = yield* acceptAndHello(60_000)
      expect(first.op).toBe(6)
      yield* peer.sendJson(dispatch(5, "RESUMED", {}))
      yield* settle
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("6 seconds")
      yield* settle
      const second = yield* acceptAndHello(60_000)
      expect([second.first.op, second.first.d.presence]).toEqual([2, presence("dnd")])
      yield* session.end()
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after the Resume itself is refused; a point saying none identifies with none", () =>
    Effect.gen(function*() {
      for (const [shows, expected] of [[presence("idle"), presence("idle")], [null, undefined]] as const) {
        const session = yield* Session.make(options({ resume: point(shows) }))
        const { first, peer } = yield* acceptAndHello(60_000)
        expect(first.op).toBe(6)
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
        yield* settle
        yield* TestClock.adjust("6 seconds")
        yield* settle
        const second = yield* acceptAndHello(60_000)
        expect([second.first.op, second.first.d.presence]).toEqual([2, expected])
        yield* session.end()
      }
    }).pipe(Effect.provide(TestLayer)))
})
