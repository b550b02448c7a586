/**
 * A cheap events-per-second meter: one counter per wall-clock second in a small ring, read as
 * the average over the last complete seconds.
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
  /** Events per second over the `window` complete seconds before `now`. */
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
  return {
    record: (count, now) => {
      const second = Math.floor(now / 1000)
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
      return total / window
    }
  }
}
