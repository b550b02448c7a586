/**
 * The hold-back in the session's state: after three connections in a row whose sessions op 9, or a
 * close that ends the session, ended before they were stable, the session is `Disconnected`, reason
 * `HeldBack`, until its next attempt (it showed the op 9 for up to an hour); the outage count and
 * the reconnects still name the op 9.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { describeReason, Reason, type Transition } from "../../src/session/SessionState.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, options, ready, Session, settle, TestLayer } from "./harness.ts"

// the hold-back's spread (0.5 to 1) at 0.75: twice the backoff's longest (60 s) and doubling, so
// 90 s after the third op 9 in a row, 3 min after the fourth, 6 min after the fifth
const sameDraws = Random.fixed([0.5])

const reconnectsFor = (reason: string) =>
  Metric.value(Metric.taggedWithLabels(SessionMetrics.reconnects, [MetricLabel.make("shard", "0"), MetricLabel.make("reason", reason)]))

// a session against a gateway that answers every Identify with op 9 d=false, its transitions kept
const refusedEveryIdentify = Effect.gen(function*() {
  const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
  const seen: Array<Transition> = []
  yield* Effect.forkScoped(Stream.runForEach(session.transitions, (transition) => Effect.sync(() => void seen.push(transition))))
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    const { peer } = yield* acceptAndHello(3_600_000)
    yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
  })))
  yield* settle
  return { session, seen }
})

describe("HeldBack", () => {
  it("says how many sessions were invalidated in a row and when the next attempt begins, within a status row's 51 columns", () => {
    const until = Date.UTC(2026, 11, 5, 14, 3, 22)
    expect(describeReason(Reason.HeldBack({ until, invalidatedInARow: 3 }))).toBe("held back (3 lost) until 14:03:22 UTC")
    // a month of op 9s, an hour apart, still fits
    expect(describeReason(Reason.HeldBack({ until, invalidatedInARow: 1000 })).length).toBeLessThanOrEqual(51)
  })

  it.scoped("after the third op 9 in a row, and each one after, the session is Disconnected, HeldBack, until the very ms its next attempt begins; none before the third", () =>
    Effect.gen(function*() {
      const { seen, session } = yield* refusedEveryIdentify
      for (let minute = 0; minute < 20; minute++) yield* TestClock.adjust("1 minute")
      const heldAt = seen.flatMap((transition, i) => transition.reason._tag === "HeldBack" ? [i] : [])
      expect(heldAt).toHaveLength(4)
      // three connections op 9 ended before the first
      expect(seen.slice(0, heldAt[0]).filter((transition) => transition.reason._tag === "InvalidSession")).toHaveLength(3)
      for (const [n, i] of heldAt.entries()) {
        const held = seen[i]!
        const before = seen[i - 1]!
        const until = held.at + [90_000, 180_000, 360_000, 720_000][n]!
        // right after the op 9's transition, which says what ended the connection
        expect([before.to._tag, before.reason]).toEqual(["Disconnected", Reason.InvalidSession({ resumable: false })])
        expect([held.from._tag, held.to._tag, held.reason]).toEqual([
          "Disconnected",
          "Disconnected",
          Reason.HeldBack({ until, invalidatedInARow: 3 + n })
        ])
        // the next attempt begins at `until`, to the ms; the last still waits, and says so
        const next = seen[i + 1]
        if (next !== undefined) expect([next.to._tag, next.reason._tag, next.at]).toEqual(["ConnectingHttp", "Start", until])
        else expect([until > (yield* TestClock.currentTimeMillis), (yield* session.snapshot).reason]).toEqual([true, held.reason])
      }
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)), 60_000)

  it.scoped("the warning gives the wait in seconds below two minutes and in minutes from there; the outage's line and the reconnects' reason name the op 9, not the hold-back", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const heldBefore = yield* reconnectsFor("HeldBack")
      const invalidBefore = yield* reconnectsFor("InvalidSession")
      const { seen } = yield* refusedEveryIdentify
      for (let minute = 0; minute < 20; minute++) yield* TestClock.adjust("1 minute")
      const heldBack = (n: number, wait: string) =>
        `WARN the sessions of the last ${n} connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits ${wait} more, to spare the day's session starts`
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        heldBack(3, "90 s"),
        heldBack(4, "3 min"),
        // the fifth attempt in a row that failed, told with the op 9 that ended it
        "WARN not ready: 5 attempts in a row failed, the last with invalid session (op 9, not resumable); still trying",
        heldBack(5, "6 min"),
        heldBack(6, "12 min")
      ])
      // each attempt after the first counted for the op 9 that ended the one before
      const attempts = seen.filter((transition) => transition.reason._tag === "Start").length
      expect((yield* reconnectsFor("InvalidSession")).count - invalidBefore.count).toBe(attempts - 1)
      expect((yield* reconnectsFor("HeldBack")).count).toBe(heldBefore.count)
    }).pipe(Effect.provide(layer), Effect.withRandom(sameDraws), Effect.provide(TestLayer))
  }, 60_000)

  // a gateway that closes every session right after READY with a code that ends it (4009, say)
  // had the session identify a backoff apart for ever, about 2,000 session starts a day, where the
  // same loop made with op 9 was held back (protofuzz1)
  for (const code of [4009, 4007, 4003] as const) {
    it.scoped(`a close with ${code} right after every READY is held back as an early op 9 is: Identifies spaced 90 s, 3, 6, 12 min past the third`, () =>
      Effect.gen(function*() {
        const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
        const seen: Array<Transition> = []
        yield* Effect.forkScoped(Stream.runForEach(session.transitions, (transition) => Effect.sync(() => void seen.push(transition))))
        const identifiedAt: Array<number> = []
        yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
          const { first, peer } = yield* acceptAndHello(3_600_000)
          if (first.op === 2) identifiedAt.push(yield* TestClock.currentTimeMillis)
          yield* peer.sendJson(ready(1, `session-${identifiedAt.length}`))
          yield* peer.close(code)
        })))
        yield* settle
        for (let minute = 0; minute < 30; minute++) yield* TestClock.adjust("1 minute")
        // the backoff (1 s, 2 s) between the first three, then the hold-back past the third, fourth...
        expect(identifiedAt.length).toBeLessThanOrEqual(7)
        const held = seen.filter((transition) => transition.reason._tag === "HeldBack").map((transition) => transition.reason)
        expect(held.slice(0, 3).map((reason) => reason._tag === "HeldBack" && reason.invalidatedInARow)).toEqual([3, 4, 5])
        expect(identifiedAt[3]! - identifiedAt[2]!).toBeGreaterThanOrEqual(90_000)
      }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)), 60_000)
  }

  it.scoped("a connection that was stable before its close starts the count over: a close with 4009 two minutes after READY (stable at 60 s) holds nothing back", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const seen: Array<Transition> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (transition) => Effect.sync(() => void seen.push(transition))))
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const { peer } = yield* acceptAndHello(3_600_000)
        yield* peer.autoAck(true)
        yield* peer.sendJson(ready())
        yield* TestClock.sleep("2 minutes")
        yield* peer.close(4009)
      })))
      yield* settle
      for (let minute = 0; minute < 30; minute++) yield* TestClock.adjust("1 minute")
      expect(seen.filter((transition) => transition.reason._tag === "HeldBack")).toEqual([])
      expect(seen.filter((transition) => transition.reason._tag === "Ready").length).toBeGreaterThanOrEqual(10)
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)), 60_000)

  it.scoped("a disconnect while held back ends the wait at once: the last transition says Disconnect", () =>
    Effect.gen(function*() {
      const { seen, session } = yield* refusedEveryIdentify
      for (let second = 0; second < 300 && (yield* session.snapshot).reason._tag !== "HeldBack"; second++) yield* TestClock.adjust("1 second")
      expect((yield* session.snapshot).reason._tag).toBe("HeldBack")
      const stopped = yield* Effect.fork(session.disconnect())
      yield* settle
      expect(stopped.unsafePoll()).not.toBeNull()
      yield* Fiber.join(stopped)
      expect(seen.slice(-2).map((transition) => `${transition.to._tag}/${transition.reason._tag}`)).toEqual([
        "Disconnected/HeldBack",
        "Disconnected/Disconnect"
      ])
    }).pipe(Effect.withRandom(sameDraws), Effect.provide(TestLayer)))

  // a gateway that took every Identify and went silent (no op 9, no close: the session's own zombie
  // check ended each connection) was told as "op 9 or a close ended the sessions ..." (rereview69-4)
  it.scoped("a hold-back after Identifies answered by silence says the sessions were lost, not that op 9 or a close ended them", () => {
    const logs = captured()
    return Effect.gen(function*() {
      yield* Session.make(options())
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        yield* acceptAndHello(41_250)
      }).pipe(Effect.catchAll(() => Effect.void))))
      for (let i = 0; i < 240 && !logs.lines.some((line) => line.includes("more, to spare")); i++) {
        yield* TestClock.adjust("5 seconds")
        yield* settle
      }
      const warning = logs.lines.find((line) => line.includes("more, to spare"))
      expect(warning).toBeDefined()
      expect(warning).toContain("the sessions of the last 3 connections ended before they were stable (op 9 or 7, a close, a drop, no answer)")
      expect(warning).not.toContain("op 9 or a close ended")
    }).pipe(Effect.provide(Layer.merge(TestLayer, logs.layer)))
  })
})
