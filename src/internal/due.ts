/**
 * Due times on the `Clock`. They are milliseconds with fractions (a jittered schedule's, or a
 * `TestClock` moved to one), and `Effect.sleep` counts whole nanoseconds: a wait of less than one
 * would be a sleep of zero, which `TestClock` ends at once without moving time, and a loop that
 * sleeps until the time has come would spin until the clock moved. So a time less than a
 * nanosecond away has come.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"

const nanosecond = 1e-6

/**
 * Whether `dueAt` has come at `now`: it has passed, or it is less than a nanosecond away.
 *
 * @since 0.1.0
 */
export const isDue = (dueAt: number, now: number): boolean => dueAt - now < nanosecond

/**
 * The `Clock`'s monotonic time in milliseconds, for every due time and duration. Its wall time
 * (`currentTimeMillis`: `Date.now()` in the live clock) may be stepped either way by NTP or an
 * admin while sleeps, being timers, run in real time: a due time on it would come an hour late
 * after a step back, or early after a step forward. The live clock's nanos are `process.hrtime`
 * from an origin read once; `TestClock`'s are its millis, floored to the nanosecond.
 *
 * Nanoseconds since 1970 are past 2^53, so the live reading rounds to 256 ns, and a millisecond
 * double that large holds nothing finer than 244 ns anyway: two times on it are equal or at least
 * that far apart, far more than `isDue`'s nanosecond, so no wait rounds to a sleep of zero.
 *
 * @since 0.1.0
 */
export const monotonicMillis = (clock: Clock.Clock): number => {
  const nanos = clock.unsafeCurrentTimeNanos()
  const wall = clock.unsafeCurrentTimeMillis()
  // A wall clock that agrees to the nanosecond is the same time, and may carry fractions of a
  // nanosecond its nanos dropped: a `TestClock`'s always agrees, and is then read as it was set.
  return BigInt(Math.floor(wall * 1e6)) === nanos ? wall : Number(nanos) / 1e6
}
