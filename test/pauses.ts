/**
 * A clock for tests of a process that stops for a while (a blocked event loop, SIGSTOP, a VM
 * paused). `TestClock.adjust` wakes each sleep at its own instant; a real pause does not: once the
 * process runs again, every timer that fell due meanwhile fires at once, in due order, each reading
 * the time after the pause, and only then are the frames the socket received meanwhile read (Node
 * runs its timers phase before its poll phase), and only after them a timer of no length set by
 * one of those that fired. `advance` lets time pass as `TestClock` does; `pause` jumps it, then
 * fires the overdue sleeps in order, then runs what `arrived` meanwhile, then fires the sleeps of
 * no length.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { settle } from "./settle.ts"

interface Sleeper {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
}

/** Time passing, with the process running or stopped. */
export interface Pauses {
  /** Time passes with the process running: each sleep wakes at its own instant. */
  readonly advance: (ms: number) => Effect.Effect<void>
  /**
   * The process stops for `ms`: then every overdue sleep fires, in due order, at the time after;
   * then `arrived` runs (the frames the socket got meanwhile, read in the poll phase); then the
   * sleeps of no length those overdue ones began.
   */
  readonly pause: (ms: number, arrived?: Effect.Effect<void>) => Effect.Effect<void>
}

/** Runs `body` with a clock its `Pauses` move (a clock of its own: `TestClock` does not see it). */
export const withPauses = <A, E, R>(body: (p: Pauses) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let now = 0
    let seq = 0
    const sleepers = new Set<Sleeper>()
    const nanos = () => BigInt(Math.floor(now * 1e6))
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => now,
      currentTimeMillis: Effect.sync(() => now),
      unsafeCurrentTimeNanos: nanos,
      currentTimeNanos: Effect.sync(nanos),
      sleep: (duration) =>
        Effect.suspend(() => {
          // (one of no length too: Node runs it at its next timers phase, after its sockets were read)
          const ms = Math.max(0, Duration.toMillis(duration))
          if (Number.isNaN(ms)) return Effect.void
          return Effect.async<void>((resume) => {
            const sleeper: Sleeper = { at: now + ms, seq: seq++, wake: () => resume(Effect.void) }
            sleepers.add(sleeper)
            return Effect.sync(() => {
              sleepers.delete(sleeper)
            })
          })
        })
    }
    // the earliest sleep due by `until`, of those begun before the `before`th
    const earliest = (until: number, before: number): Sleeper | undefined => {
      let best: Sleeper | undefined
      for (const s of sleepers) {
        if (s.at <= until && s.seq < before && (best === undefined || s.at < best.at || (s.at === best.at && s.seq < best.seq))) best = s
      }
      return best
    }
    const fireUntil = (until: number, move: boolean, before = Infinity): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* settle
        while (true) {
          const next = earliest(until, before)
          if (next === undefined) break
          if (move && next.at > now) now = next.at
          sleepers.delete(next)
          next.wake()
          yield* settle
        }
        now = Math.max(now, until)
        yield* settle
      })
    const pauses: Pauses = {
      advance: (ms) => Effect.suspend(() => fireUntil(now + ms, true)),
      // what can run runs before the process stops
      pause: (ms, arrived = Effect.void) =>
        Effect.zipRight(
          settle,
          Effect.suspend(() => {
            now += ms
            // the timers phase: the sleeps begun before the stop; then the poll phase; then the
            // next timers phase, for those begun meanwhile
            return Effect.zipRight(fireUntil(now, false, seq), Effect.zipRight(arrived, Effect.zipRight(settle, fireUntil(now, false))))
          })
        )
    }
    return Effect.withClock(body(pauses), clock)
  })
