/**
 * A cheap events-per-second meter: one counter per second of the clock it is told (a session's
 * monotonic one) in a small ring, read as the average over the last complete seconds (those since
 * the first event, while fewer than the window: a shard that just started is not averaged with
 * seconds it did not run). A clock set back (a `TestClock`'s) starts it over: its rate reads right
 * again within the window.
 *
 * @since 0.1.0
 */

/**
 * Counts events and reports their rate.
 *
 * @since 0.1.0
 */
export interface EventRate {
  /** Counts `count` events seen at `now` (epoch ms). Synchronous and allocation-free. */
  readonly record: (count: number, now: number) => void
  /**
   * Events per second over the `window` complete seconds before `now`, or over the complete
   * seconds since the first event, if fewer (0 before one second is complete).
   */
  readonly perSecond: (now: number) => number
}

/**
 * A meter averaging over `window` seconds (default 10).
 *
 * @since 0.1.0
 */
export const make = (window = 10): EventRate => {
  // one slot more than the window: the current, incomplete second
  const size = window + 1
  const counts = new Float64Array(size)
  const seconds = new Float64Array(size).fill(-1)
  // the second of the first event, and of the latest
  let first = -1
  let last = -1
  return {
    record: (count, now) => {
      const second = Math.floor(now / 1000)
      // The clock was set back. The first second is in its future now (the rate would read 0
      // for as long as the step), and so are some slots' (their counts would be added to those
      // seconds' when they come again): start over.
      if (second < last) {
        seconds.fill(-1)
        first = -1
      }
      if (first < 0) first = second
      last = second
      const slot = second % size
      const before = seconds[slot] === second ? counts[slot]! : 0
      seconds[slot] = second
      counts[slot] = before + count
    },
    perSecond: (now) => {
      const current = Math.floor(now / 1000)
      let total = 0
      for (let slot = 0; slot < size; slot++) {
        const second = seconds[slot]!
        if (second < current && second >= current - window) total += counts[slot]!
      }
      const observed = first < 0 ? 0 : Math.min(window, current - first)
      return observed > 0 ? total / observed : 0
    }
  }
}
