/**
 * A gateway session lost: given up after Resumes in a row that got no RESUMED, or ended by the
 * gateway (op 9 false, close 4009). The session identifies anew and the events since are not
 * replayed: an Info line says so, and `discord_gateway_sessions_lost_total` counts it. A
 * connection that never got READY lost no session: neither says anything of it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { captured } from "../logLines.ts"
import { acceptAndHello, dispatch, lostCount, nextConnection, options, ready, secret, Session, settle, TestLayer } from "./harness.ts"

// shard 3 of 4 (the registry is the process's, and other files count shard 3 too: counts are
// compared before and after)
const shard: readonly [number, number] = [3, 4]

// a session READY on its first connection, then given MESSAGE_CREATE 2
const readyAtTwo = Effect.gen(function*() {
  yield* Session.make(options({ shard }))
  const { peer } = yield* acceptAndHello(3_600_000)
  yield* peer.sendJson(ready(1, "session-1", shard))
  yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
  yield* settle
  return peer
})

// the lines above Debug
const told = (lines: ReadonlyArray<string>) => lines.filter((line) => !line.startsWith("DEBUG"))

describe("a gateway session lost", () => {
  it.scoped("three Resumes in a row that got no RESUMED give the session up: an Info line says so, and the metric counts ResumesFailed", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostCount(3, "ResumesFailed")
      let peer = yield* readyAtTwo
      const firsts: Array<number> = []
      for (let i = 0; i < 4; i++) {
        yield* peer.drop
        yield* settle
        const next = yield* nextConnection
        firsts.push(next.first.op)
        peer = next.peer
      }
      expect(firsts).toEqual([6, 6, 6, 2])
      expect(told(lines)).toEqual([
        "INFO gateway session lost: 3 Resumes in a row got no RESUMED; the events after sequence 2 are not replayed"
      ])
      expect((yield* lostCount(3, "ResumesFailed")) - before).toBe(1)
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })

  it.scoped("op 9 false after READY: told and counted as InvalidSession; an Identify op 9 refused before any READY is neither", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostCount(3, "InvalidSession")
      yield* Session.make(options({ shard }))
      // the first Identify refused: no gateway session yet, none lost
      const refused = yield* acceptAndHello(3_600_000)
      yield* refused.peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const { first, peer } = yield* nextConnection
      expect(first.op).toBe(2)
      expect(told(lines)).toEqual([])
      expect((yield* lostCount(3, "InvalidSession")) - before).toBe(0)
      // READY, an event, then op 9: that gateway session is lost
      yield* peer.sendJson(ready(1, "session-1", shard))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const after = yield* nextConnection
      expect(after.first.op).toBe(2)
      expect(told(lines)).toEqual([
        "INFO gateway session lost: invalid session (op 9, not resumable); the events after sequence 2 are not replayed"
      ])
      expect((yield* lostCount(3, "InvalidSession")) - before).toBe(1)
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })

  it.scoped("close 4009 after READY: told with the close, counted as Closed; the token appears in no line", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostCount(3, "Closed")
      const peer = yield* readyAtTwo
      yield* peer.close(4009, `timed out ${secret}`)
      yield* settle
      const { first } = yield* nextConnection
      expect(first.op).toBe(2)
      const lost = told(lines)
      expect(lost).toHaveLength(1)
      expect(lost[0]).toMatch(/^INFO gateway session lost: close 4009 \(session timed out\): .*; the events after sequence 2 are not replayed$/)
      expect(lines.join("\n")).not.toContain(secret)
      expect((yield* lostCount(3, "Closed")) - before).toBe(1)
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })
})
