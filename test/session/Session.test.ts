import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Either from "effect/Either"
import * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Vm from "node:vm"
import * as Zlib from "node:zlib"
import * as Compress from "../../src/codec/Compress.ts"
import * as Etf from "../../src/codec/Etf.ts"
import { TextFrame } from "../../src/codec/TextFrame.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemberRequests from "../../src/session/MemberRequests.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as CloseCode from "../../src/protocol/CloseCode.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import type { Encoding } from "../../src/codec/Encoding.ts"
import * as Json from "../../src/codec/Json.ts"
import { GatewayInfoError } from "../../src/session/SessionError.ts"
import { describeReason, Reason } from "../../src/session/SessionState.ts"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import * as VirtualTime from "../../src/testing/VirtualTime.ts"
import { ConnectionClosed, GatewayTransport, TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { captured } from "../logLines.ts"
import {
  acceptAndHello,
  beatlessEncoding,
  answeringResumes,
  busyWhenDropped,
  dispatch,
  gatewayUrl,
  hello,
  memberAnswer,
  nextConnection,
  options,
  programLimiter,
  ready,
  readySession,
  receiveOp,
  resumeUrl,
  secret,
  sentOps,
  sentPayloads,
  Session,
  settle,
  slowProgram,
  TestLayer
} from "./harness.ts"
import { TestLayerWith } from "../fleet/harness.ts"
import { collectGarbage, nextJob } from "../gc.ts"
import { settleFor } from "../settle.ts"

// READY of session-1 fills a buffer of one, op 9 ends that session, and the next connection's READY
// (session-2) waits for room
const secondReadyWaiting = Effect.gen(function*() {
  const session = yield* Session.make(options({ bufferSize: 1, timeouts: { hello: "1 hour" } }))
  const { peer } = yield* acceptAndHello(10_000)
  yield* peer.sendJson(ready(1, "session-1"))
  yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
  yield* TestClock.adjust("6 seconds")
  const { peer: second } = yield* acceptAndHello(10_000)
  yield* second.sendJson(ready(1, "session-2"))
  yield* settle
  return { second, session }
})

const collect = (session: Session.Session, n: number) =>
  Effect.fork(Stream.runCollect(Stream.take(session.events, n)).pipe(Effect.map(Chunk.toReadonlyArray)))

/** A session that has identified and received READY on its first connection. */
/** A ready session with a buffer of one: READY fills it, and the reader holds event 2. */
/** Asserts that connections made at `at` (ms) were spaced by the backoff: fewer than `most`, the last ones over 30 s apart. */
/**
 * Every random draw the same (pauses, jitter): the order of the draws, which the fibers' scheduling
 * decides and a loaded machine changes, then cannot change a count of attempts.
 */
const sameDraws = Random.fixed([0.5])

const expectBackedOff = (at: ReadonlyArray<number>, most: number) => {
  expect(at.length).toBeLessThan(most)
  const gaps = at.slice(1).map((time, i) => time - at[i]!)
  expect(Math.min(...gaps.slice(-3))).toBeGreaterThan(30_000)
}

const heldEvent = Effect.gen(function*() {
  const session = yield* Session.make(options({ bufferSize: 1 }))
  const { peer } = yield* acceptAndHello(60_000)
  yield* peer.sendJson(ready())
  yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
  yield* settle
  return { session, peer }
})

/** A disconnect while nobody takes events: whether it returned before the clock moved, and its point's sequence. */
const disconnectUnread = (session: Session.Session) =>
  Effect.gen(function*() {
    const stopping = yield* Effect.fork(session.disconnect())
    yield* settle
    const stoppedWithoutTime = Option.isSome(yield* Fiber.poll(stopping))
    yield* TestClock.adjust("5 seconds") // (what the wait would have cost; lets the test end either way)
    const point = yield* Fiber.join(stopping)
    return { stoppedWithoutTime, sequence: Option.map(point, ({ sequence }) => sequence) }
  })



/**
 * On a session with a buffer of one that the program does not read: READY of "session-1" fills the
 * buffer and op 9 ends its session; the next connection identifies, reads `readyFrame`, which waits
 * for room, and is lost (the next beat tells).
 */
const readyHeldThenLost = (readyFrame: unknown) =>
  Effect.gen(function*() {
    const { peer } = yield* acceptAndHello(10_000)
    yield* peer.sendJson(ready(1, "session-1"))
    yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
    yield* TestClock.adjust("6 seconds") // past the pause after op 9
    const { first, peer: second } = yield* acceptAndHello(10_000)
    expect(first.op).toBe(2)
    yield* second.sendJson(readyFrame)
    yield* settle
    yield* second.drop
    yield* TestClock.adjust("10 seconds")
  })

const watching = { since: null, activities: [{ name: "the gateway", type: 3 }], status: "online" as const, afk: false }
const idle = { since: null, activities: [], status: "idle" as const, afk: true }
const dnd = { since: null, activities: [{ name: "maintenance", type: 0 }], status: "dnd" as const, afk: false }

/** The test services with a custom identify limiter whose `identify` is the one given. */
const withIdentify = (identify: Context.Tag.Service<IdentifyLimiter.IdentifyLimiter>["identify"]) => programLimiter({ identify })

/** A session whose first connection got Hello (so it authenticates), until it ended, and how. */
const endedWhileAuthenticating = Effect.gen(function*() {
  const session = yield* Session.make(options())
  const peer = yield* (yield* MemoryTransport.MemoryGateway).accept
  yield* peer.sendJson(hello(3_600_000))
  return { exit: yield* Effect.exit(session.await), peer, session }
})

/**
 * A ready session whose presence update (`watching`) went out, then whose gateway session ended
 * (op 9): its next updates wait for a new ready connection.
 */
const showedWatchingThenInvalidated = Effect.gen(function*() {
  const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
  yield* Effect.fork(session.updatePresence(watching))
  expect((yield* receiveOp(peer, 3)).d).toEqual(watching)
  yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
  yield* settle
  return session
})

/**
 * The in-memory transport, but a Presence Update's write ends only once `latch` is open, as `ws`
 * calls a send's callback once the bytes were handed to the socket, a moment after the send.
 */
const slowPresenceWrites = (latch: Deferred.Deferred<void>) =>
  Layer.effectContext(Effect.map(MemoryTransport.make, ({ gateway, transport }) => {
    const connect: GatewayTransport["Type"]["connect"] = (url, connectOptions) =>
      Effect.map(transport.connect(url, connectOptions), (connection) => ({
        ...connection,
        send: (frame) =>
          typeof frame === "string" && frame.startsWith("{\"op\":3,")
            ? Effect.zipLeft(connection.send(frame), Deferred.await(latch))
            : connection.send(frame)
      }))
    return Context.make(GatewayTransport, { connect }).pipe(Context.add(MemoryTransport.MemoryGateway, gateway))
  }))

/** The in-memory transport, as a transport of a program's own that does not say which side ended a connection. */
const sayingNotWhoClosed = Layer.effectContext(Effect.map(MemoryTransport.make, ({ gateway, transport }) => {
  const connect: GatewayTransport["Type"]["connect"] = (url, connectOptions) =>
    Effect.map(transport.connect(url, connectOptions), (connection) => ({
      ...connection,
      receive: Effect.mapError(connection.receive, ({ code, reason }) => new ConnectionClosed({ code, reason }))
    }))
  return Context.make(GatewayTransport, { connect }).pipe(Context.add(MemoryTransport.MemoryGateway, gateway))
}))

/**
 * A session READY on a connection whose Hello asks for beats every `interval` ms, answered at
 * once, whose program asked for 117 commands at 0 s: as many go as the send places commands may
 * take (the Identify's not among them), `sentAtOnce`, and at least one waits.
 */
const windowFilledByCommands = (interval: number, sentAtOnce: number) =>
  Effect.gen(function*() {
    const ready = yield* readySession({}, interval)
    yield* ready.peer.autoAck(true)
    const voice = { guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }
    yield* Effect.fork(Effect.forEach(Array.from({ length: 117 }), () => ready.session.updateVoiceState(voice), { concurrency: "unbounded" }))
    for (let i = 0; i < sentAtOnce; i++) expect(yield* ready.peer.receivedJson).toMatchObject({ op: 4 })
    yield* settle
    expect(Chunk.size(yield* ready.peer.takeAll)).toBe(0)
    return ready
  })

/** A ready session (Hello every 40 s) whose beats are acknowledged, and an op 1 to send it, then let run. */
const askingForBeats = Effect.gen(function*() {
  const { peer } = yield* readySession({}, 40_000)
  yield* peer.autoAck(true)
  return { peer, requestBeat: Effect.zipRight(peer.sendJson({ op: 1, d: null, s: null, t: null }), settle) }
})

/** Runs `effect` with every log line, at every level, pushed to `lines` as "LEVEL message". */
const loggedTo = (lines: Array<string>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Logger.withMinimumLogLevel(LogLevel.All),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make((entry) => void lines.push(`${entry.logLevel.label} ${String(entry.message)}`))))
  )

/** The failure `session` ended with, as `Cause.pretty` tells it, once what is due ran ("still running" where it goes on). */
const failedWith = (session: { readonly await: Effect.Effect<unknown, unknown> }) =>
  Effect.gen(function*() {
    const awaited = yield* Effect.fork(Effect.exit(session.await))
    yield* settle
    const ended = yield* Fiber.poll(awaited)
    const cause = Option.isSome(ended) && Exit.isSuccess(ended.value) && Exit.isFailure(ended.value.value) ? ended.value.value.cause : undefined
    return cause === undefined ? "still running" : Cause.pretty(cause)
  })

// an encoding that cannot write a heartbeat carrying sequence 2 or later
const lateBeatless: Encoding = {
  ...Json.encoding,
  encode: (payload) => {
    const { d, op } = payload as { readonly op: number; readonly d: unknown }
    if (op === 1 && typeof d === "number" && d >= 2) throw new Error("this encoder cannot write late heartbeats")
    return Json.encoding.encode(payload)
  }
}

describe("Session", () => {
  it.scoped("identifies after Hello and delivers READY and events in order, with shard and sequence", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ shard: [1, 2] }))
      const events = yield* collect(session, 3)
      const { first, peer } = yield* acceptAndHello()
      expect(first.op).toBe(2)
      expect(first.d.token).toBe(secret)
      expect(first.d.shard).toEqual([1, 2])
      expect(first.d.intents).toBe(513)
      expect(peer.url).toContain("v=10")
      expect(peer.url).toContain("encoding=json")
      yield* peer.sendJson(ready(1, "s", [1, 2]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { content: "a" }))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", { content: "b" }))
      const got = yield* Fiber.join(events)
      expect(got.map((e) => [e.t, e.sequence, e.shard])).toEqual([["READY", 1, 1], ["MESSAGE_CREATE", 2, 1], [
        "MESSAGE_CREATE",
        3,
        1
      ]])
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(TestLayer)))

  // two runs at once would each take whatever was buffered when they asked, and each see gaps
  it.scoped("a run of the events started while another runs dies with EventsInUse; the first takes every event, and one after it goes on", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const first = yield* collect(session, 3)
      yield* settle
      const second = yield* Effect.exit(Stream.runCollect(session.events))
      expect(Exit.isFailure(second) && Cause.pretty(second.cause)).toContain(
        "the events stream is already being run: it has one consumer at a time (Stream.broadcast, Stream.share or a PubSub hands its events to several)"
      )
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      expect((yield* Fiber.join(first)).map((event) => event.sequence)).toEqual([1, 2, 3])
      const next = yield* collect(session, 1)
      yield* peer.sendJson(dispatch(4, "MESSAGE_CREATE", {}))
      expect((yield* Fiber.join(next)).map((event) => event.sequence)).toEqual([4])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("with a `deliver` hook, delivers into it, suspends when it is full, and has no events of its own", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<GatewayEvent, never>(2)
      const session = yield* Session.makeWith(yield* SessionOptions.resolve(options()), { deliver: buffer.sink })
      const { peer } = yield* acceptAndHello()
      yield* peer.sendJson(ready())
      for (let s = 2; s <= 4; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", { content: `${s}` }))
      yield* settle
      // two fit; the reader waits with the third, which is not yet counted in the session
      expect((yield* session.snapshot).sequence).toBe(2)
      const pull = yield* Stream.toPull(buffer.stream)
      const sequences = (chunk: Chunk.Chunk<GatewayEvent>) => Chunk.toReadonlyArray(chunk).map((event) => event.sequence)
      // READY ends its chunk (the session says so to the sink): the program's take made room for
      // one, event 2 kept for its next take holding the other
      const first = yield* pull
      yield* settle
      expect(sequences(first)).toEqual([1])
      expect((yield* session.snapshot).sequence).toBe(3)
      expect(Chunk.size(yield* Stream.runCollect(session.events))).toBe(0)
      // the session does not end the buffer it was given
      const stopping = yield* Effect.fork(session.disconnect())
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(stopping)
      const rest: Array<ReadonlyArray<number>> = []
      for (let i = 0; i < 4; i++) rest.push(sequences(yield* pull))
      // event 4, still waiting for room when the session stopped, went no further
      expect(rest).toEqual([[], [2], [], [3]])
      expect(buffer.sink.unsafeOffer(Chunk.unsafeGet(first, 0))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // sessions sharing a buffer: one let in after a wait was given a share of the room, which it kept
  // once it had nothing more (its shard quiet), and the other's events waited for the program's
  // next take, the buffer nearly empty
  it.scoped("a session let in after a wait leaves the room it did not use to the others once it reads its socket again", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<GatewayEvent, never>(4)
      yield* Session.makeWith(yield* SessionOptions.resolve(options({ shard: [0, 2] })), { deliver: buffer.reader() })
      const quiet = (yield* acceptAndHello(3_600_000)).peer
      const busy = yield* Session.makeWith(yield* SessionOptions.resolve(options({ shard: [1, 2] })), { deliver: buffer.reader() })
      const busyPeer = (yield* nextConnection).peer
      yield* quiet.sendJson(ready(1, "quiet", [0, 2]))
      yield* settle
      const pull = yield* Stream.toPull(buffer.stream)
      expect(Chunk.size(yield* pull)).toBe(1)
      yield* pull
      // four fit, the fifth waits for room
      for (let s = 2; s <= 6; s++) yield* quiet.sendJson(dispatch(s, "MESSAGE_CREATE", { content: `${s}` }))
      yield* settle
      // the program takes: the quiet session's event 6 goes in, with a share of the room left
      expect(Chunk.size(yield* pull)).toBe(4)
      yield* settle
      yield* busyPeer.sendJson(ready(1, "busy", [1, 2]))
      yield* settle
      // in at once: the quiet session's share is not kept from it
      expect((yield* busy.snapshot).sequence).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  // the take that stopped at READY kept the events behind it out of the buffer's count, and the
  // reader read bufferSize more: 7 events held with a buffer of 4, for a program that took one
  it.scoped("a run that stops at READY leaves at most bufferSize events held for the program", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ bufferSize: 4 }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      for (let s = 2; s <= 20; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      // the buffer is full: READY and events 2-4, the reader holding 5
      expect((yield* session.snapshot).sequence).toBe(4)
      expect(Option.map(yield* Stream.runHead(session.events), (event) => event.t)).toEqual(Option.some("READY"))
      yield* settle
      // the program took one event: the session read one more, 2-5 held
      expect((yield* session.snapshot).sequence).toBe(5)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("yields to the program after each big event, so big events do not pile up in one chunk; small ones go together", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const sizes: Array<number> = []
      yield* Effect.forkScoped(Stream.runForEachChunk(session.events, (chunk) =>
        Effect.sync(() => {
          if (chunk.length > 0) sizes.push(chunk.length)
        })))
      yield* settle
      // the reader takes the frames sent together in one go: two small events, then four of 40 KB
      const big = "x".repeat(40_000)
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { content: "a" }))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", { content: "b" }))
      yield* settle
      for (const s of [4, 5, 6, 7]) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", { content: big }))
      yield* settle
      const [ready, small, ...bigs] = sizes
      expect([ready, small]).toEqual([1, 2])
      // without the hand-over all four arrive in one chunk
      expect(bigs.reduce((a, b) => a + b, 0)).toBe(4)
      expect(Math.max(...bigs)).toBeLessThanOrEqual(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("over ETF, a compressed term that inflates past maxMessageBytes ends the connection and is not delivered", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ encoding: "etf", maxMessageBytes: 64 * 1024 }))
      const events: Array<string | null> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => events.push(event.t))))
      const peer = yield* (yield* MemoryTransport.MemoryGateway).accept
      const frame = (envelope: { op: number; s: number | null; t: string | null; d: unknown }) =>
        Etf.encodeWith({ ...envelope, t: envelope.t === null ? null : new Etf.Atom(envelope.t) }, Etf.gatewayStyle)
      yield* peer.send(frame(hello(3_600_000)))
      expect(Etf.decodeTerm((yield* peer.received) as Uint8Array)).toMatchObject({ op: 2 })
      yield* peer.send(frame(ready()))
      yield* settle
      // about 1 KB on the wire: version, tag 80, the term's size, zlib data
      const term = frame(dispatch(2, "MESSAGE_CREATE", { content: "x".repeat(1_000_000) })).subarray(1)
      const zipped = Zlib.deflateSync(term)
      const compressed = new Uint8Array(6 + zipped.length)
      compressed.set([Etf.version, 80])
      new DataView(compressed.buffer).setUint32(2, term.length)
      compressed.set(zipped, 6)
      yield* peer.send(compressed)
      yield* settle
      expect(events).toEqual(["READY"])
      expect(yield* peer.isOpen).toBe(false)
      expect((yield* session.snapshot).reason).toMatchObject({ _tag: "DecodeFailed", kind: "TooLarge", message: expect.stringContaining("message over 65536 bytes") })
    }).pipe(Effect.provide(TestLayer)))

  describe("a message over maxMessageBytes", () => {
    const tooLarge = options({ maxMessageBytes: 4096, timeouts: { hello: "1 hour" } })
    const big = (sequence: number, t = "GUILD_CREATE") => dispatch(sequence, t, { id: "1", members: Array.from({ length: 400 }, (_, i) => ({ id: String(i) })) })
    // a session taking its events, READY (sequence 1) read on its first connection
    const readyOnce = Effect.gen(function*() {
      const session = yield* Session.make(tooLarge)
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const first = yield* acceptAndHello(3_600_000)
      yield* first.peer.sendJson(ready(1))
      return { session, first }
    })

    it.scoped("sent again in the replay ends the session with MessageTooLarge, resumable (it reconnected for ever, spending a session start every fourth try)", () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(tooLarge)
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        const first = yield* acceptAndHello(3_600_000)
        yield* first.peer.sendJson(ready(1))
        yield* first.peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
        yield* first.peer.sendJson(big(3))
        yield* settle
        // once may be a slip: the session resumes (the transport refused the message: 1009)
        expect((yield* session.snapshot).reason).toMatchObject({ _tag: "Closed", code: 1009 })
        yield* TestClock.adjust("2 seconds")
        const second = yield* acceptAndHello(3_600_000)
        expect(second.first).toMatchObject({ op: 6, d: { seq: 2 } })
        yield* second.peer.sendJson(big(3))
        const error = yield* Effect.flip(session.await)
        expect(error).toMatchObject({ _tag: "MessageTooLarge", shard: 0, maxMessageBytes: 4096, sequence: 2 })
        expect(error.message).toBe(
          "shard 0: the gateway sent a message over maxMessageBytes (4096 bytes) after sequence 2, and again on the next try; raise maxMessageBytes (the session stays resumable)"
        )
        yield* TestClock.adjust("10 minutes")
        expect((yield* gateway.attempts).length).toBe(2)
        // a process that takes larger messages resumes it where it stopped
        expect(yield* session.disconnect()).toMatchObject(Option.some({ sessionId: "session-1", sequence: 2 }))
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("refused by a transport of the program's own that does not set byClient: its 1009 is taken as its own refusal", () =>
      Effect.gen(function*() {
        const { first, session } = yield* readyOnce
        yield* first.peer.sendJson(big(2))
        yield* settle
        yield* TestClock.adjust("2 seconds")
        const second = yield* acceptAndHello(3_600_000)
        yield* second.peer.sendJson(big(2))
        expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "MessageTooLarge", sequence: 1 })
      }).pipe(Effect.provide(Layer.mergeAll(sayingNotWhoClosed, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

    it.scoped("over zlib-stream, refused by the inflater, the same: it ends the session the second time", () =>
      Effect.gen(function*() {
        const session = yield* Session.make({ ...tooLarge, compression: "zlib-stream" })
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        for (const mode of [2, 6]) {
          const next = yield* Effect.fork(acceptAndHello(3_600_000))
          yield* TestClock.adjust("10 seconds")
          const { first, peer } = yield* Fiber.join(next)
          expect(first.op).toBe(mode)
          const zlib = Compress.unsafeMake("zlib-stream")
          if (mode === 2) yield* peer.send(zlib.compress(JSON.stringify(ready(1))))
          yield* peer.send(zlib.compress(JSON.stringify(big(2))))
          yield* settle
          if (mode === 2) expect((yield* session.snapshot).reason).toMatchObject({ _tag: "DecodeFailed", kind: "TooLarge", message: expect.stringContaining("over 4096 bytes") })
        }
        expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "MessageTooLarge", sequence: 1 })
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("as the answer to two Identifies ends the session after the second: no third session start", () =>
      Effect.gen(function*() {
        const session = yield* Session.make(tooLarge)
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        const first = yield* acceptAndHello(3_600_000)
        yield* first.peer.sendJson(big(1, "READY"))
        yield* settle
        const next = yield* Effect.fork(acceptAndHello(3_600_000))
        yield* TestClock.adjust("10 seconds")
        const second = yield* Fiber.join(next)
        expect(second.first.op).toBe(2)
        yield* second.peer.sendJson(big(1, "READY"))
        expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "MessageTooLarge", sequence: null })
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("before Hello, twice, answers no Identify: the session is not given up, and goes on at the next gateway that answers (it ended with MessageTooLarge)", () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(tooLarge)
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        for (let attempt = 0; attempt < 2; attempt++) {
          const next = yield* Effect.fork(gateway.accept)
          yield* TestClock.adjust("10 seconds")
          const peer = yield* Fiber.join(next)
          yield* peer.sendJson(big(1))
          yield* settle
          // the transport refused the message (1009), as it does after READY
          expect((yield* session.snapshot).reason).toMatchObject({ _tag: "Closed", code: 1009 })
        }
        const next = yield* Effect.fork(acceptAndHello(3_600_000))
        yield* TestClock.adjust("10 seconds")
        const third = yield* Fiber.join(next)
        expect(third.first.op).toBe(2)
        yield* third.peer.sendJson(ready(1))
        yield* settle
        expect((yield* session.snapshot).state._tag).toBe("Connected")
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("is not what a gateway closing with 1009 twice at one point says: only the client's own 1009 is, and the session resumes", () =>
      Effect.gen(function*() {
        const { first, session } = yield* readyOnce
        yield* settle
        yield* first.peer.close(1009, "Message too big")
        for (let attempt = 0; attempt < 2; attempt++) {
          const next = yield* Effect.fork(acceptAndHello(3_600_000))
          yield* TestClock.adjust("10 seconds")
          const { first, peer } = yield* Fiber.join(next)
          expect(first).toMatchObject({ op: 6, d: { seq: 1 } })
          if (attempt === 0) yield* peer.close(1009, "Message too big")
        }
        expect((yield* session.snapshot).state._tag).not.toBe("Disconnected")
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("once, followed by progress, is only a reconnect: the session goes on", () =>
      Effect.gen(function*() {
        const session = yield* Session.make(tooLarge)
        const events = yield* collect(session, 3)
        const first = yield* acceptAndHello(3_600_000)
        yield* first.peer.sendJson(ready(1))
        yield* first.peer.sendJson(big(2))
        yield* settle
        yield* TestClock.adjust("2 seconds")
        const second = yield* acceptAndHello(3_600_000)
        // the replay brings it smaller this time, then RESUMED
        yield* second.peer.sendJson(dispatch(2, "GUILD_CREATE", { id: "1" }))
        yield* second.peer.sendJson(dispatch(3, "RESUMED", {}))
        expect((yield* Fiber.join(events)).map((event) => event.t)).toEqual(["READY", "GUILD_CREATE", "RESUMED"])
        expect((yield* session.snapshot).state._tag).toBe("Connected")
      }).pipe(Effect.provide(TestLayer)))
  })

  it.scoped("a message that cannot be decoded, replayed by every Resume, costs three Resumes and then a new session, which goes on", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const events: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => events.push(event.t))))
      const first = yield* acceptAndHello(3_600_000)
      yield* first.peer.sendJson(ready(1))
      yield* first.peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* first.peer.send("{not json")
      yield* settle
      // each Resume is answered by the replay, which begins with the same broken message
      const firsts: Array<unknown> = []
      while (true) {
        const next = yield* Effect.fork(acceptAndHello(3_600_000))
        while ((yield* Fiber.poll(next))._tag === "None") yield* TestClock.adjust("1 second")
        const { first, peer } = yield* Fiber.join(next)
        firsts.push({ op: first.op, seq: first.d.seq ?? null })
        if (first.op === 2) {
          yield* peer.sendJson(ready(1, "session-2"))
          break
        }
        yield* peer.send("{not json")
        yield* settle
        // which step failed, to match on (it was only in the message)
        expect((yield* session.snapshot).reason).toMatchObject({ _tag: "DecodeFailed", kind: "Json" })
      }
      expect(firsts).toEqual([{ op: 6, seq: 2 }, { op: 6, seq: 2 }, { op: 6, seq: 2 }, { op: 2, seq: null }])
      yield* settle
      expect(events).toEqual(["READY", "MESSAGE_CREATE", "READY"])
      expect((yield* session.snapshot).state._tag).toBe("Connected")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a connection waiting for frames keeps none of the frames it read alive", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const taken = yield* collect(session, 2)
      // sent as bytes (a text frame as the live transport hands it over), so a WeakRef can watch it
      const watched = yield* Effect.suspend(() => {
        const bytes = new TextFrame(Buffer.from(JSON.stringify(dispatch(2, "MESSAGE_CREATE", { content: "x".repeat(4096) }))))
        return Effect.as(peer.send(bytes), new WeakRef(bytes))
      })
      expect((yield* Fiber.join(taken)).map((event) => event.t)).toEqual(["READY", "MESSAGE_CREATE"])
      yield* settle
      // the reader now waits for the next frames, as an idle shard's does
      yield* nextJob
      collectGarbage()
      expect(watched.deref()).toBeUndefined()
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("beats first after interval × jitter, then every interval, with the last sequence", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession({}, 1000)
      yield* peer.sendJson(dispatch(2, "TYPING_START", {}))
      yield* settle
      yield* TestClock.adjust("249 millis")
      expect(Chunk.size(yield* peer.takeAll)).toBe(0)
      yield* TestClock.adjust("1 millis")
      const beat = yield* peer.receivedJson
      expect(beat).toEqual({ op: 1, d: 2 })
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      yield* TestClock.adjust("999 millis")
      expect(Chunk.size(yield* peer.takeAll)).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 2 })
    }).pipe(Effect.withRandom(Random.fixed([0.25])), Effect.provide(TestLayer)))

  it.scoped("beats at once when the gateway sends op 1, and the scheduled beats keep their times", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession({}, 40_000)
      yield* TestClock.adjust("5 seconds")
      yield* peer.sendJson({ op: 1, d: null, s: null, t: null })
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      // the first scheduled beat is still due 40 s × 0.5 after Hello, not counted from the answer
      yield* TestClock.adjust("14999 millis")
      expect(Chunk.size(yield* peer.takeAll)).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // a second op 1 within the second waited for the next scheduled beat, up to an interval away (the
  // LocalGateway records an op 1 unanswered for 5 s)
  it.scoped("op 1 asked again within a second of the last answer is answered as the second ends, once for all asked meanwhile", () =>
    Effect.gen(function*() {
      const { peer, requestBeat } = yield* askingForBeats
      yield* TestClock.adjust("5 seconds")
      yield* requestBeat
      expect(yield* sentOps(peer)).toEqual([1])
      // three more within the second: one answer, when the second ends
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("300 millis")
        yield* requestBeat
      }
      expect(yield* sentOps(peer)).toEqual([])
      yield* TestClock.adjust("99 millis")
      expect(yield* sentOps(peer)).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* sentOps(peer)).toEqual([1])
      // a flood, one every 100 ms for 5 s: one answer a second
      for (let i = 0; i < 50; i++) {
        yield* TestClock.adjust("100 millis")
        yield* requestBeat
      }
      yield* TestClock.adjust("1 second")
      expect(yield* sentOps(peer)).toEqual([1, 1, 1, 1, 1, 1])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // asked within the second, an op 1 a scheduled beat answered meanwhile needs no beat of its own
  it.scoped("op 1 asked within a second of the last answer gets no beat of its own where a scheduled beat went out meanwhile", () =>
    Effect.gen(function*() {
      // jitter 0.5: the first scheduled beat at 20 s
      const { peer, requestBeat } = yield* askingForBeats
      yield* TestClock.adjust("19500 millis")
      yield* requestBeat
      yield* TestClock.adjust("200 millis")
      yield* requestBeat
      expect(yield* sentOps(peer)).toEqual([1])
      yield* TestClock.adjust("300 millis")
      expect(yield* sentOps(peer)).toEqual([1])
      yield* TestClock.adjust("2 seconds")
      expect(yield* sentOps(peer)).toEqual([])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // one asked after a scheduled beat, within the second of one deferred, was skipped with it
  it.scoped("an op 1 asked after a scheduled beat, within the second of a deferred one, is still answered as that second ends", () =>
    Effect.gen(function*() {
      // jitter 0.5: the first scheduled beat at 20 s
      const { peer, requestBeat } = yield* askingForBeats
      yield* TestClock.adjust("19500 millis")
      yield* requestBeat // 19.5 s: answered at once
      expect(yield* sentOps(peer)).toEqual([1])
      yield* TestClock.adjust("100 millis")
      yield* requestBeat // 19.6 s: deferred to 20.5 s
      yield* TestClock.adjust("400 millis")
      expect(yield* sentOps(peer)).toEqual([1]) // 20 s: the scheduled beat, which answers it
      yield* TestClock.adjust("200 millis")
      yield* requestBeat // 20.2 s: asked after every beat so far
      yield* TestClock.adjust("300 millis")
      expect(yield* sentOps(peer)).toEqual([1])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // the deferred answer runs on a fiber of its own: an encoding's defect killed it unobserved, and
  // the session went on until the next scheduled beat met the same defect
  it.scoped("an op 1 answered as the second ends whose heartbeat the encoding cannot write ends the session with the defect, no fiber failing unobserved", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const { peer, session } = yield* readySession({ encoding: lateBeatless }, 40_000)
      yield* peer.autoAck(true)
      yield* TestClock.adjust("5 seconds")
      // answered at once, carrying sequence 1
      yield* peer.sendJson({ op: 1, d: null, s: null, t: null })
      yield* settle
      expect(yield* sentOps(peer)).toEqual([1])
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* TestClock.adjust("300 millis")
      // within the second: answered at its end, carrying sequence 2, which the encoding refuses
      yield* peer.sendJson({ op: 1, d: null, s: null, t: null })
      yield* TestClock.adjust("700 millis")
      expect(yield* failedWith(session)).toMatch(/cannot write late heartbeats/)
      expect(lines.filter((line) => line.includes("unhandled error"))).toEqual([])
    }).pipe(loggedTo(lines), Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer))
  })

  // the beat is encoded again as it goes when events came after its payload was made: that
  // encoding's defect killed the beat's fiber unobserved, and the op 1 went unanswered
  it.scoped("an op 1 answered at once, with a dispatch read right behind it, whose re-encoded beat the encoding cannot write ends the session with the defect, no fiber failing unobserved", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const { peer, session } = yield* readySession({ encoding: lateBeatless }, 40_000)
      yield* peer.autoAck(true)
      yield* TestClock.adjust("5 seconds")
      // one read: the answer's payload is made with sequence 1, and the dispatch (2) goes in before
      // the beat's fiber writes it
      yield* peer.sendJson({ op: 1, d: null, s: null, t: null })
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      expect(yield* failedWith(session)).toMatch(/cannot write late heartbeats/)
      expect(lines.filter((line) => line.includes("unhandled error"))).toEqual([])
    }).pipe(loggedTo(lines), Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer))
  })

  // Answers a second apart took every place kept for control sends: the scheduled beat then waited
  // for the window, unanswered, and the healthy connection was closed as a zombie (4900).
  it.scoped("answers to op 1 leave the scheduled beats their places: a full window and a flood of op 1 close no healthy connection", () =>
    Effect.gen(function*() {
      // Hello asks for 41.25 s; jitter 0.4: scheduled beats due at 16.5 s, then 57.75 s
      const { peer, session } = yield* readySession({}, 41_250)
      yield* peer.autoAck(true)
      const events: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => events.push(event.t))))
      const voice = { guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }
      // commands take all the places they may (116 of 120, besides the Identify's), and go out
      yield* Effect.fork(Effect.forEach(Array.from({ length: 116 }), () => session.updateVoiceState(voice), { concurrency: "unbounded" }))
      for (let i = 0; i < 116; i++) expect(yield* peer.receivedJson).toMatchObject({ op: 4 })
      for (let i = 0; i < 6; i++) {
        yield* peer.sendJson({ op: 1, d: null, s: null, t: null })
        yield* TestClock.adjust("1 second")
      }
      // one answer, in the place kept for it, then none: the last two places are the scheduled
      // beats' (two answers while commands got 115, the Identify counted as one of theirs)
      expect(yield* sentOps(peer)).toEqual([1])
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { content: "read all along" }))
      yield* settle
      expect(events).toEqual(["READY", "MESSAGE_CREATE"])
      // both scheduled beats go out when due, each answered: the connection stays up
      yield* TestClock.adjust("10500 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 2 })
      yield* TestClock.adjust("41250 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 2 })
      yield* TestClock.adjust("1 second")
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.withRandom(Random.fixed([0.4])), Effect.provide(TestLayer)))

  // A beat waiting for the send limit was counted as sent: the next tick found it unanswered and
  // closed the healthy connection as a zombie. A gateway asking for beats every 10 s needs more
  // than the window's reserved places when commands take all of theirs.
  // A gateway asking for beats every 10 s needs 7 places a window for them: 2 were kept, and a
  // flood of commands held the beats back (a gateway closes for that).
  it.scoped("the room kept for heartbeats follows Hello's interval: at 10 s, a flood of commands holds no beat back", () =>
    Effect.gen(function*() {
      // Hello asks for 10 s; jitter 0.5: beats due at 5 s, 15 s, 25 s, ...; 9 places kept for
      // control sends (7 beats, op 1, the Identify): 111 for commands
      const { peer } = yield* windowFilledByCommands(10_000, 111)
      for (let beat = 0; beat < 12; beat++) {
        yield* TestClock.adjust(beat === 0 ? "5 seconds" : "10 seconds")
        const sent = yield* sentOps(peer)
        // at 65 s the window freed the first places: the rest of the commands went too
        expect(sent.filter((op) => op === 1)).toEqual([1])
      }
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // A beat waiting for the send limit was counted as sent: the next tick found it unanswered and
  // closed the healthy connection as a zombie. A gateway asking for beats every 2 s wants more
  // than a quarter of the window: it gets the room of Discord's interval, and a flood holds them.
  it.scoped("a scheduled beat held back by a full send window is not a zombie: it goes when a place frees, and no second one waits behind it", () =>
    Effect.gen(function*() {
      // Hello asks for 2 s; jitter 0.5: beats due at 1 s, 3 s, 5 s, ...
      const { peer } = yield* windowFilledByCommands(2_000, 116)
      // the three places left take the beats at 1, 3 and 5 s; the one at 7 s waits for the
      // window, which frees its first places 61 s after the Identify
      yield* TestClock.adjust("9 seconds")
      expect(yield* sentOps(peer)).toEqual([1, 1, 1])
      // until 60 s the held beat is not taken for one unanswered, nor is a second one added behind it
      yield* TestClock.adjust("51 seconds")
      expect(yield* peer.isOpen).toBe(true)
      expect(yield* sentOps(peer)).toEqual([])
      // at 61 s the held beat goes out, before the last command, is answered, and the beats go on
      yield* TestClock.adjust("1 second")
      expect(yield* sentOps(peer)).toEqual([1, 4])
      yield* TestClock.adjust("2 seconds")
      expect(yield* sentOps(peer)).toEqual([1])
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // A gateway asking for beats every 500 ms (all the window holds): the beats, control sends served
  // first, took every place as it freed, and a command made a minute in never went out while the
  // connection lived (chaos1). Beats that would take over half the window line up with commands.
  for (const interval of [1_000, 500]) {
    it.scoped(`a Hello asking for a beat every ${interval} ms leaves commands room: an update made a minute in goes out`, () =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, interval)
        yield* peer.autoAck(true)
        yield* VirtualTime.advance("70 seconds", { step: "1 second" })
        yield* sentPayloads(peer)
        const update = yield* Effect.fork(session.updatePresence({ since: null, activities: [], status: "idle", afk: false }))
        yield* VirtualTime.advance("120 seconds", { step: "1 second" })
        const sent = yield* sentPayloads(peer)
        expect(sent.filter((payload) => payload.op === 3)).toHaveLength(1)
        // the beats go on as the window allows, and the connection stays up
        expect(sent.filter((payload) => payload.op === 1).length).toBeGreaterThan(100)
        expect(yield* peer.isOpen).toBe(true)
        expect(update.unsafePoll()).toEqual(Exit.void)
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
  }

  // At 520 ms the beats alone need 118 of a window's 120 places: in line with commands but kept to
  // the commands' 116, one beat a window waited about 1.4 s with no command sent at all, and a
  // gateway enforcing its interval would have closed the connection (rereview102)
  it.scoped("a Hello asking for a beat every 520 ms, no command sent: every beat goes within an interval and a half of the last", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession({}, 520)
      yield* peer.autoAck(true)
      yield* sentPayloads(peer)
      const beats: Array<number> = []
      // ticks of half an interval: a beat on time is two ticks after the last
      for (let at = 260; at <= 66_000; at += 260) {
        yield* TestClock.adjust("260 millis")
        yield* settle
        if ((yield* sentPayloads(peer)).some((payload) => payload.op === 1)) beats.push(at)
      }
      const gaps = beats.slice(1).map((at, i) => at - beats[i]!)
      expect(beats.length).toBeGreaterThan(120)
      expect(Math.max(...gaps)).toBeLessThanOrEqual(780)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // Held until 61.0 s, the beat was judged at the 61.2 s tick: a gateway answering in 300 ms had
  // its healthy connection closed as a zombie. And it carried the sequence of its tick.
  it.scoped("a beat held back until just before the next tick is judged at the tick after, and carries the last sequence as it goes out", () =>
    Effect.gen(function*() {
      // Hello asks for 2 s; jitter 0.6: ticks at 1.2, 3.2, ... 61.2 s
      const { peer } = yield* windowFilledByCommands(2_000, 116)
      // the beats of 1.2 .. 5.2 s take the last places; the one of 7.2 s waits until 61 s
      yield* TestClock.adjust("45 seconds")
      const sent = sentPayloads(peer)
      expect((yield* sent).map((payload) => payload.op)).toEqual([1, 1, 1])
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { content: "after the tick" }))
      // from now on the gateway answers 300 ms after each beat
      yield* peer.autoAck(false)
      yield* TestClock.adjust("16 seconds")
      expect(yield* sent).toEqual([{ op: 1, d: 2 }, expect.objectContaining({ op: 4 })])
      yield* TestClock.adjust("200 millis") // 61.2 s: the tick leaves the held beat be, and beats
      expect(yield* peer.isOpen).toBe(true)
      expect(yield* sent).toEqual([{ op: 1, d: 2 }])
      yield* TestClock.adjust("100 millis")
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      yield* TestClock.adjust("300 millis")
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      // 63.2 s: both answered; a gateway that stops answering is found at the tick after
      yield* TestClock.adjust("1600 millis")
      expect(yield* peer.isOpen).toBe(true)
      expect(yield* sent).toEqual([{ op: 1, d: 2 }])
      yield* TestClock.adjust("2 seconds")
      expect(yield* peer.closed).toMatchObject({ code: 4900, by: "client" })
    }).pipe(Effect.withRandom(Random.fixed([0.6])), Effect.provide(TestLayer)))

  it.scoped("detects a zombie at the first beat due without an ACK, closes non-1000 and resumes", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession({}, 1000)
      yield* TestClock.adjust("500 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
      // no ACK: the next beat is due at 1500 ms and finds the connection dead
      yield* TestClock.adjust("999 millis")
      expect(yield* peer.isOpen).toBe(true)
      yield* TestClock.adjust("1 millis")
      const closed = yield* peer.closed
      expect(closed.by).toBe("client")
      expect(closed.code).not.toBe(1000)
      expect(closed.code).not.toBe(1001)
      yield* TestClock.adjust("1 second")
      const { first, peer: second } = yield* acceptAndHello()
      expect(second.url.startsWith(resumeUrl)).toBe(true)
      expect(first).toEqual({ op: 6, d: { token: secret, session_id: "session-1", seq: 1 } })
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("reconnects when Hello does not come within the hello timeout", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ timeouts: { hello: "5 seconds" } }))
      const peer = yield* gateway.accept
      yield* TestClock.adjust("4999 millis")
      expect(yield* peer.isOpen).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* peer.closed).by).toBe("client")
      yield* TestClock.adjust("1 second")
      const next = yield* gateway.accept
      expect(next.url.startsWith(gatewayUrl)).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the snapshot's latency is the open connection's: none between connections, nor before the next connection's first ACK", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 1000)
      yield* peer.autoAck(true)
      yield* TestClock.adjust("2 seconds")
      expect((yield* session.snapshot).latency).toBe(0)
      yield* peer.drop
      yield* settle
      expect((yield* session.snapshot).latency).toBeUndefined()
      const next = yield* Effect.fork(acceptAndHello(60_000))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(next)
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      expect((yield* session.snapshot).latency).toBeUndefined()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("the snapshot's event rate: events delivered per second, in snapshots as it was at each transition however late read", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ events: ["MESSAGE_CREATE"] }, 60_000)
      yield* peer.autoAck(true)
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const later = yield* Stream.toPull(session.snapshots)
      // subscribed at its first pull: the current snapshot, then each transition's
      const seen = [...Chunk.toReadonlyArray(yield* later)]
      // 30 delivered, 10 left out by the `events` option (READY too): only those delivered count
      for (let s = 2; s <= 41; s++) yield* peer.sendJson(dispatch(s, s % 4 === 0 ? "TYPING_START" : "MESSAGE_CREATE", {}))
      yield* settle
      expect((yield* session.snapshot).eventsPerSecond).toBe(0)
      yield* TestClock.adjust("1 second")
      expect((yield* session.snapshot).eventsPerSecond).toBe(30)
      yield* peer.drop
      yield* settle
      // a minute later, quiet: the rate now is 0, the drop's snapshot still says 30
      yield* TestClock.adjust("1 minute")
      expect((yield* session.snapshot).eventsPerSecond).toBe(0)
      while (!seen.some((snapshot) => snapshot.state._tag === "Disconnected")) seen.push(...Chunk.toReadonlyArray(yield* later))
      const dropped = seen.findIndex((snapshot) => snapshot.state._tag === "Disconnected")
      expect(seen.slice(0, dropped + 1).map((snapshot) => [snapshot.state._tag, snapshot.eventsPerSecond])).toEqual([["Connected", 0], ["Disconnected", 30]])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("events that wait for room count in the rate as each goes in (they counted at the end of their socket read, minutes later)", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ bufferSize: 1 }, 60_000)
      yield* peer.autoAck(true)
      // READY fills the buffer of one; 40 events arrive together (one socket read, as a burst does)
      for (let s = 2; s <= 41; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      // a program busy 1 s with each event: one event goes in per second
      const took = yield* slowProgram(session, "1 second")
      for (let i = 0; i < 15; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // events went in all along (the program took ~15 of them)
      expect(took.length).toBeGreaterThanOrEqual(10)
      expect(took.length).toBeLessThan(40)
      // ~1 event went in each second of the last 10: the rate says so (it reads 0 until the whole read is done)
      expect((yield* session.snapshot).eventsPerSecond).toBeGreaterThanOrEqual(0.5)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a READY held past its connection's end counts in the rate as it goes in (it counted at the next connection's first read, or never)", () =>
    Effect.gen(function*() {
      // the next connection's READY waits for room, and that connection drops
      const { second, session } = yield* secondReadyWaiting
      yield* second.drop
      yield* TestClock.adjust("70 seconds")
      // the program takes both READYs: session-2's goes in now (through the session's waiting offer)
      const taken = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 2)))
      yield* settle
      const readies = Chunk.toReadonlyArray(yield* Fiber.join(taken)).map((event) => (event.d as { session_id: string }).session_id)
      expect(readies).toEqual(["session-1", "session-2"])
      yield* TestClock.adjust("1 second")
      yield* settle
      // one event (session-2's READY) went in within the last 10 seconds: 0.1 event/s, not 0
      expect((yield* session.snapshot).eventsPerSecond).toBeCloseTo(0.1)
    }).pipe(Effect.provide(TestLayer)))
  it.scoped("an Identify unanswered past the ready timeout is waited on while heartbeats are acknowledged (an outage), not sent again", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ timeouts: { ready: "10 seconds" } }))
      const { first, peer } = yield* acceptAndHello(20_000)
      expect(first.op).toBe(2)
      yield* peer.autoAck(true)
      // Discord issues the session once it can; another Identify would spend a session start
      yield* TestClock.adjust("5 minutes")
      expect(yield* peer.isOpen).toBe(true)
      expect(yield* gateway.attempts).toHaveLength(1)
      yield* peer.sendJson(ready())
      yield* settle
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      expect((yield* session.snapshot).sessionId).toBe("session-1")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an Identify unanswered past the ready timeout on a connection whose heartbeats go unanswered: the zombie check ends it", () =>
    Effect.gen(function*() {
      yield* Session.make(options({ timeouts: { ready: "10 seconds" } }))
      const { peer } = yield* acceptAndHello(20_000)
      yield* TestClock.adjust("10 seconds")
      expect(yield* peer.isOpen).toBe(true)
      // the first beat (jitter < 1) within 20 s; unacknowledged when the next is due, 20 s later
      yield* TestClock.adjust("30 seconds")
      expect((yield* peer.closed).by).toBe("client")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("sends at most 5 presence updates per 20 s on a connection; other commands do not wait for them", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 60_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      // one after another (updates made at once would be overtaken by the newest)
      const updates = yield* Effect.fork(Effect.forEach(["1", "2", "3", "4", "5", "6"], (name) => session.updatePresence(presence(name))))
      yield* settle
      yield* Effect.fork(session.updateVoiceState({ guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }))
      // what the client sent since the last look, heartbeats (op 1, jittered) left out
      const ops = Effect.map(sentOps(peer), (sent) => sent.filter((op) => op !== 1))
      yield* settle
      const first = yield* ops
      expect(first.filter((op) => op === 3)).toHaveLength(5)
      expect(first.filter((op) => op === 4)).toHaveLength(1)
      yield* TestClock.adjust("20999 millis")
      expect(yield* ops).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(updates)
      expect(yield* ops).toEqual([3])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a program setting its presence every 2 s, faster than the limit, shows its latest within 21 s, not an ever older one", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 2 }], status: "online" as const, afk: false })
      const shown: Array<{ readonly name: string; readonly at: number }> = []
      const look = Effect.flatMap(Effect.zip(peer.takeAll, Clock.currentTimeMillis), ([frames, at]) =>
        Effect.sync(() => {
          for (const frame of frames) {
            const { op, d } = JSON.parse(frame as string) as { op: number; d: { activities: Array<{ name: string }> } }
            if (op === 3) shown.push({ name: d.activities[0]!.name, at })
          }
        }))
      const callers = []
      for (let i = 0; i < 60; i++) {
        callers.push(yield* Effect.fork(session.updatePresence(presence(`song ${i}`))))
        yield* TestClock.adjust("2 seconds")
        yield* look
      }
      yield* TestClock.adjust("21 seconds")
      yield* look
      // every caller's wait ended, with the write of its own update or of a newer one
      yield* Effect.forEach(callers, Fiber.join)
      expect(shown.at(-1)?.name).toBe("song 59")
      // within the limit all along: the sixth 21 s after the first, or later (seen up to 2 s late)
      for (let i = 5; i < shown.length; i++) expect(shown[i]!.at - shown[i - 5]!.at).toBeGreaterThanOrEqual(19_000)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an Identify that carries the newest of the updates waiting for the limit is followed by none of them: not an older one, nor that one again", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      const presencesSent = (at: MemoryTransport.MemoryPeer) =>
        Effect.map(at.takeAll, (frames) =>
          Chunk.toReadonlyArray(frames)
            .map((frame) => JSON.parse(frame as string) as { op: number; d: { activities: Array<{ name: string }> } })
            .filter((payload) => payload.op === 3)
            .map((payload) => payload.d.activities[0]!.name))
      for (const name of ["1", "2", "3", "4", "5"]) yield* session.updatePresence(presence(name))
      const waiting = []
      for (const name of ["6", "7", "8"]) {
        waiting.push(yield* Effect.fork(session.updatePresence(presence(name))))
        yield* settle
      }
      expect(yield* presencesSent(peer)).toEqual(["1", "2", "3", "4", "5"])
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      const identifying = yield* Effect.fork(acceptAndHello(3_600_000))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      const { first, peer: next } = yield* Fiber.join(identifying)
      expect([first.op, (first.d["presence"] as ReturnType<typeof presence>).activities[0]!.name]).toEqual([2, "8"])
      yield* next.sendJson(ready(1, "session-2"))
      yield* settle
      yield* TestClock.adjust("30 seconds")
      yield* Effect.forEach(waiting, Fiber.join)
      expect(yield* presencesSent(next)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  // the 120 sends are counted per connection; the presence updates' window holds across them, as
  // Discord's count may well be the session's (a resume in a burst let five more through at once)
  it.scoped("a resume in a burst of presence updates keeps their window: the sixth goes out 21 s after the first five, not at RESUMED", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      const updates = yield* Effect.fork(Effect.forEach(["1", "2", "3", "4", "5", "6"], (name) => session.updatePresence(presence(name))))
      yield* settle
      expect((yield* sentOps(peer)).filter((op) => op === 3)).toHaveLength(5)
      yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      const { first, peer: next } = yield* Fiber.join(again)
      expect(first.op).toBe(6)
      yield* next.sendJson(dispatch(2, "RESUMED", {}))
      yield* settle
      expect((yield* sentOps(next)).filter((op) => op === 3), "at RESUMED, 5 s after the five").toEqual([])
      yield* TestClock.adjust("15999 millis")
      expect((yield* sentOps(next)).filter((op) => op === 3)).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(updates)
      expect((yield* sentOps(next)).filter((op) => op === 3)).toEqual([3])
    }).pipe(Effect.provide(TestLayer)))

  // a process taking over started with an empty window: a sixth update went out within the 20 s,
  // which Discord counts per gateway session (the LocalGateway recorded PresenceRateLimited)
  it.scoped("a handoff keeps the presence window: the point says when the updates went out, and the next session's sixth goes out 21 s after them", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession({}, 3_600_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      yield* TestClock.adjust("2 seconds")
      yield* Effect.forEach(["1", "2", "3", "4", "5"], (name) => session.updatePresence(presence(name)))
      const point = Option.getOrThrow(yield* session.disconnect())
      // ms since 1970 on the TestClock: 2 s
      expect(point.presenceUpdatesAt).toEqual([2000, 2000, 2000, 2000, 2000])
      yield* TestClock.adjust("5 seconds")
      const next = yield* Session.make(options({ resume: point }))
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(6)
      yield* peer.sendJson(dispatch(point.sequence + 1, "RESUMED", {}))
      const sixth = yield* Effect.fork(next.updatePresence(presence("6")))
      yield* settle
      expect((yield* sentOps(peer)).filter((op) => op === 3), "7 s after the five").toEqual([])
      yield* TestClock.adjust("15999 millis")
      expect((yield* sentOps(peer)).filter((op) => op === 3)).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(sixth)
      expect((yield* sentOps(peer)).filter((op) => op === 3)).toEqual([3])
      // and its own point says the sixth, the five having left the window
      expect(Option.getOrThrow(yield* next.disconnect()).presenceUpdatesAt).toEqual([23000])
      // times that are no list of numbers are refused with the point
      for (const presenceUpdatesAt of [["2000"], [1, 2, 3, 4, 5, 6]]) {
        const refused = yield* Effect.flip(Session.make(options({ resume: { ...point, presenceUpdatesAt } as unknown as SessionOptions.ResumePoint })))
        expect(refused.message).toContain("resume.presenceUpdatesAt must be a list of at most 5 times (ms since 1970), got an array")
      }
    }).pipe(Effect.provide(TestLayer)))

  // made while no connection was ready, both wait; the new session's Identify carries the latest
  it.scoped("presence updates made between two sessions: the Identify carries the latest, and the older one never goes out after it", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
      const status = (name: "idle" | "dnd") => ({ since: null, activities: [], status: name, afk: false })
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const updates = yield* Effect.fork(Effect.all([session.updatePresence(status("idle")), session.updatePresence(status("dnd"))], {
        concurrency: "unbounded"
      }))
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("6 seconds")
      const { first, peer: next } = yield* Fiber.join(again)
      expect(first.d.presence).toEqual(status("dnd"))
      yield* next.sendJson(ready(1, "session-2"))
      yield* settle
      yield* Fiber.join(updates)
      // the bot showed dnd from READY on: an op 3 of idle would show it idle again, and one of dnd
      // would only repeat it, spending a presence place
      const presences = Chunk.toReadonlyArray(yield* next.takeAll)
        .map((frame) => JSON.parse(frame as string) as { op: number; d: unknown })
        .filter((payload) => payload.op === 3)
      expect(presences.map((payload) => payload.d)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence object changed after it was taken, then refused, does not become what the next Identify carries (it did, unchecked: a defect ended the session)", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
      // a program that keeps its presence in one object, changes it, and sends it
      const presence: { since: number | null; activities: Array<Commands.Activity>; status: Commands.Status; afk: boolean } = { since: null, activities: [{ name: "a game", type: 0 }], status: "online", afk: false }
      yield* Effect.fork(session.updatePresence(presence))
      expect((yield* receiveOp(peer, 3)).d).toEqual({ since: null, activities: [{ name: "a game", type: 0 }], status: "online", afk: false })
      presence.activities = [{ name: "x".repeat(5000), type: 0 }]
      const refused = yield* Effect.flip(session.updatePresence(presence))
      // refused at once, as the README says: nothing was sent, nothing changed (the program goes on)
      expect(refused).toMatchObject({ _tag: "InvalidCommand", reason: "TooLarge" })

      // the gateway session ends: a new one identifies with the presence of the last update that was taken
      const waiting = yield* Effect.fork(session.await)
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* settle
      const gateway = yield* MemoryTransport.MemoryGateway
      const next = yield* gateway.accept
      const identified = yield* Effect.fork(next.handshake(3_600_000))
      yield* settle
      // the identify limiter spaces identifies 5 s apart
      yield* TestClock.adjust("5 seconds")
      yield* settle
      const ended = yield* Fiber.poll(waiting)
      const told = Option.match(ended, {
        onNone: () => "running",
        onSome: (exit) => Exit.isSuccess(exit) ? "ended" : `${Cause.isDie(exit.cause) ? "defect" : "failure"}: ${Cause.pretty(exit.cause).split("\n")[0]}`
      })
      expect(told).toBe("running")
      const identify = Option.map(yield* Fiber.poll(identified), (exit) => Exit.isSuccess(exit) ? exit.value : "connection ended")
      expect(identify).toEqual(Option.some({ op: 2, d: expect.objectContaining({ presence: { since: null, activities: [{ name: "a game", type: 0 }], status: "online", afk: false } }) }))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence update that waits for the send limit counts against the presence limit from when it goes out", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      const voice = { guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }
      // what the client sent since the last look, heartbeats left out: the first is due at a random
      // point of the hour, which fell inside this test about once in forty runs
      const ops = Effect.map(sentOps(peer), (sent) => sent.filter((op) => op !== 1))
      // the command budget (116 places, besides the Identify's) is spent; four more wait for 61 s
      yield* Effect.fork(Effect.forEach(Array.from({ length: 120 }), () => session.updateVoiceState(voice), { concurrency: "unbounded" }))
      yield* settleFor(1500)
      yield* Effect.fork(Effect.forEach(["1", "2", "3", "4", "5", "6"], (name) => session.updatePresence(presence(name))))
      yield* settleFor(1500)
      expect((yield* ops).filter((op) => op === 4)).toHaveLength(116)
      yield* TestClock.adjust("61 seconds")
      yield* settleFor(1500)
      // the first presence update waited 61 s for its send: it is one of the five in the 21 s from then
      expect((yield* ops).filter((op) => op === 3)).toHaveLength(5)
      yield* TestClock.adjust("20999 millis")
      expect(yield* ops).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* settleFor(1500)
      expect(yield* ops).toEqual([3])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a caller that gives up while its command waits for the send limit gives its send slot back", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const voice = { guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }
      const sent = Effect.map(peer.takeAll, (frames) => frames.length)
      // 116 places for commands, besides the Identify's
      yield* Effect.fork(Effect.forEach(Array.from({ length: 116 }), () => session.updateVoiceState(voice), { concurrency: "unbounded" }))
      yield* settleFor(1500)
      expect(yield* sent).toBe(116)
      // the next waits for a place, and its caller gives up after a second
      const gaveUp = yield* Effect.fork(Effect.timeout(session.updateVoiceState(voice), "1 second"))
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(Fiber.join(gaveUp)))._tag).toBe("TimeoutException")
      // once the window moved on, all 116 places are there again
      yield* TestClock.adjust("1 minute")
      yield* Effect.fork(Effect.forEach(Array.from({ length: 117 }), () => session.updateVoiceState(voice), { concurrency: "unbounded" }))
      yield* settleFor(1500)
      expect(yield* sent).toBe(116)
      // (the first beat at half the hour's interval: one within the minute, at a jitter under 1.7%,
      // was a frame more, one run in about sixty)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a new session identifies with the presence set last; one its Identify could not carry is refused", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
      yield* Effect.fork(session.updatePresence(watching))
      expect((yield* receiveOp(peer, 3)).d).toEqual(watching)
      // fits a Presence Update (4021 bytes), not an Identify, which carries the token and more
      const long = { since: null, activities: [{ name: "x".repeat(3950), type: 0 }], status: "online" as const, afk: false }
      const refused = yield* Effect.flip(session.updatePresence(long))
      expect(refused._tag === "InvalidCommand" && [refused.reason, refused.command]).toEqual(["TooLarge", "PresenceUpdate"])
      expect(refused.message).toMatch(/^PresenceUpdate: a new session's Identify carries the presence, and with this one it fails: Identify: payload is \d+ bytes \(the token \d+ of them\), the limit is 4096$/)

      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      // the pause after op 9, then the identify limiter's 5 s since the first Identify
      yield* TestClock.adjust("5 seconds")
      const { first } = yield* Fiber.join(again)
      expect([first.op, first.d["presence"]]).toEqual([2, watching])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence update given up on before it went out is forgotten: the next session identifies with the presence before it; one that went out is kept", () =>
    Effect.gen(function*() {
      // the next update waits for a new ready connection, and its caller gives up
      const session = yield* showedWatchingThenInvalidated
      const gaveUp = yield* Effect.fork(Effect.timeout(session.updatePresence(idle), "500 millis"))
      yield* TestClock.adjust("500 millis")
      expect((yield* Effect.flip(Fiber.join(gaveUp)))._tag).toBe("TimeoutException")
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      const { first, peer: next } = yield* Fiber.join(again)
      expect([first.op, first.d["presence"]]).toEqual([2, watching])
      yield* next.sendJson(ready(1, "session-2"))
      yield* settle
      // and it is not sent on the new connection either
      yield* TestClock.adjust("1 minute")
      expect(Chunk.toArray(yield* next.takeAll).filter((frame) => typeof frame === "string" && frame.includes("\"op\":3"))).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence update given up on after an Identify carried it has gone out: the next Identify still shows it", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
      // the gateway session ends; the update is made while no connection is ready
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const update = yield* Effect.fork(session.updatePresence(watching))
      yield* settle
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("6 seconds")
      const second = yield* Fiber.join(next)
      expect([second.first.op, second.first.d["presence"]]).toEqual([2, watching])
      // given up before READY, its op 3 not written: the gateway shows it all the same
      yield* Fiber.interrupt(update)
      yield* second.peer.sendJson(ready(1, "session-2"))
      yield* settle
      yield* second.peer.sendJson({ op: 9, d: false, s: null, t: null })
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("6 seconds")
      const third = yield* Fiber.join(again)
      expect([third.first.op, third.first.d["presence"]]).toEqual([2, watching])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("two presence updates both given up on, the older first, leave the presence as it was before both", () =>
    Effect.gen(function*() {
      const session = yield* showedWatchingThenInvalidated
      // two updates while no connection is ready; their callers give up, the older one first
      const first = yield* Effect.fork(Effect.timeout(session.updatePresence(idle), "300 millis"))
      yield* settle
      const second = yield* Effect.fork(Effect.timeout(session.updatePresence(dnd), "600 millis"))
      yield* settle
      yield* TestClock.adjust("600 millis")
      expect((yield* Effect.flip(Fiber.join(first)))._tag).toBe("TimeoutException")
      expect((yield* Effect.flip(Fiber.join(second)))._tag).toBe("TimeoutException")
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("6 seconds")
      const { first: identify } = yield* Fiber.join(again)
      expect([identify.op, identify.d["presence"]]).toEqual([2, watching])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a presence update given up on while it is being written went out: the next session identifies with it", () =>
    Effect.gen(function*() {
      const latch = yield* Deferred.make<void>()
      yield* Effect.gen(function*() {
        const { peer, session } = yield* readySession({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }, 3_600_000)
        const update = yield* Effect.fork(session.updatePresence(idle))
        // the frame is on its way; its caller gives up before the socket says it was written
        expect((yield* receiveOp(peer, 3)).d).toEqual(idle)
        yield* Fiber.interrupt(update)
        yield* Deferred.succeed(latch, undefined)
        yield* settle
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
        yield* settle
        const again = yield* Effect.fork(acceptAndHello(3_600_000))
        yield* TestClock.adjust("6 seconds")
        const { first } = yield* Fiber.join(again)
        expect([first.op, first.d["presence"]]).toEqual([2, idle])
      }).pipe(Effect.provide(Layer.mergeAll(slowPresenceWrites(latch), IdentifyLimiter.layerMemory, FetchHttpClient.layer)))
    }))

  it.scoped("a command about a guild another shard holds is refused at once with InvalidCommand, not left to time out", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ shard: [1, 2], intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      // (id >> 22) % 2: 4242 is on shard 0, (1 << 22) | 4242 on shard 1
      const [elsewhere, here] = ["4242", String((1n << 22n) | 4242n)]
      const refusals = [
        yield* Effect.flip(session.requestGuildMembers({ guild_id: elsewhere, query: "", limit: 0 })),
        yield* Effect.flip(session.updateVoiceState({ guild_id: elsewhere, channel_id: null, self_mute: false, self_deaf: false })),
        yield* Effect.flip(session.requestSoundboardSounds([here, elsewhere])),
        yield* Effect.flip(session.requestChannelInfo({ guild_id: elsewhere, fields: ["status"] }))
      ]
      expect(refusals.map((error) => [error._tag, error.message])).toEqual(
        ["RequestGuildMembers", "VoiceStateUpdate", "RequestSoundboardSounds", "RequestChannelInfo"].map((tag) => [
          "InvalidCommand",
          `${tag}: guild 4242 is on shard 0 of 2, not on this session's shard 1`
        ])
      )
      // nothing went out; the guild this shard holds goes
      yield* session.requestChannelInfo({ guild_id: here, fields: ["status"] })
      expect((yield* receiveOp(peer, 43)).d).toEqual({ guild_id: here, fields: ["status"] })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a gateway that answers every Identify with op 9 gets them further and further apart, not one per spacing", () =>
    Effect.gen(function*() {
      yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const identifiedAt: Array<number> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { first, peer } = yield* acceptAndHello(3_600_000)
        if (first.op === 2) identifiedAt.push(yield* Clock.currentTimeMillis)
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      })))
      for (let minute = 0; minute < 30; minute++) yield* TestClock.adjust("1 minute")
      // one per 5 s spacing would be 360; the backoff (1 s doubling to 60 s) comes after each
      // pause, and after three in a row the session holds back (2, 4, 8 minutes...)
      expectBackedOff(identifiedAt, 12)
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)))

  it.scoped("a gateway that invalidates every session soon after READY gets connections further and further apart", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options())
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { peer } = yield* acceptAndHello(3_600_000)
        yield* peer.sendJson(ready(1))
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      })))
      for (let minute = 0; minute < 30; minute++) yield* TestClock.adjust("1 minute")
      // one per 1-5 s pause (or per 5 s identify spacing) would be 100 and more; the backoff (1 s
      // doubling to 60 s) comes after each pause, and after three in a row the session is held
      // back, 2, 4, 8 minutes...: the gaps grow past the backoff's minute
      expectBackedOff((yield* gateway.attempts).map((attempt) => attempt.at), 15)
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)))

  // Op 9 true takes the backoff alone, as op 7 does: the session resumes, spending no session
  // start. Held back as an Identify is (90 s, 3, 6, 12 min...), it outlived Discord's window to
  // resume (a few minutes), and the Identify after spent the start the hold-back spares.
  it.scoped("a gateway that invalidates every session soon after READY or RESUMED, resumably, has it resumed a backoff apart, never held back", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const seen: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => void seen.push(t.reason._tag))))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const opened: Array<{ readonly op: number; readonly at: number }> = []
      let sequence = 1
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { first, peer } = yield* acceptAndHello(3_600_000)
        opened.push({ op: first.op, at: yield* TestClock.currentTimeMillis })
        yield* peer.sendJson(first.op === 2 ? ready(sequence) : dispatch(++sequence, "RESUMED", {}))
        yield* settle
        yield* peer.sendJson({ op: 9, d: true, s: null, t: null })
      })))
      yield* settle
      for (let i = 0; i < 10 * 60; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // one Identify, then Resumes only, never held back, none waiting past the backoff's longest
      expect(opened.map((o) => o.op)).toEqual([2, ...opened.slice(1).map(() => 6)])
      expect(opened.length).toBeGreaterThan(10)
      expect(seen).not.toContain("HeldBack")
      const gaps = opened.slice(1).map((o, i) => o.at - opened[i]!.at)
      expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000)
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)), 60_000)

  // The count goes on through the Resumes: a gateway that then refuses each Resume (op 9), or asks
  // for each again (4000) until the session is given up, has the Identify after it held back, as
  // after op 9s that each ended a session. (A Resume asked for again started the count over: one
  // Identify every four and a half minutes, all day, never held back.)
  for (
    const [refusal, minutes, most] of [
      ["refused with op 9", 30, 15],
      ["asked for again (4000) until the session is given up", 60, 8]
    ] as const
  ) {
    it.scoped(`after op 9 true soon after each READY, every Resume ${refusal}: the Identifies are held back`, () =>
      Effect.gen(function*() {
        const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
        const seen: Array<string> = []
        yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => void seen.push(t.reason._tag))))
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        const identifiedAt: Array<number> = []
        yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
          const { first, peer } = yield* acceptAndHello(3_600_000)
          if (first.op === 2) {
            identifiedAt.push(yield* TestClock.currentTimeMillis)
            yield* peer.sendJson(ready(1))
            yield* settle
            yield* peer.sendJson({ op: 9, d: true, s: null, t: null })
          } else if (refusal === "refused with op 9") {
            yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
          } else {
            yield* peer.close(4000, "")
          }
        })))
        for (let minute = 0; minute < minutes; minute++) yield* TestClock.adjust("1 minute")
        expect(seen).toContain("HeldBack")
        expectBackedOff(identifiedAt, most)
      }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)))
  }

  it.scoped("out of a replay, an event whose sequence goes back is delivered, and one stray large sequence costs no later event", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const events = yield* collect(session, 14)
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1))
      yield* peer.sendJson(dispatch(5, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(Number.MAX_SAFE_INTEGER, "TYPING_START", {}))
      for (let sequence = 6; sequence <= 15; sequence++) yield* peer.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      const got = yield* Fiber.join(events)
      expect(got.map((event) => event.sequence)).toEqual([1, 5, 3, Number.MAX_SAFE_INTEGER, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
      // the resume point stays at the highest
      expect((yield* session.snapshot).sequence).toBe(Number.MAX_SAFE_INTEGER)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("RESUMED on a connection that identifies is a decode failure, never a ready connection that sent no Identify", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* peer.sendJson(dispatch(1, "RESUMED", {}))
      yield* settle
      const last = yield* Stream.runHead(session.transitions)
      expect(Option.map(last, ({ reason, to }) => [to._tag, describeReason(reason)])).toEqual(
        Option.some(["Disconnected", "decode failed: RESUMED on a connection that identifies"])
      )
      expect(yield* peer.isOpen).toBe(false)
    }).pipe(Effect.provide(TestLayer)))

  // it was delivered ahead of READY, of no session (the state Identifying), and READY then moved
  // the resume point back below it: the next Resume's replay brought it again (chaos4)
  it.scoped("a dispatch after the Identify and before READY is a decode failure: nothing delivered twice, READY first", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const events = yield* collect(session, 3)
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(ready(1))
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toBe("decode failed: MESSAGE_CREATE before READY")
      expect(yield* peer.isOpen).toBe(false)
      // no session yet: the next connection identifies (past the identify limiter's spacing), and
      // its events come once, READY first
      yield* TestClock.adjust("20 seconds")
      const { first: again, peer: next } = yield* acceptAndHello(3_600_000)
      expect(again.op).toBe(2)
      yield* next.sendJson(ready(1))
      for (const sequence of [2, 3]) yield* next.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      expect((yield* Fiber.join(events)).map((event) => [event.t, event.sequence])).toEqual([["READY", 1], ["MESSAGE_CREATE", 2], [
        "MESSAGE_CREATE",
        3
      ]])
    }).pipe(Effect.provide(TestLayer)))

  // an answer to nothing: a READY before Hello was taken, and the Identify after it started a
  // second session (4005, a session start spent); a RESUMED before Hello made the Resume after it
  // wait out the ready timeout on a ready connection; a READY again moved the resume point back
  // (a READY before a Resume forgot the session it would have resumed, as an op 9 did)
  for (
    const answer of [
      { name: "a READY before Hello", resumed: false, frame: ready(1), told: "READY before this connection's Identify" },
      { name: "a RESUMED before Hello on a connection that resumes", resumed: true, frame: dispatch(1, "RESUMED", {}), told: "RESUMED before this connection's Resume" },
      { name: "a READY before Hello on a connection that resumes", resumed: true, frame: ready(1), told: "READY before this connection's Resume" },
      { name: "an op 9 before Hello", resumed: false, frame: { op: 9, d: true }, told: "an invalid session (op 9) before this connection's Identify" },
      { name: "an op 9 before Hello on a connection that resumes", resumed: true, frame: { op: 9, d: false }, told: "an invalid session (op 9) before this connection's Resume" }
    ]
  ) {
    it.scoped(`${answer.name} is a decode failure: nothing sent after it, never a ready connection`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = answer.resumed
          ? (yield* Effect.tap(readySession({}, 3_600_000), ({ peer }) => Effect.zipRight(peer.close(4000), TestClock.adjust("5 seconds")))).session
          : yield* Session.make(options())
        const peer = yield* gateway.accept
        const states: Array<string> = []
        yield* Effect.forkScoped(Stream.runForEach(session.transitions, ({ reason, to }) => Effect.sync(() => states.push(`${to._tag}: ${describeReason(reason)}`))))
        yield* settle
        yield* peer.sendJson(answer.frame)
        yield* peer.sendJson(hello(3_600_000))
        yield* settle
        expect(states.at(-1)).toBe(`Disconnected: decode failed: ${answer.told}`)
        expect(states.filter((state) => state.startsWith("Connected"))).toEqual([])
        expect(yield* sentOps(peer)).toEqual([])
        expect(yield* peer.isOpen).toBe(false)
        // the next connection authenticates as this one would have
        yield* TestClock.adjust("5 seconds")
        const { first } = yield* acceptAndHello(3_600_000)
        expect(first.op).toBe(answer.resumed ? 6 : 2)
      }).pipe(Effect.provide(TestLayer)))
  }

  // its sequence went into the Resume, and the replay after it skipped the events in between
  it.scoped("a dispatch before the connection's Resume went out is a decode failure: the next Resume carries the last delivered sequence, nothing lost", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const events = yield* collect(session, 6)
      for (const sequence of [2, 3]) yield* peer.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("5 seconds")
      const gateway = yield* MemoryTransport.MemoryGateway
      const stray = yield* gateway.accept
      yield* stray.sendJson(dispatch(6, "MESSAGE_CREATE", {}))
      yield* stray.sendJson(hello(3_600_000))
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toBe("decode failed: MESSAGE_CREATE before this connection's Resume")
      expect(yield* sentOps(stray)).toEqual([])
      yield* TestClock.adjust("5 seconds")
      const { first, peer: next } = yield* acceptAndHello(3_600_000)
      expect(first).toMatchObject({ op: 6, d: { seq: 3 } })
      for (const sequence of [4, 5, 6]) yield* next.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      yield* next.sendJson(dispatch(7, "RESUMED", {}))
      expect((yield* Fiber.join(events)).map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5, 6])
    }).pipe(Effect.provide(TestLayer)))

  // it was taken as a READY on a connection that resumes: the session identified anew, a session
  // start spent and the resumed session thrown away
  it.scoped("a READY after RESUMED on one connection is a decode failure: the next connection resumes the same session", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      for (const sequence of [2, 3]) yield* peer.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("5 seconds")
      const { first, peer: second } = yield* acceptAndHello(3_600_000)
      expect(first).toMatchObject({ op: 6, d: { seq: 3, session_id: "session-1" } })
      yield* second.sendJson(dispatch(4, "RESUMED", {}))
      yield* second.sendJson(dispatch(5, "MESSAGE_CREATE", {}))
      yield* second.sendJson(ready(6, "session-2"))
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toBe("decode failed: READY on a connection already answered")
      yield* TestClock.adjust("5 seconds")
      const { first: third } = yield* acceptAndHello(3_600_000)
      expect(third).toMatchObject({ op: 6, d: { seq: 5, session_id: "session-1" } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a second READY on one connection is a decode failure: the resume point stays where the events took it", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      for (const sequence of [2, 3, 4, 5]) yield* peer.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(ready(1))
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toBe("decode failed: READY on a connection already answered")
      yield* TestClock.adjust("5 seconds")
      const { first } = yield* acceptAndHello(3_600_000)
      // from 1, the replay would have handed the program 2 to 5 again
      expect(first).toMatchObject({ op: 6, d: { seq: 5, session_id: "session-1" } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a READY read over wss:// whose resume_gateway_url is ws:// is resumed at the gateway URL: the token never goes in the clear", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ gateway: "wss://gateway.test/" }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(dispatch(1, "READY", {
        v: 10,
        session_id: "session-1",
        resume_gateway_url: "ws://eavesdropper.test/",
        user: { id: "1" },
        guilds: [],
        application: { id: "2" }
      }))
      yield* settle
      yield* peer.close(4000)
      const resumed = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      const { first } = yield* Fiber.join(resumed)
      expect(first.op).toBe(6)
      expect((yield* gateway.attempts).map(({ url }) => new URL(url).origin)).toEqual(["wss://gateway.test", "wss://gateway.test"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request the gateway would not answer as asked, for want of an intent, is refused at once and not sent", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds }, 3_600_000)
      const all = yield* Effect.flip(session.requestGuildMembers({ guild_id: "81384788765712384", query: "", limit: 0 }))
      expect(all.message).toBe(`RequestGuildMembers: the whole member list (query "") needs the GuildMembers intent`)
      const presences = yield* Effect.flip(session.requestGuildMembers({ guild_id: "81384788765712384", user_ids: ["1"], presences: true }))
      expect(presences.message).toBe("RequestGuildMembers: presences need the GuildPresences intent")
      expect([all._tag, presences._tag]).toEqual(["InvalidCommand", "InvalidCommand"])
      // a name prefix or ids need neither
      yield* Effect.fork(session.requestGuildMembers({ guild_id: "81384788765712384", query: "ab", limit: 5 }))
      const sent = yield* receiveOp(peer, 8)
      expect(sent.d).toMatchObject({ query: "ab", limit: 5 })
      expect(yield* peer.takeAll).toHaveLength(0)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("member requests made at the same instant with the same random draw get distinct nonces, each its own guild's members", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const guilds = ["81384788765712384", "41771983423143937"] as const
      const requests = yield* Effect.forEach(guilds, (guild_id, i) =>
        Effect.fork(session.requestGuildMembers({ guild_id, user_ids: [String(i + 1)] })))
      const sent = [yield* receiveOp(peer, 8), yield* receiveOp(peer, 8)] as ReadonlyArray<{ d: { guild_id: string; nonce: string } }>
      expect(sent[0]!.d.nonce).not.toBe(sent[1]!.d.nonce)
      for (const [i, { d }] of sent.entries()) {
        yield* peer.sendJson(memberAnswer(2 + i, d.guild_id, d.nonce, [{ user: { id: String(i + 1) } }]))
      }
      const answers = yield* Effect.forEach(requests, Fiber.join)
      expect(answers.map(({ guildId, members }) => [guildId, members])).toEqual([
        [guilds[0], [{ user: { id: "1" } }]],
        [guilds[1], [{ user: { id: "2" } }]]
      ])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a member request sent on a gateway session that op 9 ends fails with Lost at once; one sent after goes out on the next session", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({
        intents: Intents.Guilds | Intents.GuildMembers,
        backoff: { afterInvalidSession: ["1 second", "1 second"] }
      }, 3_600_000)
      const lost = yield* Effect.fork(Effect.flip(session.requestGuildMembers({ guild_id: "81384788765712384", user_ids: ["1"] })))
      yield* receiveOp(peer, 8)
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const error = yield* Fiber.join(lost)
      expect(error).toMatchObject({ _tag: "MemberRequestError", reason: "Lost", guildId: "81384788765712384" })
      expect(error.message).toBe("request guild members for 81384788765712384 was sent on a gateway session that ended before its answer came; ask again")
      // made between the sessions: it waits for the next, and is answered there
      const later = yield* Effect.fork(session.requestGuildMembers({ guild_id: "81384788765712384", user_ids: ["2"] }))
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      const { peer: next } = yield* Fiber.join(again)
      yield* next.sendJson(ready())
      const sent = (yield* receiveOp(next, 8)) as { d: { nonce: string } }
      yield* next.sendJson(memberAnswer(2, "81384788765712384", sent.d.nonce, [{ user: { id: "2" } }]))
      expect((yield* Fiber.join(later)).members).toEqual([{ user: { id: "2" } }])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request sent before an op 9 that allows a resume is not Lost: it is answered after the resume", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({
        intents: Intents.Guilds | Intents.GuildMembers,
        backoff: { afterInvalidSession: ["1 second", "1 second"] }
      }, 3_600_000)
      const request = yield* Effect.fork(session.requestGuildMembers({ guild_id: "81384788765712384", user_ids: ["1"] }))
      const sent = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
      yield* peer.sendJson({ op: 9, d: true, s: null, t: null })
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      const { first, peer: next } = yield* Fiber.join(again)
      expect(first).toMatchObject({ op: 6, d: { session_id: "session-1" } })
      yield* next.sendJson(dispatch(2, "RESUMED", {}))
      yield* next.sendJson(memberAnswer(3, "81384788765712384", sent.d.nonce, [{ user: { id: "1" } }]))
      expect((yield* Fiber.join(request)).members).toEqual([{ user: { id: "1" } }])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request awaited inside the events handler times out once the buffer is full; forked, it is answered (README)", () =>
    Effect.gen(function*() {
      const guild_id = "81384788765712384"
      const run = (fork: boolean) =>
        Effect.gen(function*() {
          const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers, bufferSize: 2 }, 3_600_000)
          const outcomes: Array<string> = []
          const request = Effect.match(session.requestGuildMembers({ guild_id, user_ids: ["1"] }), {
            onFailure: (error) => outcomes.push(error._tag === "MemberRequestError" ? error.reason : error._tag),
            onSuccess: ({ members }) => outcomes.push(`${members.length} member`)
          })
          yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
            event.t !== "MESSAGE_CREATE" ? Effect.void : fork ? Effect.asVoid(Effect.forkScoped(request)) : request))
          yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
          const sent = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
          // more events than the buffer holds, then the answer
          for (const s of [3, 4, 5]) yield* peer.sendJson(dispatch(s, "TYPING_START", {}))
          yield* peer.sendJson(memberAnswer(6, guild_id, sent.d.nonce, [{ user: { id: "1" } }]))
          yield* settle
          yield* TestClock.adjust("30 seconds")
          yield* settle
          return outcomes
        }).pipe(Effect.scoped)
      expect(yield* run(false)).toEqual(["Timeout"])
      expect(yield* run(true)).toEqual(["1 member"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request made while no connection is ready waits for one: its timeout counts from when it went out", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      // an outage: every connect hangs until it times out
      yield* gateway.hangNextConnect(Infinity)
      const session = yield* Session.make(options({ intents: Intents.Guilds | Intents.GuildMembers }))
      const request = yield* Effect.fork(Effect.flip(session.requestGuildMembers({ guild_id: "81384788765712384", query: "", limit: 0 })))
      // a minute without a connection (it failed with Timeout at 30 s, never sent)
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(request))).toBe(true)
      yield* gateway.acceptConnects
      // the next try, after its backoff
      const accepted = yield* Effect.fork(gateway.accept)
      while (Option.isNone(yield* Fiber.poll(accepted))) yield* TestClock.adjust("1 second")
      const peer = yield* Fiber.join(accepted)
      yield* peer.handshake(3_600_000)
      yield* peer.sendJson(ready())
      yield* receiveOp(peer, 8)
      yield* TestClock.adjust("29999 millis")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(request))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const failed = yield* Fiber.poll(request)
      expect(Option.map(failed, (exit) => Exit.isSuccess(exit) && exit.value._tag === "MemberRequestError" && exit.value.reason)).toEqual(Option.some("Timeout"))
    }).pipe(Effect.provide(TestLayer)))

  // it failed with Timeout 30 s after it went out, the session still disconnected, and the answer
  // the resume replayed was dropped
  it.scoped("a member request's timeout counts only while a connection is answered: one sent before a drop is answered by the resume's replay after a long outage", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const guild = "81384788765712384"
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const request = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] })))
      const { d: { nonce } } = (yield* receiveOp(peer, 8)) as { readonly d: { readonly nonce: string } }
      yield* gateway.hangNextConnect(Infinity)
      yield* peer.drop
      yield* TestClock.adjust("2 minutes")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(request))).toBe(true)
      yield* gateway.acceptConnects
      const accepted = yield* Effect.fork(gateway.accept)
      while (Option.isNone(yield* Fiber.poll(accepted))) yield* TestClock.adjust("1 second")
      const next = yield* Fiber.join(accepted)
      expect(yield* next.handshake(3_600_000)).toMatchObject({ op: 6 })
      yield* next.sendJson(dispatch(2, "GUILD_MEMBERS_CHUNK", { guild_id: guild, nonce, members: [{ user: { id: "1" } }], chunk_index: 0, chunk_count: 1 }))
      yield* next.sendJson(dispatch(3, "RESUMED", {}))
      yield* settle
      expect(yield* Fiber.join(request)).toEqual(Either.right({ guildId: guild, members: [{ user: { id: "1" } }], notFound: [], presences: [] }))
      // and once a connection is answered again, the time counts from its answer
      const stalled = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["2"] })))
      yield* receiveOp(next, 8)
      yield* next.drop
      const reconnecting = yield* Effect.fork(gateway.accept)
      while (Option.isNone(yield* Fiber.poll(reconnecting))) yield* TestClock.adjust("1 second")
      const third = yield* Fiber.join(reconnecting)
      yield* third.handshake(3_600_000)
      yield* TestClock.adjust("20 seconds")
      yield* third.sendJson(dispatch(4, "RESUMED", {}))
      yield* settle
      yield* TestClock.adjust("29 seconds")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(stalled))).toBe(true)
      yield* TestClock.adjust("1 second")
      yield* settle
      const failed = yield* Fiber.join(stalled)
      expect(Either.isLeft(failed) && failed.left._tag === "MemberRequestError" && failed.left.reason).toBe("Timeout")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request from JavaScript with a nonce of its own fails with InvalidCommand, nothing sent", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const given = { guild_id: "81384788765712384", user_ids: ["1"], nonce: "mine" } as unknown as Commands.MemberRequest
      const refused = yield* Effect.flip(session.requestGuildMembers(given))
      expect(refused._tag).toBe("InvalidCommand")
      yield* settle
      expect((yield* sentOps(peer)).filter((op) => op === 8)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a command from JavaScript carrying another command's `_tag` and fields fails with InvalidCommand, nothing sent (it sent a second Identify)", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const smuggled = { _tag: "Identify", token: Redacted.make(secret), properties: { os: "l", browser: "b", device: "d" }, intents: 513 }
      const refused = yield* Effect.flip(session.requestChannelInfo(smuggled as unknown as Parameters<typeof session.requestChannelInfo>[0]))
      expect(refused._tag === "InvalidCommand" && refused.command).toBe("RequestChannelInfo")
      const voice = yield* Effect.flip(session.updateVoiceState({ _tag: "Heartbeat", seq: 12345 } as unknown as Parameters<typeof session.updateVoiceState>[0]))
      expect(voice._tag === "InvalidCommand" && voice.command).toBe("VoiceStateUpdate")
      yield* settle
      expect(yield* sentOps(peer)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("150 member requests made together all go out and are answered: those behind the send limit do not time out in the queue", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 41_250)
      yield* peer.autoAck(true)
      const requests = yield* Effect.forEach(Array.from({ length: 150 }, (_, i) => i), (i) =>
        Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: "81384788765712384", user_ids: String(1000 + i) }))))
      // a gateway that answers each op 8 as it arrives
      let sequence = 2
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const payload = (yield* peer.receivedJson) as { op: number; d: { nonce: string } }
        if (payload.op !== 8) return
        yield* peer.sendJson(dispatch(sequence++, "GUILD_MEMBERS_CHUNK", {
          guild_id: "81384788765712384",
          members: [],
          not_found: [],
          chunk_index: 0,
          chunk_count: 1,
          nonce: payload.d.nonce
        }))
      })))
      // the send limit lets some 115 out in the first 61 s window, the rest in the next
      for (let second = 0; second < 125; second++) {
        yield* settle
        yield* TestClock.adjust("1 second")
      }
      const outcomes = yield* Effect.forEach(requests, Fiber.join)
      // 35 of them failed with Timeout, never sent
      expect(outcomes.filter(Either.isLeft).map((outcome) => outcome.left)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a 429 from GET /gateway/bot is waited out for as long as it asks before the next try (Random at 0: no spread)", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          const first = requests++ === 0
          const response = first
            ? new Response(JSON.stringify({ message: "You are being rate limited.", retry_after: 120 }), { status: 429, headers: { "retry-after": "120" } })
            : new Response(JSON.stringify({ url: "wss://gateway.test/", shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 60_000, max_concurrency: 1 } }))
          return HttpClientResponse.fromWeb(request, response)
        })
      )
      const { gateway: _configured, ...viaGatewayBot } = options()
      const session = yield* Session.make(viaGatewayBot).pipe(Effect.provideService(HttpClient.HttpClient, client))
      yield* settle
      const last = yield* Stream.runHead(session.transitions)
      expect(Option.map(last, ({ reason }) => describeReason(reason))).toEqual(
        Option.some("gateway info failed: GET /gateway/bot failed: 429 Too Many Requests; retry after 120 s")
      )
      yield* TestClock.adjust("119 seconds")
      expect(requests).toBe(1)
      const connected = yield* Effect.fork(acceptAndHello(60_000))
      yield* TestClock.adjust("2 seconds")
      expect(requests).toBe(2)
      const { first } = yield* Fiber.join(connected)
      expect(first.op).toBe(2)
    }).pipe(Effect.withRandom(Random.fixed([0])), Effect.provide(TestLayer)))

  describe("GET /gateway/bot saying no session start is left", () => {
    const exhausted = HttpClient.make((request) =>
      Effect.sync(() =>
        HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ url: "wss://gateway.test/", shards: 1, session_start_limit: { total: 1000, remaining: 0, reset_after: 60_000, max_concurrency: 1 } }))
        )
      )
    )
    const { gateway: _configured, ...viaGatewayBot } = options()
    const limited = (onExhausted: "fail" | "wait") =>
      Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemoryWith({ onExhausted }), Layer.succeed(HttpClient.HttpClient, exhausted))

    it.scoped("with onExhausted wait, opens no socket until the budget refills (one sat open, heartbeating, until then)", () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* Session.make(viaGatewayBot)
        yield* TestClock.adjust("59 seconds")
        expect((yield* gateway.attempts).length).toBe(0)
        const connected = yield* Effect.fork(acceptAndHello(60_000))
        yield* TestClock.adjust("1 second")
        expect((yield* Fiber.join(connected)).first.op).toBe(2)
      }).pipe(Effect.provide(limited("wait"))))

    it.scoped("with onExhausted fail, ends the session with IdentifyBudgetExhausted without opening a socket", () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(viaGatewayBot)
        expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "IdentifyBudgetExhausted", shard: 0, resetAfter: 60_000 })
        expect((yield* gateway.attempts).length).toBe(0)
      }).pipe(Effect.provide(limited("fail"))))
  })

  it.scoped("GET /gateway/bot is asked again for a fresh identify once its answer is older than gatewayInfoMaxAge, not for a resume", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          requests++
          const answer = { url: `wss://gateway-${requests}.test/`, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 60_000, max_concurrency: 1 } }
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer)))
        })
      )
      const { gateway: _configured, ...viaGatewayBot } = options({ gatewayInfoMaxAge: "1 hour" })
      yield* Session.make(viaGatewayBot).pipe(Effect.provideService(HttpClient.HttpClient, client))
      const gateway = yield* MemoryTransport.MemoryGateway
      // a connection that is ready for 40 minutes, then told op 9
      const connectThenInvalid = (mayResume: boolean) =>
        Effect.gen(function*() {
          const accepted = yield* Effect.fork(acceptAndHello(3_600_000))
          // the pause after op 9, and the identify limiter's spacing
          yield* TestClock.adjust("10 seconds")
          const { first, peer } = yield* Fiber.join(accepted)
          // Discord's resume URL is wss://, like its gateway's
          const readyOverTls = dispatch(1, "READY", { ...(ready().d as object), resume_gateway_url: "wss://resume.test/" })
          yield* peer.sendJson(first.op === 2 ? readyOverTls : dispatch(2, "RESUMED", {}))
          yield* TestClock.adjust("40 minutes")
          yield* peer.sendJson({ op: 9, d: mayResume, s: null, t: null })
          return first.op
        })
      const ops: Array<number> = []
      for (const mayResume of [false, true, false, false]) ops.push(yield* connectThenInvalid(mayResume))
      expect(ops).toEqual([2, 2, 6, 2])
      // the identify at 40 minutes used the answer; the resume at 80 went to the resume URL; the
      // identify at 120, past the hour, asked again
      expect((yield* gateway.attempts).map(({ url }) => new URL(url).host)).toEqual([
        "gateway-1.test",
        "gateway-1.test",
        "resume.test",
        "gateway-2.test"
      ])
      expect(requests).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a defect while authenticating (here a custom identify limiter's) ends the session with it, not a hang nor a clean end", () =>
    Effect.gen(function*() {
      const { exit, peer, session } = yield* endedWhileAuthenticating
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const events = yield* Effect.exit(Stream.runDrain(session.events))
      expect(Exit.isFailure(events) && Cause.isDie(events.cause)).toBe(true)
      const last = yield* Stream.runHead(session.transitions)
      expect(Option.map(last, ({ reason, to }) => [to._tag, reason])).toEqual(
        Option.some(["Disconnected", Reason.Fatal({ message: "defect: the limiter's store is gone" })])
      )
      expect(yield* peer.isOpen).toBe(false)
    }).pipe(Effect.provide(withIdentify(() => Effect.die(new Error("the limiter's store is gone"))))))

  it.scoped("a heartbeat that cannot be sent (a custom encoding's defect) ends the session with it, not a connection left ready without heartbeats", () =>
    Effect.gen(function*() {
      // the encoding option takes a custom Encoding: this one cannot write a heartbeat
      const session = yield* Session.make(options({ encoding: beatlessEncoding }))
      const { peer } = yield* acceptAndHello(1000)
      yield* peer.sendJson(ready(1))
      yield* settle
      // the first beat (jitter 0.5) is due at 500 ms
      yield* TestClock.adjust("500 millis")
      yield* settle
      const exit = yield* Effect.exit(session.await)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.pretty(exit.cause)).toMatch(/this encoder cannot write heartbeats/)
      const last = yield* Stream.runHead(session.transitions)
      expect(Option.map(last, ({ reason, to }) => [to._tag, reason._tag])).toEqual(Option.some(["Disconnected", "Fatal"]))
      expect(yield* peer.isOpen).toBe(false)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a custom identify limiter that runs send twice sends one Identify: the second run is a defect that ends the session, saying so", () =>
    Effect.gen(function*() {
      const { exit, peer } = yield* endedWhileAuthenticating
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toMatch(/the identify limiter ran send twice for one Identify/)
      expect((yield* sentOps(peer)).filter((op) => op === 2)).toHaveLength(1)
    }).pipe(Effect.provide(withIdentify((_shard, send) => Effect.zipRight(send(Effect.void), send(Effect.void))))))

  it.scoped("a custom identify limiter that returns without running send is a defect that ends the session, saying so (it sat Identifying for ever)", () =>
    Effect.gen(function*() {
      const { exit, peer } = yield* endedWhileAuthenticating
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toMatch(/the identify limiter returned without running send/)
      expect((yield* sentOps(peer)).filter((op) => op === 2)).toHaveLength(0)
    }).pipe(Effect.provide(withIdentify(() => Effect.void as never))))

  it.scoped("a custom identify limiter's work after send runs to its end, READY or not (a lock held for the spacing was released at READY)", () => {
    const steps: Array<string> = []
    return Effect.gen(function*() {
      const { peer } = yield* Effect.map(readySession({}, 3_600_000), ({ peer }) => ({ peer }))
      expect(steps).toEqual(["sent"])
      // READY came at once; the limiter holds its key for 5 s after the send
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(steps).toEqual(["sent", "released"])
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.provide(withIdentify((_shard, send) =>
      Effect.gen(function*() {
        const sent = yield* send(Effect.void)
        steps.push("sent")
        yield* Effect.sleep("5 seconds")
        steps.push("released")
        return sent
      }))))
  })

  it.scoped("a custom identify limiter whose answered waits holds no connection up: READY makes it ready, and its frames are read", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      // the reader ran the limiter's answered itself, and waited with it
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      expect((yield* session.snapshot).sequence).toBe(2)
    }).pipe(Effect.provide(withIdentify((_shard, send) => send(Effect.never)))))

  it.scoped("a replay a slow program holds back past the ready timeout keeps its connection: no second Resume has it sent again, no Identify", () =>
    Effect.gen(function*() {
      // a program busy with each event for an hour: READY taken; event 2 fills the buffer; the
      // connection drops
      const { session, took } = yield* busyWhenDropped("1 hour")
      // every Resume is answered with the replay (3-5) and RESUMED; the reader waits with event 3
      const firstOps = yield* answeringResumes(60, (seq) => [
        ...Array.from({ length: 5 - seq }, (_, i) => dispatch(seq + 1 + i, "MESSAGE_CREATE", {})),
        dispatch(6, "RESUMED", {})
      ])
      expect(took).toEqual([1])
      // one Resume, its connection held for the program (it was ended by the ready timeout again and
      // again, each time a Resume and the whole replay once more)
      expect(firstOps).toEqual([6])
      const stopping = yield* Effect.fork(session.disconnect())
      yield* TestClock.adjust("10 seconds")
      expect(Option.map(yield* Fiber.join(stopping), (point) => point.sequence)).toEqual(Option.some(2))
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a Resume's replay waiting for room outlives the ready timeout; standing still with the reader free, it ends at the next", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({
        bufferSize: 1,
        timeouts: { ready: "10 seconds" },
        resume: { sessionId: "session-1", sequence: 5, resumeGatewayUrl: resumeUrl, shard: [0, 1] }
      }))
      const { first, peer } = yield* acceptAndHello(60_000)
      expect(first.op).toBe(6)
      // replayed before RESUMED: the first fills the buffer, the reader waits with the second
      yield* peer.sendJson(dispatch(6, "MESSAGE_CREATE", { n: 6 }))
      yield* peer.sendJson(dispatch(7, "MESSAGE_CREATE", { n: 7 }))
      yield* settle
      // the ready timeout ended the connection here, and the next Resume had the replay again
      yield* TestClock.adjust("1 minute")
      expect(yield* peer.isOpen).toBe(true)
      expect((yield* session.snapshot).sequence).toBe(6)
      // the program takes both; the replay then stands still (no RESUMED): the next timeout ends it
      const taken = yield* Stream.runCollect(Stream.take(session.events, 2))
      expect(Chunk.toReadonlyArray(taken).map((event) => event.sequence)).toEqual([6, 7])
      yield* TestClock.adjust("10 seconds")
      expect((yield* peer.closed).by).toBe("client")
      yield* TestClock.adjust("2 seconds")
      const { first: resume } = yield* acceptAndHello(60_000)
      expect(resume.d.seq).toBe(7)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("disconnecting as the program takes from a full buffer: the held event, if it reaches the program, is in the resume point", () =>
    Effect.gen(function*() {
      const { session } = yield* heldEvent
      // the program takes while the shard stops
      const stopping = yield* Effect.fork(session.disconnect())
      const taking = yield* Effect.fork(Stream.runCollect(session.events))
      yield* settle
      yield* TestClock.adjust("10 seconds")
      const point = yield* Fiber.join(stopping)
      const delivered = Chunk.toReadonlyArray(yield* Fiber.join(taking)).map((event) => event.sequence)
      // whatever the program got is counted, and nothing else: a resume from the point replays the rest
      expect(Option.map(point, ({ sequence }) => sequence)).toEqual(Option.some(delivered[delivered.length - 1]))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("snapshots read late shows each transition's snapshot as it was taken then; snapshot is taken now", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      // taken now: the latest transition (READY), with what the session has now
      const pull = yield* Stream.toPull(session.snapshots)
      const seen = Chunk.toArray(yield* pull)
      for (let s = 2; s <= 5; s++) yield* peer.sendJson(dispatch(s, "TYPING_START", {}))
      yield* settle
      yield* peer.drop
      yield* settle
      yield* TestClock.adjust("5 seconds")
      const { first, peer: next } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(6)
      yield* next.sendJson(dispatch(6, "RESUMED", {}))
      yield* settle
      // read only now: five transitions later
      while (seen.length < 6) seen.push(...(yield* pull))
      expect(seen.map((snapshot) => [snapshot.state._tag, snapshot.reason._tag, snapshot.sequence, snapshot.reconnects])).toEqual([
        ["Connected", "Ready", 1, 0],
        ["Disconnected", "Closed", 5, 0],
        ["ConnectingHttp", "Start", 5, 1],
        ["ConnectingWs", "Opened", 5, 1],
        ["Connected", "Hello", 5, 1],
        ["Connected", "Resumed", 6, 1]
      ])
      expect(seen.every((snapshot) => snapshot.sessionId === "session-1" && snapshot.shard[0] === 0)).toBe(true)
      expect(seen[1]!.since).toBeLessThan(seen[2]!.since)
      expect(yield* session.snapshot).toMatchObject({ state: { _tag: "Connected" }, reason: { _tag: "Resumed" }, sequence: 6, since: seen[5]!.since })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a READY or RESUMED held back by a full buffer is an answer: the ready timeout does not end the connection", () =>
    Effect.gen(function*() {
      // a resume whose replayed event fills the buffer, so RESUMED waits for room
      const session = yield* Session.make(options({
        bufferSize: 1,
        resume: { sessionId: "session-1", sequence: 5, resumeGatewayUrl: resumeUrl, shard: [0, 1] }
      }))
      const reasons: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, ({ reason }) => Effect.sync(() => reasons.push(reason._tag))))
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(6)
      yield* peer.sendJson(dispatch(6, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(7, "RESUMED", {}))
      yield* settle
      yield* TestClock.adjust("1 minute")
      expect(yield* peer.isOpen).toBe(true)
      // then op 9: the new session's READY waits behind RESUMED, and is not timed out either
      const taken = yield* Stream.runHead(session.events)
      expect(Option.map(taken, (event) => event.t)).toEqual(Option.some("MESSAGE_CREATE"))
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("5 seconds")
      const { first: identify, peer: next } = yield* acceptAndHello(3_600_000)
      expect(identify.op).toBe(2)
      yield* next.sendJson(ready(1, "session-2"))
      yield* settle
      yield* TestClock.adjust("1 minute")
      expect(yield* next.isOpen).toBe(true)
      expect(reasons.filter((reason) => reason === "Opened" || reason === "ReadyTimeout")).toEqual(["Opened", "Opened"])
      // the pause after op 9 (3 s) and the backoff (0.75 s: RESUMED went in only once taken, so the
      // connection was not yet stable) within the 5 s above
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // A program whose handler, at the message of sequence 2, does some work and then moves to a voice
  // channel; the connection drops while it works, so its command waits for the session to be
  // back. The Resume's replay (`3..last`, then RESUMED) meets a buffer of two places.
  const commandAwaitedInHandler = (last: number) =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ bufferSize: 2 }))
      const voice = { guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      const phases: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, ({ to }) =>
        Effect.sync(() => phases.push(to._tag === "Connected" ? to.phase : to._tag))))
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
        Effect.suspend(() => {
          seen.push(`${event.sequence}:${event.t}`)
          return event.sequence === 2 ? Effect.zipRight(Deferred.await(gate), session.updateVoiceState(voice)) : Effect.void
        })))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      yield* settle
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("1 second")
      const { first, peer: next } = yield* Fiber.join(again)
      expect(first.op).toBe(6)
      for (let s = 3; s <= last; s++) yield* next.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* next.sendJson(dispatch(last + 1, "RESUMED", {}))
      yield* settle
      const sent = yield* sentPayloads(next)
      expect(sent.filter(({ op }) => op === 4).map(({ d }) => d)).toEqual([voice])
      const replayed = Array.from({ length: last - 2 }, (_, i) => `${i + 3}:MESSAGE_CREATE`)
      expect(seen).toEqual(["1:READY", "2:MESSAGE_CREATE", ...replayed, `${last + 1}:RESUMED`])
      // the session says Ready only at RESUMED
      expect(phases.slice(-2)).toEqual(["Resuming", "Ready"])
      expect(yield* next.isOpen).toBe(true)
    })

  it.scoped("a command goes out once RESUMED is read, held back or not: a handler that waits on it before it takes more events is not stuck", () =>
    // the replay fills the buffer's two places: RESUMED waits for room
    commandAwaitedInHandler(4).pipe(Effect.provide(TestLayer)))

  it.scoped("a command goes out once a Resume's replay waits for room: a handler that waits on it is not stuck behind a replay longer than the buffer", () =>
    // two fill the buffer, the reader waits with the third, RESUMED unread
    commandAwaitedInHandler(7).pipe(Effect.provide(TestLayer)))

  it.scoped("disconnecting while the reader waits for room in a full buffer ends at once; the event it held is not counted", () =>
    Effect.gen(function*() {
      const { session } = yield* heldEvent
      // nobody takes events
      expect(yield* disconnectUnread(session)).toEqual({ stoppedWithoutTime: true, sequence: Option.some(1) })
    }).pipe(Effect.provide(TestLayer)))

  // The reader checked for a sent close only when the close went out, not when it began to wait.
  it.scoped("disconnecting when the buffer fills only after the close went out (events in flight) still ends at once", () =>
    Effect.gen(function*() {
      // READY is in the buffer: room for two more; nobody takes events (the handler is the one stopping)
      const { peer, session } = yield* readySession({ bufferSize: 3 }, 60_000)
      for (let s = 2; s <= 4; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      // the events in the buffer, not the one held back
      expect(yield* disconnectUnread(session)).toEqual({ stoppedWithoutTime: true, sequence: Option.some(3) })
    }).pipe(Effect.provide(TestLayer)))

  // The reader, waiting for room, reads no close, and the zombie check is off meanwhile: a program
  // that read no events (or whose consumer failed) kept a Ready session on a dead socket for good.
  it.scoped("a connection lost while the reader waits for room in a full buffer is noticed at the next heartbeat, and resumed", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer, session } = yield* readySession({ bufferSize: 2 }, 41_250)
      yield* peer.autoAck(true)
      // READY and event 2 fill the buffer; the reader waits with event 3
      for (let s = 2; s <= 3; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      // the first beat is due at half the interval (jitter 0.5)
      yield* TestClock.adjust("20624 millis")
      expect((yield* session.state)._tag).toBe("Connected")
      yield* TestClock.adjust("1 millis")
      expect((yield* session.state)._tag).toBe("Disconnected")
      // the backoff, then a Resume from the last event in the buffer
      yield* TestClock.adjust("1 second")
      const { first } = yield* acceptAndHello()
      expect(first).toMatchObject({ op: 6, d: { seq: 2 } })
      expect((yield* gateway.attempts).length).toBe(2)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // The failed beat was taken as a connection lost without a code: a 4004 (the token reset while
  // the program was slow) became a Resume on a new connection.
  // it was forgotten before the last transition: its snapshot said no sequence and no session id
  // (one taken now says what the session holds now: nothing)
  for (const by of ["a fatal close (4004)", "end()"] as const) {
    it.scoped(`the last of the snapshots of a session ended by ${by} says where it ended; it leaves no resume point`, () =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, 3_600_000)
        yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
        yield* settle
        if (by === "end()") yield* session.end("1 second").pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
        else yield* peer.close(4004, "Authentication failed.")
        yield* Effect.exit(session.await)
        const last = yield* Stream.runLast(session.snapshots)
        expect(Option.getOrThrow(last)).toMatchObject({ state: { _tag: "Disconnected" }, sequence: 2, sessionId: "session-1" })
        expect(yield* session.snapshot).toMatchObject({ sequence: null, sessionId: undefined })
        expect(yield* session.disconnect()).toEqual(Option.none())
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a fatal close read by nobody while the reader waits for room stays fatal: no new connection, the session fails with it", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer, session } = yield* readySession({ bufferSize: 2 }, 41_250)
      for (let s = 2; s <= 3; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.close(4004, "Authentication failed.")
      // the first beat (at half the interval), then more than the backoff
      yield* TestClock.adjust("20625 millis")
      yield* TestClock.adjust("5 seconds")
      expect((yield* gateway.attempts).length).toBe(1)
      expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "FatalClose", code: 4004 })
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // a proxy's close reason is its own words: one quoting the token, or writing control characters
  it.scoped("a fatal close's reason is kept in FatalClose, the token masked and control characters escaped, and quoted in its message", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      yield* peer.close(4004, `bad token ${secret}\u001b[2J`)
      const failure = yield* Effect.flip(session.await)
      expect(failure._tag === "FatalClose" && failure.reason).toBe("bad token <token>\\u001b[2J")
      expect(failure.message).toBe(
        `shard 0: the gateway closed with 4004 (${CloseCode.describe(4004)}) saying "bad token <token>\\u001b[2J"; not reconnecting`
      )
      expect(JSON.stringify(failure)).not.toContain(secret)
    }).pipe(Effect.provide(TestLayer)))

  // what keeps coming is no sign of a replay: a node forwarding live events that never says
  // RESUMED held the session in Resuming for ever, no command going out, nothing told
  it.scoped("events that keep coming after a Resume, to a program that keeps up, with no RESUMED: the ready timeout ends the connection", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { ready: "5 seconds", hello: "1 hour" } }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("10 seconds") // past the backoff
      const { first, peer: next } = yield* acceptAndHello(41_250)
      expect(first.op).toBe(6)
      yield* next.autoAck(true)
      for (let s = 2; s <= 3; s++) {
        yield* next.sendJson(dispatch(s, "MESSAGE_CREATE", { s }))
        yield* TestClock.adjust("2 seconds")
      }
      expect(yield* next.isOpen).toBe(true)
      yield* TestClock.adjust("1 second")
      expect((yield* next.closed).by).toBe("client")
      expect(yield* session.state).toMatchObject({ _tag: "Disconnected" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a replay longer than the ready timeout, taken by a slow program, keeps its connection to its RESUMED: one Resume, every event once, in order", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ bufferSize: 1, timeouts: { ready: "5 seconds", hello: "1 hour" } }))
      // a program that takes 2 s per event
      const delivered = yield* slowProgram(session, "2 seconds")
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("10 seconds") // past the backoff
      const { first, peer: next } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(6)
      // the gateway takes the Resume and replays up to 40, then RESUMED: 80 s of the program's time,
      // sixteen ready timeouts (each ended the connection, and the next Resume had the replay again)
      for (let s = (first.d.seq as number) + 1; s <= 40; s++) yield* next.sendJson(dispatch(s, "MESSAGE_CREATE", { s }))
      yield* next.sendJson(dispatch(41, "RESUMED", {}))
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* settle
      }
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
      expect((yield* gateway.attempts).length).toBe(2)
      expect(delivered).toEqual(Array.from({ length: 41 }, (_, i) => i + 1))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Resumes answered only by replayed events the events option leaves out are answered ones: the session keeps resuming", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ events: ["MESSAGE_CREATE"], timeouts: { hello: "1 hour" } }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.drop
      const opened: Array<number> = []
      let s = 1
      for (let attempt = 0; attempt < 4; attempt++) {
        yield* TestClock.adjust("10 seconds") // past the backoff
        const { first, peer: next } = yield* acceptAndHello(3_600_000)
        opened.push(first.op)
        if (first.op !== 6) break
        // the gateway replays what the session missed (none of it wanted), then drops before RESUMED
        for (let i = 0; i < 3; i++) yield* next.sendJson(dispatch(++s, "TYPING_START", { channel_id: "1", user_id: "2", timestamp: s }))
        yield* settle
        yield* next.drop
        yield* settle
      }
      expect(opened).toEqual([6, 6, 6, 6])
      expect((yield* gateway.attempts).length).toBe(5)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("an upgrade refused with Retry-After (a 429 from a proxy) is not tried again before that wait and its spread, then the backoff", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options())
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* gateway.failNextConnect(1, { status: 429, retryAfter: 30 })
      yield* peer.drop
      yield* settle
      // the first try after the drop is refused: it asks for 30 s
      yield* TestClock.adjust("2 seconds")
      expect((yield* gateway.attempts).length).toBe(2)
      expect((yield* session.snapshot).reason).toMatchObject({ _tag: "ConnectFailed", retryAfter: 30 })
      // it was tried again at the backoff's next step, a second or two later; the 30 s are spread
      // by up to a quarter (Random at 0.5: an eighth, 33.75 s), then the backoff
      yield* TestClock.adjust("31 seconds")
      expect((yield* gateway.attempts).length).toBe(2)
      const resumed = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("5 seconds")
      expect((yield* Fiber.join(resumed)).first.op).toBe(6)
      const attempts = yield* gateway.attempts
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(33_750)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("an upgrade's Retry-After is waited out for at most an hour (a 503's 7200 s; Random at 0: no spread), and one that is no number of seconds, or a 404's, not at all", () => {
    // a transport of the program's own may say anything: its first connect fails asking for ever,
    // its second is a 404 asking for an hour (taken from a 429 or a 5xx only)
    let told = 0
    const asksForEver = Layer.effect(
      GatewayTransport,
      Effect.map(GatewayTransport, (memory) => ({
        ...memory,
        connect: (url: string, connectOptions: Parameters<typeof memory.connect>[1]) =>
          ++told > 2
            ? memory.connect(url, connectOptions)
            : Effect.fail(new TransportError(told === 1 ? { reason: "Connect", retryAfter: Infinity } : { reason: "Connect", status: 404, retryAfter: 3600 }))
      }))
    ).pipe(Layer.provideMerge(TestLayer))
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(1, { status: 503, retryAfter: 7200 })
      const session = yield* Session.make(options())
      yield* settle
      expect(told).toBe(1)
      // `Infinity` parked the session for ever: it is tried again at the backoff's first step, and
      // its words say no wait (they said "retry after Infinity s")
      expect((yield* session.snapshot).reason).toEqual(Reason.ConnectFailed({ message: "no reason given" }))
      // and the 404 too: within the backoff's first steps, the gateway's turn came
      yield* TestClock.adjust("10 seconds")
      expect(told).toBe(3)
      expect(yield* gateway.attempts).toHaveLength(1)
      // the gateway's 503 asks for two hours: told, and waited, as one
      expect((yield* session.snapshot).reason).toEqual(
        Reason.ConnectFailed({ message: "HTTP 503; retry after 3600 s", retryAfter: 3600 })
      )
      const refusedAt = (yield* gateway.attempts)[0]!.at
      yield* TestClock.adjust(refusedAt + 3_599_000 - (yield* Clock.currentTimeMillis))
      expect(yield* gateway.attempts).toHaveLength(1)
      const opened = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("10 seconds")
      expect((yield* Fiber.join(opened)).first.op).toBe(2)
      expect((yield* gateway.attempts)[1]!.at - refusedAt).toBeGreaterThanOrEqual(3_600_000)
    }).pipe(Effect.withRandom(Random.fixed([0])), Effect.provide(asksForEver))
  })

  it.scoped("resumes that cannot reach the resume URL try the gateway URL every other time, and resume there", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options())
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* gateway.failNextConnect(3)
      yield* peer.drop
      const resumed = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("20 seconds") // past three backoffs
      const { first, peer: next } = yield* Fiber.join(resumed)
      expect(first.op).toBe(6)
      yield* next.sendJson(dispatch(2, "RESUMED", {}))
      const urls = (yield* gateway.attempts).slice(1).map((attempt) => attempt.url.startsWith(resumeUrl) ? "resume" : "gateway")
      // three refused at the resume URL, then the Resume goes to the gateway URL
      expect(urls).toEqual(["resume", "resume", "resume", "gateway"])
      expect((yield* session.snapshot).sessionId).toBe("session-1")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a handed-over session whose resume URL is down keeps trying it every other time while GET /gateway/bot fails", () => {
    const down = HttpClient.make((request) => Effect.sync(() => HttpClientResponse.fromWeb(request, new Response("down", { status: 503 }))))
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(5)
      const { gateway: _, ...withoutGateway } = options()
      yield* Session.make({
        ...withoutGateway,
        // plaintext, as the resume URL is (a ws:// point where the API is https is refused)
        api: "http://api.test/api/v10",
        resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: resumeUrl, shard: [0, 1] }
      })
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("10 seconds")
      // three at the resume URL refused; then every other attempt asks for the gateway URL (which
      // fails) and the others go back to the resume URL
      const urls = (yield* gateway.attempts).map((attempt) => attempt.url.startsWith(resumeUrl))
      expect(urls.length).toBeGreaterThanOrEqual(6)
      expect(urls.every((atResumeUrl) => atResumeUrl)).toBe(true)
    }).pipe(
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, down)))
    )
  })

  // Discord resumes a session only over the encoding it began with; a point did not say which,
  // and a process configured for ETF sent a JSON session's Resume.
  it.scoped("a resume point says its encoding; a session of another encoding identifies anew, with a warning, instead of resuming it", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { session } = yield* readySession()
      const stopping = yield* Effect.fork(session.disconnect())
      yield* TestClock.adjust("5 seconds")
      expect(Option.getOrThrow(yield* Fiber.join(stopping))).toMatchObject({ sessionId: "session-1", encoding: "json" })
      const point = { sessionId: "session-2", sequence: 4, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, encoding: "etf" as const }
      const overJson = yield* Session.make(options({ resume: point }))
      const { first } = yield* acceptAndHello()
      expect(first.op).toBe(2)
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        "WARN the resume point was saved over etf, where this session uses json: it identifies anew"
      ])
      // stopped before READY, it gives the point back: the gateway session there is as it was
      const stoppingEarly = yield* Effect.fork(overJson.disconnect())
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(stoppingEarly)).toEqual(Option.some(point))
      // a point without one is taken as of the session's encoding
      const { encoding: _, ...unsaid } = point
      yield* Session.make(options({ resume: unsaid }))
      const { first: resume } = yield* acceptAndHello()
      expect(resume.op).toBe(6)
    }).pipe(Effect.provide(Layer.merge(TestLayer, layer)))
  })

  // A Resume carries no intents: the gateway keeps those of the session's Identify. A deploy that
  // added an intent and resumed from its points never got that intent's events.
  it.scoped("a resume point says its intents; a session asking for other intents identifies anew, with a warning, and gives the point back until READY", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { session } = yield* readySession()
      const stopping = yield* Effect.fork(session.disconnect())
      yield* TestClock.adjust("5 seconds")
      expect(Option.getOrThrow(yield* Fiber.join(stopping))).toMatchObject({ sessionId: "session-1", intents: 513 })
      const point = { sessionId: "session-2", sequence: 4, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, encoding: "json" as const, intents: 513 }
      const more = Intents.Guilds | Intents.GuildMessages | Intents.MessageContent
      const widened = yield* Session.make(options({ intents: more, resume: point }))
      const { first } = yield* acceptAndHello()
      expect(first).toMatchObject({ op: 2, d: { intents: more } })
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        `WARN the resume point was saved with intents 513, where this session asks for ${more}: it identifies anew`
      ])
      // both differing, both are said (the warning named only the encoding)
      expect(SessionOptions.whyNotResumed({ ...point, encoding: "etf" }, Json.encoding, more)).toBe(
        `saved over etf, where this session uses json, and saved with intents 513, where this session asks for ${more}`
      )
      const stoppingEarly = yield* Effect.fork(widened.disconnect())
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(stoppingEarly)).toEqual(Option.some(point))
      // the same intents resume; a point without them is taken as of the session's
      for (const given of [point, { ...point, intents: undefined }]) {
        yield* Session.make(options({ resume: given }))
        const { first: resume } = yield* acceptAndHello()
        expect(resume.op).toBe(6)
      }
      // intents that are no bit set are refused with the point
      const refused = yield* Effect.flip(Session.make(options({ resume: { ...point, intents: 1.5 } })))
      expect(refused).toMatchObject({ _tag: "InvalidOptions" })
      expect(refused.message).toContain("resume.intents must be a set of intent bits (a non-negative whole number), got 1.5")
      // a bit this version does not know (a point saved by a newer one, rolled back from) is no
      // mistake: the point is not resumed, only handed back (it was InvalidOptions, which stopped a
      // whole fleet at the rollback)
      const newer = { ...point, intents: 513 + 2 ** 29 }
      const rolledBack = yield* Session.make(options({ resume: newer }))
      // (its Identify waits for the limiter's 5 s after the one above)
      const opening = yield* Effect.fork(acceptAndHello())
      yield* TestClock.adjust("6 seconds")
      expect((yield* Fiber.join(opening)).first.op).toBe(2)
      const handedBack = yield* Effect.fork(rolledBack.disconnect())
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(handedBack)).toEqual(Option.some(newer))
    }).pipe(Effect.provide(Layer.merge(TestLayer, layer)))
  })

  // Dropped on any failure: a session that could not identify (the day's budget spent) threw away
  // the only way back to the gateway session there without an Identify. A fatal close drops it.
  it.scoped("a point of another encoding survives a failure that says nothing of it (budget spent, intents refused), not a refused token", () => {
    const exhausted = HttpClient.make((request) =>
      Effect.succeed(HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify({ url: "wss://gateway.test/", shards: 1, session_start_limit: { total: 1000, remaining: 0, reset_after: 60_000, max_concurrency: 1 } }))
      )))
    const { gateway: _, ...viaGatewayBot } = options()
    const point = { sessionId: "etf-session", sequence: 4, resumeGatewayUrl: "wss://resume.test/", shard: [0, 1] as const, encoding: "etf" as const }
    return Effect.gen(function*() {
      const spent = yield* Session.make({ ...viaGatewayBot, resume: point })
      expect(yield* Effect.flip(spent.await)).toMatchObject({ _tag: "IdentifyBudgetExhausted" })
      expect(yield* spent.disconnect()).toEqual(Option.some(point))
      // a token refused (4004) would refuse its Resume too: dropped; intents refused (4014) are
      // this session's Identify's alone: kept (here at a limiter with starts left)
      for (const [code, kept] of [[4004, Option.none()], [4014, Option.some(point)]] as const) {
        yield* Effect.provide(
          Effect.gen(function*() {
            const refused = yield* Session.make(options({ resume: point }))
            const { peer } = yield* acceptAndHello()
            yield* peer.close(code, "refused")
            expect(yield* Effect.flip(refused.await)).toMatchObject({ _tag: "FatalClose", code })
            expect(yield* refused.disconnect()).toEqual(kept)
          }),
          TestLayer
        )
      }
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, exhausted))))
  })

  // Its answer was dialled unchecked: a URL with a password, or http://, was sent the Identify and
  // its token; one that was no URL died in `new URL`.
  // it left the session ConnectingHttp for ever, trying nothing again; one that cannot be
  // interrupted held it until it answered
  for (const interruptible of [true, false]) {
    const which = interruptible ? "" : ", also one that cannot be interrupted,"
    it.scoped(`a gatewayUrl source that never answers${which} is given up after timeouts.connect and asked again with the backoff`, () => {
      const asked = { times: 0, interrupted: 0 }
      const source = Effect.suspend(() => {
        asked.times++
        const never = Effect.onInterrupt(Effect.never, () => Effect.sync(() => void asked.interrupted++))
        return interruptible ? never : Effect.uninterruptible(never)
      })
      return Effect.gen(function*() {
        const { gateway: _, ...withoutGateway } = options()
        const scope = yield* Scope.make()
        const session = yield* Scope.extend(Session.make({ ...withoutGateway, gatewayUrl: source, timeouts: { connect: "5 seconds" } }), scope)
        yield* TestClock.adjust("5 seconds")
        yield* settle
        expect(describeReason((yield* session.snapshot).reason)).toBe("gateway info failed: the gatewayUrl source failed: no answer within 5s")
        expect(asked).toEqual({ times: 1, interrupted: interruptible ? 1 : 0 })
        // the backoff, then the next try
        for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
        expect(asked.times).toBeGreaterThanOrEqual(3)
        // a stop waits a second at most for a source's cleanup
        yield* Scope.close(scope, Exit.void).pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      }).pipe(Effect.provide(TestLayer))
    })
  }

  // it ended the session as if stopped: `await` succeeded, the reason said Disconnect
  it.scoped("a gatewayUrl source interrupted by another than the session (a shared discovery's fiber) is an answer not given: tried again", () =>
    Effect.gen(function*() {
      const shared = yield* Effect.forkDaemon(Effect.never as Effect.Effect<string>)
      yield* Fiber.interrupt(shared)
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({ ...withoutGateway, gatewayUrl: Fiber.join(shared) })
      yield* settle
      expect(describeReason((yield* session.snapshot).reason)).toBe("gateway info failed: the gatewayUrl source failed: it was interrupted")
      expect(Option.isNone(yield* Fiber.poll(yield* Effect.fork(session.await)))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // a source tells the limiter nothing: it was asked each minute of an hours-long wait, and a wait
  // that ended while it answered waited a second for it
  it.scoped("a session waiting for the budget asks its gatewayUrl source nothing meanwhile", () => {
    const asked = { times: 0 }
    const source = Effect.sync(() => {
      asked.times++
      return gatewayUrl
    })
    return Effect.gen(function*() {
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({ ...withoutGateway, gatewayUrl: source })
      for (let minute = 0; minute < 10; minute++) yield* TestClock.adjust("1 minute")
      expect([(yield* session.snapshot).reason._tag, asked.times]).toEqual(["IdentifyBudget", 1])
    }).pipe(Effect.provide(programLimiter({ budgetReady: () => Effect.never })))
  })

  // the source left on its own past the timeout was also left by a stop: its cleanup ran after
  it.effect("a session stopped while an interruptible gatewayUrl source runs has the source's cleanup done when the stop returns", () =>
    Effect.gen(function*() {
      let cleaned = false
      const source = Effect.as(Effect.never, gatewayUrl).pipe(
        Effect.onInterrupt(() => Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 20), Effect.sync(() => void (cleaned = true))))
      )
      const { gateway: _, ...withoutGateway } = options()
      const scope = yield* Scope.make()
      yield* Scope.extend(Session.make({ ...withoutGateway, gatewayUrl: source, timeouts: { connect: "5 seconds" } }), scope)
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Scope.close(scope, Exit.void)
      expect(cleaned).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // a source's error asking for a wait of Infinity had the session sleep for ever; one of NaN or
  // less than none, not at all (rereview69d doubt)
  for (const asked of [Infinity, Number.NaN, -5, 1e9]) {
    it.scoped(`a gatewayUrl source's retryAfter of ${asked} is read as an answer's: no wait (or at most an hour), and the session connects after`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const { gateway: _, ...withoutGateway } = options()
        let asks = 0
        const source = Effect.suspend(() =>
          ++asks === 1
            ? Effect.fail(new GatewayInfoError({ reason: "RateLimited", detail: "slow down", retryAfter: asked, source: "gatewayUrl" }))
            : Effect.succeed(gatewayUrl)
        )
        const session = yield* Session.make({ ...withoutGateway, gatewayUrl: source })
        yield* settle
        const told = yield* session.snapshot
        expect(told.reason).toMatchObject({ _tag: "GatewayInfoFailed" })
        expect(told.reason._tag === "GatewayInfoFailed" && told.reason.message).toBe(
          `the gatewayUrl source failed: slow down${asked === 1e9 ? "; retry after 3600 s" : ""}`
        )
        const attempt = yield* Effect.fork(gateway.accept)
        // the backoff's first wait, or the hour and its spread
        yield* TestClock.adjust(asked === 1e9 ? "76 minutes" : "2 seconds")
        yield* settle
        expect(attempt.unsafePoll()).not.toBeNull()
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a gatewayUrl source's answer is checked as the gateway option is: a bad one fails the session with GatewayInfoError, sending nothing", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { gateway: _, ...withoutGateway } = options()
      for (const answer of ["wss://user:hunter2@discovered.test/", "https://discovered.test/", "not a url"]) {
        const session = yield* Session.make({ ...withoutGateway, gatewayUrl: Effect.succeed(answer) })
        const error = yield* Effect.flip(session.await)
        expect(error).toMatchObject({ _tag: "GatewayInfoError", reason: "Decode", source: "gatewayUrl" })
        expect(error.message).toBe("the gatewayUrl source failed: its answer is no ws:// or wss:// URL without a fragment or credentials")
      }
      expect(yield* gateway.attempts).toEqual([])
      // a plaintext one is taken, as the gateway option's is (a local gateway, a proxy), and so is
      // a plaintext point of such a session (its handoff was refused as a downgrade)
      for (const answer of ["wss://discovered.test/", "ws://127.0.0.1:8080/"]) {
        yield* Session.make({ ...withoutGateway, gatewayUrl: Effect.succeed(answer) })
        expect((yield* gateway.accept).url.startsWith(`${answer}?v=10`)).toBe(true)
      }
      const point = { sessionId: "local", sequence: 3, resumeGatewayUrl: "ws://127.0.0.1:8080/", shard: [0, 1] as const }
      yield* Session.make({ ...withoutGateway, gatewayUrl: Effect.succeed("ws://127.0.0.1:8080/"), resume: point })
      expect((yield* gateway.accept).url.startsWith("ws://127.0.0.1:8080/?v=10")).toBe(true)
      // the source's own failure is told as its own: no GET /gateway/bot was asked; its 401 is no
      // token refused, and keeps a point of another encoding
      // built from an answer whose fields may be missing (`undefined`, where optional properties are exact)
      const answered: { readonly status: number | undefined; readonly retryAfter: number | undefined } = { status: undefined, retryAfter: undefined }
      const failing = yield* Session.make({
        ...withoutGateway,
        gatewayUrl: Effect.fail(new GatewayInfoError({ reason: "Decode", detail: "discovery down", ...answered }))
      })
      expect((yield* Effect.flip(failing.await)).message).toBe("the gatewayUrl source failed: discovery down")
      const etf = { ...point, encoding: "etf" as const }
      const refused = yield* Session.make({
        ...withoutGateway,
        gatewayUrl: Effect.fail(new GatewayInfoError({ reason: "Unauthorized", detail: "401 from discovery" })),
        resume: etf
      })
      expect((yield* Effect.flip(refused.await)).message).toBe("the gatewayUrl source failed: 401 from discovery")
      expect(yield* refused.disconnect()).toEqual(Option.some(etf))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fails with a typed error naming the code on a fatal close, without reconnecting, and logs it once at Error", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options())
      const { peer } = yield* acceptAndHello()
      yield* peer.close(4004, "Authentication failed.")
      const result = yield* Effect.either(session.await)
      expect(result._tag === "Left" && result.left._tag).toBe("FatalClose")
      expect(result._tag === "Left" && result.left.message).toContain("4004")
      const streamed = yield* Effect.either(Stream.runDrain(session.events))
      expect(streamed._tag === "Left" && streamed.left._tag).toBe("FatalClose")
      yield* TestClock.adjust("10 minutes")
      expect((yield* gateway.attempts).length).toBe(1)
      expect(lines.filter((line) => line.startsWith("ERROR"))).toEqual([
        `ERROR the session ended for good: ${result._tag === "Left" && result.left.message}`
      ])
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })

  // a program's own onEnd hook (the README's way to follow many sessions) left it at Debug: only a
  // fleet, which tells it once for its shards, asks for that (`tellsFatalEnd`)
  for (const [tellsFatalEnd, level] of [[undefined, "ERROR"], [true, "DEBUG"]] as const) {
    it.scoped(`a session made with an onEnd hook tells its fatal end at ${level} when tellsFatalEnd is ${tellsFatalEnd}`, () => {
      const { layer, lines } = captured()
      return Effect.gen(function*() {
        const resolved = yield* SessionOptions.resolve(options())
        const session = yield* Session.makeWith(resolved, { onEnd: () => Effect.void, tellsFatalEnd })
        const { peer } = yield* acceptAndHello()
        yield* peer.close(4004, "Authentication failed.")
        yield* Effect.either(session.await)
        expect(lines.filter((line) => line.includes("the session ended for good")).map((line) => line.split(" ")[0])).toEqual([level])
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(layer), Effect.provide(TestLayer))
    })
  }

  for (const [code, expected] of [[4000, "resume"], [4008, "resume"], [4009, "identify"], [4007, "identify"], [4003, "identify"]] as const) {
    it.scoped(`after close ${code} it ${expected === "resume" ? "resumes at the resume URL" : "identifies at the gateway URL"}`, () =>
      Effect.gen(function*() {
        const { peer } = yield* readySession()
        yield* peer.close(code)
        // a new identify also waits for its identify-limiter turn, 5.2 s after the first one
        const accepted = yield* Effect.fork(acceptAndHello(60_000))
        yield* TestClock.adjust("2 seconds")
        yield* settle
        yield* TestClock.adjust("3200 millis")
        const { first, peer: next } = yield* Fiber.join(accepted)
        if (expected === "resume") {
          expect(first.op).toBe(6)
          expect(next.url.startsWith(resumeUrl)).toBe(true)
        } else {
          expect(first.op).toBe(2)
          expect(next.url.startsWith(gatewayUrl)).toBe(true)
        }
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a close's transition gives its code, what the code means, and the gateway's reason", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const reasons: Array<Reason> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => reasons.push(t.reason))))
      yield* settle
      yield* peer.close(4000, "Unknown error.")
      yield* settle
      const closed = reasons.find((reason) => reason._tag === "Closed")
      expect(closed).toEqual(Reason.Closed({ code: 4000, description: CloseCode.describe(4000), detail: "Unknown error." }))
      expect(describeReason(closed!)).toBe(`close 4000 (${CloseCode.describe(4000)}): "Unknown error."`)

      expect(describeReason(Reason.Closed({ code: undefined, description: "connection lost", detail: "\u001b[2J" }))).toBe(
        `connection lost: "\\u001b[2J"`
      )
      // DEL and C1 too, which JSON.stringify writes raw
      expect(describeReason(Reason.Closed({ code: 4000, description: "unknown", detail: "\u009b2J\u007f" }))).toBe(
        `close 4000 (unknown): "\\u009b2J\\u007f"`
      )
    }).pipe(Effect.provide(TestLayer)))

  // the transition kept the peer's text raw, and a program logging transitions as JSON wrote it so
  it.scoped("a close's reason is kept in its transition escaped: quotes, backslashes and control characters", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const reasons: Array<Reason> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => reasons.push(t.reason))))
      yield* settle
      yield* peer.close(4000, "Unknown \u009b2J \"error\" \u202eyxorp\u2028")
      yield* settle
      const closed = reasons.find((reason) => reason._tag === "Closed")
      const detail = "Unknown \\u009b2J \\\"error\\\" \\u202eyxorp\\u2028"
      expect(closed).toEqual(Reason.Closed({ code: 4000, description: CloseCode.describe(4000), detail }))
      expect(describeReason(closed!)).toBe(`close 4000 (${CloseCode.describe(4000)}): "${detail}"`)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("op 7 resumes; op 9 true resumes; op 9 false identifies anew", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession()
      yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
      expect((yield* peer.closed).code).not.toBe(1000)
      yield* TestClock.adjust("2 seconds")
      const second = yield* acceptAndHello()
      expect(second.first.op).toBe(6)
      yield* second.peer.sendJson({ op: 9, d: true, s: null, t: null })
      yield* TestClock.adjust("5 seconds")
      const third = yield* acceptAndHello()
      expect(third.first.op).toBe(6)
      yield* third.peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* TestClock.adjust("10 seconds")
      const fourth = yield* acceptAndHello()
      expect(fourth.first.op).toBe(2)
      expect(fourth.peer.url.startsWith(gatewayUrl)).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an op 9 answering Identify starts the identify spacing: the next Identify goes 5 s after the answer", () =>
    Effect.gen(function*() {
      yield* Session.make(options({ backoff: { afterInvalidSession: ["1 second", "1 second"] } }))
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      // answered 40 ms after Identify, inside the limiter's 200 ms margin
      yield* TestClock.adjust("40 millis")
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(next))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const identified = yield* Fiber.poll(next)
      expect(Option.map(identified, (exit) => exit._tag === "Success" && exit.value.first.op)).toEqual(Option.some(2))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after a resume, replayed events already delivered are skipped and none is lost", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const events = yield* collect(session, 5)
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { n: 2 }))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", { n: 3 }))
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("2 seconds")
      const { first, peer: next } = yield* acceptAndHello()
      expect(first.d.seq).toBe(3)
      // a gateway may replay from before our sequence: those are skipped
      yield* next.sendJson(dispatch(2, "MESSAGE_CREATE", { n: 2 }))
      yield* next.sendJson(dispatch(3, "MESSAGE_CREATE", { n: 3 }))
      yield* next.sendJson(dispatch(4, "MESSAGE_CREATE", { n: 4 }))
      yield* next.sendJson(dispatch(5, "RESUMED", {}))
      const got = yield* Fiber.join(events)
      expect(got.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5])
      expect(got.map((e) => e.t)).toEqual(["READY", "MESSAGE_CREATE", "MESSAGE_CREATE", "MESSAGE_CREATE", "RESUMED"])
    }).pipe(Effect.provide(TestLayer)))

  const backoffOptions = {
    backoff: { initial: "1 second", max: "8 seconds", stableAfter: "30 seconds" },
    timeouts: { hello: "1 hour" }
  } as const

  /**
   * READY on `peer`, the connection up for `readyFor`, then dropped: how long after the drop the
   * session connected again (waiting up to `waitUpTo` for it).
   */
  const reconnectDelay = (
    peer: Effect.Effect.Success<ReturnType<typeof acceptAndHello>>["peer"],
    timing: { readonly readyFor: Duration.DurationInput; readonly waitUpTo: Duration.DurationInput }
  ) =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* peer.sendJson(ready())
      yield* settle
      yield* TestClock.adjust(timing.readyFor)
      yield* peer.drop
      const droppedAt = yield* Clock.currentTimeMillis
      yield* settle
      yield* TestClock.adjust(timing.waitUpTo)
      yield* gateway.accept
      const after = yield* gateway.attempts
      return after.at(-1)!.at - droppedAt
    })

  /**
   * A session whose connects failed until its backoff reached its cap (8 s): attempts at 0, 1, 3
   * and 7 s fail, the fifth, 8 s later, connects (jitter fixed at 1).
   */
  const connectedAtBackoff8s = (heartbeatInterval: number) =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(3)
      yield* Session.make(options(backoffOptions))
      yield* TestClock.adjust("15 seconds")
      return yield* acceptAndHello(heartbeatInterval)
    })

  it.scoped("backs off exponentially while the gateway is unreachable, capped, then resets once stable", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(8)
      yield* Session.make(options(backoffOptions))
      yield* TestClock.adjust("47 seconds")
      const { peer } = yield* acceptAndHello(3_600_000)
      const attempts = yield* gateway.attempts
      const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at)
      // jitter is fixed at 1 (the upper bound): 1, 2, 4, 8, 8, ... seconds
      expect(gaps).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000])
      expect(yield* reconnectDelay(peer, { readyFor: "30 seconds", waitUpTo: "1 second" })).toBe(1000)
    }).pipe(Effect.withRandom(Random.fixed([1])), Effect.provide(TestLayer)))

  it.scoped("a connect that hangs is given up after the connect timeout, and the next attempt follows the backoff", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.hangNextConnect()
      const session = yield* Session.make(options({ ...backoffOptions, timeouts: { connect: "3 seconds" } }))
      const reasons: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => reasons.push(t.reason._tag))))
      yield* settle
      yield* TestClock.adjust("2999 millis")
      expect((yield* gateway.attempts).length).toBe(1)
      expect(reasons).not.toContain("ConnectTimeout")
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(reasons).toContain("ConnectTimeout")
      expect(yield* session.state).toMatchObject({ _tag: "Disconnected" })
      // jitter fixed at 1: the first backoff is a second
      yield* TestClock.adjust("1 second")
      yield* acceptAndHello(3_600_000)
      expect((yield* gateway.attempts).map((a) => [a.at, a.outcome])).toEqual([[0, "hang"], [4000, "accept"]])
    }).pipe(Effect.withRandom(Random.fixed([1])), Effect.provide(TestLayer)))

  it.scoped("a connection ready for less than stableAfter does not reset the backoff", () =>
    Effect.gen(function*() {
      const { peer } = yield* connectedAtBackoff8s(3_600_000)
      expect(yield* reconnectDelay(peer, { readyFor: "29 seconds", waitUpTo: "8 seconds" })).toBe(8000)
    }).pipe(Effect.withRandom(Random.fixed([1])), Effect.provide(TestLayer)))

  it.scoped("a zombie is stable only if its heartbeats were acknowledged for stableAfter: one found dead later does not reset the backoff", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* connectedAtBackoff8s(20_000)
      yield* peer.sendJson(ready())
      yield* settle
      // the first beat (jitter 1: 20 s) is acknowledged, the next (40 s) is not
      yield* TestClock.adjust("20 seconds")
      yield* receiveOp(peer, 1)
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("40 seconds")
      // found dead at 60 s, ready for longer than stableAfter (30 s) but alive for only 20
      expect((yield* peer.closed).by).toBe("client")
      const closedAt = yield* Clock.currentTimeMillis
      yield* settle
      yield* TestClock.adjust("8 seconds")
      yield* gateway.accept
      expect((yield* gateway.attempts).at(-1)!.at - closedAt).toBe(8000)
    }).pipe(Effect.withRandom(Random.fixed([1])), Effect.provide(TestLayer)))

  it.scoped("delivers only the events asked for, yet counts every sequence, so resumes stay exact", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ events: ["MESSAGE_CREATE"] }))
      const events = yield* collect(session, 2)
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(ready())
      yield* peer.send(`{"t":"TYPING_START","s":2,"op":0,"d":{"channel_id":"1"}}`)
      yield* peer.send(`{"t":"MESSAGE_CREATE","s":3,"op":0,"d":{"content":"a"}}`)
      // an unwanted event whose header is not in Discord's order is parsed, and still not delivered
      yield* peer.send(`{"op":0,"d":{},"s":4,"t":"PRESENCE_UPDATE"}`)
      yield* peer.send(`{"t":"MESSAGE_CREATE","s":5,"op":0,"d":{"content":"b"}}`)
      const got = yield* Fiber.join(events)
      expect(got.map((e) => [e.t, e.sequence])).toEqual([["MESSAGE_CREATE", 3], ["MESSAGE_CREATE", 5]])
      yield* peer.drop
      yield* TestClock.adjust("2 seconds")
      const { first } = yield* acceptAndHello(60_000)
      expect(first).toEqual({ op: 6, d: { token: secret, session_id: "session-1", seq: 5 } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an outage (connects failing) does not count as failed resumes: the session resumes when it is back", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* readySession({ timeouts: { hello: "1 hour" } }, 60_000)
      yield* gateway.failNextConnect(6)
      yield* peer.drop
      yield* TestClock.adjust("2 minutes") // six failed connects: at most 1 + 2 + 4 + 8 + 16 + 32 s of backoff
      const { first } = yield* acceptAndHello(60_000)
      expect(first.op).toBe(6)
      expect((yield* gateway.attempts).length).toBe(1 + 6 + 1)
      // (Random at 0.5: backoff factors near 1 took the seven waits past the two minutes, and the
      // test waited for a connection that came later, one run in tens of thousands)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("three resumes in a row that are sent and never answered fall back to identify", () =>
    Effect.gen(function*() {
      const { peer } = yield* readySession({ timeouts: { ready: "5 seconds", hello: "1 hour" } }, 60_000)
      yield* peer.drop
      for (let attempt = 0; attempt < 3; attempt++) {
        yield* TestClock.adjust("10 seconds") // the backoff: at most 1, 2, then 4 s
        const { first, peer: next } = yield* acceptAndHello(60_000)
        expect(first.op).toBe(6)
        yield* TestClock.adjust("5 seconds") // no RESUMED: the ready timeout ends the connection
        expect((yield* next.closed).by).toBe("client")
      }
      // the fresh identify also waits for its identify-limiter turn
      const next = yield* Effect.fork(acceptAndHello(60_000))
      yield* TestClock.adjust("10 seconds")
      yield* settle
      yield* TestClock.adjust("10 seconds")
      const { first } = yield* Fiber.join(next)
      expect(first.op).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  for (const code of [4008, 4000]) {
    it.scoped(`Resumes each closed with ${code} (resume, says the table) go on resuming: the gateway never said the session was gone (three gave it up)`, () =>
      Effect.gen(function*() {
        const { peer } = yield* readySession({}, 3_600_000)
        yield* peer.drop
        yield* settle
        const ops: Array<number> = []
        for (let i = 0; i < 4; i++) {
          const next = yield* Effect.fork(acceptAndHello(3_600_000))
          // a second at a time until the next connection came (the backoff), so no timeout of its runs out
          while ((yield* Fiber.poll(next))._tag === "None") {
            yield* TestClock.adjust("1 second")
            yield* settle
          }
          const { first, peer: connection } = yield* Fiber.join(next)
          ops.push(first.op)
          if (i < 3) yield* connection.close(code)
          yield* settle
        }
        expect(ops).toEqual([6, 6, 6, 6])
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a gateway closing every Resume with 4000 is resumed on, the backoff growing to its cap, until the tenth gives the session up", () =>
    Effect.gen(function*() {
      yield* Session.make(options())
      const first = yield* acceptAndHello(41_250)
      yield* first.peer.sendJson(ready())
      yield* settle
      const seen: Array<{ op: number; at: number }> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { first: sent, peer } = yield* acceptAndHello(41_250)
        seen.push({ op: sent.op, at: yield* Clock.currentTimeMillis })
        yield* peer.close(4000, "unknown")
      })))
      yield* first.peer.drop
      yield* settle
      for (let i = 0; i < 600; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // ten Resumes (not three: the gateway never said the session was gone), then a new session
      expect(seen.map((s) => s.op).slice(0, 11)).toEqual([...Array(10).fill(6), 2])
      const gaps = seen.slice(1, 10).map((s, i) => s.at - seen[i]!.at)
      // grows, then capped at max × 0.75 (Random 0.5)
      expect(gaps.slice(0, 5)).toEqual([1500, 3000, 6000, 12000, 24000])
      expect(gaps.at(-1)).toBe(45000)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a RESUMED read but waiting for room is an answer: connections lost meanwhile never make the session identify anew", () =>
    Effect.gen(function*() {
      // a program that takes no events for now: READY fills a buffer of one
      yield* Session.make(options({ bufferSize: 1, timeouts: { hello: "1 hour" } }))
      const { peer } = yield* acceptAndHello(10_000)
      yield* peer.sendJson(ready(1))
      yield* settle
      yield* peer.drop
      const firstOps: Array<number> = []
      for (let attempt = 0; attempt < 4; attempt++) {
        yield* TestClock.adjust("70 seconds") // past any backoff
        const { first, peer: next } = yield* acceptAndHello(10_000)
        firstOps.push(first.op)
        // nothing was missed: RESUMED alone answers, and waits for room
        yield* next.sendJson(dispatch(2, "RESUMED", {}))
        yield* settle
        // lost; the next heartbeat tells the reader, which waits for room
        yield* next.drop
        yield* TestClock.adjust("10 seconds")
        yield* settle
      }
      // the fourth connection identified: three held RESUMEDs counted as unanswered Resumes
      expect(firstOps).toEqual([6, 6, 6, 6])
    }).pipe(Effect.provide(TestLayer)))

  // The READY was dropped with its connection, and the next connection identified again: a session
  // start spent each time the connection dropped while a program took no events.
  it.scoped("a READY read but waiting for room when its connection is lost reaches the program, and its session is resumed", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ bufferSize: 1, timeouts: { hello: "1 hour" } }))
      yield* readyHeldThenLost(ready(1, "session-2"))
      // no connection while the program takes nothing: READY still waits, for no socket
      yield* TestClock.adjust("70 seconds")
      expect((yield* gateway.attempts).length).toBe(2)
      const taken = yield* collect(session, 2)
      yield* settle
      const readies = (yield* Fiber.join(taken)).map((event) => (event.d as { session_id: string }).session_id)
      expect(readies).toEqual(["session-1", "session-2"])
      yield* TestClock.adjust("70 seconds") // past any backoff
      const { first: resume } = yield* acceptAndHello(10_000)
      expect(resume).toMatchObject({ op: 6, d: { session_id: "session-2", seq: 1 } })
      expect(Option.map(yield* session.disconnect("1 second"), (point) => point.sessionId)).toEqual(Option.some("session-2"))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a READY that outlived its connection over wss:// with a ws:// resume_gateway_url is resumed at the gateway URL", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ bufferSize: 1, gateway: "wss://gateway.test/", timeouts: { hello: "1 hour" } }))
      yield* readyHeldThenLost(dispatch(1, "READY", { ...(ready(1, "session-2").d as object), resume_gateway_url: "ws://eavesdropper.test/" }))
      yield* Effect.fork(Stream.runDrain(session.events))
      yield* TestClock.adjust("70 seconds")
      const { first } = yield* acceptAndHello(10_000)
      expect(first).toMatchObject({ op: 6, d: { session_id: "session-2" } })
      expect((yield* gateway.attempts).map(({ url }) => new URL(url).origin)).toEqual(Array(3).fill("wss://gateway.test"))
    }).pipe(Effect.provide(TestLayer)))

  // the stop read the session from what the program was given, which a READY waiting for room has
  // not reached: it saw no session, and closed resumably (4900) one no point would carry
  it.scoped("a disconnect while a new session's READY waits for room ends that gateway session with 1000 and gives no point of it", () =>
    Effect.gen(function*() {
      const { second, session } = yield* secondReadyWaiting
      expect((yield* session.state)._tag).toBe("Connected")
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("6 seconds")
      const point = yield* Fiber.join(stopping)
      expect({ point: Option.isSome(point), code: (yield* second.closed).code }).toEqual({ point: false, code: 1000 })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a READY waiting for room is dropped with a connection that ended its session (4009); one still waiting stops at once", () =>
    Effect.gen(function*() {
      const { second, session } = yield* secondReadyWaiting
      yield* second.close(4009, "Session timed out.")
      yield* TestClock.adjust("70 seconds")
      // session-2 is gone: identified anew, without waiting for the program
      const { first, peer: third } = yield* acceptAndHello(10_000)
      expect(first.op).toBe(2)
      yield* third.sendJson(ready(1, "session-3"))
      yield* settle
      yield* third.drop
      yield* TestClock.adjust("10 seconds")
      // session-3's READY waits, for no socket; a stop ends the wait, and READY never went in
      expect((yield* session.state)._tag).toBe("Disconnected")
      expect(yield* session.disconnect("1 second")).toEqual(Option.none())
      const events = yield* Stream.runCollect(session.events)
      expect(Chunk.toReadonlyArray(events).map((event) => (event.d as { session_id: string }).session_id)).toEqual(["session-1"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("op 7 answering each Resume (a node going away) keeps the session resuming: it is no failed Resume", () =>
    Effect.gen(function*() {
      const reconnect = { op: 7, d: null, s: null, t: null }
      const { peer } = yield* readySession({ timeouts: { hello: "1 hour" } }, 3_600_000)
      yield* peer.sendJson(reconnect)
      yield* settle
      const firstOps: Array<number> = []
      for (let attempt = 0; attempt < 4; attempt++) {
        yield* TestClock.adjust("70 seconds") // past any backoff
        const { first, peer: next } = yield* acceptAndHello(3_600_000)
        firstOps.push(first.op)
        yield* next.sendJson(reconnect)
        yield* settle
      }
      // the fourth connection identified anew: a session start spent, the replay lost
      expect(firstOps).toEqual([6, 6, 6, 6])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a replay skips only what the Resume had: an event above it is delivered even after a higher one of the same replay", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const events = yield* collect(session, 7)
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("2 seconds")
      const { first, peer: next } = yield* acceptAndHello()
      expect(first).toMatchObject({ op: 6, d: { seq: 3 } })
      for (const sequence of [3, 4, 6, 5]) yield* next.sendJson(dispatch(sequence, "MESSAGE_CREATE", {}))
      yield* next.sendJson(dispatch(7, "RESUMED", {}))
      // 5 was taken for a duplicate of what the replay had brought (6), and lost
      expect((yield* Fiber.join(events)).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 6, 5, 7])
      expect((yield* session.snapshot).sequence).toBe(7)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after an op 9 that allows no resume it pauses a random 1 to 5 s (from Random) before identifying again; the backoff too when the connection was not yet stable", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* readySession({}, 3_600_000)
      // ready for stableAfter (60 s): only the pause
      yield* TestClock.adjust("60 seconds")
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("2999 millis")
      expect((yield* gateway.attempts).length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* gateway.attempts).length).toBe(2)
      // identified, and invalidated again at once: the pause, then the backoff (1 s, jittered to 0.75 s)
      const { first, peer: second } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* second.sendJson(ready(1, "session-2"))
      yield* second.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("3749 millis")
      expect((yield* gateway.attempts).length).toBe(2)
      yield* TestClock.adjust("1 millis")
      expect((yield* gateway.attempts).length).toBe(3)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("after an op 9 that allows a resume it resumes after the backoff alone, as after an op 7 (Discord asks the 1 to 5 s only before an Identify)", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* readySession({}, 3_600_000)
      yield* TestClock.adjust("60 seconds")
      yield* peer.sendJson({ op: 9, d: true, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("749 millis") // the backoff: 1 s, jittered to 0.75 s
      expect((yield* gateway.attempts).length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* gateway.attempts).length).toBe(2)
      const { first } = yield* acceptAndHello(3_600_000)
      expect(first).toMatchObject({ op: 6, d: { session_id: "session-1" } })
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // in answer to an Identify there is nothing to resume: the next connection identifies, and came
  // after the backoff alone (0.75 s)
  it.scoped("after an op 9 that allows a resume in answer to an Identify, the next Identify waits the 1 to 5 s pause and the backoff", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* peer.sendJson({ op: 9, d: true, s: null, t: null })
      yield* settle
      // the pause (3 s), then the backoff (0.75 s)
      yield* TestClock.adjust("3749 millis")
      expect((yield* gateway.attempts).length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* gateway.attempts).length).toBe(2)
      // its Identify goes once the identify spacing (5 s from the op 9) is over
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(next)).first.op).toBe(2)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
})

describe("Session: answers to a member request", () => {
  const guild = "81384788765712384"
  type Frame = readonly [t: string, d: unknown]
  const chunk = (nonce: string, fields: Record<string, unknown> = {}) =>
    ({ guild_id: guild, nonce, members: [], chunk_index: 0, chunk_count: 1, ...fields })

  /** A ready session, its events collected, with a request for every member in flight. */
  const requesting = Effect.gen(function*() {
    const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
    const events: Array<GatewayEvent> = []
    const consumer = yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => events.push(event))))
    const request = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 })))
    const sent = (yield* receiveOp(peer, 8)) as { readonly d: { readonly nonce: string } }
    return { peer, session, events, consumer, request, nonce: sent.d.nonce }
  })
  type Requesting = Effect.Effect.Success<typeof requesting>

  /**
   * Sends `frames` (from sequence 2) and a MESSAGE_CREATE after them, and checks the session lived
   * through them: still ready, its events still flowing, every one of them delivered.
   */
  const answerAndSurvive = (h: Requesting, frames: ReadonlyArray<Frame>) =>
    Effect.gen(function*() {
      for (const [i, [t, d]] of frames.entries()) yield* h.peer.sendJson(dispatch(2 + i, t, d))
      yield* h.peer.sendJson(dispatch(2 + frames.length, "MESSAGE_CREATE", { content: "after" }))
      yield* settle
      expect(yield* h.session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect(h.consumer.unsafePoll()).toBeNull()
      expect(h.events.map((event) => event.t)).toEqual(["READY", ...frames.map(([t]) => t), "MESSAGE_CREATE"])
    })

  /** The request's outcome so far: its members, its error, or undefined while it waits. */
  const outcome = (h: Requesting): Either.Either<MemberRequests.GuildMembers, unknown> | undefined => {
    const exit = h.request.unsafePoll()
    return exit === null ? undefined : Exit.isSuccess(exit) ? exit.value : Either.left(Cause.pretty(exit.cause))
  }

  const otherGuild = "41771983423143937"
  const unattributable: ReadonlyArray<readonly [string, (nonce: string) => Frame]> = [
    ["a GUILD_MEMBERS_CHUNK with d null", () => ["GUILD_MEMBERS_CHUNK", null]],
    ["a RATE_LIMITED without meta", () => ["RATE_LIMITED", { opcode: 8, retry_after: 5 }]],
    ["a RATE_LIMITED with d null", () => ["RATE_LIMITED", null]],
    // each failed the request as RateLimited: the nonce alone was read
    ["a RATE_LIMITED with the request's nonce and another guild", (nonce) => ["RATE_LIMITED", { opcode: 8, retry_after: 5, meta: { guild_id: otherGuild, nonce } }]],
    ["a RATE_LIMITED with the request's nonce and another opcode", (nonce) => ["RATE_LIMITED", { opcode: 3, retry_after: 5, meta: { guild_id: guild, nonce } }]]
  ]
  for (const [name, frame] of unattributable) {
    it.scoped(`${name} names no request: it is delivered, the session goes on, and the request waits for its answer`, () =>
      Effect.gen(function*() {
        const h = yield* requesting
        yield* answerAndSurvive(h, [frame(h.nonce)])
        expect(outcome(h)).toBeUndefined()
        yield* h.peer.sendJson(dispatch(4, "GUILD_MEMBERS_CHUNK", chunk(h.nonce, { members: [{ user: { id: "7" } }] })))
        yield* settle
        expect(outcome(h)).toEqual(Either.right({ guildId: guild, members: [{ user: { id: "7" } }], notFound: [], presences: [] }))
      }).pipe(Effect.provide(TestLayer)))
  }

  // its caller gave up while its frame was being written: the frame reached the gateway, and the
  // guild's turn was given back, so a second request went out 3 s later
  it.scoped("a whole member list given up on while its frame was written still holds the guild's 30 s turn", () => {
    // a transport whose write of op 8 ends 2 s after the gateway got the frame (a slow socket callback)
    const slowMemberRequestWrite = TestLayerWith((connection) => ({
      ...connection,
      send: (frame) =>
        Effect.zipRight(connection.send(frame), typeof frame === "string" && frame.startsWith(`{"op":8,`) ? Effect.sleep("2 seconds") : Effect.void)
    }))
    return Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const first = yield* Effect.fork(session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }))
      // the gateway got it; its write has not ended
      expect(((yield* receiveOp(peer, 8)).d as { guild_id: string }).guild_id).toBe(guild)
      yield* settle
      yield* Effect.forkDaemon(Fiber.interrupt(first))
      yield* settle
      yield* TestClock.adjust("3 seconds")
      yield* settle
      const again = yield* Effect.flip(session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }))
      expect(again).toMatchObject({ _tag: "MemberRequestError", reason: "RateLimited", guildId: guild })
      expect((yield* sentOps(peer)).filter((op) => op === 8)).toEqual([])
    }).pipe(Effect.provide(slowMemberRequestWrite))
  }, 30_000)

  // sent again within 30 s, it broke Discord's limit (1 per guild per 30 s), and got RATE_LIMITED
  it.scoped("a guild's whole member list asked again within 30 s of the last going out fails at once with RateLimited, sending nothing; by ids it goes", () =>
    Effect.gen(function*() {
      const h = yield* requesting
      yield* TestClock.adjust("10 seconds")
      const again = yield* Effect.flip(h.session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }))
      expect(again).toMatchObject({ _tag: "MemberRequestError", reason: "RateLimited", guildId: guild, retryAfter: 20 })
      const byIds = yield* Effect.fork(h.session.requestGuildMembers({ guild_id: guild, user_ids: ["7"] }))
      expect(yield* receiveOp(h.peer, 8)).toMatchObject({ d: { guild_id: guild, user_ids: ["7"] } })
      yield* Fiber.interrupt(byIds)
      yield* TestClock.adjust("20 seconds")
      const later = yield* Effect.fork(h.session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }))
      expect(yield* receiveOp(h.peer, 8)).toMatchObject({ d: { guild_id: guild, query: "", limit: 0 } })
      yield* Fiber.interrupt(later)
    }).pipe(Effect.provide(TestLayer)))

  // a first request that waited over 30 s to go out had its turn swept as expired: a second went out
  // right behind it; one given up on before it went out gives its turn back
  it.scoped("a whole member list that waits to go out holds its guild's turn however long it waits; given up on unsent, it gives it back", () =>
    Effect.gen(function*() {
      const whole = { guild_id: guild, query: "", limit: 0 } as const
      const session = yield* Session.make(options({ intents: Intents.Guilds | Intents.GuildMembers }))
      const { peer } = yield* acceptAndHello(3_600_000)
      // no READY yet: the requests wait for an answered connection
      const givenUp = yield* Effect.fork(session.requestGuildMembers(whole))
      yield* settle
      yield* Fiber.interrupt(givenUp)
      const first = yield* Effect.fork(session.requestGuildMembers(whole))
      yield* settle
      yield* TestClock.adjust("31 seconds")
      const second = yield* Effect.flip(session.requestGuildMembers(whole))
      expect(second).toMatchObject({ _tag: "MemberRequestError", reason: "RateLimited", retryAfter: 30 })
      yield* peer.sendJson(ready(1))
      expect(yield* receiveOp(peer, 8)).toMatchObject({ d: { guild_id: guild, query: "", limit: 0 } })
      yield* settle
      expect((yield* sentOps(peer)).filter((op) => op === 8)).toEqual([])
      yield* Fiber.interrupt(first)
    }).pipe(Effect.provide(TestLayer)))

  // Discord writes ids from 2^63 up as plain JSON numbers, read as the nearest double: `notFound`
  // named 9223372036854776000, an id nobody asked for, for the asked 9223372036854775809 (two
  // asked ids that round alike are each told once)
  it.scoped("a not_found id written as a plain number past 2^53 is told as the id that was asked for", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const asked = ["9223372036854775809", "9223372036854775810", "5"]
      const request = yield* Effect.fork(session.requestGuildMembers({ guild_id: guild, user_ids: asked }))
      const { d: { nonce } } = (yield* receiveOp(peer, 8)) as { readonly d: { readonly nonce: string } }
      yield* peer.send(
        `{"op":0,"s":2,"t":"GUILD_MEMBERS_CHUNK","d":{"not_found":[${asked.join(",")}],"members":[],"guild_id":"${guild}","chunk_index":0,"chunk_count":1,"nonce":"${nonce}"}}`
      )
      expect((yield* Fiber.join(request)).notFound).toEqual(asked)
    }).pipe(Effect.provide(TestLayer)))

  // two asked ids that JSON reads as one double, the first found among the members: the rounded
  // not_found number can only be the second (the first not yet told was picked, a member found)
  it.scoped("a rounded not_found id is not told as an asked id the answer's members hold", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)
      const [found, missing] = ["9223372036854775809", "9223372036854775810"]
      const request = yield* Effect.fork(session.requestGuildMembers({ guild_id: guild, user_ids: [found, missing] }))
      const { d: { nonce } } = (yield* receiveOp(peer, 8)) as { readonly d: { readonly nonce: string } }
      yield* peer.send(
        `{"op":0,"s":2,"t":"GUILD_MEMBERS_CHUNK","d":{"not_found":[${missing}],"members":[{"user":{"id":"${found}"}}],"guild_id":"${guild}","chunk_index":0,"chunk_count":1,"nonce":"${nonce}"}}`
      )
      const answer = yield* Fiber.join(request)
      expect([answer.members.map((member) => member.user.id), answer.notFound]).toEqual([[found], [missing]])
    }).pipe(Effect.provide(TestLayer)))

  // they were put together in the order they came: [5, 6, 1, 2, 3, 4]
  it.scoped("chunks that come out of order give the members, not-found ids and presences in chunk_index order", () =>
    Effect.gen(function*() {
      const h = yield* requesting
      const part = (index: number, ids: ReadonlyArray<string>) =>
        chunk(h.nonce, {
          chunk_index: index,
          chunk_count: 3,
          members: ids.map((id) => ({ user: { id } })),
          not_found: [`9${index}`],
          presences: ids.map((id) => ({ user: { id }, status: "online" }))
        })
      for (const [s, index, ids] of [[2, 2, ["5", "6"]], [3, 0, ["1", "2"]], [4, 1, ["3", "4"]]] as const) {
        yield* h.peer.sendJson(dispatch(s, "GUILD_MEMBERS_CHUNK", part(index, ids)))
      }
      yield* settle
      const answer = outcome(h)
      const members = answer !== undefined && Either.isRight(answer) ? answer.right : undefined
      expect(members?.members.map((member) => member.user.id)).toEqual(["1", "2", "3", "4", "5", "6"])
      expect(members?.notFound).toEqual(["90", "91", "92"])
      expect(members?.presences.map((presence) => presence.user.id)).toEqual(["1", "2", "3", "4", "5", "6"])
    }).pipe(Effect.provide(TestLayer)))

  const malformed: ReadonlyArray<readonly [string, (nonce: string) => ReadonlyArray<Frame>, string]> = [
    ["members is not an array", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { members: null })]], "members is null, not an array"],
    // another guild's members were the answer, under the requested guild's id
    ["guild_id is another guild's", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { guild_id: otherGuild })]], `guild_id "${otherGuild}" is not the requested guild ${guild}`],
    ["guild_id is missing", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { guild_id: undefined })]], `guild_id undefined is not the requested guild ${guild}`],
    ["not_found is a string", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { not_found: "x" })]], `not_found is "x", not an array`],
    ["not_found holds no user id", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { not_found: [{}] })]], "not_found holds an object, not a user id"],
    ["presences is a number", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { presences: 5 })]], "presences is 5, not an array"],
    ["chunk_count is a string", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_count: "1" })]], `chunk_count "1" is not a whole number from 1 to 1000000`],
    // NaN, as JSON carries it
    ["chunk_count is null", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_count: null })]], "chunk_count null is not a whole number from 1 to 1000000"],
    ["chunk_count is negative", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_count: -1 })]], "chunk_count -1 is not a whole number from 1 to 1000000"],
    ["chunk_count is 0", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_count: 0 })]], "chunk_count 0 is not a whole number from 1 to 1000000"],
    ["chunk_count is huge", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_count: 1e15 })]], "chunk_count 1000000000000000 is not a whole number from 1 to 1000000"],
    ["chunk_index is beyond chunk_count", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_index: 1 })]], "chunk_index 1 is not a whole number from 0 to 0"],
    ["chunk_index is a fraction", (nonce) => [["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_index: 0.5, chunk_count: 2 })]], "chunk_index 0.5 is not a whole number from 0 to 1"],
    ["chunk_count changes between chunks", (nonce) => [
      ["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_index: 0, chunk_count: 3 })],
      ["GUILD_MEMBERS_CHUNK", chunk(nonce, { chunk_index: 1, chunk_count: 2 })]
    ], "chunk_count 2 differs from the 3 of an earlier chunk"]
  ]
  for (const [name, answer, detail] of malformed) {
    it.scoped(`a GUILD_MEMBERS_CHUNK whose ${name} fails its request with Malformed; it is delivered and the session goes on`, () =>
      Effect.gen(function*() {
        const h = yield* requesting
        yield* answerAndSurvive(h, answer(h.nonce))
        const expected = new MemberRequests.MemberRequestError({ reason: "Malformed", guildId: guild, detail: `GUILD_MEMBERS_CHUNK: ${detail}` })
        expect(outcome(h)).toEqual(Either.left(expected))
        expect(expected.message).toBe(`request guild members for ${guild} got a malformed answer: GUILD_MEMBERS_CHUNK: ${detail}`)
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a RATE_LIMITED for the request whose retry_after is no number of seconds fails it with Malformed", () =>
    Effect.gen(function*() {
      const h = yield* requesting
      yield* answerAndSurvive(h, [["RATE_LIMITED", { opcode: 8, retry_after: "soon", meta: { guild_id: guild, nonce: h.nonce } }]])
      expect(outcome(h)).toEqual(Either.left(new MemberRequests.MemberRequestError({
        reason: "Malformed",
        guildId: guild,
        detail: `RATE_LIMITED: retry_after "soon" is not a number of seconds`
      })))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a GUILD_MEMBERS_CHUNK with 200,000 members completes the request with all of them, in order", () =>
    Effect.gen(function*() {
      const h = yield* requesting
      const members = Array.from({ length: 200_000 }, (_, i) => ({ user: { id: String(i) } }))
      yield* answerAndSurvive(h, [["GUILD_MEMBERS_CHUNK", chunk(h.nonce, { members })]])
      const answer = Either.getOrThrow(outcome(h)!)
      expect(answer.members).toHaveLength(200_000)
      expect(answer.members.every((member, i) => member.user.id === String(i))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an answer whose chunks keep coming completes however long it takes; one that stalls fails with Timeout a members timeout after its last chunk", () =>
    Effect.gen(function*() {
      const h = yield* requesting
      const member = (index: number) => ({ chunk_index: index, chunk_count: 3, members: [{ user: { id: String(index) } }] })
      // three chunks, 20 s apart: 60 s in all, twice the members timeout
      for (const index of [0, 1, 2]) {
        yield* TestClock.adjust("20 seconds")
        yield* h.peer.sendJson(dispatch(2 + index, "GUILD_MEMBERS_CHUNK", chunk(h.nonce, member(index))))
        yield* settle
      }
      expect(outcome(h)).toEqual(Either.right({ guildId: guild, members: ["0", "1", "2"].map((id) => ({ user: { id } })), notFound: [], presences: [] }))

      const stalled = yield* requesting
      yield* TestClock.adjust("29 seconds")
      yield* stalled.peer.sendJson(dispatch(2, "GUILD_MEMBERS_CHUNK", chunk(stalled.nonce, { chunk_count: 2 })))
      yield* settle
      // a chunk seen before is no progress
      yield* TestClock.adjust("29 seconds")
      yield* stalled.peer.sendJson(dispatch(3, "GUILD_MEMBERS_CHUNK", chunk(stalled.nonce, { chunk_count: 2 })))
      yield* settle
      expect(outcome(stalled)).toBeUndefined()
      yield* TestClock.adjust("1 seconds")
      yield* settle
      expect(outcome(stalled)).toEqual(Either.left(new MemberRequests.MemberRequestError({ reason: "Timeout", guildId: guild })))
    }).pipe(Effect.provide(TestLayer)))

  // it failed with Timeout ("got no answer in time"): the answer came at once, and waited unread
  // behind the events a slow program had not taken yet
  it.scoped("a member request's timeout starts over as a reader waiting for room gets it: an answer held behind a slow program's events is its answer, not a Timeout", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers, bufferSize: 2 }, 3_600_000)
      // a program taking 10 s over each message, asking for members elsewhere (not in its handler)
      const seen: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
        Effect.zipRight(Effect.sync(() => seen.push(event.t)), event.t === "MESSAGE_CREATE" ? Effect.sleep("10 seconds") : Effect.void)))
      yield* settle
      for (let s = 2; s <= 11; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      const request = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] })))
      yield* settle
      const sent = (yield* sentPayloads(peer)).find(({ op }) => op === 8) as { d: { nonce: string } }
      yield* peer.sendJson(memberAnswer(12, guild, sent.d.nonce, [{ user: { id: "1" } }]))
      for (let second = 0; second < 120; second++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(seen).toEqual(["READY", ...Array.from({ length: 10 }, () => "MESSAGE_CREATE"), "GUILD_MEMBERS_CHUNK"])
      expect(Either.map(yield* Fiber.join(request), (answer) => answer.members)).toEqual(Either.right([{ user: { id: "1" } }]))

      // once the reader reads again, an answer that does not come still times out
      const unanswered = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["2"] })))
      yield* settle
      yield* TestClock.adjust("30 seconds")
      yield* settle
      expect(Either.flip(yield* Fiber.join(unanswered)).pipe(Either.map((error) => error._tag === "MemberRequestError" && error.reason)))
        .toEqual(Either.right("Timeout"))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a handler that waits on its own member request with the buffer full gets Timeout a members timeout after the reader began to wait (nothing moves)", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers, bufferSize: 2 }, 3_600_000)
      const failures: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
        event.t !== "MESSAGE_CREATE" ? Effect.void : Effect.flip(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] })).pipe(
          Effect.flatMap((error) => Effect.sync(() => failures.push(error._tag === "MemberRequestError" ? error.reason : error._tag))),
          Effect.ignore
        )))
      yield* settle
      for (let s = 2; s <= 6; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      yield* settle
      const sent = (yield* sentPayloads(peer)).find(({ op }) => op === 8) as { d: { nonce: string } }
      yield* peer.sendJson(memberAnswer(7, guild, sent.d.nonce, [{ user: { id: "1" } }]))
      yield* settle
      yield* TestClock.adjust("29 seconds")
      yield* settle
      expect(failures).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(failures).toEqual(["Timeout"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Session.layerConfig reads its options from Config as the Layer is built: a missing value is a ConfigError, a refused one InvalidOptions, neither quoting the token", () =>
    Effect.gen(function*() {
      const layerFrom = (map: Record<string, string>) =>
        Session.layerConfig({
          token: Config.redacted("DISCORD_TOKEN"),
          intents: Config.integer("DISCORD_INTENTS"),
          gateway: Config.succeed(gatewayUrl),
          compression: Config.succeed("none" as const)
        }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(map))))))
      const identified = yield* Effect.gen(function*() {
        yield* Session.GatewaySession
        const { first } = yield* acceptAndHello(3_600_000)
        return first
      }).pipe(Effect.provide(layerFrom({ DISCORD_TOKEN: secret, DISCORD_INTENTS: "513" })))
      expect(identified).toMatchObject({ op: 2, d: { token: secret, intents: 513 } })

      const missing = yield* Effect.flip(Effect.provide(Session.GatewaySession, layerFrom({ DISCORD_TOKEN: secret })))
      expect(missing._tag).toBe("ConfigError")
      expect(String(missing)).toContain("DISCORD_INTENTS")
      const refused = yield* Effect.flip(Effect.provide(Session.GatewaySession, layerFrom({ DISCORD_TOKEN: `Bot ${secret}`, DISCORD_INTENTS: "513" })))
      expect(refused._tag).toBe("InvalidOptions")
      // the two variables swapped: Effect's error quoted the value it could not read, the token
      const swapped = yield* Effect.flip(Effect.provide(Session.GatewaySession, layerFrom({ DISCORD_TOKEN: "513", DISCORD_INTENTS: secret })))
      expect(swapped._tag).toBe("ConfigError")
      expect(String(swapped)).toContain("DISCORD_INTENTS")
      expect(String(swapped)).toContain(`Expected an integer value but received a value of ${secret.length + 2} characters (not shown)`)
      // a short value is still shown
      const typo = yield* Effect.flip(Effect.provide(Session.GatewaySession, layerFrom({ DISCORD_TOKEN: secret, DISCORD_INTENTS: "51e" })))
      expect(String(typo)).toContain(`Expected an integer value but received "51e"`)
      for (const error of [missing, refused, swapped]) {
        expect(`${String(error)} ${JSON.stringify(error)} ${Cause.pretty(Cause.fail(error))}`).not.toContain(secret)
      }
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Session.layerConfig reads a list of Configs as a list: a shard pair, events (they were read as maps keyed 0, 1 and refused)", () =>
    Effect.gen(function*() {
      const layer = Session.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        gateway: Config.succeed(gatewayUrl),
        compression: Config.succeed("none" as const),
        shard: [Config.integer("SHARD_ID"), Config.integer("SHARD_COUNT")],
        events: [Config.literal("MESSAGE_CREATE")("WANTED")],
        backoff: { afterInvalidSession: [Config.succeed(0), Config.duration("PAUSE")] }
      })
      const settings = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
        ["DISCORD_TOKEN", secret],
        ["SHARD_ID", "1"],
        ["SHARD_COUNT", "2"],
        ["WANTED", "MESSAGE_CREATE"],
        ["PAUSE", "2 seconds"]
      ])))
      const identified = yield* Effect.gen(function*() {
        yield* Session.GatewaySession
        return (yield* acceptAndHello(3_600_000)).first
      }).pipe(Effect.provide(layer.pipe(Layer.provide(settings))))
      expect(identified).toMatchObject({ op: 2, d: { shard: [1, 2] } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Session.layerConfig takes an option given as undefined as left out (it threw a TypeError at the call; its type refused it where optional properties are exact)", () =>
    Effect.gen(function*() {
      // `process.env.X ? Config.string("X") : undefined`, at any level: it type-checks, under this
      // project's exactOptionalPropertyTypes too
      const layer = Session.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        gateway: Config.succeed(gatewayUrl),
        compression: Config.succeed("none" as const),
        largeThreshold: undefined,
        timeouts: { hello: undefined }
      })
      const settings = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", secret]])))
      const identified = yield* Effect.gen(function*() {
        yield* Session.GatewaySession
        return (yield* acceptAndHello(3_600_000)).first
      }).pipe(Effect.provide(layer.pipe(Layer.provide(settings))))
      expect(identified).toMatchObject({ op: 2, d: { intents: 513, large_threshold: 50 } })
    }).pipe(Effect.provide(TestLayer)))

  // from JavaScript: options that are no object threw at the call (a string, the token say,
  // overflowed the stack), as did an option given as a plain value where a Config goes
  it.scoped("Session.layerConfig given options that are no object, or a plain value for an option, fails the layer with a ConfigError naming it, never the token", () =>
    Effect.gen(function*() {
      const built = (options: unknown) => Effect.flip(Layer.build(Session.layerConfig(options as never)))
      for (const [whole, kind] of [[undefined, "undefined"], [null, "null"], [secret, "a string"]] as const) {
        const error = yield* built(whole)
        expect(error._tag).toBe("ConfigError")
        expect(String(error)).toContain(`options must be an object of Configs, got ${kind}`)
      }
      const plain = yield* built({ token: Config.redacted("DISCORD_TOKEN"), intents: Config.succeed(513), encoding: "etf", timeouts: { hello: 5 } })
      expect(String(plain)).toContain("encoding must be a Config (Config.succeed for a fixed value), got a string")
      expect(String(plain)).toContain("timeouts.hello must be a Config (Config.succeed for a fixed value), got a number")
      expect(String(plain)).not.toContain(secret)
      // shared defaults given by inheritance, whose entries Effect's readers do not see: named, with
      // the way out (newuser13: "options must be an object of Configs, got an object")
      const defaults = { intents: Config.succeed(513) }
      const inheriting = yield* built(Object.assign(Object.create(defaults), { token: Config.redacted("DISCORD_TOKEN"), properties: Object.create({ os: Config.succeed("x") }) }))
      expect(String(inheriting)).toContain("options must be an object of Configs, got an object that inherits its entries (spread them into a plain object: `{ ...defaults, ... }`)")
      const nested = yield* built({ token: Config.redacted("DISCORD_TOKEN"), intents: Config.succeed(513), properties: Object.create({ os: Config.succeed("x") }) })
      expect(String(nested)).toContain("properties must be a Config (Config.succeed for a fixed value), got an object that inherits its entries")
      // values that are objects but no maps of options were read as maps of their own entries: the
      // token as a Redacted was taken as left out ("token is missing"), a custom Encoding of a class
      // dropped for JSON, a Set of events for none; a plain Duration was named by its internals
      class Custom {
        readonly name = "json"
        decode() {}
        encode() {}
      }
      const values = yield* built({
        token: Redacted.make(secret),
        intents: Config.succeed(513),
        encoding: new Custom(),
        events: new Set(["MESSAGE_CREATE"]),
        timeouts: { hello: Duration.seconds(5) },
        shard: [Config.succeed(0), undefined]
      })
      const kinds = { token: "a Redacted", encoding: "an object", events: "a Set", "timeouts.hello": "a Duration", "shard.1": "undefined" }
      for (const [path, kind] of Object.entries(kinds)) {
        expect(String(values)).toMatch(new RegExp(`${path.replace(".", "\\.")} must be a Config \\(Config.succeed for a fixed value\\), got ${kind}($|[^ ])`, "m"))
      }
      expect(String(values)).not.toContain(secret)
      // a plain object of another realm is a map of options still
      const otherRealm = yield* built({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        timeouts: Vm.runInNewContext("({ hello: hello })", { hello: Config.succeed("x") })
      })
      expect(String(otherRealm)).not.toContain("timeouts must be a Config")
      // options whose every entry is left out: no defect (a struct of none died reading it)
      const empty = yield* Effect.flip(Layer.build(Session.layerConfig({ token: undefined } as never)))
      expect(empty._tag).toBe("InvalidOptions")
    }).pipe(Effect.provide(TestLayer)))
})
