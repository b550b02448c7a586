/**
 * Forcing garbage collection, for tests that check with a `WeakRef` that something is let go.
 */
import * as Effect from "effect/Effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")

/** A full garbage collection, now. */
export const collectGarbage = runInNewContext("gc") as () => void

/** Lets the current job end, so that `WeakRef`s made in it no longer keep their targets. */
export const nextJob: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))

/**
 * How many of `refs` still reach their target once garbage collection had its chances: up to
 * `rounds` times, the next job and a full collection. Work that ends a job or two later (a fiber's
 * last step, a finalizer) may hold a target for a moment; a leak holds it through every round.
 */
export const stillReachable = (refs: ReadonlyArray<WeakRef<object>>, rounds = 5): Effect.Effect<number> =>
  Effect.gen(function*() {
    let left = refs.length
    for (let round = 0; round < rounds && left > 0; round++) {
      yield* nextJob
      collectGarbage()
      left = refs.filter((ref) => ref.deref() !== undefined).length
    }
    return left
  })
