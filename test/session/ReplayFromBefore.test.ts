/**
 * A gateway whose replay starts before the Resume's sequence (Discord's starts after it): each
 * event reaches the program once and in order, whatever ended the connection; a replay of events
 * delivered already only is no answer to a Resume (no progress).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Session from "../../src/session/Session.ts"
import type * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, dispatch, options, ready, settle, TestLayer } from "./harness.ts"

type Peer = MemoryTransport.MemoryPeer

const messages = (from: number, to: number): Array<string> =>
  Array.from({ length: to - from + 1 }, (_, i) => `MESSAGE_CREATE:${from + i}`)

const sendMessages = (peer: Peer, from: number, to: number) =>
  Effect.forEach(Array.from({ length: to - from + 1 }, (_, i) => from + i), (s) => peer.sendJson(dispatch(s, "MESSAGE_CREATE", {})), { discard: true })

/** A session that delivered READY (1) and MESSAGE_CREATE 2..`last`; what its program took, as `T:seq`. */
const delivered = (last: number) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
    const took: Array<string> = []
    yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => took.push(`${event.t}:${event.sequence}`))))
    const { first, peer } = yield* acceptAndHello(3_600_000)
    expect(first.op).toBe(2)
    yield* peer.sendJson(ready(1))
    yield* sendMessages(peer, 2, last)
    yield* settle
    return { peer, took }
  })

/** The backoff passed, the next connection's first payload and its peer. */
const nextConnection = Effect.gen(function*() {
  yield* TestClock.adjust("70 seconds")
  yield* settle
  return yield* acceptAndHello(3_600_000)
})

/**
 * A session that delivered READY and 2..5, then four connections, each Resume answered by a replay
 * from 2 up to `last(attempt)` and dropped before RESUMED (one that identifies ends them); the
 * first payload of each, and what the program took.
 */
const resumesReplayedUpTo = (last: (attempt: number) => number) =>
  Effect.gen(function*() {
    const { peer, took } = yield* delivered(5)
    yield* peer.drop
    const firstOps: Array<number> = []
    for (let attempt = 0; attempt < 4; attempt++) {
      const { first, peer: next } = yield* nextConnection
      firstOps.push(first.op)
      if (first.op !== 6) break
      yield* sendMessages(next, 2, last(attempt))
      yield* settle
      yield* next.drop
    }
    return { firstOps, took }
  })

const resumableEnds: ReadonlyArray<readonly [string, (peer: Peer) => Effect.Effect<void>]> = [
  ["a dropped socket", (peer) => peer.drop],
  ["close 4000", (peer) => peer.close(4000)],
  ["op 7", (peer) => peer.sendJson({ op: 7, d: null, s: null, t: null })],
  ["op 9 d=true", (peer) => peer.sendJson({ op: 9, d: true, s: null, t: null })]
]

describe("a replay from before the resume point", () => {
  for (const [name, end] of resumableEnds) {
    it.scoped(`after ${name}: each event once, in order, then RESUMED and the live events`, () =>
      Effect.gen(function*() {
        const { peer, took } = yield* delivered(5)
        yield* end(peer)
        yield* settle
        const { first, peer: next } = yield* nextConnection
        expect([first.op, first.d["seq"]]).toEqual([6, 5])
        yield* sendMessages(next, 2, 8)
        yield* next.sendJson(dispatch(9, "RESUMED", {}))
        yield* sendMessages(next, 10, 11)
        yield* settle
        expect(took).toEqual(["READY:1", ...messages(2, 8), "RESUMED:9", ...messages(10, 11)])
      }).pipe(Effect.provide(TestLayer)))
  }

  // the session's READY was taken for a new session's: the connection ended, a session start was
  // spent on an Identify, and the events after the point (5, 6) never came
  it.scoped("from the gateway session's start, its READY among them: skipped as delivered, the session goes on", () =>
    Effect.gen(function*() {
      const { peer, took } = yield* delivered(4)
      yield* peer.drop
      const { first, peer: next } = yield* nextConnection
      expect(first.op).toBe(6)
      yield* next.sendJson(ready(1))
      yield* sendMessages(next, 2, 6)
      yield* next.sendJson(dispatch(7, "RESUMED", {}))
      yield* settle
      expect(took).toEqual(["READY:1", ...messages(2, 6), "RESUMED:7"])
      expect(yield* next.isOpen).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // events delivered already are no progress: a node that replays only those and drops would hold
  // the session resuming for ever, its point never moving; three such Resumes give it up, as three
  // unanswered ones do (one new event makes a Resume answered: the next test)
  it.scoped("Resumes answered only by events delivered already, each cut short before RESUMED, are unanswered: the fourth connection identifies", () =>
    Effect.gen(function*() {
      const { firstOps, took } = yield* resumesReplayedUpTo(() => 5)
      expect(firstOps).toEqual([6, 6, 6, 2])
      expect(took).toEqual(["READY:1", ...messages(2, 5)])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Resumes each bringing one new event after the old ones, cut short before RESUMED, are answered: the session keeps resuming", () =>
    Effect.gen(function*() {
      const { firstOps, took } = yield* resumesReplayedUpTo((attempt) => 6 + attempt)
      expect(firstOps).toEqual([6, 6, 6, 6])
      expect(took).toEqual(["READY:1", ...messages(2, 9)])
    }).pipe(Effect.provide(TestLayer)))
})
