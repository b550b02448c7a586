/**
 * A counting semaphore that serves its waiters first come, first served, and wakes one per release.
 *
 * Effect's `Semaphore` wakes every waiter on each release (they check again and wait again): a
 * thousand shards waiting to start would each wake a thousand times. Here a release hands its
 * permit straight to the first in line.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"

/**
 * A semaphore of a fixed number of permits. Waiting for a permit is interruptible: a waiter
 * interrupted in line leaves it, and one interrupted just as it was handed a permit passes it on.
 * Once a permit is held, giving it back is certain.
 *
 * @since 0.1.0
 */
export interface FifoSemaphore {
  /** Runs `use` holding a permit, waiting in line for one first. */
  readonly withPermit: <A, E, R>(use: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Holds a permit, waiting in line for one first, for as long as the current scope lives. */
  readonly permit: Effect.Effect<void, never, Scope.Scope>
  /** Permits free now. */
  readonly free: () => number
  /** Waiters in line now. */
  readonly waiting: () => number
}

/**
 * Creates a semaphore of `permits` permits.
 *
 * @since 0.1.0
 */
export const make = (permits: number): FifoSemaphore => {
  let free = permits
  const line: Array<Deferred.Deferred<void>> = []

  /** Gives a permit back: to the first in line, or to the semaphore. */
  const handOn = (): void => {
    const next = line.shift()
    if (next === undefined) free++
    else Deferred.unsafeDone(next, Exit.void)
  }
  const release = Effect.sync(handOn)

  /** Takes a permit, waiting with the interruptibility `restore` gives back. */
  const acquire = (restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (free > 0) {
        free--
        return Effect.void
      }
      const turn = Deferred.unsafeMake<void>(FiberId.none)
      line.push(turn)
      return restore(Deferred.await(turn)).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            const index = line.indexOf(turn)
            if (index >= 0) line.splice(index, 1)
            else handOn()
          })
        )
      )
    })

  return {
    withPermit: (use) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(acquire(restore), Effect.ensuring(restore(use), release))),
    permit: Effect.flatMap(Effect.scope, (scope) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(acquire(restore), Scope.addFinalizer(scope, release)))),
    free: () => free,
    waiting: () => line.length
  }
}
