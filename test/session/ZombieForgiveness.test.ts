/**
 * What a beat awaiting its ACK is forgiven, and for how long: a reader held back for room is given
 * the time it was held (an ACK may wait unread behind the events), a stall once (an ACK may wait
 * unread behind the overdue timers). Forgiving more hid dead links for ever.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Session from "../../src/session/Session.ts"
import { withPauses } from "../pauses.ts"
import { dispatch, readySession, settle, TestLayer } from "./harness.ts"

/** The transitions' reasons seen from now on. */
const reasons = (session: Session.Session) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => seen.push(t.reason._tag))))
    return seen
  })

describe("a beat awaiting its ACK is forgiven no more than could hide it", () => {
  // a small buffer (or a fleet's shared one) filled for an instant at each burst; every resume of
  // the reader dropped the beat awaiting its ACK, and a gateway that never acknowledged another
  // was kept for as long as its events came in bursts
  it.scoped("events in bursts that fill the buffer for an instant, no ACKs: closed as a zombie within two intervals", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ bufferSize: 2 }, 10_000)
      const seen = yield* reasons(session)
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      let s = 2
      for (let step = 0; step < 13; step++) {
        for (let k = 0; k < 3; k++) yield* peer.sendJson(dispatch(s++, "MESSAGE_CREATE", {}))
        yield* settle
        yield* TestClock.adjust("2 seconds")
        yield* settle
      }
      expect(seen).toContain("Zombie")
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // an event loop busy past each due time by more than a second: each late tick took itself for one
  // after a stall and forgave the beat before it, for ever
  it.scoped("a dead link whose every tick runs 1.5 s late is closed as a zombie: a stall forgives a beat once", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, 41_250)
        const seen = yield* reasons(session)
        yield* Effect.forkScoped(Stream.runDrain(session.events))
        // the first beat at 20.625 s, on time; never answered
        yield* p.advance(20_625)
        expect(yield* peer.receivedJson).toEqual({ op: 1, d: 1 })
        for (let k = 0; k < 4; k++) {
          yield* p.advance(41_250 - 100)
          yield* p.pause(1_600)
        }
        expect(seen).toContain("Zombie")
      }).pipe(Effect.withRandom(Random.fixed([0.5])))
    ).pipe(Effect.provide(TestLayer)))
})
