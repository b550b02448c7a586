/**
 * a dispatch after the Identify and before READY ends the connection as a protocol
 * error "<t> before READY" (src/session/Protocol.ts); a gateway answering every Identify so, or with
 * a message that does not decode, has its Identifies held back as op 9's are.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { TextFrame } from "../../src/codec/TextFrame.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as Protocol from "../../src/session/Protocol.ts"
import { describeReason } from "../../src/session/SessionState.ts"
import { acceptAndHello, dispatch, options, ready, Session, settle, TestLayer } from "./harness.ts"

const controlChars = /[\u0000-\u001f\u007f-\u009f]/

// the Identifies a session sends in an hour to a gateway answering each with `answer`
const identifiesInAnHour = (answer: (peer: MemoryTransport.MemoryPeer) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
    const gateway = yield* MemoryTransport.MemoryGateway
    let identifies = 0
    const serving = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
      const peer = yield* gateway.accept
      const first = yield* peer.handshake(3_600_000)
      if (first.op === 2) identifies++
      yield* answer(peer)
    })))
    for (let minute = 0; minute < 60; minute++) {
      for (let s = 0; s < 6; s++) {
        yield* TestClock.adjust("10 seconds")
        yield* settle
      }
    }
    yield* Fiber.interrupt(serving)
    return identifies
  }).pipe(Effect.withRandom(Random.fixed([0.5])))

describe("a dispatch before READY", () => {
  // the gateway's `t` went into the reason raw, where every other protocol error escapes the
  // gateway's text and cuts it short: an ANSI escape reached the status view and the log lines
  it.scoped("a `t` of control characters and 10 KB is escaped and cut short in the reason", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      const t = "\u001b[2J\u001b[31mEVIL\u0007" + "A".repeat(10_000)
      yield* peer.sendJson(dispatch(2, t, {}))
      yield* settle
      const told = describeReason((yield* session.snapshot).reason)
      expect(told).toMatch(/before READY$/)
      expect(controlChars.test(told)).toBe(false)
      expect(told.length).toBeLessThan(400)
    }).pipe(Effect.provide(TestLayer)))

  // holds: the step itself, for the flows that must not be broken
  it("the step: a Resume's replay, a resume connection, events after READY, READY itself are not refused", () => {
    const memory: Protocol.Memory = { sessionId: "s", resumeGatewayUrl: "ws://r/", sequence: 5 }
    const env = (s: number, t: string, d: unknown = {}) => ({ op: 0, s, t, d })
    // a resume connection, its replay and live events before RESUMED
    const resuming: Protocol.Handshake = { mode: "resume", stage: "Asked", replayAfter: 5 }
    expect(Protocol.step(memory, env(4, "MESSAGE_CREATE"), [0, 1], resuming)._tag).toBe("Duplicate")
    expect(Protocol.step(memory, env(6, "MESSAGE_CREATE"), [0, 1], resuming)._tag).toBe("Emit")
    // identify connection answered: events go through
    const answered: Protocol.Handshake = { mode: "identify", stage: "Answered", replayAfter: null }
    expect(Protocol.step(Protocol.empty, env(2, "GUILD_CREATE"), [0, 1], answered)._tag).toBe("Emit")
    // identify connection asked: READY is taken
    const asked: Protocol.Handshake = { mode: "identify", stage: "Asked", replayAfter: null }
    const readyStep = Protocol.step(Protocol.empty, env(1, "READY", ready(1).d), [0, 1], asked)
    expect(readyStep._tag).toBe("Ready")
  })

  // holds: READY then events in the same batch of frames: none refused, each once, READY first
  it.scoped("READY and events right behind it in one read: all delivered once, in order", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 4)))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1))
      for (const s of [2, 3, 4]) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      const got = Chunk.toReadonlyArray(yield* Fiber.join(events)).map((event) => `${event.t}${event.sequence}`)
      expect(got).toEqual(["READY1", "MESSAGE_CREATE2", "MESSAGE_CREATE3", "MESSAGE_CREATE4"])
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // a READY naming another shard was taken: the shard held a session whose events were another
  // shard's guilds, and resumed it after every drop
  it.scoped("a READY for another shard is neither delivered nor taken: the connection ends and the next one identifies", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 1)))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, "someone-else", [1, 2]))
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toMatch(/READY for shard \[1, 2\] on shard \[0, 1\]'s connection$/)
      expect(yield* peer.isOpen).toBe(false)
      const accepting = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("1 minute")
      const next = yield* Fiber.join(accepting)
      expect(next.first.op).toBe(2)
      yield* next.peer.sendJson(ready(1, "session-1"))
      yield* settle
      const got = Chunk.toReadonlyArray(yield* Fiber.join(events))
      expect(got.map((event) => event.d)).toMatchObject([{ session_id: "session-1" }])
    }).pipe(Effect.provide(TestLayer)))

  // a gateway that sends a dispatch before READY on every connection spent a session start a
  // backoff apart, all day (over 60 an hour): it is held back as an op 9 that refuses the Identify
  it.scoped("a gateway that always sends a dispatch before READY: the session's Identifies are held back as op 9's are", () =>
    Effect.gen(function*() {
      // 85 before (Random 0.5: one every ~40 s once the backoff is at its longest)
      expect(yield* identifiesInAnHour((peer) => peer.sendJson(dispatch(1, "GUILD_CREATE", {})))).toBeLessThanOrEqual(12)
    }).pipe(Effect.provide(TestLayer)))

  // a READY whose s was a string, or whose op was, did not count as a READY without a session id
  // did: the session spent a start a backoff apart, about 2000 a day (wire4-2)
  for (
    const [name, answer] of [
      ["whose s is a string", (peer: MemoryTransport.MemoryPeer) => peer.sendJson({ ...ready(1), s: "1" })],
      ["whose op is a string", (peer: MemoryTransport.MemoryPeer) => peer.sendJson({ ...ready(1), op: "0" })],
      ["whose t is a number", (peer: MemoryTransport.MemoryPeer) => peer.sendJson({ ...ready(1), t: 0 })],
      ["that is no JSON", (peer: MemoryTransport.MemoryPeer) => peer.send(new TextFrame(Buffer.from("{\"op\":0,")))],
      ["for another shard", (peer: MemoryTransport.MemoryPeer) => peer.sendJson(ready(1, "session-1", [1, 2]))]
    ] as const
  ) {
    it.scoped(`a gateway answering every Identify with a READY ${name}: its Identifies are held back as op 9's are`, () =>
      Effect.gen(function*() {
        expect(yield* identifiesInAnHour(answer)).toBeLessThanOrEqual(12)
      }).pipe(Effect.provide(TestLayer)))
  }
})
