/**
 * Due times on the `Clock`. They are milliseconds with fractions (a jittered schedule's, or a
 * `TestClock` moved to one), and `Effect.sleep` counts whole nanoseconds: a wait of less than one
 * would be a sleep of zero, which `TestClock` ends at once without moving time, and a loop that
 * sleeps until the time has come would spin until the clock moved. So a time less than a
 * nanosecond away has come.
 *
 * @since 0.1.0
 */

const nanosecond = 1e-6

/**
 * Whether `dueAt` has come at `now`: it has passed, or it is less than a nanosecond away.
 *
 * @since 0.1.0
 */
export const isDue = (dueAt: number, now: number): boolean => dueAt - now < nanosecond
