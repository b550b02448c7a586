/**
 * An Identify or a Resume that could not be written (the socket gone right after Hello) never
 * reached the gateway: it is no Resume the gateway refused, and no Identify it answered. The
 * session counted both as sent: three such Resumes gave the gateway session up, and a session
 * start was spent on a new one.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, firstIdentifyWritten, hello, options, programLimiter, ready, Session, settle, TestLayer } from "./harness.ts"

const opsOf = (frames: Chunk.Chunk<unknown>) => Chunk.toReadonlyArray(frames).map((frame) => (JSON.parse(frame as string) as { op: number }).op)

/**
 * `identify_wait_ms` over two connections: the first's Identify waits 20 s at the limiter, and its
 * socket goes while it still waits, while it is being written (a write of 30 s, interrupted), or
 * while a write that went through waits 30 s for the buffer to drain (a limiter running `send` on a
 * fiber of its own, which the end does not cut short); the next Identify goes at once. What the
 * metric took meanwhile: how many samples, and their sum.
 */
const identifyWaitAfterDrop = (options_: { readonly dropAt: "waiting" | "writing" | "draining" }) => {
  const { dropAt } = options_
  let calls = 0
  const limiter = programLimiter({
    identify: (_shard, send) =>
      Effect.suspend(() => {
        const work = ++calls === 1 ? Effect.zipRight(Effect.sleep("20 seconds"), send(Effect.void)) : send(Effect.void)
        return dropAt === "draining" ? Effect.flatMap(Effect.forkDaemon(work), Fiber.join) : work
      })
  })
  const firstIdentifySlow = firstIdentifyWritten({ identifies: 0 }, (plain) =>
    dropAt === "waiting"
      ? plain
      : dropAt === "writing"
      ? Effect.zipRight(Effect.sleep("30 seconds"), plain)
      : Effect.zipLeft(plain, Effect.uninterruptible(Effect.sleep("30 seconds"))))
  return Effect.gen(function*() {
    const before = yield* Metric.value(SessionMetrics.identifyWait)
    yield* Session.make(options({ shard: [201, 202], timeouts: { hello: "1 hour" } }))
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = yield* gateway.accept
    yield* peer.sendJson(hello(3_600_000))
    yield* settle
    // before the turn, or after it (the write under way)
    yield* TestClock.adjust(dropAt === "waiting" ? "19 seconds" : "25 seconds")
    yield* settle
    expect(calls).toBe(1)
    yield* peer.drop
    yield* settle
    const second = yield* Effect.fork(acceptAndHello(3_600_000))
    for (let i = 0; i < 10 && second.unsafePoll() === null; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    const { first: identify, peer: next } = yield* Fiber.join(second)
    expect(identify.op).toBe(2)
    yield* next.sendJson(ready(1, "s", [201, 202]))
    yield* settle
    // a drain under way ends
    yield* TestClock.adjust("40 seconds")
    yield* settle
    const after = yield* Metric.value(SessionMetrics.identifyWait)
    // (the sum rounded to the millisecond: the process's histogram holds other tests' waits too,
    // hours of them, and a difference of large sums is off in its last bits)
    return { count: after.count - before.count, sum: Math.round(after.sum - before.sum) }
  }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.provideMerge(firstIdentifySlow, limiter)))
}

describe("Session: an Identify or a Resume not written", () => {
  it.scoped("a node that says Hello and drops before the Resume could be written does not cost the session: it is kept, to resume", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, "session-1"))
      yield* settle
      yield* peer.drop
      // a flapping node: Hello, then the connection lost before anything is read from the client
      const written: Array<ReadonlyArray<number>> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const next = yield* gateway.accept
        yield* next.sendJson(hello(3_600_000))
        yield* next.drop
        yield* settle
        written.push(opsOf(yield* next.takeAll))
      })))
      for (let i = 0; i < 30 && written.length < 4; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // four attempts, none of whose Resume went out: the gateway session is still the session's
      expect(written.length).toBeGreaterThanOrEqual(4)
      expect(written.flat()).toEqual([])
      expect((yield* session.snapshot).sessionId).toBe("session-1")
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)), 60_000)

  // with a limiter that runs the Identify's send at once, as a program's own may: the node the
  // Identify could not be written to counts as not reached, and GET /gateway/bot is asked again
  it.scoped("an Identify not written (a limiter that sends at once, the socket gone after Hello) counts its node as not reached: GET /gateway/bot is asked again", () => {
    const asked: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        asked.push(now)
        const body = {
          url: `ws://gateway-${asked.length}.test`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 }
        }
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
      })
    )
    const limiter = Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
      configure: () => Effect.void,
      identify: (_shard, send) => send(Effect.void),
      snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
    })
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const written: Array<number> = []
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const peer = yield* gateway.accept
        if (new URL(peer.url).host !== "gateway-1.test") return yield* Effect.asVoid(peer.handshake(41_250))
        yield* peer.sendJson(hello(41_250))
        yield* peer.drop
        yield* settle
        written.push(...opsOf(yield* peer.takeAll))
      })))
      yield* Session.make({ ...options(), gateway: undefined, api: "http://api.test/api/v10" })
      for (let i = 0; i < 100; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // no Identify reached gateway-1's node, and the next answer sent the session elsewhere
      expect(written).toEqual([])
      const hosts = (yield* gateway.attempts).map((attempt) => new URL(attempt.url).host)
      expect(asked.length).toBe(2)
      expect(hosts.at(-1)).toBe("gateway-2.test")
    }).pipe(Effect.withRandom(Random.fixed([1])), Effect.provide(Layer.mergeAll(MemoryTransport.layer, limiter, Layer.succeed(HttpClient.HttpClient, client))))
  }, 60_000)

  // its wait was counted in identify_wait_ms as it was sent, and again with the next attempt's,
  // which carried it on: two samples for one Identify that went out
  it.scoped("an Identify not written gives identify_wait_ms no sample: the one written after it gives one", () => {
    const limiter = Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
      configure: () => Effect.void,
      identify: (_shard, send) => send(Effect.void),
      snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
    })
    return Effect.gen(function*() {
      const before = (yield* Metric.value(SessionMetrics.identifyWait)).count
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      // the first node says Hello and drops before the Identify could be written
      const dropping = yield* gateway.accept
      yield* dropping.sendJson(hello(3_600_000))
      yield* dropping.drop
      yield* settle
      expect((yield* Metric.value(SessionMetrics.identifyWait)).count - before).toBe(0)
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      for (let i = 0; i < 10 && next.unsafePoll() === null; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect((yield* Fiber.join(next)).first.op).toBe(2)
      expect((yield* Metric.value(SessionMetrics.identifyWait)).count - before).toBe(1)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.mergeAll(MemoryTransport.layer, limiter, FetchHttpClient.layer)))
  }, 30_000)

  // only the wait for the budget was carried on: the limiter's own wait of an Identify the socket
  // took down was lost with its connection
  it.scoped("an Identify that waited 5 s at the limiter and was not written carries its 5 s on to the next", () => {
    let calls = 0
    let dropping: MemoryTransport.MemoryPeer | undefined
    const limiter = Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
      configure: () => Effect.void,
      identify: (_shard, send) =>
        Effect.suspend(() => {
          calls++
          if (calls > 1) return send(Effect.void)
          // its turn comes 5 s on; the socket goes just as it does, before the frame is written
          return Effect.zipRight(Effect.sleep("5 seconds"), Effect.zipRight(dropping!.drop, send(Effect.void)))
        }),
      snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
    })
    return Effect.gen(function*() {
      const before = yield* Metric.value(SessionMetrics.identifyWait)
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      dropping = yield* gateway.accept
      yield* dropping.sendJson(hello(3_600_000))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(Array.from(yield* dropping.takeAll)).toEqual([])
      expect((yield* Metric.value(SessionMetrics.identifyWait)).count - before.count).toBe(0)
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      for (let i = 0; i < 10 && next.unsafePoll() === null; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect((yield* Fiber.join(next)).first.op).toBe(2)
      const after = yield* Metric.value(SessionMetrics.identifyWait)
      expect(after.count - before.count).toBe(1)
      expect(after.sum - before.sum).toBeGreaterThanOrEqual(5_000)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.mergeAll(MemoryTransport.layer, limiter, FetchHttpClient.layer)))
  }, 30_000)

  // an Identify whose socket went while it waited at the limiter, before its turn: that wait was
  // lost from identify_wait_ms, where one whose write failed carried its wait on (obs4-1)
  it.scoped("identify wait: a socket dropped while its Identify waited at the limiter carries that wait to the next Identify", () =>
    Effect.gen(function*() {
      // the 19 s it waited before its socket went, carried on
      expect(yield* identifyWaitAfterDrop({ dropAt: "waiting" })).toEqual({ count: 1, sum: 19_000 })
    }))

  // the same where the socket went after the turn came, while the Identify was being written (a
  // slow transport write): the connection's end interrupted the write, and the wait was lost
  // (rereview69d-1)
  it.scoped("identify wait: a socket dropped while its Identify's write was under way carries the limiter wait on", () =>
    Effect.gen(function*() {
      // the 20 s it waited for its turn, carried on
      expect(yield* identifyWaitAfterDrop({ dropAt: "writing" })).toEqual({ count: 1, sum: 20_000 })
    }))

  // a limiter that runs `send` on a fiber of its own is not cut short by the connection's end: the
  // write went through after the socket went, was counted, and its wait was carried on and counted
  // again by the next Identify (rereview69e-1)
  it.scoped("an Identify whose write completes after its socket went is not counted twice", () =>
    Effect.gen(function*() {
      // the 20 s counted once, at the Identify it was carried on to
      expect(yield* identifyWaitAfterDrop({ dropAt: "draining" })).toEqual({ count: 1, sum: 20_000 })
    }))
})
