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
import { durationOf } from "../internal/duration.ts"

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
 * the scheduler, as {@link settle}). A duration that is none ("3 secondz"), negative, NaN or endless,
 * or a step that is none or not positive, dies with a `RangeError` naming it as given.
 *
 * @since 0.1.0
 */
export const advance = (
  duration: Duration.DurationInput,
  options: { readonly step?: Duration.DurationInput | undefined; readonly turns?: number | undefined } = {}
): Effect.Effect<void> =>
  Effect.suspend(() => {
    // one that is no duration ("3 secondz", [1e300, 0]) died with Effect's bare "Invalid
    // DurationInput" or V8's BigInt error; a negative or NaN one was taken as none
    const total = durationOf(duration)
    const step = durationOf(options.step ?? 500)
    if (total === undefined || !Duration.isFinite(total)) {
      return Effect.die(new RangeError(`VirtualTime.advance: the duration must be a finite length, got ${shown(duration)}`))
    }
    if (step === undefined || !Duration.isFinite(step) || Duration.toMillis(step) <= 0) {
      return Effect.die(new RangeError(`VirtualTime.advance: the step must be a positive finite length, got ${shown(options.step)}`))
    }
    const totalMillis = Duration.toMillis(total)
    const stepMillis = Duration.toMillis(step)
    const settled = settle(options.turns)
    return Effect.gen(function*() {
      yield* settled
      for (let done = 0; done < totalMillis; done += stepMillis) {
        yield* TestClock.adjust(Math.min(stepMillis, totalMillis - done))
        yield* settled
      }
    })
  })

// a duration as the caller gave it
const shown = (input: Duration.DurationInput | undefined): string =>
  typeof input === "number" ? `${input} ms` : typeof input === "bigint" ? `${input} ns` : typeof input === "string" ? JSON.stringify(input) : String(input)
