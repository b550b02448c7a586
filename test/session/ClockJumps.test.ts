/**
 * A session under a wall clock that NTP or an admin steps either way: its heartbeats, latency,
 * answers to op 1, stable-connection check, gateway-info age and events per second are measured
 * on the monotonic clock, so a step moves none of them.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as GatewayCache from "../../src/session/GatewayCache.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { hour, type Jumps, withJumps } from "../clockJumps.ts"
import { acceptAndHello, dispatch, options, ready, readySession, Session, settle, TestLayer, token } from "./harness.ts"

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)
const ack = { op: 11, d: null, s: null, t: null }
const interval = 41_250

/** A steady 10 events a second, for `seconds` seconds of real time. */
const flow = (j: Jumps, peer: MemoryTransport.MemoryPeer, from: { s: number }, seconds: number) =>
  Effect.gen(function*() {
    for (let second = 0; second < seconds; second++) {
      for (let i = 0; i < 10; i++) yield* peer.sendJson(dispatch(from.s++, "MESSAGE_CREATE", { id: String(from.s) }))
      yield* settle
      yield* j.adjust("1 second")
    }
  })

/** A ready session beating every 41.25 s (jitter 0.5: the first beat 20.625 s after Hello). */
const readyOnce = readySession({}, interval)

describe("Session under wall-clock steps", () => {
  it.scoped("after a step back of an hour, heartbeats go on every interval (none for an hour otherwise)", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const { peer } = yield* readyOnce
        yield* j.adjust("20625 millis")
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
        yield* peer.sendJson(ack)
        yield* settle
        yield* j.jump(-hour)
        yield* j.adjust(`${interval} millis`)
        const sent = Chunk.toReadonlyArray(yield* peer.takeAll)
        expect(sent.length, "heartbeats sent in the interval after the step").toBe(1)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  it.scoped("heartbeat latency is the round trip, not the step between a beat and its ACK", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const { peer, session } = yield* readyOnce
        yield* j.adjust("20625 millis")
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
        yield* j.jump(hour)
        yield* j.adjust("40 millis")
        yield* peer.sendJson(ack)
        yield* settle
        expect((yield* session.snapshot).latency).toBe(40)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  it.scoped("after a step back of an hour, op 1 is answered again a second after the last answer", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const { peer } = yield* readyOnce
        const requestBeat = Effect.zipRight(peer.sendJson({ op: 1, d: null, s: null, t: null }), settle)
        yield* requestBeat
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
        yield* j.jump(-hour)
        yield* j.adjust("1 second")
        yield* requestBeat
        expect(Chunk.toReadonlyArray(yield* peer.takeAll), "the answer to op 1").toEqual([JSON.stringify({ op: 1, d: 1 })])
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  it.scoped("a connection ready for longer than `stableAfter` (60 s) resets the backoff though the wall clock stepped back meanwhile", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* Session.make(options({ timeouts: { connect: "15 seconds", hello: "1 second", ready: "30 seconds" } }))
        // an outage: connections that never say Hello, backed off (1, 2, 4, 8, 16 s, jitter 1)
        for (let i = 0; i < 5; i++) {
          yield* gateway.accept
          yield* j.adjust("1 second") // the hello timeout
          yield* j.adjust(`${2 ** i} seconds`)
        }
        const { peer } = yield* acceptAndHello(interval)
        yield* peer.sendJson(ready())
        yield* settle
        yield* j.jump(-hour)
        // 82.5 s of acknowledged heartbeats
        for (let beat = 0; beat < 2; beat++) {
          yield* j.adjust(`${interval} millis`)
          yield* Effect.forEach(Chunk.toReadonlyArray(yield* peer.takeAll), () => peer.sendJson(ack), { discard: true })
          yield* settle
        }
        yield* peer.close(4000)
        yield* settle
        const next = yield* Effect.fork(gateway.accept)
        yield* j.adjust("1 second")
        expect(yield* isDone(next), "reconnected after the initial backoff (1 s), not the grown one").toBe(true)
      }).pipe(Effect.withRandom(Random.fixed([1])))
    ).pipe(Effect.provide(TestLayer)))
})

describe("GatewayCache under wall-clock steps", () => {
  it.scoped("the answer's age is real time: a step forward does not make it stale, nor a step back keep it fresh", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        let requests = 0
        const client = HttpClient.make((request) =>
          Effect.sync(() => {
            requests++
            const body = { url: "wss://gateway.test", shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 60_000, max_concurrency: 1 } }
            return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
          })
        )
        const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
        yield* cache.info
        yield* j.jump(2 * hour)
        yield* cache.info
        expect(requests, "refetched an answer a minute old").toBe(1)
        yield* j.jump(-3 * hour)
        yield* j.adjust("1 hour")
        yield* cache.info
        expect(requests, "kept an answer an hour old").toBe(2)
      })
    ).pipe(Effect.provide(IdentifyLimiter.layerMemory)))
})

// the events/s figure was read on the wall clock, every other duration on the monotonic one
describe("Events per second under wall-clock steps", () => {
  it.scoped("after a step forward of an hour, a steady 10 events/s reads 10/s two seconds on, not 2/s", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, 3_600_000)
        const seq = { s: 2 }
        yield* flow(j, peer, seq, 12)
        expect((yield* session.snapshot).eventsPerSecond, "before the step").toBeCloseTo(10, 0)
        yield* j.jump(hour)
        yield* flow(j, peer, seq, 2)
        expect((yield* session.snapshot).eventsPerSecond, "2 s after the step, events still at 10/s").toBeGreaterThanOrEqual(9)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  it.scoped("after a step back of a minute, a shard that received nothing for 61 s reads 0 events/s, not the old rate", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, 3_600_000)
        yield* flow(j, peer, { s: 2 }, 12)
        expect((yield* session.snapshot).eventsPerSecond, "before the step").toBeCloseTo(10, 0)
        yield* j.jump(-60_000)
        yield* j.adjust("61 seconds")
        expect((yield* session.snapshot).eventsPerSecond, "no event in the last 61 s").toBe(0)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))
})

describe("Heartbeat latency under a TestClock set back", () => {
  // a program's own TestClock test read a latency of -10000 ms
  it.scoped("a beat acknowledged after TestClock.setTime moved back 10 s reads no negative latency", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, interval)
      yield* TestClock.adjust("20625 millis")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
      yield* TestClock.setTime(20_625 - 10_000)
      yield* peer.sendJson(ack)
      yield* settle
      expect((yield* session.snapshot).latency).toBe(0)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
})
