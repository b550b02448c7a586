/**
 * Time the process ran, for live tests on a loaded machine: a process stopped for seconds
 * (descheduled, a stalled CI machine) counts one short turn, while a wait on a timer counts its
 * length.
 */
import * as Effect from "effect/Effect"

/**
 * A clock of the milliseconds the process ran from now, for the scope's lifetime: a 10 ms ticker
 * counts each of its turns, at most 50 ms of it.
 */
export const runningClock = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => {
      let ran = 0
      let last = performance.now()
      const ticker = setInterval(() => {
        const now = performance.now()
        ran += Math.min(now - last, 50)
        last = now
      }, 10)
      return { ticker, elapsed: () => ran + Math.min(performance.now() - last, 50) }
    }),
    ({ ticker }) => Effect.sync(() => clearInterval(ticker))
  ),
  ({ elapsed }) => ({ elapsed })
)
