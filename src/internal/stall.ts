/**
 * Timeouts across a stall: a process that stopped for a while (a blocked event loop, SIGSTOP, a VM
 * paused) and runs again. Node then runs every timer that fell due meanwhile before it reads its
 * sockets, so a timeout would give up on an answer that came during the stall and waits unread.
 * Every timeout first lets Node read its sockets once (a timer of no length, which runs after
 * them: {@link ioTurn}); one that ran more than a second late, after a stall, waits a second more,
 * in which what came meanwhile is read and handled however much of it there is.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { monotonicMillis } from "./due.ts"

/**
 * How late (ms) a timer may run and still be on time: later, the process did not run when it fell
 * due. Far above a busy event loop's lag, far below any of the gateway's intervals and timeouts.
 *
 * @since 0.1.0
 */
export const stallAfter = 1000

/** How long a timeout that ran after a stall waits on for what came meanwhile. */
const graceAfterStall = Duration.millis(1000)

/**
 * One turn of Node's event loop, through the `Clock` (a timer of no length): the sockets are read
 * before it ends, so an answer that came while the process did not run is handled first. A
 * `TestClock` ends it at once, so clock-driven tests see no real turn.
 *
 * @since 0.1.0
 */
export const ioTurn: Effect.Effect<void> = Effect.clockWith((clock) => clock.sleep(Duration.zero))

/**
 * Sleeps for `duration`, then a second more each time it wakes more than {@link stallAfter} late,
 * then an {@link ioTurn}: a timeout slept this way is reached only once the process ran through its
 * last second and read its sockets after it.
 *
 * @since 0.1.0
 */
export const sleepPastStalls = (duration: Duration.DurationInput): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const sleep = (length: Duration.Duration): Effect.Effect<void> =>
      Effect.suspend(() => {
        const dueAt = monotonicMillis(clock) + Duration.toMillis(length)
        return Effect.flatMap(
          clock.sleep(length),
          // (a stall ending less than a second past the timeout left its answer unread as well)
          () => monotonicMillis(clock) - dueAt > stallAfter ? sleep(graceAfterStall) : ioTurn
        )
      })
    return sleep(Duration.decode(duration))
  })

/**
 * `self`, failed with `onTimeout()` (and interrupted) once `duration` passed as
 * {@link sleepPastStalls} counts it. Data-last too, as `Effect.timeoutFail` is.
 *
 * @since 0.1.0
 */
export const timeoutFailPastStalls: {
  <E1>(
    options: StallTimeoutOptions<E1>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | E1, R>
  <A, E, R, E1>(self: Effect.Effect<A, E, R>, options: StallTimeoutOptions<E1>): Effect.Effect<A, E | E1, R>
} = dual(
  2,
  <A, E, R, E1>(self: Effect.Effect<A, E, R>, options: StallTimeoutOptions<E1>): Effect.Effect<A, E | E1, R> =>
    Effect.raceFirst(self, Effect.zipRight(sleepPastStalls(options.duration), Effect.failSync(options.onTimeout)))
)

/**
 * How long {@link timeoutFailPastStalls} waits, and the error it fails with then.
 *
 * @since 0.1.0
 */
export interface StallTimeoutOptions<E> {
  readonly duration: Duration.DurationInput
  readonly onTimeout: () => E
}
