/**
 * Moving a `TestClock` the way a clock-driven test of a session or a fleet needs: a session is
 * several fibers (its connection's reader, the heartbeat timer, the command writers, a fleet's
 * shards), and what a timer starts when it fires has to run before the clock moves on. So the clock
 * moves in steps, and the forked fibers get turns of the scheduler before the first step and after
 * each.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"

/**
 * Lets the forked fibers run for `turns` turns of the scheduler after a first one, with no time
 * passing (default 100: enough for a fleet of a few shards to do what a step started); a fiber
 * still busy after them is not waited for. Turns that are no whole number of at least 0 die with a
 * `RangeError`.
 *
 * @since 0.1.0
 */
export const settle = (turns = 100): Effect.Effect<void> =>
  Number.isSafeInteger(turns) && turns >= 0
    ? Effect.asVoid(Effect.repeatN(Effect.yieldNow(), turns))
    // NaN or Infinity turns never ended
    : Effect.die(new RangeError(`VirtualTime: turns must be a whole number of at least 0, got ${turns}`))

/**
 * Moves the `TestClock` forward by `duration` in steps of `step` (default 500 ms; the last step is
 * what is left), settling the forked fibers before the first step and after each (`turns` turns of
 * the scheduler, as {@link settle}). A duration that is negative, NaN or endless, or a step that is
 * not positive, dies with a `RangeError` naming it as given.
 *
 * @since 0.1.0
 */
export const advance = (
  duration: Duration.DurationInput,
  options: { readonly step?: Duration.DurationInput | undefined; readonly turns?: number | undefined } = {}
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const total = Duration.toMillis(Duration.decode(duration))
    const step = Duration.toMillis(Duration.decode(options.step ?? 500))
    // a negative or NaN length decodes as none: checked as given
    if (!Number.isFinite(total) || isNoLength(duration)) {
      return Effect.die(new RangeError(`VirtualTime.advance: the duration must be a finite length, got ${shown(duration)}`))
    }
    if (!Number.isFinite(step) || step <= 0 || isNoLength(options.step)) {
      return Effect.die(new RangeError(`VirtualTime.advance: the step must be a positive finite length, got ${shown(options.step)}`))
    }
    const settled = settle(options.turns)
    return Effect.gen(function*() {
      yield* settled
      for (let done = 0; done < total; done += step) {
        yield* TestClock.adjust(Math.min(step, total - done))
        yield* settled
      }
    })
  })

// whether a duration as given is negative or NaN, which `Duration.decode` takes as none (by its
// value: "-0 millis" and [1, -1] are lengths)
const isNoLength = (input: Duration.DurationInput | undefined): boolean => {
  if (typeof input === "number") return Number.isNaN(input) || input < 0
  if (typeof input === "bigint") return input < 0n
  if (typeof input === "string") {
    const amount = /^\s*([+-]?[\d.]+)/.exec(input)?.[1]
    return amount !== undefined && !(Number(amount) >= 0)
  }
  if (Array.isArray(input)) {
    const [seconds, nanos] = input
    return !(seconds * 1e9 + nanos >= 0)
  }
  return false
}

// a duration as the caller gave it
const shown = (input: Duration.DurationInput | undefined): string =>
  typeof input === "number" ? `${input} ms` : typeof input === "bigint" ? `${input} ns` : typeof input === "string" ? JSON.stringify(input) : String(input)
