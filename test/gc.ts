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
