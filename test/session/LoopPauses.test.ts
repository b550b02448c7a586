/**
 * The reconnect loop's pauses: a gateway session given up is forgotten before the pause that
 * follows, and the wait an answer asked for holds back only the attempts that ask it again.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, gatewayUrl, options, ready, readySession, resumeUrl, Session, settle, TestLayer } from "./harness.ts"

// the next connection, the clock moved a second at a time (up to `seconds`): the peer, the client's
// first payload, and the seconds it took
const nextWithin = (seconds: number) =>
  Effect.gen(function*() {
    const accepting = yield* Effect.fork(acceptAndHello(3_600_000))
    let waited = 0
    for (; waited < seconds && accepting.unsafePoll() === null; waited++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    const opened = yield* Fiber.join(accepting).pipe(Effect.timeout("1 second"), Effect.orDie)
    return { ...opened, waited }
  })

// the connects over `seconds` (the clock moved a second at a time): whether there were at least
// four, how many URLs they dialled, and how many came within 120 s of the one before
const attemptsOverSeconds = (seconds: number) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    for (let s = 0; s < seconds; s++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    const attempts = yield* gateway.attempts
    const gaps = attempts.slice(1).map((attempt, i) => attempt.at - attempts[i]!.at)
    return { atLeastFour: attempts.length >= 4, urls: new Set(attempts.map((attempt) => attempt.url)).size, within120s: gaps.filter((gap) => gap < 120_000).length }
  })

describe("the reconnect loop's pauses", () => {
  // the third Resume in a row that got no RESUMED gives the gateway session up; it was forgotten
  // only after the backoff pause that followed, and a stop during that pause handed its point on:
  // the next process sent the same dead Resume three more times before it identified
  it.scoped("a stop in the pause after the third unanswered Resume hands on no point of the given-up session", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ timeouts: { ready: "5 seconds", hello: "1 hour" } }, 3_600_000)
      yield* peer.drop
      for (let attempt = 0; attempt < 3; attempt++) {
        const next = yield* Effect.fork(acceptAndHello(3_600_000))
        while ((yield* Fiber.poll(next))._tag === "None") {
          yield* TestClock.adjust("100 millis")
          yield* settle
        }
        const { first, peer: connection } = yield* Fiber.join(next)
        expect(first.op).toBe(6)
        yield* TestClock.adjust("5 seconds") // no RESUMED: the ready timeout ends the connection
        expect((yield* connection.closed).by).toBe("client")
        yield* settle
      }
      // the third Resume got no RESUMED: the session is given up; the loop waits its backoff first
      expect((yield* session.state)._tag).toBe("Disconnected")
      const point = yield* session.disconnect()
      expect(Option.map(point, (p) => p.sessionId)).toEqual(Option.none())
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // a Retry-After of GET /gateway/bot (a 429, a 503 in maintenance), met by an attempt that went
  // to the gateway URL, held back the next attempt, at the resume URL, which asks no REST: the
  // gateway session did not outlive the wait (Discord keeps it a few minutes)
  it.scoped("a REST 429 with Retry-After met on the way to the gateway URL does not hold back the next Resume at the resume URL", () => {
    // GET /gateway/bot: rate limited, asked to come back in ten minutes
    const limited = HttpClient.make((request) =>
      Effect.sync(() =>
        HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ message: "You are being rate limited.", retry_after: 600, global: true }), {
          status: 429,
          headers: { "content-type": "application/json", "retry-after": "600" }
        }))
      ))
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      // the handed session's node refuses three connects, then is back
      yield* gateway.failNextConnect(3)
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({
        ...withoutGateway,
        api: "http://api.test/api/v10",
        timeouts: { hello: "1 hour" },
        resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: resumeUrl, shard: [0, 1] }
      })
      const reasons: Array<string> = []
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      for (let s = 0; s < 180 && (yield* Fiber.poll(next))._tag === "None"; s++) {
        reasons.push((yield* session.snapshot).reason._tag)
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // the REST answer was met (the fourth attempt went for the gateway URL)
      expect(reasons).toContain("GatewayInfoFailed")
      // three minutes in, the resume URL (back since the third refusal) has been tried again
      const resumed = yield* Fiber.poll(next)
      expect(Option.isSome(resumed)).toBe(true)
      const at = yield* Clock.currentTimeMillis
      expect(at).toBeLessThan(180_000)
    }).pipe(
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, limited)))
    )
  })

  // the wait a URL asked for, kept by the role it was dialled in: a point whose resume URL is the
  // gateway URL (a proxy's) dialled it again as "the gateway URL" after the backoff alone (3 s)
  it.scoped("a Resume at a URL that asked for Retry-After 120 s is not tried again there within 120 s", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(Infinity, { status: 429, retryAfter: 120 })
      const session = yield* Session.make(options({
        timeouts: { hello: "1 hour" },
        resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: gatewayUrl, shard: [0, 1] }
      }))
      // every attempt dialled the one URL that answered 429 with Retry-After 120, none within 120 s
      // of the one before
      expect(yield* attemptsOverSeconds(420)).toMatchObject({ atLeastFour: true, urls: 1, within120s: 0 })
      yield* session.disconnect()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // kept as "the resume URL's", the wait the old session's node asked for held back the Resume of
  // a new gateway session at another node, which asked nothing: minutes, past Discord's window
  it.scoped("a new session's Resume at its own resume URL does not wait out a Retry-After of the old session's node", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      // the handed session's node answers its three Resumes with 429, Retry-After 300 s
      yield* gateway.failNextConnect(3, { status: 429, retryAfter: 300 })
      const session = yield* Session.make(options({
        timeouts: { hello: "1 hour" },
        resume: { sessionId: "old-session", sequence: 7, resumeGatewayUrl: "ws://old-node.test/", shard: [0, 1] }
      }))
      // the fourth Resume goes to the gateway URL, which says the session is gone (op 9 false)
      const atGateway = yield* nextWithin(1500)
      expect(atGateway.first.op).toBe(6)
      yield* atGateway.peer.sendJson({ op: 9, d: false, s: null, t: null })
      // a new session: its READY names its own node
      const identified = yield* nextWithin(120)
      expect(identified.first.op).toBe(2)
      yield* identified.peer.sendJson(ready(1, "session-2"))
      yield* settle
      const droppedAt = yield* Clock.currentTimeMillis
      yield* identified.peer.drop
      const resumed = yield* nextWithin(600)
      expect(resumed.first.op).toBe(6)
      expect(resumed.first.d.session_id).toBe("session-2")
      const attempts = yield* gateway.attempts
      expect(attempts.at(-1)!.url.startsWith(resumeUrl.slice(0, -1))).toBe(true)
      // only the backoff (at most 60 s) before the new node is asked, not the old node's 300 s
      const waitedMs = attempts.at(-1)!.at - droppedAt
      expect(waitedMs).toBeLessThan(60_000)
      yield* session.disconnect()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // with a `gatewayUrl` source the gateway URL was known only once an attempt was given it: the
  // first attempt there (its URL also the resume URL, a proxy's) dialled the URL that asked 120 s
  // after the backoff alone
  it.scoped("with a gatewayUrl source, a URL that asked Retry-After 120 s is not dialled again there within 120 s", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(Infinity, { status: 429, retryAfter: 120 })
      const session = yield* Session.make(options({
        gateway: undefined,
        gatewayUrl: Effect.succeed(gatewayUrl),
        timeouts: { hello: "1 hour" },
        resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: gatewayUrl, shard: [0, 1] }
      }))
      // every attempt dialled the one URL that answered 429 with Retry-After 120, none within 120 s
      // of the one before
      expect(yield* attemptsOverSeconds(600)).toMatchObject({ atLeastFour: true, urls: 1, within120s: 0 })
      yield* session.disconnect()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // the wait was kept by the URL as given, not as dialled: `ws://gateway.test/` and
  // `ws://gateway.test` dial the same URL, and the wait one asked was skipped by the other
  it.scoped("a resume URL spelled without the gateway URL's trailing slash, dialling the same URL, does not skip its Retry-After 120 s", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(Infinity, { status: 429, retryAfter: 120 })
      const session = yield* Session.make(options({
        timeouts: { hello: "1 hour" },
        resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: gatewayUrl.slice(0, -1), shard: [0, 1] }
      }))
      // every attempt dialled the one URL that answered 429 with Retry-After 120, none within 120 s
      // of the one before
      expect(yield* attemptsOverSeconds(600)).toMatchObject({ atLeastFour: true, urls: 1, within120s: 0 })
      yield* session.disconnect()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // the gateway URL a source gives is not known before it was asked: the `gateway` option's (which
  // the source takes precedence over, never dialled) was taken for it, or none, and the first
  // attempt there dialled the source's URL, which asked 120 s (a wss:// point at it), after the
  // backoff alone
  for (const gateway of ["ws://unused.test/", undefined]) {
    it.scoped(`with a gatewayUrl source${gateway === undefined ? "" : " and a gateway option"}, a URL that asked Retry-After 120 s is not dialled again within 120 s`, () =>
      Effect.gen(function*() {
        const memory = yield* MemoryTransport.MemoryGateway
        yield* memory.failNextConnect(Infinity, { status: 429, retryAfter: 120 })
        const session = yield* Session.make(options({
          gateway,
          gatewayUrl: Effect.succeed("wss://gateway.test/"),
          timeouts: { hello: "1 hour" },
          resume: { sessionId: "session-1", sequence: 7, resumeGatewayUrl: "wss://gateway.test/", shard: [0, 1] }
        }))
        expect(yield* attemptsOverSeconds(900)).toMatchObject({ atLeastFour: true, urls: 1, within120s: 0 })
        yield* session.disconnect()
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
  }
})
