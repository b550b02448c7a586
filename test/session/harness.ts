/**
 * A harness for clock-driven session tests: the in-memory transport, an in-memory identify
 * limiter, and a scripted gateway peer.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type { GatewayIdentifyData, GatewayResumeData } from "discord-api-types/gateway/v10"
import { expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { Encoding } from "../../src/codec/Encoding.ts"
import * as Json from "../../src/codec/Json.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../src/session/Session.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import type { SessionOptions } from "../../src/session/SessionOptions.ts"
import { ConnectionClosed, GatewayTransport, type TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settle } from "../settle.ts"

export const secret = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
export const token = Redacted.make(secret)
export const gatewayUrl = "ws://gateway.test/"
export const resumeUrl = "ws://resume.test/"

/** The services a session needs, all in memory. */
export const TestLayer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

/**
 * The test services with an identify limiter of the program's own: one that configures nothing,
 * runs `send` at once, says max_concurrency 1 and no budget, but for what `service` gives.
 */
export const programLimiter = (service: Partial<Context.Tag.Service<IdentifyLimiter.IdentifyLimiter>>) =>
  Layer.mergeAll(
    MemoryTransport.layer,
    FetchHttpClient.layer,
    Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
      configure: () => Effect.void,
      identify: (_shard, send) => send(Effect.void),
      snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] }),
      ...service
    })
  )

/**
 * The process's count of shard `shard`'s gateway sessions lost for `reason`: vitest runs several
 * files in one process, so a test compares it before and after.
 */
export const lostCount = (shard: number, reason: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(SessionMetrics.sessionsLost, [MetricLabel.make("shard", String(shard)), MetricLabel.make("reason", reason)])),
    (state) => state.count
  )

/** Options for a test session: the given overrides on top of an uncompressed JSON session. */
export const options = (overrides: Partial<SessionOptions> = {}): SessionOptions => ({
  token,
  intents: 513,
  gateway: gatewayUrl,
  compression: "none",
  ...overrides
})

/** A custom encoding that cannot write a heartbeat: its first beat dies. */
export const beatlessEncoding: Encoding = {
  ...Json.encoding,
  encode: (payload) => {
    if ((payload as { readonly op: number }).op === 1) throw new Error("this encoder cannot write heartbeats")
    return Json.encoding.encode(payload)
  }
}

/** A dispatch frame. */
export const dispatch = (s: number, t: string, d: unknown) => ({ op: 0, s, t, d })

/** The one GUILD_MEMBERS_CHUNK, sequence `s`, that answers the member request `nonce` whole. */
export const memberAnswer = (s: number, guild_id: string, nonce: string, members: ReadonlyArray<unknown>) =>
  dispatch(s, "GUILD_MEMBERS_CHUNK", { guild_id, members, chunk_index: 0, chunk_count: 1, nonce })

/** A READY frame for session `id`. */
export const ready = (s = 1, id = "session-1", shard: readonly [number, number] = [0, 1]) =>
  dispatch(s, "READY", {
    v: 10,
    session_id: id,
    resume_gateway_url: resumeUrl,
    user: { id: "1", username: "bot" },
    guilds: [],
    shard,
    application: { id: "2", flags: 0 }
  })

/** A Hello frame. */
export const hello = (interval = 1000) => ({ op: 10, d: { heartbeat_interval: interval }, s: null, t: null })

/** An Identify or a Resume, read without narrowing: a test knows which it expects. */
export interface Opened {
  readonly op: number
  readonly d: Partial<GatewayIdentifyData> & Partial<GatewayResumeData>
}

/**
 * Accepts the next connection, says Hello, and returns the peer with the client's first payload
 * that is not a heartbeat (its Identify or Resume).
 */
export const acceptAndHello = (interval = 1000) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = yield* gateway.accept
    const first: Opened = yield* peer.handshake(interval)
    return { peer, first }
  })

/**
 * The next connection, past whatever pause comes before it (the clock moved a second at a time,
 * up to five minutes), said Hello to (beats an hour apart): the peer and the client's first payload.
 */
export const nextConnection = Effect.gen(function*() {
  const accepting = yield* Effect.fork(acceptAndHello(3_600_000))
  for (let s = 0; s < 300 && accepting.unsafePoll() === null; s++) {
    yield* TestClock.adjust("1 second")
    yield* settle
  }
  return yield* Fiber.join(accepting)
})

/**
 * A session made with `options(overrides)` and READY on its first connection, whose Hello asks
 * for beats every `interval` ms; with the peer that answered it.
 */
export const readySession = (overrides: Partial<SessionOptions> = {}, interval = 1000) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options(overrides))
    const { first, peer } = yield* acceptAndHello(interval)
    expect(first.op).toBe(2)
    yield* peer.sendJson(ready(1, "session-1", overrides.shard ?? [0, 1]))
    yield* settle
    return { session, peer }
  })

/** Takes payloads from the client until one has opcode `op` (skipping heartbeats unless asked). */
export const receiveOp = (peer: MemoryTransport.MemoryPeer, op: number) =>
  Effect.gen(function*() {
    while (true) {
      const payload = (yield* peer.receivedJson) as { op: number; d: unknown }
      if (payload.op === op) return payload
    }
  })

/** The JSON payloads the client sent on `peer` since the last look, parsed. */
export const sentPayloads = (peer: MemoryTransport.MemoryPeer) =>
  Effect.map(peer.takeAll, (frames) => Chunk.toReadonlyArray(frames).map((frame) => JSON.parse(frame as string) as { op: number; d: unknown }))

/** The opcodes of what the client sent on `peer` since the last look. */
export const sentOps = (peer: MemoryTransport.MemoryPeer) => Effect.map(sentPayloads(peer), (payloads) => payloads.map((payload) => payload.op))

/**
 * A session made with `options(overrides)` (one event of room, a long Hello timeout) whose READY
 * of session `sessionId` waits for room past its connection's end: a first gateway session fills
 * the buffer and an op 9 ends it, the next connection's READY is held and the connection dropped,
 * then the program takes every event; returns the session and the next connection's peer and first
 * payload.
 */
export const readyHeldPastItsConnection = (overrides: Partial<SessionOptions>, sessionId: string) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options({ bufferSize: 1, timeouts: { hello: "1 hour" }, ...overrides }))
    const { peer } = yield* acceptAndHello(10_000)
    yield* peer.sendJson(ready(1, "session-1"))
    yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
    yield* TestClock.adjust("6 seconds")
    const { peer: second } = yield* acceptAndHello(10_000)
    yield* second.sendJson(ready(1, sessionId))
    yield* settle
    yield* second.drop
    yield* TestClock.adjust("10 seconds")
    yield* Effect.forkScoped(Stream.runDrain(session.events))
    yield* settle
    yield* TestClock.adjust("70 seconds")
    const { first, peer: next } = yield* acceptAndHello(10_000)
    return { session, first, peer: next }
  })

export { settle } from "../settle.ts"

export { Session }

/** A program that takes `perEvent` over each of the session's events; the sequences it took so far. */
export const slowProgram = (session: Session.Session, perEvent: Duration.DurationInput) =>
  Effect.gen(function*() {
    const took: Array<number> = []
    yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
      Effect.zipRight(Effect.sync(() => took.push(event.sequence)), Effect.sleep(perEvent))))
    return took
  })

/**
 * A session whose program takes READY and then is busy `perEvent` with each event: event 2 fills
 * its buffer of one and the connection drops, its reader holding nothing back yet. The sequences
 * the program took so far.
 */
export const busyWhenDropped = (perEvent: Duration.DurationInput) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options({ bufferSize: 1, timeouts: { hello: "1 hour" } }))
    const took = yield* slowProgram(session, perEvent)
    const { peer } = yield* acceptAndHello(41_250)
    yield* peer.sendJson(ready())
    yield* settle
    yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
    yield* settle
    yield* peer.drop
    yield* settle
    return { session, took }
  })

/**
 * A gateway that answers each Resume with `answer(its sequence)`, then does `afterAnswer` with its
 * connection (nothing by default), and acknowledges every heartbeat, over `steps` steps of 5 s;
 * the opcode each connection began with (6: Resume, 2: Identify).
 */
export const answeringResumes = (
  steps: number,
  answer: (seq: number) => ReadonlyArray<unknown>,
  afterAnswer: (peer: MemoryTransport.MemoryPeer) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const firstOps: Array<number> = []
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const { first, peer } = yield* acceptAndHello(41_250)
      yield* peer.autoAck(true)
      firstOps.push(first.op)
      if (first.op !== 6) return
      for (const payload of answer(first.d["seq"] as number)) yield* peer.sendJson(payload)
      yield* afterAnswer(peer)
    })))
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust("5 seconds")
      yield* settle
    }
    return firstOps
  })

/**
 * The transport `GatewayTransport` gives, each frame written by `write` from the plain write, told
 * the frame's opcode (-1 for a binary one).
 */
export const writtenThrough = (
  write: (op: number, plain: Effect.Effect<void, TransportError>) => Effect.Effect<void, TransportError>
) =>
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url: string, opts: Parameters<typeof inner.connect>[1]) =>
        Effect.map(inner.connect(url, opts), (connection) => ({
          ...connection,
          send: (frame: Parameters<typeof connection.send>[0]) =>
            write(typeof frame === "string" ? (JSON.parse(frame) as { op: number }).op : -1, connection.send(frame))
        }))
    }))
  )

/**
 * The transport `GatewayTransport` gives, each connection's write of the first Identify (counted
 * over all connections in `seen`) made by `write` from the plain one; every other frame written as
 * it is.
 */
export const firstIdentifyWritten = (
  seen: { identifies: number },
  write: (plain: Effect.Effect<void, TransportError>) => Effect.Effect<void, TransportError>
) => writtenThrough((op, plain) => op === 2 && ++seen.identifies === 1 ? write(plain) : plain)

/**
 * `MemoryTransport`'s transport with slow closes: a connection's frames end as its close begins, and
 * its socket lets go `takes` later (default 5 s) while `slow()` says so (a close handshake waiting
 * for the peer's close frame). Let it go before a test's scope closes: TestClock stands still then.
 */
export const slowClosing = (slow: () => boolean, takes: Duration.DurationInput = "5 seconds") =>
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url: string, connectOptions: { readonly maxFrameBytes: number }) =>
        Effect.gen(function*() {
          const connection = yield* inner.connect(url, connectOptions)
          const closing = yield* Deferred.make<void>()
          yield* Effect.addFinalizer(() => Effect.zipRight(Deferred.succeed(closing, undefined), slow() ? Effect.sleep(takes) : Effect.void))
          return {
            ...connection,
            receive: Effect.raceFirst(
              connection.receive,
              Effect.zipRight(Deferred.await(closing), Effect.fail(new ConnectionClosed({ code: 4900, reason: "", byClient: true })))
            )
          }
        })
    }))
  ).pipe(Layer.provideMerge(MemoryTransport.layer))
