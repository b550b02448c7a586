/**
 * A counting semaphore that serves its waiters first come, first served, and wakes one per release.
 *
 * Effect's `Semaphore` wakes every waiter on each release (they check again and wait again): a
 * thousand shards waiting to start would each wake a thousand times. Here a release hands its
 * permit straight to the first in line. A key (a rate-limit key) can hold at most `perKey` permits:
 * its waiters past that wait for one of its own to be given back, letting later waiters of other
 * keys go first, so that one key's shards, which go one at a time, never fill the permits while
 * other keys' wait.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { detached } from "../internal/detached.ts"

/**
 * A semaphore of a fixed number of permits. Waiting for a permit is interruptible: a waiter
 * interrupted in line leaves it, and one interrupted just as it was handed a permit passes it on.
 * Once a permit is held, giving it back is certain.
 *
 * @since 0.1.0
 */
export interface FifoSemaphore {
  /**
   * Runs `use` holding a permit, waiting in line for one first: `Some` of its result, or `None`
   * when `giveUp` completes while it waits (it then leaves the line; once it holds the permit,
   * `giveUp` no longer counts).
   */
  readonly withPermitUnless: <A, E, R>(
    giveUp: Effect.Effect<void>,
    use: Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<A>, E, R>
  /**
   * Holds a permit for `key`, waiting in line for one first, for as long as the current scope
   * lives; while `key` holds its `perKey` permits, it waits for one of them, and later waiters of
   * other keys go first.
   */
  readonly permitFor: (key: number) => Effect.Effect<void, never, Scope.Scope>
  /** Permits free now (a waiter whose key holds its most leaves one free). */
  readonly free: () => number
  /** Waiters in line now. */
  readonly waiting: () => number
}

// one in line, with the key it holds its permit for, if any
interface Waiter {
  readonly turn: Deferred.Deferred<void>
  readonly key: number | undefined
  /** Whether it was handed a permit (it left the line for it). */
  handed: boolean
}

/**
 * Creates a semaphore of `permits` permits, at most `perKey` (default all) held for one key.
 *
 * @since 0.1.0
 */
export const make = (permits: number, perKey = permits): FifoSemaphore => {
  let free = permits
  const line: Array<Waiter> = []
  // the permits each key holds (keys holding none are left out)
  const held = new Map<number, number>()
  const count = (key: number | undefined, by: 1 | -1): void => {
    if (key === undefined) return
    const now = (held.get(key) ?? 0) + by
    if (now === 0) held.delete(key)
    else held.set(key, now)
  }
  const mayTake = (key: number | undefined): boolean => key === undefined || (held.get(key) ?? 0) < perKey

  /** Gives a free permit to the first in line whose key may take one, if any. */
  const handOn = (): void => {
    const index = line.findIndex((waiter) => mayTake(waiter.key))
    if (index < 0) return
    free--
    const [next] = line.splice(index, 1)
    count(next!.key, 1)
    next!.handed = true
    Deferred.unsafeDone(next!.turn, Exit.void)
  }
  const release = (key: number | undefined) =>
    Effect.sync(() => {
      free++
      count(key, -1)
      handOn()
    })

  /**
   * Takes a permit for `key`, waiting with the interruptibility `restore` gives back, unless
   * `giveUp` completes first: whether it took one.
   */
  const acquire = (
    key: number | undefined,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    giveUp?: Effect.Effect<void>
  ): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      if (free > 0 && mayTake(key)) {
        free--
        count(key, 1)
        return Effect.succeed(true)
      }
      const waiter: Waiter = { turn: Deferred.unsafeMake<void>(FiberId.none), key, handed: false }
      line.push(waiter)
      const leaveLine = (): void => {
        const index = line.indexOf(waiter)
        if (index >= 0) line.splice(index, 1)
      }
      // handed the permit as it gave up, it keeps the permit
      const leave = Effect.sync(() => {
        if (waiter.handed) return true
        leaveLine()
        return false
      })
      const wait = giveUp === undefined
        ? Effect.as(Deferred.await(waiter.turn), true)
        // a race run by a caller that cannot be interrupted would wait for its loser for ever
        : detached(Effect.raceFirst(Effect.as(Deferred.await(waiter.turn), true), Effect.zipRight(giveUp, leave)))
      return restore(wait).pipe(
        // a permit is given back only if it was handed one (one that gave up left without)
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            if (waiter.handed) return release(key)
            leaveLine()
            return Effect.void
          })
        )
      )
    })

  return {
    withPermitUnless: (giveUp, use) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(undefined, restore, giveUp), (took) =>
          took ? Effect.ensuring(Effect.asSome(restore(use)), release(undefined)) : Effect.succeedNone)
      ),
    permitFor: (key) =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.uninterruptibleMask((restore) => Effect.zipRight(acquire(key, restore), Scope.addFinalizer(scope, release(key))))),
    free: () => free,
    waiting: () => line.length
  }
}
