/**
 * Durations from options, checked: `Duration.decode` takes a negative or NaN input as zero, so an
 * identify spacing of `-5000`, or a timeout of `NaN`, would silently become none.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isQuotable, kindOf, quoted } from "./printable.ts"

/**
 * `input` as a Duration; `undefined` when it is no `DurationInput`, or a negative or NaN one.
 *
 * @since 0.1.0
 */
export const durationOf = (input: unknown): Duration.Duration | undefined => {
  if (typeof input === "number" && !(input >= 0)) return undefined
  if (typeof input === "bigint" && input < 0n) return undefined
  if (typeof input === "string" && Number.parseFloat(input) < 0) return undefined
  if (Array.isArray(input) && !input.every((part) => typeof part === "number" && part >= 0)) return undefined
  return Option.getOrUndefined(Duration.decodeUnknown(input))
}

/**
 * The longest one timer waits, in ms: past it Node's `setTimeout` fires after 1 ms, and Effect's
 * live Clock, which uses it, never ends the sleep.
 *
 * @since 0.1.0
 */
export const longestTimerMillis = 2 ** 31 - 1

const longestTimer: Duration.Duration = Duration.millis(longestTimerMillis)

/**
 * Sleeps `millis` ms, however many: a wait longer than one timer waits is slept in parts, where a
 * single sleep of it never ended under the live Clock (a daily budget whose answer said it refills
 * in 30 days held every identify for ever).
 *
 * @since 0.1.0
 */
export const sleepMillis = (millis: number): Effect.Effect<void> =>
  millis > longestTimerMillis
    ? Effect.zipRight(Effect.sleep(longestTimerMillis), Effect.suspend(() => sleepMillis(millis - longestTimerMillis)))
    : Effect.sleep(millis)

// the longest sleep an option may ask for, a round figure below what Node's timers wait (2^31 - 1
// ms, 24.8 days): Effect's sleeps use them, and a longer sleep never ends
const longestSleep: Duration.Duration = Duration.days(24)

/**
 * A timeout as it is waited for: `Duration.infinity` (none) where it is longer than one timer
 * waits, as it is in effect under the live Clock, so that a `TestClock` does not end it either.
 *
 * @since 0.1.0
 */
export const asTimeout = (input: Duration.DurationInput): Duration.DurationInput => {
  const duration = Duration.decode(input)
  return Duration.isFinite(duration) && Duration.greaterThan(duration, longestTimer) ? Duration.infinity : input
}

/**
 * How a problem message names the longest sleep, after "a ... duration".
 *
 * @since 0.1.0
 */
export const longestSleepText = " of at most 24 days (a longer wait would never end)"

/**
 * Whether `duration` is one a sleep ends after: finite and at most the longest sleep.
 *
 * @since 0.1.0
 */
export const isSleepable = (duration: Duration.Duration): boolean =>
  Duration.isFinite(duration) && !Duration.greaterThan(duration, longestSleep)

/**
 * Checks the timeout a stop (`disconnect`, `end`) was given: from JavaScript it may be no duration
 * (`"5 secondz"`), which Effect's timeout took for a defect saying only "Invalid DurationInput",
 * after the close had gone out. It dies at once, naming the call and the value, before anything is
 * stopped; `undefined` is the call's default, and a negative or NaN number none, as Effect reads it.
 *
 * @since 0.1.0
 */
export const checkStopTimeout = (call: string, timeout: unknown): Effect.Effect<void> =>
  // as the timeout reads it: a negative or NaN one is none, as the types allow
  timeout === undefined || Option.isSome(Duration.decodeUnknown(timeout))
    ? Effect.void
    : Effect.dieMessage(
      `${call}: the timeout must be a duration ("5 seconds", or milliseconds), got ${
        typeof timeout === "string" && isQuotable(timeout) ? quoted(timeout) : kindOf(timeout)
      }`
    )
