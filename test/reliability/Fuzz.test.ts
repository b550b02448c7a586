/**
 * Bad input: random and corrupt frames through the decoder, random payloads through the protocol
 * step, and a session (in-memory transport, `TestClock`) fed malformed Hello, READY, Invalid
 * Session and dispatch payloads, unknown opcodes, huge frames and op 1 floods. Each must end in a
 * typed error or a reconnect (a resume where one is legal), never a crash, a hang, a heartbeat
 * storm or unbounded memory; and the token never goes to a URL that is not ws:// or wss://.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Zlib from "node:zlib"
import * as Compress from "../../src/codec/Compress.ts"
import type { Compression } from "../../src/codec/Compression.ts"
import type { Envelope } from "../../src/codec/Encoding.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as FrameDecoder from "../../src/codec/FrameDecoder.ts"
import * as Json from "../../src/codec/Json.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import { isWebSocketUrl } from "../../src/protocol/internal/schema.ts"
import * as Receive from "../../src/protocol/Receive.ts"
import * as Protocol from "../../src/session/Protocol.ts"
import * as Session from "../../src/session/Session.ts"
import type { SessionOptions } from "../../src/session/SessionOptions.ts"
import type { Transition } from "../../src/session/SessionState.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { envelopeOf } from "../protocol/envelope.ts"
import { collectGarbage, figures } from "./support.ts"
import { settle } from "../settle.ts"

const seed = 0x5eedf022
const gatewayUrl = "ws://gateway.test/"
const resumeUrl = "ws://resume.test/"
const secret = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.fuzz-secret-0123456789"
const token = Redacted.make(secret)
const counts = { decoderInputs: 0, stepInputs: 0, sessionScenarios: 0 }
afterAll(() => figures("fuzz", { seed: `0x${seed.toString(16)}`, ...counts }))

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

const compressions: ReadonlyArray<Compression> = ["none", "zlib-stream", "zstd-stream"]

/** What the decoder promises: an envelope it returns is one the protocol's schema accepts. */
const expectValidEnvelope = (result: Envelope) => {
  expect(envelopeOf(result)).toEqual(result)
}

const arbitraryEnvelopeJson = FastCheck.record({
  op: FastCheck.oneof(FastCheck.integer({ min: -2, max: 300 }), FastCheck.double(), FastCheck.string(), FastCheck.constant(null)),
  s: FastCheck.oneof(
    FastCheck.constant(null),
    FastCheck.nat(),
    FastCheck.integer({ min: -5, max: -1 }),
    FastCheck.double({ noNaN: true }),
    FastCheck.constant(1e300),
    FastCheck.constant(2 ** 53 + 2),
    FastCheck.string()
  ),
  t: FastCheck.oneof(FastCheck.constant(null), FastCheck.string(), FastCheck.integer(), FastCheck.boolean()),
  d: FastCheck.jsonValue({ maxDepth: 2 })
}, { requiredKeys: [] }).map((value) => JSON.stringify(value))

describe("reliability: decoder fuzzing", () => {
  for (const compression of compressions) {
    it(`${compression}: random, truncated and corrupt frames never throw; envelopes it returns are valid; an error is final`, () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.array(
            FastCheck.oneof(
              FastCheck.record({ kind: FastCheck.constant("valid" as const), json: arbitraryEnvelopeJson }),
              FastCheck.record({ kind: FastCheck.constant("bytes" as const), bytes: FastCheck.uint8Array({ maxLength: 300 }) }),
              FastCheck.record({ kind: FastCheck.constant("truncated" as const), json: arbitraryEnvelopeJson, cut: FastCheck.nat() }),
              FastCheck.record({
                kind: FastCheck.constant("flipped" as const),
                json: arbitraryEnvelopeJson,
                at: FastCheck.nat(),
                bit: FastCheck.integer({ min: 0, max: 7 })
              }),
              FastCheck.record({ kind: FastCheck.constant("text" as const), text: FastCheck.string({ maxLength: 200 }) })
            ),
            { minLength: 1, maxLength: 8 }
          ),
          (inputs) => {
            const compressor = Compress.unsafeMake(compression)
            const decoder = FrameDecoder.make({ compression, encoding: Json.encoding })
            let failure: DecodeError | undefined
            for (const input of inputs) {
              counts.decoderInputs++
              let frame: string | Uint8Array
              switch (input.kind) {
                case "valid":
                  frame = compressor.compress(input.json)
                  break
                case "bytes":
                  frame = input.bytes
                  break
                case "truncated": {
                  const bytes = compressor.compress(input.json)
                  frame = bytes.subarray(0, input.cut % Math.max(1, bytes.length))
                  break
                }
                case "flipped": {
                  const bytes = Buffer.from(compressor.compress(input.json))
                  const at = input.at % bytes.length
                  bytes[at] = bytes[at]! ^ (1 << input.bit)
                  frame = bytes
                  break
                }
                case "text":
                  frame = input.text
                  break
              }
              const result = decoder.push(frame)
              if (failure !== undefined) {
                expect(result).toBe(failure)
              } else if (result instanceof DecodeError) {
                expect(["Inflate", "Zstd", "Json", "Envelope", "TooLarge"]).toContain(result.reason)
                failure = result
              } else if (result !== undefined) {
                expectValidEnvelope(result)
              }
            }
          }
        ),
        { seed, numRuns: 300 }
      )
    })
  }

  it("JSON of every shape: an envelope is returned exactly when the protocol's schema accepts it", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(arbitraryEnvelopeJson, FastCheck.json(), FastCheck.string()), (text) => {
        counts.decoderInputs++
        const result = FrameDecoder.make({ compression: "none", encoding: Json.encoding }).push(text)
        // an empty message is no message
        if (text === "") {
          expect(result).toBeUndefined()
          return
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          expect(result).toMatchObject({ _tag: "DecodeError", reason: "Json" })
          return
        }
        const expected = envelopeOf(parsed)
        if (expected !== undefined) expect(result).toEqual(expected)
        else expect(result).toMatchObject({ _tag: "DecodeError", reason: "Envelope" })
      }),
      { seed, numRuns: 2000 }
    )
  })

  it("decompression bombs (zlib and zstd, 48 MiB from a few KB) stop at the limit without holding the memory", () => {
    const payload = JSON.stringify({ op: 0, s: 1, t: "X", d: " ".repeat(48 * 1024 * 1024) })
    const zlib = Buffer.concat([Zlib.deflateSync(payload, { level: 9, finishFlush: Zlib.constants.Z_SYNC_FLUSH })])
    const zstd = Compress.unsafeMake("zstd-stream").compress(payload)
    collectGarbage()
    const before = process.memoryUsage()
    for (const [compression, bomb] of [["zlib-stream", zlib], ["zstd-stream", zstd]] as const) {
      counts.decoderInputs++
      expect(bomb.length).toBeLessThan(64 * 1024)
      const decoder = FrameDecoder.make({ compression, encoding: Json.encoding, maxMessageBytes: 1024 * 1024 })
      expect(decoder.push(bomb)).toMatchObject({ _tag: "DecodeError", reason: "TooLarge" })
    }
    collectGarbage()
    const after = process.memoryUsage()
    const grownMiB = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20
    figures("bombs", { inflatedMiB: 48, limitMiB: 1, retainedMiB: Number(grownMiB.toFixed(2)) })
    expect(grownMiB).toBeLessThan(8)
  })
})

// ---------------------------------------------------------------------------------------------
// Protocol step
// ---------------------------------------------------------------------------------------------

const arbitraryUrl = FastCheck.constantFrom(
  "wss://gateway-us-east1-b.discord.gg",
  "ws://127.0.0.1:1/resume",
  "http://evil.test/",
  "https://evil.test/",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "",
  "not a url"
)

const arbitraryReady = FastCheck.record({
  v: FastCheck.oneof(FastCheck.constant(10), FastCheck.jsonValue()),
  session_id: FastCheck.oneof(FastCheck.constant("0123abcd"), FastCheck.constant(""), FastCheck.jsonValue()),
  resume_gateway_url: FastCheck.oneof(arbitraryUrl, FastCheck.jsonValue()),
  user: FastCheck.oneof(FastCheck.constant({ id: "1" }), FastCheck.jsonValue()),
  application: FastCheck.oneof(FastCheck.constant({ id: "2" }), FastCheck.jsonValue())
}, { requiredKeys: [] })

const arbitraryEnvelope: FastCheck.Arbitrary<Envelope> = FastCheck.oneof(
  FastCheck.record({
    op: FastCheck.constant(0),
    s: FastCheck.oneof(FastCheck.constant(null), FastCheck.integer({ min: 0, max: 40 })),
    t: FastCheck.oneof(FastCheck.constant(null), FastCheck.constantFrom("READY", "RESUMED", "MESSAGE_CREATE"), FastCheck.string()),
    d: FastCheck.oneof(arbitraryReady, FastCheck.jsonValue())
  }),
  FastCheck.record({
    op: FastCheck.constant(10),
    s: FastCheck.constant(null),
    t: FastCheck.constant(null),
    d: FastCheck.oneof(
      FastCheck.record({ heartbeat_interval: FastCheck.oneof(FastCheck.integer(), FastCheck.double(), FastCheck.jsonValue()) }),
      FastCheck.jsonValue()
    )
  }),
  FastCheck.record({
    op: FastCheck.oneof(FastCheck.constantFrom(1, 7, 9, 11), FastCheck.integer({ min: 0, max: 255 })),
    s: FastCheck.constant(null),
    t: FastCheck.constant(null),
    d: FastCheck.oneof(FastCheck.boolean(), FastCheck.jsonValue())
  })
)

const arbitraryMemory: FastCheck.Arbitrary<Protocol.Memory> = FastCheck.oneof(
  FastCheck.constant(Protocol.empty),
  FastCheck.record({
    sessionId: FastCheck.constant("s"),
    resumeGatewayUrl: FastCheck.constant(resumeUrl),
    sequence: FastCheck.oneof(FastCheck.constant(null), FastCheck.integer({ min: 0, max: 40 }))
  })
)

const arbitraryMode: FastCheck.Arbitrary<Protocol.Mode> = FastCheck.constantFrom("resume", "identify")

// the connection: how it authenticates, how far its handshake went, and the sequence a Resume
// carried while its replay lasts, or none
const arbitraryHandshake: FastCheck.Arbitrary<Protocol.Handshake> = FastCheck.record({
  mode: arbitraryMode,
  stage: FastCheck.constantFrom("Unasked", "Asked", "Answered"),
  replayAfter: FastCheck.oneof(FastCheck.constant(null), FastCheck.integer({ min: 0, max: 40 }))
})

describe("reliability: protocol step fuzzing", () => {
  it("any payload in any state: a known step, the resume point only moves forward, a replay repeats nothing, and what it asks is safe to do", () => {
    FastCheck.assert(
      FastCheck.property(arbitraryMemory, arbitraryEnvelope, arbitraryHandshake, (memory, envelope, handshake) => {
        counts.stepInputs++
        const { replayAfter } = handshake
        const step = Protocol.step(memory, envelope, [3, 4], handshake)
        // the resume point never moves back
        const after = Protocol.apply(memory, step)
        if (memory.sequence !== null && after.sequence !== null && Protocol.modeOf(after) === "resume") {
          expect(after.sequence).toBeGreaterThanOrEqual(memory.sequence)
        }
        switch (step._tag) {
          case "Emit":
          case "Ready":
          case "Resumed": {
            expect(step.event.shard).toBe(3)
            // a resume's replay delivers only events not delivered yet (and its RESUMED)
            if (replayAfter !== null && step._tag !== "Resumed") expect(step.event.sequence).toBeGreaterThan(replayAfter)
            // the next heartbeat carries this sequence: it must encode
            expect(Either.isRight(Commands.encode(Commands.heartbeat(step.event.sequence)))).toBe(true)
            if (step._tag === "Ready") {
              expect(isWebSocketUrl(step.resumeGatewayUrl)).toBe(true)
              expect(step.sessionId.length).toBeGreaterThan(0)
            }
            break
          }
          case "Hello":
            expect(Number.isInteger(step.interval)).toBe(true)
            expect(step.interval).toBeGreaterThan(0)
            expect(step.interval).toBeLessThanOrEqual(Receive.maxHeartbeatInterval)
            break
          case "Reconnect":
            if (step.mode === "resume") expect(Protocol.modeOf(memory)).toBe("resume")
            break
          case "Duplicate":
            // only a replay repeats, and only what its Resume had
            expect(replayAfter).not.toBeNull()
            expect(step.sequence).toBeLessThanOrEqual(replayAfter!)
            break
          case "HeartbeatNow":
          case "HeartbeatAck":
          case "Ignore":
            break
        }
        const next = Protocol.apply(memory, step)
        if (step._tag === "Reconnect" && step.mode === "identify") expect(next).toEqual(Protocol.empty)
        // before the Identify or Resume went out, nothing is delivered, answered or forgotten
        if (handshake.stage === "Unasked") {
          expect(["Hello", "HeartbeatNow", "HeartbeatAck", "Ignore", "Reconnect"]).toContain(step._tag)
          expect(next).toEqual(memory)
        }
      }),
      { seed, numRuns: 5000 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// A session fed bad input
// ---------------------------------------------------------------------------------------------

const TestLayer = Layer.mergeAll(
  MemoryTransport.layer,
  IdentifyLimiter.layerMemoryWith({ spacing: "1 second", margin: "0 millis" }),
  Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.die("no HTTP in this test")))
)

const options = (overrides: Partial<SessionOptions> = {}): SessionOptions => ({
  token,
  intents: 513,
  gateway: gatewayUrl,
  compression: "none",
  ...overrides
})

type Payload = { readonly op: number; readonly d: unknown }

const parse = (frames: Chunk.Chunk<string | Uint8Array>): ReadonlyArray<Payload> =>
  Chunk.toReadonlyArray(frames).map((frame) => JSON.parse(typeof frame === "string" ? frame : Buffer.from(frame).toString("utf8")) as Payload)

const helloFrame = (interval: number) => JSON.stringify({ op: 10, d: { heartbeat_interval: interval }, s: null, t: null })
const dispatchFrame = (s: number, t: string, d: unknown) => JSON.stringify({ op: 0, s, t, d })
const readyData = (resume: unknown = resumeUrl, sessionId: unknown = "session-1") => ({
  v: 10,
  session_id: sessionId,
  resume_gateway_url: resume,
  user: { id: "1", username: "bot" },
  guilds: [],
  shard: [0, 1],
  application: { id: "2", flags: 0 }
})

/** A session under test, what it delivered, its transitions, and the gateway side. */
const start = (overrides: Partial<SessionOptions> = {}) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options(overrides))
    const events: Array<GatewayEvent> = []
    const transitions: Array<Transition> = []
    const consumer = yield* Effect.forkScoped(
      Effect.exit(Stream.runForEach(session.events, (event) => Effect.sync(() => events.push(event))))
    )
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
    const gateway = yield* MemoryTransport.MemoryGateway
    const disconnects = () => transitions.filter((t) => t.to._tag === "Disconnected" && t.reason._tag !== "Start").map((t) => t.reason)
    return { session, events, transitions, gateway, consumer, disconnects }
  })

/** Moves the clock past the first reconnect backoff (at most `initial`, 1 s). */
const pastBackoff = Effect.zipRight(TestClock.adjust("1 second"), settle)

type Started = Effect.Effect.Success<ReturnType<typeof start>>

/** Accepts the next connection (which must already be attempted), says Hello, returns its Identify or Resume. */
const accept = (h: Started, compress: (text: string) => string | Uint8Array = (text) => text, interval = 41_250) =>
  Effect.gen(function*() {
    const peer = yield* h.gateway.accept
    yield* peer.send(compress(helloFrame(interval)))
    yield* settle
    let beats = 0
    let first: Payload | undefined
    // an identify may wait for the identify limiter's spacing (1 s here)
    for (let i = 0; i < 12 && first === undefined; i++) {
      if (i > 0) yield* (i % 2 === 1 ? settle : pastBackoff)
      const sent = parse(yield* peer.takeAll)
      beats += sent.filter((payload) => payload.op === 1).length
      first = sent.find((payload) => payload.op !== 1)
    }
    return { peer, first, beats }
  })

/** A session READY on its first connection (sequence 1). */
const readySession = (overrides: Partial<SessionOptions> = {}, compressor?: Compress.Compressor) =>
  Effect.gen(function*() {
    const h = yield* start(overrides)
    const compress = compressor === undefined ? (text: string) => text : (text: string) => compressor.compress(text)
    const { first, peer } = yield* accept(h, compress)
    expect(first?.op).toBe(2)
    yield* peer.send(compress(dispatchFrame(1, "READY", readyData())))
    yield* settle
    expect(h.events.map((e) => e.t)).toEqual(["READY"])
    return { ...h, peer, compress }
  })

const badHellos: ReadonlyArray<readonly [string, unknown]> = [
  ["no interval", {}],
  ["interval 0", { heartbeat_interval: 0 }],
  ["negative interval", { heartbeat_interval: -41250 }],
  ["huge interval", { heartbeat_interval: 1e12 }],
  ["fractional interval", { heartbeat_interval: 0.5 }],
  ["string interval", { heartbeat_interval: "41250" }],
  ["null d", null],
  ["array d", [41250]]
]

const textFrames = (frames: ReadonlyArray<readonly [string, string]>) =>
  frames.map(([name, frame]) => ({ name, compression: "none" as Compression, frame: () => frame, maxMessageBytes: undefined }))

/** Frames after READY that must end the connection and lead to a resume from sequence 1. */
const resumeFaults: ReadonlyArray<{
  readonly name: string
  readonly compression: Compression
  readonly frame: (compressor: Compress.Compressor) => string | Uint8Array
  readonly maxMessageBytes: number | undefined
}> = [
  ...textFrames([
    ["op 9 with d \"yes\"", JSON.stringify({ op: 9, d: "yes", s: null, t: null })],
    ["op 9 with d 1", JSON.stringify({ op: 9, d: 1, s: null, t: null })],
    ["op 9 with d null", JSON.stringify({ op: 9, d: null, s: null, t: null })],
    ["op 9 with d {}", JSON.stringify({ op: 9, d: {}, s: null, t: null })],
    ["dispatch with s a string", JSON.stringify({ op: 0, s: "2", t: "MESSAGE_CREATE", d: {} })],
    ["dispatch with t a number", JSON.stringify({ op: 0, s: 2, t: 5, d: {} })],
    ["dispatch without s", JSON.stringify({ op: 0, t: "MESSAGE_CREATE", d: {} })],
    ["dispatch without t", JSON.stringify({ op: 0, s: 2, d: {} })],
    ["dispatch with a fractional s", JSON.stringify({ op: 0, s: 1.5, t: "MESSAGE_CREATE", d: {} })],
    ["dispatch with a negative s", JSON.stringify({ op: 0, s: -1, t: "MESSAGE_CREATE", d: {} })],
    ["dispatch with s 1e300", JSON.stringify({ op: 0, s: 1e300, t: "MESSAGE_CREATE", d: {} })],
    ["dispatch with s beyond 2^53", "{\"op\":0,\"s\":9007199254740993,\"t\":\"MESSAGE_CREATE\",\"d\":{}}"],
    ["op a string", JSON.stringify({ op: "0", s: 2, t: "MESSAGE_CREATE", d: {} })],
    ["op fractional", JSON.stringify({ op: 0.5, d: null })],
    ["invalid JSON", "{\"op\":0,\"s\":2,"],
    ["a JSON array", "[0,2,\"MESSAGE_CREATE\"]"]
  ]),
  {
    name: "a 4 MiB text frame over maxMessageBytes (1 MiB)",
    compression: "none",
    frame: () => dispatchFrame(2, "MESSAGE_CREATE", { content: "x".repeat(4 * 1024 * 1024) }),
    maxMessageBytes: 1024 * 1024
  },
  {
    name: "random bytes on zlib-stream",
    compression: "zlib-stream",
    frame: () => Uint8Array.of(0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0xff, 0xff),
    maxMessageBytes: undefined
  },
  {
    name: "a zlib-stream message inflating to 32 MiB over maxMessageBytes (1 MiB)",
    compression: "zlib-stream",
    frame: (compressor) => compressor.compress(dispatchFrame(2, "MESSAGE_CREATE", { content: " ".repeat(32 * 1024 * 1024) })),
    maxMessageBytes: 1024 * 1024
  },
  {
    name: "a truncated zstd-stream frame followed by another message",
    compression: "zstd-stream",
    frame: (compressor) => {
      const bytes = compressor.compress(dispatchFrame(2, "MESSAGE_CREATE", { content: "hello there" }))
      return Buffer.concat([bytes.subarray(0, bytes.length - 3), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])])
    },
    maxMessageBytes: undefined
  }
]

describe("reliability: a session fed bad input", () => {
  for (const [name, d] of badHellos) {
    it.scoped(`Hello with ${name}: closes resumably without a beat or an identify, then connects again`, () =>
      Effect.gen(function*() {
        counts.sessionScenarios++
        const h = yield* start()
        const peer = yield* h.gateway.accept
        yield* peer.sendJson({ op: 10, d, s: null, t: null })
        yield* settle
        const closed = yield* peer.closed
        expect(closed.by).toBe("client")
        expect([1000, 1001]).not.toContain(closed.code)
        expect(parse(yield* peer.takeAll)).toEqual([])
        expect(h.disconnects().map((r) => r._tag)).toEqual(["DecodeFailed"])
        // a whole minute later there was one more attempt, not a storm, and no beat anywhere
        yield* pastBackoff
        const { first, peer: next } = yield* accept(h)
        expect(next.url.startsWith(gatewayUrl)).toBe(true)
        expect(first?.op).toBe(2)
        expect((yield* h.gateway.attempts).length).toBe(2)
        expect(yield* next.isOpen).toBe(true)
      }).pipe(Effect.provide(TestLayer)))
  }

  for (const fault of resumeFaults) {
    it.scoped(`${fault.name}: a typed decode failure, then a resume from the last delivered event, nothing lost`, () =>
      Effect.gen(function*() {
        counts.sessionScenarios++
        const compressor = Compress.unsafeMake(fault.compression)
        const h = yield* readySession({
          compression: fault.compression,
          ...(fault.maxMessageBytes === undefined ? {} : { maxMessageBytes: fault.maxMessageBytes })
        }, compressor)
        yield* h.peer.send(fault.frame(compressor))
        yield* settle
        const closed = yield* h.peer.closed
        expect([1000, 1001]).not.toContain(closed.code)
        const reasons = h.disconnects()
        expect(reasons).toHaveLength(1)
        expect(["DecodeFailed", "Closed"]).toContain(reasons[0]!._tag)
        if (reasons[0]!._tag === "Closed") expect(reasons[0]!.code).toBe(1009)
        yield* pastBackoff
        const next = Compress.unsafeMake(fault.compression)
        const { first, peer } = yield* accept(h, (text) => next.compress(text))
        expect(peer.url.startsWith(resumeUrl)).toBe(true)
        expect(first).toMatchObject({ op: 6, d: { session_id: "session-1", seq: 1, token: secret } })
        yield* peer.send(next.compress(dispatchFrame(2, "RESUMED", {})))
        yield* peer.send(next.compress(dispatchFrame(3, "MESSAGE_CREATE", { content: "after" })))
        yield* settle
        expect(h.events.map((e) => [e.t, e.sequence])).toEqual([["READY", 1], ["RESUMED", 2], ["MESSAGE_CREATE", 3]])
        expect((yield* h.gateway.attempts).length).toBe(2)
        const exit = h.consumer.unsafePoll()
        expect(exit).toBeNull()
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("unknown and send-only opcodes are ignored: no reconnect, the next event is delivered", () =>
    Effect.gen(function*() {
      counts.sessionScenarios++
      const h = yield* readySession()
      for (const op of [2, 3, 4, 5, 6, 8, 12, 31, 42, 43, 255]) {
        yield* h.peer.sendJson({ op, d: { anything: [op] }, s: null, t: null })
      }
      yield* h.peer.send(dispatchFrame(2, "MESSAGE_CREATE", {}))
      yield* settle
      expect(h.events.map((e) => e.sequence)).toEqual([1, 2])
      expect(yield* h.peer.isOpen).toBe(true)
      expect((yield* h.gateway.attempts).length).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a 16 MiB event under maxMessageBytes is delivered whole", () =>
    Effect.gen(function*() {
      counts.sessionScenarios++
      const h = yield* readySession()
      yield* h.peer.send(dispatchFrame(2, "GUILD_CREATE", { blob: "y".repeat(16 * 1024 * 1024) }))
      yield* settle
      expect(h.events.map((e) => e.sequence)).toEqual([1, 2])
      expect((h.events[1]!.d as unknown as { blob: string }).blob.length).toBe(16 * 1024 * 1024)
      expect(yield* h.peer.isOpen).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an op 1 flood (1000 requests) is answered by one beat a second at most: no heartbeat storm, no reconnect", () =>
    Effect.gen(function*() {
      counts.sessionScenarios++
      const h = yield* readySession()
      const beats: Array<number> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const frame = yield* h.peer.received
        const payload = JSON.parse(frame as string) as Payload
        if (payload.op === 1) {
          beats.push(yield* Effect.clockWith((clock) => clock.currentTimeMillis))
          expect(payload.d).toBe(1)
          yield* h.peer.sendJson({ op: 11, d: null, s: null, t: null })
        }
      })))
      for (let i = 0; i < 1000; i++) yield* h.peer.sendJson({ op: 1, d: null, s: null, t: null })
      yield* settle
      for (let second = 0; second < 180; second++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      let worst = 0
      for (let i = 0; i < beats.length; i++) {
        const inWindow = beats.filter((at) => at >= beats[i]! && at < beats[i]! + 60_000).length
        worst = Math.max(worst, inWindow)
      }
      const reasons = h.disconnects().map((reason) => reason._tag)
      figures("op1-flood", { requests: 1000, beatsIn180s: beats.length, worstBeatsIn60s: worst, reconnects: reasons })
      // the flood gets one immediate beat; the rest of the 180 s only the scheduled ones
      expect(beats[0]).toBe(0)
      expect(beats.length).toBeLessThanOrEqual(1 + Math.ceil(180_000 / 41_250) + 1) // the default Hello interval here
      expect(worst).toBeLessThanOrEqual(60)
      expect(reasons).toEqual([])
      expect((yield* h.gateway.attempts).length).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  // the session READY started is kept (it was thrown away, a session start spent each time): it
  // resumes where its connection went, never at that URL
  const unusableResumeUrls: ReadonlyArray<readonly [string, unknown]> = [
    ["an http:// resume URL", readyData("http://evil.test/")],
    ["an https:// resume URL", readyData("https://evil.test/")],
    ["a javascript: resume URL", readyData("javascript:alert(1)")],
    ["a file: resume URL", readyData("file:///etc/passwd")],
    ["an empty resume URL", readyData("")],
    ["a resume URL that is a number", readyData(42)],
    ["no resume URL", { ...readyData(), resume_gateway_url: undefined }]
  ]
  // a session whose first connection, identified, was answered with a READY of data `d`
  const answeredWith = (d: unknown) =>
    Effect.gen(function*() {
      counts.sessionScenarios++
      const h = yield* start()
      const { first, peer } = yield* accept(h)
      expect(first?.op).toBe(2)
      yield* peer.send(dispatchFrame(1, "READY", d))
      yield* settle
      return { h, peer }
    })

  for (const [name, d] of unusableResumeUrls) {
    it.scoped(`READY with ${name}: delivered, the session kept and resumed on the gateway URL`, () =>
      Effect.gen(function*() {
        const { h, peer } = yield* answeredWith(d)
        expect(yield* peer.isOpen).toBe(true)
        expect(h.events.map((event) => event.t)).toEqual(["READY"])
        yield* peer.drop
        yield* pastBackoff
        const second = yield* accept(h)
        expect(second.first?.op).toBe(6)
        const urls = (yield* h.gateway.attempts).map((attempt) => attempt.url)
        expect(urls).toHaveLength(2)
        for (const url of urls) expect(url.startsWith(gatewayUrl)).toBe(true)
      }).pipe(Effect.provide(TestLayer)))
  }

  const badReadies: ReadonlyArray<readonly [string, unknown]> = [
    ["no session_id", { ...readyData(), session_id: undefined }],
    ["an empty session_id", readyData(resumeUrl, "")]
  ]
  for (const [name, d] of badReadies) {
    it.scoped(`READY with ${name}: not delivered, no resume anywhere, a fresh identify on the gateway URL`, () =>
      Effect.gen(function*() {
        const { h, peer } = yield* answeredWith(d)
        expect((yield* peer.closed).by).toBe("client")
        expect(h.events).toEqual([])
        expect(h.disconnects().map((r) => r._tag)).toEqual(["DecodeFailed"])
        // the identify limiter spaces the second identify by 1 s
        yield* pastBackoff
        yield* pastBackoff
        const second = yield* accept(h)
        expect(second.first?.op).toBe(2)
        const urls = (yield* h.gateway.attempts).map((attempt) => attempt.url)
        expect(urls).toHaveLength(2)
        for (const url of urls) expect(url.startsWith(gatewayUrl)).toBe(true)
        // drop it before READY: still never a resume, still the gateway URL
        yield* second.peer.drop
        yield* pastBackoff
        yield* pastBackoff
        const third = yield* accept(h)
        expect(third.peer.url.startsWith(gatewayUrl)).toBe(true)
        expect(third.first?.op).toBe(2)
      }).pipe(Effect.provide(TestLayer)))
  }

  const gatewayBotLayer = (url: string, requests: Array<string>) =>
    Layer.mergeAll(
      MemoryTransport.layer,
      IdentifyLimiter.layerMemory,
      Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.sync(() => {
            requests.push(request.url)
            return HttpClientResponse.fromWeb(
              request,
              new Response(
                JSON.stringify({ url, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 1000, max_concurrency: 1 } }),
                { status: 200, headers: { "content-type": "application/json" } }
              )
            )
          })
        )
      )
    )

  for (const [url, allowed] of [
    ["https://evil.test", false],
    ["http://evil.test", false],
    ["javascript:alert(1)", false],
    ["wss://gateway.discord.test", true]
  ] as const) {
    it.scoped(`GET /gateway/bot answering ${url}: ${allowed ? "connects there" : "never connects (the token stays home)"}`, () => {
      const requests: Array<string> = []
      return Effect.gen(function*() {
        counts.sessionScenarios++
        const session = yield* Session.make({ token, intents: 513, compression: "none", api: "https://api.test/v10" })
        yield* settle
        for (let i = 0; i < 10; i++) yield* pastBackoff
        const gateway = yield* MemoryTransport.MemoryGateway
        const attempts = yield* gateway.attempts
        if (allowed) {
          expect(attempts.map((a) => new URL(a.url).host)).toEqual(["gateway.discord.test"])
          expect(requests).toHaveLength(1)
        } else {
          expect(attempts).toEqual([])
          // an answer that is no answer cannot mend by asking again: the session ends with it
          expect(requests).toHaveLength(1)
          expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "GatewayInfoError", reason: "Decode", passing: false })
        }
      }).pipe(Effect.provide(gatewayBotLayer(url, requests)))
    })
  }
})
