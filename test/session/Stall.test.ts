/**
 * A session whose process stops for a while (a blocked event loop, SIGSTOP, a VM paused), then
 * goes on: the timers that fell due meanwhile run before the frames that came meanwhile are read.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Intents from "../../src/protocol/Intents.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import {
  acceptAndHello,
  dispatch,
  hello,
  memberAnswer,
  options,
  ready,
  readySession,
  receiveOp,
  Session,
  settle,
  TestLayer
} from "./harness.ts"
import { type Pauses, withPauses } from "../pauses.ts"

const ack = { op: 11, d: null, s: null, t: null }
const interval = 41_250

/** The transitions of `session`, as `to/reason` tags, collected in the background. */
const recordTransitions = (session: Session.Session) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) =>
      Effect.sync(() => {
        seen.push(`${t.to._tag}/${t.reason._tag}`)
      })))
    return seen
  })

/**
 * A ready session whose first beat (at 20.625 s) the gateway ACKs at once, read only after a stall
 * (45 s unless given), past the next beat's due time; with the transitions seen. The ACK is read
 * after every timer that the stall made overdue ran, or, `readInStall`, in the poll phase that
 * follows them (before a timer of no length they began).
 */
const stalledBetweenBeatAndAck = (p: Pauses, stallMs = 45_000, readInStall = false) =>
  Effect.gen(function*() {
    const { peer, session } = yield* readySession({}, interval)
    const seen = yield* recordTransitions(session)
    yield* p.advance(20_625)
    expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
    if (readInStall) {
      yield* p.pause(stallMs, peer.sendJson(ack))
    } else {
      yield* p.pause(stallMs)
      yield* peer.sendJson(ack)
    }
    yield* settle
    return { peer, session, seen }
  })

/** A member request whose answer comes during a stall of `stallMs`, read as `stalledBetweenBeatAndAck` reads its ACK. */
const answeredAcrossStall = (p: Pauses, stallMs: number, readInStall: boolean) =>
  Effect.gen(function*() {
    const guild_id = "81384788765712384"
    const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers }, interval)
    const request = yield* Effect.fork(session.requestGuildMembers({ guild_id, user_ids: ["1"] }))
    const sent = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
    const answer = peer.sendJson(memberAnswer(2, guild_id, sent.d.nonce, [{ user: { id: "1" } }]))
    if (readInStall) {
      yield* p.pause(stallMs, answer)
    } else {
      yield* p.pause(stallMs)
      yield* answer
    }
    expect((yield* Fiber.join(request)).members).toEqual([{ user: { id: "1" } }])
  })

describe("Session after a stall", () => {
  // Ready, beating every 41.25 s (jitter 0.5: the first beat at 20.625 s). The gateway ACKs the
  // beat at once, but the process stalls before it reads the ACK, for 45 s: past the next beat's
  // due time (61.875 s). When it runs again, the heartbeat timer runs before the socket is read and
  // finds the beat unacknowledged; late as it is, it sends the beat that was due rather than
  // closing a healthy connection as a zombie.
  it.scoped("a stall past a beat's due time, caught between a beat and its ACK, does not close the live connection as a zombie", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const { peer, seen, session } = yield* stalledBetweenBeatAndAck(p)
        expect(seen, "transitions after READY").not.toContain("Disconnected/Zombie")
        expect(yield* peer.isOpen, "the gateway's connection").toBe(true)
        // the beat that was due went out, late
        expect(Chunk.toReadonlyArray(yield* peer.takeAll)).toEqual([JSON.stringify({ op: 1, d: 1 })])
        expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // The same stall, then a link that dies: the first beat left unanswered is found at the next
  // tick. The forgiven beat's ACK had left the late beat counted as awaited, its own ACK then took
  // the count below zero, and every zombie was found a tick late for the connection's life.
  it.scoped("after a stall caught between a beat and its ACK, a dead link is still found at the tick after its unanswered beat", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const { peer, seen } = yield* stalledBetweenBeatAndAck(p)
        expect(yield* peer.receivedJson, "the late beat").toEqual({ op: 1, d: 1 })
        yield* p.advance(40)
        yield* peer.sendJson(ack)
        yield* settle
        // the link dies: the beat after the late one goes unanswered
        yield* p.advance(interval)
        expect(Chunk.toReadonlyArray(yield* peer.takeAll)).toEqual([JSON.stringify({ op: 1, d: 1 })])
        expect(seen).not.toContain("Disconnected/Zombie")
        yield* p.advance(interval)
        expect(seen).toContain("Disconnected/Zombie")
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // The ACK read after that stall answers the beat before it: paired with the late beat, it
  // measured a round trip of 0 ms, shown as the latency (metric, snapshot, fleet status) just when
  // the process had not run; the late beat's own ACK then measured nothing.
  it.scoped("the ACK read after a stall measures no round trip; the late beat's ACK measures its own", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const id = 7
        const latency = Metric.taggedWithLabels(SessionMetrics.heartbeatLatency, [MetricLabel.make("shard", String(id))])
        const before = (yield* Metric.value(latency)).count
        const { peer, session } = yield* readySession({ shard: [id, 8] }, interval)
        yield* p.advance(20_625)
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
        yield* p.advance(100)
        yield* p.pause(45_000)
        yield* peer.sendJson(ack)
        yield* settle
        expect(yield* peer.receivedJson, "the late beat").toEqual({ op: 1, d: 1 })
        expect([(yield* Metric.value(latency)).count - before, (yield* session.snapshot).latency]).toEqual([0, undefined])
        yield* p.advance(40)
        yield* peer.sendJson(ack)
        yield* settle
        expect([(yield* Metric.value(latency)).count - before, (yield* session.snapshot).latency]).toEqual([1, 40])
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // The same stall on a connection whose Identify waits on for its READY (an outage: past the
  // ready timeout, heartbeats acknowledged). The gateway acknowledges the beat at 61.875 s and
  // issues the session during the stall; a zombie verdict would throw the connection away before
  // its READY is read, and the next connection would identify again: a second session start spent
  // for one session (and the first one orphaned).
  it.scoped("a stall caught between a beat and its ACK while an Identify waits for READY spends no second Identify", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(options({}))
        const { first, peer } = yield* acceptAndHello(interval)
        expect(first.op).toBe(2)
        // the outage: no READY; the beats are acknowledged, the ready timeout (30 s) passes
        yield* p.advance(20_625)
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: null })
        yield* peer.sendJson(ack)
        yield* p.advance(41_250)
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: null })
        // the stall, before the ACK is read; the session is issued meanwhile
        yield* p.pause(45_000)
        yield* peer.sendJson(ack)
        yield* peer.sendJson(ready(1, "session-1"))
        yield* settle
        // whatever happened, let the session go on for a while against a gateway that serves it
        const identifies: Array<unknown> = []
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(gateway.accept, (next) =>
          Effect.forkScoped(Effect.flatMap(next.handshake(interval), (payload) =>
            Effect.sync(() => {
              identifies.push(payload)
            }))))))
        yield* p.advance(10_000)
        expect(identifies, "Identify payloads sent after the stall").toEqual([])
        expect((yield* session.snapshot).sessionId).toBe("session-1")
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // The timeouts that wait on the gateway's answers: a stall past one, with the answer come
  // meanwhile, leaves the timer overdue and the answer unread. The timer, more than a second late,
  // waits a second more, and the answer is read in it.
  describe("an answer that came during a stall past its timeout is read", () => {
    it.scoped("the opened socket (connect timeout 15 s): the connection goes on", () =>
      withPauses((p) =>
        Effect.gen(function*() {
          const transport = yield* GatewayTransport
          const opened = yield* Deferred.make<void>()
          const session = yield* Session.make(options({})).pipe(
            Effect.provideService(GatewayTransport, {
              connect: (url, connectOptions) => Effect.zipRight(Deferred.await(opened), transport.connect(url, connectOptions))
            })
          )
          const seen = yield* recordTransitions(session)
          yield* p.pause(20_000)
          yield* Deferred.succeed(opened, undefined)
          yield* settle
          expect(seen).not.toContain("Disconnected/ConnectTimeout")
          expect((yield* (yield* MemoryTransport.MemoryGateway).attempts).length, "connect attempts").toBe(1)
          const { first } = yield* acceptAndHello(interval)
          expect(first.op).toBe(2)
        }).pipe(Effect.withRandom(Random.fixed([0.5])))
      ).pipe(Effect.provide(TestLayer)))

    it.scoped("Hello (hello timeout 20 s): the connection identifies", () =>
      withPauses((p) =>
        Effect.gen(function*() {
          const session = yield* Session.make(options({}))
          const seen = yield* recordTransitions(session)
          const peer = yield* (yield* MemoryTransport.MemoryGateway).accept
          yield* p.pause(25_000)
          yield* peer.sendJson(hello(interval))
          yield* settle
          expect(seen).not.toContain("Disconnected/HelloTimeout")
          expect(yield* peer.receivedJson).toMatchObject({ op: 2 })
        }).pipe(Effect.withRandom(Random.fixed([0.5])))
      ).pipe(Effect.provide(TestLayer)))

    it.scoped("RESUMED (ready timeout 30 s): the resumed connection is ready", () =>
      withPauses((p) =>
        Effect.gen(function*() {
          const { peer, session } = yield* readySession({}, interval)
          const seen = yield* recordTransitions(session)
          yield* peer.close(4000)
          const again = yield* Effect.fork(acceptAndHello(interval))
          yield* p.advance(5_000)
          const { first, peer: next } = yield* Fiber.join(again)
          expect(first.op).toBe(6)
          yield* p.pause(35_000)
          yield* next.sendJson(dispatch(2, "RESUMED", {}))
          yield* settle
          expect(seen).not.toContain("Disconnected/ReadyTimeout")
          expect(yield* next.isOpen, "the gateway's connection").toBe(true)
          expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
        }).pipe(Effect.withRandom(Random.fixed([0.5])))
      ).pipe(Effect.provide(TestLayer)))

    it.scoped("a member request's answer (members timeout 30 s): the request is answered", () =>
      withPauses((p) => answeredAcrossStall(p, 35_000, false).pipe(Effect.withRandom(Random.fixed([0.5])))).pipe(Effect.provide(TestLayer)))
  })
})

describe("Session after a stall ending less than a second past what fell due", () => {
  // Under the second that marks a stall, the tick or timeout ran as if on time and gave up on the
  // answer that came during the stall, before Node read it: a longer stall was forgiven, a shorter
  // one not. The verdict now waits for Node to read its sockets once (`arrived`: what it reads then).

  // a 41.6 s stall right after a beat ends 0.375 s after the next tick fell due
  it.scoped("a stall caught between a beat and its ACK, ending just after the next tick, does not close the live connection as a zombie", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const { peer, seen } = yield* stalledBetweenBeatAndAck(p, 41_625, true)
        expect(seen).not.toContain("Disconnected/Zombie")
        expect(yield* peer.isOpen).toBe(true)
        // the beat that was due went out, once the ACK was read
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // the same with no ACK: a dead link is still found at that tick
  it.scoped("with no ACK in the socket, the tick still finds the zombie", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, interval)
        const seen = yield* recordTransitions(session)
        yield* p.advance(20_625)
        yield* p.pause(41_625)
        yield* settle
        expect(seen).toContain("Disconnected/Zombie")
        expect(yield* peer.isOpen).toBe(false)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // the hello timeout (20 s) run 0.5 s late, the Hello come during the stall
  it.scoped("a Hello that came during a stall ending past the hello timeout is read, not timed out", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const session = yield* Session.make(options({}))
        const seen = yield* recordTransitions(session)
        const peer = yield* (yield* MemoryTransport.MemoryGateway).accept
        yield* p.pause(20_500, peer.sendJson(hello(interval)))
        yield* settle
        expect(seen).not.toContain("Disconnected/HelloTimeout")
        expect(yield* peer.isOpen).toBe(true)
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))

  // the members timeout (30 s) run 0.5 s late, the chunk come during the stall
  it.scoped("a member request answered during a stall ending past its timeout is answered, not timed out", () =>
    withPauses((p) => answeredAcrossStall(p, 30_500, true).pipe(Effect.withRandom(Random.fixed([0.5])))).pipe(Effect.provide(TestLayer)))
})
