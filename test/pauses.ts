/**
 * A clock for tests of a process that stops for a while (a blocked event loop, SIGSTOP, a VM
 * paused). `TestClock.adjust` wakes each sleep at its own instant; a real pause does not: once the
 * process runs again, every timer that fell due meanwhile fires at once, in due order, each reading
 * the time after the pause, and only then are the frames the socket received meanwhile read (Node
 * runs its timers phase before its poll phase). `advance` lets time pass as `TestClock` does;
 * `pause` jumps it, then fires the overdue sleeps in order.
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
  /** The process stops for `ms`: then every overdue sleep fires, in due order, at the time after. */
  readonly pause: (ms: number) => Effect.Effect<void>
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
          const ms = Duration.toMillis(duration)
          if (!(ms > 0)) return Effect.void
          return Effect.async<void>((resume) => {
            const sleeper: Sleeper = { at: now + ms, seq: seq++, wake: () => resume(Effect.void) }
            sleepers.add(sleeper)
            return Effect.sync(() => {
              sleepers.delete(sleeper)
            })
          })
        })
    }
    const earliest = (until: number): Sleeper | undefined => {
      let best: Sleeper | undefined
      for (const s of sleepers) {
        if (s.at <= until && (best === undefined || s.at < best.at || (s.at === best.at && s.seq < best.seq))) best = s
      }
      return best
    }
    const fireUntil = (until: number, move: boolean): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* settle
        while (true) {
          const next = earliest(until)
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
      pause: (ms) =>
        Effect.zipRight(
          settle,
          Effect.suspend(() => {
            now += ms
            return fireUntil(now, false)
          })
        )
    }
    return Effect.withClock(body(pauses), clock)
  })
