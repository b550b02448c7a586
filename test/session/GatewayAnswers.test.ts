/**
 * What a session and a fleet do with each answer `GET /gateway/bot` can give before there is any
 * answer at hand (a failure trying again can mend is retried, no sooner than the answer asks; one
 * it cannot is the caller's at once), and when a URL it gave cannot be connected to.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../src/session/Session.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as FleetHarness from "../fleet/harness.ts"
import { captured } from "../logLines.ts"
import { settle } from "../settle.ts"
import { options } from "./harness.ts"

// the answer to the `n`th request (from 1): each gives another URL
const answer = (n: number, maxConcurrency = 1) => ({
  url: `ws://gateway-${n}.test`,
  shards: 2,
  session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: maxConcurrency }
})

interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
}

/**
 * An API answering its requests with `replies` in turn (the last one from then on; 200 is the
 * answer above), and the times (ms by the `Clock`) it was asked at.
 */
const api = (replies: ReadonlyArray<Reply>, maxConcurrency = 1) => {
  const asked: Array<number> = []
  const client = HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const reply = replies[Math.min(asked.length, replies.length - 1)]!
      asked.push(now)
      const body = reply.status === 200 ? answer(asked.length, maxConcurrency) : { message: `status ${reply.status}` }
      return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: reply.status, headers: reply.headers ?? {} }))
    })
  )
  const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client))
  return { asked, layer }
}

// the options of a session, and of a fleet, that ask GET /gateway/bot for their URL
const withoutGateway = () => ({ ...options(), gateway: undefined, api: "http://api.test/api/v10" })
const fleetWithoutGateway = () => ({ ...FleetHarness.options(), gateway: undefined, api: "http://api.test/api/v10" })

// backoff jitter at its top: the delays are 1, 2, 4... s exactly
const noJitter = Effect.withRandom(Random.fixed([1]))

describe("a session's first GET /gateway/bot", () => {
  for (const status of [403, 404, 400]) {
    it.scoped(`a ${status} ends the session with the typed error at once: no retry, no socket`, () => {
      const { asked, layer } = api([{ status }])
      return Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(withoutGateway())
        const ended = yield* Effect.fork(Effect.flip(session.await))
        yield* TestClock.adjust("10 minutes")
        const error = yield* Fiber.join(ended)
        expect(error).toMatchObject({ _tag: "GatewayInfoError", reason: "Http", status })
        expect(asked).toEqual([0])
        expect(yield* gateway.attempts).toEqual([])
      }).pipe(Effect.provide(layer))
    })
  }

  it.scoped("a 503 asking for 30 s is not asked again sooner; one without Retry-After after the backoff", () => {
    const { asked, layer } = api([{ status: 503, headers: { "retry-after": "30" } }, { status: 503 }, { status: 200 }])
    return Effect.gen(function*() {
      const session = yield* Session.make(withoutGateway())
      for (let i = 0; i < 45; i++) yield* TestClock.adjust("1 second")
      // 30 s asked, spread by a quarter (Random at 1: 37.5 s), then the first backoff (1 s); then the
      // second (2 s)
      expect(asked).toEqual([0, 38_500, 40_500])
      expect((yield* session.snapshot).state._tag).not.toBe("Disconnected")
    }).pipe(noJitter, Effect.provide(layer))
  })
})

describe("a fleet's first GET /gateway/bot", () => {
  it.scoped("a passing failure (503, 429, 408) is tried again with the backoff, told at Warning at the 1st, 2nd, 4th... in a row, and make succeeds once answered", () => {
    const { asked, layer } = api([
      { status: 503 },
      { status: 429, headers: { "retry-after": "20" } },
      { status: 408 },
      { status: 503 },
      { status: 503 },
      { status: 200 }
    ])
    const logs = captured()
    return Effect.gen(function*() {
      const making = yield* Effect.fork(Fleet.make(fleetWithoutGateway()))
      for (let i = 0; i < 60; i++) yield* TestClock.adjust("1 second")
      const fleet = yield* Fiber.join(making)
      // 1 s backoff; 20 s asked and a quarter more (`Random` at 1), then 2 s; 4 s; 8 s; 16 s
      expect(asked).toEqual([0, 1_000, 28_000, 32_000, 40_000, 56_000])
      expect(fleet.shardCount).toBe(2)
      const failed = logs.lines.filter((line) => line.includes("GET /gateway/bot failed"))
      expect(failed).toEqual([
        "WARN GET /gateway/bot failed: status 503 for http://api.test/api/v10/gateway/bot; trying again",
        "WARN GET /gateway/bot failed: 429 Too Many Requests; retry after 20 s; trying again (2 times in a row)",
        "DEBUG GET /gateway/bot failed: status 408 for http://api.test/api/v10/gateway/bot; trying again (3 times in a row)",
        "WARN GET /gateway/bot failed: status 503 for http://api.test/api/v10/gateway/bot; trying again (4 times in a row)",
        "DEBUG GET /gateway/bot failed: status 503 for http://api.test/api/v10/gateway/bot; trying again (5 times in a row)"
      ])
    }).pipe(noJitter, Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(logs.layer), Effect.provide(layer))
  })

  // at Debug, it left a program shown Info and up with nothing to read for the hour
  it.scoped("a failure whose answer asks to wait a minute or more is told at Warning, whatever its place in the row", () => {
    const { asked, layer } = api([{ status: 503 }, { status: 503 }, { status: 429, headers: { "retry-after": "3600" } }, { status: 200 }])
    const logs = captured()
    return Effect.gen(function*() {
      const making = yield* Effect.fork(Fleet.make(fleetWithoutGateway()))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("75 minutes")
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      yield* Fiber.join(making)
      // 1 s, 2 s, then the hour asked and a quarter more (`Random` at 1), and 4 s
      expect(asked.slice(0, 4)).toEqual([0, 1_000, 3_000, 4_507_000])
      expect(logs.lines.filter((line) => line.includes("GET /gateway/bot failed")).map((line) => line.split(" ")[0])).toEqual(["WARN", "WARN", "WARN"])
    }).pipe(noJitter, Effect.provide(logs.layer), Effect.provide(layer))
  })

  for (const status of [401, 404]) {
    it.scoped(`a ${status} fails make at once`, () => {
      const { asked, layer } = api([{ status }])
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Fleet.make(fleetWithoutGateway()))
        expect(error).toMatchObject({ _tag: "GatewayInfoError", reason: status === 401 ? "Unauthorized" : "Http" })
        yield* TestClock.adjust("10 minutes")
        expect(asked).toEqual([0])
      }).pipe(Effect.provide(layer))
    })
  }

  it.scoped("a program built on Fleet.layer, interrupted while the API is down, ends and asks no more", () => {
    const { asked, layer } = api([{ status: 503 }])
    return Effect.gen(function*() {
      const program = yield* Effect.fork(Effect.provide(Fleet.Fleet, Fleet.layer(fleetWithoutGateway())))
      yield* TestClock.adjust("10 seconds")
      const before = asked.length
      expect(before).toBeGreaterThan(1)
      yield* Fiber.interrupt(program)
      yield* TestClock.adjust("10 minutes")
      expect(asked.length).toBe(before)
      expect(Option.map(yield* Fiber.poll(program), Exit.isInterrupted)).toEqual(Option.some(true))
    }).pipe(Effect.provide(layer))
  })

  it.scoped("made where it cannot be interrupted (an acquire), it gets the first failure: it could never stop the retries", () => {
    const { asked, layer } = api([{ status: 503 }])
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.uninterruptible(Fleet.make(fleetWithoutGateway())))
      expect(error).toMatchObject({ _tag: "GatewayInfoError", status: 503 })
      yield* settle
      expect(asked).toEqual([0])
    }).pipe(Effect.provide(layer))
  })
})

describe("a gateway URL that cannot be connected to", () => {
  // the hosts the attempts went to
  const hostsOf = (attempts: ReadonlyArray<MemoryTransport.ConnectAttempt>) => attempts.map((attempt) => new URL(attempt.url).host)

  it.scoped("has the session ask GET /gateway/bot again once its answer is a minute old, and connect where the new one says", () => {
    const { asked, layer } = api([{ status: 200 }])
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(6)
      yield* Session.make(withoutGateway())
      for (let i = 0; i < 100; i++) yield* TestClock.adjust("1 second")
      // six refused, 1, 2, 4, 8, 16 and 32 s apart: the seventh (at 63 s) finds the answer a
      // minute old, asks again, and connects where the new one says
      expect(asked).toEqual([0, 63_000])
      expect(hostsOf(yield* gateway.attempts)).toEqual([...Array(6).fill("gateway-1.test"), "gateway-2.test"])
    }).pipe(noJitter, Effect.provide(layer))
  })

  // a draining node, a balancer closing at once: the socket opens and closes before any Hello (or
  // before the Identify): only a failed connect and the timeouts counted, and such a node was
  // dialled for the rest of the hour
  for (
    const [what, end] of [
      ["dropped", (peer: MemoryTransport.MemoryPeer) => peer.drop],
      ["closed with 1001", (peer: MemoryTransport.MemoryPeer) => peer.close(1001)],
      ["closed with 4000", (peer: MemoryTransport.MemoryPeer) => peer.close(4000)]
    ] as const
  ) {
    it.scoped(`has the session ask again once a minute old when its node's connections are ${what} before Hello`, () => {
      const { asked, layer } = api([{ status: 200 }])
      return Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(gateway.accept, (peer) =>
          new URL(peer.url).host === "gateway-1.test" ? end(peer) : Effect.asVoid(peer.handshake(41_250)))))
        yield* Session.make(withoutGateway())
        for (let i = 0; i < 100; i++) yield* TestClock.adjust("1 second")
        const hosts = hostsOf(yield* gateway.attempts)
        expect(asked.length).toBe(2)
        expect(asked[1]).toBeGreaterThanOrEqual(60_000)
        expect(hosts.at(-1)).toBe("gateway-2.test")
        expect(hosts.filter((host) => host === "gateway-2.test")).toHaveLength(1)
      }).pipe(noJitter, Effect.provide(layer))
    })
  }

  it.scoped("has a fleet whose shards all fail ask once a minute at most", () => {
    const { asked, layer } = api([{ status: 200 }], 4)
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(10_000)
      yield* Fleet.make({ ...fleetWithoutGateway(), shardCount: 4 })
      for (let i = 0; i < 300; i++) yield* TestClock.adjust("1 second")
      const attempts = yield* gateway.attempts
      expect(attempts.length).toBeGreaterThan(4 * 8)
      // the first answer, then one a minute at most
      expect(asked.length).toBeGreaterThan(2)
      for (let i = 1; i < asked.length; i++) expect(asked[i]! - asked[i - 1]!).toBeGreaterThanOrEqual(60_000)
    }).pipe(noJitter, Effect.provide(layer))
  })
})
