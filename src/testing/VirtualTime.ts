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
 * still busy after them is not waited for.
 *
 * @since 0.1.0
 */
export const settle = (turns = 100): Effect.Effect<void> => Effect.asVoid(Effect.repeatN(Effect.yieldNow(), turns))

/**
 * Moves the `TestClock` forward by `duration` in steps of `step` (default 500 ms; the last step is
 * what is left), settling the forked fibers before the first step and after each (`turns` turns of
 * the scheduler, as {@link settle}). A duration that is no finite length, or a step that is not
 * positive, dies with a `RangeError` naming it.
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
    if (!Number.isFinite(total) || total < 0) return Effect.die(new RangeError(`VirtualTime.advance: the duration must be a finite length, got ${total} ms`))
    if (!Number.isFinite(step) || step <= 0) return Effect.die(new RangeError(`VirtualTime.advance: the step must be a positive finite length, got ${step} ms`))
    const settled = settle(options.turns)
    return Effect.gen(function*() {
      yield* settled
      for (let done = 0; done < total; done += step) {
        yield* TestClock.adjust(Math.min(step, total - done))
        yield* settled
      }
    })
  })
