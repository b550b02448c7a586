/**
 * The identify hold-back against gateways that end every connection that identifies before it is
 * stable, otherwise than with op 9: a close that resumes, a drop, silence, a drop right after READY
 * with the Resume refused. Each Identify spends one of the day's session starts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, type Opened, options, ready, Session, settle, TestLayer } from "./harness.ts"

// Runs a session for `minutes` of virtual time against a gateway that answers each connection's
// first payload (Identify or Resume) with `answer`; the opcode each connection began with.
const against = (minutes: number, answer: (first: Opened, peer: MemoryTransport.MemoryPeer, n: number) => Effect.Effect<void, unknown>) =>
  Effect.gen(function*() {
    yield* Session.make(options())
    const firstOps: Array<number> = []
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const { first, peer } = yield* acceptAndHello(41_250)
      yield* peer.autoAck(true)
      firstOps.push(first.op)
      yield* answer(first, peer, firstOps.length)
    }).pipe(Effect.catchAll(() => Effect.void))))
    for (let i = 0; i < minutes * 12; i++) {
      yield* TestClock.adjust("5 seconds")
      yield* settle
    }
    return { identifies: firstOps.filter((op) => op === 2).length, connections: firstOps.length }
  })

const invalid = { op: 9, d: false, s: null, t: null }

describe("a gateway ending every connection that identifies, before it is stable", () => {
  // each Identify is a session start: a gateway (or a proxy cutting READY) ending every Identify's
  // connection before READY with a close that resumes had the session send one a backoff apart for
  // ever, 86 in an hour (recon4-1)
  it.scoped("a gateway closing every Identify with 4000 (no READY) is held back, not identified a backoff apart all day", () =>
    Effect.gen(function*() {
      const { identifies } = yield* against(60, (_first, peer) => peer.close(4000))
      expect(identifies).toBeLessThanOrEqual(12)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a gateway dropping every Identify's connection before READY is held back too", () =>
    Effect.gen(function*() {
      const { identifies } = yield* against(60, (_first, peer) => peer.drop)
      expect(identifies).toBeLessThanOrEqual(12)
    }).pipe(Effect.provide(TestLayer)))

  // a gateway taking the Identify and answering nothing, heartbeats included: each zombie check
  // ended the connection and the next Identify spent another start, 36 in an hour
  it.scoped("a gateway that takes every Identify and then goes silent (no READY, no ACK) is held back too", () =>
    Effect.gen(function*() {
      yield* Session.make(options())
      let identifies = 0
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { first } = yield* acceptAndHello(41_250)
        if (first.op === 2) identifies++
      }).pipe(Effect.catchAll(() => Effect.void))))
      for (let i = 0; i < 720; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* settle
      }
      expect(identifies).toBeLessThanOrEqual(12)
    }).pipe(Effect.provide(TestLayer)))

  // READY, the connection dropped at once, and the Resume refused (op 9 false): the drop started the
  // count over and the refused Resume says nothing, so every cycle spent a start, 79 in an hour
  // (recon4-2)
  it.scoped("READY then a drop, and the Resume refused, every time: held back, not a start every backoff", () =>
    Effect.gen(function*() {
      const { identifies } = yield* against(60, (first, peer, n) =>
        first.op === 2
          ? Effect.zipRight(peer.sendJson(ready(1, `session-${n}`)), Effect.zipRight(settle, peer.drop))
          : peer.sendJson(invalid))
      expect(identifies).toBeLessThanOrEqual(12)
    }).pipe(Effect.provide(TestLayer)))
})
