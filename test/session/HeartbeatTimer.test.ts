import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Heartbeat from "../../src/session/Heartbeat.ts"
import * as HeartbeatTimer from "../../src/session/HeartbeatTimer.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { annotated } from "../logLines.ts"
import { settle } from "../settle.ts"
import { withPauses } from "../pauses.ts"
import { options, Session, TestLayer } from "./harness.ts"

/** A beating that records the time of each of its ticks. */
const recording = (schedule: Schedule.Schedule<unknown>) => {
  const ticks: Array<number> = []
  const beating: HeartbeatTimer.Beating = {
    schedule,
    tick: () =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        ticks.push(now)
      })
  }
  return { beating, ticks }
}

/** Due every `ms` milliseconds, fractions kept (as a jittered schedule's due times are). */
const every = (ms: number): Schedule.Schedule<unknown> =>
  Schedule.makeWithState(undefined, (now) =>
    Effect.succeed([undefined, undefined, ScheduleDecision.continueWith(ScheduleInterval.after(now + ms))] as const))

/** Adds a beating in a scope of its own, returned so that the test can stop it. */
const addIn = (timer: HeartbeatTimer.HeartbeatTimer, beating: HeartbeatTimer.Beating) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Scope.extend(timer.add(beating), scope)
    return scope
  })

describe("HeartbeatTimer", () => {
  it.scoped("ticks each beating when its schedule says, the first after the jitter, then every interval", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const a = recording(Heartbeat.schedule("1000 millis", 0.25))
      const b = recording(Heartbeat.schedule("700 millis", 0.5))
      yield* addIn(timer, a.beating)
      yield* addIn(timer, b.beating)
      yield* TestClock.adjust("3000 millis")
      yield* settle
      expect(a.ticks).toEqual([250, 1250, 2250])
      expect(b.ticks).toEqual([350, 1050, 1750, 2450])
    }))

  // a fleet's timer is made on the fleet's fiber: a tick's lines, and its "a heartbeat failed", said
  // `component: "Fleet"` and no shard
  it.scoped("runs each tick on the log annotations of the fiber that added it, its failure's Error line too", () => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      const timer = yield* Effect.annotateLogs(HeartbeatTimer.make, { component: "Fleet" })
      const beating = (shard: number): HeartbeatTimer.Beating => ({
        schedule: every(1000),
        tick: () => shard === 1 ? Effect.dieMessage("a beat that cannot be encoded") : Effect.logDebug("tick")
      })
      yield* Effect.annotateLogs(addIn(timer, beating(0)), { component: "Session", shard: 0 })
      yield* Effect.annotateLogs(addIn(timer, beating(1)), { component: "Session", shard: 1 })
      yield* TestClock.adjust("1000 millis")
      yield* settle
      expect(lines).toEqual([
        "DEBUG tick [component=Session shard=0]",
        "ERROR a heartbeat failed; its connection beats no more [component=Session shard=1]"
      ])
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.All))
  })

  it.scoped("a beating due sooner than the timer would wake is not late", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const late = recording(Schedule.spaced("10 seconds"))
      yield* addIn(timer, late.beating)
      yield* TestClock.adjust("1 second")
      const soon = recording(Schedule.spaced("100 millis"))
      yield* addIn(timer, soon.beating)
      yield* TestClock.adjust("300 millis")
      yield* settle
      expect(soon.ticks).toEqual([1100, 1200, 1300])
      expect(late.ticks).toEqual([])
      yield* TestClock.adjust("8700 millis")
      yield* settle
      expect(late.ticks).toEqual([10_000])
    }))

  it.scoped("a jitter of zero beats at once", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const now = recording(Heartbeat.schedule("1 second", 0))
      yield* addIn(timer, now.beating)
      yield* settle
      expect(now.ticks).toEqual([0])
    }))

  it.scoped("a beat due less than a nanosecond after a whole millisecond beats then, without spinning", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      // Effect.sleep rounds the last 0.1 ns to a sleep of zero: the beat must count as due
      const beats = recording(every(1000 + 1e-7))
      yield* addIn(timer, beats.beating)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(beats.ticks).toEqual([1000])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(beats.ticks).toEqual([1000, 2000])
    }))

  it.scoped("closing a beating's scope stops its beats and no other's", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const stopped = recording(Schedule.spaced("100 millis"))
      const kept = recording(Schedule.spaced("100 millis"))
      const scope = yield* addIn(timer, stopped.beating)
      yield* addIn(timer, kept.beating)
      yield* TestClock.adjust("250 millis")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("250 millis")
      yield* settle
      expect(stopped.ticks).toEqual([100, 200])
      expect(kept.ticks).toEqual([100, 200, 300, 400, 500])
    }))

  it.scoped("a schedule that ends ends its beating; a beating added later is beaten", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const twice = recording(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(2))))
      yield* addIn(timer, twice.beating)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(twice.ticks).toEqual([100, 200])
      const later = recording(Schedule.spaced("100 millis"))
      yield* addIn(timer, later.beating)
      yield* TestClock.adjust("200 millis")
      yield* settle
      expect(later.ticks).toEqual([1100, 1200])
    }))

  it.scoped("tells each tick how late it runs: on time while the process runs, late by the rest of a stall, and one tick for the beats a stall overran", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const timer = yield* HeartbeatTimer.make
        const lates: Array<number> = []
        yield* addIn(timer, { schedule: every(1000), tick: (lateMs) => Effect.sync(() => lates.push(lateMs)) })
        yield* p.advance(2500)
        expect(lates).toEqual([0, 0])
        // stopped from 2500 to 4200: the beat due at 3000 runs 1200 ms late, the one of 4000 not at all
        yield* p.pause(1700)
        expect(lates).toEqual([0, 0, 1200])
        yield* p.advance(1000)
        expect(lates).toEqual([0, 0, 1200, 0])
      })
    ))

  it.scoped("a beating whose tick dies stops; the others go on", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const kept = recording(Schedule.spaced("100 millis"))
      let dying = 0
      yield* addIn(timer, {
        schedule: Schedule.spaced("100 millis"),
        tick: () =>
          Effect.suspend(() => {
            dying++
            return Effect.dieMessage("a broken beat")
          })
      })
      yield* addIn(timer, kept.beating)
      yield* TestClock.adjust("300 millis")
      yield* settle
      expect(dying).toBe(1)
      expect(kept.ticks).toEqual([100, 200, 300])
    }))

  it.scoped("keeps no fiber while no beating is left", () =>
    Effect.gen(function*() {
      const timer = yield* HeartbeatTimer.make
      const rootsBefore = (yield* Fiber.roots).length
      const scope = yield* addIn(timer, recording(Schedule.spaced("100 millis")).beating)
      yield* settle
      expect((yield* Fiber.roots).length).toBe(rootsBefore + 1)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect((yield* Fiber.roots).length).toBe(rootsBefore)
    }))

  it.effect("closing the timer's scope stops every beating", () =>
    Effect.gen(function*() {
      const timerScope = yield* Scope.make()
      const timer = yield* Scope.extend(HeartbeatTimer.make, timerScope)
      const beats = recording(Schedule.spaced("100 millis"))
      yield* Effect.scoped(Effect.gen(function*() {
        yield* timer.add(beats.beating)
        yield* TestClock.adjust("200 millis")
        yield* Scope.close(timerScope, Exit.void)
        yield* TestClock.adjust("1 second")
        yield* settle
      }))
      expect(beats.ticks).toEqual([100, 200])
    }))

  // taken, it was never run: a session given such a timer sat Ready, sending no beat, checking no ACK
  it.scoped("a timer whose scope closed refuses a beating: adding one dies, saying so", () =>
    Effect.gen(function*() {
      const timer = yield* Effect.scoped(HeartbeatTimer.make)
      const exit = yield* Effect.exit(addIn(timer, recording(every(100)).beating))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(
        new Error("HeartbeatTimer: its scope is closed, so it beats no connection (make it in a scope that outlives the sessions given it)")
      )
      // a session given it ends at its first Hello with that defect
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.makeWith(Either.getOrThrow(SessionOptions.resolve(options())), { heartbeats: timer })
      const peer = yield* gateway.accept
      yield* Effect.exit(peer.handshake(10_000))
      const ended = yield* Effect.exit(session.await)
      expect(Exit.isFailure(ended) && Cause.pretty(ended.cause)).toContain("HeartbeatTimer: its scope is closed")
    }).pipe(Effect.provide(TestLayer)))
})
