/**
 * Lost gateway sessions at the edges, told and counted (src/session/Session.ts `forgetSession`,
 * src/session/SessionMetrics.ts `sessionsLost`): a stop, a session no Resume can carry, a hook
 * that throws.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as Json from "../../src/codec/Json.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import * as Outage from "../../src/session/Outage.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, dispatch, lostCount, nextConnection, options, ready, Session, settle, TestLayer } from "./harness.ts"

const reasons = ["Closed", "Disconnect", "InvalidSession", "ResumesFailed", "Zombie", "DecodeFailed", "ReadyTimeout"]

const lostOn = (shard: number) =>
  Effect.map(
    Effect.forEach(reasons, (reason) => lostCount(shard, reason)),
    (counts) => Object.fromEntries(counts.map((count, i) => [reasons[i]!, count]))
  )

// a session id of 256 characters (the most READY may give) and the shortest token with which its
// Resume is over the payload limit: READY's session cannot be resumed ("Unresumable")
const sessionId = "s".repeat(256)
const longToken = (() => {
  for (let length = 3000; length < 4096; length++) {
    const token = Redacted.make("t".repeat(length))
    if (Either.isLeft(Commands.resumeFits(token, sessionId, Json.encoding))) return token
  }
  throw new Error("no token length makes the Resume too large")
})()

const told = (lines: ReadonlyArray<string>) => lines.filter((line) => !line.startsWith("DEBUG"))

describe("a gateway session lost", () => {
  // a session whose READY cannot be resumed (its session id makes a Resume over 4096 bytes with
  // this token), disconnected by the program, was counted as lost: the stop's own close left the
  // next mode "identify", and every such end was counted
  it.scoped("a session whose READY cannot be resumed, disconnected by the program: no lost session told or counted", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostOn(1)
      const session = yield* Session.make(options({ token: longToken, shard: [1, 4] }))
      const { first, peer } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* peer.sendJson(ready(1, sessionId, [1, 4]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      yield* Fiber.await(stopping)
      expect(told(lines).filter((line) => line.includes("gateway session lost"))).toEqual([])
      expect(yield* lostOn(1)).toEqual(before)
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })

  // holds: the same session dropped by the gateway is lost once, the next connection identifies,
  // and the one after that (a new session) loses nothing more
  it.scoped("a session whose READY cannot be resumed, dropped: lost once, counted once", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostOn(2)
      yield* Session.make(options({ token: longToken, shard: [2, 4] }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, sessionId, [2, 4]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      yield* peer.drop
      yield* settle
      const next = yield* nextConnection
      expect(next.first.op).toBe(2)
      const lost = told(lines).filter((line) => line.includes("gateway session lost"))
      expect(lost).toEqual(["INFO gateway session lost: connection lost; the events after sequence 2 are not replayed"])
      const after = yield* lostOn(2)
      expect(after["Closed"]! - before["Closed"]!).toBe(1)
      expect(lines.join("\n")).not.toContain("t".repeat(60))
    }).pipe(Effect.provide(layer), Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer))
  })

  // a program's hook that throws as it is called (or is missing: one written before `lost`
  // existed) ended the session at the first op 9; it is told at Error, as one that fails
  it.scoped("a program's `lost` hook that throws: told at Error, the session goes on", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const own = Outage.make()
      const resolved = yield* SessionOptions.resolve(options({ shard: [3, 4] }))
      const session = yield* Session.makeWith(resolved, {
        outage: {
          ...own,
          lost: () => {
            throw new Error("the program's lost hook threw")
          }
        }
      })
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, "session-1", [3, 4]))
      yield* settle
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const awaiting = yield* Effect.fork(Effect.exit(session.await))
      const next = yield* Effect.fork(nextConnection)
      for (let s = 0; s < 20; s++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const ended = awaiting.unsafePoll()
      expect(ended === null ? "running" : `ended: ${String(ended)}`).toBe("running")
      yield* Fiber.interrupt(next)
      void lines
    }).pipe(Effect.provide(layer), Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer))
  })
})
