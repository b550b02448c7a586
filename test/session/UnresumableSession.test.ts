/**
 * A session no Resume can carry: a session id of many multibyte characters (READY's from a
 * gateway, or a resume point's) with a token of thousands of characters makes a Resume over the
 * 4096-byte payload limit at whatever sequence, while the Identify still fits. The session ended in
 * a defect at its first Resume (the encoder refused the payload the session trusted).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import type { Encoding } from "../../src/codec/Encoding.ts"
import * as Json from "../../src/codec/Json.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, gatewayUrl, options, ready, readyHeldPastItsConnection, resumeUrl, Session, settle, TestLayer } from "./harness.ts"

// printable ASCII, as a token must be; an Identify with it is about 3,600 bytes
const longSecret = "t".repeat(3_400)
const longToken = Redacted.make(longSecret)
// 256 characters, the most a session id may have, of three bytes each
const wideId = "€".repeat(256)

// JSON that refuses integers past 32 bits, as a writer of ETF's INTEGER_EXT only would: it writes
// every sequence a gateway session reaches, not the widest a Resume is measured at
const int32Encoding: Encoding = {
  ...Json.encoding,
  encode: (payload) => {
    const seq = (payload as { readonly d?: { readonly seq?: unknown } }).d?.seq
    if (typeof seq === "number" && seq > 2 ** 31 - 1) throw new RangeError("this encoder writes 32-bit integers only")
    return Json.encoding.encode(payload)
  }
}

describe("A session whose Resume would not fit in a payload", () => {
  it.scoped("READY's session is taken and warned of, and after its connection the session identifies anew; it died at the Resume", () => {
    const log = captured()
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ token: longToken }))
      const { first, peer } = yield* acceptAndHello(41_250)
      expect(first.op).toBe(2)
      yield* peer.sendJson(ready(1, wideId))
      yield* settle
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      expect(log.lines.filter((line) => line.includes("makes a Resume over 4096 bytes"))).toHaveLength(1)
      // 4000 is resumable: a session that could resume would
      yield* peer.close(4000, "unknown error")
      yield* TestClock.adjust("10 seconds")
      const { first: next, peer: second } = yield* acceptAndHello(41_250)
      expect(next.op).toBe(2)
      expect(second.url.startsWith(gatewayUrl)).toBe(true)
      yield* second.sendJson(ready(1, "session-2"))
      yield* settle
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      expect(log.lines.every((line) => !line.includes(longSecret))).toBe(true)
    }).pipe(Effect.provide(TestLayer), Effect.provide(log.layer))
  })

  // closed resumable, Discord kept a session no one could resume until it timed out, the bot
  // shown online meanwhile
  it.scoped("disconnect ends such a session with 1000, as end does: no one could resume it", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ token: longToken }))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(ready(1, wideId))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      expect((yield* peer.closed).code).toBe(1000)
      expect(Option.isNone(yield* Fiber.join(stopping))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // a READY held for room past its connection's end is taken as the next connection's first
  // event: held, the wide session was resumed all the same
  it.scoped("a READY of such a session held for room past its connection's end is not resumed either", () =>
    Effect.gen(function*() {
      const { first: next, peer: third, session } = yield* readyHeldPastItsConnection({ token: longToken }, wideId)
      expect(next.op).toBe(2)
      expect(third.url.startsWith(resumeUrl)).toBe(false)
      const point = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("5 seconds")
      expect(Option.isNone(yield* Fiber.join(point))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it("a resume point whose Resume would not fit with the token is refused with the options, without the token", () => {
    const point = { sessionId: wideId, sequence: 3, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, encoding: "json" as const }
    const refused = SessionOptions.resolve(options({ token: longToken, resume: point }))
    expect(Either.isLeft(refused)).toBe(true)
    const detail = Either.isLeft(refused) ? refused.left.detail : ""
    expect(detail).toMatch(/^Resume: payload is \d+ bytes \(the token 3400 of them\), the limit is 4096$/)
    expect(detail).not.toContain(longSecret)
    // the same point with a token of the length Discord issues, and the same token with a session id as Discord's
    expect(Either.isRight(SessionOptions.resolve(options({ resume: point })))).toBe(true)
    expect(Either.isRight(SessionOptions.resolve(options({ token: longToken, resume: { ...point, sessionId: "a".repeat(32) } })))).toBe(true)
  })

  // measuring the widest Resume must not cost a custom encoding that cannot write it what it did
  // before: its READY died in the check, and its options with a point threw out of their Either
  it.scoped("an encoding that cannot write the widest sequence cannot tell: its sessions take READY and resume, its points resolve", () =>
    Effect.gen(function*() {
      const point = { sessionId: "session-1", sequence: 3, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, encoding: "json" as const }
      expect(Either.isRight(SessionOptions.resolve(options({ encoding: int32Encoding, resume: point })))).toBe(true)
      const session = yield* Session.make(options({ encoding: int32Encoding }))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(ready(1))
      yield* settle
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      yield* peer.drop
      yield* TestClock.adjust("10 seconds")
      const { first } = yield* acceptAndHello(41_250)
      expect(first).toMatchObject({ op: 6, d: { session_id: "session-1", seq: 1 } })
    }).pipe(Effect.provide(TestLayer)))

  // such a point is never resumed here, only handed back: it was InvalidOptions, its Resume
  // measured over an encoding that never sends it
  it.scoped("a point of another encoding is not measured: the session identifies and hands it back", () =>
    Effect.gen(function*() {
      // control characters: 6 bytes each in JSON, 1 in ETF
      const etfPoint = { sessionId: "\u0001".repeat(256), sequence: 7, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, encoding: "etf" as const }
      const token = Redacted.make("x".repeat(2600))
      const session = yield* Session.make(options({ token, resume: etfPoint }))
      const { first } = yield* acceptAndHello(41_250)
      expect(first.op).toBe(2)
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(stopping)).toEqual(Option.some(etfPoint))
    }).pipe(Effect.provide(TestLayer)))

  it("a fleet's shard given such a point is refused as its options are resolved for it", () => {
    const shared = Either.getOrThrow(SessionOptions.resolve(options({ token: longToken, shard: [0, 2] })))
    const point = { sessionId: wideId, sequence: 3, resumeGatewayUrl: resumeUrl, shard: [1, 2] as const, encoding: "json" as const }
    const refused = SessionOptions.forShard(shared, [1, 2], point)
    expect(Either.isLeft(refused) && refused.left.detail.startsWith("Resume: payload is")).toBe(true)
  })
})
