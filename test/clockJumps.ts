/**
 * A clock whose wall time jumps, as `Date.now()` does when NTP or an admin steps it. Effect's live
 * `Clock` reads its millis from `Date.now()` and its nanos from `process.hrtime` (monotonic), and
 * its sleeps are timers (monotonic too). `withJumps` models that on the `TestClock`: the millis are
 * the TestClock's plus an offset a test moves either way; the nanos and the sleeps are the
 * TestClock's.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { settle } from "./settle.ts"

/** An hour, in ms. */
export const hour = 60 * 60 * 1000

/** What a test under `withJumps` moves. */
export interface Jumps {
  /** Steps the wall clock (only) by `ms`, either way: no real time passes. */
  readonly jump: (ms: number) => Effect.Effect<void>
  /** Lets real time pass (the TestClock's adjust), then lets the woken fibers run. */
  readonly adjust: (duration: Duration.DurationInput) => Effect.Effect<void>
}

/** Runs `body` under a clock whose wall time can jump. */
export const withJumps = <A, E, R>(body: (jumps: Jumps) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(TestClock.testClock(), (test) => {
    let offset = 0
    const wall = () => test.unsafeCurrentTimeMillis() + offset
    const nanos = () => test.unsafeCurrentTimeNanos()
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: wall,
      currentTimeMillis: Effect.sync(wall),
      unsafeCurrentTimeNanos: nanos,
      currentTimeNanos: Effect.sync(nanos),
      sleep: (duration) => test.sleep(duration)
    }
    const jumps: Jumps = {
      jump: (ms) => Effect.sync(() => { offset += ms }),
      adjust: (duration) => Effect.zipRight(test.adjust(duration), settle)
    }
    return Effect.withClock(body(jumps), clock)
  })
