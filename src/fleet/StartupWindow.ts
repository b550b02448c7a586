/**
 * The fleet's startup window: how many of its shards may be connected and waiting to identify at
 * once. A shard takes a place before it opens a socket that will identify and gives it back once
 * Identify is sent; the others wait their turn, first come first served.
 *
 * Effect's `Semaphore` is not used: on each release it wakes every waiter, and a thousand shards
 * waiting to start would each wake a thousand times.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"

/**
 * A window of a fixed number of places.
 *
 * @since 0.1.0
 */
export interface StartupWindow {
  /** Takes a place (waiting in line for one) for as long as the current scope lives. */
  readonly admission: Effect.Effect<void, never, Scope.Scope>
  /** Places free now, and shards waiting for one. */
  readonly snapshot: Effect.Effect<{ readonly free: number; readonly waiting: number }>
}

/**
 * Creates a window of `size` places.
 *
 * @since 0.1.0
 */
export const make = (size: number): StartupWindow => {
  let free = size
  const waiting: Array<Deferred.Deferred<void>> = []

  /** Gives a place back: to the first in line, or to the window. */
  const handOn = (): void => {
    const next = waiting.shift()
    if (next === undefined) free++
    else Deferred.unsafeDone(next, Exit.void)
  }

  const take: Effect.Effect<void> = Effect.suspend(() => {
    if (free > 0) {
      free--
      return Effect.void
    }
    const turn = Deferred.unsafeMake<void>(FiberId.none)
    waiting.push(turn)
    return Effect.onInterrupt(Deferred.await(turn), () =>
      Effect.sync(() => {
        const index = waiting.indexOf(turn)
        // still in line: leave it; handed a place while being interrupted: pass it on
        if (index >= 0) waiting.splice(index, 1)
        else handOn()
      }))
  })

  const admission: Effect.Effect<void, never, Scope.Scope> = Effect.flatMap(Effect.scope, (scope) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(restore(take), Scope.addFinalizer(scope, Effect.sync(handOn)))
    ))

  return {
    admission,
    snapshot: Effect.sync(() => ({ free, waiting: waiting.length }))
  }
}
