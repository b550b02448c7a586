/**
 * A sliding-window counter: how many takes happened in the last `window` milliseconds, and when
 * the next one may happen. Plain synchronous functions over a small mutable log; the limiters
 * wrap them in Effect.
 *
 * @since 0.1.0
 */
import { isDue } from "../internal/due.ts"

/**
 * The times (ms, ascending, on a monotonic clock: see `internal/due.ts`) of the takes still
 * inside the window.
 *
 * @since 0.1.0
 */
export interface SlidingWindow {
  readonly window: number
  readonly times: Array<number>
}

/**
 * An empty window of `window` milliseconds.
 *
 * @since 0.1.0
 */
export const make = (window: number): SlidingWindow => ({ window, times: [] })

/**
 * Forgets the takes that left the window: a take at `t` counts until `t + window` is due at `now`
 * (less than a nanosecond away counts as due, see `internal/due.ts`).
 */
const prune = (self: SlidingWindow, now: number): void => {
  let expired = 0
  while (expired < self.times.length && isDue(self.times[expired]! + self.window, now)) expired++
  if (expired > 0) self.times.splice(0, expired)
}

/**
 * How many takes are inside the window at `now`.
 *
 * @since 0.1.0
 */
export const used = (self: SlidingWindow, now: number): number => {
  prune(self, now)
  return self.times.length
}

/**
 * Records a take at `now` if fewer than `cap` takes are inside the window; says whether it did.
 *
 * @since 0.1.0
 */
export const tryTake = (self: SlidingWindow, now: number, cap: number): boolean => {
  if (used(self, now) >= cap) return false
  self.times.push(now)
  return true
}

/**
 * The earliest time, at or after `now`, at which fewer than `cap` (at least 1) takes are inside
 * the window.
 *
 * @since 0.1.0
 */
export const freeAt = (self: SlidingWindow, now: number, cap: number): number => {
  const count = used(self, now)
  return count < cap ? now : self.times[count - cap]! + self.window
}

/**
 * Records a take made at `at`, at or before the latest recorded (one made elsewhere, told late),
 * in its place among the others.
 *
 * @since 0.1.0
 */
export const recordAt = (self: SlidingWindow, at: number): void => {
  let index = self.times.length
  while (index > 0 && self.times[index - 1]! > at) index--
  self.times.splice(index, 0, at)
}

/**
 * Gives back a take recorded at `at` (one that was granted but never used).
 *
 * @since 0.1.0
 */
export const refund = (self: SlidingWindow, at: number): void => {
  const index = self.times.lastIndexOf(at)
  if (index >= 0) self.times.splice(index, 1)
}
